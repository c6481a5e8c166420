/*
 * rnn.c: Keras 2 SimpleRNN and GRU over a whole sequence, forward and
 * backward through time. Same plan and conventions as lstm.c (read its top
 * comment first): one GEMM x W for all steps, then per step and fixed row
 * block the recurrent GEMM(s) and one fused pass; masked steps keep the
 * previous state (and output it); go_backwards processes t = T-1 .. 0 and
 * writes hseq in processed order; every cache part is indexed by time t.
 *
 * SimpleRNN (gates G = 1):
 *   y   = act(x_t W + h_{s-1} R + b)     h_s = y
 *   cache: y [N, T, U] (unmasked value), hprev [N, T, U]
 *
 * GRU, Keras 2.0 form (reset_after=False; G = 3, gate order z, r, h):
 *   z   = ract(x_t W_z + b_z + h_{s-1} R_z)
 *   r   = ract(x_t W_r + b_r + h_{s-1} R_r)
 *   hh  = act(x_t W_h + b_h + (r * h_{s-1}) R_h)
 *   h_s = z * h_{s-1} + (1 - z) * hh
 *   cache: gates [N, T, 3U] (z, r, hh after activation), hprev [N, T, U],
 *          rh [N, T, U] (r * h_{s-1})
 *
 * Backward: dz (gradient of the pre-activations, [N, T, G*U]) for every
 * step in the workspace, then dW += x^T dz, dR += hprev^T dz (GRU: the h
 * columns use rh instead of hprev), db += column sums, dx += dz W^T.
 */
#include "ck_recurrent.h"

/* ================================ SimpleRNN =========================== */

int64_t ck_simple_rnn_cache_size(int64_t N, int64_t T, int64_t U) {
    return 2 * N * T * U;
}

int64_t ck_simple_rnn_workspace_size(int64_t N, int64_t T, int64_t C,
                                     int64_t U) {
    (void)C;
    return N * T * U + N * U;
}

typedef struct {
    int64_t N, T, U, rows;
    int64_t s, t, tnext;
    int recur, act;
    const float *R, *b, *mask;
    float *y, *hprev, *hseq, *hT;
} srnn_fwd_ctx;

CK_VECTOR_CLONES static void srnn_fwd_rows(const srnn_fwd_ctx *k, int64_t r0,
                                           int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *y = k->y + (n * T + t) * U;
        const float *hp = k->hprev + (n * T + t) * U;
        float *hdst = k->s == T - 1 ? k->hT + n * U
                                    : k->hprev + (n * T + k->tnext) * U;
        if (k->b)
            for (int64_t j = 0; j < U; j++) y[j] += k->b[j];
        ck_rnn_activate(y, U, k->act);
        int keep = !k->mask || k->mask[n * T + t] != 0.0f;
        const float *src = keep ? y : hp;
        for (int64_t j = 0; j < U; j++) hdst[j] = src[j];
        if (k->hseq) {
            float *out = k->hseq + (n * T + k->s) * U;
            for (int64_t j = 0; j < U; j++) out[j] = src[j];
        }
    }
}

static void srnn_fwd_block(void *vctx, int64_t blk) {
    const srnn_fwd_ctx *k = (const srnn_fwd_ctx *)vctx;
    int64_t r0 = blk * k->rows;
    int64_t r1 = r0 + k->rows < k->N ? r0 + k->rows : k->N;
    const int64_t T = k->T, U = k->U, t = k->t;
    if (k->recur) /* y[r0:r1, t] += hprev[r0:r1, t] @ R */
        ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, r1 - r0, U, U, 1.0f,
                 k->hprev + (r0 * T + t) * U, T * U, k->R, U, 1.0f,
                 k->y + (r0 * T + t) * U, T * U);
    srnn_fwd_rows(k, r0, r1);
}

