/*
 * ponder-gimp.c - Ponder inside GIMP 2.10: a plug-in that hosts libponder (include/ponder.h).
 *
 * Four procedures in the procedural database, under Filters → Render → Ponder:
 *
 *   plug-in-ponder-generate          prompt, seed, think, guidance, check → a new layer
 *                                    (a new 128 × 128 image when none is given)
 *   plug-in-ponder-describe          the active layer → its plan (text)
 *   plug-in-ponder-redraw-selection  the selection's bounds, an optional phrase → a new layer
 *   plug-in-ponder-add-element       a phrase → a new layer
 *
 * and Generate's twin for when no image is open, under File → Create → Ponder:
 *
 *   plug-in-ponder-generate-image    prompt, seed, think, guidance, check → a new image
 *
 * Each runs interactively (a dialog), non-interactively (Script-Fu, batch mode: the
 * arguments) or with the last values. Results always go on a new layer above the source,
 * named after the prompt or edit, carrying the parasite "ponder-history" (the plan and the
 * settings, newest step first; plugins/gimp/README.md gives its format). Errors are returned
 * as execution errors whose message is the library's: GIMP shows them as messages, Script-Fu
 * raises them. The plug-in is a separate process, so a fault here never takes GIMP down.
 *
 * Sizes: the model draws 128 × 128 pixels. A layer of another size is scaled to the model's
 * size to be read (every pixel of it, so a layer that is not square is read stretched) and
 * results are scaled back; an edit's layer keeps the source's own pixels, byte for byte,
 * outside the cells the edit redrew.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include <ponder.h>

#ifndef PONDER_PREFIX
#error "build with -DPONDER_PREFIX=\"$(pkg-config --variable=prefix ponder)\" (plugins/gimp/Makefile)"
#endif

#define PROC_GENERATE "plug-in-ponder-generate"
#define PROC_DESCRIBE "plug-in-ponder-describe"
#define PROC_REDRAW "plug-in-ponder-redraw-selection"
#define PROC_ADD "plug-in-ponder-add-element"
/* Generate into a new image, under File → Create. With no image open, GIMP 2.10 greys out
 * the Filters menu, and calls a procedure whose arguments begin with an image with run-mode
 * alone (nparams 1): generating without an image needs a procedure that takes none. */
#define PROC_GENERATE_IMAGE "plug-in-ponder-generate-image"
#define PLUG_IN_BINARY "ponder-gimp"
#define MENU_PATH "<Image>/Filters/Render/Ponder"
#define CREATE_MENU_PATH "<Image>/File/Create/Ponder"
#define HISTORY_PARASITE "ponder-history"
#define GIMPRC_MODEL "ponder-model"

/* A prompt or phrase longer than this is refused: the prompt language's longest useful
 * prompt is a few hundred bytes, and the settings are kept in a fixed-size record. */
#define MAX_TEXT 2048
/* The history parasite keeps whole steps, newest first, up to this many bytes. */
#define MAX_HISTORY (64 * 1024)
/* Layer names carry this many characters of the prompt. */
#define NAME_CHARS 60

typedef enum { KIND_GENERATE, KIND_DESCRIBE, KIND_REDRAW, KIND_ADD } Kind;

/* The settings of a run; also the record kept by gimp_set_data for the next interactive run
 * and for "Repeat" (GIMP_RUN_WITH_LAST_VALS). */
typedef struct {
    gchar text[MAX_TEXT + 1]; /* the prompt (generate) or phrase (redraw, add); UTF-8 */
    gint32 seed;              /* 0 to 2^31 - 1; -1 = a random seed, recorded in the history */
    gint32 think;             /* generate: 1 = write a plan before drawing */
    gdouble guidance;         /* classifier-free guidance; negative = the model's default */
    gint32 check;             /* checked drawing: reads back (0 to 16) */
} Settings;

/* One run: its return values and the first error. */
typedef struct {
    GimpParam *values;
    gint *n_values;
    gboolean failed;
} Run;

static void query(void);
static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = {NULL, NULL, query, run};

MAIN()

/* ---- Registration --------------------------------------------------------------------- */

static const gchar *const settings_help =
    "seed: 0 to 2147483647, or -1 for a random one (the seed used is kept in the layer's "
    "history). guidance: classifier-free guidance scale, 0 to 100 (useful range 1 to 1.5), or "
    "negative for the model's default. check: checked drawing, how many times the drawing is "
    "read back and wrong objects redrawn, 0 (off) to 16.";

