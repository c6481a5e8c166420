/*
 * lstm.c: a Keras 2 LSTM over a whole sequence, forward and backward
 * through time.
 *
 * Math (per processed step s over time t = go_backwards ? T-1-s : s;
 * gate order i, f, c, o in every weight, as Keras 2 stores them;
 * act = activation, ract = recurrent_activation):
 *   z   = (b + x_t W) + h_{s-1} R                    [N, 4U]
 *   i   = ract(z_i)   f = ract(z_f)   g = act(z_c)   o = ract(z_o)
 *   c_s = f * c_{s-1} + i * g
 *   h_s = o * act(c_s)
 * Recurrent dropout (rdmask [4, N, U], NULL: none; Keras 2's
 * recurrent_dropout, the masks fixed for the whole sequence): gate q's
 * product reads h_{s-1} * rdmask[q] instead of h_{s-1}:
 *   z_q = x_t W_q + (h_{s-1} * rdmask[q]) R_q + b_q.
 * A masked step (mask[n, t] == 0) keeps the previous state: h_s = h_{s-1},
 * c_s = c_{s-1}; its output hseq[n, s] is that kept h (Keras 2's K.rnn).
 * Outputs are in processed order (Keras 2 with go_backwards).
 *
 * Layout (row-major float32):
 *   x     [N, T, C]     W [C, 4U]   R [U, 4U]   b [4U] (NULL: no bias)
 *         W NULL: x is the input projection x_t W itself ([N, T, 4U], made
 *         by the caller, e.g. with one input dropout mask per gate): it is
 *         copied, and the backward adds dz into dx and leaves dW.
 *   h0,c0 [N, U] (NULL: zeros)      mask [N, T] (NULL: every step kept)
 *   hseq  [N, T, U] (NULL: not wanted)   hT, cT [N, U]
 *   cache (ck_lstm_cache_size floats), every part indexed by TIME t:
 *     gates [N, T, 4U]  i, f, g, o after their activations
 *     hprev [N, T, U]   h before the step that reads x_t
 *     cprev [N, T, U]   c before that step
 *     actc  [N, T, U]   act(c) computed at that step (unmasked value)
 *     hm    [2, 4, N, U] forward scratch with rdmask: h * rdmask[q] of
 *                       the state the step reads, double-buffered by the
 *                       parity of the step
 *     Rp    R packed for the per-step products (ck_rnn_pack_r)
 *
 * Forward: gates = b + x W for all steps, one GEMM adding into rows
 * that start as b (x viewed as [N*T, C]);
 * then per step, for fixed blocks of units [u0, u1) on the pool
 * (ck_rnn_units_per_block), one recurrent GEMM per gate over the whole
 * batch, gates[:, t, gate cols of u0..u1] += hprev[:, t] R[:, same cols]
 * (serial inside the block), and one fused pass over those units
 * (activations, cell, hidden, mask). A thread reads only its units' columns
 * of R, every step.
 *
 * Backward through time, reusing the saved gates: per step and unit
 * block, first the product of the step after it, dh[:, u0:u1] +=
 * dz_{s+1} R[u0:u1, :]^T (one GEMM over the whole batch and all 4U gate
 * columns: it needs every block's dz_{s+1}, hence one pool region per
 * step), then one fused pass turning dh, dc into dz (the gradient of z,
 * kept for all steps in the workspace); a last region adds dz_0 R^T for
 * dh0. After the loop, one GEMM each for dW += x^T dz, dR += hprev^T dz,
 * dx += dz W^T, and db += column sums of dz. Every d* output is
 * accumulated (+=).
 */
#include "ck_recurrent.h"

int64_t ck_lstm_cache_size(int64_t N, int64_t T, int64_t U) {
    return 7 * N * T * U + 8 * N * U + ck_rnn_packed_size(U, 4);
}

