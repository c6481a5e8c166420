/*
 * rnn.c: Keras 2 SimpleRNN and GRU over a whole sequence, forward and
 * backward through time. Same plan and conventions as lstm.c (read its top
 * comment first): one GEMM x W for all steps, then per step and fixed
 * block of units the recurrent GEMM(s) over the whole batch and one fused
 * pass; the backward adds the product of the step after, dh[:, units] +=
 * dz_{s+1} R[units, :]^T, before each step's pass; masked steps keep the
 * previous state (and output it); go_backwards processes t = T-1 .. 0 and
 * writes hseq in processed order; every cache part is indexed by time t.
 *
 * Recurrent dropout (Keras 2's recurrent_dropout; rdmask [G, N, U], NULL:
 * none, the masks fixed for the whole sequence, h0 included): gate q's
 * recurrent product reads h_{s-1} * rdmask[q] instead of h_{s-1}, as in
 * lstm.c. Below m_q = rdmask[q], or 1 without rdmask.
 *
 * SimpleRNN (gates G = 1):
 *   y   = act(x_t W + (h_{s-1} * m_0) R + b)     h_s = y
 *   cache: y [N, T, U] (unmasked value), hprev [N, T, U],
 *          hm [2, N, U] (with rdmask: h * m_0 of the state the step
 *          reads, double-buffered by the parity of the step)
 *
 * GRU, Keras 2.0 form (reset_after=False; G = 3, gate order z, r, h):
 *   z   = ract(x_t W_z + b_z + (h_{s-1} * m_0) R_z)
 *   r   = ract(x_t W_r + b_r + (h_{s-1} * m_1) R_r)
 *   hh  = act(x_t W_h + b_h + (r * (h_{s-1} * m_2)) R_h)
 *   h_s = z * hc + (1 - z) * hh,  hc = h_{s-1}, or h_{s-1} * m_0 when
 *         rdcarry != 0 (Keras 2.2's GRUCell with implementation=2 rebinds
 *         h_tm1 to the masked state, so its update reads it too)
 *   cache: gates [N, T, 3U] (z, r, hh after activation), hprev [N, T, U],
 *          rh [N, T, U] (r * (h_{s-1} * m_2)),
 *          hm [2, N, U] (with rdmask: h * m_0, h * m_1 of the state the
 *          step reads; the first region of a step reads them, the second
 *          writes the next step's, so one buffer suffices)
 *
 * W NULL (every kernel here and in lstm.c): x is the input projection
 * x_t W itself, [N, T, G*U], made by the caller (e.g. with one input
 * dropout mask per gate); the kernels copy it instead of the GEMM, and
 * the backward adds dz into dx and leaves dW.
 *
 * Backward: dz (gradient of the pre-activations, [N, T, G*U]) for every
 * step in the workspace, then dW += x^T dz, dR += hprev^T dz (GRU: the h
 * columns use rh instead of hprev; with rdmask gate q's columns use
 * hprev * m_q), db += column sums, dx += dz W^T. With rdmask the product
 * of the step after adds m_q * (dz_q R_q^T) to dh, gate by gate.
 */
#include "ck_recurrent.h"

/* ================================ SimpleRNN =========================== */

int64_t ck_simple_rnn_cache_size(int64_t N, int64_t T, int64_t U) {
    return 2 * N * T * U + 2 * N * U + ck_rnn_packed_size(U, 1);
}

int64_t ck_simple_rnn_workspace_size(int64_t N, int64_t T, int64_t C,
                                     int64_t U) {
    (void)C;
    /* dz, dh, tmp, hmt, packed R^T */
    return 2 * N * T * U + 2 * N * U + ck_rnn_packed_size(U, 1);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t, tnext;
    int recur, act;
    const float *R, *Rp, *b, *mask, *rdmask; /* Rp: packed R or NULL */
    float *y, *hprev, *hm, *hseq, *hT;
} srnn_fwd_ctx;

