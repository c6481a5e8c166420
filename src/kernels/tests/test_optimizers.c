/* Optimizer updates on sizes 1, 31 and one past a block, in exact-size
 * buffers, against plain scalar loops of Keras 2's formulas; two steps each
 * so the updated state is read back. Results must be bitwise equal. */
#include <string.h>
#include "test_util.h"
#include "ck_internal.h"

#define NBUF 6 /* p, g, and up to four state buffers */

typedef struct {
    int64_t n;
    float *k[NBUF]; /* kernel's p, g, s0..s3 */
    float *r[NBUF]; /* the scalar loop's copies */
} bufs;

static void bufs_init(bufs *b, int64_t n, unsigned seed) {
    b->n = n;
    for (int i = 0; i < NBUF; i++) {
        b->k[i] = ck_test_alloc(n);
        b->r[i] = ck_test_alloc(n);
        /* p, g, m in [-1, 1); accumulators (a, d, v, vhat) in [0, 1) */
        ck_test_fill(b->k[i], n, seed * 16u + (unsigned)i,
                     i <= 2 ? -1.0f : 0.0f, 1.0f);
        for (int64_t j = 0; j < n; j++) b->r[i][j] = b->k[i][j];
    }
}

static void bufs_check(bufs *b, int used, const char *what) {
    for (int i = 0; i < used; i++) {
        /* the same correctly rounded float32 operations in the same order
         * (no contraction, no denormals in these ranges): identical bits */
        int64_t differ = 0;
        for (int64_t j = 0; j < b->n; j++)
            differ += !(b->k[i][j] == b->r[i][j]);
        CK_CHECK(differ == 0, "%s n=%ld buffer %d: %ld elements differ (max "
                 "diff %g)", what, (long)b->n, i, (long)differ,
                 ck_test_max_abs_diff(b->k[i], b->r[i], b->n));
    }
}

static void bufs_free(bufs *b) {
    for (int i = 0; i < NBUF; i++) { free(b->k[i]); free(b->r[i]); }
}

/* new gradient for the next step, the same in both copies */
static void next_grad(bufs *b, unsigned seed) {
    ck_test_fill(b->k[1], b->n, seed, -1.0f, 1.0f);
    for (int64_t j = 0; j < b->n; j++) b->r[1][j] = b->k[1][j];
}

static void sgd_ref(float *p, float *m, const float *g, int64_t n, float lr,
                    float mom, int nesterov) {
    for (int64_t i = 0; i < n; i++) {
        if (!m) { p[i] = p[i] - lr * g[i]; continue; }
        float v = mom * m[i] - lr * g[i];
        m[i] = v;
        p[i] = nesterov ? p[i] + mom * v - lr * g[i] : p[i] + v;
    }
}

static void rmsprop_ref(float *p, float *a, const float *g, int64_t n,
                        float lr, float rho, float eps) {
    for (int64_t i = 0; i < n; i++) {
        a[i] = rho * a[i] + (1.0f - rho) * (g[i] * g[i]);
        p[i] = p[i] - lr * g[i] / (sqrtf(a[i]) + eps);
    }
}

static void adagrad_ref(float *p, float *a, const float *g, int64_t n,
                        float lr, float eps) {
    for (int64_t i = 0; i < n; i++) {
        a[i] = a[i] + g[i] * g[i];
        p[i] = p[i] - lr * g[i] / (sqrtf(a[i]) + eps);
    }
}

static void adadelta_ref(float *p, float *a, float *d, const float *g,
                         int64_t n, float lr, float rho, float eps) {
    for (int64_t i = 0; i < n; i++) {
        a[i] = rho * a[i] + (1.0f - rho) * (g[i] * g[i]);
        float u = g[i] * sqrtf(d[i] + eps) / sqrtf(a[i] + eps);
        p[i] = p[i] - lr * u;
        d[i] = rho * d[i] + (1.0f - rho) * (u * u);
    }
}

static void adam_ref(float *p, float *m, float *v, float *vhat,
                     const float *g, int64_t n, float lr_t, float b1,
                     float b2, float eps) {
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * (g[i] * g[i]);
        float s = v[i];
        if (vhat) {
            if (v[i] > vhat[i]) vhat[i] = v[i];
            s = vhat[i];
        }
        p[i] = p[i] - lr_t * m[i] / (sqrtf(s) + eps);
    }
}

