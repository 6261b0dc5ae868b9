// See ponder_kernels.h. Each kernel has a portable version and, on x86-64, AVX2 + FMA + F16C
// and AVX-512 VNNI versions chosen once at run time, so one build runs on any x86-64
// processor. PONDER_NO_AVX512=1 in the environment keeps the matrix kernel on AVX2 (for
// comparisons). Results are deterministic on a machine, not across instruction sets.
#include "ponder_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PK_X86 1
#endif

float pk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        float v = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    bits = exponent == 31 ? (sign | 0x7f800000u | (mantissa << 13)) : (sign | ((exponent + 112) << 23) | (mantissa << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Single to half precision, rounding to nearest even (as F16C's vcvtps2ph does with
// rounding mode 0): overflow to infinity, subnormal halves below 2^-14, NaN kept a NaN.
static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, a = x & 0x7fffffff;
    if (a > 0x7f800000) return (uint16_t)(sign | 0x7e00);  // NaN
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00);  // rounds to infinity (or is one)
    if (a < 0x38800000) {  // a half subnormal or zero: a multiple of 2^-24, rounded
        float mag;
        memcpy(&mag, &a, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(mag * 16777216.0f));
    }
    uint32_t half = ((a - 0x38000000) >> 13), rest = a & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

// e^x as exp8 below computes it, one value at a time with the same operations (fmaf for
// each fused multiply-add), so the image layers give the same bits on every processor.
static float exp1(float x) {
    x = fminf(fmaxf(x, -87.0f), 88.0f);
    float n = nearbyintf(x * 1.44269504088896341f);
    float r = fmaf(-n, 0.693359375f, x);
    r = fmaf(-n, -2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r + 1.0f);
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

static void silu_portable(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = x[i] / (1.0f + exp1(-x[i]));
}

static void softmax_planes_portable(float *x, int c, int plane, int i0, int n) {
    for (int i = i0; i < n; i++) {
        float m = x[i];
        for (int ch = 1; ch < c; ch++) m = fmaxf(m, x[(size_t)ch * plane + i]);
        float sum = 0;
        for (int ch = 0; ch < c; ch++) {
            float e = exp1(x[(size_t)ch * plane + i] - m);
            x[(size_t)ch * plane + i] = e;
            sum += e;
        }
        for (int ch = 0; ch < c; ch++) x[(size_t)ch * plane + i] /= sum;
    }
}

static void swiglu_portable(const float *gate, const float *up, float *out, int n) {
    for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void quantize_q8_portable(const float *x, pk_block_q8 *out, int n) {
    for (int b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[i]));
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        // Round half to even (the default rounding mode), as torch.round does in the reference.
        int32_t sum = 0;
        for (int i = 0; i < 32; i++) {
            out[b].q[i] = (int8_t)nearbyintf(v[i] * id);
            sum += out[b].q[i];
        }
        out[b].sum = sum;
    }
}

static float dot_q8_portable(const uint8_t *w, const pk_block_q8 *x, int blocks) {
    float sum = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + 34 * b;
        const int8_t *q = (const int8_t *)(blk + 2);
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += (int32_t)q[i] * x[b].q[i];
        uint16_t h;
        memcpy(&h, blk, 2);
        sum += (float)s * (pk_half_to_float(h) * x[b].d);
    }
    return sum;
}

static void matmul_q8_portable(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int batch,
                               float *out, int out_stride, int r0, int r1) {
    for (int r = r0; r < r1; r++)
        for (int b = 0; b < batch; b++)
            out[(size_t)b * out_stride + r] = dot_q8_portable(w + (size_t)r * row_bytes, xq + (size_t)b * blocks, blocks);
}

#ifdef PK_X86
#define PK_AVX2 __attribute__((target("avx2,fma,f16c")))

PK_AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

PK_AVX2 static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// One block's 32 int8 × int8 products, summed in pairs to eight int32 lanes, as floats.
// maddubs multiplies unsigned by signed bytes, so the weights' signs move onto x first.
PK_AVX2 static inline __m256 block_products(const uint8_t *wq, const int8_t *xq) {
    __m256i w = _mm256_loadu_si256((const __m256i *)wq);
    __m256i x = _mm256_loadu_si256((const __m256i *)xq);
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

// Decoding reads every weight once per token, so a model larger than the caches is bound by
// how fast its rows stream in, and the hardware prefetcher alone does not keep up: the rows
// PK_PREFETCH_ROWS ahead of the pair being multiplied are asked for, block by block
// (docs/performance.md, "Choices in the kernels and the thread pool").
// Prefetches never fault, so running past the matrix's end is harmless.
#define PK_PREFETCH_ROWS 8
PK_AVX2 static inline void pk_prefetch_ahead(const uint8_t *w0, const uint8_t *w1, size_t row_bytes, int b) {
    _mm_prefetch((const char *)(w0 + PK_PREFETCH_ROWS * row_bytes + 34 * b), _MM_HINT_T0);
    _mm_prefetch((const char *)(w1 + PK_PREFETCH_ROWS * row_bytes + 34 * b), _MM_HINT_T0);
}

// One weight row against NV vectors (1 to 8), its |w| and scale made once per block and
// shared by the vectors. Each (row, vector) sum is formed as in matmul_q8_avx2's two-row
// loops: the same eight int32 lanes per block (block_products, exact), converted, scaled by
// the float product d_w·d_x and accumulated in block order, then summed by hsum8, so the
// result is the same bits whatever the tiling or batch. (Two rows per tile spill registers: measured slower
// with benchmarks/ab/kernels.)
__attribute__((always_inline)) PK_AVX2 static inline void row_tile_avx2(const uint8_t *w, const pk_block_q8 *x, int blocks,
                                                                        const int nv, float *out, int out_stride) {
    __m256 acc[8];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < blocks; b++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(w + 34 * b + 2)), a = _mm256_sign_epi8(q, q);
        float d = _cvtsh_ss(*(const uint16_t *)(w + 34 * b));
        for (int v = 0; v < nv; v++) {
            const pk_block_q8 *xb = x + (size_t)v * blocks + b;
            __m256i xv = _mm256_loadu_si256((const __m256i *)xb->q);
            __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(a, _mm256_sign_epi8(xv, q)), ones));
            acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), p, acc[v]);
        }
    }
    for (int v = 0; v < nv; v++) out[(size_t)v * out_stride] = hsum8(acc[v]);
}