CK_VECTOR_CLONES static void srnn_fwd_units(const srnn_fwd_ctx *k,
                                            int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *y = k->y + (n * T + t) * U + u0;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        float *hdst = (k->s == T - 1 ? k->hT + n * U
                                     : k->hprev + (n * T + k->tnext) * U) + u0;
        if (k->b)
            for (int64_t j = 0; j < nu; j++) y[j] += k->b[u0 + j];
        ck_rnn_activate(y, nu, k->act);
        int keep = !k->mask || k->mask[n * T + t] != 0.0f;
        const float *src = keep ? y : hp;
        for (int64_t j = 0; j < nu; j++) hdst[j] = src[j];
        if (k->hseq) {
            float *out = k->hseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) out[j] = src[j];
        }
        if (k->rdmask && k->s != T - 1) { /* what the next product reads */
            float *dst = k->hm + ((k->s + 1) & 1) * k->N * U + n * U + u0;
            const float *m = k->rdmask + n * U + u0;
            for (int64_t j = 0; j < nu; j++) dst[j] = hdst[j] * m[j];
        }
    }
}

static void srnn_fwd_block(void *vctx, int64_t blk) {
    const srnn_fwd_ctx *k = (const srnn_fwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U, t = k->t;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    /* y[:, t, u0:u1] += h[:, t] @ R[:, u0:u1], h = hprev or, with
     * recurrent dropout, hprev * rdmask[0] */
    if (k->recur)
        ck_rnn_gate_product(k->y + t * U + u0, T * U,
                            k->rdmask ? k->hm + (k->s & 1) * k->N * U
                                      : k->hprev + t * U,
                            k->rdmask ? U : T * U, k->R, k->Rp, k->N, U, 1, 0,
                            u0, u1);
    srnn_fwd_units(k, u0, u1);
}

void ck_simple_rnn_forward(float *hseq, float *hT, float *cache,
                           const float *x, const float *W, const float *R,
                           const float *b, const float *h0,
                           const float *mask, const float *rdmask, int64_t N,
                           int64_t T, int64_t C, int64_t U, int go_backwards,
                           int act) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    if (T <= 0) {
        for (int64_t j = 0; j < N * U; j++) hT[j] = h0 ? h0[j] : 0.0f;
        ck_ftz_restore(ftz);
        return;
    }
    float *y = cache, *hprev = y + N * T * U, *hm = hprev + N * T * U;
    float *Rp = hm + 2 * N * U;
    /* y[N*T, U] = x[N*T, C] @ W[C, U] (W NULL: x itself) */
    ck_rnn_project_inputs(y, x, W, NULL, N * T, C, U);
    int64_t t0 = go_backwards ? T - 1 : 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < U; j++)
            hprev[(n * T + t0) * U + j] = h0 ? h0[n * U + j] : 0.0f;
    if (rdmask && h0) /* hm[0] = h0 * rdmask[0] */
        for (int64_t j = 0; j < N * U; j++) hm[j] = h0[j] * rdmask[j];
    srnn_fwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 1), 0, 0, 0, 0,
                      act, R, ck_rnn_pack_r(Rp, R, U, 1), b, mask, rdmask, y,
                      hprev, hm, hseq, hT};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = 0; s < T; s++) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        k.tnext = go_backwards ? k.t - 1 : k.t + 1;
        k.recur = s > 0 || h0 != NULL;
        ck_parallel_for(nblocks, srnn_fwd_block, &k);
    }
    ck_ftz_restore(ftz);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t, tafter; /* as in lstm.c: step (-1: none), its time, the
                             time of step s + 1 (-1: none) */
    int act;
    const float *R, *Rp, *mask, *rdmask, *dhseq, *y; /* Rp: packed R^T */
    float *dz, *dh, *tmp; /* tmp [N, U] with rdmask */
} srnn_bwd_ctx;

CK_VECTOR_CLONES static void srnn_bwd_units(const srnn_bwd_ctx *k,
                                            int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *dh = k->dh + n * U + u0, *dz = k->dz + (n * T + t) * U + u0;
        if (k->dhseq) {
            const float *dout = k->dhseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) dh[j] += dout[j];
        }
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < nu; j++) dz[j] = 0.0f; /* dh passes */
            continue;
        }
        for (int64_t j = 0; j < nu; j++) {
            dz[j] = dh[j];
            dh[j] = 0.0f; /* all of dh_{s-1} comes through R (GEMM) */
        }
        ck_rnn_dactivate(dz, k->y + (n * T + t) * U + u0, nu, k->act);
    }
}

static void srnn_bwd_block(void *vctx, int64_t blk) {
    const srnn_bwd_ctx *k = (const srnn_bwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    if (k->tafter >= 0) /* dh[:, u0:u1] += dz[:, tafter] @ R[u0:u1, :]^T */
        ck_rnn_dh_from_next(k->dh, k->tmp, k->dz + k->tafter * U, k->R, k->Rp,
                            k->rdmask, k->N, T, U, 1, 1, u0, u1);
    if (k->s >= 0) srnn_bwd_units(k, u0, u1);
}

void ck_simple_rnn_backward(float *dx, float *dW, float *dR, float *db,
                            float *dh0, const float *dhseq, const float *dhT,
                            const float *x, const float *W, const float *R,
                            const float *mask, const float *rdmask,
                            const float *cache, int64_t N, int64_t T,
                            int64_t C, int64_t U, int go_backwards, int act,
                            float *workspace) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    const float *y = cache, *hprev = y + N * T * U;
    float *dz = workspace, *dh = dz + N * T * U, *tmp = dh + N * U;
    float *hmt = tmp + N * U, *Rp = hmt + N * T * U; /* hmt [N*T, U] */
    for (int64_t j = 0; j < N * U; j++) dh[j] = dhT ? dhT[j] : 0.0f;
    srnn_bwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 1), 0, 0, -1,
                      act, R, ck_rnn_pack_rt(Rp, R, U, 1), mask, rdmask,
                      dhseq, y, dz, dh, tmp};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = T - 1; s >= -1; s--) {
        if (s < 0 && T <= 0) break;
        k.tafter = s == T - 1 ? -1 : k.t;
        k.s = s;
        k.t = s < 0 ? -1 : go_backwards ? T - 1 - s : s;
        ck_parallel_for(nblocks, srnn_bwd_block, &k);
    }
    if (dh0)
        for (int64_t j = 0; j < N * U; j++) dh0[j] += dh[j];
    if (T > 0) {
        ck_rnn_project_inputs_backward(dx, dW, x, W, dz, N * T, C, U);
        /* dR[U, U] += h[N*T, U]^T @ dz[N*T, U], h = hprev or, with
         * recurrent dropout, hprev * rdmask[0] */
        ck_rnn_recurrent_grad(dR, hprev, dz, rdmask, hmt, N, T, U, 1, 1);
        if (db) ck_rnn_colsum_add(db, dz, N * T, U);
    }
    ck_ftz_restore(ftz);
}

/* =================================== GRU ============================== */

int64_t ck_gru_cache_size(int64_t N, int64_t T, int64_t U) {
    return 5 * N * T * U + 2 * N * U + ck_rnn_packed_size(U, 3);
}

int64_t ck_gru_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U) {
    (void)C;
    /* dz, dh, drh, hmt, packed R^T */
    return 4 * N * T * U + 2 * N * U + ck_rnn_packed_size(U, 3);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t, tnext;
    int recur, act, ract, rdcarry;
    const float *R, *Rp, *b, *mask, *rdmask; /* Rp: packed R or NULL */
    float *gates, *hprev, *rh, *hm, *hseq, *hT;
} gru_fwd_ctx;

/* z, r and r * (h_{s-1} * m_2) of units [u0, u1) of every row. */
CK_VECTOR_CLONES static void gru_fwd_units_zr(const gru_fwd_ctx *k,
                                              int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *z = k->gates + (n * T + t) * 3 * U + u0, *r = z + U;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        float *rh = k->rh + (n * T + t) * U + u0;
        if (k->b) { /* one loop per gate: gcc vectorizes each */
            for (int64_t j = 0; j < nu; j++) z[j] += k->b[u0 + j];
            for (int64_t j = 0; j < nu; j++) r[j] += k->b[U + u0 + j];
        }
        ck_rnn_activate(z, nu, k->ract);
        ck_rnn_activate(r, nu, k->ract);
        if (k->rdmask) {
            const float *m2 = k->rdmask + (2 * k->N + n) * U + u0;
            for (int64_t j = 0; j < nu; j++) rh[j] = r[j] * (hp[j] * m2[j]);
        } else {
            for (int64_t j = 0; j < nu; j++) rh[j] = r[j] * hp[j];
        }
    }
}