void ck_simple_rnn_forward(float *hseq, float *hT, float *cache,
                           const float *x, const float *W, const float *R,
                           const float *b, const float *h0,
                           const float *mask, int64_t N, int64_t T,
                           int64_t C, int64_t U, int go_backwards, int act) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    if (T <= 0) {
        for (int64_t j = 0; j < N * U; j++) hT[j] = h0 ? h0[j] : 0.0f;
        ck_ftz_restore(ftz);
        return;
    }
    float *y = cache, *hprev = y + N * T * U;
    /* y[N*T, U] = x[N*T, C] @ W[C, U] */
    ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, N * T, U, C, 1.0f, x, C, W, U, 0.0f,
             y, U);
    int64_t t0 = go_backwards ? T - 1 : 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < U; j++)
            hprev[(n * T + t0) * U + j] = h0 ? h0[n * U + j] : 0.0f;
    srnn_fwd_ctx k = {N, T, U, ck_rnn_rows_per_block(N, U, 1), 0, 0, 0, 0,
                      act, R, b, mask, y, hprev, hseq, hT};
    int64_t nblocks = ck_nblocks(N, k.rows);
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
    int64_t N, T, U, rows;
    int64_t s, t;
    int act;
    const float *R, *mask, *dhseq, *y;
    float *dz, *dh;
} srnn_bwd_ctx;

CK_VECTOR_CLONES static void srnn_bwd_rows(const srnn_bwd_ctx *k, int64_t r0,
                                           int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *dh = k->dh + n * U, *dz = k->dz + (n * T + t) * U;
        if (k->dhseq) {
            const float *dout = k->dhseq + (n * T + k->s) * U;
            for (int64_t j = 0; j < U; j++) dh[j] += dout[j];
        }
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < U; j++) dz[j] = 0.0f; /* dh passes */
            continue;
        }
        for (int64_t j = 0; j < U; j++) {
            dz[j] = dh[j];
            dh[j] = 0.0f; /* all of dh_{s-1} comes through R (GEMM) */
        }
        ck_rnn_dactivate(dz, k->y + (n * T + t) * U, U, k->act);
    }
}

static void srnn_bwd_block(void *vctx, int64_t blk) {
    const srnn_bwd_ctx *k = (const srnn_bwd_ctx *)vctx;
    int64_t r0 = blk * k->rows;
    int64_t r1 = r0 + k->rows < k->N ? r0 + k->rows : k->N;
    const int64_t T = k->T, U = k->U, t = k->t;
    srnn_bwd_rows(k, r0, r1);
    /* dh[r0:r1] += dz[r0:r1, t] @ R^T */
    ck_sgemm(CK_NO_TRANS, CK_TRANS, r1 - r0, U, U, 1.0f,
             k->dz + (r0 * T + t) * U, T * U, k->R, U, 1.0f, k->dh + r0 * U,
             U);
}

void ck_simple_rnn_backward(float *dx, float *dW, float *dR, float *db,
                            float *dh0, const float *dhseq, const float *dhT,
                            const float *x, const float *W, const float *R,
                            const float *mask, const float *cache, int64_t N,
                            int64_t T, int64_t C, int64_t U,
                            int go_backwards, int act, float *workspace) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    const float *y = cache, *hprev = y + N * T * U;
    float *dz = workspace, *dh = dz + N * T * U;
    for (int64_t j = 0; j < N * U; j++) dh[j] = dhT ? dhT[j] : 0.0f;
    srnn_bwd_ctx k = {N, T, U, ck_rnn_rows_per_block(N, U, 1), 0, 0, act,
                      R, mask, dhseq, y, dz, dh};
    int64_t nblocks = ck_nblocks(N, k.rows);
    for (int64_t s = T - 1; s >= 0; s--) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        ck_parallel_for(nblocks, srnn_bwd_block, &k);
    }
    if (dh0)
        for (int64_t j = 0; j < N * U; j++) dh0[j] += dh[j];
    if (T > 0) {
        ck_sgemm(CK_TRANS, CK_NO_TRANS, C, U, N * T, 1.0f, x, C, dz, U, 1.0f,
                 dW, U);
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, U, N * T, 1.0f, hprev, U, dz, U,
                 1.0f, dR, U);
        if (db) ck_rnn_colsum_add(db, dz, N * T, U);
        if (dx)
            ck_sgemm(CK_NO_TRANS, CK_TRANS, N * T, C, U, 1.0f, dz, U, W, U,
                     1.0f, dx, C);
    }
    ck_ftz_restore(ftz);
}

