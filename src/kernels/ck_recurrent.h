/*
 * ck_recurrent.h: what the recurrent kernels (lstm.c, rnn.c) share; not
 * part of the public contract.
 *
 *   - the elementwise gate activations, forward (in place) and their
 *     derivative expressed through the forward output y, as loops gcc
 *     vectorizes (the switch sits outside each loop);
 *   - the row blocking of one time step (fixed by the shape, never by the
 *     thread count);
 *   - the bias gradient (column sums in a fixed order).
 *
 * Supported activations: linear, relu, sigmoid, hard_sigmoid, tanh (any
 * other value computes linear; the bindings reject them).
 *
 * TODO(act): the fast expf/tanhf below are the recurrent kernels' own
 * until the activation family's shared ck_math.h lands on main; then they
 * switch to it and these two go.
 */
#ifndef CK_RECURRENT_H
#define CK_RECURRENT_H

#include <stdint.h>
#include <string.h>
#include "ck_internal.h"

/* gcc will not if-convert a select that feeds a floating-point operation
 * while -ftrapping-math (the default) is on, so the clamps in the
 * functions below would keep their loops scalar. Nothing here reads FP
 * exception flags, and the flag changes no result bit. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#if defined(__GNUC__)
#define CK_RNN_INLINE static inline __attribute__((always_inline))
#else
#define CK_RNN_INLINE static inline
#endif

/* e^x for float, branch-free (vectorizable): Cephes expf. x = n ln2 + r,
 * |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n through the exponent
 * bits. Relative error about 2 ulp; x is clamped to [-87.3, 88.3] so 2^n
 * stays a normal float. */
CK_RNN_INLINE float ck_rnn_expf(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    /* round to nearest by the 1.5 * 2^23 trick (contraction is off) */
    float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t bits = ((int32_t)fn + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

/* tanh for float, branch-free: Cephes tanhf. |x| < 0.625 by an odd
 * polynomial (no cancellation near 0), else 1 - 2 / (e^(2|x|) + 1). */
CK_RNN_INLINE float ck_rnn_tanhf(float x) {
    float a = x < 0.0f ? -x : x;
    float big = 1.0f - 2.0f / (ck_rnn_expf(2.0f * a) + 1.0f);
    big = x < 0.0f ? -big : big;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    return a < 0.625f ? small : big;
}

CK_RNN_INLINE float ck_rnn_sigmoidf(float x) {
    return 1.0f / (1.0f + ck_rnn_expf(-x));
}

/* y[0..n) = act(y[0..n)), in place. */
CK_RNN_INLINE void ck_rnn_activate(float *y, int64_t n, int act) {
    switch (act) {
    case CK_ACT_TANH:
        for (int64_t j = 0; j < n; j++) y[j] = ck_rnn_tanhf(y[j]);
        break;
    case CK_ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++) y[j] = ck_rnn_sigmoidf(y[j]);
        break;
    case CK_ACT_HARD_SIGMOID:
        for (int64_t j = 0; j < n; j++) {
            float v = 0.2f * y[j] + 0.5f;
            v = v < 0.0f ? 0.0f : v;
            y[j] = v > 1.0f ? 1.0f : v;
        }
        break;
    case CK_ACT_RELU:
        for (int64_t j = 0; j < n; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
        break;
    default: /* linear */
        break;
    }
}

/* d[0..n) *= act'(.), expressed through the forward output y[0..n). */
CK_RNN_INLINE void ck_rnn_dactivate(float *d, const float *y, int64_t n,
                                    int act) {
    switch (act) {
    case CK_ACT_TANH:
        for (int64_t j = 0; j < n; j++) d[j] *= 1.0f - y[j] * y[j];
        break;
    case CK_ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++) d[j] *= y[j] * (1.0f - y[j]);
        break;
    case CK_ACT_HARD_SIGMOID:
        for (int64_t j = 0; j < n; j++)
            d[j] = y[j] > 0.0f && y[j] < 1.0f ? 0.2f * d[j] : 0.0f;
        break;
    case CK_ACT_RELU:
        for (int64_t j = 0; j < n; j++) d[j] = y[j] > 0.0f ? d[j] : 0.0f;
        break;
    default: /* linear */
        break;
    }
}

/* Row blocking of one time step: the batch is cut into a power of two of
 * blocks (at most 8), each of at least 16 rows and 1 MFLOP of recurrent
 * GEMM (U x gates*U per row), so a block's GEMM is worth a thread and the
 * recurrent matrix is not re-packed for slivers. Fixed by (N, U, gates),
 * never by the thread count. Returns rows per block. */
static inline int64_t ck_rnn_rows_per_block(int64_t N, int64_t U,
                                            int64_t gates) {
    double flops = 2.0 * (double)N * (double)U * (double)(gates * U);
    int64_t blocks = 1;
    while (blocks * 2 <= 8 && N / (blocks * 2) >= 16 &&
           flops / (double)(blocks * 2) >= 1.0e6)
        blocks *= 2;
    return N < 1 ? 1 : (N + blocks - 1) / blocks;
}

/* db[cols] += sum over rows of dz[rows, cols]: column blocks of 256 on the
 * pool, rows in order within each column, so the bits do not depend on
 * the thread count. */
typedef struct {
    float *db;
    const float *dz;
    int64_t rows, cols;
} ck_rnn_colsum_ctx;

#define CK_RNN_COLSUM_BLOCK 256

CK_VECTOR_CLONES static void ck_rnn_colsum_block(void *vctx, int64_t b) {
    const ck_rnn_colsum_ctx *c = (const ck_rnn_colsum_ctx *)vctx;
    int64_t lo = b * CK_RNN_COLSUM_BLOCK;
    int64_t n = c->cols - lo < CK_RNN_COLSUM_BLOCK ? c->cols - lo
                                                    : CK_RNN_COLSUM_BLOCK;
    float acc[CK_RNN_COLSUM_BLOCK];
    for (int64_t j = 0; j < n; j++) acc[j] = 0.0f;
    for (int64_t r = 0; r < c->rows; r++) {
        const float *row = c->dz + r * c->cols + lo;
        for (int64_t j = 0; j < n; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < n; j++) c->db[lo + j] += acc[j];
}

static inline void ck_rnn_colsum_add(float *db, const float *dz, int64_t rows,
                                     int64_t cols) {
    ck_rnn_colsum_ctx c = {db, dz, rows, cols};
    ck_parallel_for(ck_nblocks(cols, CK_RNN_COLSUM_BLOCK), ck_rnn_colsum_block,
                    &c);
}

#endif /* CK_RECURRENT_H */