/* hh and the new state of units [u0, u1) of every row. */
CK_VECTOR_CLONES static void gru_fwd_units_h(const gru_fwd_ctx *k,
                                             int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *zg = k->gates + (n * T + t) * 3 * U + u0;
        float *hh = zg + 2 * U;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        float *hdst = (k->s == T - 1 ? k->hT + n * U
                                     : k->hprev + (n * T + k->tnext) * U) + u0;
        const float *m0 = k->rdmask ? k->rdmask + n * U + u0 : NULL;
        if (k->b)
            for (int64_t j = 0; j < nu; j++) hh[j] += k->b[2 * U + u0 + j];
        ck_rnn_activate(hh, nu, k->act);
        int keep = !k->mask || k->mask[n * T + t] != 0.0f;
        if (keep && m0 && k->rdcarry) /* the carry reads h * m_0 too */
            for (int64_t j = 0; j < nu; j++)
                hdst[j] = zg[j] * (hp[j] * m0[j]) + (1.0f - zg[j]) * hh[j];
        else if (keep)
            for (int64_t j = 0; j < nu; j++)
                hdst[j] = zg[j] * hp[j] + (1.0f - zg[j]) * hh[j];
        else
            for (int64_t j = 0; j < nu; j++) hdst[j] = hp[j];
        if (k->hseq) {
            float *out = k->hseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) out[j] = hdst[j];
        }
        if (m0 && k->s != T - 1) /* what the next step's z, r products read */
            for (int64_t q = 0; q < 2; q++) {
                float *dst = k->hm + (q * k->N + n) * U + u0;
                const float *m = k->rdmask + (q * k->N + n) * U + u0;
                for (int64_t j = 0; j < nu; j++) dst[j] = hdst[j] * m[j];
            }
    }
}

/* First region of a step: z and r of the block's units (their products
 * need only h_{s-1}) and r * (h_{s-1} * m_2). */
static void gru_fwd_block_zr(void *vctx, int64_t blk) {
    const gru_fwd_ctx *k = (const gru_fwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U, t = k->t;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    /* z, r [:, t, units] += h[:, t] @ R[:, z, r cols], h = hprev or, with
     * recurrent dropout, h * m_g (hm[g]) */
    if (k->recur)
        for (int64_t g = 0; g < 2; g++)
            ck_rnn_gate_product(k->gates + t * 3 * U + g * U + u0, T * 3 * U,
                                k->rdmask ? k->hm + g * k->N * U
                                          : k->hprev + t * U,
                                k->rdmask ? U : T * U, k->R, k->Rp, k->N, U,
                                3, g, u0, u1);
    gru_fwd_units_zr(k, u0, u1);
}

/* Second region (needs every unit of r * h_{s-1}): hh and the state. */
static void gru_fwd_block_h(void *vctx, int64_t blk) {
    const gru_fwd_ctx *k = (const gru_fwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U, t = k->t;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    if (k->recur) /* hh[:, t, units] += rh[:, t] @ R[:, 2U + units] */
        ck_rnn_gate_product(k->gates + t * 3 * U + 2 * U + u0, T * 3 * U,
                            k->rh + t * U, T * U, k->R, k->Rp, k->N, U, 3, 2,
                            u0, u1);
    gru_fwd_units_h(k, u0, u1);
}

void ck_gru_forward(float *hseq, float *hT, float *cache, const float *x,
                    const float *W, const float *R, const float *b,
                    const float *h0, const float *mask, const float *rdmask,
                    int64_t N, int64_t T, int64_t C, int64_t U,
                    int go_backwards, int act, int ract, int rdcarry) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    if (T <= 0) {
        for (int64_t j = 0; j < N * U; j++) hT[j] = h0 ? h0[j] : 0.0f;
        ck_ftz_restore(ftz);
        return;
    }
    float *gates = cache, *hprev = gates + 3 * N * T * U;
    float *rh = hprev + N * T * U, *hm = rh + N * T * U;
    float *Rp = hm + 2 * N * U;
    /* gates[N*T, 3U] = x[N*T, C] @ W[C, 3U] (W NULL: x itself) */
    ck_rnn_project_inputs(gates, x, W, NULL, N * T, C, 3 * U);
    int64_t t0 = go_backwards ? T - 1 : 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < U; j++)
            hprev[(n * T + t0) * U + j] = h0 ? h0[n * U + j] : 0.0f;
    if (rdmask && h0) /* hm[q] = h0 * rdmask[q], q = z, r */
        for (int64_t j = 0; j < 2 * N * U; j++)
            hm[j] = h0[j % (N * U)] * rdmask[j];
    gru_fwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 3), 0, 0, 0, 0,
                     act, ract, rdcarry, R, ck_rnn_pack_r(Rp, R, U, 3), b, mask,
                     rdmask, gates, hprev, rh, hm, hseq, hT};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = 0; s < T; s++) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        k.tnext = go_backwards ? k.t - 1 : k.t + 1;
        k.recur = s > 0 || h0 != NULL;
        ck_parallel_for(nblocks, gru_fwd_block_zr, &k);
        ck_parallel_for(nblocks, gru_fwd_block_h, &k);
    }
    ck_ftz_restore(ftz);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t, tafter; /* as in lstm.c */
    int act, ract, rdcarry;
    const float *R, *Rp, *mask, *rdmask, *dhseq; /* Rp: packed R^T or NULL */
    const float *gates, *hprev;
    float *dz, *dh, *drh; /* dz [N, T, 3U]; dh, drh [N, U] */
} gru_bwd_ctx;

/* From dh (state after step s): dz of z and hh, the direct part z * dh
 * (with rdcarry z * m_0 * dh) of dh_{s-1}; units [u0, u1) of every row. */
CK_VECTOR_CLONES static void gru_bwd_units_zh(const gru_bwd_ctx *k,
                                              int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *dh = k->dh + n * U + u0;
        float *dz = k->dz + (n * T + t) * 3 * U + u0, *dzh = dz + 2 * U;
        if (k->dhseq) {
            const float *dout = k->dhseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) dh[j] += dout[j];
        }
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < nu; j++) dz[j] = dzh[j] = 0.0f;
            continue; /* dh passes */
        }
        const float *z = k->gates + (n * T + t) * 3 * U + u0, *hh = z + 2 * U;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        if (k->rdmask && k->rdcarry) {
            /* h = z (h_prev m_0) + (1 - z) hh */
            const float *m0 = k->rdmask + n * U + u0;
            for (int64_t j = 0; j < nu; j++) {
                dz[j] = dh[j] * (hp[j] * m0[j] - hh[j]);
                dzh[j] = dh[j] * (1.0f - z[j]);
                dh[j] = dh[j] * z[j] * m0[j];
            }
        } else {
            /* h = z h_prev + (1 - z) hh */
            for (int64_t j = 0; j < nu; j++) {
                dz[j] = dh[j] * (hp[j] - hh[j]);
                dzh[j] = dh[j] * (1.0f - z[j]);
                dh[j] = dh[j] * z[j];
            }
        }
        ck_rnn_dactivate(dz, z, nu, k->ract);
        ck_rnn_dactivate(dzh, hh, nu, k->act);
    }
}

/* From drh = d(r * (h_prev * m_2)): dz of r and the part r * m_2 * drh
 * of dh_{s-1}. */
CK_VECTOR_CLONES static void gru_bwd_units_r(const gru_bwd_ctx *k,
                                             int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *dzr = k->dz + (n * T + t) * 3 * U + U + u0;
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < nu; j++) dzr[j] = 0.0f;
            continue;
        }
        const float *r = k->gates + (n * T + t) * 3 * U + U + u0;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        const float *drh = k->drh + n * U + u0;
        float *dh = k->dh + n * U + u0;
        if (k->rdmask) {
            const float *m2 = k->rdmask + (2 * k->N + n) * U + u0;
            for (int64_t j = 0; j < nu; j++) {
                dzr[j] = drh[j] * (hp[j] * m2[j]);
                dh[j] += drh[j] * r[j] * m2[j];
            }
        } else {
            for (int64_t j = 0; j < nu; j++) {
                dzr[j] = drh[j] * hp[j];
                dh[j] += drh[j] * r[j];
            }
        }
        ck_rnn_dactivate(dzr, r, nu, k->ract);
    }
}