int64_t ck_lstm_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U) {
    (void)C;
    /* dz, dh, dc, tmp, hmt, packed R^T */
    return 5 * N * T * U + 3 * N * U + ck_rnn_packed_size(U, 4);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t, tnext; /* processed step, its time, next step's time */
    int recur;           /* 0: the state is the zero h0, skip its GEMM */
    int act, ract;
    const float *R, *Rp, *mask, *rdmask; /* Rp: packed R or NULL */
    float *gates, *hprev, *cprev, *actc, *hm; /* cache parts */
    float *hseq, *hT, *cT;
} lstm_fwd_ctx;

/* Bias, activations, cell and hidden state of units [u0, u1) of every row
 * at step s. */
CK_VECTOR_CLONES static void lstm_fwd_units(const lstm_fwd_ctx *k,
                                            int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    const int last = k->s == T - 1;
    for (int64_t n = 0; n < k->N; n++) {
        float *z = k->gates + (n * T + t) * 4 * U + u0; /* gate g at g*U */
        float *i = z, *f = z + U, *g = z + 2 * U, *o = z + 3 * U;
        const float *hp = k->hprev + (n * T + t) * U + u0;
        const float *cp = k->cprev + (n * T + t) * U + u0;
        float *ac = k->actc + (n * T + t) * U + u0;
        float *hdst = (last ? k->hT + n * U : k->hprev + (n * T + k->tnext) * U)
                      + u0;
        float *cdst = (last ? k->cT + n * U : k->cprev + (n * T + k->tnext) * U)
                      + u0;
        ck_rnn_activate(i, nu, k->ract);
        ck_rnn_activate(f, nu, k->ract);
        ck_rnn_activate(g, nu, k->act);
        ck_rnn_activate(o, nu, k->ract);
        for (int64_t j = 0; j < nu; j++) ac[j] = f[j] * cp[j] + i[j] * g[j];
        int keep = !k->mask || k->mask[n * T + t] != 0.0f;
        if (keep)
            for (int64_t j = 0; j < nu; j++) cdst[j] = ac[j];
        else
            for (int64_t j = 0; j < nu; j++) cdst[j] = cp[j];
        ck_rnn_activate(ac, nu, k->act);
        if (keep)
            for (int64_t j = 0; j < nu; j++) hdst[j] = o[j] * ac[j];
        else
            for (int64_t j = 0; j < nu; j++) hdst[j] = hp[j];
        if (k->hseq) {
            float *out = k->hseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) out[j] = hdst[j];
        }
        if (k->rdmask && !last) /* what the next step's products read */
            for (int64_t q = 0; q < 4; q++) {
                float *dst = k->hm + (((k->s + 1) & 1) * 4 + q) * k->N * U
                             + n * U + u0;
                const float *m = k->rdmask + (q * k->N + n) * U + u0;
                for (int64_t j = 0; j < nu; j++) dst[j] = hdst[j] * m[j];
            }
    }
}

