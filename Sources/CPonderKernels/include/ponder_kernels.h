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
// with d = max|x| / 127, but with the scale kept as a float; sum = Σ q[i] (the packed
// kernel's correction for its unsigned weights).
typedef struct {
    float d;
    int32_t sum;
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

// The same products on a matrix repacked for AVX-512 VNNI ("Q8_0 x16"): rows in groups of
// 16, each group's blocks stored as eight 64-byte vectors (for k = 0..<8: bytes 4k..<4k+4
// of the block in each of the 16 rows, plus 128, so unsigned) and the 16 rows' f16 scales.
// One vpdpbusd then makes 64 products for 16 rows at once against four of x's bytes, and a
// block needs one conversion to float for 16 rows, where the row-major kernels need one
// per row. pk_q8x16_available() says whether this processor runs them; pk_q8x16_bytes is
// the packed size (64-byte aligned memory expected), pk_pack_q8x16 writes it from a Q8_0
// matrix (rows padded to a multiple of 16 with zeros). pk_matmul_q8x16 computes
// out[b * out_stride + r] for rows r0..<r1, each row the same way whatever range it is in.
int pk_q8x16_available(void);
size_t pk_q8x16_bytes(int rows, int blocks);
void pk_pack_q8x16(const uint8_t *w, size_t row_bytes, int rows, int blocks, uint8_t *packed);
void pk_matmul_q8x16(const uint8_t *packed, int rows, int blocks, const pk_block_q8 *xq, int batch,
                     float *out, int out_stride, int r0, int r1);

// One attention head for one query over a cache kept in half precision: scores[t] = scale ·
// q · k_t for the n positions t (k_t at keys + t * stride, v_t at values + t * stride, hd
// halves each), softmax over them, out = Σ scores[t] · v_t. `scores` holds n floats of
// scratch.
void pk_attend(const float *q, const uint16_t *keys, const uint16_t *values, size_t stride, int n, int hd,
               float scale, float *scores, float *out);

// pk_attend for nq (at most PK_ATTEND_ROWS) queries at consecutive positions of one
// sequence: query i (at q + i * q_stride) sees the first n0 + i positions, its scores go to
// scores + i * scores_stride (n0 + nq - 1 floats of scratch each) and its output to
// out + i * out_stride. Each query's output is the same bits as pk_attend's for it alone;
// the keys and values are converted from halves once for all the queries.
#define PK_ATTEND_ROWS 32
void pk_attend_rows(const float *q, size_t q_stride, int nq, const uint16_t *keys, const uint16_t *values, size_t stride,
                    int n0, int hd, float scale, float *scores, size_t scores_stride, float *out, size_t out_stride);

// out[i] = x[i] in half precision, rounded to nearest even, for n values (the cache's writes).
void pk_store_halves(const float *x, uint16_t *out, int n);

// out[i] = silu(gate[i]) · up[i] for n values (the feed-forward's gate; out may be gate).
void pk_swiglu(const float *gate, const float *up, float *out, int n);

// x[i] = silu(x[i]) = x[i] / (1 + e^-x[i]) for n values (the VQ decoder's activation), and the
// softmax over c channel planes (`plane` values apart) for each of the first n pixels of the
// planes (its last layers). Both
// take e^x from Cephes' expf polynomial (within 2 ulp), computed with the same operations on
// every processor, so the bits do not depend on the instruction set.
void pk_silu(float *x, int n);
void pk_softmax_planes(float *x, int c, int plane, int n);

// Direct stride-1 convolutions with a k × k kernel (k odd), zero padding k / 2, on channel
// planes (the VQ decoder's layers; im2col + sgemm spends most of its time copying). Output
// channels go in blocks of 8. pk_conv_packed_floats is the packed weights' size,
// pk_conv_pack writes them from PyTorch's [cout][cin][k][k] order (the blocks padded with
// zero channels), pk_conv_pad copies x (cin × h × w) into `padded` (cin × (h + k − 1) ×
// (w + k − 1) floats) with its zero border. pk_conv2d computes the blocks b0..<b1 of output
// channels for rows y0..<y1 and columns x0..<x1 into out (cout × h × w; other outputs are left
// as they are): out = bias + Σ_{ci, ky, kx} w · x, summed in that order with fused
// multiply-adds on every processor, so the bits do not depend on the instruction set or on how
// blocks, rows and columns are split.
size_t pk_conv_packed_floats(int cin, int cout, int k);
void pk_conv_pack(const float *weight, int cin, int cout, int k, float *packed);
void pk_conv_pad(const float *x, int cin, int h, int w, int pad, float *padded);
void pk_conv2d(const float *padded, int cin, int h, int w, int k, const float *packed, const float *bias, int cout,
               float *out, int b0, int b1, int y0, int y1, int x0, int x1);

// A 3 × 3 convolution of a nearest-neighbour ×2 upsample of x (cin × h × w), without making
// the upsample: each output phase (row parity a, column parity b; phase = 2a + b) is a 2 × 2
// convolution of x itself whose weights sum the 3 × 3 taps that land on the same input pixel,
// 16 multiply-adds per input channel and 4 outputs instead of 36. `padded` is pk_conv_pad(x,
// pad 1); `packed` is pk_conv_pack of that phase's [cout][cin][2][2] weights (k = 2); `out`
// gets the phase's cout × h × w plane set, rows y0..<y1 and columns x0..<x1 of it, summed as
// pk_conv2d sums (taps in (ci, ty, tx) order).
void pk_conv2d_upsampled(const float *padded, int cin, int h, int w, int phase, const float *packed, const float *bias,
                         int cout, float *out, int b0, int b1, int y0, int y1, int x0, int x1);

// IEEE half to single precision, exactly (F16 tensors, Q8_0 scales, the key/value cache).
float pk_half_to_float(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif
