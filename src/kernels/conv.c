/*
 * conv.c: im2col / col2im and Conv2D forward and backward (TensorFlow's
 * cross-correlation, Keras 2's weight layout).
 *
 * Geometry (ck_conv_geom, ckeras_kernels.h): x is [N,H,W,C] (NHWC) or
 * [N,C,H,W] (NCHW); window tap (i, j) of output pixel (oh, ow) reads input
 * row ih = oh*sh - pad_top + i*dh and column iw = ow*sw - pad_left + j*dw;
 * taps outside the image are zeros. KC = kh*kw*C, P = OH*OW.
 *
 *   cols[N*P, KC]    im2col: row (n, oh, ow), column (i, j, c) -- the same
 *                    matrix for both data formats.
 *   W[kh,kw,C,K]     the Keras kernel, i.e. the GEMM operand [KC, K].
 *   y                [N,OH,OW,K] (NHWC) = cols @ W, one GEMM per tile
 *                    [N,K,OH,OW] (NCHW) = per image W^T @ cols_n^T
 *
 * Forward:  y = act(cols @ W + b).
 * Backward: dz = dy * act'(y); db += sum dz; dW += cols^T @ dz;
 *           dcols = dz @ W^T; dx += col2im(dcols).
 *
 * The batch is cut into tiles of T images, T fixed by the shape alone
 * (conv_tile: about CK_CONV_TILE_FLOATS floats of cols per tile), so the
 * im2col buffer stays cache-sized and the workspace does not grow with N.
 * Backward recomputes the tile's cols instead of keeping the forward's,
 * and reuses the cols buffer for dcols once dW is done.
 *
 * Parallelism: ck_sgemm is parallel by itself (panels fixed by shape).
 * im2col blocks own output rows (n, oh); col2im gathers into input rows
 * (n, ih) it owns, adding contributions in a fixed order (i, then ow,
 * then j), so no two threads touch the same dx element and the bits do
 * not depend on the thread count. db sums in a fixed serial order.
 */
#include <string.h>
#include "ck_internal.h"

/* Floats of im2col buffer per tile: 2 MB, a share of L2 + L3 that keeps
 * the tile's cols, the GEMM's packed panels and the output in cache. */
#define CK_CONV_TILE_FLOATS ((int64_t)1 << 19)
/* Output rows per bias/activation block. */
#define CK_CONV_EPILOGUE_ROWS ((int64_t)256)

/* Images per tile: from the shape only, never the thread count. */
static int64_t conv_tile(const ck_conv_geom *g) {
    int64_t per = g->OH * g->OW * g->kh * g->kw * g->C;
    int64_t t = per > 0 ? CK_CONV_TILE_FLOATS / per : g->N;
    if (t > g->N) t = g->N;
    return t < 1 ? 1 : t;
}

/* ---------------------------------------------------------------- */
/* im2col                                                            */
/* ---------------------------------------------------------------- */
typedef struct {
    const ck_conv_geom *g;
    float *cols;      /* [nimg*P, KC] */
    const float *x;   /* nimg images in g's layout */
} im2col_ctx;

