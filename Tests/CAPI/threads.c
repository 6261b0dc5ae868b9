/* One session, two threads, through the C API: a call on a session while another thread is
 * inside one is refused with PONDER_ERR_WRONG_STATE (never a crash), calls from inside a
 * session's own progress callback may only read it, and drawing stopped by the callback
 * goes on later to the same image.
 *
 *   threads MODEL.gguf        (scripts/test builds and runs it on the random test model)
 *
 * Exits 0 when every check holds, 1 (naming the check) otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ponder.h>

#define PROMPT "a red circle above a blue star"

static int failures = 0;
#define CHECK(cond, what)                                             \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL: %s (%s)\n", what, ponder_last_error()); \
            failures++;                                               \
        }                                                             \
    } while (0)

struct shared {
    ponder_session *session;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int phase; /* 0: drawing, 1: the other thread may call, 2: it has called */
    int32_t stop_at;
    int calls;
    size_t rgb_size;
};

/* The other thread, while the drawing thread waits inside its callback. */
static void *intruder(void *arg) {
    struct shared *s = arg;
    pthread_mutex_lock(&s->lock);
    while (s->phase != 1) pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);

    uint8_t rgb[16];
    CHECK(ponder_step(s->session, 1, NULL, NULL) == PONDER_ERR_WRONG_STATE, "another thread's ponder_step is refused");
    CHECK(strstr(ponder_last_error(), "another thread") != NULL, "the refusal says why");
    CHECK(ponder_plan(s->session, PROMPT) == PONDER_ERR_WRONG_STATE, "another thread's ponder_plan is refused");
    CHECK(ponder_decode(s->session, rgb, sizeof rgb) == PONDER_ERR_WRONG_STATE, "another thread's ponder_decode is refused");
    CHECK(ponder_get_plan(s->session) == NULL, "another thread's ponder_get_plan is refused");
    CHECK(strstr(ponder_session_last_error(s->session), "another thread") != NULL,
          "ponder_session_last_error does not hand another thread's message over");
    ponder_session_free(s->session); /* refused: the session stays usable */
    CHECK(strstr(ponder_last_error(), "not freed") != NULL, "freeing a session in use is refused");

    pthread_mutex_lock(&s->lock);
    s->phase = 2;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static bool progress(int32_t done, int32_t total, void *user_data) {
    struct shared *s = user_data;
    s->calls++;
    if (done == 10) {
        /* Inside the callback: previews and reads are allowed, changes are not. */
        uint8_t *rgb = malloc(s->rgb_size);
        CHECK(rgb != NULL && ponder_decode(s->session, rgb, s->rgb_size) == PONDER_OK, "a preview from inside the callback");
        free(rgb);
        size_t count = 0;
        CHECK(ponder_get_tokens(s->session, NULL, 0, &count) == PONDER_OK && count == 10, "tokens from inside the callback");
        CHECK(ponder_step(s->session, 1, NULL, NULL) == PONDER_ERR_WRONG_STATE, "no step from inside the callback");
        CHECK(ponder_plan(s->session, PROMPT) == PONDER_ERR_WRONG_STATE, "no plan from inside the callback");
        ponder_session_free(s->session);
        CHECK(strstr(ponder_last_error(), "not freed") != NULL, "no free from inside the callback");

        pthread_mutex_lock(&s->lock);
        s->phase = 1;
        pthread_cond_broadcast(&s->cond);
        while (s->phase != 2) pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }
    (void)total;
    return done < s->stop_at;
}

struct edit_watch {
    int calls, last_done, stop_at, bad;
};

static bool edit_progress(int32_t done, int32_t total, void *user_data) {
    struct edit_watch *w = user_data;
    w->calls++;
    if (done < 1 || done > total || (done != 1 && done != w->last_done + 1)) w->bad++;
    w->last_done = done;
    return done < w->stop_at;
}

struct stepper {
    ponder_session *session;
    int ok, refused, other;
};

