/* Max and average pooling forward/backward on edge shapes (1x1, windows
 * larger than strides, asymmetric 'same' pads, ties), both layouts,
 * exact-size buffers, against direct loops over the windows. */
#include "test_util.h"

static int64_t at(const ck_conv_geom *g, int64_t n, int64_t h, int64_t w,
                  int64_t c, int64_t H, int64_t W) {
    return g->channels_first ? ((n * g->C + c) * H + h) * W + w
                             : ((n * H + h) * W + w) * g->C + c;
}

static void one(ck_conv_geom g, int ties) {
    const int64_t nx = g.N * g.H * g.W * g.C, ny = g.N * g.OH * g.OW * g.C;
    float *x = ck_test_alloc(nx), *y = ck_test_alloc(ny), *ry = ck_test_alloc(ny);
    float *a = ck_test_alloc(ny), *ra = ck_test_alloc(ny), *dy = ck_test_alloc(ny);
    float *dx = ck_test_alloc(nx), *rdx = ck_test_alloc(nx);
    float *da = ck_test_alloc(nx), *rda = ck_test_alloc(nx);
    ck_test_fill(x, nx, 5, -1.0f, 1.0f);
    if (ties) /* few distinct values: many windows with several maxima */
        for (int64_t k = 0; k < nx; k++) x[k] = (float)(int)(x[k] * 2.0f);
    ck_test_fill(dy, ny, 6, -1.0f, 1.0f);
    for (int64_t k = 0; k < nx; k++) dx[k] = rdx[k] = da[k] = rda[k] = 0.5f;
    ck_max_pool2d_forward(y, x, &g);
    ck_avg_pool2d_forward(a, x, &g);
    ck_max_pool2d_backward(dx, dy, x, &g);
    ck_avg_pool2d_backward(da, dy, &g);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t c = 0; c < g.C; c++)
            for (int64_t oh = 0; oh < g.OH; oh++)
                for (int64_t ow = 0; ow < g.OW; ow++) {
                    int64_t best = -1, count = 0;
                    double sum = 0.0;
                    for (int64_t i = 0; i < g.kh; i++)
                        for (int64_t j = 0; j < g.kw; j++) {
                            int64_t h = oh * g.stride_h - g.pad_top + i;
                            int64_t w = ow * g.stride_w - g.pad_left + j;
                            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                            int64_t t = at(&g, n, h, w, c, g.H, g.W);
                            if (best < 0 || x[t] > x[best]) best = t;
                            sum += x[t];
                            count++;
                        }
                    int64_t o = at(&g, n, oh, ow, c, g.OH, g.OW);
                    ry[o] = x[best];
                    ra[o] = (float)(sum / (double)count);
                    rdx[best] += dy[o];
                    for (int64_t i = 0; i < g.kh; i++)
                        for (int64_t j = 0; j < g.kw; j++) {
                            int64_t h = oh * g.stride_h - g.pad_top + i;
                            int64_t w = ow * g.stride_w - g.pad_left + j;
                            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                            rda[at(&g, n, h, w, c, g.H, g.W)] += dy[o] / (float)count;
                        }
                }
    CK_CHECK(ck_test_max_abs_diff(y, ry, ny) == 0.0f,
             "max_pool2d_forward H=%ld W=%ld cf=%ld", (long)g.H, (long)g.W,
             (long)g.channels_first);
    CK_CHECK(ck_test_max_abs_diff(dx, rdx, nx) <= 1e-5f,
             "max_pool2d_backward H=%ld W=%ld cf=%ld ties=%d", (long)g.H,
             (long)g.W, (long)g.channels_first, ties);
    CK_CHECK(ck_test_max_abs_diff(a, ra, ny) <= 1e-5f,
             "avg_pool2d_forward H=%ld W=%ld cf=%ld", (long)g.H, (long)g.W,
             (long)g.channels_first);
    CK_CHECK(ck_test_max_abs_diff(da, rda, nx) <= 1e-5f,
             "avg_pool2d_backward H=%ld W=%ld cf=%ld", (long)g.H, (long)g.W,
             (long)g.channels_first);
    free(x); free(y); free(ry); free(a); free(ra); free(dy);
    free(dx); free(rdx); free(da); free(rda);
}

void ck_test_pool(void) {
    /* N, H, W, C, OH, OW, kh, kw, sh, sw, pad_top, pad_left */
    static const int64_t cases[][12] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {2, 6, 7, 3, 3, 3, 2, 2, 2, 2, 0, 0},     /* valid, odd width */
        {2, 7, 7, 5, 4, 4, 3, 3, 2, 2, 1, 1},     /* same */
        {3, 8, 5, 2, 4, 5, 3, 2, 2, 1, 0, 0},     /* same, pads after */
        {1, 5, 6, 70, 5, 3, 3, 3, 1, 2, 1, 0},    /* channels > chunk */
        {2, 3, 3, 4, 1, 1, 3, 3, 3, 3, 0, 0},     /* global */
        {2, 1, 9, 3, 1, 5, 1, 2, 1, 2, 0, 0},     /* 1-D as H = 1 */
    };
    for (size_t s = 0; s < sizeof(cases) / sizeof(cases[0]); s++)
        for (int cf = 0; cf < 2; cf++)
            for (int ties = 0; ties < 2; ties++) {
                const int64_t *v = cases[s];
                ck_conv_geom g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6],
                                  v[7], v[8], v[9], 1, 1, v[10], v[11], cf};
                one(g, ties);
            }
}
