/* im2col, col2im and Conv2D forward/backward on edge shapes (1x1 images
 * and kernels, strides, dilation, asymmetric 'same' pads, kernel larger
 * than the image, several tiles), both layouts, exact-size buffers and an
 * exact-size workspace, against direct loops. */
#include "test_util.h"

static int64_t at(const ck_conv_geom *g, int64_t n, int64_t h, int64_t w,
                  int64_t c, int64_t H, int64_t W, int64_t C) {
    return g->channels_first ? ((n * C + c) * H + h) * W + w
                             : ((n * H + h) * W + w) * C + c;
}

/* Input cell read by tap (i, j) of output (oh, ow), or -1 for padding. */
static int64_t tap(const ck_conv_geom *g, int64_t n, int64_t oh, int64_t ow,
                   int64_t i, int64_t j, int64_t c) {
    int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
    int64_t iw = ow * g->stride_w - g->pad_left + j * g->dilation_w;
    if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) return -1;
    return at(g, n, ih, iw, c, g->H, g->W, g->C);
}

static void one(ck_conv_geom g, int64_t K) {
    const int64_t KC = g.kh * g.kw * g.C, P = g.OH * g.OW;
    const int64_t nx = g.N * g.H * g.W * g.C, ny = g.N * P * K;
    const int64_t nw = KC * K, ncols = g.N * P * KC;
    float *x = ck_test_alloc(nx), *W = ck_test_alloc(nw), *b = ck_test_alloc(K);
    float *y = ck_test_alloc(ny), *ry = ck_test_alloc(ny), *dy = ck_test_alloc(ny);
    float *cols = ck_test_alloc(ncols), *dx = ck_test_alloc(nx);
    float *rdx = ck_test_alloc(nx), *dW = ck_test_alloc(nw);
    float *rdW = ck_test_alloc(nw), *db = ck_test_alloc(K), *rdb = ck_test_alloc(K);
    float *ws = ck_test_alloc(ck_conv2d_workspace_size(&g, K));
    ck_test_fill(x, nx, 1, -1.0f, 1.0f);
    ck_test_fill(W, nw, 2, -1.0f, 1.0f);
    ck_test_fill(b, K, 3, -1.0f, 1.0f);
    ck_test_fill(dy, ny, 4, -1.0f, 1.0f);

    /* im2col against the tap formula; col2im as its adjoint */
    ck_im2col(cols, x, &g);
    float worst = 0.0f;
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t i = 0; i < g.kh; i++)
                for (int64_t j = 0; j < g.kw; j++)
                    for (int64_t c = 0; c < g.C; c++) {
                        int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                        float want = t < 0 ? 0.0f : x[t];
                        float got = cols[(n * P + p) * KC + (i * g.kw + j) * g.C + c];
                        if (got != want) worst = 1.0f;
                    }
    CK_CHECK(worst == 0.0f, "im2col N=%ld H=%ld W=%ld cf=%ld: mismatch",
             (long)g.N, (long)g.H, (long)g.W, (long)g.channels_first);
    for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.5f;
    ck_col2im(dx, cols, &g);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t i = 0; i < g.kh; i++)
                for (int64_t j = 0; j < g.kw; j++)
                    for (int64_t c = 0; c < g.C; c++) {
                        int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                        if (t >= 0)
                            rdx[t] += cols[(n * P + p) * KC + (i * g.kw + j) * g.C + c];
                    }
    worst = ck_test_max_abs_diff(dx, rdx, nx);
    CK_CHECK(worst <= 1e-4f, "col2im N=%ld H=%ld W=%ld cf=%ld: max diff %g",
             (long)g.N, (long)g.H, (long)g.W, (long)g.channels_first, worst);

    /* forward against the direct sum */
    ck_conv2d_forward(y, x, W, b, &g, K, CK_ACT_LINEAR, 1.0f, ws);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t k = 0; k < K; k++) {
                double acc = b[k];
                for (int64_t i = 0; i < g.kh; i++)
                    for (int64_t j = 0; j < g.kw; j++)
                        for (int64_t c = 0; c < g.C; c++) {
                            int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                            if (t >= 0)
                                acc += (double)x[t] * W[((i * g.kw + j) * g.C + c) * K + k];
                        }
                ry[at(&g, n, p / g.OW, p % g.OW, k, g.OH, g.OW, K)] = (float)acc;
            }
    worst = ck_test_max_abs_diff(y, ry, ny);
    CK_CHECK(worst <= 1e-4f * (float)(KC + 1),
             "conv2d_forward N=%ld H=%ld W=%ld K=%ld cf=%ld: max diff %g",
             (long)g.N, (long)g.H, (long)g.W, (long)K, (long)g.channels_first,
             worst);

    /* backward (accumulating onto 0.25) against the direct sums */
    for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.25f;
    for (int64_t k = 0; k < nw; k++) dW[k] = rdW[k] = 0.25f;
    for (int64_t k = 0; k < K; k++) db[k] = rdb[k] = 0.25f;
    ck_conv2d_backward(dx, dW, db, dy, x, W, y, &g, K, CK_ACT_LINEAR, 1.0f, ws);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t k = 0; k < K; k++) {
                float d = dy[at(&g, n, p / g.OW, p % g.OW, k, g.OH, g.OW, K)];
                rdb[k] += d;
                for (int64_t i = 0; i < g.kh; i++)
                    for (int64_t j = 0; j < g.kw; j++)
                        for (int64_t c = 0; c < g.C; c++) {
                            int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                            int64_t wi = ((i * g.kw + j) * g.C + c) * K + k;
                            if (t < 0) continue;
                            rdx[t] += d * W[wi];
                            rdW[wi] += d * x[t];
                        }
            }
    float tol = 1e-4f + 1e-6f * (float)(g.N * P + KC * K);
    worst = ck_test_max_abs_diff(dx, rdx, nx);
    CK_CHECK(worst <= tol, "conv2d_backward dx cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    worst = ck_test_max_abs_diff(dW, rdW, nw);
    CK_CHECK(worst <= tol, "conv2d_backward dW cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    worst = ck_test_max_abs_diff(db, rdb, K);
    CK_CHECK(worst <= tol, "conv2d_backward db cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    /* dx and db are optional */
    ck_conv2d_backward(NULL, dW, NULL, dy, x, W, y, &g, K, CK_ACT_LINEAR, 1.0f, ws);

    /* fused activations (softmax: along the output's last axis) equal the
     * linear conv followed by the activation kernels */
    static const int acts[] = {CK_ACT_TANH, CK_ACT_SOFTMAX, CK_ACT_ELU};
    const int64_t last = g.channels_first ? g.OW : K;
    for (size_t a = 0; a < sizeof(acts) / sizeof(acts[0]); a++) {
        ck_conv2d_forward(ry, x, W, b, &g, K, CK_ACT_LINEAR, 1.0f, ws);
        ck_activation_forward(ry, ry, ny / last, last, acts[a], 0.5f);
        ck_conv2d_forward(y, x, W, b, &g, K, acts[a], 0.5f, ws);
        worst = ck_test_max_abs_diff(y, ry, ny);
        CK_CHECK(worst <= 1e-6f, "conv2d_forward act=%d cf=%ld: max diff %g",
                 acts[a], (long)g.channels_first, worst);
        /* backward with act == linear backward of dz = dy * act'(y) */
        float *dz = ck_test_alloc(ny);
        for (int64_t k = 0; k < ny; k++) dz[k] = 0.0f;
        ck_activation_backward(dz, dy, y, ny / last, last, acts[a], 0.5f);
        for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.0f;
        for (int64_t k = 0; k < nw; k++) dW[k] = rdW[k] = 0.0f;
        for (int64_t k = 0; k < K; k++) db[k] = rdb[k] = 0.0f;
        ck_conv2d_backward(dx, dW, db, dy, x, W, y, &g, K, acts[a], 0.5f, ws);
        ck_conv2d_backward(rdx, rdW, rdb, dz, x, W, y, &g, K, CK_ACT_LINEAR,
                           1.0f, ws);
        worst = ck_test_max_abs_diff(dx, rdx, nx);
        if (ck_test_max_abs_diff(dW, rdW, nw) > worst)
            worst = ck_test_max_abs_diff(dW, rdW, nw);
        if (ck_test_max_abs_diff(db, rdb, K) > worst)
            worst = ck_test_max_abs_diff(db, rdb, K);
        CK_CHECK(worst == 0.0f, "conv2d_backward act=%d cf=%ld: max diff %g",
                 acts[a], (long)g.channels_first, worst);
        free(dz);
    }

    free(x); free(W); free(b); free(y); free(ry); free(dy); free(cols);
    free(dx); free(rdx); free(dW); free(rdW); free(db); free(rdb); free(ws);
}

/* Conv2DTranspose with the same geometry read backwards: xt has the
 * conv's output shape (K channels), yt its input shape (C channels). */
static void one_transpose(ck_conv_geom g, int64_t K) {
    const int64_t KC = g.kh * g.kw * g.C, P = g.OH * g.OW, C = g.C;
    const int64_t ny = g.N * g.H * g.W * C, nx = g.N * P * K, nw = KC * K;
    float *x = ck_test_alloc(nx), *W = ck_test_alloc(nw), *b = ck_test_alloc(C);
    float *y = ck_test_alloc(ny), *ry = ck_test_alloc(ny), *dy = ck_test_alloc(ny);
    float *dx = ck_test_alloc(nx), *rdx = ck_test_alloc(nx);
    float *dW = ck_test_alloc(nw), *rdW = ck_test_alloc(nw);
    float *db = ck_test_alloc(C), *rdb = ck_test_alloc(C);
    float *ws = ck_test_alloc(ck_conv2d_transpose_workspace_size(&g, K));
    ck_test_fill(x, nx, 11, -1.0f, 1.0f);
    ck_test_fill(W, nw, 12, -1.0f, 1.0f);
    ck_test_fill(b, C, 13, -1.0f, 1.0f);
    ck_test_fill(dy, ny, 14, -1.0f, 1.0f);

    /* forward: every (output pixel of the conv, tap) scatters into y */
    ck_conv2d_transpose_forward(y, x, W, b, &g, K, CK_ACT_LINEAR, 1.0f, ws);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t h = 0; h < g.H; h++)
            for (int64_t w = 0; w < g.W; w++)
                for (int64_t c = 0; c < C; c++)
                    ry[at(&g, n, h, w, c, g.H, g.W, C)] = b[c];
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t i = 0; i < g.kh; i++)
                for (int64_t j = 0; j < g.kw; j++)
                    for (int64_t c = 0; c < C; c++) {
                        int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                        if (t < 0) continue;
                        for (int64_t k = 0; k < K; k++)
                            ry[t] += x[at(&g, n, p / g.OW, p % g.OW, k, g.OH, g.OW, K)] *
                                     W[((i * g.kw + j) * C + c) * K + k];
                    }
    float worst = ck_test_max_abs_diff(y, ry, ny);
    CK_CHECK(worst <= 1e-5f * (float)(KC * K + 1),
             "conv2d_transpose_forward N=%ld H=%ld W=%ld cf=%ld: max diff %g",
             (long)g.N, (long)g.H, (long)g.W, (long)g.channels_first, worst);

    /* backward, accumulating onto 0.25 */
    for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.25f;
    for (int64_t k = 0; k < nw; k++) dW[k] = rdW[k] = 0.25f;
    for (int64_t k = 0; k < C; k++) db[k] = rdb[k] = 0.25f;
    ck_conv2d_transpose_backward(dx, dW, db, dy, x, W, y, &g, K, CK_ACT_LINEAR,
                                 1.0f, ws);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t h = 0; h < g.H; h++)
            for (int64_t w = 0; w < g.W; w++)
                for (int64_t c = 0; c < C; c++)
                    rdb[c] += dy[at(&g, n, h, w, c, g.H, g.W, C)];
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t p = 0; p < P; p++)
            for (int64_t i = 0; i < g.kh; i++)
                for (int64_t j = 0; j < g.kw; j++)
                    for (int64_t c = 0; c < C; c++) {
                        int64_t t = tap(&g, n, p / g.OW, p % g.OW, i, j, c);
                        if (t < 0) continue;
                        for (int64_t k = 0; k < K; k++) {
                            int64_t xi = at(&g, n, p / g.OW, p % g.OW, k, g.OH, g.OW, K);
                            int64_t wi = ((i * g.kw + j) * C + c) * K + k;
                            rdx[xi] += dy[t] * W[wi];
                            rdW[wi] += dy[t] * x[xi];
                        }
                    }
    float tol = 1e-4f + 1e-6f * (float)(g.N * g.H * g.W + KC * K);
    worst = ck_test_max_abs_diff(dx, rdx, nx);
    CK_CHECK(worst <= tol, "conv2d_transpose_backward dx cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    worst = ck_test_max_abs_diff(dW, rdW, nw);
    CK_CHECK(worst <= tol, "conv2d_transpose_backward dW cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    worst = ck_test_max_abs_diff(db, rdb, C);
    CK_CHECK(worst <= tol, "conv2d_transpose_backward db cf=%ld: max diff %g",
             (long)g.channels_first, worst);
    ck_conv2d_transpose_backward(NULL, dW, NULL, dy, x, W, y, &g, K,
                                 CK_ACT_LINEAR, 1.0f, ws);

    /* fused activations equal linear + the activation kernels */
    static const int acts[] = {CK_ACT_TANH, CK_ACT_SOFTMAX};
    const int64_t last = g.channels_first ? g.W : C;
    for (size_t a = 0; a < sizeof(acts) / sizeof(acts[0]); a++) {
        ck_conv2d_transpose_forward(ry, x, W, b, &g, K, CK_ACT_LINEAR, 1.0f, ws);
        ck_activation_forward(ry, ry, ny / last, last, acts[a], 1.0f);
        ck_conv2d_transpose_forward(y, x, W, b, &g, K, acts[a], 1.0f, ws);
        worst = ck_test_max_abs_diff(y, ry, ny);
        CK_CHECK(worst <= 1e-6f, "conv2d_transpose_forward act=%d cf=%ld: %g",
                 acts[a], (long)g.channels_first, worst);
        float *dz = ck_test_alloc(ny);
        for (int64_t k = 0; k < ny; k++) dz[k] = 0.0f;
        ck_activation_backward(dz, dy, y, ny / last, last, acts[a], 1.0f);
        for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.0f;
        for (int64_t k = 0; k < nw; k++) dW[k] = rdW[k] = 0.0f;
        for (int64_t k = 0; k < C; k++) db[k] = rdb[k] = 0.0f;
        ck_conv2d_transpose_backward(dx, dW, db, dy, x, W, y, &g, K, acts[a],
                                     1.0f, ws);
        ck_conv2d_transpose_backward(rdx, rdW, rdb, dz, x, W, y, &g, K,
                                     CK_ACT_LINEAR, 1.0f, ws);
        worst = ck_test_max_abs_diff(dx, rdx, nx);
        if (ck_test_max_abs_diff(dW, rdW, nw) > worst)
            worst = ck_test_max_abs_diff(dW, rdW, nw);
        if (ck_test_max_abs_diff(db, rdb, C) > worst)
            worst = ck_test_max_abs_diff(db, rdb, C);
        CK_CHECK(worst == 0.0f, "conv2d_transpose_backward act=%d cf=%ld: %g",
                 acts[a], (long)g.channels_first, worst);
        free(dz);
    }
    free(x); free(W); free(b); free(y); free(ry); free(dy); free(dx);
    free(rdx); free(dW); free(rdW); free(db); free(rdb); free(ws);
}

void ck_test_conv(void) {
    /* N, H, W, C, OH, OW, kh, kw, sh, sw, dh, dw, pad_top, pad_left, cf; K */
    static const int64_t cases[][16] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1},
        {2, 5, 6, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 4},   /* valid */
        {3, 7, 9, 3, 7, 9, 3, 2, 1, 1, 1, 1, 1, 0, 0, 5},   /* same */
        {2, 8, 7, 2, 4, 3, 3, 3, 2, 3, 1, 1, 0, 1, 0, 3},   /* same, strided */
        {1, 10, 11, 2, 10, 11, 3, 3, 1, 1, 2, 3, 2, 3, 0, 3}, /* dilated */
        {2, 6, 5, 5, 6, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 7},   /* 1x1 */
        {2, 4, 4, 2, 4, 4, 5, 5, 1, 1, 1, 1, 2, 2, 0, 3},   /* k > image */
        {2, 1, 9, 3, 1, 5, 1, 3, 1, 2, 1, 1, 0, 2, 0, 4},   /* causal 1-D */
        {65, 12, 12, 9, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 0, 6}, /* tiles */
        {3, 40, 33, 8, 40, 33, 3, 3, 1, 1, 1, 1, 1, 1, 0, 5}, /* chunks */
        {2, 6, 7, 32, 4, 5, 3, 3, 1, 1, 1, 1, 0, 0, 0, 5},  /* depth 192+96 */
        {2, 5, 6, 70, 5, 6, 3, 2, 1, 1, 1, 1, 1, 0, 0, 3},  /* depth 3x140 */
        {2, 7, 9, 8, 5, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 8},   /* Winograd dx */
        {3, 6, 5, 9, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0, 10},  /* Winograd, same */
    };
    for (size_t s = 0; s < sizeof(cases) / sizeof(cases[0]); s++)
        for (int cf = 0; cf < 2; cf++) {
            const int64_t *v = cases[s];
            ck_conv_geom g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                              v[8], v[9], v[10], v[11], v[12], v[13], cf};
            one(g, v[15]);
            one_transpose(g, v[15]);
        }
}