static void lstm_fwd_block(void *vctx, int64_t blk) {
    const lstm_fwd_ctx *k = (const lstm_fwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U, t = k->t;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    /* gates[:, t, gU+u0 : gU+u1] += h[:, t] @ R[:, same], h = hprev or,
     * with recurrent dropout, hprev * rdmask[g] */
    if (k->recur)
        for (int64_t g = 0; g < 4; g++) {
            const float *h = k->rdmask
                ? k->hm + ((k->s & 1) * 4 + g) * k->N * U : k->hprev + t * U;
            ck_rnn_gate_product(k->gates + t * 4 * U + g * U + u0, T * 4 * U,
                                h, k->rdmask ? U : T * U, k->R, k->Rp, k->N,
                                U, 4, g, u0, u1);
        }
    lstm_fwd_units(k, u0, u1);
}

void ck_lstm_forward(float *hseq, float *hT, float *cT, float *cache,
                     const float *x, const float *W, const float *R,
                     const float *b, const float *h0, const float *c0,
                     const float *mask, const float *rdmask, int64_t N,
                     int64_t T, int64_t C, int64_t U, int go_backwards,
                     int act, int ract) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    if (T <= 0) {
        for (int64_t j = 0; j < N * U; j++) {
            hT[j] = h0 ? h0[j] : 0.0f;
            cT[j] = c0 ? c0[j] : 0.0f;
        }
        ck_ftz_restore(ftz);
        return;
    }
    float *gates = cache, *hprev = gates + 4 * N * T * U;
    float *cprev = hprev + N * T * U, *actc = cprev + N * T * U;
    float *hm = actc + N * T * U, *Rp = hm + 8 * N * U;
    /* gates[N*T, 4U] = x[N*T, C] @ W[C, 4U] (W NULL: x itself) */
    ck_rnn_project_inputs(gates, x, W, b, N * T, C, 4 * U);
    int64_t t0 = go_backwards ? T - 1 : 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < U; j++) {
            hprev[(n * T + t0) * U + j] = h0 ? h0[n * U + j] : 0.0f;
            cprev[(n * T + t0) * U + j] = c0 ? c0[n * U + j] : 0.0f;
        }
    if (rdmask && h0) /* hm[0][q] = h0 * rdmask[q] */
        for (int64_t j = 0; j < 4 * N * U; j++)
            hm[j] = h0[j % (N * U)] * rdmask[j];
    lstm_fwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 4), 0, 0, 0, 0,
                      act, ract, R, ck_rnn_pack_r(Rp, R, U, 4), mask, rdmask,
                      gates, hprev, cprev, actc, hm, hseq, hT, cT};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = 0; s < T; s++) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        k.tnext = go_backwards ? k.t - 1 : k.t + 1;
        k.recur = s > 0 || h0 != NULL;
        ck_parallel_for(nblocks, lstm_fwd_block, &k);
    }
    ck_ftz_restore(ftz);
}

typedef struct {
    int64_t N, T, U, ub;
    int64_t s, t;   /* processed step (-1: none, only the product), time */
    int64_t tafter; /* time of step s + 1 (-1: none, no product) */
    int act, ract;
    const float *R, *Rp, *mask, *rdmask, *dhseq; /* Rp: packed R^T or NULL */
    const float *gates, *cprev, *actc; /* cache parts */
    float *dz;                         /* [N, T, 4U] */
    float *dh, *dc;                    /* [N, U] carries: d of the state */
    float *tmp;                        /* [N, U] with rdmask */
} lstm_bwd_ctx;

/* dz of units [u0, u1) of every row at step s from the carried dh, dc
 * (the gradient of the state after step s); leaves in dh, dc the part of
 * the gradient of the state before step s that does not go through R. */
CK_VECTOR_CLONES static void lstm_bwd_units(const lstm_bwd_ctx *k,
                                            int64_t u0, int64_t u1) {
    const int64_t T = k->T, U = k->U, t = k->t, nu = u1 - u0;
    for (int64_t n = 0; n < k->N; n++) {
        float *dh = k->dh + n * U + u0, *dc = k->dc + n * U + u0;
        float *dz = k->dz + (n * T + t) * 4 * U + u0; /* gate g at g*U */
        float *dzi = dz, *dzf = dz + U, *dzg = dz + 2 * U, *dzo = dz + 3 * U;
        if (k->dhseq) {
            const float *dout = k->dhseq + (n * T + k->s) * U + u0;
            for (int64_t j = 0; j < nu; j++) dh[j] += dout[j];
        }
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            /* masked: h_s = h_{s-1}, c_s = c_{s-1}; dh, dc pass through */
            for (int64_t j = 0; j < nu; j++)
                dzi[j] = dzf[j] = dzg[j] = dzo[j] = 0.0f;
            continue;
        }
        const float *gt = k->gates + (n * T + t) * 4 * U + u0;
        const float *i = gt, *f = gt + U, *g = gt + 2 * U, *o = gt + 3 * U;
        const float *cp = k->cprev + (n * T + t) * U + u0;
        const float *ac = k->actc + (n * T + t) * U + u0;
        /* h = o * act(c): do = dh act(c); d act(c) = dh o */
        for (int64_t j = 0; j < nu; j++) {
            dzo[j] = dh[j] * ac[j];
            dzg[j] = dh[j] * o[j];
        }
        ck_rnn_dactivate(dzg, ac, nu, k->act); /* dc through act(c) */
        /* c = f c_prev + i g */
        for (int64_t j = 0; j < nu; j++) {
            float dcj = dc[j] + dzg[j];
            dzi[j] = dcj * g[j];
            dzg[j] = dcj * i[j];
            dzf[j] = dcj * cp[j];
            dc[j] = dcj * f[j];
            dh[j] = 0.0f; /* all of dh_{s-1} comes through R (GEMM) */
        }
        ck_rnn_dactivate(dzi, i, nu, k->ract);
        ck_rnn_dactivate(dzf, f, nu, k->ract);
        ck_rnn_dactivate(dzg, g, nu, k->act);
        ck_rnn_dactivate(dzo, o, nu, k->ract);
    }
}

