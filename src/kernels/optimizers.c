/*
 * optimizers.c: fused optimizer updates, one pass over a parameter, in
 * place, with Keras 2's formulas in Keras 2's operation order (float32,
 * no contraction, so the results are those of a float32 numpy evaluation
 * of the same formulas; see ckeras/reference/optimizers.py).
 *
 *   SGD      v = momentum*m - lr*g;  m = v
 *            p = nesterov ? (p + momentum*v) - lr*g : p + v
 *            (m == NULL, momentum == 0: p = p - lr*g)
 *   RMSprop  a = rho*a + (1-rho)*g^2;  p = p - (lr*g) / (sqrt(a) + eps)
 *   Adagrad  a = a + g^2;              p = p - (lr*g) / (sqrt(a) + eps)
 *   Adadelta a = rho*a + (1-rho)*g^2
 *            u = (g*sqrt(d + eps)) / sqrt(a + eps);  p = p - lr*u
 *            d = rho*d + (1-rho)*u^2
 *   Adam     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *            amsgrad: vhat = max(vhat, v), s = vhat; else s = v
 *            p = p - (lr_t*m) / (sqrt(s) + eps)
 *
 * The complements (1-rho), (1-b1), (1-b2) are computed in float32 from the
 * float32 hyper-parameters, as tf.keras's optimizers compute them.
 *
 * Layout: every array is a flat float32 buffer of n elements (a parameter
 * of any shape, densely packed); the state buffers (m, a, d, v, vhat) have
 * the parameter's shape. p and the state are read and written; g is only
 * read and must not alias them.
 *
 * ck_rmsprop_update_rows is RMSprop for a table [V, D] whose gradient is
 * a sum of rows (an Embedding's): row r's gradient is the sum of
 * values[order[k]] for k in [rowptr[r], rowptr[r+1]), added in that order
 * to 0 (in index order, as the dense scatter of embedding.c adds them), and
 * zero when the range is empty. It gives the bits of ck_rmsprop_update
 * with the dense gradient: a used row sums its gradient in CK_ROWS_CHUNK
 * columns at a time on the stack and runs the same loop; an unused one gets
 * a = rho*a + (1-rho)*0, and p only where p - (lr*0) / (sqrt(a) + eps) is
 * not p, so it reads and writes a alone. Blocks own whole rows.
 *
 * Parallelism: n is cut into ck_nblocks(n, CK_ELEMENTWISE_BLOCK) chunks on
 * the pool; each chunk owns its elements, so the result does not depend on
 * the thread count. The per-chunk loops are CK_VECTOR_CLONES functions
 * with restrict pointers and branch-free bodies, so gcc vectorizes them
 * (sqrtf becomes vsqrtps under -fno-math-errno).
 */
#include <math.h>
#include <stddef.h>
#include "ck_internal.h"

/* Elements [*lo, *lo + return) of chunk b of n. */
static int64_t chunk(int64_t n, int64_t b, int64_t *lo) {
    int64_t start = b * CK_ELEMENTWISE_BLOCK;
    int64_t len = n - start;
    *lo = start;
    return len < CK_ELEMENTWISE_BLOCK ? len : CK_ELEMENTWISE_BLOCK;
}

/* ------------------------------------------------------------------ */
/* SGD                                                                 */
/* ------------------------------------------------------------------ */
typedef struct {
    float *p, *m;        /* [n], [n] or NULL */
    const float *g;      /* [n] */
    int64_t n;
    float lr, momentum;
    int nesterov;
} sgd_ctx;

CK_VECTOR_CLONES
static void sgd_plain_loop(float *restrict p, const float *restrict g,
                           int64_t n, float lr) {
    for (int64_t i = 0; i < n; i++) p[i] = p[i] - lr * g[i];
}

