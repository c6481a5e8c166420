/*
 * losses.c: per-sample losses, Keras 2 semantics (TensorFlow backend).
 *
 *   z, t, p, probs, yp, yt, dz, dp, dyp: [N, C] row-major, densely packed
 *   loss, dloss: [N]
 *
 * Forward writes loss[n] (and probs); backward accumulates
 * dloss[n] * d loss[n] / d input into the input gradient.
 *
 * softmax_xent:  p = softmax(z); loss = -sum_c t log(clip(p, eps, 1-eps)).
 *                log p is taken stably as z - max - log(sum e^(z - max)),
 *                then clamped to [log eps, log(1 - eps)].
 *                dz += dloss (p sum_c(m t) - m t), m = (eps <= p <= 1-eps).
 * bce:           pc = clip(p, eps, 1-eps), l = log(pc / (1 - pc)),
 *                loss = mean_c max(l, 0) - l t + log1p(e^-|l|);
 *                dp += dloss / C * m (pc - t) / (pc (1 - pc)).
 * sigmoid_bce:   probs = sigmoid(z); the same loss with l = clip(z, -L, L),
 *                L = log((1-eps)/eps); dz += dloss / C * m (probs - t),
 *                m taken on probs.
 * mse:           loss = mean_c (yp - yt)^2; dyp += dloss 2 (yp - yt) / C.
 *
 * The masks are inclusive, like the gradient of TensorFlow's clip. eps and
 * 1 - eps are float32 values, as in Keras.
 *
 * Parallel over blocks of whole rows (about CK_ELEMENTWISE_BLOCK values
 * each); row sums use ck_lanes8's fixed order, so results do not depend on
 * the thread count. Rows are processed in chunks of CHUNK columns through a
 * stack buffer: one vectorized pass computes the terms, ck_lanes8 sums them.
 */
#include <math.h>
#include "ck_internal.h"
#include "ck_math.h"

enum { CHUNK = 256 };  /* a multiple of 8: lanes follow the column index */

typedef struct {
    float *out;          /* loss (forward) or the gradient (backward) */
    float *probs;        /* forward: probs written (softmax/sigmoid) */
    const float *a;      /* z, p or yp (forward); probs, p or yp (backward) */
    const float *t;      /* targets */
    const float *dloss;  /* backward */
    int64_t N, C, per;   /* per: rows per block */
    float eps;
    int logits;          /* bce: 1 for the fused sigmoid variant */
} loss_ctx;

static void run_rows(loss_ctx *c, ck_block_fn fn) {
    if (c->N <= 0) return;
    int64_t per = CK_ELEMENTWISE_BLOCK / (c->C > 0 ? c->C : 1);
    c->per = per > 0 ? per : 1;
    ck_parallel_for(ck_nblocks(c->N, c->per), fn, c);
}

/* rows [lo, hi) of block b */
static int64_t block_rows(const loss_ctx *c, int64_t b, int64_t *lo) {
    *lo = b * c->per;
    int64_t len = c->N - *lo;
    return len < c->per ? len : c->per;
}

/* ---- softmax cross-entropy ---- */

CK_VECTOR_CLONES
static void softmax_xent_fwd_rows(float *loss, float *probs, const float *z,
                                  const float *t, int64_t rows, int64_t C,
                                  float log_lo, float log_hi) {
    float buf[CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        const float *zr = z + r * C, *tr = t + r * C;
        float *pr = probs + r * C;
        if (C == 0) { loss[r] = 0.0f; continue; }
        float m = ck_max8(zr, C);
        for (int64_t j = 0; j < C; j++) pr[j] = ck_expf(zr[j] - m);
        float s = ck_sum8(pr, C);
        float lse = ck_logf(s), inv = 1.0f / s;
        ck_lanes8 acc;
        ck_lanes8_init(&acc);
        for (int64_t c0 = 0; c0 < C; c0 += CHUNK) {
            int64_t len = C - c0 < CHUNK ? C - c0 : CHUNK;
            for (int64_t j = 0; j < len; j++) {
                float lp = (zr[c0 + j] - m) - lse;
                lp = ck_selectf(lp < log_lo, log_lo, lp);
                lp = ck_selectf(lp > log_hi, log_hi, lp);
                buf[j] = tr[c0 + j] * lp;
                pr[c0 + j] = pr[c0 + j] * inv;
            }
            ck_lanes8_add(&acc, buf, len);
        }
        loss[r] = -ck_lanes8_total(&acc);
    }
}

