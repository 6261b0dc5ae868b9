/*
 * ponder.h - the C API of libponder, an embeddable "thinking" autoregressive image model.
 *
 * A model writes a plan of the picture (objects, colours, sizes, positions), then draws the
 * image as a grid of discrete tokens, which a VQ decoder turns into RGB pixels.
 *
 *     ponder_model *model;
 *     if (ponder_model_load("models/ponder-shapes-q8_0.gguf", &model) != PONDER_OK) {
 *         fprintf(stderr, "%s\n", ponder_last_error());
 *         return 1;
 *     }
 *     ponder_session_params params = ponder_session_default_params();
 *     params.seed = 42;
 *     ponder_session *session;
 *     ponder_session_create(model, &params, &session);
 *     const char *prompt = "a red circle to the left of a blue square";
 *     if (ponder_generate(session, prompt, NULL, NULL) == PONDER_OK)
 *         ponder_write_png(session, "out.png");
 *     ponder_session_free(session);
 *     ponder_model_free(model);
 *
 * Conventions
 *  - Every function that can fail returns a ponder_status; PONDER_OK is 0. On failure the
 *    message is available from ponder_last_error() on the calling thread (and, for calls on
 *    a session, from ponder_session_last_error()). No function aborts the process on bad
 *    input: NULL pointers, wrong call order, bad sizes and malformed files are all statuses.
 *  - Strings passed in are NUL-terminated UTF-8 and are copied; the caller keeps ownership.
 *  - Strings and buffers returned are owned as each function says.
 *  - Threads: a ponder_model is immutable after loading and may be used by any number of
 *    sessions on any threads at once. A ponder_session takes one call at a time (different
 *    sessions may run in parallel): a call on a session while another thread is inside a
 *    call on it is refused with PONDER_ERR_WRONG_STATE, its message in ponder_last_error()
 *    only, and changes nothing (ponder_get_plan then returns NULL, ponder_session_last_error
 *    a fixed message, and ponder_session_free leaves the session alone). A session must not
 *    be used after ponder_session_free returns. ponder_last_error() is per thread.
 *  - Determinism: the same model, prompt, parameters and seed give byte-identical images,
 *    whatever the thread count.
 */
#ifndef PONDER_H
#define PONDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PONDER_API marks the library's entry points. libponder.so exports these and no other
 * symbol (it is linked with Sources/Ponder/exports.map, which keeps the Swift runtime and
 * the engine inside it hidden), so a host links against exactly this header. */
#ifndef PONDER_API
#if defined(__GNUC__) || defined(__clang__)
#define PONDER_API __attribute__((visibility("default")))
#else
#define PONDER_API
#endif
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (ponder_version() returns the one it was built
 * with; scripts/install writes it into ponder.pc). */
#define PONDER_VERSION "0.1.0"
/* Raised whenever a function, type or constant of this header is added or changed;
 * ponder_api_version() returns the one the library was built with. */
#define PONDER_API_VERSION 7

/* File name of the model the project ships (the one definition of it): models/ in the
 * repository, PREFIX/share/ponder/ once installed (scripts/install), ponder/models/ in the
 * Python package. A host that offers "the default model" looks for it there. */
#define PONDER_DEFAULT_MODEL "ponder-shapes-q8_0.gguf"

typedef enum ponder_status {
    PONDER_OK = 0,
    PONDER_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, out-of-range parameter */
    PONDER_ERR_IO = 2,               /* a file could not be opened, read or written */
    PONDER_ERR_BAD_MODEL = 3,        /* the model file is malformed or not a Ponder model */
    PONDER_ERR_BAD_PROMPT = 4,       /* the prompt is not in the prompt language */
    PONDER_ERR_BAD_PLAN = 5,         /* the plan text is not a valid plan */
    PONDER_ERR_WRONG_STATE = 6,      /* calls in the wrong order (step before plan, ...) */
    PONDER_ERR_BUFFER_TOO_SMALL = 7, /* an output buffer is smaller than needed */
    PONDER_ERR_OUT_OF_MEMORY = 8,    /* an allocation or a thread could not be made */
    PONDER_ERR_INTERNAL = 9,         /* a bug in libponder; please report it */
    PONDER_ERR_UNSUPPORTED = 10,     /* the model cannot do this (no image encoder: it cannot
                                        read images) */
    PONDER_ERR_CANCELLED = 11        /* a progress callback asked to stop (ponder_draw) */
} ponder_status;

