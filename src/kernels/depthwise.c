/*
 * depthwise.c: depthwise Conv2D forward and backward (TensorFlow's
 * depthwise_conv2d, Keras 2's DepthwiseConv2D weight layout).
 *
 * Geometry: ck_conv_geom (ckeras_kernels.h), window tap (i, j) of output
 * pixel (oh, ow) reads input row ih = oh*sh - pad_top + i*dh and column
 * iw = ow*sw - pad_left + j*dw; taps outside the image are zeros.
 * M = depth multiplier, CM = C*M output channels, channel k = c*M + m.
 *
 *   x   [N,H,W,C]   (NHWC) or [N,C,H,W]   (NCHW)
 *   W   [kh,kw,C,M] (Keras layout; row (i, j) is CM contiguous floats)
 *   b   [CM] or NULL
 *   y   [N,OH,OW,CM] (NHWC) or [N,CM,OH,OW] (NCHW)
 *
 * Forward:  y[n,oh,ow,c*M+m] = b[c*M+m] + sum_{i,j} x[n,ih,iw,c] W[i,j,c,m]
 *           summed in tap order (i, j) for both layouts.
 * Backward: dx[n,ih,iw,c] += sum_m dy[n,oh,ow,c*M+m] W[i,j,c,m]
 *           dW[i,j,c,m]   += sum_{n,oh,ow} x[n,ih,iw,c] dy[n,oh,ow,c*M+m]
 *           db[c*M+m]     += sum_{n,oh,ow} dy[n,oh,ow,c*M+m]
 *
 * Forward blocks own output: NHWC one output row (n, oh), whose inner
 * loop runs over the CM contiguous channels of a pixel; NCHW one input
 * plane (n, c) and its M output planes, whose inner loop runs along a
 * row. Backward runs in tiles of T images (T from the shape only), one
 * block per image: it owns dx[n] and writes the image's dW and db
 * partials into its workspace slot; a second parallel pass adds the
 * tile's partials into dW and db in image order. No sum depends on the
 * thread count.
 */
#include <string.h>
#include "ck_internal.h"

/* Images per backward tile: at most 16 and at most this many floats. */
#define CK_DW_MAX_TILE 16
#define CK_DW_TILE_FLOATS ((int64_t)1 << 20)

/* NHWC row helpers, n pixels: pixel k of y / dz / dW-side rows is CM
 * contiguous floats at k*CM, pixel k of x / dx is C floats at k*xs (xs =
 * stride_w*C). The inner loop runs over the channels. */

/* y[k, c*M+m] += x[k, c] * w[c*M+m]  (forward, one tap over a row) */
CK_VECTOR_CLONES static void madd_row(float *restrict y, const float *restrict x,
                                      const float *restrict w, int64_t n,
                                      int64_t C, int64_t M, int64_t xs) {
    const int64_t CM = C * M;
    for (int64_t k = 0; k < n; k++) {
        float *yk = y + k * CM;
        const float *xk = x + k * xs;
        if (M == 1) {
            for (int64_t c = 0; c < C; c++) yk[c] += xk[c] * w[c];
        } else {
            for (int64_t c = 0; c < C; c++)
                for (int64_t m = 0; m < M; m++) yk[c * M + m] += xk[c] * w[c * M + m];
        }
    }
}

/* dw[c*M+m] += sum_k x[k, c] * dz[k, c*M+m], k in order */
CK_VECTOR_CLONES static void wacc_row(float *restrict dw, const float *restrict x,
                                      const float *restrict dz, int64_t n,
                                      int64_t C, int64_t M, int64_t xs) {
    const int64_t CM = C * M;
    for (int64_t k = 0; k < n; k++) {
        const float *xk = x + k * xs, *dk = dz + k * CM;
        if (M == 1) {
            for (int64_t c = 0; c < C; c++) dw[c] += xk[c] * dk[c];
        } else {
            for (int64_t c = 0; c < C; c++)
                for (int64_t m = 0; m < M; m++) dw[c * M + m] += xk[c] * dk[c * M + m];
        }
    }
}

