/* Editing a picture from C (docs/canvas.md): read a PNG, give it its plan (or have it
 * described), then add an element, redraw a region and edit by plan, writing each step, and
 * show the errors an editor would report.
 *
 *   cc edit_example.c -I include -L .build/release -lponder -Wl,-rpath,.build/release -o edit_example
 *
 *   ./edit_example MODEL.gguf IN.png OUT_PREFIX [PLAN.txt]
 *
 * writes OUT_PREFIX-add.png, OUT_PREFIX-redraw.png and OUT_PREFIX-edit.png; exits 0 when
 * every edit worked and every bad request was refused with the expected status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ponder.h>

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *text = calloc(4097, 1);
    size_t n = text ? fread(text, 1, 4096, f) : 0;
    fclose(f);
    if (text) text[n] = '\0';
    return text;
}

/* Runs one edit; on success writes the picture to PREFIX-NAME.png and prints the plan. */
static int step(ponder_session *session, ponder_status status, const char *prefix, const char *name) {
    if (status != PONDER_OK) {
        fprintf(stderr, "%s failed (%s): %s\n", name, ponder_status_string(status), ponder_session_last_error(session));
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s-%s.png", prefix, name);
    if (ponder_write_png(session, path) != PONDER_OK) {
        fprintf(stderr, "cannot write %s: %s\n", path, ponder_session_last_error(session));
        return 0;
    }
    printf("%s:\n%s\n", name, ponder_get_plan(session));
    return 1;
}

/* A request that must be refused with `expected`; prints the message the user would see. */
static int refused(ponder_session *session, ponder_status status, ponder_status expected, const char *what) {
    if (status != expected) {
        fprintf(stderr, "%s: expected %s, got %s\n", what, ponder_status_string(expected), ponder_status_string(status));
        return 0;
    }
    printf("refused %s: %s\n", what, ponder_session_last_error(session));
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf IN.png OUT_PREFIX [PLAN.txt]\n", argv[0]);
        return 2;
    }
    ponder_model *model = NULL;
    if (ponder_model_load(argv[1], &model) != PONDER_OK) {
        fprintf(stderr, "cannot load model: %s\n", ponder_last_error());
        return 1;
    }
    ponder_session_params params = ponder_session_default_params();
    params.seed = 3;
    ponder_session *session = NULL;
    if (ponder_session_create(model, &params, &session) != PONDER_OK) {
        fprintf(stderr, "cannot create session: %s\n", ponder_last_error());
        ponder_model_free(model);
        return 1;
    }
    int ok = ponder_set_image_png(session, argv[2]) == PONDER_OK;
    if (!ok) fprintf(stderr, "cannot read %s: %s\n", argv[2], ponder_session_last_error(session));
    if (ok && argc > 4) {
        char *plan = read_text(argv[4]);
        ok = plan != NULL && ponder_set_canvas_plan(session, plan) == PONDER_OK;
        if (!ok) fprintf(stderr, "bad plan %s: %s\n", argv[4], plan ? ponder_session_last_error(session) : "cannot read it");
        free(plan);
    }
    /* Refused requests change nothing, so they come first. */
    ok = ok && refused(session, ponder_add(session, "a red star to the right of the brown heart"), PONDER_ERR_BAD_PROMPT,
                       "a reference to no object");
    ok = ok && refused(session, ponder_redraw_region(session, 10, 10, 5, 20, NULL), PONDER_ERR_INVALID_ARGUMENT,
                       "an empty region");
    ok = ok && refused(session, ponder_redraw_region(session, 60, 2, 76, 20, "a large red heart"), PONDER_ERR_BAD_PROMPT,
                       "an object larger than its region");
    ok = ok && refused(session, ponder_edit(session, "background white\nhuge red circle at 20 20"), PONDER_ERR_BAD_PLAN,
                       "a bad plan");
    ok = ok && refused(session, ponder_add(session, NULL), PONDER_ERR_INVALID_ARGUMENT, "a NULL phrase");
    ok = ok && step(session, ponder_add(session, "a small orange diamond in the bottom right corner"), argv[3], "add");
    ok = ok && step(session, ponder_redraw_region(session, 0, 0, 64, 64, "a small purple cross"), argv[3], "redraw");
    if (ok) {
        /* Edit by plan: the same plan on a beige background (no cell is redrawn). */
        char plan[4096];
        snprintf(plan, sizeof plan, "%s", ponder_get_plan(session));
        char *line_end = strchr(plan, '\n');
        char edited[4200];
        snprintf(edited, sizeof edited, "background beige%s", line_end ? line_end : "");
        ok = step(session, ponder_edit(session, edited), argv[3], "edit");
    }
    ponder_session_free(session);
    ponder_model_free(model);
    return ok ? 0 : 1;
}