/* Opaque handles. */
typedef struct ponder_model ponder_model;
typedef struct ponder_session ponder_session;

/* Facts about a loaded model. */
typedef struct ponder_model_info {
    int32_t image_width;     /* pixels */
    int32_t image_height;
    int32_t grid_width;      /* image tokens per row */
    int32_t grid_height;     /* rows of image tokens */
    int32_t codebook_size;   /* distinct image codes */
    int32_t vocab_size;      /* all token ids: words, special tokens and image codes */
    int32_t context_length;  /* longest token sequence */
    int32_t embedding_length;
    int32_t layer_count;
    int32_t head_count;
    int64_t parameter_count; /* transformer and decoder together */
    float default_cfg_scale; /* guidance scale the model was tuned for */
    int32_t can_read_images; /* 1 if the model reads pictures from outside: it has an image
                                encoder (ponder_set_image*) and the <describe> token, else 0 */
} ponder_model_info;

/* Sampling and run settings of a session. Get defaults from ponder_session_default_params()
 * and change what you need. */
typedef struct ponder_session_params {
    uint64_t seed;      /* same seed, same image (default 0) */
    float temperature;  /* 0 = greedy; default 1.0; 0 to 100 */
    int32_t top_k;      /* 0 = off (default); otherwise keep the k most likely tokens */
    float top_p;        /* nucleus sampling; 1.0 = off (default); (0, 1] */
    float cfg_scale;    /* classifier-free guidance; negative = the model's default
                           (default); 1 = off; 0 to 100 */
    int32_t think;      /* 1 = write a plan before drawing (default); 0 = draw directly */
    int32_t n_threads;  /* worker threads; 0 = number of processors, at most 8 (default) */
    int32_t plan_attempts; /* thinking: plans written at most per prompt; each is checked
                              against the prompt and the next written until one satisfies it
                              (else the last is kept); 1 = the first plan as sampled;
                              default 8; 1 to 64 */
    int32_t check_attempts; /* checked drawing: after the last image token the model reads
                               its image back into a plan, at most this many times, and after
                               each read but the last redraws the cells of objects that
                               disagree with the plan; the image read with the fewest wrong
                               objects is kept. 0 = off, 1 = read only; default 3; 0 to 16.
                               Needs a plan (thinking or ponder_set_plan); docs/plan.md,
                               "Checked drawing" */
    int32_t draft_tokens;   /* speculative drawing: the most drafted image tokens each pass
                               over the weights feeds after the token just drawn, kept while
                               the model's own samples agree with them. The image is the same,
                               byte for byte, for every value; only the speed changes. 0 = one
                               token a pass; default 3 on processors with AVX-512 VNNI, 0
                               on others (where drafting costs more than it saves); 0 to 15
                               (docs/performance.md, "Speculative drawing"). Added in API
                               version 6. */
} ponder_session_params;

/* The version the library was built with (PONDER_VERSION then). Returns a static string;
 * never NULL. Thread-safe. */
PONDER_API const char *ponder_version(void);

/* The PONDER_API_VERSION the library was built with. A host compiled against this header
 * can refuse a library older than it: ponder_api_version() < PONDER_API_VERSION.
 * Thread-safe. */
PONDER_API int32_t ponder_api_version(void);

/* Human-readable name of a status. Returns a static string; never NULL. Thread-safe. */
PONDER_API const char *ponder_status_string(ponder_status status);

/* Message of the last failed call on this thread, or "" if none failed. The string is owned
 * by the library and stays valid until the next ponder_* call on the same thread.
 * Thread-safe (each thread has its own). */
PONDER_API const char *ponder_last_error(void);

/* ---- Models -------------------------------------------------------------------------- */

/* Loads a GGUF model file and checks it fully. The file is read into memory (not mapped), so
 * it may be rewritten or deleted while the model is loaded.
 * path: non-NULL. out_model: non-NULL; receives the model on success, NULL on failure.
 * The caller owns the model and frees it with ponder_model_free once every session made
 * from it is freed. Thread-safe. */
PONDER_API ponder_status ponder_model_load(const char *path, ponder_model **out_model);

/* Frees a model. NULL is allowed and ignored. Free its sessions first. */
PONDER_API void ponder_model_free(ponder_model *model);