// One weight row against vectors v0..<v1, in tiles of 8, then 4, 2 and 1.
PK_AVX2 static void row_avx2(const uint8_t *w, const pk_block_q8 *xq, int blocks, int v0, int v1, float *out, int out_stride) {
    int v = v0;
#define PK_ROW_TILE(NV) row_tile_avx2(w, xq + (size_t)v * blocks, blocks, NV, out + (size_t)v * out_stride, out_stride)
    for (; v + 8 <= v1; v += 8) PK_ROW_TILE(8);
    if (v + 4 <= v1) { PK_ROW_TILE(4); v += 4; }
    if (v + 2 <= v1) { PK_ROW_TILE(2); v += 2; }
    if (v < v1) PK_ROW_TILE(1);
#undef PK_ROW_TILE
}

PK_AVX2 static void matmul_q8_avx2(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int batch,
                                   float *out, int out_stride, int r0, int r1) {
    int r = r0;
    // Two rows at a time for a single vector (the decode path): two independent chains.
    for (; batch == 1 && r + 1 < r1; r += 2) {
        const uint8_t *w0 = w + (size_t)r * row_bytes, *w1 = w0 + row_bytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int b = 0; b < blocks; b++) {
            pk_prefetch_ahead(w0, w1, row_bytes, b);
            __m256 p0 = block_products(w0 + 34 * b + 2, xq[b].q);
            __m256 p1 = block_products(w1 + 34 * b + 2, xq[b].q);
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)(w0 + 34 * b)) * xq[b].d), p0, a0);
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)(w1 + 34 * b)) * xq[b].d), p1, a1);
        }
        out[r] = hsum8(a0);
        out[r + 1] = hsum8(a1);
    }
    // Two rows against a guided pair's two vectors: each weight block is loaded once for
    // the four products; each (row, vector) sum is formed exactly as in row_tile_avx2.
    for (; batch == 2 && r + 1 < r1; r += 2) {
        const uint8_t *w0 = w + (size_t)r * row_bytes, *w1 = w0 + row_bytes;
        const pk_block_q8 *x0 = xq, *x1 = xq + blocks;
        __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
        for (int b = 0; b < blocks; b++) {
            pk_prefetch_ahead(w0, w1, row_bytes, b);
            float d0 = _cvtsh_ss(*(const uint16_t *)(w0 + 34 * b)), d1 = _cvtsh_ss(*(const uint16_t *)(w1 + 34 * b));
            a00 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * x0[b].d), block_products(w0 + 34 * b + 2, x0[b].q), a00);
            a01 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * x1[b].d), block_products(w0 + 34 * b + 2, x1[b].q), a01);
            a10 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * x0[b].d), block_products(w1 + 34 * b + 2, x0[b].q), a10);
            a11 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * x1[b].d), block_products(w1 + 34 * b + 2, x1[b].q), a11);
        }
        out[r] = hsum8(a00);
        out[(size_t)out_stride + r] = hsum8(a01);
        out[r + 1] = hsum8(a10);
        out[(size_t)out_stride + r + 1] = hsum8(a11);
    }
    // Batches of three or more (prefill, speculative passes, a read-back): each row against
    // eight vectors at a time, the vectors in chunks that stay in the L1 cache while every
    // row passes over them. About 1.5 times the one-pair loop's speed (benchmarks/ab/kernels).
    // The rows the pair loops above leave (an odd last one) take the same row tiles.
    const int chunk = batch >= 3 ? 32 : batch;
    for (int v0 = 0; v0 < batch; v0 += chunk) {
        const int v1 = v0 + chunk < batch ? v0 + chunk : batch;
        for (int rr = r; rr < r1; rr++) row_avx2(w + (size_t)rr * row_bytes, xq, blocks, v0, v1, out + rr, out_stride);
    }
}

// The same quantization as quantize_q8_portable, eight lanes at a time: the maximum is
// exact in any order, and the conversion rounds half to even like nearbyintf (both follow
// the default rounding mode), so the blocks are identical.
PK_AVX2 static void quantize_q8_avx2(const float *x, pk_block_q8 *out, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        float amax = _mm_cvtss_f32(h);
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        __m256 s = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, s)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, s));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, s)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, s));
        // Packing works within 128-bit lanes; the permute puts the 32 bytes back in order.
        __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)out[b].q, packed);
        __m256i sums = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i h4 = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
        h4 = _mm_add_epi32(h4, _mm_shuffle_epi32(h4, 0x4e));
        h4 = _mm_add_epi32(h4, _mm_shuffle_epi32(h4, 0xb1));
        out[b].sum = _mm_cvtsi128_si32(h4);
    }
}

// AVX-512 with VNNI: two blocks per 512-bit register, one vpdpbusd for their products.
#define PK_TILE_ROWS 4
#define PK_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))