CK_VECTOR_CLONES
static void softmax_xent_bwd_rows(float *dz, const float *dloss,
                                  const float *probs, const float *t,
                                  int64_t rows, int64_t C, float lo,
                                  float hi) {
    float buf[CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = probs + r * C, *tr = t + r * C;
        float *dr = dz + r * C;
        /* s = sum_c m t */
        ck_lanes8 acc;
        ck_lanes8_init(&acc);
        for (int64_t c0 = 0; c0 < C; c0 += CHUNK) {
            int64_t len = C - c0 < CHUNK ? C - c0 : CHUNK;
            for (int64_t j = 0; j < len; j++) {
                float p = pr[c0 + j];
                buf[j] = ck_selectf((p >= lo) & (p <= hi), tr[c0 + j], 0.0f);
            }
            ck_lanes8_add(&acc, buf, len);
        }
        float s = ck_lanes8_total(&acc), d = dloss[r];
        for (int64_t j = 0; j < C; j++) {
            float p = pr[j];
            float mt = ck_selectf((p >= lo) & (p <= hi), tr[j], 0.0f);
            dr[j] += d * (p * s - mt);
        }
    }
}

static void softmax_xent_fwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    /* clamps of log p: log of the float32 bounds, rounded once */
    float log_lo = (float)log((double)c->eps);
    float log_hi = (float)log((double)(1.0f - c->eps));
    softmax_xent_fwd_rows(c->out + lo, c->probs + lo * c->C, c->a + lo * c->C,
                          c->t + lo * c->C, n, c->C, log_lo, log_hi);
}

static void softmax_xent_bwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    softmax_xent_bwd_rows(c->out + lo * c->C, c->dloss + lo, c->a + lo * c->C,
                          c->t + lo * c->C, n, c->C, c->eps, 1.0f - c->eps);
}

void ck_softmax_xent_forward(float *loss, float *probs, const float *z,
                             const float *t, int64_t N, int64_t C,
                             float eps) {
    loss_ctx c = {loss, probs, z, t, 0, N, C, 0, eps, 1};
    run_rows(&c, softmax_xent_fwd_block);
}

void ck_softmax_xent_backward(float *dz, const float *dloss,
                              const float *probs, const float *t,
                              int64_t N, int64_t C, float eps) {
    loss_ctx c = {dz, 0, probs, t, dloss, N, C, 0, eps, 1};
    run_rows(&c, softmax_xent_bwd_block);
}

/* ---- binary cross-entropy ---- */

/* TensorFlow's sigmoid cross-entropy with logits l:
 * max(l, 0) - l t + log1p(e^-|l|). */
static inline float sigmoid_xent_term(float l, float t) {
    float al = ck_u2f(ck_f2u(l) & 0x7fffffffu);
    return (ck_selectf(l > 0.0f, l, 0.0f) - l * t) + ck_log1pf(ck_expf(-al));
}

/* loss[r] = mean_c of the terms; logits from probabilities (from_probs) or
 * from logits z clipped to +-L (probs = sigmoid(z) written when given). */
CK_VECTOR_CLONES
static void bce_fwd_rows(float *loss, float *probs, const float *a,
                         const float *t, int64_t rows, int64_t C,
                         int from_probs, float lo, float hi, float L) {
    float buf[CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        const float *ar = a + r * C, *tr = t + r * C;
        ck_lanes8 acc;
        ck_lanes8_init(&acc);
        for (int64_t c0 = 0; c0 < C; c0 += CHUNK) {
            int64_t len = C - c0 < CHUNK ? C - c0 : CHUNK;
            if (from_probs) {
                for (int64_t j = 0; j < len; j++) {
                    float p = ar[c0 + j];
                    p = ck_selectf(p < lo, lo, p);
                    p = ck_selectf(p > hi, hi, p);
                    float l = ck_logf(p / (1.0f - p));
                    buf[j] = sigmoid_xent_term(l, tr[c0 + j]);
                }
            } else {
                float *pr = probs + r * C;
                for (int64_t j = 0; j < len; j++) {
                    float z = ar[c0 + j];
                    pr[c0 + j] = ck_sigmoidf(z);
                    z = ck_selectf(z < -L, -L, z);
                    z = ck_selectf(z > L, L, z);
                    buf[j] = sigmoid_xent_term(z, tr[c0 + j]);
                }
            }
            ck_lanes8_add(&acc, buf, len);
        }
        loss[r] = C > 0 ? ck_lanes8_total(&acc) / (float)C : 0.0f;
    }
}