static void query(void) {
    static const GimpParamDef generate_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_IMAGE, "image", "Image to draw a new layer on, or -1 for a new 128 x 128 image"},
        {GIMP_PDB_DRAWABLE, "drawable", "Unused; the new layer goes above the active layer"},
        {GIMP_PDB_STRING, "prompt", "What to draw, in the prompt language (docs/world.md)"},
        {GIMP_PDB_INT32, "seed", "Seed (-1 = random)"},
        {GIMP_PDB_INT32, "think", "Write a plan before drawing (TRUE or FALSE)"},
        {GIMP_PDB_FLOAT, "guidance", "Guidance scale (negative = the model's default)"},
        {GIMP_PDB_INT32, "check", "Checked drawing: read-backs, 0 to 16"},
    };
    static const GimpParamDef generate_image_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_STRING, "prompt", "What to draw, in the prompt language (docs/world.md)"},
        {GIMP_PDB_INT32, "seed", "Seed (-1 = random)"},
        {GIMP_PDB_INT32, "think", "Write a plan before drawing (TRUE or FALSE)"},
        {GIMP_PDB_FLOAT, "guidance", "Guidance scale (negative = the model's default)"},
        {GIMP_PDB_INT32, "check", "Checked drawing: read-backs, 0 to 16"},
    };
    static const GimpParamDef generate_returns[] = {
        {GIMP_PDB_IMAGE, "new-image", "The image drawn on (the one given, or a new one)"},
        {GIMP_PDB_LAYER, "new-layer", "The new layer"},
    };
    static const GimpParamDef describe_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_IMAGE, "image", "Input image"},
        {GIMP_PDB_DRAWABLE, "drawable", "The layer to read"},
    };
    static const GimpParamDef describe_returns[] = {
        {GIMP_PDB_STRING, "plan", "The plan the model reads from the layer (docs/plan.md)"},
    };
    static const GimpParamDef redraw_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_IMAGE, "image", "Input image (its selection is the region)"},
        {GIMP_PDB_DRAWABLE, "drawable", "The layer to redraw from"},
        {GIMP_PDB_STRING, "phrase", "One object to put in the region, e.g. \"a small red star\"; empty clears it"},
        {GIMP_PDB_INT32, "seed", "Seed (-1 = random)"},
        {GIMP_PDB_FLOAT, "guidance", "Guidance scale (negative = the model's default)"},
        {GIMP_PDB_INT32, "check", "Checked drawing: read-backs, 0 to 16"},
    };
    static const GimpParamDef add_args[] = {
        {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }"},
        {GIMP_PDB_IMAGE, "image", "Input image"},
        {GIMP_PDB_DRAWABLE, "drawable", "The layer to add to"},
        {GIMP_PDB_STRING, "phrase", "One object, e.g. \"a red star to the right of the blue circle\""},
        {GIMP_PDB_INT32, "seed", "Seed (-1 = random)"},
        {GIMP_PDB_FLOAT, "guidance", "Guidance scale (negative = the model's default)"},
        {GIMP_PDB_INT32, "check", "Checked drawing: read-backs, 0 to 16"},
    };
    static const GimpParamDef edit_returns[] = {
        {GIMP_PDB_LAYER, "new-layer", "The new layer"},
    };
    const gchar *author = "Ponder";
    const gchar *date = "2025";

    gchar *help = g_strdup_printf(
        "Thinks a plan of the picture from the prompt, then draws it with the Ponder model, "
        "onto a new layer above the active one (a square as large as the image's shorter side, "
        "centred), or into a new 128 x 128 image when no image is given. The layer is named "
        "after the prompt and carries the plan and settings in its parasite '%s'. %s",
        HISTORY_PARASITE, settings_help);
    gimp_install_procedure(PROC_GENERATE, "Draw a picture from a prompt with Ponder", help,
                           author, author, date, "_Generate...", "",
                           GIMP_PLUGIN, G_N_ELEMENTS(generate_args), G_N_ELEMENTS(generate_returns),
                           generate_args, generate_returns);
    g_free(help);

    help = g_strdup_printf(
        "Thinks a plan of the picture from the prompt, then draws it with the Ponder model "
        "into a new 128 x 128 image, which it shows. The same as %s with image -1; this one "
        "is in the File > Create menu, which GIMP offers when no image is open. The layer "
        "carries the plan and settings in its parasite '%s'. %s",
        PROC_GENERATE, HISTORY_PARASITE, settings_help);
    gimp_install_procedure(PROC_GENERATE_IMAGE, "Draw a picture from a prompt into a new image with Ponder",
                           help, author, author, date, "_Generate...", "",
                           GIMP_PLUGIN, G_N_ELEMENTS(generate_image_args), G_N_ELEMENTS(generate_returns),
                           generate_image_args, generate_returns);
    g_free(help);

    gimp_install_procedure(PROC_DESCRIBE, "Read the active layer into a plan with Ponder",
                           "Scales the layer to the model's 128 x 128 pixels and reads it back "
                           "into a plan: the background and each object's size, colour, shape "
                           "and place (docs/plan.md).",
                           author, author, date, "_Describe", "*",
                           GIMP_PLUGIN, G_N_ELEMENTS(describe_args), G_N_ELEMENTS(describe_returns),
                           describe_args, describe_returns);

    help = g_strdup_printf(
        "Redraws the selection's bounding box of the active layer on a new layer: objects "
        "whose centres lie in it are removed and, with a phrase, one new object is planned "
        "inside it; without one it is cleared to the background. Pixels outside the selection "
        "stay the layer's own (a feathered selection blends). The layer's plan comes from its "
        "history parasite when it has one, else the model reads it. %s",
        settings_help);
    gimp_install_procedure(PROC_REDRAW, "Redraw the selection with Ponder", help, author, author,
                           date, "_Redraw Selection...", "RGB*",
                           GIMP_PLUGIN, G_N_ELEMENTS(redraw_args), G_N_ELEMENTS(edit_returns),
                           redraw_args, edit_returns);
    g_free(help);

    help = g_strdup_printf(
        "Adds one object by a phrase of the prompt language, which may place it against an "
        "object already in the picture with 'the' (\"a red star to the right of the blue "
        "circle\"), on a new layer; only the new object's cells are redrawn. The layer's plan "
        "comes from its history parasite when it has one, else the model reads it. %s",
        settings_help);
    gimp_install_procedure(PROC_ADD, "Add an element with Ponder", help, author, author, date,
                           "_Add Element...", "RGB*",
                           GIMP_PLUGIN, G_N_ELEMENTS(add_args), G_N_ELEMENTS(edit_returns),
                           add_args, edit_returns);
    g_free(help);

    gimp_plugin_menu_register(PROC_GENERATE, MENU_PATH);
    gimp_plugin_menu_register(PROC_GENERATE_IMAGE, CREATE_MENU_PATH);
    gimp_plugin_menu_register(PROC_DESCRIBE, MENU_PATH);
    gimp_plugin_menu_register(PROC_REDRAW, MENU_PATH);
    gimp_plugin_menu_register(PROC_ADD, MENU_PATH);
}

/* ---- Errors --------------------------------------------------------------------------- */

/* Records the first error of a run: status EXECUTION_ERROR and the message as the second
 * return value, which GIMP shows as a message ("Execution error for ...") and Script-Fu
 * raises. Later errors are dropped: the first one is the cause. */