CK_VECTOR_CLONES
static void sgd_momentum_loop(float *restrict p, float *restrict m,
                              const float *restrict g, int64_t n, float lr,
                              float momentum) {
    for (int64_t i = 0; i < n; i++) {
        float v = momentum * m[i] - lr * g[i];
        m[i] = v;
        p[i] = p[i] + v;
    }
}

CK_VECTOR_CLONES
static void sgd_nesterov_loop(float *restrict p, float *restrict m,
                              const float *restrict g, int64_t n, float lr,
                              float momentum) {
    for (int64_t i = 0; i < n; i++) {
        float lg = lr * g[i];
        float v = momentum * m[i] - lg;
        m[i] = v;
        p[i] = (p[i] + momentum * v) - lg;
    }
}

static void sgd_block(void *vctx, int64_t b) {
    const sgd_ctx *c = (const sgd_ctx *)vctx;
    int64_t lo, len = chunk(c->n, b, &lo);
    if (c->m == NULL)
        sgd_plain_loop(c->p + lo, c->g + lo, len, c->lr);
    else if (c->nesterov)
        sgd_nesterov_loop(c->p + lo, c->m + lo, c->g + lo, len, c->lr,
                          c->momentum);
    else
        sgd_momentum_loop(c->p + lo, c->m + lo, c->g + lo, len, c->lr,
                          c->momentum);
}

void ck_sgd_update(float *p, float *m, const float *g, int64_t n, float lr,
                   float momentum, int nesterov) {
    if (n <= 0) return;
    sgd_ctx c = {p, m, g, n, lr, momentum, nesterov};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), sgd_block, &c);
}

/* ------------------------------------------------------------------ */
/* RMSprop and Adagrad (one accumulator a)                             */
/* ------------------------------------------------------------------ */
typedef struct {
    float *p, *a;        /* [n], [n] */
    const float *g;      /* [n] */
    int64_t n;
    float lr, rho, eps;
} acc_ctx;

CK_VECTOR_CLONES
static void rmsprop_loop(float *restrict p, float *restrict a,
                         const float *restrict g, int64_t n, float lr,
                         float rho, float eps) {
    float one_minus_rho = 1.0f - rho;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float ai = rho * a[i] + one_minus_rho * (gi * gi);
        a[i] = ai;
        p[i] = p[i] - (lr * gi) / (sqrtf(ai) + eps);
    }
}

static void rmsprop_block(void *vctx, int64_t b) {
    const acc_ctx *c = (const acc_ctx *)vctx;
    int64_t lo, len = chunk(c->n, b, &lo);
    rmsprop_loop(c->p + lo, c->a + lo, c->g + lo, len, c->lr, c->rho, c->eps);
}

void ck_rmsprop_update(float *p, float *a, const float *g, int64_t n,
                       float lr, float rho, float eps) {
    if (n <= 0) return;
    acc_ctx c = {p, a, g, n, lr, rho, eps};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), rmsprop_block, &c);
}

/* rmsprop_loop with g = 0 (unused rows): a = rho*a + (1-rho)*0*0, and
 * p - (lr*0) / s, s = sqrt(a) + eps, only where that is not p, i.e. where
 * s > 0 fails: a NaN or negative, or (eps zero, or a denormal flushed to
 * zero) a zero. Those are tested branch-free while a is updated (so the
 * loop vectorizes) and fixed up in a second, rare pass. */
CK_VECTOR_CLONES
static void rmsprop_zero_loop(float *restrict p, float *restrict a, int64_t n,
                              float lr, float rho, float eps) {
    const float one_minus_rho = 1.0f - rho, gi = 0.0f;
    int bad = 0;
    if (eps > 0.0f)
        for (int64_t i = 0; i < n; i++) {
            float ai = rho * a[i] + one_minus_rho * (gi * gi);
            a[i] = ai;
            bad |= !(ai >= 0.0f);
        }
    else
        for (int64_t i = 0; i < n; i++) {
            float ai = rho * a[i] + one_minus_rho * (gi * gi);
            a[i] = ai;
            bad |= !(ai > 0.0f);
        }
    if (bad)
        for (int64_t i = 0; i < n; i++) {
            float s = sqrtf(a[i]) + eps;
            if (!(s > 0.0f)) p[i] = p[i] - (lr * gi) / s;
        }
}