PK_AVX512 static inline __m512i two_blocks(const uint8_t *a, const uint8_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

// A tile of NR weight rows against NV vectors (NR, NV up to 4), two blocks per step.
// vpdpbusd multiplies unsigned by signed bytes; the activations are made unsigned by adding
// 128 (x ^ 0x80), once per vector and shared by the tile's rows, and each row's 128·Σw is
// subtracted by starting its products from −128·Σw, computed once per row and shared by
// the vectors: per (row, vector) pair one vpdpbusd, one convert and two float operations.
// The integer sums are exact, so each (row, vector) result equals Σ over block pairs of
// (Σ q_w·q_x) · (d_w·d_x) accumulated in the same order whatever NR, NV or the rows a thread
// gets: results depend on neither the tiling nor the thread count.
// `prep` (when `prepared`): the vectors' unsigned bytes and scales laid out by
// prepare_avx512, loaded instead of rebuilt for every tile of rows.
__attribute__((always_inline)) PK_AVX512 static inline void tile_avx512(
    const uint8_t *w, size_t row_bytes, const pk_block_q8 *x, int blocks, const int nr, const int nv,
    float *out, int out_stride, const uint8_t *prep, const int prepared) {
    __m512 acc[4][4];
    for (int i = 0; i < nr; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    const __m512i bias = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
        __m512i wq[4], start[4];
        __m512 wd[4];
        for (int i = 0; i < nr; i++) {
            const uint8_t *w0 = w + (size_t)i * row_bytes + 34 * b, *w1 = w0 + 34;
            wq[i] = two_blocks(w0 + 2, w1 + 2);
            start[i] = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bias, wq[i]));
            wd[i] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)w0))),
                                       _mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)w1)), 1);
        }
        for (int v = 0; v < nv; v++) {
            __m512i xu;
            __m512 xd;
            if (prepared) {
                const uint8_t *pp = prep + ((size_t)v * (blocks / 2) + b / 2) * 128;
                xu = _mm512_load_si512((const void *)pp);
                xd = _mm512_load_ps((const void *)(pp + 64));
            } else {
                const pk_block_q8 *xv = x + (size_t)v * blocks;
                xu = _mm512_xor_si512(two_blocks((const uint8_t *)xv[b].q, (const uint8_t *)xv[b + 1].q), bias);
                xd = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(xv[b].d)), _mm256_set1_ps(xv[b + 1].d), 1);
            }
            for (int i = 0; i < nr; i++) {
                __m512i p = _mm512_dpbusd_epi32(start[i], xu, wq[i]);
                acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(wd[i], xd), acc[i][v]);
            }
        }
    }
    for (int i = 0; i < nr; i++) {
        const uint8_t *wr = w + (size_t)i * row_bytes;
        for (int v = 0; v < nv; v++) {
            const pk_block_q8 *xv = x + (size_t)v * blocks;
            float sum = _mm512_reduce_add_ps(acc[i][v]);
            if (b < blocks) {
                __m256 p = block_products(wr + 34 * b + 2, xv[b].q);
                sum += hsum8(_mm256_mul_ps(p, _mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)(wr + 34 * b)) * xv[b].d)));
            }
            out[(size_t)v * out_stride + i] = sum;
        }
    }
}

// Writes what tile_avx512 builds from each vector v0..<v1 for each pair of blocks (the
// bytes + 128, then the two scales, 128 bytes) to `prep`, 64-byte aligned.
PK_AVX512 static void prepare_avx512(const pk_block_q8 *xq, int blocks, int v0, int v1, uint8_t *prep) {
    const int pairs = blocks / 2;
    for (int v = v0; v < v1; v++) {
        const pk_block_q8 *xv = xq + (size_t)v * blocks;
        for (int p = 0; p < pairs; p++) {
            uint8_t *pp = prep + ((size_t)(v - v0) * pairs + p) * 128;
            __m512i q = two_blocks((const uint8_t *)xv[2 * p].q, (const uint8_t *)xv[2 * p + 1].q);
            _mm512_store_si512((void *)pp, _mm512_xor_si512(q, _mm512_set1_epi8((char)0x80)));
            _mm512_store_ps((void *)(pp + 64), _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(xv[2 * p].d)),
                                                                  _mm256_set1_ps(xv[2 * p + 1].d), 1));
        }
    }
}

// Rows r0..<r1 against vectors v0..<v1 in tiles of NR rows (`prep`: vectors v0..<v1 prepared).
__attribute__((always_inline)) PK_AVX512 static inline void rows_avx512(
    const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int v0, int v1,
    float *out, int out_stride, int r0, int r1, const int nr, const uint8_t *prep, const int prepared) {
    const size_t per_vector = (size_t)(blocks / 2) * 128;
    for (int r = r0; r + nr <= r1; r += nr) {
        const uint8_t *wr = w + (size_t)r * row_bytes;
        int v = v0;
#define PK_TILE(NV) tile_avx512(wr, row_bytes, xq + (size_t)v * blocks, blocks, nr, NV, out + (size_t)v * out_stride + r, \
                                out_stride, prepared ? prep + (size_t)(v - v0) * per_vector : NULL, prepared)
        for (; v + 4 <= v1; v += 4) PK_TILE(4);
        for (; v + 2 <= v1; v += 2) PK_TILE(2);
        for (; v < v1; v++) PK_TILE(1);
#undef PK_TILE
    }
}

PK_AVX512 static void matmul_q8_avx512(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq,
                                       int batch, float *out, int out_stride, int r0, int r1) {
    int tiled = r0 + (r1 - r0) / PK_TILE_ROWS * PK_TILE_ROWS;
    // The vectors are prepared once per call, in chunks that fit a 16 KB stack buffer, when a
    // chunk holds at least a tile's four vectors (rows of up to 2,048 values); longer rows
    // build them in registers per tile instead.
    _Alignas(64) uint8_t prep[16384];
    int chunk = blocks >= 2 ? (int)(sizeof prep / ((size_t)(blocks / 2) * 128)) / 4 * 4 : 0;
    if (chunk >= 4) {
        for (int v0 = 0; v0 < batch; v0 += chunk) {
            int v1 = v0 + chunk < batch ? v0 + chunk : batch;
            prepare_avx512(xq, blocks, v0, v1, prep);
            rows_avx512(w, row_bytes, blocks, xq, v0, v1, out, out_stride, r0, tiled, PK_TILE_ROWS, prep, 1);
            rows_avx512(w, row_bytes, blocks, xq, v0, v1, out, out_stride, tiled, r1, 1, prep, 1);
        }
        return;
    }
    rows_avx512(w, row_bytes, blocks, xq, 0, batch, out, out_stride, r0, tiled, PK_TILE_ROWS, NULL, 0);
    rows_avx512(w, row_bytes, blocks, xq, 0, batch, out, out_stride, tiled, r1, 1, NULL, 0);
}

// Q8_0 x16 (see ponder_kernels.h). All groups' quants come first (blocks · 512 bytes per
// group, so every vector is 64-byte aligned), then all groups' scales (blocks · 32 bytes).
// Per (row, vector, block) the integer sum is Σ (w + 128) · x − 128 · Σ x, exact, started
// from −128 · x.sum; then scaled by d_w · d_x and accumulated in block order, as the
// row-major kernels do.
PK_AVX512 static inline __attribute__((always_inline)) void group_x16(
    const uint8_t *wq, const uint16_t *ws, int blocks, const pk_block_q8 *x, const int nv,
    float *out, int out_stride, __mmask16 rows) {
    __m512 acc[8];
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *wb = wq + (size_t)b * 512;
        __m512i s[8];
        for (int v = 0; v < nv; v++) s[v] = _mm512_set1_epi32(-128 * x[(size_t)v * blocks + b].sum);
        for (int k = 0; k < 8; k++) {
            __m512i w = _mm512_load_si512((const void *)(wb + 64 * k));
            for (int v = 0; v < nv; v++) {
                int32_t four;
                memcpy(&four, x[(size_t)v * blocks + b].q + 4 * k, 4);
                s[v] = _mm512_dpbusd_epi32(s[v], w, _mm512_set1_epi32(four));
            }
        }
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ws + 16 * (size_t)b)));
        for (int v = 0; v < nv; v++)
            acc[v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[v]), _mm512_mul_ps(dw, _mm512_set1_ps(x[(size_t)v * blocks + b].d)), acc[v]);
    }
    for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(out + (size_t)v * out_stride, rows, acc[v]);
}