/* Fills *out_info with the model's facts. model and out_info: non-NULL. Thread-safe. */
PONDER_API ponder_status ponder_model_get_info(const ponder_model *model, ponder_model_info *out_info);

/* ---- Sessions ------------------------------------------------------------------------ */

/* Default session parameters (see ponder_session_params). Thread-safe. */
PONDER_API ponder_session_params ponder_session_default_params(void);

/* Creates a session on a model. model: non-NULL. params: NULL for the defaults.
 * out_session: non-NULL; receives the session, NULL on failure. The caller owns the
 * session and frees it with ponder_session_free. The model must outlive the session.
 * Thread-safe (sessions of one model may be created on several threads at once). */
PONDER_API ponder_status ponder_session_create(ponder_model *model, const ponder_session_params *params,
                                               ponder_session **out_session);

/* Frees a session. NULL is allowed and ignored. A session that another thread is inside a
 * call on, or whose own progress callback calls this, is not freed (ponder_last_error() says
 * so): free it once that call has returned. */
PONDER_API void ponder_session_free(ponder_session *session);

/* Message of the last failed call on this session, or "". Owned by the session, valid until
 * the next call on it. */
PONDER_API const char *ponder_session_last_error(const ponder_session *session);

/* ---- Thinking ------------------------------------------------------------------------ */

/* Sets the prompt and, if the session thinks, writes the plan (the thinking phase): each plan
 * written is checked against the prompt, and another written until one satisfies it, up to
 * params.plan_attempts (docs/plan.md, "Checked thinking").
 * The prompt must be in the prompt language of the Shapes world; an error names the bad
 * word. Starts a new image (tokens drawn before are discarded). session, prompt: non-NULL. */
PONDER_API ponder_status ponder_plan(ponder_session *session, const char *prompt);

/* The current plan as text (docs/plan.md), or NULL when there is none (thinking off and no
 * plan set, before ponder_plan, or after ponder_set_image*) or when another thread is inside
 * a call on the session (ponder_last_error() says so). Owned by the session; valid
 * until the next call that changes the plan (ponder_plan, ponder_set_plan, a successful
 * ponder_set_image*, ponder_describe, ponder_set_canvas_plan, ponder_edit,
 * ponder_redraw_region, ponder_add) or ponder_session_free: copy it to keep it. */
PONDER_API const char *ponder_get_plan(const ponder_session *session);

/* Replaces the plan with one the caller wrote or edited, so objects can be moved, added or
 * removed before drawing. Needs a prompt set by ponder_plan first. The plan is validated;
 * a bad plan is PONDER_ERR_BAD_PLAN with a message naming the line and word. Starts the
 * image anew. session, plan: non-NULL. */
PONDER_API ponder_status ponder_set_plan(ponder_session *session, const char *plan);

/* ---- Drawing ------------------------------------------------------------------------- */

/* Generates up to max_tokens more image tokens (0 is allowed and does nothing). ponder_draw
 * below draws the rest in one call, with progress and cancelling.
 * out_done and out_remaining may be NULL; they receive the number of tokens generated so
 * far and the number left. Needs ponder_plan first. */
PONDER_API ponder_status ponder_step(ponder_session *session, int32_t max_tokens, int32_t *out_done,
                                     int32_t *out_remaining);

/* The image codes generated so far (raster order). out_codes may be NULL to ask only for
 * the count; otherwise it must hold capacity codes. *out_count (non-NULL) receives the
 * number of codes generated. */
PONDER_API ponder_status ponder_get_tokens(const ponder_session *session, int32_t *out_codes, size_t capacity,
                                           size_t *out_count);

/* Decodes the tokens generated so far into RGB8 pixels, row-major, no padding
 * (width * height * 3 bytes; see ponder_model_info), on the plan's background (else the
 * prompt's, else white): the tokens describe the scene on white and the background is laid
 * in here (docs/format.md, "Backgrounds"). Cells not yet generated are shown in neutral
 * grey, so this works mid-way for previews, and never changes what is drawn. The decoder
 * draws the finished rows just above those cells from both, and decodes the cells as the plan
 * shows them (without a plan, as copies of the cells above). With the shipped model, rows 7
 * or more token rows above the row being drawn come out exactly as in the final image, nearer
 * ones close to it: mostly shape outlines about a pixel off (docs/format.md, "Previews").
 * Needs at least one token.
 * rgb: non-NULL, rgb_size bytes owned by the caller. */