/* =================================== GRU ============================== */

int64_t ck_gru_cache_size(int64_t N, int64_t T, int64_t U) {
    return 5 * N * T * U;
}

int64_t ck_gru_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U) {
    (void)C;
    return 3 * N * T * U + 2 * N * U;
}

typedef struct {
    int64_t N, T, U, rows;
    int64_t s, t, tnext;
    int recur, act, ract;
    const float *R, *b, *mask;
    float *gates, *hprev, *rh, *hseq, *hT;
} gru_fwd_ctx;

/* z, r and r * h_{s-1} of rows [r0, r1). */
CK_VECTOR_CLONES static void gru_fwd_rows_zr(const gru_fwd_ctx *k, int64_t r0,
                                             int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *zr = k->gates + (n * T + t) * 3 * U; /* z, r */
        const float *hp = k->hprev + (n * T + t) * U;
        float *rh = k->rh + (n * T + t) * U;
        if (k->b)
            for (int64_t j = 0; j < 2 * U; j++) zr[j] += k->b[j];
        ck_rnn_activate(zr, 2 * U, k->ract);
        for (int64_t j = 0; j < U; j++) rh[j] = zr[U + j] * hp[j];
    }
}

/* hh and the new state of rows [r0, r1). */
CK_VECTOR_CLONES static void gru_fwd_rows_h(const gru_fwd_ctx *k, int64_t r0,
                                            int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *zg = k->gates + (n * T + t) * 3 * U;
        float *hh = zg + 2 * U;
        const float *hp = k->hprev + (n * T + t) * U;
        float *hdst = k->s == T - 1 ? k->hT + n * U
                                    : k->hprev + (n * T + k->tnext) * U;
        if (k->b)
            for (int64_t j = 0; j < U; j++) hh[j] += k->b[2 * U + j];
        ck_rnn_activate(hh, U, k->act);
        int keep = !k->mask || k->mask[n * T + t] != 0.0f;
        if (keep)
            for (int64_t j = 0; j < U; j++)
                hdst[j] = zg[j] * hp[j] + (1.0f - zg[j]) * hh[j];
        else
            for (int64_t j = 0; j < U; j++) hdst[j] = hp[j];
        if (k->hseq) {
            float *out = k->hseq + (n * T + k->s) * U;
            for (int64_t j = 0; j < U; j++) out[j] = hdst[j];
        }
    }
}

static void gru_fwd_block(void *vctx, int64_t blk) {
    const gru_fwd_ctx *k = (const gru_fwd_ctx *)vctx;
    int64_t r0 = blk * k->rows;
    int64_t r1 = r0 + k->rows < k->N ? r0 + k->rows : k->N;
    const int64_t T = k->T, U = k->U, t = k->t;
    float *g = k->gates + (r0 * T + t) * 3 * U;
    if (k->recur) /* [z, r][r0:r1] += hprev[r0:r1, t] @ R[:, 0:2U] */
        ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, r1 - r0, 2 * U, U, 1.0f,
                 k->hprev + (r0 * T + t) * U, T * U, k->R, 3 * U, 1.0f, g,
                 T * 3 * U);
    gru_fwd_rows_zr(k, r0, r1);
    if (k->recur) /* hh[r0:r1] += rh[r0:r1, t] @ R[:, 2U:3U] */
        ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, r1 - r0, U, U, 1.0f,
                 k->rh + (r0 * T + t) * U, T * U, k->R + 2 * U, 3 * U, 1.0f,
                 g + 2 * U, T * 3 * U);
    gru_fwd_rows_h(k, r0, r1);
}