static void fail(Run *r, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
static void fail(Run *r, const gchar *format, ...) {
    if (r->failed) return;
    va_list args;
    va_start(args, format);
    gchar *message = g_strdup_vprintf(format, args);
    va_end(args);
    r->failed = TRUE;
    r->values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
    r->values[1].type = GIMP_PDB_STRING;
    r->values[1].data.d_string = message; /* kept until the process ends, as GIMP reads it then */
    *r->n_values = 2;
}

/* The library's message for a failed call on a session, else the thread's. */
static const gchar *library_error(ponder_session *session) {
    const char *m = session ? ponder_session_last_error(session) : NULL;
    if (m == NULL || *m == '\0') m = ponder_last_error();
    return (m && *m) ? m : "unknown error";
}

/* ---- The model ------------------------------------------------------------------------ */

/* The value of a gimprc token, or NULL. An unknown token is a failed PDB call, which GIMP
 * would show the user as an error: the plug-in handles it itself. */
static gchar *gimprc_value(const gchar *token) {
    GimpPDBErrorHandler old = gimp_plugin_get_pdb_error_handler();
    gimp_plugin_set_pdb_error_handler(GIMP_PDB_ERROR_HANDLER_PLUGIN);
    gchar *value = gimp_gimprc_query(token);
    gimp_plugin_set_pdb_error_handler(old);
    if (value != NULL && *value == '\0') {
        g_free(value);
        value = NULL;
    }
    return value;
}

/* The model file: $PONDER_MODEL, else the gimprc setting (ponder-model "FILE"), else the
 * default model installed with libponder (PREFIX/share/ponder, as the `ponder` CLI finds
 * it). NULL with the error recorded when none is there. */
static gchar *find_model(Run *r) {
    const gchar *env = g_getenv("PONDER_MODEL");
    if (env != NULL && *env != '\0') return g_strdup(env);
    gchar *setting = gimprc_value(GIMPRC_MODEL);
    if (setting != NULL) return setting;
    gchar *installed = g_build_filename(PONDER_PREFIX, "share", "ponder", PONDER_DEFAULT_MODEL, NULL);
    if (g_file_test(installed, G_FILE_TEST_IS_REGULAR)) return installed;
    fail(r, "Ponder: no model file. Set the environment variable PONDER_MODEL, or add "
            "(%s \"FILE.gguf\") to your gimprc, or install the default model with "
            "scripts/install (looked for %s)", GIMPRC_MODEL, installed);
    g_free(installed);
    return NULL;
}

typedef struct {
    gchar *path;
    ponder_model *model;
    ponder_model_info info;
} Model;

static gboolean model_load(Run *r, Model *m) {
    memset(m, 0, sizeof *m);
    m->path = find_model(r);
    if (m->path == NULL) return FALSE;
    if (ponder_model_load(m->path, &m->model) != PONDER_OK) {
        fail(r, "Ponder: cannot load the model %s: %s", m->path, library_error(NULL));
        return FALSE;
    }
    if (ponder_model_get_info(m->model, &m->info) != PONDER_OK) {
        fail(r, "Ponder: %s", library_error(NULL));
        return FALSE;
    }
    int32_t w = m->info.image_width, h = m->info.image_height;
    if (w <= 0 || h <= 0 || m->info.grid_width <= 0 || m->info.grid_height <= 0
        || w % m->info.grid_width != 0 || h % m->info.grid_height != 0) {
        fail(r, "Ponder: the model %s has an image size (%d x %d) the plug-in cannot use", m->path, w, h);
        return FALSE;
    }
    return TRUE;
}

static void model_free(Model *m) {
    ponder_model_free(m->model);
    g_free(m->path);
    memset(m, 0, sizeof *m);
}

static ponder_session *session_new(Run *r, Model *m, const Settings *s, uint64_t seed) {
    ponder_session_params params = ponder_session_default_params();
    params.seed = seed;
    params.think = s->think ? 1 : 0;
    params.cfg_scale = (float)s->guidance;
    params.check_attempts = s->check;
    ponder_session *session = NULL;
    if (ponder_session_create(m->model, &params, &session) != PONDER_OK) {
        fail(r, "Ponder: %s", library_error(NULL));
        return NULL;
    }
    return session;
}

/* Checks what the library does not: the seed's range (-1 is the plug-in's own), and that the
 * text is UTF-8 and, where one is needed, not blank. The library checks the rest (guidance,
 * check, every word of a prompt or phrase). */
static gboolean settings_valid(Run *r, const Settings *s, Kind kind) {
    if (s->seed < -1) {
        fail(r, "Ponder: seed %d is out of range: give 0 to 2147483647, or -1 for a random seed", s->seed);
        return FALSE;
    }
    if (!g_utf8_validate(s->text, -1, NULL)) {
        fail(r, "Ponder: the %s is not valid UTF-8 text", kind == KIND_GENERATE ? "prompt" : "phrase");
        return FALSE;
    }
    const gchar *p = s->text;
    while (g_ascii_isspace(*p)) p++;
    if ((kind == KIND_GENERATE || kind == KIND_ADD) && *p == '\0') {
        fail(r, "Ponder: the %s is empty: say what to draw, e.g. \"a red circle to the left of a blue square\"",
             kind == KIND_GENERATE ? "prompt" : "phrase");
        return FALSE;
    }
    return TRUE;
}

static uint64_t resolve_seed(gint32 seed) {
    return seed >= 0 ? (uint64_t)seed : (uint64_t)g_random_int_range(0, G_MAXINT32);
}

/* ---- Pixels --------------------------------------------------------------------------- */

/* The drawable's pixels as 8-bit sRGB with alpha (GEGL converts any precision and mode). */
static guint8 *read_rgba(Run *r, gint32 drawable, gint *out_w, gint *out_h) {
    gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);
    guint8 *rgba = (w > 0 && h > 0) ? g_try_malloc((gsize)w * (gsize)h * 4) : NULL;
    if (rgba == NULL) {
        fail(r, "Ponder: not enough memory for a %d x %d layer", w, h);
        return NULL;
    }
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, h), 1.0, babl_format("R'G'B'A u8"), rgba,
                    GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    *out_w = w;
    *out_h = h;
    return rgba;
}

static void write_rgba(gint32 drawable, const guint8 *rgba, gint w, gint h) {
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, w, h), 0, babl_format("R'G'B'A u8"), rgba,
                    GEGL_AUTO_ROWSTRIDE);
    g_object_unref(buffer); /* flushes the tiles to GIMP */
    gimp_drawable_update(drawable, 0, 0, w, h);
}

/* Scales a layer with a fixed interpolation, so results do not depend on the tool options:
 * LoHalo when shrinking (it averages what it drops), cubic when enlarging. */
static void scale_layer(gint32 layer, gint w, gint h) {
    gboolean shrink = (gint64)w * h < (gint64)gimp_drawable_width(layer) * gimp_drawable_height(layer);
    gimp_context_push();
    gimp_context_set_interpolation(shrink ? GIMP_INTERPOLATION_LOHALO : GIMP_INTERPOLATION_CUBIC);
    gimp_layer_scale(layer, w, h, TRUE);
    gimp_context_pop();
}

/* The drawable as the model sees it: scaled to mw × mh (unless it is that size already) in a
 * scratch image, and composited onto white as the library composites PNG alpha. */