#define CK_ROWS_CHUNK 256

typedef struct {
    float *p, *a;                  /* [V, D] */
    const float *values;           /* [n, D] */
    const int64_t *rowptr, *order; /* [V + 1], [n] */
    int64_t V, D, per;             /* per: table rows per block */
    float lr, rho, eps;
} rows_ctx;

/* acc[0..len) = columns c0..c0+len of the sum of the rows
 * values[order[k]], k in [k0, k1), added in that order. */
CK_VECTOR_CLONES
static void rows_sum(float *restrict acc, const float *restrict values,
                     const int64_t *order, int64_t k0, int64_t k1, int64_t D,
                     int64_t c0, int64_t len) {
    for (int64_t j = 0; j < len; j++) acc[j] = 0.0f;
    for (int64_t k = k0; k < k1; k++) {
        const float *v = values + order[k] * D + c0;
        for (int64_t j = 0; j < len; j++) acc[j] += v[j];
    }
}

static void rmsprop_rows_block(void *vctx, int64_t b) {
    const rows_ctx *c = (const rows_ctx *)vctx;
    const int64_t D = c->D;
    int64_t r1 = (b + 1) * c->per < c->V ? (b + 1) * c->per : c->V;
    float acc[CK_ROWS_CHUNK];
    for (int64_t r = b * c->per; r < r1; r++) {
        float *p = c->p + r * D, *a = c->a + r * D;
        const int64_t k0 = c->rowptr[r], k1 = c->rowptr[r + 1];
        if (k1 <= k0) {
            rmsprop_zero_loop(p, a, D, c->lr, c->rho, c->eps);
            continue;
        }
        for (int64_t c0 = 0; c0 < D; c0 += CK_ROWS_CHUNK) {
            const int64_t len = D - c0 < CK_ROWS_CHUNK ? D - c0 : CK_ROWS_CHUNK;
            rows_sum(acc, c->values, c->order, k0, k1, D, c0, len);
            rmsprop_loop(p + c0, a + c0, acc, len, c->lr, c->rho, c->eps);
        }
    }
}

void ck_rmsprop_update_rows(float *p, float *a, const float *values,
                            const int64_t *rowptr, const int64_t *order,
                            int64_t V, int64_t D, float lr, float rho,
                            float eps) {
    if (V <= 0 || D <= 0) return;
    int64_t per = D >= CK_ELEMENTWISE_BLOCK ? 1 : CK_ELEMENTWISE_BLOCK / D;
    rows_ctx c = {p, a, values, rowptr, order, V, D, per, lr, rho, eps};
    ck_parallel_for(ck_nblocks(V, per), rmsprop_rows_block, &c);
}

CK_VECTOR_CLONES
static void adagrad_loop(float *restrict p, float *restrict a,
                         const float *restrict g, int64_t n, float lr,
                         float eps) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float ai = a[i] + gi * gi;
        a[i] = ai;
        p[i] = p[i] - (lr * gi) / (sqrtf(ai) + eps);
    }
}

static void adagrad_block(void *vctx, int64_t b) {
    const acc_ctx *c = (const acc_ctx *)vctx;
    int64_t lo, len = chunk(c->n, b, &lo);
    adagrad_loop(c->p + lo, c->a + lo, c->g + lo, len, c->lr, c->eps);
}

void ck_adagrad_update(float *p, float *a, const float *g, int64_t n,
                       float lr, float eps) {
    if (n <= 0) return;
    acc_ctx c = {p, a, g, n, lr, 0.0f, eps};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), adagrad_block, &c);
}