void ck_gru_forward(float *hseq, float *hT, float *cache, const float *x,
                    const float *W, const float *R, const float *b,
                    const float *h0, const float *mask, int64_t N, int64_t T,
                    int64_t C, int64_t U, int go_backwards, int act,
                    int ract) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    if (T <= 0) {
        for (int64_t j = 0; j < N * U; j++) hT[j] = h0 ? h0[j] : 0.0f;
        ck_ftz_restore(ftz);
        return;
    }
    float *gates = cache, *hprev = gates + 3 * N * T * U;
    float *rh = hprev + N * T * U;
    /* gates[N*T, 3U] = x[N*T, C] @ W[C, 3U] */
    ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, N * T, 3 * U, C, 1.0f, x, C, W, 3 * U,
             0.0f, gates, 3 * U);
    int64_t t0 = go_backwards ? T - 1 : 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < U; j++)
            hprev[(n * T + t0) * U + j] = h0 ? h0[n * U + j] : 0.0f;
    gru_fwd_ctx k = {N, T, U, ck_rnn_rows_per_block(N, U, 3), 0, 0, 0, 0,
                     act, ract, R, b, mask, gates, hprev, rh, hseq, hT};
    int64_t nblocks = ck_nblocks(N, k.rows);
    for (int64_t s = 0; s < T; s++) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        k.tnext = go_backwards ? k.t - 1 : k.t + 1;
        k.recur = s > 0 || h0 != NULL;
        ck_parallel_for(nblocks, gru_fwd_block, &k);
    }
    ck_ftz_restore(ftz);
}

typedef struct {
    int64_t N, T, U, rows;
    int64_t s, t;
    int act, ract;
    const float *R, *mask, *dhseq;
    const float *gates, *hprev;
    float *dz, *dh, *drh; /* dz [N, T, 3U]; dh, drh [N, U] */
} gru_bwd_ctx;

/* From dh (state after step s): dz of z and hh, the direct part z * dh of
 * dh_{s-1}. */
CK_VECTOR_CLONES static void gru_bwd_rows_zh(const gru_bwd_ctx *k, int64_t r0,
                                             int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *dh = k->dh + n * U, *dz = k->dz + (n * T + t) * 3 * U;
        if (k->dhseq) {
            const float *dout = k->dhseq + (n * T + k->s) * U;
            for (int64_t j = 0; j < U; j++) dh[j] += dout[j];
        }
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < 3 * U; j++) dz[j] = 0.0f; /* dh passes */
            continue;
        }
        const float *z = k->gates + (n * T + t) * 3 * U, *hh = z + 2 * U;
        const float *hp = k->hprev + (n * T + t) * U;
        /* h = z h_prev + (1 - z) hh */
        for (int64_t j = 0; j < U; j++) {
            dz[j] = dh[j] * (hp[j] - hh[j]);
            dz[2 * U + j] = dh[j] * (1.0f - z[j]);
            dh[j] = dh[j] * z[j];
        }
        ck_rnn_dactivate(dz, z, U, k->ract);
        ck_rnn_dactivate(dz + 2 * U, hh, U, k->act);
    }
}

/* From drh = d(r * h_prev): dz of r and the part r * drh of dh_{s-1}. */
CK_VECTOR_CLONES static void gru_bwd_rows_r(const gru_bwd_ctx *k, int64_t r0,
                                            int64_t r1) {
    const int64_t T = k->T, U = k->U, t = k->t;
    for (int64_t n = r0; n < r1; n++) {
        float *dzr = k->dz + (n * T + t) * 3 * U + U;
        if (k->mask && k->mask[n * T + t] == 0.0f) {
            for (int64_t j = 0; j < U; j++) dzr[j] = 0.0f;
            continue;
        }
        const float *r = k->gates + (n * T + t) * 3 * U + U;
        const float *hp = k->hprev + (n * T + t) * U;
        const float *drh = k->drh + n * U;
        float *dh = k->dh + n * U;
        for (int64_t j = 0; j < U; j++) {
            dzr[j] = drh[j] * hp[j];
            dh[j] += drh[j] * r[j];
        }
        ck_rnn_dactivate(dzr, r, U, k->ract);
    }
}