/* First region of step s: dh[:, units] += dz_zr(s+1) R[units, 0:2U]^T
 * (with rdmask, gate by gate: += m_g * (dz_g(s+1) R[units, g cols]^T),
 * drh as the scratch of the product), then dz of z and hh. */
static void gru_bwd_block_zh(void *vctx, int64_t blk) {
    const gru_bwd_ctx *k = (const gru_bwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    if (k->tafter >= 0)
        ck_rnn_dh_from_next(k->dh, k->drh, k->dz + k->tafter * 3 * U, k->R,
                            k->Rp, k->rdmask, k->N, T, U, 3, 2, u0, u1);
    if (k->s >= 0) gru_bwd_units_zh(k, u0, u1);
}

/* Second region (needs every unit of dz_h): drh[:, units] = dz_h
 * R[units, 2U:3U]^T, then dz of r. */
static void gru_bwd_block_r(void *vctx, int64_t blk) {
    const gru_bwd_ctx *k = (const gru_bwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    ck_rnn_gates_product_t(k->drh, U, k->dz + k->t * 3 * U, T * 3 * U, k->R,
                           k->Rp, k->N, U, 3, 2, 1, u0, u1, 0.0f);
    gru_bwd_units_r(k, u0, u1);
}

void ck_gru_backward(float *dx, float *dW, float *dR, float *db, float *dh0,
                     const float *dhseq, const float *dhT, const float *x,
                     const float *W, const float *R, const float *mask,
                     const float *rdmask, const float *cache, int64_t N,
                     int64_t T, int64_t C, int64_t U, int go_backwards,
                     int act, int ract, int rdcarry, float *workspace) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    const float *gates = cache, *hprev = gates + 3 * N * T * U;
    const float *rh = hprev + N * T * U;
    float *dz = workspace, *dh = dz + 3 * N * T * U, *drh = dh + N * U;
    float *hmt = drh + N * U, *Rp = hmt + N * T * U; /* hmt [N*T, U] */
    for (int64_t j = 0; j < N * U; j++) dh[j] = dhT ? dhT[j] : 0.0f;
    gru_bwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 3), 0, 0, -1,
                     act, ract, rdcarry, R, ck_rnn_pack_rt(Rp, R, U, 3), mask,
                     rdmask, dhseq, gates, hprev, dz, dh, drh};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = T - 1; s >= -1; s--) {
        if (s < 0 && T <= 0) break;
        k.tafter = s == T - 1 ? -1 : k.t;
        k.s = s;
        k.t = s < 0 ? -1 : go_backwards ? T - 1 - s : s;
        ck_parallel_for(nblocks, gru_bwd_block_zh, &k);
        if (s >= 0) ck_parallel_for(nblocks, gru_bwd_block_r, &k);
    }
    if (dh0)
        for (int64_t j = 0; j < N * U; j++) dh0[j] += dh[j];
    if (T > 0) {
        ck_rnn_project_inputs_backward(dx, dW, x, W, dz, N * T, C, 3 * U);
        /* dR[:, 0:2U] += hprev^T dz[:, 0:2U] (with recurrent dropout
         * dR_g += (hprev * m_g)^T dz_g, gate by gate); dR[:, 2U:] +=
         * rh^T dz_h */
        ck_rnn_recurrent_grad(dR, hprev, dz, rdmask, hmt, N, T, U, 3, 2);
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, U, N * T, 1.0f, rh, U, dz + 2 * U,
                 3 * U, 1.0f, dR + 2 * U, 3 * U);
        if (db) ck_rnn_colsum_add(db, dz, N * T, 3 * U);
    }
    ck_ftz_restore(ftz);
}
