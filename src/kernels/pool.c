/*
 * pool.c: 2-D max and average pooling, forward and backward, Keras 2 with
 * TensorFlow's semantics.
 *
 * Geometry (ck_conv_geom): kh x kw windows, strides, pads (dilation 1).
 * Window (oh, ow) covers input rows h0 = oh*sh - pad_top .. h0 + kh - 1
 * and columns w0 = ow*sw - pad_left .. w0 + kw - 1; taps outside the image
 * are padding and are IGNORED (never zeros): every window the Keras
 * padding rules produce holds at least one valid tap.
 *
 *   max:  y = max of the valid taps. Backward routes dy to the FIRST
 *         maximal tap in scan order (row-major over the window), found
 *         again from x: what TensorFlow's CPU MaxPoolGrad does. Recomputing
 *         costs one more pass over x but needs no argmax cache between the
 *         passes (the layer keeps x anyway) and gives TF's tie rule by
 *         construction.
 *   avg:  y = (sum of the valid taps) / (number of valid taps).
 *         Backward adds dy / count to each valid tap.
 *
 * Layouts: x [N,H,W,C], y [N,OH,OW,C] (NHWC), or [N,C,H,W] / [N,C,OH,OW]
 * (NCHW). Pooling treats channels independently, so NCHW is pooled as NHWC
 * with N*C images of one channel: the same code, the same bits per
 * channel.
 *
 * Parallelism: forward blocks own output rows (n, oh); backward blocks own
 * whole images of dx (windows of one image overlap), adding in a fixed
 * order (oh, ow, then taps). Block counts depend only on the shape.
 */
#include "ck_internal.h"

/* Channels scanned together in max-pool backward (stack buffers). */
#define CK_POOL_CHUNK 64

/* NCHW is NHWC with N*C single-channel images. */
static ck_conv_geom as_nhwc(const ck_conv_geom *g) {
    ck_conv_geom h = *g;
    if (g->channels_first) {
        h.N = g->N * g->C;
        h.C = 1;
        h.channels_first = 0;
    }
    return h;
}

/* Valid range [lo, hi) of window start s (may be negative), length k,
 * over an axis of n cells. */
static inline void clip_range(int64_t s, int64_t k, int64_t n, int64_t *lo,
                              int64_t *hi) {
    *lo = s < 0 ? 0 : s;
    *hi = s + k > n ? n : s + k;
}

typedef struct {
    ck_conv_geom g;   /* NHWC view */
    float *out;       /* y (forward) or dx (backward) */
    const float *in;  /* x (forward, max backward) */
    const float *dy;  /* backward only */
    int64_t per_block; /* rows (forward) or images (backward) per block */
} pool_ctx;

/* ---------------------------------------------------------------- */
/* forward: block = per_block output rows (n, oh)                   */
/* ---------------------------------------------------------------- */
CK_VECTOR_CLONES static void max_fwd_rows(void *vctx, int64_t blk) {
    const pool_ctx *p = (const pool_ctx *)vctx;
    const ck_conv_geom *g = &p->g;
    const int64_t C = g->C, W = g->W;
    const int64_t r0 = blk * p->per_block, rows = g->N * g->OH;
    const int64_t r1 = r0 + p->per_block < rows ? r0 + p->per_block : rows;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t n = r / g->OH, oh = r % g->OH;
        const float *xn = p->in + n * g->H * W * C;
        int64_t hlo, hhi;
        clip_range(oh * g->stride_h - g->pad_top, g->kh, g->H, &hlo, &hhi);
        for (int64_t ow = 0; ow < g->OW; ow++) {
            float *y = p->out + (r * g->OW + ow) * C;
            int64_t wlo, whi;
            clip_range(ow * g->stride_w - g->pad_left, g->kw, W, &wlo, &whi);
            const float *first = xn + (hlo * W + wlo) * C;
            for (int64_t c = 0; c < C; c++) y[c] = first[c];
            for (int64_t h = hlo; h < hhi; h++)
                for (int64_t w = (h == hlo ? wlo + 1 : wlo); w < whi; w++) {
                    const float *xt = xn + (h * W + w) * C;
                    for (int64_t c = 0; c < C; c++)
                        y[c] = xt[c] > y[c] ? xt[c] : y[c];
                }
        }
    }
}