static void gru_bwd_block(void *vctx, int64_t blk) {
    const gru_bwd_ctx *k = (const gru_bwd_ctx *)vctx;
    int64_t r0 = blk * k->rows;
    int64_t r1 = r0 + k->rows < k->N ? r0 + k->rows : k->N;
    const int64_t T = k->T, U = k->U, t = k->t;
    float *dz = k->dz + (r0 * T + t) * 3 * U;
    gru_bwd_rows_zh(k, r0, r1);
    /* drh[r0:r1] = dz_h[r0:r1, t] @ R[:, 2U:3U]^T */
    ck_sgemm(CK_NO_TRANS, CK_TRANS, r1 - r0, U, U, 1.0f, dz + 2 * U,
             T * 3 * U, k->R + 2 * U, 3 * U, 0.0f, k->drh + r0 * U, U);
    gru_bwd_rows_r(k, r0, r1);
    /* dh[r0:r1] += dz_zr[r0:r1, t] @ R[:, 0:2U]^T */
    ck_sgemm(CK_NO_TRANS, CK_TRANS, r1 - r0, U, 2 * U, 1.0f, dz, T * 3 * U,
             k->R, 3 * U, 1.0f, k->dh + r0 * U, U);
}

void ck_gru_backward(float *dx, float *dW, float *dR, float *db, float *dh0,
                     const float *dhseq, const float *dhT, const float *x,
                     const float *W, const float *R, const float *mask,
                     const float *cache, int64_t N, int64_t T, int64_t C,
                     int64_t U, int go_backwards, int act, int ract,
                     float *workspace) {
    if (N <= 0 || U <= 0) return;
    unsigned ftz = ck_ftz_enter();
    const float *gates = cache, *hprev = gates + 3 * N * T * U;
    const float *rh = hprev + N * T * U;
    float *dz = workspace, *dh = dz + 3 * N * T * U, *drh = dh + N * U;
    for (int64_t j = 0; j < N * U; j++) dh[j] = dhT ? dhT[j] : 0.0f;
    gru_bwd_ctx k = {N, T, U, ck_rnn_rows_per_block(N, U, 3), 0, 0, act,
                     ract, R, mask, dhseq, gates, hprev, dz, dh, drh};
    int64_t nblocks = ck_nblocks(N, k.rows);
    for (int64_t s = T - 1; s >= 0; s--) {
        k.s = s;
        k.t = go_backwards ? T - 1 - s : s;
        ck_parallel_for(nblocks, gru_bwd_block, &k);
    }
    if (dh0)
        for (int64_t j = 0; j < N * U; j++) dh0[j] += dh[j];
    if (T > 0) {
        ck_sgemm(CK_TRANS, CK_NO_TRANS, C, 3 * U, N * T, 1.0f, x, C, dz,
                 3 * U, 1.0f, dW, 3 * U);
        /* dR[:, 0:2U] += hprev^T dz[:, 0:2U]; dR[:, 2U:] += rh^T dz_h */
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, 2 * U, N * T, 1.0f, hprev, U, dz,
                 3 * U, 1.0f, dR, 3 * U);
        ck_sgemm(CK_TRANS, CK_NO_TRANS, U, U, N * T, 1.0f, rh, U, dz + 2 * U,
                 3 * U, 1.0f, dR + 2 * U, 3 * U);
        if (db) ck_rnn_colsum_add(db, dz, N * T, 3 * U);
        if (dx)
            ck_sgemm(CK_NO_TRANS, CK_TRANS, N * T, C, 3 * U, 1.0f, dz, 3 * U,
                     W, 3 * U, 1.0f, dx, C);
    }
    ck_ftz_restore(ftz);
}