PK_AVX512 static void matmul_q8x16_avx512(const uint8_t *packed, int rows, int blocks, const pk_block_q8 *xq, int batch,
                                          float *out, int out_stride, int r0, int r1) {
    const size_t groups = ((size_t)rows + 15) / 16;
    const uint16_t *scales = (const uint16_t *)(packed + groups * blocks * 512);
    for (int g = r0 / 16; g * 16 < r1; g++) {
        int lo = r0 > g * 16 ? r0 - g * 16 : 0, hi = r1 < g * 16 + 16 ? r1 - g * 16 : 16;
        __mmask16 mask = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
        const uint8_t *wq = packed + (size_t)g * blocks * 512;
        const uint16_t *ws = scales + (size_t)g * blocks * 16;
        int v = 0;
#define PK_GROUP(NV) group_x16(wq, ws, blocks, xq + (size_t)v * blocks, NV, out + (size_t)v * out_stride + g * 16, out_stride, mask)
        for (; v + 8 <= batch; v += 8) PK_GROUP(8);
        for (; v + 4 <= batch; v += 4) PK_GROUP(4);
        for (; v + 2 <= batch; v += 2) PK_GROUP(2);
        for (; v < batch; v++) PK_GROUP(1);
#undef PK_GROUP
    }
}

// What this processor runs, found once: 2 AVX-512 VNNI (unless PONDER_NO_AVX512 is set),
// 1 AVX2 + FMA + F16C, 0 neither. Read and written atomically: many sessions ask at once.
static int simd_level(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                     __builtin_cpu_supports("avx512vnni") && getenv("PONDER_NO_AVX512") == NULL;
        v = avx512 ? 2 : avx2;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

static int has_avx2(void) { return simd_level() >= 1; }
static int has_avx512_vnni(void) { return simd_level() >= 2; }
#endif

void pk_quantize_q8(const float *x, pk_block_q8 *out, int n) {
#ifdef PK_X86
    if (has_avx2()) {
        quantize_q8_avx2(x, out, n);
        return;
    }
#endif
    quantize_q8_portable(x, out, n);
}

void pk_matmul_q8(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int batch,
                  float *out, int out_stride, int r0, int r1) {
#ifdef PK_X86
    // AVX-512 for batches of 4 or more (prefill), where it is the faster; AVX2's
    // two-rows-at-a-time loop for one or two vectors (decode, guided pairs), where it is
    // (docs/performance.md, "Choices in the kernels and the thread pool"). A batch size
    // always takes the same path, so results stay independent of the thread count.
    if (batch >= 4 && has_avx512_vnni()) {
        matmul_q8_avx512(w, row_bytes, blocks, xq, batch, out, out_stride, r0, r1);
        return;
    }
    if (has_avx2()) {
        matmul_q8_avx2(w, row_bytes, blocks, xq, batch, out, out_stride, r0, r1);
        return;
    }
#endif
    matmul_q8_portable(w, row_bytes, blocks, xq, batch, out, out_stride, r0, r1);
}

// Softmax of scores[0..<n] (m: their maximum) in place, unnormalised; returns 1 / their sum.
static float exp_weights(float *scores, int n, float m) {
    float sum = 0;
    for (int t = 0; t < n; t++) {
        scores[t] = expf(scores[t] - m);
        sum += scores[t];
    }
    return 1.0f / sum;
}

#ifdef PK_X86
// e^x for eight floats: x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by Cephes' expf polynomial,
// within 2 ulp of e^x. x is clamped to [-87, 88] so that 2^n stays a normal float: below
// -87 it returns e^-87 (1.6e-38) instead of a smaller number, which changes no softmax.
PK_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n·ln 2, with ln 2 split in two so that the first product is exact
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Eight halves of the key/value cache as floats.
PK_AVX2 static inline __m256 load_halves(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

// pk_attend for heads of NV × 8 values, the query and the output held in registers. Scores
// are made eight positions at a time, their eight dot products summed across lanes together
// instead of one horizontal sum per position (at 32 values a head, four multiply-adds each).
PK_AVX2 static inline __attribute__((always_inline)) void attend_avx2_regs(
    const float *q, const uint16_t *keys, const uint16_t *values, size_t stride, int n, int hd, float scale,
    float *scores, float *out, const int NV) {
    __m256 qv[8], o[8];
    for (int c = 0; c < NV; c++) qv[c] = _mm256_mul_ps(_mm256_loadu_ps(q + 8 * c), _mm256_set1_ps(scale));
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int t = 0;
    for (; t + 8 <= n; t += 8) {
        __m256 a[8];
        for (int j = 0; j < 8; j++) {
            const uint16_t *k = keys + (size_t)(t + j) * stride;
            a[j] = _mm256_mul_ps(qv[0], load_halves(k));
            for (int c = 1; c < NV; c++) a[j] = _mm256_fmadd_ps(qv[c], load_halves(k + 8 * c), a[j]);
        }
        // hadd pairs, then pairs of pairs: lane j of each 128-bit half holds position j's or
        // j + 4's partial sum; the two halves' sums are the eight scores.
        __m256 s0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
        __m256 s1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
        __m256 sv = _mm256_add_ps(_mm256_permute2f128_ps(s0, s1, 0x20), _mm256_permute2f128_ps(s0, s1, 0x31));
        _mm256_storeu_ps(scores + t, sv);
        mv = _mm256_max_ps(mv, sv);
    }
    float m = hmax8(mv);
    for (; t < n; t++) {
        const uint16_t *k = keys + (size_t)t * stride;
        __m256 acc = _mm256_mul_ps(qv[0], load_halves(k));
        for (int c = 1; c < NV; c++) acc = _mm256_fmadd_ps(qv[c], load_halves(k + 8 * c), acc);
        scores[t] = hsum8(acc);
        m = fmaxf(m, scores[t]);
    }
    __m256 sum = _mm256_setzero_ps(), m8 = _mm256_set1_ps(m);
    for (t = 0; t + 8 <= n; t += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + t), m8));
        _mm256_storeu_ps(scores + t, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = hsum8(sum);
    for (; t < n; t++) {
        scores[t] = expf(scores[t] - m);
        total += scores[t];
    }
    for (int c = 0; c < NV; c++) o[c] = _mm256_setzero_ps();
    for (t = 0; t < n; t++) {
        const uint16_t *v = values + (size_t)t * stride;
        __m256 w = _mm256_set1_ps(scores[t]);
        for (int c = 0; c < NV; c++) o[c] = _mm256_fmadd_ps(w, load_halves(v + 8 * c), o[c]);
    }
    __m256 inv = _mm256_set1_ps(1.0f / total);
    for (int c = 0; c < NV; c++) _mm256_storeu_ps(out + 8 * c, _mm256_mul_ps(o[c], inv));
    (void)hd;
}

// Other head sizes: eight-wide dot products and updates, one position at a time.
PK_AVX2 static void attend_avx2(const float *q, const uint16_t *keys, const uint16_t *values, size_t stride, int n, int hd,
                                float scale, float *scores, float *out) {
    if (hd == 32) return attend_avx2_regs(q, keys, values, stride, n, hd, scale, scores, out, 4);
    if (hd == 64) return attend_avx2_regs(q, keys, values, stride, n, hd, scale, scores, out, 8);
    float m = -INFINITY;
    for (int t = 0; t < n; t++) {
        const uint16_t *k = keys + (size_t)t * stride;
        __m256 acc = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= hd; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_halves(k + i), acc);
        float s = hsum8(acc);
        for (; i < hd; i++) s += q[i] * _cvtsh_ss(k[i]);
        scores[t] = s * scale;
        m = fmaxf(m, scores[t]);
    }
    float inv = exp_weights(scores, n, m);
    memset(out, 0, (size_t)hd * sizeof(float));
    for (int t = 0; t < n; t++) {
        const uint16_t *v = values + (size_t)t * stride;
        float alpha = scores[t] * inv;
        __m256 a = _mm256_set1_ps(alpha);
        int i = 0;
        for (; i + 8 <= hd; i += 8) _mm256_storeu_ps(out + i, _mm256_fmadd_ps(a, load_halves(v + i), _mm256_loadu_ps(out + i)));
        for (; i < hd; i++) out[i] += alpha * _cvtsh_ss(v[i]);
    }
}