/* Block b = (n, oh): writes cols rows (n, oh, 0..OW-1). */
static void im2col_row_nhwc(void *vctx, int64_t b) {
    const im2col_ctx *c = (const im2col_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t H = g->H, W = g->W, C = g->C, kh = g->kh, kw = g->kw;
    const int64_t KC = kh * kw * C, n = b / g->OH, oh = b % g->OH;
    const float *xn = c->x + n * H * W * C;
    float *row = c->cols + b * g->OW * KC;
    for (int64_t ow = 0; ow < g->OW; ow++) {
        const int64_t iw0 = ow * g->stride_w - g->pad_left;
        for (int64_t i = 0; i < kh; i++) {
            const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
            float *d = row + ow * KC + i * kw * C;
            if (ih < 0 || ih >= H) {
                memset(d, 0, (size_t)(kw * C) * sizeof(float));
                continue;
            }
            const float *xr = xn + ih * W * C;
            if (g->dilation_w == 1) {
                /* taps j in [jlo, jhi) are inside the row: one copy */
                int64_t jlo = iw0 < 0 ? -iw0 : 0, jhi = W - iw0;
                if (jhi > kw) jhi = kw;
                if (jlo > kw) jlo = kw;
                if (jhi < jlo) jhi = jlo;
                if (jlo > 0) memset(d, 0, (size_t)(jlo * C) * sizeof(float));
                if (jhi > jlo)
                    memcpy(d + jlo * C, xr + (iw0 + jlo) * C,
                           (size_t)((jhi - jlo) * C) * sizeof(float));
                if (jhi < kw)
                    memset(d + jhi * C, 0,
                           (size_t)((kw - jhi) * C) * sizeof(float));
            } else {
                for (int64_t j = 0; j < kw; j++) {
                    const int64_t iw = iw0 + j * g->dilation_w;
                    if (iw < 0 || iw >= W)
                        memset(d + j * C, 0, (size_t)C * sizeof(float));
                    else
                        memcpy(d + j * C, xr + iw * C, (size_t)C * sizeof(float));
                }
            }
        }
    }
}

/* Block b = (n, oh), NCHW input: reads plane rows, writes strided. */
static void im2col_row_nchw(void *vctx, int64_t b) {
    const im2col_ctx *c = (const im2col_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t H = g->H, W = g->W, C = g->C, kh = g->kh, kw = g->kw;
    const int64_t KC = kh * kw * C, OW = g->OW, n = b / g->OH, oh = b % g->OH;
    const float *xn = c->x + n * C * H * W;
    float *row = c->cols + b * OW * KC;
    for (int64_t ch = 0; ch < C; ch++) {
        const float *plane = xn + ch * H * W;
        for (int64_t i = 0; i < kh; i++) {
            const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
            for (int64_t j = 0; j < kw; j++) {
                float *d = row + (i * kw + j) * C + ch;
                const int64_t iw0 = j * g->dilation_w - g->pad_left;
                if (ih < 0 || ih >= H) {
                    for (int64_t ow = 0; ow < OW; ow++) d[ow * KC] = 0.0f;
                    continue;
                }
                const float *xr = plane + ih * W;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t iw = iw0 + ow * g->stride_w;
                    d[ow * KC] = (iw >= 0 && iw < W) ? xr[iw] : 0.0f;
                }
            }
        }
    }
}

/* cols[nimg*P, KC] from nimg images starting at x. */
static void im2col_images(float *cols, const float *x, const ck_conv_geom *g,
                          int64_t nimg) {
    im2col_ctx c = {g, cols, x};
    ck_parallel_for(nimg * g->OH,
                    g->channels_first ? im2col_row_nchw : im2col_row_nhwc, &c);
}

void ck_im2col(float *cols, const float *x, const ck_conv_geom *g) {
    if (g->N <= 0 || g->OH <= 0 || g->OW <= 0 || g->kh * g->kw * g->C <= 0)
        return;
    im2col_images(cols, x, g, g->N);
}

/* ---------------------------------------------------------------- */
/* col2im (the adjoint of im2col): gather into input rows            */
/* ---------------------------------------------------------------- */
typedef struct {
    const ck_conv_geom *g;
    float *dx;            /* nimg images in g's layout */
    const float *dcols;   /* [nimg*P, KC] */
} col2im_ctx;

/* d[0..n) += s[0..n) */
CK_VECTOR_CLONES static void add_into(float *restrict d,
                                      const float *restrict s, int64_t n) {
    for (int64_t k = 0; k < n; k++) d[k] += s[k];
}

/* Output row oh whose tap i reads input row ih, or -1. */
static inline int64_t source_row(const ck_conv_geom *g, int64_t ih, int64_t i) {
    const int64_t t = ih + g->pad_top - i * g->dilation_h;
    if (t < 0 || t % g->stride_h != 0) return -1;
    return t / g->stride_h < g->OH ? t / g->stride_h : -1;
}

/* Block b = (n, ih): dx[n, ih, :, :] += every tap that reads that row. */
static void col2im_row_nhwc(void *vctx, int64_t b) {
    const col2im_ctx *c = (const col2im_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t W = g->W, C = g->C, kw = g->kw, OW = g->OW;
    const int64_t KC = g->kh * kw * C, n = b / g->H, ih = b % g->H;
    float *dxr = c->dx + b * W * C;
    for (int64_t i = 0; i < g->kh; i++) {
        const int64_t oh = source_row(g, ih, i);
        if (oh < 0) continue;
        const float *src = c->dcols + (n * g->OH + oh) * OW * KC + i * kw * C;
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t iw0 = ow * g->stride_w - g->pad_left;
            for (int64_t j = 0; j < kw; j++) {
                const int64_t iw = iw0 + j * g->dilation_w;
                if (iw >= 0 && iw < W)
                    add_into(dxr + iw * C, src + ow * KC + j * C, C);
            }
        }
    }
}

/* Block b = (n, ih), NCHW: owns dx[n, :, ih, :]. */
static void col2im_row_nchw(void *vctx, int64_t b) {
    const col2im_ctx *c = (const col2im_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t H = g->H, W = g->W, C = g->C, kw = g->kw, OW = g->OW;
    const int64_t KC = g->kh * kw * C, n = b / H, ih = b % H;
    float *dxn = c->dx + n * C * H * W + ih * W;
    for (int64_t i = 0; i < g->kh; i++) {
        const int64_t oh = source_row(g, ih, i);
        if (oh < 0) continue;
        const float *src = c->dcols + (n * g->OH + oh) * OW * KC + i * kw * C;
        for (int64_t ch = 0; ch < C; ch++) {
            float *dxr = dxn + ch * H * W;
            for (int64_t j = 0; j < kw; j++) {
                const float *s = src + j * C + ch;
                const int64_t iw0 = j * g->dilation_w - g->pad_left;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t iw = iw0 + ow * g->stride_w;
                    if (iw >= 0 && iw < W) dxr[iw] += s[ow * KC];
                }
            }
        }
    }
}

/* dx (nimg images) += col2im(dcols[nimg*P, KC]). */
static void col2im_images(float *dx, const float *dcols,
                          const ck_conv_geom *g, int64_t nimg) {
    col2im_ctx c = {g, dx, dcols};
    ck_parallel_for(nimg * g->H,
                    g->channels_first ? col2im_row_nchw : col2im_row_nhwc, &c);
}

void ck_col2im(float *dx, const float *dcols, const ck_conv_geom *g) {
    if (g->N <= 0 || g->H <= 0 || g->OH <= 0 || g->OW <= 0 ||
        g->kh * g->kw * g->C <= 0)
        return;
    col2im_images(dx, dcols, g, g->N);
}

/* ---------------------------------------------------------------- */
/* Conv2D                                                            */
/* ---------------------------------------------------------------- */
int64_t ck_conv2d_workspace_size(const ck_conv_geom *g, int64_t K) {
    const int64_t T = conv_tile(g), P = g->OH * g->OW;
    /* cols (reused for dcols), dz of one tile, the tile's db sums */
    return T * P * g->kh * g->kw * g->C + T * P * K + K;
}

/* Activation of rows x cols floats in place (linear: nothing).
 * PENDING(act): activations.c is not on main yet; until it lands only
 * linear is wired (the binding rejects the others). */
static void act_forward(float *y, int64_t rows, int64_t cols, int act,
                        float alpha) {
    (void)y; (void)rows; (void)cols; (void)act; (void)alpha;
}

/* dz[rows, cols] += dy * act'(y). PENDING(act), as act_forward. */
static void act_backward(float *dz, const float *dy, const float *y,
                         int64_t rows, int64_t cols, int act, float alpha) {
    (void)y; (void)act; (void)alpha;
    add_into(dz, dy, rows * cols);
}

typedef struct {
    float *y;          /* NHWC: [rows, K]; NCHW: [planes = nimg*K, P] */
    const float *b;    /* [K] or NULL */
    int64_t rows, K, P, OW;
    int channels_first, act;
    float alpha;
} epilogue_ctx;

/* Block of CK_CONV_EPILOGUE_ROWS output rows (NHWC pixels or NCHW
 * planes): add the bias, then the activation along the last axis. */
static void epilogue_block(void *vctx, int64_t blk) {
    const epilogue_ctx *e = (const epilogue_ctx *)vctx;
    const int64_t r0 = blk * CK_CONV_EPILOGUE_ROWS;
    const int64_t nr = e->rows - r0 < CK_CONV_EPILOGUE_ROWS
                           ? e->rows - r0 : CK_CONV_EPILOGUE_ROWS;
    if (!e->channels_first) {
        float *y = e->y + r0 * e->K;
        if (e->b)
            for (int64_t r = 0; r < nr; r++) add_into(y + r * e->K, e->b, e->K);
        act_forward(y, nr, e->K, e->act, e->alpha);
    } else {
        float *y = e->y + r0 * e->P;
        if (e->b)
            for (int64_t r = 0; r < nr; r++) {
                const float bk = e->b[(r0 + r) % e->K];
                float *yr = y + r * e->P;
                for (int64_t p = 0; p < e->P; p++) yr[p] += bk;
            }
        act_forward(y, nr * (e->P / e->OW), e->OW, e->act, e->alpha);
    }
}

void ck_conv2d_forward(float *y, const float *x, const float *W,
                       const float *b, const ck_conv_geom *g, int64_t K,
                       int act, float alpha, float *workspace) {
    const int64_t T = conv_tile(g), P = g->OH * g->OW;
    const int64_t KC = g->kh * g->kw * g->C, in_img = g->H * g->W * g->C;
    const int64_t out_img = P * K;
    if (P <= 0 || K <= 0) return;
    float *cols = workspace;
    for (int64_t n0 = 0; n0 < g->N; n0 += T) {
        const int64_t nt = g->N - n0 < T ? g->N - n0 : T;
        float *yt = y + n0 * out_img;
        if (KC > 0) im2col_images(cols, x + n0 * in_img, g, nt);
        if (!g->channels_first) {
            /* y[nt*P, K] = cols[nt*P, KC] @ W[KC, K] */
            ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, nt * P, K, KC, 1.0f, cols, KC,
                     W, K, 0.0f, yt, K);
        } else {
            /* y_n[K, P] = W^T[K, KC] @ cols_n^T[KC, P] */
            for (int64_t t = 0; t < nt; t++)
                ck_sgemm(CK_TRANS, CK_TRANS, K, P, KC, 1.0f, W, K,
                         cols + t * P * KC, KC, 0.0f, yt + t * out_img, P);
        }
        if (b || act != CK_ACT_LINEAR) {
            epilogue_ctx e = {yt, b, g->channels_first ? nt * K : nt * P, K,
                              P, g->OW, (int)g->channels_first, act, alpha};
            ck_parallel_for(ck_nblocks(e.rows, CK_CONV_EPILOGUE_ROWS),
                            epilogue_block, &e);
        }
    }
}

