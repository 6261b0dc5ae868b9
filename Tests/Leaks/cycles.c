/* Load/create/generate/read back/free cycles through the C API, for leak checking.
 *
 *   cycles MODEL.gguf CYCLES [THREADS]
 *
 * Each cycle loads the model, creates a session, thinks, draws every image token (guided;
 * stopped once by a progress callback, then resumed), decodes, encodes a PNG in memory, frees
 * it all, and also walks the error paths (a missing file, a bad prompt, a bad plan, a
 * too-small buffer), whose messages the library allocates.
 * Built against a sanitized libponder.so by scripts/sanitize, LeakSanitizer reports any
 * byte not freed at exit; run under valgrind it checks the uninstrumented code too. It
 * prints the resident memory after the first cycle, half-way and after the last: memory that stays
 * reachable but grows with cycles (a cache that never shrinks) shows there, not as a leak.
 * Exits 1 if any call that should succeed fails, or one that should fail succeeds.
 * PONDER_LEAK_CANARY=1 in the environment leaks 17 bytes on purpose, to show that the leak
 * checker in use would see a leak (scripts/sanitize runs it so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ponder.h>

static long resident_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

#define EXPECT(cond, what)                                                          \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "cycle %d: %s failed: %s\n", cycle, what, ponder_last_error()); \
            return 1;                                                               \
        }                                                                           \
    } while (0)

/* Stops drawing after the tenth token. */
static bool stop_early(int32_t done, int32_t total, void *user_data) {
    (void)total;
    (void)user_data;
    return done < 10;
}