CK_VECTOR_CLONES static void avg_fwd_rows(void *vctx, int64_t blk) {
    const pool_ctx *p = (const pool_ctx *)vctx;
    const ck_conv_geom *g = &p->g;
    const int64_t C = g->C, W = g->W;
    const int64_t r0 = blk * p->per_block, rows = g->N * g->OH;
    const int64_t r1 = r0 + p->per_block < rows ? r0 + p->per_block : rows;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t n = r / g->OH, oh = r % g->OH;
        const float *xn = p->in + n * g->H * W * C;
        int64_t hlo, hhi;
        clip_range(oh * g->stride_h - g->pad_top, g->kh, g->H, &hlo, &hhi);
        for (int64_t ow = 0; ow < g->OW; ow++) {
            float *y = p->out + (r * g->OW + ow) * C;
            int64_t wlo, whi;
            clip_range(ow * g->stride_w - g->pad_left, g->kw, W, &wlo, &whi);
            for (int64_t c = 0; c < C; c++) y[c] = 0.0f;
            for (int64_t h = hlo; h < hhi; h++)
                for (int64_t w = wlo; w < whi; w++) {
                    const float *xt = xn + (h * W + w) * C;
                    for (int64_t c = 0; c < C; c++) y[c] += xt[c];
                }
            const float count = (float)((hhi - hlo) * (whi - wlo));
            for (int64_t c = 0; c < C; c++) y[c] /= count;
        }
    }
}

static void pool_forward(float *y, const float *x, const ck_conv_geom *g0,
                         ck_block_fn fn) {
    pool_ctx p = {as_nhwc(g0), y, x, 0, 1};
    const int64_t rows = p.g.N * p.g.OH, row = p.g.OW * p.g.C;
    if (rows <= 0 || row <= 0) return;
    p.per_block = row >= CK_ELEMENTWISE_BLOCK ? 1 : CK_ELEMENTWISE_BLOCK / row;
    ck_parallel_for(ck_nblocks(rows, p.per_block), fn, &p);
}

void ck_max_pool2d_forward(float *y, const float *x, const ck_conv_geom *g) {
    pool_forward(y, x, g, max_fwd_rows);
}

void ck_avg_pool2d_forward(float *y, const float *x, const ck_conv_geom *g) {
    pool_forward(y, x, g, avg_fwd_rows);
}