static guint8 *read_for_model(Run *r, gint32 drawable, gint mw, gint mh) {
    gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);
    gint32 source = drawable, scratch = -1;
    if (w != mw || h != mh) {
        scratch = gimp_image_new(w, h, GIMP_RGB);
        gimp_image_undo_disable(scratch);
        source = gimp_layer_new_from_drawable(drawable, scratch);
        if (source < 0 || !gimp_image_insert_layer(scratch, source, 0, 0)) {
            fail(r, "Ponder: cannot copy the layer to scale it to %d x %d", mw, mh);
            gimp_image_delete(scratch);
            return NULL;
        }
        scale_layer(source, mw, mh);
    }
    gint sw, sh;
    guint8 *rgba = read_rgba(r, source, &sw, &sh);
    if (scratch >= 0) gimp_image_delete(scratch);
    if (rgba == NULL) return NULL;
    if (sw != mw || sh != mh) {
        fail(r, "Ponder: scaling the layer gave %d x %d pixels, not %d x %d", sw, sh, mw, mh);
        g_free(rgba);
        return NULL;
    }
    guint8 *rgb = g_malloc((gsize)mw * mh * 3);
    for (gsize i = 0; i < (gsize)mw * mh; i++) {
        guint a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (guint8)((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
    }
    g_free(rgba);
    return rgb;
}

static guint8 *rgb_to_rgba(const guint8 *rgb, gsize pixels) {
    guint8 *rgba = g_malloc(pixels * 4);
    for (gsize i = 0; i < pixels; i++) {
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = 255;
    }
    return rgba;
}

/* ---- History (the parasite) ----------------------------------------------------------- */

/* One step of a layer's history: what was done, with which settings, and the plan it
 * left. Fields are "key: value" lines; the plan's lines follow "plan:" to the end of the
 * step; steps are separated by a blank line, newest first (plugins/gimp/README.md). */
typedef struct {
    gchar *step;
    gchar *text; /* the prompt or phrase */
    gint64 seed;
    gint think;
    gdouble guidance;
    gint check;
    gchar *plan;
} Step;

static void step_clear(Step *s) {
    g_free(s->step);
    g_free(s->text);
    g_free(s->plan);
    memset(s, 0, sizeof *s);
}

/* A value on one line: line breaks and other control characters become spaces. */
static void append_field(GString *out, const gchar *key, const gchar *value) {
    g_string_append_printf(out, "%s: ", key);
    for (const gchar *p = value; *p; p++) g_string_append_c(out, (guchar)*p < 0x20 || *p == 0x7f ? ' ' : *p);
    g_string_append_c(out, '\n');
}

/* The layer's whole history text, or NULL when it has none or it is not UTF-8 text. */
static gchar *history_read(gint32 item) {
    GimpParasite *parasite = gimp_item_get_parasite(item, HISTORY_PARASITE);
    if (parasite == NULL) return NULL;
    glong size = gimp_parasite_data_size(parasite);
    gchar *text = size > 0 && size <= 4 * MAX_HISTORY ? g_strndup(gimp_parasite_data(parasite), size) : NULL;
    gimp_parasite_free(parasite);
    if (text != NULL && (strlen(text) != (gsize)size || !g_utf8_validate(text, -1, NULL))) {
        g_free(text);
        text = NULL;
    }
    return text;
}

/* Parses the newest step of a history text. FALSE when it has no step. */
static gboolean history_latest(const gchar *history, Step *out) {
    memset(out, 0, sizeof *out);
    out->seed = -1;
    out->think = 1;
    out->guidance = -1;
    out->check = -1;
    if (history == NULL) return FALSE;
    const gchar *end = strstr(history, "\n\n");
    gchar *block = end ? g_strndup(history, end - history) : g_strdup(history);
    gchar **lines = g_strsplit(block, "\n", -1);
    GString *plan = NULL;
    for (gchar **l = lines; *l; l++) {
        if (plan != NULL) {
            if (plan->len) g_string_append_c(plan, '\n');
            g_string_append(plan, *l);
            continue;
        }
        gchar *colon = strstr(*l, ": ");
        if (g_strcmp0(*l, "plan:") == 0) {
            plan = g_string_new(NULL);
        } else if (colon != NULL) {
            *colon = '\0';
            const gchar *key = *l, *value = colon + 2;
            if (!strcmp(key, "step")) { g_free(out->step); out->step = g_strdup(value); }
            else if (!strcmp(key, "prompt") || !strcmp(key, "phrase")) { g_free(out->text); out->text = g_strdup(value); }
            else if (!strcmp(key, "seed")) out->seed = g_ascii_strtoll(value, NULL, 10);
            else if (!strcmp(key, "think")) out->think = !strcmp(value, "yes");
            else if (!strcmp(key, "guidance")) out->guidance = g_ascii_strtod(value, NULL);
            else if (!strcmp(key, "check")) out->check = (gint)g_ascii_strtoll(value, NULL, 10);
        }
    }
    if (plan != NULL) out->plan = g_string_free(plan, plan->len == 0);
    g_strfreev(lines);
    g_free(block);
    return out->step != NULL;
}

/* Writes this step before the source layer's history (dropping its oldest whole steps past
 * MAX_HISTORY) as the new layer's parasite: persistent (saved in XCF) and undoable. */
static void history_attach(gint32 layer, const GString *step, const gchar *older) {
    GString *all = g_string_new(step->str);
    if (older != NULL && *older != '\0') {
        gsize keep = strlen(older);
        while (all->len + 1 + keep > MAX_HISTORY) {
            const gchar *cut = g_strrstr_len(older, keep, "\n\n");
            if (cut == NULL) { keep = 0; break; }
            keep = cut - older;
        }
        if (keep > 0) {
            g_string_append_c(all, '\n');
            g_string_append_len(all, older, keep);
        }
    }
    GimpParasite *parasite = gimp_parasite_new(HISTORY_PARASITE, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                                               all->len, all->str);
    gimp_item_attach_parasite(layer, parasite);
    gimp_parasite_free(parasite);
    g_string_free(all, TRUE);
}

/* The fields every step records. */
static void append_settings(GString *out, uint64_t seed, const Settings *s, const Model *m) {
    g_string_append_printf(out, "seed: %" G_GUINT64_FORMAT "\n", seed);
    gchar number[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(number, sizeof number, "%.4g", s->guidance < 0 ? m->info.default_cfg_scale : s->guidance);
    g_string_append_printf(out, "guidance: %s\ncheck: %d\n", number, s->check);
    append_field(out, "model", m->path);
}

static void append_plan(GString *out, const gchar *plan) {
    g_string_append(out, "plan:\n");
    if (plan == NULL) return;
    gchar *trimmed = g_strdup(plan);
    g_strchomp(trimmed);
    /* a blank line ends a step: a plan never holds one, but keep the format whole if it did */
    gchar **lines = g_strsplit(trimmed, "\n", -1);
    for (gchar **l = lines; *l; l++)
        if (**l) g_string_append_printf(out, "%s\n", *l);
    g_strfreev(lines);
    g_free(trimmed);
}

/* ---- Layer names ---------------------------------------------------------------------- */

static gchar *layer_name(const gchar *prefix, const gchar *text) {
    gchar *one_line = g_strdup(text);
    g_strdelimit(one_line, "\t\r\n", ' ');
    g_strstrip(one_line);
    glong chars = g_utf8_strlen(one_line, -1);
    gchar *cut = g_utf8_substring(one_line, 0, MIN(chars, NAME_CHARS));
    gchar *name = g_strdup_printf("%s%s%s", prefix, cut, chars > NAME_CHARS ? "…" : "");
    g_free(cut);
    g_free(one_line);
    return name;
}

/* ---- Progress ------------------------------------------------------------------------- */

/* Each image token drawn moves GIMP's progress bar. GIMP's own Cancel ends the plug-in's
 * process (that is how GIMP 2.10 cancels any plug-in), which is safe here: nothing is
 * written to the image until the drawing is finished. */
static bool on_token(int32_t done, int32_t total, void *user_data) {
    (void)user_data;
    gimp_progress_update(total > 0 ? (gdouble)done / total : 1.0);
    return true;
}

/* ---- Dialogs -------------------------------------------------------------------------- */

static void on_random_seed(GtkWidget *button, GtkSpinButton *spin) {
    (void)button;
    gtk_spin_button_set_value(spin, g_random_int_range(0, G_MAXINT32));
}

/* The settings dialog; TRUE when the user pressed OK. */
static gboolean settings_dialog(Kind kind, Settings *s, const Model *m) {
    const gchar *title = kind == KIND_GENERATE ? "Ponder: Generate"
                       : kind == KIND_REDRAW ? "Ponder: Redraw Selection" : "Ponder: Add Element";
    const gchar *proc = kind == KIND_GENERATE ? PROC_GENERATE : kind == KIND_REDRAW ? PROC_REDRAW : PROC_ADD;
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dialog = gimp_dialog_new(title, PLUG_IN_BINARY, NULL, 0, gimp_standard_help_func, proc,
                                        "_Cancel", GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
    gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
    gimp_window_set_transient(GTK_WINDOW(dialog));

    GtkWidget *table = gtk_table_new(6, 3, FALSE);
    gtk_table_set_col_spacings(GTK_TABLE(table), 6);
    gtk_table_set_row_spacings(GTK_TABLE(table), 6);
    gtk_container_set_border_width(GTK_CONTAINER(table), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), table, TRUE, TRUE, 0);
    int row = 0;

    GtkWidget *text = gtk_entry_new();
    gtk_entry_set_max_length(GTK_ENTRY(text), MAX_TEXT / 4); /* characters, of up to 4 bytes */
    gtk_entry_set_width_chars(GTK_ENTRY(text), 50);
    gtk_entry_set_text(GTK_ENTRY(text), s->text);
    gtk_entry_set_activates_default(GTK_ENTRY(text), TRUE);
    const gchar *tip = kind == KIND_GENERATE ? "e.g. a small green star to the left of a large purple heart"
                     : kind == KIND_REDRAW ? "one object to put in the selection, e.g. a small red star; "
                                             "leave empty to clear the selection to the background"
                                           : "one object, e.g. a red star to the right of the blue circle";
    gimp_help_set_help_data(text, tip, NULL);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, row++, kind == KIND_GENERATE ? "_Prompt:" : "P_hrase:",
                              0.0, 0.5, text, 2, FALSE);

    GtkWidget *seed_box = gtk_hbox_new(FALSE, 6);
    GtkAdjustment *seed_adj = GTK_ADJUSTMENT(gtk_adjustment_new(
        s->seed >= 0 ? s->seed : g_random_int_range(0, G_MAXINT32), 0, G_MAXINT32, 1, 100, 0));
    GtkWidget *seed = gtk_spin_button_new(seed_adj, 1, 0);
    gtk_spin_button_set_numeric(GTK_SPIN_BUTTON(seed), TRUE);
    gtk_box_pack_start(GTK_BOX(seed_box), seed, TRUE, TRUE, 0);
    GtkWidget *random = gtk_button_new_with_mnemonic("_Random");
    gimp_help_set_help_data(random, "A new random seed", NULL);
    g_signal_connect(random, "clicked", G_CALLBACK(on_random_seed), seed);
    gtk_box_pack_start(GTK_BOX(seed_box), random, FALSE, FALSE, 0);
    gimp_table_attach_aligned(GTK_TABLE(table), 0, row++, "_Seed:", 0.0, 0.5, seed_box, 2, FALSE);

    GtkWidget *think = NULL;
    if (kind == KIND_GENERATE) {
        think = gtk_check_button_new_with_mnemonic("_Think: write a plan of the picture before drawing it");
        gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(think), s->think != 0);
        gtk_table_attach(GTK_TABLE(table), think, 1, 3, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
        row++;
    }

    GtkObject *guidance = gimp_scale_entry_new(GTK_TABLE(table), 0, row++, "_Guidance:", 200, 6,
                                               s->guidance >= 0 ? s->guidance : m->info.default_cfg_scale,
                                               0.0, 3.0, 0.05, 0.25, 2, FALSE, 0.0, 100.0,
                                               "Classifier-free guidance: 1 is off; useful from 1 to 1.5", NULL);
    GtkObject *check = gimp_scale_entry_new(GTK_TABLE(table), 0, row++, "_Check:", 200, 6, s->check, 0, 16, 1, 1,
                                            0, TRUE, 0, 0,
                                            "Checked drawing: read the drawing back this many times, "
                                            "redrawing objects that disagree with the plan (0 = off)", NULL);

    gchar *model_text = g_strdup_printf("Model: %s", m->path);
    GtkWidget *model_label = gtk_label_new(model_text);
    g_free(model_text);
    gtk_label_set_ellipsize(GTK_LABEL(model_label), PANGO_ELLIPSIZE_MIDDLE);
    gtk_misc_set_alignment(GTK_MISC(model_label), 0.0, 0.5);
    gimp_help_set_help_data(model_label, "Set PONDER_MODEL, or (ponder-model \"FILE\") in gimprc, to use another", NULL);
    gtk_table_attach(GTK_TABLE(table), model_label, 0, 3, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);

    gtk_widget_show_all(dialog);
    gboolean ok = gimp_dialog_run(GIMP_DIALOG(dialog)) == GTK_RESPONSE_OK;
    if (ok) {
        g_strlcpy(s->text, gtk_entry_get_text(GTK_ENTRY(text)), sizeof s->text);
        s->seed = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(seed));
        if (think) s->think = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(think));
        s->guidance = gtk_adjustment_get_value(GTK_ADJUSTMENT(guidance));
        s->check = (gint32)gtk_adjustment_get_value(GTK_ADJUSTMENT(check));
    }
    gtk_widget_destroy(dialog);
    return ok;
}

