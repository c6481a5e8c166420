/* Depthwise Conv2D forward/backward on edge shapes (1x1 images and
 * kernels, strides, dilation, asymmetric 'same' pads, kernel larger than
 * the image, multipliers 1 and 3, several tiles), both layouts,
 * exact-size buffers and workspace, against direct loops. */
#include "test_util.h"

static int64_t at4(int cf, int64_t n, int64_t h, int64_t w, int64_t c,
                   int64_t H, int64_t W, int64_t C) {
    return cf ? ((n * C + c) * H + h) * W + w : ((n * H + h) * W + w) * C + c;
}

static void one(ck_conv_geom g, int64_t M) {
    const int cf = (int)g.channels_first;
    const int64_t C = g.C, CM = C * M, nx = g.N * g.H * g.W * C;
    const int64_t ny = g.N * g.OH * g.OW * CM, nw = g.kh * g.kw * CM;
    float *x = ck_test_alloc(nx), *W = ck_test_alloc(nw), *b = ck_test_alloc(CM);
    float *y = ck_test_alloc(ny), *ry = ck_test_alloc(ny), *dy = ck_test_alloc(ny);
    float *dx = ck_test_alloc(nx), *rdx = ck_test_alloc(nx);
    float *dW = ck_test_alloc(nw), *rdW = ck_test_alloc(nw);
    float *db = ck_test_alloc(CM), *rdb = ck_test_alloc(CM);
    float *ws = ck_test_alloc(ck_depthwise_conv2d_workspace_size(&g, M));
    ck_test_fill(x, nx, 21, -1.0f, 1.0f);
    ck_test_fill(W, nw, 22, -1.0f, 1.0f);
    ck_test_fill(b, CM, 23, -1.0f, 1.0f);
    ck_test_fill(dy, ny, 24, -1.0f, 1.0f);
    for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = 0.25f;
    for (int64_t k = 0; k < nw; k++) dW[k] = rdW[k] = 0.25f;
    for (int64_t k = 0; k < CM; k++) db[k] = rdb[k] = 0.25f;

    ck_depthwise_conv2d_forward(y, x, W, b, &g, M);
    ck_depthwise_conv2d_backward(dx, dW, db, dy, x, W, &g, M, ws);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t oh = 0; oh < g.OH; oh++)
            for (int64_t ow = 0; ow < g.OW; ow++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t m = 0; m < M; m++) {
                        const int64_t k = c * M + m;
                        const int64_t yi = at4(cf, n, oh, ow, k, g.OH, g.OW, CM);
                        double acc = b[k];
                        rdb[k] += dy[yi];
                        for (int64_t i = 0; i < g.kh; i++)
                            for (int64_t j = 0; j < g.kw; j++) {
                                int64_t ih = oh * g.stride_h - g.pad_top + i * g.dilation_h;
                                int64_t iw = ow * g.stride_w - g.pad_left + j * g.dilation_w;
                                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                const int64_t xi = at4(cf, n, ih, iw, c, g.H, g.W, C);
                                const int64_t wi = (i * g.kw + j) * CM + k;
                                acc += (double)x[xi] * W[wi];
                                rdx[xi] += dy[yi] * W[wi];
                                rdW[wi] += dy[yi] * x[xi];
                            }
                        ry[yi] = (float)acc;
                    }
    float worst = ck_test_max_abs_diff(y, ry, ny);
    CK_CHECK(worst <= 1e-5f * (float)(g.kh * g.kw + 1),
             "depthwise_forward N=%ld H=%ld W=%ld C=%ld M=%ld cf=%d: max diff %g",
             (long)g.N, (long)g.H, (long)g.W, (long)C, (long)M, cf, worst);
    const float tol = 1e-4f + 1e-6f * (float)(g.N * g.OH * g.OW);
    worst = ck_test_max_abs_diff(dx, rdx, nx);
    CK_CHECK(worst <= tol, "depthwise_backward dx M=%ld cf=%d: max diff %g",
             (long)M, cf, worst);
    worst = ck_test_max_abs_diff(dW, rdW, nw);
    CK_CHECK(worst <= tol, "depthwise_backward dW M=%ld cf=%d: max diff %g",
             (long)M, cf, worst);
    worst = ck_test_max_abs_diff(db, rdb, CM);
    CK_CHECK(worst <= tol, "depthwise_backward db M=%ld cf=%d: max diff %g",
             (long)M, cf, worst);
    /* bias, dx and db are optional */
    ck_depthwise_conv2d_forward(y, x, W, NULL, &g, M);
    ck_depthwise_conv2d_backward(NULL, dW, NULL, dy, x, W, &g, M, ws);
    free(x); free(W); free(b); free(y); free(ry); free(dy); free(dx);
    free(rdx); free(dW); free(rdW); free(db); free(rdb); free(ws);
}

void ck_test_depthwise(void) {
    /* N, H, W, C, OH, OW, kh, kw, sh, sw, dh, dw, pad_top, pad_left, M */
    static const int64_t cases[][15] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},
        {2, 5, 6, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1},    /* valid */
        {3, 7, 9, 5, 7, 9, 3, 2, 1, 1, 1, 1, 1, 0, 2},    /* same */
        {2, 8, 7, 2, 4, 3, 3, 3, 2, 3, 1, 1, 0, 1, 3},    /* same, strided */
        {1, 10, 11, 2, 10, 11, 3, 3, 1, 1, 2, 3, 2, 3, 1}, /* dilated */
        {2, 6, 5, 17, 6, 5, 1, 1, 1, 1, 1, 1, 0, 0, 1},   /* 1x1 */
        {2, 4, 4, 2, 4, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2},    /* k > image */
        {37, 9, 9, 3, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* tiles */
        {2, 9, 7, 3, 3, 3, 2, 4, 3, 2, 1, 1, 0, 0, 2},    /* valid, strided */
    };
    for (size_t s = 0; s < sizeof(cases) / sizeof(cases[0]); s++)
        for (int cf = 0; cf < 2; cf++) {
            const int64_t *v = cases[s];
            ck_conv_geom g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                              v[8], v[9], v[10], v[11], v[12], v[13], cf};
            one(g, v[14]);
        }
}
