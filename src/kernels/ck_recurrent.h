/*
 * ck_recurrent.h: what the recurrent kernels (lstm.c, rnn.c) share; not
 * part of the public contract.
 *
 *   - the elementwise gate activations, forward (in place) and their
 *     derivative expressed through the forward output y, as loops gcc
 *     vectorizes (the switch sits outside each loop), with the same
 *     formulas as activations.c (ck_math.h's ck_sigmoidf, ck_tanhf and
 *     branch-free ck_selectf), so a gate gives the bits of the standalone
 *     activation;
 *   - the unit blocking of one time step (fixed by the shape, never by
 *     the thread count);
 *   - the bias gradient (column sums in a fixed order);
 *   - the recurrent dropout helpers (masked copies of the state, masked
 *     accumulation of the gradient of the state);
 *   - the input projection x W of every step and its backward (W NULL: x
 *     is the projection already, projected by the caller).
 *
 * Supported activations: linear, relu, sigmoid, hard_sigmoid, tanh (any
 * other value computes linear; the bindings reject them).
 */
#ifndef CK_RECURRENT_H
#define CK_RECURRENT_H

#include <stddef.h>
#include <stdint.h>
#include "ck_internal.h"
#include "ck_math.h"

#if defined(__GNUC__)
#define CK_RNN_INLINE static inline __attribute__((always_inline))
#else
#define CK_RNN_INLINE static inline
#endif

/* y[0..n) = act(y[0..n)), in place. */
CK_RNN_INLINE void ck_rnn_activate(float *y, int64_t n, int act) {
    switch (act) {
    case CK_ACT_TANH:
        for (int64_t j = 0; j < n; j++) y[j] = ck_tanhf(y[j]);
        break;
    case CK_ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++) y[j] = ck_sigmoidf(y[j]);
        break;
    case CK_ACT_HARD_SIGMOID:
        for (int64_t j = 0; j < n; j++) {
            float v = 0.2f * y[j] + 0.5f;
            v = ck_selectf(v < 0.0f, 0.0f, v);
            y[j] = ck_selectf(v > 1.0f, 1.0f, v);
        }
        break;
    case CK_ACT_RELU:
        for (int64_t j = 0; j < n; j++)
            y[j] = ck_selectf(y[j] < 0.0f, 0.0f, y[j]);
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
            d[j] = ck_selectf((y[j] > 0.0f) & (y[j] < 1.0f), 0.2f * d[j],
                              0.0f);
        break;
    case CK_ACT_RELU:
        for (int64_t j = 0; j < n; j++)
            d[j] = ck_selectf(y[j] > 0.0f, d[j], 0.0f);
        break;
    default: /* linear */
        break;
    }
}

/* Unit blocking of one time step: block k owns the units [u0, u1) of the
 * state, for the whole batch: the gate columns of those units in the
 * forward's recurrent product h R, their fused pass, and the rows u0..u1
 * of R in the backward's product dz R^T. Each thread so reads only its
 * slice of R every step (it stays in that core's cache), the products are
 * never cut along their inner dimension, and each product covers the
 * whole batch. A power of two of blocks (at most 8), each of at least
 * 32 units and 2 MFLOP of the step's recurrent product, a multiple of 16
 * units (whole panels of the packed R) when there are several. Fixed by
 * (N, U, gates), never by the thread count. Returns units per block. */
static inline int64_t ck_rnn_units_per_block(int64_t N, int64_t U,
                                             int64_t gates) {
    double flops = 2.0 * (double)N * (double)U * (double)(gates * U);
    int64_t blocks = 1;
    while (blocks * 2 <= 8 && U / (blocks * 2) >= 32 &&
           flops / (double)(blocks * 2) >= 2.0e6)
        blocks *= 2;
    if (U < 1) return 1;
    int64_t ub = (U + blocks - 1) / blocks;
    return blocks > 1 ? (ub + 15) / 16 * 16 : ub;
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

/* Recurrent dropout (rdmask[q] [N, U], fixed for the whole sequence).
 * dh[n, u0:u1] += m[n, u0:u1] * tmp[n, u0:u1] for every row n < N: the
 * gradient of the state through a product that read h * m (dh, tmp, m
 * [N, U]). */
CK_VECTOR_CLONES static void ck_rnn_mask_add(float *dh, const float *tmp,
                                             const float *m, int64_t N,
                                             int64_t U, int64_t u0,
                                             int64_t u1) {
    for (int64_t n = 0; n < N; n++) {
        float *d = dh + n * U + u0;
        const float *t = tmp + n * U + u0, *mm = m + n * U + u0;
        for (int64_t j = 0; j < u1 - u0; j++) d[j] += mm[j] * t[j];
    }
}

/* dst[n, t, :] = src[n, t, :] * m[n, :]: every saved state of sample n
 * (src, dst [N, T, U]) times its mask (m [N, U]), for dR's GEMM. */
CK_VECTOR_CLONES static void ck_rnn_mask_states(float *dst, const float *src,
                                                const float *m, int64_t N,
                                                int64_t T, int64_t U) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t t = 0; t < T; t++) {
            float *d = dst + (n * T + t) * U;
            const float *s = src + (n * T + t) * U, *mm = m + n * U;
            for (int64_t j = 0; j < U; j++) d[j] = s[j] * mm[j];
        }
}