// attend_avx2_regs for nq queries at consecutive positions of one sequence (query i sees
// n0 + i positions), each key and value converted from halves once for all of them instead
// of once per query: a block of eight positions is converted into f32 scratch, then every
// query that sees the whole block reads it there. Each query's sums run in the same order
// as attend_avx2_regs's, from the same values, so its scores and output are the same bits.
PK_AVX2 static inline __attribute__((always_inline)) void attend_rows_avx2_regs(
    const float *q, size_t q_stride, int nq, const uint16_t *keys, const uint16_t *values, size_t stride, int n0,
    float scale, float *scores, size_t scores_stride, float *out, size_t out_stride, const int NV) {
    float block[8][64] __attribute__((aligned(32)));
    int n_max = n0 + nq - 1;
    float maxima[PK_ATTEND_ROWS];
    __m256 mvs[PK_ATTEND_ROWS];
    for (int i = 0; i < nq; i++) mvs[i] = _mm256_set1_ps(-INFINITY);
    for (int t = 0; t + 8 <= n_max; t += 8) {
        for (int j = 0; j < 8; j++)
            for (int c = 0; c < NV; c++) _mm256_store_ps(&block[j][8 * c], load_halves(keys + (size_t)(t + j) * stride + 8 * c));
        for (int i = 0; i < nq; i++) {
            if (t + 8 > n0 + i) continue;
            const float *qi = q + (size_t)i * q_stride;
            __m256 qv[8];
            for (int c = 0; c < NV; c++) qv[c] = _mm256_mul_ps(_mm256_loadu_ps(qi + 8 * c), _mm256_set1_ps(scale));
            __m256 a[8];
            for (int j = 0; j < 8; j++) {
                a[j] = _mm256_mul_ps(qv[0], _mm256_load_ps(&block[j][0]));
                for (int c = 1; c < NV; c++) a[j] = _mm256_fmadd_ps(qv[c], _mm256_load_ps(&block[j][8 * c]), a[j]);
            }
            __m256 s0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
            __m256 s1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
            __m256 sv = _mm256_add_ps(_mm256_permute2f128_ps(s0, s1, 0x20), _mm256_permute2f128_ps(s0, s1, 0x31));
            _mm256_storeu_ps(scores + (size_t)i * scores_stride + t, sv);
            mvs[i] = _mm256_max_ps(mvs[i], sv);
        }
    }
    // The tail of each query's positions past its last whole block, and the softmax weights.
    float totals[PK_ATTEND_ROWS];
    for (int i = 0; i < nq; i++) {
        const float *qi = q + (size_t)i * q_stride;
        float *si = scores + (size_t)i * scores_stride;
        int n = n0 + i;
        __m256 qv[8];
        for (int c = 0; c < NV; c++) qv[c] = _mm256_mul_ps(_mm256_loadu_ps(qi + 8 * c), _mm256_set1_ps(scale));
        float m = hmax8(mvs[i]);
        for (int t = n / 8 * 8; t < n; t++) {
            const uint16_t *k = keys + (size_t)t * stride;
            __m256 acc = _mm256_mul_ps(qv[0], load_halves(k));
            for (int c = 1; c < NV; c++) acc = _mm256_fmadd_ps(qv[c], load_halves(k + 8 * c), acc);
            si[t] = hsum8(acc);
            m = fmaxf(m, si[t]);
        }
        maxima[i] = m;
        __m256 sum = _mm256_setzero_ps(), m8 = _mm256_set1_ps(m);
        int t = 0;
        for (; t + 8 <= n; t += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(si + t), m8));
            _mm256_storeu_ps(si + t, e);
            sum = _mm256_add_ps(sum, e);
        }
        float total = hsum8(sum);
        for (; t < n; t++) {
            si[t] = expf(si[t] - m);
            total += si[t];
        }
        totals[i] = total;
        for (int c = 0; c < NV; c++) _mm256_storeu_ps(out + (size_t)i * out_stride + 8 * c, _mm256_setzero_ps());
    }
    (void)maxima;
    // Values: a block of eight positions converted once, each query's running sum taken
    // through it in position order.
    for (int t = 0; t < n_max; t += 8) {
        int end = t + 8 < n_max ? t + 8 : n_max;
        for (int j = 0; j < end - t; j++)
            for (int c = 0; c < NV; c++) _mm256_store_ps(&block[j][8 * c], load_halves(values + (size_t)(t + j) * stride + 8 * c));
        for (int i = 0; i < nq; i++) {
            int n = n0 + i;
            if (t >= n) continue;
            int stop = end < n ? end : n;
            float *oi = out + (size_t)i * out_stride;
            const float *si = scores + (size_t)i * scores_stride;
            __m256 o[8];
            for (int c = 0; c < NV; c++) o[c] = _mm256_loadu_ps(oi + 8 * c);
            for (int tt = t; tt < stop; tt++) {
                __m256 w = _mm256_set1_ps(si[tt]);
                for (int c = 0; c < NV; c++) o[c] = _mm256_fmadd_ps(w, _mm256_load_ps(&block[tt - t][8 * c]), o[c]);
            }
            for (int c = 0; c < NV; c++) _mm256_storeu_ps(oi + 8 * c, o[c]);
        }
    }
    for (int i = 0; i < nq; i++) {
        __m256 inv = _mm256_set1_ps(1.0f / totals[i]);
        float *oi = out + (size_t)i * out_stride;
        for (int c = 0; c < NV; c++) _mm256_storeu_ps(oi + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(oi + 8 * c), inv));
    }
}