static void lstm_bwd_block(void *vctx, int64_t blk) {
    const lstm_bwd_ctx *k = (const lstm_bwd_ctx *)vctx;
    const int64_t T = k->T, U = k->U;
    int64_t u0 = blk * k->ub, u1 = u0 + k->ub < U ? u0 + k->ub : U;
    if (k->tafter >= 0) /* dh[:, u0:u1] += dz[:, tafter] @ R[u0:u1, :]^T */
        ck_rnn_dh_from_next(k->dh, k->tmp, k->dz + k->tafter * 4 * U, k->R,
                            k->Rp, k->rdmask, k->N, T, U, 4, 4, u0, u1);
    if (k->s >= 0) lstm_bwd_units(k, u0, u1);
}

void ck_lstm_backward(float *dx, float *dW, float *dR, float *db, float *dh0,
                      float *dc0, const float *dhseq, const float *dhT,
                      const float *dcT, const float *x, const float *W,
                      const float *R, const float *mask, const float *rdmask,
                      const float *cache, int64_t N, int64_t T, int64_t C,
                      int64_t U, int go_backwards, int act, int ract,
                      float *workspace) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    const float *gates = cache, *hprev = gates + 4 * N * T * U;
    const float *cprev = hprev + N * T * U, *actc = cprev + N * T * U;
    float *dz = workspace, *dh = dz + 4 * N * T * U, *dc = dh + N * U;
    float *tmp = dc + N * U, *hmt = tmp + N * U; /* hmt [N*T, U] */
    float *Rp = hmt + N * T * U;
    for (int64_t j = 0; j < N * U; j++) {
        dh[j] = dhT ? dhT[j] : 0.0f;
        dc[j] = dcT ? dcT[j] : 0.0f;
    }
    lstm_bwd_ctx k = {N, T, U, ck_rnn_units_per_block(N, U, 4), 0, 0, -1,
                      act, ract, R, ck_rnn_pack_rt(Rp, R, U, 4), mask, rdmask,
                      dhseq, gates, cprev, actc, dz, dh, dc, tmp};
    int64_t nblocks = ck_nblocks(U, k.ub);
    for (int64_t s = T - 1; s >= -1; s--) {
        if (s < 0 && T <= 0) break;
        k.tafter = s == T - 1 ? -1 : k.t; /* the time of step s + 1 */
        k.s = s;
        k.t = s < 0 ? -1 : go_backwards ? T - 1 - s : s;
        ck_parallel_for(nblocks, lstm_bwd_block, &k);
    }
    if (dh0)
        for (int64_t j = 0; j < N * U; j++) dh0[j] += dh[j];
    if (dc0)
        for (int64_t j = 0; j < N * U; j++) dc0[j] += dc[j];
    if (T > 0) {
        /* dW[C, 4U] += x[N*T, C]^T @ dz[N*T, 4U], dx[N*T, C] += dz @ W^T
         * (W NULL: dx += dz) */
        ck_rnn_project_inputs_backward(dx, dW, x, W, dz, N * T, C, 4 * U);
        /* dR[U, 4U] += hprev[N*T, U]^T @ dz[N*T, 4U]; with recurrent
         * dropout dR_g += (hprev * rdmask[g])^T @ dz_g, gate by gate */
        ck_rnn_recurrent_grad(dR, hprev, dz, rdmask, hmt, N, T, U, 4, 4);
        if (db) ck_rnn_colsum_add(db, dz, N * T, 4 * U);
    }
    ck_ftz_restore(ftz);
}