static void *step_many(void *arg) {
    struct stepper *t = arg;
    for (int i = 0; i < 400; i++) {
        ponder_status st = ponder_step(t->session, 1, NULL, NULL);
        if (st == PONDER_OK) t->ok++;
        else if (st == PONDER_ERR_WRONG_STATE) t->refused++;
        else t->other++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    ponder_model *model = NULL;
    if (ponder_model_load(argv[1], &model) != PONDER_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], ponder_last_error());
        return 1;
    }
    ponder_session_params params = ponder_session_default_params();
    params.seed = 3;
    params.n_threads = 1;

    /* The image drawn in one go, to compare with. */
    ponder_session *reference = NULL;
    int32_t whole[256];
    size_t n = 0;
    CHECK(ponder_session_create(model, &params, &reference) == PONDER_OK, "session");
    CHECK(ponder_generate(reference, PROMPT, NULL, NULL) == PONDER_OK, "generate without a callback");
    CHECK(ponder_get_tokens(reference, whole, 256, &n) == PONDER_OK && n == 256, "all tokens");
    ponder_session_free(reference);

    /* One callback per token from here on (no drafts); the reference above was drawn with
     * the default drafts, so resuming below also checks that drafts change no token. */
    params.draft_tokens = 0;
    ponder_model_info info;
    ponder_model_get_info(model, &info);
    struct shared s = {.phase = 0, .stop_at = 100, .rgb_size = (size_t)info.image_width * (size_t)info.image_height * 3};
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    CHECK(ponder_session_create(model, &params, &s.session) == PONDER_OK, "session");
    pthread_t other;
    pthread_create(&other, NULL, intruder, &s);
    ponder_status st = ponder_generate(s.session, PROMPT, progress, &s);
    pthread_join(other, NULL);
    CHECK(st == PONDER_ERR_CANCELLED, "the callback's false cancels");
    CHECK(strstr(ponder_session_last_error(s.session), "100 of 256") != NULL, "the cancel says where it stopped");
    CHECK(s.calls == 100, "one call per token");
    int32_t codes[256];
    CHECK(ponder_get_tokens(s.session, codes, 256, &n) == PONDER_OK && n == 100, "the tokens drawn stay");
    s.stop_at = 1000;
    CHECK(ponder_draw(s.session, progress, &s) == PONDER_OK, "drawing goes on");
    CHECK(ponder_get_tokens(s.session, codes, 256, &n) == PONDER_OK && n == 256 &&
              memcmp(codes, whole, sizeof whole) == 0,
          "stopped and resumed, the same image as drawn in one go");
    CHECK(ponder_draw(s.session, progress, &s) == PONDER_OK && s.calls == 256, "a complete image: no calls");
    CHECK(ponder_draw(NULL, NULL, NULL) == PONDER_ERR_INVALID_ARGUMENT, "a NULL session");

    /* An edit's progress callback: a call per token sampled; false cancels the edit and
     * leaves the canvas as it was; NULL removes it. */
    {
        uint8_t *white = malloc(s.rgb_size);
        CHECK(white != NULL, "memory");
        memset(white, 255, s.rgb_size);
        struct edit_watch w = {0, 0, 3, 0};
        const char *circle = "background white\nmedium red circle at 64 64";
        CHECK(ponder_set_edit_progress(NULL, edit_progress, &w) == PONDER_ERR_INVALID_ARGUMENT, "a NULL session");
        CHECK(ponder_set_image(s.session, white, s.rgb_size, info.image_width, info.image_height) == PONDER_OK, "set image");
        CHECK(ponder_set_canvas_plan(s.session, "background white") == PONDER_OK, "canvas plan");
        CHECK(ponder_set_edit_progress(s.session, edit_progress, &w) == PONDER_OK, "edit progress");
        CHECK(ponder_edit(s.session, circle) == PONDER_ERR_CANCELLED, "the edit callback's false cancels");
        CHECK(w.calls == 3 && w.bad == 0, "a call per token sampled, done counting from 1");
        CHECK(strcmp(ponder_get_plan(s.session), "background white") == 0, "a cancelled edit keeps the canvas");
        w.stop_at = 1 << 30;
        w.calls = 0;
        CHECK(ponder_edit(s.session, circle) == PONDER_OK && w.calls > 3 && w.bad == 0, "an edit to the end");
        CHECK(strcmp(ponder_get_plan(s.session), circle) == 0, "the edit's plan");
        CHECK(ponder_set_edit_progress(s.session, NULL, NULL) == PONDER_OK, "no edit progress");
        w.calls = 0;
        CHECK(ponder_edit(s.session, "background white\nmedium red circle at 40 40") == PONDER_OK && w.calls == 0,
              "no calls once removed");
        free(white);
    }

    /* Two threads stepping one session at once: each call either runs or is refused. */
    CHECK(ponder_plan(s.session, PROMPT) == PONDER_OK, "plan");
    struct stepper a = {s.session, 0, 0, 0}, b = {s.session, 0, 0, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, step_many, &a);
    pthread_create(&tb, NULL, step_many, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int32_t done = 0;
    CHECK(ponder_step(s.session, 0, &done, NULL) == PONDER_OK, "the session still works");
    CHECK(a.other == 0 && b.other == 0, "only OK or WRONG_STATE");
    CHECK(a.ok + b.ok + a.refused + b.refused == 800, "every call answered");
    CHECK(done == (a.ok + b.ok < 256 ? a.ok + b.ok : 256), "each call that ran drew one token");
    printf("two threads on one session: %d calls ran, %d were refused\n", a.ok + b.ok, a.refused + b.refused);

    ponder_session_free(s.session);
    ponder_model_free(model);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.cond);
    if (failures == 0) printf("ok: one call at a time per session; callbacks read, cancel and resume\n");
    return failures == 0 ? 0 : 1;
}
