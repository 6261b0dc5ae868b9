// Ponder's matrix kernels in C: the parts of the transformer's inner loop that need the
// processor's integer SIMD (AVX2's byte multiply-add, AVX-512's VNNI), which Swift cannot name.
// Every function computes each output the same way whatever rows a caller hands it, so
// results do not depend on how work is split across threads.
#ifndef PONDER_KERNELS_H
#define PONDER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// 32 activations quantized as ggml's Q8_0 does for its dot products: q[i] = round(x[i] / d)
// with d = max|x| / 127, but with the scale kept as a float.
typedef struct {
    float d;
    int8_t q[32];
} pk_block_q8;

// Quantizes n floats (n a multiple of 32) into n / 32 blocks.
void pk_quantize_q8(const float *x, pk_block_q8 *out, int n);

// For rows r0..<r1 of a Q8_0 matrix (row r at w + r * row_bytes, `blocks` blocks of
// 34 bytes: f16 scale, 32 int8) and `batch` quantized vectors (vector b at xq + b * blocks):
// out[b * out_stride + r] = Σ_k W[r][k] · x_b[k], in int8 × int8 products summed in int32
// per block.
void pk_matmul_q8(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int batch,
                  float *out, int out_stride, int r0, int r1);

// One attention head for one query: scores[t] = scale · q · k_t for the n positions t
// (k_t at keys + t * stride, v_t at values + t * stride, hd values each), softmax over them,
// out = Σ scores[t] · v_t. `scores` holds n floats of scratch.
void pk_attend(const float *q, const float *keys, const float *values, size_t stride, int n, int hd,
               float scale, float *scores, float *out);

// out[i] = silu(gate[i]) · up[i] for n values (the feed-forward's gate; out may be gate).
void pk_swiglu(const float *gate, const float *up, float *out, int n);

#ifdef __cplusplus
}
#endif

#endif