PONDER_API ponder_status ponder_decode(const ponder_session *session, uint8_t *rgb, size_t rgb_size);

/* Decodes the tokens so far and writes them as a PNG file at path. */
PONDER_API ponder_status ponder_write_png(const ponder_session *session, const char *path);

/* How the last drawing was checked (params.check_attempts): *out_checks receives the number
 * of times the image was read back, *out_redraws the number of redraws made (each read back
 * after). Both 0 before the last token, with checking off, or without a plan. Either pointer
 * may be NULL. session: non-NULL. */
PONDER_API ponder_status ponder_get_check_stats(const ponder_session *session, int32_t *out_checks,
                                                int32_t *out_redraws);

/* How the plan drawn from was thought (docs/plan.md, "Checked thinking"): *out_attempts
 * receives the number of plans written for the prompt (0 without thinking), *out_satisfied
 * 1 when the plan satisfies the prompt, 0 when it does not (no plan of params.plan_attempts
 * did and the last is drawn, e.g. for a prompt that asks for what cannot fit, such as two
 * large circles in one corner; or a plan set with ponder_set_plan does not), and -1 without
 * a prompt or a plan. Either pointer may be NULL. session: non-NULL. */
PONDER_API ponder_status ponder_get_plan_stats(const ponder_session *session, int32_t *out_attempts,
                                               int32_t *out_satisfied);

/* ---- Drawing with progress ----------------------------------------------------------- */

/* Called by ponder_draw and ponder_generate after each pass of drawing (one token, or up to
 * params.draft_tokens + 2 with speculative drawing), on the calling thread and inside that
 * call: done tokens of total are drawn (1 <= done <= total, growing from call to call;
 * checked drawing runs within the last pass, before its call). user_data is the pointer given to the call,
 * passed through untouched; the library keeps neither past the call. Return true to go on,
 * false to stop drawing.
 * From inside the callback only ponder_decode (a preview), ponder_write_png,
 * ponder_get_tokens, ponder_get_plan, ponder_get_check_stats, ponder_get_plan_stats and ponder_session_last_error
 * may be called on the session being drawn; any other call on it is PONDER_ERR_WRONG_STATE,
 * and it must not be freed there. */
typedef bool (*ponder_progress_callback)(int32_t done, int32_t total, void *user_data);

/* Draws the image tokens still to come (all of them after ponder_plan or ponder_set_plan),
 * as repeated ponder_step calls would, calling callback (NULL for none) after each pass.
 * When the callback returns false before the last token, drawing stops and the call returns
 * PONDER_ERR_CANCELLED: the session keeps the tokens drawn so far (ponder_decode shows them),
 * and a later ponder_draw or ponder_step goes on from there, giving the same image as a
 * drawing never stopped. false after the last token changes nothing (PONDER_OK). An image
 * already complete returns PONDER_OK without calls. Needs ponder_plan first. session:
 * non-NULL. */
PONDER_API ponder_status ponder_draw(ponder_session *session, ponder_progress_callback callback,
                                     void *user_data);

/* ponder_plan(session, prompt), then ponder_draw(session, callback, user_data): a prompt to a
 * finished image in one call, or PONDER_ERR_CANCELLED as for ponder_draw. session, prompt:
 * non-NULL. */
PONDER_API ponder_status ponder_generate(ponder_session *session, const char *prompt,
                                         ponder_progress_callback callback, void *user_data);

/* ---- Reading images ------------------------------------------------------------------ */

/* Sets the session's image from RGB8 pixels (row-major, no padding, width * height * 3
 * bytes at rgb, rgb_size bytes owned by the caller and copied). The image must be the
 * model's size (ponder_model_info.image_width × image_height, 128 × 128 for the default
 * model): any other size is PONDER_ERR_INVALID_ARGUMENT with a message naming both sizes;
 * scale the picture first. The background is read from the border, and the picture is moved
 * onto white and encoded into image codes (docs/format.md, "Encoder"), which ponder_get_tokens
 * and ponder_decode then return. Discards the prompt, plan and any drawing; a call that fails
 * changes nothing. A model without an encoder gives PONDER_ERR_UNSUPPORTED. A size_t of 2^63
 * or more is refused here and everywhere (no buffer is that large). session, rgb: non-NULL. */