/* dx[k, c] += sum_m dz[k, c*M+m] * w[c*M+m] */
CK_VECTOR_CLONES static void xacc_row(float *restrict dx, const float *restrict dz,
                                      const float *restrict w, int64_t n,
                                      int64_t C, int64_t M, int64_t xs) {
    const int64_t CM = C * M;
    for (int64_t k = 0; k < n; k++) {
        float *xk = dx + k * xs;
        const float *dk = dz + k * CM;
        if (M == 1) {
            for (int64_t c = 0; c < C; c++) xk[c] += dk[c] * w[c];
        } else {
            for (int64_t c = 0; c < C; c++) {
                float s = 0.0f;
                for (int64_t m = 0; m < M; m++) s += dk[c * M + m] * w[c * M + m];
                xk[c] += s;
            }
        }
    }
}

/* y[k] += w * x[k*s] for k < n. */
CK_VECTOR_CLONES static void axpy_strided(float *restrict y,
                                          const float *restrict x, float w,
                                          int64_t n, int64_t s) {
    if (s == 1)
        for (int64_t k = 0; k < n; k++) y[k] += w * x[k];
    else
        for (int64_t k = 0; k < n; k++) y[k] += w * x[k * s];
}

/* y[k*s] += w * x[k] for k < n (the scatter adjoint of axpy_strided). */
CK_VECTOR_CLONES static void axpy_scatter(float *restrict y,
                                          const float *restrict x, float w,
                                          int64_t n, int64_t s) {
    if (s == 1)
        for (int64_t k = 0; k < n; k++) y[k] += w * x[k];
    else
        for (int64_t k = 0; k < n; k++) y[k * s] += w * x[k];
}

/* sum_k a[k*s] * b[k]: 8 lane sums (k mod 8, each in order), added
 * lane by lane, then the tail. Lane arithmetic is elementwise, so the
 * vector and scalar builds give the same bits. */
CK_VECTOR_CLONES static float dot_strided(const float *restrict a,
                                          const float *restrict b, int64_t n,
                                          int64_t s) {
    float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int64_t k = 0;
    if (s == 1)
        for (; k + 8 <= n; k += 8)
            for (int l = 0; l < 8; l++) lane[l] += a[k + l] * b[k + l];
    else
        for (; k + 8 <= n; k += 8)
            for (int l = 0; l < 8; l++) lane[l] += a[(k + l) * s] * b[k + l];
    float acc = 0.0f;
    for (int l = 0; l < 8; l++) acc += lane[l];
    for (; k < n; k++) acc += a[k * s] * b[k];
    return acc;
}

/* The outputs ow in [*lo, *hi) whose tap j reads a column inside [0, W):
 * iw = ow*sw + off with off = j*dw - pad_left. */