/* R [U, G*U] packed once per call for the per-step products
 * (ck_sgemm_packed: no packing inside the time loop, and 4-row tiles that
 * fit a batch of 32 exactly), in ck_rnn_packed_size(U, G) floats:
 *   ck_rnn_pack_r, for the forward's h R_g: gate g's R_g (columns
 *     gU..gU+U of R) as panels over its units at Rp + g * (Rp size / G);
 *   ck_rnn_pack_rt, for the backward's dz R^T: R^T [G*U, U] as panels
 *     over units.
 * Both return NULL (and pack nothing) without the micro-kernel; the
 * kernels then call ck_sgemm on R. Same bits either way whenever ck_sgemm
 * takes its micro-kernel for the shape. */
static inline int64_t ck_rnn_packed_size(int64_t U, int64_t G) {
    return G * ck_sgemm_packed_size(U, U);
}

static inline const float *ck_rnn_pack_r(float *Rp, const float *R, int64_t U,
                                         int64_t G) {
    if (!ck_sgemm_small_available()) return NULL;
    for (int64_t g = 0; g < G; g++)
        ck_sgemm_pack_b(Rp + g * ck_sgemm_packed_size(U, U), CK_NO_TRANS, U,
                        U, R + g * U, G * U);
    return Rp;
}

static inline const float *ck_rnn_pack_rt(float *Rp, const float *R, int64_t U,
                                          int64_t G) {
    if (!ck_sgemm_small_available()) return NULL;
    ck_sgemm_pack_b(Rp, CK_TRANS, G * U, U, R, G * U);
    return Rp;
}

/* The forward's product of gate g for units [u0, u1) over the whole
 * batch: z[:, 0:u1-u0] += h[N, U] @ R_g[:, u0:u1] (z: gate g's column u0
 * of row 0, rows ldz apart; h rows ldh apart; R [U, G*U]), from Rp packed
 * by ck_rnn_pack_r (u0 a multiple of 16) or, Rp NULL, ck_sgemm on R. */
static inline void ck_rnn_gate_product(float *z, int64_t ldz, const float *h,
                                       int64_t ldh, const float *R,
                                       const float *Rp, int64_t N, int64_t U,
                                       int64_t G, int64_t g, int64_t u0,
                                       int64_t u1) {
    if (Rp)
        ck_sgemm_packed(N, u1 - u0, U, 1.0f, h, ldh,
                        Rp + g * ck_sgemm_packed_size(U, U) + u0 * U, 16 * U,
                        1.0f, z, ldz);
    else
        ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, N, u1 - u0, U, 1.0f, h, ldh,
                 R + g * U + u0, G * U, 1.0f, z, ldz);
}

/* The backward's product through gates [g0, g0 + ng) for units [u0, u1):
 * dst[:, u0:u1] = beta * dst + dz[:, g0*U:(g0+ng)*U] @ R[u0:u1, same]^T
 * (dst rows lddst apart, dz rows lddz apart), from Rp packed by
 * ck_rnn_pack_rt (u0 a multiple of 16) or, Rp NULL, ck_sgemm on R. */
static inline void ck_rnn_gates_product_t(float *dst, int64_t lddst,
                                          const float *dz, int64_t lddz,
                                          const float *R, const float *Rp,
                                          int64_t N, int64_t U, int64_t G,
                                          int64_t g0, int64_t ng, int64_t u0,
                                          int64_t u1, float beta) {
    if (Rp)
        ck_sgemm_packed(N, u1 - u0, ng * U, 1.0f, dz + g0 * U, lddz,
                        Rp + u0 * G * U + g0 * U * 16, 16 * G * U, beta,
                        dst + u0, lddst);
    else
        ck_sgemm(CK_NO_TRANS, CK_TRANS, N, u1 - u0, ng * U, 1.0f, dz + g0 * U,
                 lddz, R + u0 * G * U + g0 * U, G * U, beta, dst + u0, lddst);
}

/* The part of dh that comes through the next step's first ng gates, for
 * the units [u0, u1): dh[:, u0:u1] += dz_t[:, 0:ng*U] @ R[u0:u1, 0:ng*U]^T
 * (dz_t: the next step's rows of dz [N, T, G*U], T*G*U apart; R [U, G*U];
 * dh [N, U]). With recurrent dropout gate by gate, dh[:, u0:u1] +=
 * rdmask[g] * (dz_g R_g[u0:u1]^T), the product through tmp [N, U]. One
 * product over the whole batch (serial inside a block): from Rp, R^T
 * packed by ck_rnn_pack_rt (u0 a multiple of 16), or NULL: ck_sgemm on R.
 */