/* ---- Generate ------------------------------------------------------------------------- */

static void generate(Run *r, gint32 image, const Settings *s, GimpRunMode mode) {
    gboolean new_image = image < 0 || !gimp_image_is_valid(image);
    if (!settings_valid(r, s, KIND_GENERATE)) return;
    Model m;
    if (!model_load(r, &m)) { model_free(&m); return; }
    uint64_t seed = resolve_seed(s->seed);
    ponder_session *session = session_new(r, &m, s, seed);
    if (session == NULL) { model_free(&m); return; }

    gint mw = m.info.image_width, mh = m.info.image_height;
    guint8 *rgb = g_malloc((gsize)mw * mh * 3);
    gchar *plan = NULL;
    int32_t attempts = 0, satisfied = -1;
    gimp_progress_init(s->think ? "Ponder: thinking" : "Ponder: drawing");
    if (ponder_plan(session, s->text) != PONDER_OK) {
        fail(r, "Ponder: %s", library_error(session));
    } else {
        if (ponder_get_plan_stats(session, &attempts, &satisfied) != PONDER_OK) satisfied = -1;
        if (satisfied == 0) { /* drawn all the same, as the CLI does; the user should know why */
            gchar *warning = g_strdup_printf("Ponder: no plan of the %d written satisfies the prompt; drawing "
                                             "the last (the prompt may ask for what cannot fit, such as large "
                                             "objects crowded into one region)", attempts);
            gimp_message(warning);
            g_free(warning);
        }
        if (s->think) gimp_progress_set_text("Ponder: drawing");
        if (ponder_draw(session, on_token, NULL) != PONDER_OK
            || ponder_decode(session, rgb, (gsize)mw * mh * 3) != PONDER_OK)
            fail(r, "Ponder: %s", library_error(session));
        else
            plan = g_strdup(ponder_get_plan(session));
    }
    ponder_session_free(session);
    if (r->failed) {
        g_free(rgb);
        model_free(&m);
        return;
    }

    /* Into the image: a square layer as large as its shorter side, centred, so objects keep
     * their shapes; or a new image of the model's size. */
    gint side = mw, ox = 0, oy = 0;
    if (new_image) {
        image = gimp_image_new(mw, mh, GIMP_RGB);
        gimp_image_undo_disable(image);
    } else {
        gint iw = gimp_image_width(image), ih = gimp_image_height(image);
        side = MIN(iw, ih);
        ox = (iw - side) / 2;
        oy = (ih - side) / 2;
        gimp_image_undo_group_start(image);
    }
    gchar *name = layer_name("", s->text);
    gint32 layer = gimp_layer_new(image, name, mw, mh, new_image ? GIMP_RGB_IMAGE : GIMP_RGBA_IMAGE, 100,
                                  GIMP_LAYER_MODE_NORMAL);
    g_free(name);
    if (!gimp_image_insert_layer(image, layer, 0, -1)) {
        fail(r, "Ponder: GIMP refused the new layer: %s", gimp_get_pdb_error());
        gimp_item_delete(layer);
        if (new_image) gimp_image_delete(image); else gimp_image_undo_group_end(image);
        gimp_progress_end();
        g_free(rgb);
        g_free(plan);
        model_free(&m);
        return;
    }
    guint8 *rgba = rgb_to_rgba(rgb, (gsize)mw * mh);
    write_rgba(layer, rgba, mw, mh);
    if (side != mw || mw != mh) scale_layer(layer, side, side);
    gimp_layer_set_offsets(layer, ox, oy);

    GString *step = g_string_new("step: generate\n");
    append_field(step, "prompt", s->text);
    g_string_append_printf(step, "think: %s\n", s->think ? "yes" : "no");
    if (satisfied >= 0) g_string_append_printf(step, "plan satisfies prompt: %s\n", satisfied ? "yes" : "no");
    append_settings(step, seed, s, &m);
    append_plan(step, plan);
    history_attach(layer, step, NULL);
    g_string_free(step, TRUE);
    gimp_image_set_active_layer(image, layer);

    if (new_image) {
        gimp_image_undo_enable(image);
        if (mode == GIMP_RUN_INTERACTIVE) gimp_display_new(image);
    } else {
        gimp_image_undo_group_end(image);
    }
    gimp_progress_end();
    gimp_displays_flush();
    g_free(rgba);
    g_free(rgb);
    g_free(plan);
    model_free(&m);

    r->values[1].type = GIMP_PDB_IMAGE;
    r->values[1].data.d_image = image;
    r->values[2].type = GIMP_PDB_LAYER;
    r->values[2].data.d_layer = layer;
    *r->n_values = 3;
}

