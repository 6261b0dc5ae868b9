// Old against new Q8_0 kernels in one process: benchmarks/ab/kernels builds this with the
// working tree's Sources/CPonderKernels/kernels.c and, under renamed symbols, the same file
// at an older commit. For each shape it checks that both give identical floats, then times
// them in alternation over matrices filling `MB` megabytes (2: in cache; 100 or more: read
// from memory, the decode case of a large model) and prints the better of 5 passes. Where
// the processor has AVX-512 VNNI it also times the working tree's packed kernel (Q8_0 x16,
// what the engine multiplies with there) on packed copies of the same matrices, checked
// against the row-major result (same sums, other float rounding).
//   kernels ROWS COLS BATCH MB
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ponder_kernels.h"

void old_pk_matmul_q8(const uint8_t *w, size_t row_bytes, int blocks, const pk_block_q8 *xq, int batch,
                      float *out, int out_stride, int r0, int r1);
void old_pk_quantize_q8(const float *x, pk_block_q8 *out, int n);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s ROWS COLS BATCH MB\n", argv[0]);
        return 2;
    }
    int rows = atoi(argv[1]), cols = atoi(argv[2]), batch = atoi(argv[3]);
    size_t total = (size_t)atol(argv[4]) << 20;
    int blocks = cols / 32;
    size_t row_bytes = 34 * (size_t)blocks, matrix = row_bytes * rows;
    int count = total / matrix > 0 ? (int)(total / matrix) : 1;
    uint8_t *w = malloc(matrix * count);
    float *x = malloc(sizeof(float) * cols * batch), *a = calloc((size_t)rows * batch, 4), *b = calloc((size_t)rows * batch, 4);
    pk_block_q8 *qa = malloc(sizeof(pk_block_q8) * blocks * batch), *qb = malloc(sizeof(pk_block_q8) * blocks * batch);
    srand(1);
    for (size_t i = 0; i < matrix * count; i++) w[i] = (uint8_t)rand();
    for (size_t r = 0; r < (size_t)rows * count; r++)
        for (int k = 0; k < blocks; k++) {
            uint16_t scale = 0x2000 + (rand() & 0xff);  // a small positive half
            memcpy(w + r * row_bytes + 34 * k, &scale, 2);
        }
    for (int i = 0; i < cols * batch; i++) x[i] = (float)(rand() % 2001 - 1000) / 100.0f;
    for (int v = 0; v < batch; v++) {
        old_pk_quantize_q8(x + v * cols, qa + v * blocks, cols);
        pk_quantize_q8(x + v * cols, qb + v * blocks, cols);
    }
    // d and q only: an older commit's quantization may not fill every field
    int same_q = 1;
    for (int k = 0; k < blocks * batch; k++)
        same_q &= qa[k].d == qb[k].d && memcmp(qa[k].q, qb[k].q, 32) == 0;
    old_pk_matmul_q8(w, row_bytes, blocks, qa, batch, a, rows, 0, rows);
    pk_matmul_q8(w, row_bytes, blocks, qa, batch, b, rows, 0, rows);
    int same = memcmp(a, b, sizeof(float) * rows * batch) == 0;
    double best_old = 1e30, best_new = 1e30;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        for (int m = 0; m < count; m++) old_pk_matmul_q8(w + m * matrix, row_bytes, blocks, qa, batch, a, rows, 0, rows);
        double t1 = now();
        for (int m = 0; m < count; m++) pk_matmul_q8(w + m * matrix, row_bytes, blocks, qa, batch, b, rows, 0, rows);
        double t2 = now();
        if (t1 - t0 < best_old) best_old = t1 - t0;
        if (t2 - t1 < best_new) best_new = t2 - t1;
    }
    // The packed kernel on packed copies (the packed size rounded up to keep each copy aligned).
    double best_packed = 0, worst = 0;
    if (pk_q8x16_available()) {
        size_t packed = (pk_q8x16_bytes(rows, blocks) + 63) / 64 * 64;
        uint8_t *p = aligned_alloc(64, packed * count);
        float *c = calloc((size_t)rows * batch, 4);
        for (int m = 0; m < count; m++) pk_pack_q8x16(w + m * matrix, row_bytes, rows, blocks, p + m * packed);
        pk_matmul_q8x16(p, rows, blocks, qb, batch, c, rows, 0, rows);
        pk_matmul_q8(w, row_bytes, blocks, qb, batch, b, rows, 0, rows);
        for (size_t i = 0; i < (size_t)rows * batch; i++) {
            double e = fabs((double)c[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
            if (e > worst) worst = e;
        }
        best_packed = 1e30;
        for (int pass = 0; pass < 5; pass++) {
            double t0 = now();
            for (int m = 0; m < count; m++) pk_matmul_q8x16(p + m * packed, rows, blocks, qb, batch, c, rows, 0, rows);
            double t1 = now();
            if (t1 - t0 < best_packed) best_packed = t1 - t0;
        }
        free(p);
        free(c);
    }
    // Activation quantization, old against new, on the same batch.
    double tq0 = now();
    for (int k = 0; k < 200; k++)
        for (int v = 0; v < batch; v++) old_pk_quantize_q8(x + v * cols, qa + v * blocks, cols);
    double tq1 = now();
    for (int k = 0; k < 200; k++)
        for (int v = 0; v < batch; v++) pk_quantize_q8(x + v * cols, qb + v * blocks, cols);
    double tq2 = now();
    double gb = (double)matrix * count / 1e9;
    printf("%5d x %5d, batch %2d, %4.0f MB: old %6.2f GB/s, new %6.2f GB/s, new/old %.2f; quantization new/old %.1f; "
           "same floats %s, same quantization %s\n",
           rows, cols, batch, gb * 1e3, gb / best_old, gb / best_new, best_old / best_new, (tq1 - tq0) / (tq2 - tq1),
           same ? "yes" : "NO", same_q ? "yes" : "NO");
    if (best_packed > 0)
        printf("%5s   %5s  packed (Q8_0 x16) %6.2f GB/s, packed/old %.2f, largest difference %.1e\n", "", "", gb / best_packed,
               best_old / best_packed, worst);
    return same && same_q && worst < 1e-4 ? 0 : 1;
}