/* ---------------------------------------------------------------- */
/* backward: block = per_block whole images of dx                    */
/* ---------------------------------------------------------------- */
CK_VECTOR_CLONES static void max_bwd_images(void *vctx, int64_t blk) {
    const pool_ctx *p = (const pool_ctx *)vctx;
    const ck_conv_geom *g = &p->g;
    const int64_t C = g->C, W = g->W, img = g->H * W * C;
    const int64_t n0 = blk * p->per_block;
    const int64_t n1 = n0 + p->per_block < g->N ? n0 + p->per_block : g->N;
    float best[CK_POOL_CHUNK];
    float arg[CK_POOL_CHUNK];  /* scan index of the winning tap (exact) */
    for (int64_t n = n0; n < n1; n++) {
        const float *xn = p->in + n * img;
        float *dxn = p->out + n * img;
        for (int64_t oh = 0; oh < g->OH; oh++) {
            int64_t hlo, hhi;
            clip_range(oh * g->stride_h - g->pad_top, g->kh, g->H, &hlo, &hhi);
            for (int64_t ow = 0; ow < g->OW; ow++) {
                const float *dy = p->dy + ((n * g->OH + oh) * g->OW + ow) * C;
                int64_t wlo, whi;
                clip_range(ow * g->stride_w - g->pad_left, g->kw, W, &wlo, &whi);
                for (int64_t c0 = 0; c0 < C; c0 += CK_POOL_CHUNK) {
                    const int64_t nc = C - c0 < CK_POOL_CHUNK ? C - c0 : CK_POOL_CHUNK;
                    const float *x0 = xn + (hlo * W + wlo) * C + c0;
                    for (int64_t c = 0; c < nc; c++) {
                        best[c] = x0[c];
                        arg[c] = 0.0f;
                    }
                    /* taps in scan order t = 0, 1, ...; strictly greater:
                     * the first maximum wins (a NaN first tap wins too) */
                    float t = 0.0f;
                    for (int64_t h = hlo; h < hhi; h++)
                        for (int64_t w = (h == hlo ? wlo + 1 : wlo); w < whi; w++) {
                            const float *xt = xn + (h * W + w) * C + c0;
                            t += 1.0f;
                            for (int64_t c = 0; c < nc; c++) {
                                const float v = xt[c];
                                const int up = v > best[c];
                                best[c] = up ? v : best[c];
                                arg[c] = up ? t : arg[c];
                            }
                        }
                    /* dy to the winning tap, 0 to the others: the same
                     * scan, a select per tap instead of a scatter (it
                     * vectorises over channels) */
                    t = 0.0f;
                    for (int64_t h = hlo; h < hhi; h++)
                        for (int64_t w = wlo; w < whi; w++, t += 1.0f) {
                            float *d = dxn + (h * W + w) * C + c0;
                            const float *dyc = dy + c0;
                            for (int64_t c = 0; c < nc; c++)
                                d[c] += arg[c] == t ? dyc[c] : 0.0f;
                        }
                }
            }
        }
    }
}

CK_VECTOR_CLONES static void avg_bwd_images(void *vctx, int64_t blk) {
    const pool_ctx *p = (const pool_ctx *)vctx;
    const ck_conv_geom *g = &p->g;
    const int64_t C = g->C, W = g->W, img = g->H * W * C;
    const int64_t n0 = blk * p->per_block;
    const int64_t n1 = n0 + p->per_block < g->N ? n0 + p->per_block : g->N;
    for (int64_t n = n0; n < n1; n++) {
        float *dxn = p->out + n * img;
        for (int64_t oh = 0; oh < g->OH; oh++) {
            int64_t hlo, hhi;
            clip_range(oh * g->stride_h - g->pad_top, g->kh, g->H, &hlo, &hhi);
            for (int64_t ow = 0; ow < g->OW; ow++) {
                const float *dy = p->dy + ((n * g->OH + oh) * g->OW + ow) * C;
                int64_t wlo, whi;
                clip_range(ow * g->stride_w - g->pad_left, g->kw, W, &wlo, &whi);
                const float count = (float)((hhi - hlo) * (whi - wlo));
                for (int64_t h = hlo; h < hhi; h++)
                    for (int64_t w = wlo; w < whi; w++) {
                        float *d = dxn + (h * W + w) * C;
                        for (int64_t c = 0; c < C; c++) d[c] += dy[c] / count;
                    }
            }
        }
    }
}

static void pool_backward(float *dx, const float *dy, const float *x,
                          const ck_conv_geom *g0, ck_block_fn fn) {
    pool_ctx p = {as_nhwc(g0), dx, x, dy, 1};
    const int64_t img = p.g.H * p.g.W * p.g.C;
    if (p.g.N <= 0 || img <= 0 || p.g.OH <= 0 || p.g.OW <= 0) return;
    p.per_block = img >= CK_ELEMENTWISE_BLOCK ? 1 : CK_ELEMENTWISE_BLOCK / img;
    ck_parallel_for(ck_nblocks(p.g.N, p.per_block), fn, &p);
}

void ck_max_pool2d_backward(float *dx, const float *dy, const float *x,
                            const ck_conv_geom *g) {
    pool_backward(dx, dy, x, g, max_bwd_images);
}

void ck_avg_pool2d_backward(float *dx, const float *dy,
                            const ck_conv_geom *g) {
    pool_backward(dx, dy, 0, g, avg_bwd_images);
}