/* ---- Describe ------------------------------------------------------------------------- */

/* Shows the plan in a dialog of its own: gimp_message would show it as a warning, and the
 * plan's text is selectable here, to copy it into a prompt or a plan file. */
static void plan_dialog(const gchar *layer, const gchar *plan) {
    gimp_ui_init(PLUG_IN_BINARY, FALSE);
    GtkWidget *dialog = gimp_dialog_new("Ponder: Describe", PLUG_IN_BINARY, NULL, 0, gimp_standard_help_func,
                                        PROC_DESCRIBE, "_Close", GTK_RESPONSE_CLOSE, NULL);
    gimp_window_set_transient(GTK_WINDOW(dialog));
    GtkWidget *box = gtk_vbox_new(FALSE, 6);
    gtk_container_set_border_width(GTK_CONTAINER(box), 12);
    gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(dialog))), box, TRUE, TRUE, 0);

    gchar *intro = g_strdup_printf("Ponder reads the layer \"%s\" as:", layer);
    GtkWidget *label = gtk_label_new(intro);
    g_free(intro);
    gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
    gtk_misc_set_alignment(GTK_MISC(label), 0.0, 0.5);
    gtk_box_pack_start(GTK_BOX(box), label, FALSE, FALSE, 0);

    GtkWidget *text = gtk_label_new(plan);
    gtk_label_set_selectable(GTK_LABEL(text), TRUE);
    gtk_misc_set_alignment(GTK_MISC(text), 0.0, 0.0);
    gimp_label_set_attributes(GTK_LABEL(text), PANGO_ATTR_FAMILY, "monospace", -1);
    gtk_box_pack_start(GTK_BOX(box), text, TRUE, TRUE, 0);

    gtk_widget_show_all(dialog);
    /* Focus on Close, so that the plan is not shown selected, and Enter closes */
    gtk_widget_grab_focus(gtk_dialog_get_widget_for_response(GTK_DIALOG(dialog), GTK_RESPONSE_CLOSE));
    gimp_dialog_run(GIMP_DIALOG(dialog));
    gtk_widget_destroy(dialog);
}

static void describe(Run *r, gint32 drawable, GimpRunMode mode) {
    Model m;
    if (!model_load(r, &m)) { model_free(&m); return; }
    Settings defaults = {.think = 1, .guidance = -1, .check = 0};
    ponder_session *session = session_new(r, &m, &defaults, 0);
    guint8 *rgb = session ? read_for_model(r, drawable, m.info.image_width, m.info.image_height) : NULL;
    gchar *plan = NULL;
    if (rgb != NULL) {
        gimp_progress_init("Ponder: reading the layer");
        gimp_progress_pulse();
        gsize size = (gsize)m.info.image_width * m.info.image_height * 3;
        if (ponder_set_image(session, rgb, size, m.info.image_width, m.info.image_height) != PONDER_OK
            || ponder_describe(session) != PONDER_OK || ponder_get_plan(session) == NULL)
            fail(r, "Ponder: %s", library_error(session));
        else
            plan = g_strdup(ponder_get_plan(session));
        gimp_progress_end();
    }
    ponder_session_free(session);
    g_free(rgb);
    model_free(&m);
    if (plan == NULL) return;
    if (mode == GIMP_RUN_INTERACTIVE) {
        gchar *layer = gimp_item_get_name(drawable);
        plan_dialog(layer ? layer : "", plan);
        g_free(layer);
    }
    r->values[1].type = GIMP_PDB_STRING;
    r->values[1].data.d_string = plan; /* kept until the process ends, as GIMP reads it then */
    *r->n_values = 2;
}

/* ---- Redraw and add ------------------------------------------------------------------- */

/* The selection's bounding box in the layer's pixels (x0, y0, x1, y1; x0 <= x < x1). */
static gboolean selection_box(Run *r, gint32 drawable, gint box[4]) {
    gint32 image = gimp_item_get_image(drawable);
    gboolean any = FALSE;
    gint x1 = 0, y1 = 0, x2 = 0, y2 = 0, ox = 0, oy = 0;
    gimp_selection_bounds(image, &any, &x1, &y1, &x2, &y2);
    if (!any) {
        fail(r, "Ponder: there is no selection: select the region to redraw first");
        return FALSE;
    }
    gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);
    gimp_drawable_offsets(drawable, &ox, &oy);
    box[0] = CLAMP(x1 - ox, 0, w);
    box[1] = CLAMP(y1 - oy, 0, h);
    box[2] = CLAMP(x2 - ox, 0, w);
    box[3] = CLAMP(y2 - oy, 0, h);
    if (box[0] >= box[2] || box[1] >= box[3]) {
        fail(r, "Ponder: the selection does not overlap the layer");
        return FALSE;
    }
    return TRUE;
}