void ck_conv2d_backward(float *dx, float *dW, float *db, const float *dy,
                        const float *x, const float *W, const float *y,
                        const ck_conv_geom *g, int64_t K, int act,
                        float alpha, float *workspace) {
    const int64_t T = conv_tile(g), P = g->OH * g->OW;
    const int64_t KC = g->kh * g->kw * g->C, in_img = g->H * g->W * g->C;
    const int64_t out_img = P * K;
    if (P <= 0 || K <= 0) return;
    float *cols = workspace;               /* [T*P, KC], then dcols */
    float *dzbuf = workspace + T * P * KC; /* [T*P*K] */
    float *dbt = dzbuf + T * P * K;        /* [K] */
    for (int64_t n0 = 0; n0 < g->N; n0 += T) {
        const int64_t nt = g->N - n0 < T ? g->N - n0 : T;
        /* dz = dy * act'(y), layout of y */
        const float *dz = dy + n0 * out_img;
        if (act != CK_ACT_LINEAR) {
            const int64_t last = g->channels_first ? g->OW : K;
            memset(dzbuf, 0, (size_t)(nt * out_img) * sizeof(float));
            act_backward(dzbuf, dz, y + n0 * out_img, nt * out_img / last,
                         last, act, alpha);
            dz = dzbuf;
        }
        /* db += sum of dz over images and pixels, in a fixed order */
        if (db) {
            for (int64_t k = 0; k < K; k++) dbt[k] = 0.0f;
            if (!g->channels_first) {
                for (int64_t r = 0; r < nt * P; r++) add_into(dbt, dz + r * K, K);
            } else {
                for (int64_t t = 0; t < nt; t++)
                    for (int64_t k = 0; k < K; k++) {
                        const float *d = dz + t * out_img + k * P;
                        float s = 0.0f;
                        for (int64_t p = 0; p < P; p++) s += d[p];
                        dbt[k] += s;
                    }
            }
            add_into(db, dbt, K);
        }
        if (KC <= 0) continue;
        im2col_images(cols, x + n0 * in_img, g, nt);
        /* dW[KC, K] += cols^T @ dz */
        if (!g->channels_first) {
            ck_sgemm(CK_TRANS, CK_NO_TRANS, KC, K, nt * P, 1.0f, cols, KC, dz,
                     K, 1.0f, dW, K);
        } else {
            for (int64_t t = 0; t < nt; t++)
                ck_sgemm(CK_TRANS, CK_TRANS, KC, K, P, 1.0f, cols + t * P * KC,
                         KC, dz + t * out_img, P, 1.0f, dW, K);
        }
        if (!dx) continue;
        /* dcols[nt*P, KC] = dz @ W^T, into the cols buffer */
        if (!g->channels_first) {
            ck_sgemm(CK_NO_TRANS, CK_TRANS, nt * P, KC, K, 1.0f, dz, K, W, K,
                     0.0f, cols, KC);
        } else {
            for (int64_t t = 0; t < nt; t++)
                ck_sgemm(CK_TRANS, CK_TRANS, P, KC, K, 1.0f, dz + t * out_img,
                         P, W, K, 0.0f, cols + t * P * KC, KC);
        }
        col2im_images(dx + n0 * in_img, cols, g, nt);
    }
}