// attend_rows_avx2_regs at the head sizes it holds in registers; 0 at others.
PK_AVX2 static int attend_rows_avx2(const float *q, size_t q_stride, int nq, const uint16_t *keys, const uint16_t *values,
                                     size_t stride, int n0, int hd, float scale, float *scores, size_t scores_stride,
                                     float *out, size_t out_stride) {
    if (hd == 32) attend_rows_avx2_regs(q, q_stride, nq, keys, values, stride, n0, scale, scores, scores_stride, out, out_stride, 4);
    else if (hd == 64) attend_rows_avx2_regs(q, q_stride, nq, keys, values, stride, n0, scale, scores, scores_stride, out, out_stride, 8);
    else return 0;
    return 1;
}

// pk_store_halves eight at a time (vcvtps2ph, rounding to nearest even).
PK_AVX2 static void store_halves_avx2(const float *x, uint16_t *out, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = float_to_half(x[i]);  // the portable rounding, tested through here
}

PK_AVX2 static void silu_avx2(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(x + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        _mm256_storeu_ps(x + i, _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
    }
    silu_portable(x + i, n - i);
}

// Eight pixels at a time, over the channel planes.
PK_AVX2 static void softmax_planes_avx2(float *x, int c, int plane, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 m = _mm256_loadu_ps(x + i);
        for (int ch = 1; ch < c; ch++) m = _mm256_max_ps(m, _mm256_loadu_ps(x + (size_t)ch * plane + i));
        __m256 sum = _mm256_setzero_ps();
        for (int ch = 0; ch < c; ch++) {
            float *p = x + (size_t)ch * plane + i;
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p), m));
            _mm256_storeu_ps(p, e);
            sum = _mm256_add_ps(sum, e);
        }
        for (int ch = 0; ch < c; ch++) {
            float *p = x + (size_t)ch * plane + i;
            _mm256_storeu_ps(p, _mm256_div_ps(_mm256_loadu_ps(p), sum));
        }
    }
    softmax_planes_portable(x, c, plane, i, n);
}

// SiLU(gate) · up, eight at a time: silu(x) = x / (1 + e^-x).
PK_AVX2 static void swiglu_avx2(const float *gate, const float *up, float *out, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    swiglu_portable(gate + i, up + i, out + i, n - i);
}
#endif

void pk_attend(const float *q, const uint16_t *keys, const uint16_t *values, size_t stride, int n, int hd,
               float scale, float *scores, float *out) {
#ifdef PK_X86
    if (has_avx2()) {
        attend_avx2(q, keys, values, stride, n, hd, scale, scores, out);
        return;
    }
#endif
    float m = -INFINITY;
    for (int t = 0; t < n; t++) {
        const uint16_t *k = keys + (size_t)t * stride;
        float d = 0;
        for (int i = 0; i < hd; i++) d += q[i] * pk_half_to_float(k[i]);
        scores[t] = d * scale;
        m = fmaxf(m, scores[t]);
    }
    float inv = exp_weights(scores, n, m);
    memset(out, 0, (size_t)hd * sizeof(float));
    for (int t = 0; t < n; t++) {
        const uint16_t *v = values + (size_t)t * stride;
        for (int i = 0; i < hd; i++) out[i] += scores[t] * inv * pk_half_to_float(v[i]);
    }
}

void pk_attend_rows(const float *q, size_t q_stride, int nq, const uint16_t *keys, const uint16_t *values, size_t stride,
                    int n0, int hd, float scale, float *scores, size_t scores_stride, float *out, size_t out_stride) {
#ifdef PK_X86
    if (has_avx2() && nq > 1 && nq <= PK_ATTEND_ROWS && n0 >= 1) {
        if (attend_rows_avx2(q, q_stride, nq, keys, values, stride, n0, hd, scale, scores, scores_stride, out, out_stride)) return;
    }
#endif
    for (int i = 0; i < nq; i++)
        pk_attend(q + (size_t)i * q_stride, keys, values, stride, n0 + i, hd, scale, scores + (size_t)i * scores_stride,
                  out + (size_t)i * out_stride);
}

void pk_swiglu(const float *gate, const float *up, float *out, int n) {
#ifdef PK_X86
    if (has_avx2()) {
        swiglu_avx2(gate, up, out, n);
        return;
    }
#endif
    swiglu_portable(gate, up, out, n);
}

int pk_q8x16_available(void) {
#ifdef PK_X86
    return has_avx512_vnni();
#else
    return 0;
#endif
}

size_t pk_q8x16_bytes(int rows, int blocks) { return ((size_t)rows + 15) / 16 * (size_t)blocks * (512 + 32); }