CK_VECTOR_CLONES
static void bce_bwd_rows(float *dp, const float *dloss, const float *p,
                         const float *t, int64_t rows, int64_t C,
                         int from_probs, float lo, float hi) {
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = p + r * C, *tr = t + r * C;
        float *dr = dp + r * C;
        float d = dloss[r] / (float)C;
        if (from_probs) {
            /* d/dp of the clipped loss: m (p - t) / (p (1 - p)) */
            for (int64_t j = 0; j < C; j++) {
                float v = pr[j];
                float g = (v - tr[j]) / (v * (1.0f - v));
                dr[j] += ck_selectf((v >= lo) & (v <= hi), d * g, 0.0f);
            }
        } else {
            /* d/dz: m (sigmoid(z) - t), the mask taken on the probs */
            for (int64_t j = 0; j < C; j++) {
                float v = pr[j];
                dr[j] += ck_selectf((v >= lo) & (v <= hi), d * (v - tr[j]),
                                    0.0f);
            }
        }
    }
}

static void bce_fwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    float eps = c->eps, hi = 1.0f - eps;
    /* logit of the clip bounds: the clip of z that matches clipping p */
    float L = (float)log((double)hi / (double)eps);
    bce_fwd_rows(c->out + lo, c->logits ? c->probs + lo * c->C : 0,
                 c->a + lo * c->C, c->t + lo * c->C, n, c->C, !c->logits,
                 eps, hi, L);
}

static void bce_bwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    bce_bwd_rows(c->out + lo * c->C, c->dloss + lo, c->a + lo * c->C,
                 c->t + lo * c->C, n, c->C, !c->logits, c->eps,
                 1.0f - c->eps);
}

void ck_bce_forward(float *loss, const float *p, const float *t, int64_t N,
                    int64_t C, float eps) {
    loss_ctx c = {loss, 0, p, t, 0, N, C, 0, eps, 0};
    run_rows(&c, bce_fwd_block);
}

void ck_bce_backward(float *dp, const float *dloss, const float *p,
                     const float *t, int64_t N, int64_t C, float eps) {
    loss_ctx c = {dp, 0, p, t, dloss, N, C, 0, eps, 0};
    run_rows(&c, bce_bwd_block);
}

void ck_sigmoid_bce_forward(float *loss, float *probs, const float *z,
                            const float *t, int64_t N, int64_t C,
                            float eps) {
    loss_ctx c = {loss, probs, z, t, 0, N, C, 0, eps, 1};
    run_rows(&c, bce_fwd_block);
}

void ck_sigmoid_bce_backward(float *dz, const float *dloss,
                             const float *probs, const float *t, int64_t N,
                             int64_t C, float eps) {
    loss_ctx c = {dz, 0, probs, t, dloss, N, C, 0, eps, 1};
    run_rows(&c, bce_bwd_block);
}

/* ---- mean squared error ---- */

CK_VECTOR_CLONES
static void mse_fwd_rows(float *loss, const float *yp, const float *yt,
                         int64_t rows, int64_t C) {
    float buf[CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        const float *ar = yp + r * C, *br = yt + r * C;
        ck_lanes8 acc;
        ck_lanes8_init(&acc);
        for (int64_t c0 = 0; c0 < C; c0 += CHUNK) {
            int64_t len = C - c0 < CHUNK ? C - c0 : CHUNK;
            for (int64_t j = 0; j < len; j++) {
                float e = ar[c0 + j] - br[c0 + j];
                buf[j] = e * e;
            }
            ck_lanes8_add(&acc, buf, len);
        }
        loss[r] = C > 0 ? ck_lanes8_total(&acc) / (float)C : 0.0f;
    }
}

CK_VECTOR_CLONES
static void mse_bwd_rows(float *dyp, const float *dloss, const float *yp,
                         const float *yt, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; r++) {
        const float *ar = yp + r * C, *br = yt + r * C;
        float *dr = dyp + r * C;
        float d = 2.0f * dloss[r] / (float)C;
        for (int64_t j = 0; j < C; j++) dr[j] += d * (ar[j] - br[j]);
    }
}

static void mse_fwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    mse_fwd_rows(c->out + lo, c->a + lo * c->C, c->t + lo * c->C, n, c->C);
}

static void mse_bwd_block(void *vctx, int64_t b) {
    const loss_ctx *c = (const loss_ctx *)vctx;
    int64_t lo, n = block_rows(c, b, &lo);
    mse_bwd_rows(c->out + lo * c->C, c->dloss + lo, c->a + lo * c->C,
                 c->t + lo * c->C, n, c->C);
}

void ck_mse_forward(float *loss, const float *yp, const float *yt, int64_t N,
                    int64_t C) {
    loss_ctx c = {loss, 0, yp, yt, 0, N, C, 0, 0.0f, 0};
    run_rows(&c, mse_fwd_block);
}

void ck_mse_backward(float *dyp, const float *dloss, const float *yp,
                     const float *yt, int64_t N, int64_t C) {
    loss_ctx c = {dyp, 0, yp, yt, dloss, N, C, 0, 0.0f, 0};
    run_rows(&c, mse_bwd_block);
}