static void col_range(const ck_conv_geom *g, int64_t j, int64_t *lo,
                      int64_t *hi) {
    const int64_t off = j * g->dilation_w - g->pad_left, s = g->stride_w;
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = g->W - off > 0 ? (g->W - off + s - 1) / s : 0;
    if (b > g->OW) b = g->OW;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

typedef struct {
    const ck_conv_geom *g;
    int64_t M, n0, T, per;   /* multiplier, tile's first image, tile, slot */
    float *y, *dx, *dW, *db;
    const float *x, *W, *b, *dy;
    float *ws;
} dw_ctx;

/* ---------------------------------------------------------------- */
/* Forward                                                           */
/* ---------------------------------------------------------------- */
/* Block b = (n, oh): y[n, oh, :, :]. */
static void dw_forward_row_nhwc(void *vctx, int64_t blk) {
    const dw_ctx *c = (const dw_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t C = g->C, M = c->M, CM = C * M, OW = g->OW;
    const int64_t n = blk / g->OH, oh = blk % g->OH;
    float *yr = c->y + blk * OW * CM;
    for (int64_t ow = 0; ow < OW; ow++) {
        if (c->b) memcpy(yr + ow * CM, c->b, (size_t)CM * sizeof(float));
        else memset(yr + ow * CM, 0, (size_t)CM * sizeof(float));
    }
    /* taps in order (i, j); each one a pass over the row's valid pixels */
    for (int64_t i = 0; i < g->kh; i++) {
        const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
        if (ih < 0 || ih >= g->H) continue;
        const float *xr = c->x + (n * g->H + ih) * g->W * C;
        for (int64_t j = 0; j < g->kw; j++) {
            int64_t lo, hi;
            col_range(g, j, &lo, &hi);
            if (hi <= lo) continue;
            const int64_t iw = lo * g->stride_w + j * g->dilation_w - g->pad_left;
            madd_row(yr + lo * CM, xr + iw * C, c->W + (i * g->kw + j) * CM, hi - lo,
                     C, M, g->stride_w * C);
        }
    }
}

/* Block b = (n, c): the M output planes y[n, c*M .. c*M+M-1, :, :]. */
static void dw_forward_plane_nchw(void *vctx, int64_t blk) {
    const dw_ctx *c = (const dw_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t C = g->C, M = c->M, OH = g->OH, OW = g->OW;
    const int64_t n = blk / C, ch = blk % C;
    const float *xp = c->x + blk * g->H * g->W;
    for (int64_t m = 0; m < M; m++) {
        const int64_t k = ch * M + m;
        float *yp = c->y + (n * C * M + k) * OH * OW;
        const float bk = c->b ? c->b[k] : 0.0f;
        for (int64_t p = 0; p < OH * OW; p++) yp[p] = bk;
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const float w = c->W[((i * g->kw + j) * C + ch) * M + m];
                const int64_t off = j * g->dilation_w - g->pad_left;
                int64_t lo, hi;
                col_range(g, j, &lo, &hi);
                if (hi <= lo) continue;
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
                    if (ih < 0 || ih >= g->H) continue;
                    axpy_strided(yp + oh * OW + lo,
                                 xp + ih * g->W + lo * g->stride_w + off, w,
                                 hi - lo, g->stride_w);
                }
            }
    }
}

void ck_depthwise_conv2d_forward(float *y, const float *x, const float *W,
                                 const float *b, const ck_conv_geom *g,
                                 int64_t M) {
    if (g->N <= 0 || g->C <= 0 || g->OH <= 0 || g->OW <= 0 || M <= 0) return;
    dw_ctx c = {g, M, 0, 0, 0, y, NULL, NULL, NULL, x, W, b, NULL, NULL};
    if (g->channels_first)
        ck_parallel_for(g->N * g->C, dw_forward_plane_nchw, &c);
    else
        ck_parallel_for(g->N * g->OH, dw_forward_row_nhwc, &c);
}

/* ---------------------------------------------------------------- */
/* Backward                                                          */
/* ---------------------------------------------------------------- */
/* Slot of a tile's image: [dW partial kh*kw*CM | db partial CM]. */
static void dw_tiles(const ck_conv_geom *g, int64_t M, int64_t *T,
                     int64_t *per) {
    *per = (g->kh * g->kw + 1) * g->C * M;
    int64_t t = 1;
    while (t * 2 <= CK_DW_MAX_TILE && t * 2 * *per <= CK_DW_TILE_FLOATS) t *= 2;
    if (t > g->N) t = g->N < 1 ? 1 : g->N;
    *T = t;
}

int64_t ck_depthwise_conv2d_workspace_size(const ck_conv_geom *g, int64_t M) {
    int64_t T, per;
    dw_tiles(g, M, &T, &per);
    return T * per;
}

/* Image n: dx[n], and its dW, db partials in slot t; pixels in order. */
static void dw_backward_image_nhwc(const dw_ctx *c, int64_t n, float *dWp,
                                   float *dbp) {
    const ck_conv_geom *g = c->g;
    const int64_t C = g->C, M = c->M, CM = C * M, H = g->H, W = g->W;
    const float *xn = c->x + n * H * W * C;
    float *dxn = c->dx ? c->dx + n * H * W * C : NULL;
    for (int64_t oh = 0; oh < g->OH; oh++) {
        const float *dzr = c->dy + (n * g->OH + oh) * g->OW * CM;
        if (dbp)
            for (int64_t ow = 0; ow < g->OW; ow++)
                for (int64_t k = 0; k < CM; k++) dbp[k] += dzr[ow * CM + k];
        for (int64_t i = 0; i < g->kh; i++) {
            const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
            if (ih < 0 || ih >= H) continue;
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t lo, hi;
                col_range(g, j, &lo, &hi);
                if (hi <= lo) continue;
                const int64_t iw = lo * g->stride_w + j * g->dilation_w - g->pad_left;
                const int64_t tap = (i * g->kw + j) * CM, at = (ih * W + iw) * C;
                /* forward: y[ow, c*M+m] += x[iw(ow), c] W[tap + c*M+m] */
                wacc_row(dWp + tap, xn + at, dzr + lo * CM, hi - lo, C, M,
                         g->stride_w * C);
                if (dxn)
                    xacc_row(dxn + at, dzr + lo * CM, c->W + tap, hi - lo, C, M,
                             g->stride_w * C);
            }
        }
    }
}

