/* Dense on edge shapes (N, C or U of 1, zero rows or inputs, row-block and
 * db column-block remainders): forward against a double-precision loop
 * for linear and relu, with and without bias; backward against loops for
 * relu, then accumulation (+=) and NULL dx / db, with exact-size buffers. */
#include "test_util.h"

/* z = x @ W (+ b) in double, then linear or relu. */
static void forward_loop(float *y, const float *x, const float *W,
                         const float *b, int64_t N, int64_t C, int64_t U,
                         int relu) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t u = 0; u < U; u++) {
            double z = b ? b[u] : 0.0;
            for (int64_t c = 0; c < C; c++)
                z += (double)x[n * C + c] * (double)W[c * U + u];
            y[n * U + u] = relu && z < 0.0 ? 0.0f : (float)z;
        }
}

static void one(int64_t N, int64_t C, int64_t U) {
    float *x = ck_test_alloc(N * C), *W = ck_test_alloc(C * U);
    float *b = ck_test_alloc(U), *y = ck_test_alloc(N * U);
    float *r = ck_test_alloc(N * U), *dy = ck_test_alloc(N * U);
    float *dx = ck_test_alloc(N * C), *dW = ck_test_alloc(C * U);
    float *db = ck_test_alloc(U);
    float *ws = ck_test_alloc(ck_dense_workspace_size(N, C, U));
    float *rdx = ck_test_alloc(N * C), *rdW = ck_test_alloc(C * U);
    float *rdb = ck_test_alloc(U);
    ck_test_fill(x, N * C, 1, -1.0f, 1.0f);
    ck_test_fill(W, C * U, 2, -0.5f, 0.5f);
    ck_test_fill(b, U, 3, -0.5f, 0.5f);
    ck_test_fill(dy, N * U, 4, -1.0f, 1.0f);
    float tol_c = 1e-5f * (float)(C + 1);

    for (int relu = 0; relu < 2; relu++)
        for (int bias = 0; bias < 2; bias++) {
            for (int64_t i = 0; i < N * U; i++) y[i] = NAN;
            ck_dense_forward(y, x, W, bias ? b : NULL, N, C, U,
                             relu ? CK_ACT_RELU : CK_ACT_LINEAR, 1.0f);
            forward_loop(r, x, W, bias ? b : NULL, N, C, U, relu);
            float d = ck_test_max_abs_diff(y, r, N * U);
            CK_CHECK(d <= tol_c, "dense_forward N=%ld C=%ld U=%ld relu=%d "
                     "bias=%d: max diff %g", (long)N, (long)C, (long)U, relu,
                     bias, d);
        }

    /* y holds relu(x @ W + b); dz = dy * (y > 0) */
    for (int64_t i = 0; i < N * U; i++) r[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    for (int64_t c = 0; c < C; c++)
        for (int64_t u = 0; u < U; u++) {
            double s = 0.0;
            for (int64_t n = 0; n < N; n++)
                s += (double)x[n * C + c] * (double)r[n * U + u];
            rdW[c * U + u] = (float)s;
        }
    for (int64_t u = 0; u < U; u++) {
        double s = 0.0;
        for (int64_t n = 0; n < N; n++) s += r[n * U + u];
        rdb[u] = (float)s;
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0.0;
            for (int64_t u = 0; u < U; u++)
                s += (double)r[n * U + u] * (double)W[c * U + u];
            rdx[n * C + c] = (float)s;
        }
    /* twice into zeroed buffers: the second call must add the same again */
    for (int64_t i = 0; i < N * C; i++) dx[i] = 0.0f;
    for (int64_t i = 0; i < C * U; i++) dW[i] = 0.0f;
    for (int64_t i = 0; i < U; i++) db[i] = 0.0f;
    for (int rep = 1; rep <= 2; rep++) {
        for (int64_t i = 0; i < N * U; i++) ws[i] = NAN;
        ck_dense_backward(dx, dW, db, dy, x, W, y, N, C, U, CK_ACT_RELU, 1.0f,
                          ws);
        float ddx = 0.0f, ddW = 0.0f, ddb = 0.0f;
        for (int64_t i = 0; i < N * C; i++) {
            float d = fabsf(dx[i] - (float)rep * rdx[i]);
            if (!(d <= ddx)) ddx = d;
        }
        for (int64_t i = 0; i < C * U; i++) {
            float d = fabsf(dW[i] - (float)rep * rdW[i]);
            if (!(d <= ddW)) ddW = d;
        }
        for (int64_t i = 0; i < U; i++) {
            float d = fabsf(db[i] - (float)rep * rdb[i]);
            if (!(d <= ddb)) ddb = d;
        }
        CK_CHECK(ddx <= 2e-5f * (float)(U + 1) && ddW <= 2e-5f * (float)(N + 1)
                 && ddb <= 2e-5f * (float)(N + 1),
                 "dense_backward N=%ld C=%ld U=%ld call %d: max diff dx %g "
                 "dW %g db %g", (long)N, (long)C, (long)U, rep, ddx, ddW, ddb);
    }
    /* NULL dx and db: dW alone, once more */
    ck_dense_backward(NULL, dW, NULL, dy, x, W, y, N, C, U, CK_ACT_RELU, 1.0f,
                      ws);
    float ddW = 0.0f;
    for (int64_t i = 0; i < C * U; i++) {
        float d = fabsf(dW[i] - 3.0f * rdW[i]);
        if (!(d <= ddW)) ddW = d;
    }
    CK_CHECK(ddW <= 3e-5f * (float)(N + 1),
             "dense_backward NULL dx/db N=%ld C=%ld U=%ld: max diff dW %g",
             (long)N, (long)C, (long)U, ddW);
    free(x); free(W); free(b); free(y); free(r); free(dy); free(dx);
    free(dW); free(db); free(ws); free(rdx); free(rdW); free(rdb);
}

void ck_test_dense(void) {
    static const int64_t sizes[][3] = {
        {1, 1, 1}, {1, 9, 4}, {7, 1, 3}, {5, 3, 1}, {0, 4, 3}, {6, 0, 5},
        {33, 17, 65}, {65, 31, 300}, {130, 40, 20}, {257, 64, 33},
        {130, 200, 100}, {97, 300, 80}, {300, 140, 200}};
    /* the last three: fused row blocks; the very last merges a 44-row tail */
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        one(sizes[s][0], sizes[s][1], sizes[s][2]);
}