void pk_pack_q8x16(const uint8_t *w, size_t row_bytes, int rows, int blocks, uint8_t *packed) {
    const size_t groups = ((size_t)rows + 15) / 16;
    uint16_t *scales = (uint16_t *)(packed + groups * blocks * 512);
    for (size_t g = 0; g < groups; g++)
        for (int b = 0; b < blocks; b++)
            for (int i = 0; i < 16; i++) {
                size_t r = g * 16 + i;
                uint8_t *vec = packed + (g * blocks + b) * 512 + 4 * i;
                uint16_t d = 0;
                if (r < (size_t)rows) {
                    const uint8_t *blk = w + r * row_bytes + 34 * (size_t)b;
                    memcpy(&d, blk, 2);
                    for (int k = 0; k < 8; k++) {  // + 128 on each byte is a flip of its top bit
                        uint32_t four;
                        memcpy(&four, blk + 2 + 4 * k, 4);
                        four ^= 0x80808080u;
                        memcpy(vec + 64 * k, &four, 4);
                    }
                } else {
                    for (int k = 0; k < 8; k++) memset(vec + 64 * k, 128, 4);
                }
                scales[(g * blocks + b) * 16 + i] = d;
            }
}

void pk_matmul_q8x16(const uint8_t *packed, int rows, int blocks, const pk_block_q8 *xq, int batch,
                     float *out, int out_stride, int r0, int r1) {
#ifdef PK_X86
    if (has_avx512_vnni()) {
        matmul_q8x16_avx512(packed, rows, blocks, xq, batch, out, out_stride, r0, r1);
        return;
    }
#endif
    // Portable: the same sums one at a time (slow; for processors without AVX-512 VNNI the
    // engine keeps the row-major layout and never packs).
    const size_t groups = ((size_t)rows + 15) / 16;
    const uint16_t *scales = (const uint16_t *)(packed + groups * blocks * 512);
    for (int r = r0; r < r1; r++) {
        size_t g = (size_t)r / 16, i = (size_t)r % 16;
        for (int v = 0; v < batch; v++) {
            const pk_block_q8 *x = xq + (size_t)v * blocks;
            float acc = 0;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *vec = packed + (g * blocks + b) * 512 + 4 * i;
                int32_t sum = -128 * x[b].sum;
                for (int k = 0; k < 8; k++)
                    for (int j = 0; j < 4; j++) sum += (int32_t)vec[64 * k + j] * x[b].q[4 * k + j];
                acc += (float)sum * (pk_half_to_float(scales[(g * blocks + b) * 16 + i]) * x[b].d);
            }
            out[(size_t)v * out_stride + r] = acc;
        }
    }
}

void pk_store_halves(const float *x, uint16_t *out, int n) {
#ifdef PK_X86
    if (has_avx2()) {
        store_halves_avx2(x, out, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++) out[i] = float_to_half(x[i]);
}

// ---- Direct stride-1 convolutions (the VQ decoder's and encoder's) ----
//
// Each output is Σ over (ci, ky, kx) in that order of fma(weight, input, acc) from 0, plus
// the bias at the end, on every path: the portable loop uses fmaf, so all three give the
// same bits, and an output does not depend on which block or band it was computed in.

enum { PK_CONV_BLOCK = 8 };

size_t pk_conv_packed_floats(int cin, int cout, int k) {
    return (size_t)(cout + PK_CONV_BLOCK - 1) / PK_CONV_BLOCK * (size_t)cin * k * k * PK_CONV_BLOCK;
}

void pk_conv_pack(const float *weight, int cin, int cout, int k, float *packed) {
    int blocks = (cout + PK_CONV_BLOCK - 1) / PK_CONV_BLOCK, taps = cin * k * k;
    for (int b = 0; b < blocks; b++) {
        for (int t = 0; t < taps; t++) {
            for (int j = 0; j < PK_CONV_BLOCK; j++) {
                int co = b * PK_CONV_BLOCK + j;
                packed[((size_t)b * taps + t) * PK_CONV_BLOCK + j] = co < cout ? weight[(size_t)co * taps + t] : 0.0f;
            }
        }
    }
}

void pk_conv_pad(const float *x, int cin, int h, int w, int pad, float *padded) {
    int ph = h + 2 * pad, pw = w + 2 * pad;
    memset(padded, 0, sizeof(float) * (size_t)cin * ph * pw);
    for (int c = 0; c < cin; c++) {
        for (int y = 0; y < h; y++) {
            memcpy(padded + ((size_t)c * ph + y + pad) * pw + pad, x + ((size_t)c * h + y) * w, sizeof(float) * (size_t)w);
        }
    }
}

// Where a convolution reads: out[co][y][x] (planes of oh × ow) sums w · xp[ci][y + oy + ty][x + ox + tx]
// over ty < kh, tx < kw, from a padded input of planes ph × pw.
typedef struct {
    int cin, ph, pw, kh, kw, oy, ox, oh, ow;
} conv_geometry;

static void conv_portable(const float *xp, conv_geometry g, const float *packed, const float *bias, int cout,
                          float *out, int b0, int b1, int y0, int y1, int x0, int x1) {
    int taps = g.cin * g.kh * g.kw;
    for (int b = b0; b < b1; b++) {
        const float *wb = packed + (size_t)b * taps * PK_CONV_BLOCK;
        for (int j = 0; j < PK_CONV_BLOCK; j++) {
            int co = b * PK_CONV_BLOCK + j;
            if (co >= cout) break;
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    float acc = 0;
                    const float *wt = wb + j;
                    for (int ci = 0; ci < g.cin; ci++) {
                        for (int ty = 0; ty < g.kh; ty++) {
                            const float *row = xp + ((size_t)ci * g.ph + y + g.oy + ty) * g.pw + x + g.ox;
                            for (int tx = 0; tx < g.kw; tx++, wt += PK_CONV_BLOCK) acc = fmaf(*wt, row[tx], acc);
                        }
                    }
                    out[((size_t)co * g.oh + y) * g.ow + x] = acc + bias[co];
                }
            }
        }
    }
}