/* The selection's weight (0 to 255) for each pixel of the drawable, in its own coordinates. */
static guint8 *selection_weights(Run *r, gint32 image, gint32 drawable, gint w, gint h) {
    gint ox, oy;
    gimp_drawable_offsets(drawable, &ox, &oy);
    guint8 *weights = g_try_malloc((gsize)w * h);
    if (weights == NULL) {
        fail(r, "Ponder: not enough memory for a %d x %d selection", w, h);
        return NULL;
    }
    GeglBuffer *buffer = gimp_drawable_get_buffer(gimp_image_get_selection(image));
    gegl_buffer_get(buffer, GEGL_RECTANGLE(ox, oy, w, h), 1.0, babl_format("Y u8"), weights,
                    GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return weights;
}

/* The edit's result on a new layer above the source, the source's size and place: the
 * model's pixels in the cells the edit changed (scaled to the layer's size, and weighted by
 * the selection when there is one), the source's own pixels everywhere else. */
static gint32 edit_layer(Run *r, gint32 image, gint32 source, const gchar *name, const guint8 *before,
                         const guint8 *after, const Model *m, const guint8 *weights) {
    gint mw = m->info.image_width, mh = m->info.image_height;
    gint cw = mw / m->info.grid_width, ch = mh / m->info.grid_height;
    gint gw = m->info.grid_width;
    gboolean *changed = g_new0(gboolean, (gsize)gw * m->info.grid_height);
    for (gint y = 0; y < mh; y++)
        for (gint x = 0; x < mw; x++)
            if (memcmp(before + 3 * ((gsize)y * mw + x), after + 3 * ((gsize)y * mw + x), 3) != 0)
                changed[(y / ch) * gw + x / cw] = TRUE;

    gint w, h, lw = 0, lh = 0;
    guint8 *pixels = read_rgba(r, source, &w, &h);
    if (pixels == NULL) { g_free(changed); return -1; }
    gint32 layer = gimp_layer_new(image, name, mw, mh, GIMP_RGBA_IMAGE, 100, GIMP_LAYER_MODE_NORMAL);
    gint32 parent = gimp_item_get_parent(source);
    if (!gimp_image_insert_layer(image, layer, parent > 0 ? parent : 0, gimp_image_get_item_position(image, source))) {
        fail(r, "Ponder: GIMP refused the new layer: %s", gimp_get_pdb_error());
        gimp_item_delete(layer);
        g_free(pixels);
        g_free(changed);
        return -1;
    }
    guint8 *drawn = rgb_to_rgba(after, (gsize)mw * mh);
    write_rgba(layer, drawn, mw, mh);
    if (w != mw || h != mh) {
        g_free(drawn);
        scale_layer(layer, w, h);
        drawn = read_rgba(r, layer, &lw, &lh);
        if (drawn == NULL || lw != w || lh != h) {
            if (drawn != NULL) fail(r, "Ponder: scaling the result gave %d x %d pixels, not %d x %d", lw, lh, w, h);
            gimp_image_remove_layer(image, layer);
            g_free(drawn);
            g_free(pixels);
            g_free(changed);
            return -1;
        }
    }
    for (gint y = 0; y < h; y++) {
        gint cy = (gint)((gint64)y * mh / h) / ch;
        for (gint x = 0; x < w; x++) {
            gint cx = (gint)((gint64)x * mw / w) / cw;
            if (!changed[cy * gw + cx]) continue;
            gsize i = 4 * ((gsize)y * w + x);
            guint k = weights ? weights[(gsize)y * w + x] : 255;
            for (int c = 0; c < 4; c++)
                pixels[i + c] = (guint8)((pixels[i + c] * (255 - k) + drawn[i + c] * k + 127) / 255);
        }
    }
    write_rgba(layer, pixels, w, h);
    gint ox, oy;
    gimp_drawable_offsets(source, &ox, &oy);
    gimp_layer_set_offsets(layer, ox, oy);
    g_free(drawn);
    g_free(pixels);
    g_free(changed);
    return layer;
}

static void edit(Run *r, Kind kind, gint32 drawable, const Settings *s) {
    gint32 image = gimp_item_get_image(drawable);
    if (!settings_valid(r, s, kind)) return;
    gint w = gimp_drawable_width(drawable), h = gimp_drawable_height(drawable);

    /* The region: the selection's bounds, in the layer's pixels, then the model's. */
    gint box[4] = {0, 0, 0, 0};
    guint8 *weights = NULL;
    if (kind == KIND_REDRAW) {
        if (!selection_box(r, drawable, box)) return;
        weights = selection_weights(r, image, drawable, w, h);
        if (weights == NULL) return;
    }

    Model m;
    if (!model_load(r, &m)) { model_free(&m); g_free(weights); return; }
    gint mw = m.info.image_width, mh = m.info.image_height;
    if (kind == KIND_REDRAW) { /* outward, so the model's box covers the whole selection */
        box[0] = (gint)((gint64)box[0] * mw / w);
        box[1] = (gint)((gint64)box[1] * mh / h);
        box[2] = (gint)(((gint64)box[2] * mw + w - 1) / w);
        box[3] = (gint)(((gint64)box[3] * mh + h - 1) / h);
    }
    uint64_t seed = resolve_seed(s->seed);
    ponder_session *session = session_new(r, &m, s, seed);
    guint8 *before = session ? read_for_model(r, drawable, mw, mh) : NULL;
    guint8 *after = g_malloc((gsize)mw * mh * 3);
    gchar *history = history_read(drawable);
    Step last;
    gboolean has_plan = history_latest(history, &last) && last.plan != NULL;
    gchar *plan = NULL;
    gsize size = (gsize)mw * mh * 3;
    gchar *phrase = g_strstrip(g_strdup(s->text));
    if (before != NULL) {
        gimp_progress_init(kind == KIND_ADD ? "Ponder: adding an element" : "Ponder: redrawing the selection");
        gimp_progress_pulse();
        if (ponder_set_image(session, before, size, mw, mh) != PONDER_OK)
            fail(r, "Ponder: %s", library_error(session));
        else if (has_plan && ponder_set_canvas_plan(session, last.plan) != PONDER_OK)
            fail(r, "Ponder: the plan in the layer's history (parasite %s) is not valid: %s", HISTORY_PARASITE,
                 library_error(session));
        else if ((kind == KIND_ADD ? ponder_add(session, phrase)
                                   : ponder_redraw_region(session, box[0], box[1], box[2], box[3],
                                                          *phrase ? phrase : NULL)) != PONDER_OK
                 || ponder_decode(session, after, size) != PONDER_OK)
            fail(r, "Ponder: %s", library_error(session));
        else
            plan = g_strdup(ponder_get_plan(session));
    }
    ponder_session_free(session);

    gint32 layer = -1;
    if (!r->failed) {
        gimp_image_undo_group_start(image);
        gchar *name = kind == KIND_ADD ? layer_name("add: ", phrase)
                    : layer_name("redraw: ", *phrase ? phrase : "cleared");
        layer = edit_layer(r, image, drawable, name, before, after, &m, weights);
        g_free(name);
        GString *step = g_string_new(kind == KIND_ADD ? "step: add\n" : "step: redraw\n");
        append_field(step, "phrase", phrase);
        if (kind == KIND_REDRAW)
            g_string_append_printf(step, "region: %d %d %d %d\n", box[0], box[1], box[2], box[3]);
        append_settings(step, seed, s, &m);
        gchar *source = gimp_item_get_name(drawable);
        append_field(step, "source", source ? source : "");
        g_free(source);
        g_string_append_printf(step, "source plan: %s\n", has_plan ? "history" : "read from the pixels");
        append_plan(step, plan);
        if (layer >= 0) {
            history_attach(layer, step, history);
            gimp_image_set_active_layer(image, layer);
        }
        g_string_free(step, TRUE);
        gimp_image_undo_group_end(image);
        gimp_progress_end();
        gimp_displays_flush();
    }
    step_clear(&last);
    g_free(phrase);
    g_free(plan);
    g_free(history);
    g_free(before);
    g_free(after);
    g_free(weights);
    model_free(&m);
    if (r->failed) return;
    r->values[1].type = GIMP_PDB_LAYER;
    r->values[1].data.d_layer = layer;
    *r->n_values = 2;
}

/* ---- run ------------------------------------------------------------------------------ */

/* What each procedure needs of the image and layer, checked before a dialog opens. */
static gboolean target_valid(Run *r, Kind kind, gint32 image, gint32 drawable) {
    const gchar *not_rgb = "Ponder: the image is grayscale or indexed, and Ponder draws in colour: "
                           "convert it to RGB first (Image → Mode → RGB)";
    if (kind == KIND_GENERATE) {
        if (image >= 0 && gimp_image_is_valid(image) && gimp_image_base_type(image) != GIMP_RGB) {
            fail(r, "%s", not_rgb);
            return FALSE;
        }
        return TRUE;
    }
    if (drawable < 0 || !gimp_item_is_valid(drawable)) {
        fail(r, "Ponder: no layer to %s", kind == KIND_DESCRIBE ? "describe" : kind == KIND_ADD ? "add to" : "redraw");
        return FALSE;
    }
    if (kind == KIND_DESCRIBE) return TRUE;
    if (!gimp_item_is_layer(drawable)) {
        fail(r, "Ponder: choose a layer to %s (not a channel or a mask)", kind == KIND_ADD ? "add to" : "redraw");
        return FALSE;
    }
    if (gimp_image_base_type(gimp_item_get_image(drawable)) != GIMP_RGB) {
        fail(r, "%s", not_rgb);
        return FALSE;
    }
    gint box[4];
    return kind != KIND_REDRAW || selection_box(r, drawable, box);
}

static void settings_defaults(Settings *s) {
    memset(s, 0, sizeof *s);
    s->seed = -1;
    s->think = 1;
    s->guidance = -1;
    s->check = 3;
}

/* The settings of the last interactive run, when GIMP holds a record of this size (a record
 * of another size is from another version of the plug-in and is ignored). */
static void settings_last(const gchar *name, Settings *s) {
    if (gimp_get_data_size(name) == (gint)sizeof *s) {
        gimp_get_data(name, s);
        s->text[MAX_TEXT] = '\0';
    }
}

/* Reads the settings, which start at param[first] (after run-mode, image and drawable, or
 * after run-mode alone). FALSE when they do not fit. */
static gboolean settings_from_params(Kind kind, gint first, gint nparams, const GimpParam *param, Settings *s) {
    gint expected = first + (kind == KIND_GENERATE ? 5 : 4);
    if (nparams != expected) return FALSE;
    const gchar *text = param[first].data.d_string ? param[first].data.d_string : "";
    g_strlcpy(s->text, text, sizeof s->text);
    s->seed = param[first + 1].data.d_int32;
    gint i = first + 2;
    if (kind == KIND_GENERATE) s->think = param[i++].data.d_int32 != 0;
    s->guidance = param[i++].data.d_float;
    s->check = param[i].data.d_int32;
    return TRUE;
}

/* The settings of the source layer's history, for making its picture again. */
static void settings_from_history(gint32 drawable, Settings *s) {
    if (drawable < 0 || !gimp_item_is_valid(drawable)) return;
    gchar *history = history_read(drawable);
    Step last;
    if (history_latest(history, &last) && !strcmp(last.step, "generate") && last.text != NULL) {
        g_strlcpy(s->text, last.text, sizeof s->text);
        if (last.seed >= 0 && last.seed <= G_MAXINT32) s->seed = (gint32)last.seed;
        s->think = last.think;
        if (last.guidance >= 0) s->guidance = last.guidance;
        if (last.check >= 0) s->check = last.check;
    }
    step_clear(&last);
    g_free(history);
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                GimpParam **return_vals) {
    static GimpParam values[3];
    Run r = {values, nreturn_vals, FALSE};
    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = GIMP_PDB_SUCCESS;
    *nreturn_vals = 1;
    *return_vals = values;

    Kind kind;
    gint first = 3; /* the first setting's index: after run-mode, image and drawable */
    if (!strcmp(name, PROC_GENERATE)) kind = KIND_GENERATE;
    else if (!strcmp(name, PROC_GENERATE_IMAGE)) { kind = KIND_GENERATE; first = 1; }
    else if (!strcmp(name, PROC_DESCRIBE)) kind = KIND_DESCRIBE;
    else if (!strcmp(name, PROC_REDRAW)) kind = KIND_REDRAW;
    else if (!strcmp(name, PROC_ADD)) kind = KIND_ADD;
    else {
        values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
        return;
    }
    if (nparams < first) {
        values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
        return;
    }
    GimpRunMode mode = param[0].data.d_int32;
    gint32 image = first == 3 ? param[1].data.d_image : -1, drawable = first == 3 ? param[2].data.d_drawable : -1;
    /* Both Generates keep one record of the last values, so either dialog starts from them. */
    const gchar *data_name = kind == KIND_GENERATE ? PROC_GENERATE : name;
    gegl_init(NULL, NULL);
    if (!target_valid(&r, kind, image, drawable)) return;

    if (kind == KIND_DESCRIBE) {
        describe(&r, drawable, mode);
        return;
    }
    Settings s;
    settings_defaults(&s);
    switch (mode) {
    case GIMP_RUN_INTERACTIVE: {
        settings_last(data_name, &s);
        if (kind == KIND_GENERATE) settings_from_history(drawable, &s);
        Model m; /* loaded first: a missing model is reported before the dialog opens */
        gboolean ok = model_load(&r, &m) && settings_dialog(kind, &s, &m);
        model_free(&m);
        if (r.failed) return;
        if (!ok) {
            values[0].data.d_status = GIMP_PDB_CANCEL;
            return;
        }
        gimp_set_data(data_name, &s, sizeof s);
        break;
    }
    case GIMP_RUN_NONINTERACTIVE:
        if (nparams > first && param[first].data.d_string && strlen(param[first].data.d_string) > MAX_TEXT) {
            fail(&r, "Ponder: the %s is longer than %d bytes", kind == KIND_GENERATE ? "prompt" : "phrase", MAX_TEXT);
            return;
        }
        if (!settings_from_params(kind, first, nparams, param, &s)) {
            values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
            return;
        }
        break;
    case GIMP_RUN_WITH_LAST_VALS:
        settings_last(data_name, &s);
        break;
    default:
        values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
        return;
    }
    if (kind == KIND_GENERATE)
        generate(&r, image, &s, mode);
    else
        edit(&r, kind, drawable, &s);
}