static inline void ck_rnn_dh_from_next(float *dh, float *tmp,
                                       const float *dz_t, const float *R,
                                       const float *Rp,
                                       const float *rdmask, int64_t N,
                                       int64_t T, int64_t U, int64_t G,
                                       int64_t ng, int64_t u0, int64_t u1) {
    if (!rdmask) {
        ck_rnn_gates_product_t(dh, U, dz_t, T * G * U, R, Rp, N, U, G, 0, ng,
                               u0, u1, 1.0f);
        return;
    }
    for (int64_t g = 0; g < ng; g++) {
        ck_rnn_gates_product_t(tmp, U, dz_t, T * G * U, R, Rp, N, U, G, g, 1,
                               u0, u1, 0.0f);
        ck_rnn_mask_add(dh, tmp, rdmask + g * N * U, N, U, u0, u1);
    }
}

/* The gradient of the first ng gates' recurrent kernels: dR[:, 0:ng*U]
 * (row stride G*U) += hprev[N*T, U]^T @ dz[N*T, 0:ng*U] (dz row stride
 * G*U); with recurrent dropout gate by gate, dR_g += (hprev * rdmask[g])^T
 * @ dz_g, through the scratch hmt [N*T, U]. */
static inline void ck_rnn_recurrent_grad(float *dR, const float *hprev,
                                         const float *dz, const float *rdmask,
                                         float *hmt, int64_t N, int64_t T,
                                         int64_t U, int64_t G, int64_t ng) {
    if (!rdmask) {
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, ng * U, N * T, 1.0f, hprev, U, dz,
                 G * U, 1.0f, dR, G * U);
        return;
    }
    for (int64_t g = 0; g < ng; g++) {
        ck_rnn_mask_states(hmt, hprev, rdmask + g * N * U, N, T, U);
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, U, N * T, 1.0f, hmt, U, dz + g * U,
                 G * U, 1.0f, dR + g * U, G * U);
    }
}

/* gates[rows, GU] = b + x[rows, C] @ W[C, GU] (b [GU] or NULL: none; the
 * rows start as b, so the product adds into them and no later pass adds b);
 * W NULL: x is [rows, GU] (the caller's projection, C == GU), b + x. */
typedef struct {
    float *gates;
    const float *b;
    int64_t rows, GU, per;
} ck_rnn_bias_ctx;

static void ck_rnn_bias_rows(void *vctx, int64_t blk) {
    const ck_rnn_bias_ctx *c = (const ck_rnn_bias_ctx *)vctx;
    int64_t r1 = (blk + 1) * c->per < c->rows ? (blk + 1) * c->per : c->rows;
    for (int64_t r = blk * c->per; r < r1; r++)
        for (int64_t j = 0; j < c->GU; j++) c->gates[r * c->GU + j] = c->b[j];
}

static inline void ck_rnn_project_inputs(float *gates, const float *x,
                                         const float *W, const float *b,
                                         int64_t rows, int64_t C, int64_t GU) {
    if (b) { /* every row starts as b; the product adds into it */
        ck_rnn_bias_ctx c = {gates, b, rows, GU,
                             GU >= CK_ELEMENTWISE_BLOCK ? 1
                                                        : CK_ELEMENTWISE_BLOCK / GU};
        ck_parallel_for(ck_nblocks(rows, c.per), ck_rnn_bias_rows, &c);
    }
    if (W)
        ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, rows, GU, C, 1.0f, x, C, W, GU,
                 b ? 1.0f : 0.0f, gates, GU);
    else
        for (int64_t i = 0; i < rows * GU; i++)
            gates[i] = b ? gates[i] + x[i] : x[i];
}

/* Backward of ck_rnn_project_inputs: dW[C, GU] += x^T @ dz[rows, GU] and
 * dx[rows, C] += dz @ W^T (dx NULL: not wanted); W NULL: dx += dz, dW is
 * not touched. */
static inline void ck_rnn_project_inputs_backward(float *dx, float *dW,
                                                  const float *x,
                                                  const float *W,
                                                  const float *dz,
                                                  int64_t rows, int64_t C,
                                                  int64_t GU) {
    if (W) {
        ck_sgemm(CK_TRANS, CK_NO_TRANS, C, GU, rows, 1.0f, x, C, dz, GU,
                 1.0f, dW, GU);
        if (dx)
            ck_sgemm(CK_NO_TRANS, CK_TRANS, rows, C, GU, 1.0f, dz, GU, W, GU,
                     1.0f, dx, C);
    } else if (dx) {
        for (int64_t i = 0; i < rows * GU; i++) dx[i] += dz[i];
    }
}

#endif /* CK_RECURRENT_H */