static void dw_backward_image_nchw(const dw_ctx *c, int64_t n, float *dWp,
                                   float *dbp) {
    const ck_conv_geom *g = c->g;
    const int64_t C = g->C, M = c->M, H = g->H, W = g->W, OH = g->OH, OW = g->OW;
    const int64_t sw = g->stride_w;
    for (int64_t ch = 0; ch < C; ch++) {
        const float *xp = c->x + (n * C + ch) * H * W;
        float *dxp = c->dx ? c->dx + (n * C + ch) * H * W : NULL;
        for (int64_t m = 0; m < M; m++) {
            const int64_t k = ch * M + m;
            const float *dz = c->dy + (n * C * M + k) * OH * OW;
            if (dbp) {
                float s = 0.0f;
                for (int64_t p = 0; p < OH * OW; p++) s += dz[p];
                dbp[k] = s;
            }
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    const int64_t wi = ((i * g->kw + j) * C + ch) * M + m;
                    const int64_t off = j * g->dilation_w - g->pad_left;
                    const float w = c->W[wi];
                    int64_t lo, hi;
                    float s = 0.0f;
                    col_range(g, j, &lo, &hi);
                    for (int64_t oh = 0; oh < OH && hi > lo; oh++) {
                        const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
                        if (ih < 0 || ih >= H) continue;
                        const int64_t at = ih * W + lo * sw + off;
                        /* forward: y[oh, ow] += w x[ih, ow*sw + off] */
                        s += dot_strided(xp + at, dz + oh * OW + lo, hi - lo, sw);
                        if (dxp) axpy_scatter(dxp + at, dz + oh * OW + lo, w, hi - lo, sw);
                    }
                    dWp[wi] = s;
                }
        }
    }
}

static void dw_backward_block(void *vctx, int64_t t) {
    const dw_ctx *c = (const dw_ctx *)vctx;
    const int64_t CM = c->g->C * c->M, nW = c->g->kh * c->g->kw * CM;
    float *dWp = c->ws + t * c->per, *dbp = c->db ? dWp + nW : NULL;
    memset(dWp, 0, (size_t)c->per * sizeof(float));
    if (c->g->channels_first)
        dw_backward_image_nchw(c, c->n0 + t, dWp, dbp);
    else
        dw_backward_image_nhwc(c, c->n0 + t, dWp, dbp);
}

/* Block of CK_ELEMENTWISE_BLOCK elements of [dW | db]: the tile's
 * partials added in image order. */
typedef struct {
    const dw_ctx *c;
    int64_t nt, nW, n;  /* images in the tile, kh*kw*CM, elements */
} dw_reduce_ctx;

static void dw_reduce_block(void *vctx, int64_t blk) {
    const dw_reduce_ctx *r = (const dw_reduce_ctx *)vctx;
    const dw_ctx *c = r->c;
    const int64_t e0 = blk * CK_ELEMENTWISE_BLOCK;
    const int64_t e1 = e0 + CK_ELEMENTWISE_BLOCK < r->n ? e0 + CK_ELEMENTWISE_BLOCK : r->n;
    for (int64_t e = e0; e < e1; e++) {
        float s = 0.0f;
        for (int64_t t = 0; t < r->nt; t++) s += c->ws[t * c->per + e];
        if (e < r->nW) c->dW[e] += s;
        else c->db[e - r->nW] += s;
    }
}

void ck_depthwise_conv2d_backward(float *dx, float *dW, float *db,
                                  const float *dy, const float *x,
                                  const float *W, const ck_conv_geom *g,
                                  int64_t M, float *workspace) {
    if (g->N <= 0 || g->C <= 0 || g->OH <= 0 || g->OW <= 0 || M <= 0) return;
    dw_ctx c = {g, M, 0, 0, 0, NULL, dx, dW, db, x, W, NULL, dy, workspace};
    dw_tiles(g, M, &c.T, &c.per);
    const int64_t nW = g->kh * g->kw * g->C * M;
    dw_reduce_ctx r = {&c, 0, nW, nW + (db ? g->C * M : 0)};
    for (c.n0 = 0; c.n0 < g->N; c.n0 += c.T) {
        r.nt = g->N - c.n0 < c.T ? g->N - c.n0 : c.T;
        ck_parallel_for(r.nt, dw_backward_block, &c);
        ck_parallel_for(ck_nblocks(r.n, CK_ELEMENTWISE_BLOCK), dw_reduce_block, &r);
    }
}