PONDER_API ponder_status ponder_set_image(ponder_session *session, const uint8_t *rgb, size_t rgb_size,
                                          int32_t width, int32_t height);

/* As ponder_set_image, from a PNG file or a PNG in memory (png_size bytes, owned by the
 * caller). Any PNG kind is read through libpng and converted to RGB8: grey, palette, 16-bit
 * (each value / 257, rounded), and alpha composited onto the PNG's bKGD colour, else white.
 * A malformed or hostile PNG (truncated, bad CRC, more than 2^26 pixels or 32768 per side)
 * is an error with a message, before anything is allocated for its pixels. */
PONDER_API ponder_status ponder_set_image_png(ponder_session *session, const char *path);
PONDER_API ponder_status ponder_set_image_png_memory(ponder_session *session, const uint8_t *png,
                                                     size_t png_size);

/* Reads the session's image (set with ponder_set_image*, or a finished drawing) back into a
 * plan (docs/plan.md): the model's likeliest plan for the image codes, word by word under the
 * plan grammar, with the background read from the pixels. The plan then comes from
 * ponder_get_plan (and replaces the plan the image was drawn from). Deterministic (no
 * sampling). A plan holds 1 to 4 objects, so a blank picture is still read as holding one.
 * PONDER_ERR_WRONG_STATE without a whole image; PONDER_ERR_UNSUPPORTED for a model without
 * the <describe> token. A drawing needs no encoder to be described (its own codes are read);
 * a picture from outside does (ponder_set_image*). session: non-NULL. */
PONDER_API ponder_status ponder_describe(ponder_session *session);

/* Reads a PNG file or a PNG in memory into RGB8 pixels, converted as for
 * ponder_set_image_png, at any size up to its limits. On success *out_rgb receives
 * width * height * 3 bytes that the caller frees with ponder_free, and *out_width and
 * *out_height the size. Every pointer non-NULL. Thread-safe. */
PONDER_API ponder_status ponder_read_png(const char *path, uint8_t **out_rgb, int32_t *out_width,
                                         int32_t *out_height);
PONDER_API ponder_status ponder_read_png_memory(const uint8_t *png, size_t png_size, uint8_t **out_rgb,
                                                int32_t *out_width, int32_t *out_height);

/* ---- Editing a picture (the canvas) --------------------------------------------------- */

/* A session holds a canvas: a picture and its plan (docs/canvas.md). It is the picture set
 * with ponder_set_image* (its plan set with ponder_set_canvas_plan, else read by
 * ponder_describe, else described by the first edit), or the session's finished drawing, or
 * the last edit's result. Each edit below redraws only the image-token cells it changes
 * (every other cell's code is fed to the model, not sampled), checks what it drew when
 * params.check_attempts > 0, and composites: every pixel outside the redrawn cells is the
 * input picture's own, byte for byte (unless the background changes), with a 2 px blend band
 * inside their edge; pixels of objects kept as they were stay too, even in a redrawn cell.
 * The result replaces the canvas: ponder_decode and ponder_write_png give its pixels and
 * ponder_get_plan its plan. Undo is setting the old picture and plan again (the picture is
 * then encoded anew, so redoing an edit may draw it differently than the first time).
 * Deterministic for a seed and any thread count. A failed edit changes nothing.
 * Errors: PONDER_ERR_WRONG_STATE without a canvas; PONDER_ERR_UNSUPPORTED when describing or
 * checking needs a model that reads images; PONDER_ERR_BAD_PLAN and PONDER_ERR_BAD_PROMPT
 * name the bad line or word, a reference that names no object or more than one, or why
 * there is no room. session: non-NULL. */

/* Gives the session's picture (set with ponder_set_image*, or the last edit's result) the
 * caller's plan (docs/plan.md; the line "background COLOUR" alone for a picture with no
 * objects) instead of describing it. A background other than the picture's (read from its
 * border) is PONDER_ERR_BAD_PLAN: change a background with ponder_edit. */
PONDER_API ponder_status ponder_set_canvas_plan(ponder_session *session, const char *plan);