static int one_cycle(const char *path, int cycle, int threads) {
    ponder_model *model = NULL;
    EXPECT(ponder_model_load("/nonexistent/model.gguf", &model) == PONDER_ERR_IO, "loading a missing file");
    EXPECT(ponder_model_load(path, &model) == PONDER_OK, "load");
    ponder_model_info info;
    EXPECT(ponder_model_get_info(model, &info) == PONDER_OK, "info");

    ponder_session_params params = ponder_session_default_params();
    params.seed = (uint64_t)cycle;
    params.n_threads = threads;
    ponder_session *session = NULL;
    EXPECT(ponder_session_create(model, &params, &session) == PONDER_OK, "session");
    EXPECT(ponder_plan(session, "a purple wombat") == PONDER_ERR_BAD_PROMPT, "a bad prompt");
    EXPECT(ponder_plan(session, "a red circle to the left of a blue square") == PONDER_OK, "plan");
    const char *plan = ponder_get_plan(session);
    EXPECT(plan != NULL && ponder_set_plan(session, "background nowhere") == PONDER_ERR_BAD_PLAN, "a bad plan");
    char *copy = strdup(plan);
    EXPECT(ponder_plan(session, "a red circle to the left of a blue square") == PONDER_OK, "plan again");
    EXPECT(ponder_set_plan(session, copy) == PONDER_OK, "set plan");
    free(copy);

    EXPECT(ponder_draw(session, stop_early, NULL) == PONDER_ERR_CANCELLED, "a cancelled draw");
    int32_t remaining = 1;
    while (remaining > 0) EXPECT(ponder_step(session, 64, NULL, &remaining) == PONDER_OK, "step");
    size_t size = (size_t)info.image_width * (size_t)info.image_height * 3;
    uint8_t *rgb = malloc(size);
    EXPECT(rgb != NULL, "malloc");
    EXPECT(ponder_decode(session, rgb, size - 1) == PONDER_ERR_BUFFER_TOO_SMALL, "a small buffer");
    EXPECT(ponder_decode(session, rgb, size) == PONDER_OK, "decode");
    uint8_t *png = NULL;
    size_t png_size = 0;
    EXPECT(ponder_encode_png(rgb, size, info.image_width, info.image_height, &png, &png_size) == PONDER_OK, "png");
    int32_t checks = 0, redraws = 0;
    EXPECT(ponder_get_check_stats(session, &checks, &redraws) == PONDER_OK, "check stats");
    /* Reading the picture back: from memory, and the error paths. */
    uint8_t *back = NULL;
    int32_t width = 0, height = 0;
    EXPECT(ponder_read_png_memory(png, png_size, &back, &width, &height) == PONDER_OK, "read png");
    uint8_t *none = NULL;
    EXPECT(ponder_read_png_memory(png, png_size / 2, &none, &width, &height) != PONDER_OK && none == NULL,
           "a truncated png");
    EXPECT(ponder_describe(session) == PONDER_OK, "describe the drawing");
    if (info.can_read_images) {
        EXPECT(ponder_set_image_png_memory(session, png, png_size) == PONDER_OK, "set image");
        EXPECT(ponder_describe(session) == PONDER_OK && ponder_get_plan(session) != NULL, "describe");
        EXPECT(ponder_set_image(session, rgb, size, info.image_width / 2, info.image_height) != PONDER_OK, "a wrong size");
    }
    if (info.can_read_images && cycle % 10 == 1) {
        /* Editing the picture (docs/canvas.md), every tenth cycle (an edit reads its result
         * back, which costs as much as the rest of a cycle): each kind, and refusals. */
        /* The canvas plan keeps the background described (a random model's picture may be on any). */
        char canvas_plan[128];
        const char *read = ponder_get_plan(session);
        size_t line = strcspn(read, "\n");
        snprintf(canvas_plan, sizeof canvas_plan, "%.*s\nmedium red circle at 32 64", (int)line, read);
        EXPECT(ponder_set_canvas_plan(session, canvas_plan) == PONDER_OK, "canvas plan");
        EXPECT(ponder_add(session, "a small blue star to the right of the red circle") == PONDER_OK, "add");
        EXPECT(ponder_add(session, "a star left of the green heart") == PONDER_ERR_BAD_PROMPT, "a bad phrase");
        EXPECT(ponder_set_edit_progress(session, stop_early, NULL) == PONDER_OK, "edit progress");
        ponder_status stopped = ponder_edit(session, "background beige\nmedium red circle at 90 30");
        EXPECT(stopped == PONDER_OK || stopped == PONDER_ERR_CANCELLED, "an edit its callback may stop");
        EXPECT(ponder_set_edit_progress(session, NULL, NULL) == PONDER_OK, "no edit progress");
        EXPECT(ponder_redraw_region(session, 0, 0, 300, 10, NULL) == PONDER_ERR_INVALID_ARGUMENT, "a bad region");
        EXPECT(ponder_redraw_region(session, 64, 0, 128, 64, "a small green heart") == PONDER_OK, "redraw");
        EXPECT(ponder_edit(session, "background beige\nmedium red circle at 40 90") == PONDER_OK, "edit by plan");
        EXPECT(ponder_edit(session, "background") == PONDER_ERR_BAD_PLAN, "a bad plan");
        EXPECT(ponder_decode(session, rgb, size) == PONDER_OK, "decode the edit");
    }
    free(rgb);
    ponder_free(back);
    ponder_free(png);
    ponder_session_free(session);
    ponder_model_free(model);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf CYCLES [THREADS]\n", argv[0]);
        return 2;
    }
    int cycles = atoi(argv[2]), threads = argc > 3 ? atoi(argv[3]) : 1;
    long first = 0, half = 0;
    for (int cycle = 1; cycle <= cycles; cycle++) {
        if (one_cycle(argv[1], cycle, threads) != 0) return 1;
        if (cycle == 1) first = resident_kb();
        if (cycle == (cycles + 1) / 2) half = resident_kb();
    }
    if (getenv("PONDER_LEAK_CANARY")) {
        void *volatile canary = malloc(17);
        canary = NULL;
        (void)canary;
    }
    /* The allocator settles in the first cycles; growth over the second half would be a leak
     * of memory that stays reachable. */
    printf("cycles %d  resident after the first %ld kB, half-way %ld kB, after the last %ld kB\n",
           cycles, first, half, resident_kb());
    return 0;
}
