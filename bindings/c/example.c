/* Ponder from C: load a model, think and draw in one call with a progress line (checked
 * drawing on, as by default), write a PNG, then read the PNG back into a plan (describe)
 * when the model can.
 *
 *   cc example.c $(pkg-config --cflags --libs ponder) -o example      (installed copy)
 *   cc example.c -I include -L .build/release -lponder -Wl,-rpath,.build/release -o example
 *
 *   ./example MODEL.gguf "a red circle to the left of a blue square" out.png [seed]
 */
#include <stdio.h>
#include <stdlib.h>

#include <ponder.h>

/* Progress: called after each pass of drawing (one to a few tokens); returning false would
 * stop the drawing (ponder_generate then returns PONDER_ERR_CANCELLED). user_data is the
 * stream to print to. */
static bool show_progress(int32_t done, int32_t total, void *user_data) {
    fprintf((FILE *)user_data, "\rdrawing %3d/%d", done, total);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT OUT.png [SEED]\n", argv[0]);
        return 2;
    }
    ponder_model *model = NULL;
    if (ponder_model_load(argv[1], &model) != PONDER_OK) {
        fprintf(stderr, "cannot load model: %s\n", ponder_last_error());
        return 1;
    }
    ponder_model_info info;
    ponder_model_get_info(model, &info);

    ponder_session_params params = ponder_session_default_params();
    if (argc > 4) params.seed = strtoull(argv[4], NULL, 10);
    ponder_session *session = NULL;
    if (ponder_session_create(model, &params, &session) != PONDER_OK) {
        fprintf(stderr, "cannot create session: %s\n", ponder_last_error());
        ponder_model_free(model);
        return 1;
    }

    int status = 1;
    /* Think (write the plan), then draw every image token, in one call. */
    if (ponder_generate(session, argv[2], show_progress, stderr) != PONDER_OK) {
        fprintf(stderr, "\ncannot draw: %s\n", ponder_session_last_error(session));
        goto done;
    }
    fprintf(stderr, "\n");
    const char *plan = ponder_get_plan(session);
    printf("plan:\n%s\n", plan ? plan : "(none)");
    int32_t checks = 0, redraws = 0;
    ponder_get_check_stats(session, &checks, &redraws);
    printf("checked %d time(s), redrew %d time(s)\n", checks, redraws);

    size_t size = (size_t)info.image_width * (size_t)info.image_height * 3;
    unsigned char *rgb = malloc(size);
    if (rgb == NULL || ponder_decode(session, rgb, size) != PONDER_OK) {
        fprintf(stderr, "decode failed: %s\n", ponder_last_error());
        free(rgb);
        goto done;
    }
    if (ponder_write_png_rgb(rgb, size, info.image_width, info.image_height, argv[3]) != PONDER_OK) {
        fprintf(stderr, "cannot write %s: %s\n", argv[3], ponder_last_error());
        free(rgb);
        goto done;
    }
    free(rgb);
    printf("wrote %s (%dx%d)\n", argv[3], info.image_width, info.image_height);

    /* Picture → plan: any PNG of the model's size. */
    if (info.can_read_images) {
        if (ponder_set_image_png(session, argv[3]) != PONDER_OK || ponder_describe(session) != PONDER_OK) {
            fprintf(stderr, "cannot describe %s: %s\n", argv[3], ponder_session_last_error(session));
            goto done;
        }
        printf("read back:\n%s\n", ponder_get_plan(session));
    }
    status = 0;

done:
    ponder_session_free(session);
    ponder_model_free(model);
    return status;
}