/* Edit by plan: redraws the canvas to an edited copy of its plan. Objects may be moved,
 * recoloured, resized, removed or added, and the background changed. The cells an object
 * covers before or after its change, with one cell around, are redrawn; a background change
 * alone redraws nothing (the picture is moved onto the new background). plan: non-NULL. */
PONDER_API ponder_status ponder_edit(ponder_session *session, const char *plan);

/* Redraws a region (inpainting): the box x0 <= x < x1, y0 <= y < y1 in pixels of the
 * model's image. Objects whose centres lie in it are removed. With a phrase of the prompt
 * language for one object ("a small red star", "a red star above the blue circle"), the
 * model plans that object inside the box; with phrase NULL or blank the box is cleared to the
 * background. The cells the box touches are redrawn, and those of objects removed and added
 * with one cell around. A box outside the image is PONDER_ERR_INVALID_ARGUMENT; an object
 * that cannot fit in the box is PONDER_ERR_BAD_PROMPT ("no room ..."). */
PONDER_API ponder_status ponder_redraw_region(ponder_session *session, int32_t x0, int32_t y0, int32_t x1,
                                              int32_t y1, const char *phrase);

/* Adds one object by a phrase of the prompt language, which may place it against an object
 * of the picture with "the" ("a red star to the right of the blue circle"). The model
 * thinks the new object's plan line with the picture's objects fixed, so that the phrase
 * and the world's gap rules hold, and only its cells are drawn. With checking on
 * (check_attempts > 0), a new object still read wrong is planned again elsewhere, up to 3
 * places (here and in ponder_redraw_region; docs/canvas.md). A reference that names no
 * object or more than one, no room for the object, or a picture that already holds 4
 * objects is PONDER_ERR_BAD_PROMPT with a message saying which. phrase: non-NULL. */
PONDER_API ponder_status ponder_add(ponder_session *session, const char *phrase);

/* Progress and cancel for this session's edits (ponder_edit, ponder_redraw_region,
 * ponder_add): callback is called after each image token an edit samples, on the calling
 * thread and inside that call, with done of total tokens of the current pass. An edit samples
 * in passes (its first drawing, then each redraw its check asks for, and each new place tried
 * for a new object), so done restarts at 1 with each pass; an edit that samples nothing
 * (a removal, a background change) makes no calls. Return false to stop: the edit returns
 * PONDER_ERR_CANCELLED and the session keeps the canvas it had (as for any failed edit).
 * callback NULL removes it. user_data is passed through untouched; the library keeps the
 * pointer until the callback is replaced or the session is freed, and never reads it. From
 * inside the callback, the calls ponder_draw's callback may make are allowed (ponder_decode
 * then shows the codes being drawn); any other is PONDER_ERR_WRONG_STATE. session: non-NULL.
 * Added in API version 7. */
PONDER_API ponder_status ponder_set_edit_progress(ponder_session *session, ponder_progress_callback callback,
                                                  void *user_data);

/* ---- Raw evaluation ------------------------------------------------------------------ */

/* Evaluates raw token ids, llama_eval-style, for parity checks and benchmarks: keeps the
 * first n_past tokens evaluated so far on this session, appends n_tokens tokens and writes
 * the logits after the last one into logits (vocab_size floats; logits may be NULL to skip
 * the copy). Token ids are those of the model's vocabulary (docs/format.md). Discards the
 * image in progress; the next ponder_step starts drawing anew. */
PONDER_API ponder_status ponder_eval(ponder_session *session, const int32_t *tokens, size_t n_tokens,
                                     size_t n_past, float *logits, size_t logits_size);

/* ---- PNG ----------------------------------------------------------------------------- */

/* Encodes RGB8 pixels (row-major, width * height * 3 bytes) as PNG in memory.
 * On success *out_png receives a buffer of *out_size bytes that the caller frees with
 * ponder_free. Thread-safe. */
PONDER_API ponder_status ponder_encode_png(const uint8_t *rgb, size_t rgb_size, int32_t width,
                                           int32_t height, uint8_t **out_png, size_t *out_size);

/* Writes RGB8 pixels as a PNG file. Thread-safe. */
PONDER_API ponder_status ponder_write_png_rgb(const uint8_t *rgb, size_t rgb_size, int32_t width,
                                              int32_t height, const char *path);

/* Frees a buffer returned by the library. NULL is allowed. */
PONDER_API void ponder_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif /* PONDER_H */