static void one_size(int64_t n) {
    bufs b;
    /* SGD: no momentum (m NULL), momentum, nesterov */
    for (int mode = 0; mode < 3; mode++) {
        bufs_init(&b, n, 1u + (unsigned)mode);
        float *km = mode ? b.k[2] : NULL, *rm = mode ? b.r[2] : NULL;
        float mom = mode ? 0.9f : 0.0f;
        for (int step = 0; step < 2; step++) {
            ck_sgd_update(b.k[0], km, b.k[1], n, 0.05f, mom, mode == 2);
            sgd_ref(b.r[0], rm, b.r[1], n, 0.05f, mom, mode == 2);
            next_grad(&b, 100u + (unsigned)step);
        }
        bufs_check(&b, 3, mode == 0 ? "sgd" : mode == 1 ? "sgd momentum"
                                                        : "sgd nesterov");
        bufs_free(&b);
    }

    bufs_init(&b, n, 4u);
    for (int step = 0; step < 2; step++) {
        ck_rmsprop_update(b.k[0], b.k[3], b.k[1], n, 0.01f, 0.9f, 1e-7f);
        rmsprop_ref(b.r[0], b.r[3], b.r[1], n, 0.01f, 0.9f, 1e-7f);
        next_grad(&b, 200u + (unsigned)step);
    }
    bufs_check(&b, 4, "rmsprop");
    bufs_free(&b);

    bufs_init(&b, n, 5u);
    for (int step = 0; step < 2; step++) {
        ck_adagrad_update(b.k[0], b.k[3], b.k[1], n, 0.01f, 1e-7f);
        adagrad_ref(b.r[0], b.r[3], b.r[1], n, 0.01f, 1e-7f);
        next_grad(&b, 300u + (unsigned)step);
    }
    bufs_check(&b, 4, "adagrad");
    bufs_free(&b);

    bufs_init(&b, n, 6u);
    for (int step = 0; step < 2; step++) {
        ck_adadelta_update(b.k[0], b.k[3], b.k[4], b.k[1], n, 1.0f, 0.95f,
                           1e-7f);
        adadelta_ref(b.r[0], b.r[3], b.r[4], b.r[1], n, 1.0f, 0.95f, 1e-7f);
        next_grad(&b, 400u + (unsigned)step);
    }
    bufs_check(&b, 5, "adadelta");
    bufs_free(&b);

    /* Adam, then amsgrad (vhat in buffer 4) */
    for (int ams = 0; ams < 2; ams++) {
        bufs_init(&b, n, 7u + (unsigned)ams);
        for (int step = 0; step < 2; step++) {
            ck_adam_update(b.k[0], b.k[2], b.k[3], ams ? b.k[4] : NULL,
                           b.k[1], n, 0.003f, 0.9f, 0.999f, 1e-7f);
            adam_ref(b.r[0], b.r[2], b.r[3], ams ? b.r[4] : NULL, b.r[1], n,
                     0.003f, 0.9f, 0.999f, 1e-7f);
            next_grad(&b, 500u + (unsigned)step);
        }
        bufs_check(&b, ams ? 5 : 4, ams ? "amsgrad" : "adam");
        bufs_free(&b);
    }
}

/* ck_rmsprop_update_rows against ck_rmsprop_update on the dense gradient
 * (bit for bit): table [V, D]; n value rows scattered into every third row,
 * some rows twice; an unused row with a NaN accumulator and, with eps = 0,
 * unused rows whose a is 0. */
static void rows_case(int64_t V, int64_t D, float eps) {
    const int64_t n = V / 3 + V / 6 + 1;
    float *p = malloc(sizeof(float) * V * D), *a = malloc(sizeof(float) * V * D);
    float *pd = malloc(sizeof(float) * V * D), *ad = malloc(sizeof(float) * V * D);
    float *gd = calloc((size_t)(V * D), sizeof(float));
    float *values = malloc(sizeof(float) * n * D);
    int64_t *idx = malloc(sizeof(int64_t) * n), *order = malloc(sizeof(int64_t) * n);
    int64_t *rowptr = calloc((size_t)(V + 1), sizeof(int64_t));
    for (int64_t r = 0; r < V; r++)
        for (int64_t i = 0; i < D; i++) {
            float v = (float)((r * 37 + i * 11) % 23) / 23.0f - 0.5f;
            pd[r * D + i] = p[r * D + i] = v;
            ad[r * D + i] = a[r * D + i] = r % 4 == 0 ? 0.0f : v * v;
        }
    for (int64_t k = 0; k < n; k++) { /* rows 1, 4, 7, ..., then 1, 7, ... */
        idx[k] = k < V / 3 ? 3 * k + 1 : 6 * (k - V / 3) + 1;
        if (idx[k] >= V) idx[k] = V - 1;
        for (int64_t i = 0; i < D; i++) {
            values[k * D + i] = 0.25f - (float)((k * 13 + i * 7) % 19) / 19.0f;
            gd[idx[k] * D + i] += values[k * D + i]; /* index order */
        }
        rowptr[idx[k] + 1]++;
    }
    for (int64_t r = 0; r < V; r++) rowptr[r + 1] += rowptr[r];
    { /* order: value rows grouped by table row, index order inside */
        int64_t *fill = calloc((size_t)V, sizeof(int64_t));
        for (int64_t k = 0; k < n; k++)
            order[rowptr[idx[k]] + fill[idx[k]]++] = k;
        free(fill);
    }
    if (V > 2) ad[2 * D] = a[2 * D] = (float)NAN; /* row 2 is unused */
    for (int step = 0; step < 2; step++) {
        ck_rmsprop_update_rows(p, a, values, rowptr, order, V, D, 0.01f, 0.9f,
                               eps);
        ck_rmsprop_update(pd, ad, gd, V * D, 0.01f, 0.9f, eps);
    }
    CK_CHECK(memcmp(p, pd, sizeof(float) * V * D) == 0 &&
                 memcmp(a, ad, sizeof(float) * V * D) == 0,
             "rmsprop rows V=%ld D=%ld eps=%g differs from dense", (long)V,
             (long)D, (double)eps);
    free(p); free(a); free(pd); free(ad); free(gd); free(values);
    free(idx); free(order); free(rowptr);
}

void ck_test_optimizers(void) {
    rows_case(1, 5, 1e-7f);
    rows_case(10, 7, 1e-7f);
    rows_case(9, 3, 0.0f);
    rows_case(3000, 33, 1e-7f);  /* several blocks */
    rows_case(40, 300, 1e-7f);   /* rows wider than the stack chunk */
    one_size(1);
    one_size(31);
    one_size(CK_ELEMENTWISE_BLOCK + 1);
}