/* ------------------------------------------------------------------ */
/* Adadelta                                                            */
/* ------------------------------------------------------------------ */
typedef struct {
    float *p, *a, *d;    /* [n] each */
    const float *g;      /* [n] */
    int64_t n;
    float lr, rho, eps;
} adadelta_ctx;

CK_VECTOR_CLONES
static void adadelta_loop(float *restrict p, float *restrict a,
                          float *restrict d, const float *restrict g,
                          int64_t n, float lr, float rho, float eps) {
    float one_minus_rho = 1.0f - rho;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float ai = rho * a[i] + one_minus_rho * (gi * gi);
        float u = (gi * sqrtf(d[i] + eps)) / sqrtf(ai + eps);
        a[i] = ai;
        p[i] = p[i] - lr * u;
        d[i] = rho * d[i] + one_minus_rho * (u * u);
    }
}

static void adadelta_block(void *vctx, int64_t b) {
    const adadelta_ctx *c = (const adadelta_ctx *)vctx;
    int64_t lo, len = chunk(c->n, b, &lo);
    adadelta_loop(c->p + lo, c->a + lo, c->d + lo, c->g + lo, len, c->lr,
                  c->rho, c->eps);
}

void ck_adadelta_update(float *p, float *a, float *d, const float *g,
                        int64_t n, float lr, float rho, float eps) {
    if (n <= 0) return;
    adadelta_ctx c = {p, a, d, g, n, lr, rho, eps};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), adadelta_block, &c);
}

/* ------------------------------------------------------------------ */
/* Adam (amsgrad when vhat != NULL)                                    */
/* ------------------------------------------------------------------ */
typedef struct {
    float *p, *m, *v, *vhat;  /* [n] each; vhat may be NULL */
    const float *g;           /* [n] */
    int64_t n;
    float lr_t, beta1, beta2, eps;
} adam_ctx;

CK_VECTOR_CLONES
static void adam_loop(float *restrict p, float *restrict m, float *restrict v,
                      const float *restrict g, int64_t n, float lr_t,
                      float beta1, float beta2, float eps) {
    float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + one_minus_b1 * gi;
        float vi = beta2 * v[i] + one_minus_b2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - (lr_t * mi) / (sqrtf(vi) + eps);
    }
}

CK_VECTOR_CLONES
static void amsgrad_loop(float *restrict p, float *restrict m,
                         float *restrict v, float *restrict vhat,
                         const float *restrict g, int64_t n, float lr_t,
                         float beta1, float beta2, float eps) {
    float one_minus_b1 = 1.0f - beta1, one_minus_b2 = 1.0f - beta2;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + one_minus_b1 * gi;
        float vi = beta2 * v[i] + one_minus_b2 * (gi * gi);
        float hi = vhat[i];
        hi = hi > vi ? hi : vi;  /* max; NaN in v propagates */
        m[i] = mi;
        v[i] = vi;
        vhat[i] = hi;
        p[i] = p[i] - (lr_t * mi) / (sqrtf(hi) + eps);
    }
}

static void adam_block(void *vctx, int64_t b) {
    const adam_ctx *c = (const adam_ctx *)vctx;
    int64_t lo, len = chunk(c->n, b, &lo);
    if (c->vhat == NULL)
        adam_loop(c->p + lo, c->m + lo, c->v + lo, c->g + lo, len, c->lr_t,
                  c->beta1, c->beta2, c->eps);
    else
        amsgrad_loop(c->p + lo, c->m + lo, c->v + lo, c->vhat + lo,
                     c->g + lo, len, c->lr_t, c->beta1, c->beta2, c->eps);
}

void ck_adam_update(float *p, float *m, float *v, float *vhat,
                    const float *g, int64_t n, float lr_t, float beta1,
                    float beta2, float eps) {
    if (n <= 0) return;
    adam_ctx c = {p, m, v, vhat, g, n, lr_t, beta1, beta2, eps};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), adam_block, &c);
}