#ifdef PK_X86
static PK_AVX2 void conv_avx2(const float *xp, conv_geometry g, const float *packed, const float *bias, int cout,
                              float *out, int b0, int b1, int y0, int y1, int xs, int xe) {
    int taps = g.cin * g.kh * g.kw;
    static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int b = b0; b < b1; b++) {
        const float *wb = packed + (size_t)b * taps * PK_CONV_BLOCK;
        for (int y = y0; y < y1; y++) {
            for (int x0 = xs; x0 < xe; x0 += 8) {
                int n = xe - x0 < 8 ? xe - x0 : 8;
                __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 8 - n));
                __m256 acc[PK_CONV_BLOCK];
                for (int j = 0; j < PK_CONV_BLOCK; j++) acc[j] = _mm256_setzero_ps();
                const float *wt = wb;
                for (int ci = 0; ci < g.cin; ci++) {
                    for (int ty = 0; ty < g.kh; ty++) {
                        const float *row = xp + ((size_t)ci * g.ph + y + g.oy + ty) * g.pw + x0 + g.ox;
                        for (int tx = 0; tx < g.kw; tx++, wt += PK_CONV_BLOCK) {
                            __m256 v = _mm256_maskload_ps(row + tx, mask);
                            for (int j = 0; j < PK_CONV_BLOCK; j++) acc[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(wt + j), v, acc[j]);
                        }
                    }
                }
                for (int j = 0; j < PK_CONV_BLOCK; j++) {
                    int co = b * PK_CONV_BLOCK + j;
                    if (co >= cout) break;
                    _mm256_maskstore_ps(out + ((size_t)co * g.oh + y) * g.ow + x0, mask, _mm256_add_ps(acc[j], _mm256_set1_ps(bias[co])));
                }
            }
        }
    }
}

// NV vectors of 16 pixels (the last one masked) by 8 output channels per pass, each weight
// broadcast once for all of them and each input vector loaded once for the 8 channels.
__attribute__((always_inline)) PK_AVX512 static inline void conv_avx512_pass(
    const float *xp, conv_geometry g, const float *wb, const float *bias, int cout, float *out, int b, int y, int x0,
    __mmask16 last, const int NV) {
    __m512 acc[3][PK_CONV_BLOCK];
    for (int v = 0; v < NV; v++)
        for (int j = 0; j < PK_CONV_BLOCK; j++) acc[v][j] = _mm512_setzero_ps();
    const float *wt = wb;
    for (int ci = 0; ci < g.cin; ci++) {
        for (int ty = 0; ty < g.kh; ty++) {
            const float *row = xp + ((size_t)ci * g.ph + y + g.oy + ty) * g.pw + x0 + g.ox;
            for (int tx = 0; tx < g.kw; tx++, wt += PK_CONV_BLOCK) {
                __m512 in[3];
                for (int v = 0; v < NV; v++) in[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xffff, row + tx + 16 * v);
                for (int j = 0; j < PK_CONV_BLOCK; j++) {
                    __m512 s = _mm512_set1_ps(wt[j]);
                    for (int v = 0; v < NV; v++) acc[v][j] = _mm512_fmadd_ps(s, in[v], acc[v][j]);
                }
            }
        }
    }
    for (int j = 0; j < PK_CONV_BLOCK; j++) {
        int co = b * PK_CONV_BLOCK + j;
        if (co >= cout) break;
        __m512 bj = _mm512_set1_ps(bias[co]);
        float *o = out + ((size_t)co * g.oh + y) * g.ow + x0;
        for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(o + 16 * v, v == NV - 1 ? last : 0xffff, _mm512_add_ps(acc[v][j], bj));
    }
}

static PK_AVX512 void conv_avx512(const float *xp, conv_geometry g, const float *packed, const float *bias, int cout,
                                  float *out, int b0, int b1, int y0, int y1, int xs, int xe) {
    int taps = g.cin * g.kh * g.kw;
    for (int b = b0; b < b1; b++) {
        const float *wb = packed + (size_t)b * taps * PK_CONV_BLOCK;
        for (int y = y0; y < y1; y++) {
            int x0 = xs;
            for (; xe - x0 > 32; x0 += 48) {
                int n = xe - x0 < 48 ? xe - x0 - 32 : 16;
                conv_avx512_pass(xp, g, wb, bias, cout, out, b, y, x0, (__mmask16)((1u << n) - 1), 3);
            }
            if (xe - x0 > 16) {
                conv_avx512_pass(xp, g, wb, bias, cout, out, b, y, x0, (__mmask16)((1u << (xe - x0 - 16)) - 1), 2);
            } else if (xe > x0) {
                conv_avx512_pass(xp, g, wb, bias, cout, out, b, y, x0, (__mmask16)((1u << (xe - x0)) - 1), 1);
            }
        }
    }
}
#endif

static void conv_any(const float *xp, conv_geometry g, const float *packed, const float *bias, int cout,
                     float *out, int b0, int b1, int y0, int y1, int x0, int x1) {
#ifdef PK_X86
    if (has_avx512_vnni()) {
        conv_avx512(xp, g, packed, bias, cout, out, b0, b1, y0, y1, x0, x1);
        return;
    }
    if (has_avx2()) {
        conv_avx2(xp, g, packed, bias, cout, out, b0, b1, y0, y1, x0, x1);
        return;
    }
#endif
    conv_portable(xp, g, packed, bias, cout, out, b0, b1, y0, y1, x0, x1);
}

void pk_conv2d(const float *padded, int cin, int h, int w, int k, const float *packed, const float *bias, int cout,
               float *out, int b0, int b1, int y0, int y1, int x0, int x1) {
    conv_geometry g = {cin, h + k - 1, w + k - 1, k, k, 0, 0, h, w};
    conv_any(padded, g, packed, bias, cout, out, b0, b1, y0, y1, x0, x1);
}

void pk_conv2d_upsampled(const float *padded, int cin, int h, int w, int phase, const float *packed, const float *bias,
                         int cout, float *out, int b0, int b1, int y0, int y1, int x0, int x1) {
    conv_geometry g = {cin, h + 2, w + 2, 2, 2, phase / 2, phase % 2, h, w};
    conv_any(padded, g, packed, bias, cout, out, b0, b1, y0, y1, x0, x1);
}

void pk_silu(float *x, int n) {
#ifdef PK_X86
    if (has_avx2()) {
        silu_avx2(x, n);
        return;
    }
#endif
    silu_portable(x, n);
}

void pk_softmax_planes(float *x, int c, int plane, int n) {
#ifdef PK_X86
    if (has_avx2()) {
        softmax_planes_avx2(x, c, plane, n);
        return;
    }
#endif
    softmax_planes_portable(x, c, plane, 0, n);
}
