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
 *     ponder_plan(session, "a red circle to the left of a blue square");
 *     int32_t done = 0, remaining = 1;
 *     while (remaining > 0) ponder_step(session, 16, &done, &remaining);
 *     ponder_write_png(session, "out.png");
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
 *    sessions on any threads at once. A ponder_session must be used by one thread at a time
 *    (different sessions may run in parallel). ponder_last_error() is per thread.
 *  - Determinism: the same model, prompt, parameters and seed give byte-identical images,
 *    whatever the thread count.
 */
#ifndef PONDER_H
#define PONDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PONDER_API_VERSION 2

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
    PONDER_ERR_INTERNAL = 9          /* a bug in libponder; please report it */
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
} ponder_session_params;

/* Human-readable name of a status. Returns a static string; never NULL. Thread-safe. */
const char *ponder_status_string(ponder_status status);

/* Message of the last failed call on this thread, or "" if none failed. The string is owned
 * by the library and stays valid until the next ponder_* call on the same thread.
 * Thread-safe (each thread has its own). */
const char *ponder_last_error(void);

/* ---- Models -------------------------------------------------------------------------- */

/* Loads a GGUF model file (memory-mapped, read-only) and checks it fully.
 * path: non-NULL. out_model: non-NULL; receives the model on success, NULL on failure.
 * The caller owns the model and frees it with ponder_model_free once every session made
 * from it is freed. Thread-safe. */
ponder_status ponder_model_load(const char *path, ponder_model **out_model);

/* Frees a model. NULL is allowed and ignored. Free its sessions first. */
void ponder_model_free(ponder_model *model);

/* Fills *out_info with the model's facts. model and out_info: non-NULL. Thread-safe. */
ponder_status ponder_model_get_info(const ponder_model *model, ponder_model_info *out_info);

/* ---- Sessions ------------------------------------------------------------------------ */

/* Default session parameters (see ponder_session_params). Thread-safe. */
ponder_session_params ponder_session_default_params(void);

/* Creates a session on a model. model: non-NULL. params: NULL for the defaults.
 * out_session: non-NULL; receives the session, NULL on failure. The caller owns the
 * session and frees it with ponder_session_free. The model must outlive the session.
 * Thread-safe (sessions of one model may be created on several threads at once). */
ponder_status ponder_session_create(ponder_model *model, const ponder_session_params *params,
                                    ponder_session **out_session);

/* Frees a session. NULL is allowed and ignored. */
void ponder_session_free(ponder_session *session);

/* Message of the last failed call on this session, or "". Owned by the session, valid until
 * the next call on it. */
const char *ponder_session_last_error(const ponder_session *session);

/* ---- Thinking ------------------------------------------------------------------------ */

/* Sets the prompt and, if the session thinks, writes the plan (the thinking phase): each plan
 * written is checked against the prompt, and another written until one satisfies it, up to
 * params.plan_attempts (docs/plan.md, "Checked thinking").
 * The prompt must be in the prompt language of the Shapes world; an error names the bad
 * word. Starts a new image (tokens drawn before are discarded). session, prompt: non-NULL. */
ponder_status ponder_plan(ponder_session *session, const char *prompt);

/* The current plan as text (docs/plan.md), or NULL when there is none (thinking off and no
 * plan set, or before ponder_plan). Owned by the session; valid until the next call that
 * changes the plan (ponder_plan, ponder_set_plan) or ponder_session_free. */
const char *ponder_get_plan(ponder_session *session);

/* Replaces the plan with one the caller wrote or edited, so objects can be moved, added or
 * removed before drawing. Needs a prompt set by ponder_plan first. The plan is validated;
 * a bad plan is PONDER_ERR_BAD_PLAN with a message naming the line and word. Starts the
 * image anew. session, plan: non-NULL. */
ponder_status ponder_set_plan(ponder_session *session, const char *plan);

/* ---- Drawing ------------------------------------------------------------------------- */

/* Generates up to max_tokens more image tokens (0 is allowed and does nothing).
 * out_done and out_remaining may be NULL; they receive the number of tokens generated so
 * far and the number left. Needs ponder_plan first. */
ponder_status ponder_step(ponder_session *session, int32_t max_tokens, int32_t *out_done,
                          int32_t *out_remaining);

/* The image codes generated so far (raster order). out_codes may be NULL to ask only for
 * the count; otherwise it must hold capacity codes. *out_count (non-NULL) receives the
 * number of codes generated. */
ponder_status ponder_get_tokens(ponder_session *session, int32_t *out_codes, size_t capacity,
                                size_t *out_count);

/* Decodes the tokens generated so far into RGB8 pixels, row-major, no padding
 * (width * height * 3 bytes; see ponder_model_info), on the plan's background (else the
 * prompt's, else white): the tokens describe the scene on white and the background is laid
 * in here (docs/format.md, "Backgrounds"). Cells not yet generated are shown in neutral
 * grey, so this works mid-way for previews. Needs at least one token.
 * rgb: non-NULL, rgb_size bytes owned by the caller. */
ponder_status ponder_decode(ponder_session *session, uint8_t *rgb, size_t rgb_size);

/* Decodes the tokens so far and writes them as a PNG file at path. */
ponder_status ponder_write_png(ponder_session *session, const char *path);

/* ---- Raw evaluation ------------------------------------------------------------------ */

/* Evaluates raw token ids, llama_eval-style, for parity checks and benchmarks: keeps the
 * first n_past tokens evaluated so far on this session, appends n_tokens tokens and writes
 * the logits after the last one into logits (vocab_size floats; logits may be NULL to skip
 * the copy). Token ids are those of the model's vocabulary (docs/format.md). Discards the
 * image in progress; the next ponder_step starts drawing anew. */
ponder_status ponder_eval(ponder_session *session, const int32_t *tokens, size_t n_tokens,
                          size_t n_past, float *logits, size_t logits_size);

/* ---- PNG ----------------------------------------------------------------------------- */

/* Encodes RGB8 pixels (row-major, width * height * 3 bytes) as PNG in memory.
 * On success *out_png receives a buffer of *out_size bytes that the caller frees with
 * ponder_free. Thread-safe. */
ponder_status ponder_encode_png(const uint8_t *rgb, size_t rgb_size, int32_t width,
                                int32_t height, uint8_t **out_png, size_t *out_size);

/* Writes RGB8 pixels as a PNG file. Thread-safe. */
ponder_status ponder_write_png_rgb(const uint8_t *rgb, size_t rgb_size, int32_t width,
                                   int32_t height, const char *path);

/* Frees a buffer returned by the library. NULL is allowed. */
void ponder_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif /* PONDER_H */
