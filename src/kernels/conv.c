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
 *   y                [N,OH,OW,K] (NHWC) = cols @ W
 *                    [N,K,OH,OW] (NCHW) = per image W^T @ cols_n^T
 *
 * Forward:  y = act(cols @ W + b).
 * Backward: dz = dy * act'(y); db += sum dz; dW += cols^T @ dz;
 *           dcols = dz @ W^T; dx += col2im(dcols).
 *
 * Work is split by images: the batch is cut evenly into T blocks (T from
 * the shape alone, conv_tiles), run as one ck_parallel_for; a block takes
 * its images one after the other through its own workspace slot, so a
 * call costs one fork/join (forward) or two (backward: the blocks, then
 * the sum of their partials). Inside a block an image's output rows are
 * cut into chunks of `ohc` rows whose im2col matrix fits in L2
 * (CK_CONV_CHUNK_FLOATS); each chunk is im2col into the block's slot,
 * single-threaded GEMMs (forward: a few calls over pieces of the depth,
 * CK_CONV_GEMM_DEPTH), then bias and activation while the output is in
 * cache (forward), or dW_b += cols^T dz, dcols = dz W^T into the same slot
 * and a serial col2im scatter into dx[n] (backward). 3x3 stride-1 NHWC
 * convs (wino_ok) compute y and dx by Winograd instead, image by image
 * (see wino_image); dW stays im2col + GEMM. Backward keeps no
 * cols between the passes: it recomputes them chunk by chunk. A block's
 * images add into the block's own dW and db partials, in image order; a
 * second parallel pass adds the T partials into dW and db in block order.
 * Every sum is in a fixed order and every block owns its outputs, so the
 * bits do not depend on the thread count. With a single block the block
 * runs outside any parallel region and ck_sgemm parallelises itself.
 *
 * Workspace (ck_conv2d_workspace_size floats, the same for forward and
 * backward, independent of N): Winograd's filter (shared), then per block
 * a dW partial [KC*K], a db partial [K], a chunk of cols, dz (a chunk, or
 * the image for Winograd), NCHW copies and Winograd's buffers.
 *
 * Conv2DTranspose (ck_conv2d_transpose_*) is Conv2D read backwards: g
 * describes the Conv2D from the transposed conv's output y [H, W, C] to
 * its input x [OH, OW, K], W[kh,kw,C,K] is the same GEMM operand [KC, K].
 *   Forward:  y = act(col2im(x @ W^T) + b)       (Conv2D's dx route)
 *   Backward: dz = dy * act'(y); db += sum dz; cols = im2col(dz);
 *             dx += cols @ W (Conv2D's forward); dW += cols^T @ x.
 * Same blocks of images (conv_tiles_for(.., 1)) and chunks of x's rows;
 * the slot holds the dW and db [C] partials, a cols chunk and two images
 * (dz[n] as NHWC, and an NCHW scratch for act'); no Winograd. No extra C
 * beyond the loops above.
 *
 * ck_im2col / ck_col2im (the whole batch, for tests and other callers)
 * run in parallel: im2col blocks own output rows (n, oh); col2im blocks
 * own input rows (n, ih) and gather every tap that reads them, in the
 * order (i, ow, j).
 */
#include <string.h>
#include "ck_internal.h"

/* Floats of im2col per chunk: with the packed W and the chunk's output
 * this stays within a core's L2 (512 KB on the dev machine). */
#define CK_CONV_CHUNK_FLOATS ((int64_t)1 << 16)
/* Blocks per call: at most this many (a power of two, so 2, 4, 8 or 16
 * threads share them evenly), at most N and at most CK_CONV_TILE_FLOATS
 * of slots. */
#define CK_CONV_MAX_TILE 16
#define CK_CONV_TILE_FLOATS ((int64_t)1 << 21)
/* Depth of one forward GEMM call: whole kernel rows (kw*C each), as many
 * as fit in this many floats (at least one). Measured on the 2-core dev
 * machine (OpenBLAS 0.3.34, Haswell kernels, one thread): the W3 conv
 * (KC = 288, K = 64, 192-row chunks) ran at 17 GFLOP/s as one call of
 * depth 288 and at 30 GFLOP/s as calls of depth 192 + 96 accumulating
 * into the same output. */
#define CK_CONV_GEMM_DEPTH 192

typedef struct {
    int64_t T;      /* blocks: image groups, each with its own slot */
    int64_t ohc;    /* output rows per chunk */
    int64_t chunk;  /* floats of one cols chunk: ohc*OW*KC */
    int64_t img;    /* H*W*C: Conv2D NCHW an NHWC copy of x[n] / dx[n];
                       transpose: dz[n] as NHWC / y[n] as NHWC, scratch */
    int64_t dz;     /* floats of the dz buffer: a chunk, or (Winograd) the
                       image; transpose: 0 */
    int64_t nb;     /* floats of the bias partial (Conv2D: K; transpose: C) */
    int64_t wino;   /* 1: y and dx by Winograd F(2x2, 3x3) (wino_ok) */
    int64_t shared; /* floats before the slots: Winograd's U [16, C, K] (forward) or [16, K, C] (dx) */
    int64_t per;    /* workspace floats per block (slot) */
} conv_tiling;

static int wino_ok(const ck_conv_geom *g, int64_t K);
static int64_t wino_floats(int64_t C, int64_t K);

/* From the shape only, never the thread count. transpose: the slots of
 * Conv2DTranspose (no dz, no Winograd, a bias partial of C, always two
 * images). */
static conv_tiling conv_tiles_for(const ck_conv_geom *g, int64_t K, int transpose) {
    conv_tiling t;
    const int64_t KC = g->kh * g->kw * g->C, row = g->OW * KC;
    int64_t most = row > 0 ? CK_CONV_CHUNK_FLOATS / row : g->OH;
    if (most < 1) most = 1;
    const int64_t nchunks = g->OH > 0 ? (g->OH + most - 1) / most : 1;
    t.ohc = g->OH > 0 ? (g->OH + nchunks - 1) / nchunks : 1;
    t.chunk = t.ohc * row;
    t.img = (g->channels_first || transpose) ? g->H * g->W * g->C : 0;
    t.wino = transpose ? 0 : wino_ok(g, K);
    t.dz = transpose ? 0 : t.wino ? g->OH * g->OW * K : t.ohc * g->OW * K;
    t.nb = transpose ? g->C : K;
    t.shared = t.wino ? 16 * g->C * K : 0;
    t.per = KC * K + t.nb + t.chunk + t.dz + 2 * t.img +
            (t.wino ? wino_floats(g->C, K) : 0);
    t.T = 1;
    while (t.T * 2 <= CK_CONV_MAX_TILE && t.T * 2 * t.per <= CK_CONV_TILE_FLOATS)
        t.T *= 2;
    if (t.T > g->N) t.T = g->N < 1 ? 1 : g->N;
    return t;
}

static conv_tiling conv_tiles(const ck_conv_geom *g, int64_t K) {
    return conv_tiles_for(g, K, 0);
}

/* ---------------------------------------------------------------- */
/* im2col                                                            */
/* ---------------------------------------------------------------- */
typedef struct {
    const ck_conv_geom *g;
    float *cols;      /* [nimg*P, KC] */
    const float *x;   /* nimg images in g's layout */
} im2col_ctx;

/* cols rows (oh, 0..OW-1) of one NHWC image xn into row[OW, KC]. */
static void im2col_row_nhwc(float *row, const float *xn,
                            const ck_conv_geom *g, int64_t oh) {
    const int64_t H = g->H, W = g->W, C = g->C, kh = g->kh, kw = g->kw;
    const int64_t KC = kh * kw * C;
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

/* The same from one NCHW image: reads plane rows, writes strided. */
static void im2col_row_nchw(float *row, const float *xn,
                            const ck_conv_geom *g, int64_t oh) {
    const int64_t H = g->H, W = g->W, C = g->C, kh = g->kh, kw = g->kw;
    const int64_t KC = kh * kw * C, OW = g->OW;
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

/* Output rows [oh0, oh1) of one image xn into cols[(oh1-oh0)*OW, KC]. */
static void im2col_rows(float *cols, const float *xn, const ck_conv_geom *g,
                        int64_t oh0, int64_t oh1) {
    const int64_t row = g->OW * g->kh * g->kw * g->C;
    for (int64_t oh = oh0; oh < oh1; oh++) {
        if (g->channels_first)
            im2col_row_nchw(cols + (oh - oh0) * row, xn, g, oh);
        else
            im2col_row_nhwc(cols + (oh - oh0) * row, xn, g, oh);
    }
}

/* Block b = (n, oh): writes cols rows (n, oh, 0..OW-1). */
static void im2col_block(void *vctx, int64_t b) {
    const im2col_ctx *c = (const im2col_ctx *)vctx;
    const ck_conv_geom *g = c->g;
    const int64_t n = b / g->OH, oh = b % g->OH;
    im2col_rows(c->cols + b * g->OW * g->kh * g->kw * g->C,
                c->x + n * g->H * g->W * g->C, g, oh, oh + 1);
}

void ck_im2col(float *cols, const float *x, const ck_conv_geom *g) {
    if (g->N <= 0 || g->OH <= 0 || g->OW <= 0 || g->kh * g->kw * g->C <= 0)
        return;
    im2col_ctx c = {g, cols, x};
    ck_parallel_for(g->N * g->OH, im2col_block, &c);
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

void ck_col2im(float *dx, const float *dcols, const ck_conv_geom *g) {
    if (g->N <= 0 || g->H <= 0 || g->OH <= 0 || g->OW <= 0 ||
        g->kh * g->kw * g->C <= 0)
        return;
    col2im_ctx c = {g, dx, dcols};
    ck_parallel_for(g->N * g->H,
                    g->channels_first ? col2im_row_nchw : col2im_row_nhwc, &c);
}

/* Serial scatter of output rows [oh0, oh1) of one NHWC image:
 * dxn += col2im(dcols[(oh1-oh0)*OW, KC]), taps in order (oh, ow, i, j). */
static void col2im_rows(float *dxn, const float *dcols, const ck_conv_geom *g,
                        int64_t oh0, int64_t oh1) {
    const int64_t H = g->H, W = g->W, C = g->C, kh = g->kh, kw = g->kw;
    const int64_t KC = kh * kw * C;
    for (int64_t oh = oh0; oh < oh1; oh++)
        for (int64_t ow = 0; ow < g->OW; ow++) {
            const float *src = dcols + ((oh - oh0) * g->OW + ow) * KC;
            for (int64_t i = 0; i < kh; i++) {
                const int64_t ih = oh * g->stride_h - g->pad_top + i * g->dilation_h;
                if (ih < 0 || ih >= H) continue;
                for (int64_t j = 0; j < kw; j++) {
                    const int64_t iw = ow * g->stride_w - g->pad_left + j * g->dilation_w;
                    const float *s = src + (i * kw + j) * C;
                    if (iw >= 0 && iw < W) add_into(dxn + (ih * W + iw) * C, s, C);
                }
            }
        }
}

/* ---------------------------------------------------------------- */
/* Winograd F(2x2, 3x3): forward and input gradient of 3x3 s1 convs  */
/* ---------------------------------------------------------------- */
/* A 3x3, stride 1, dilation 1 correlation of one NHWC image in[Hi, Wi, Ci]
 * (zero outside, pads pt, pl) giving out[Ho, Wo, Co] is computed on 2x2
 * output tiles: with d the 4x4 input patch of a tile (per channel) and g
 * the 3x3 filter of (ci, co),
 *   U = G g G^T,  V = B^T d B,  M = sum_ci U (.) V  (16 GEMMs over ci),
 *   out tile = A^T M A,
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
 * 2.25x fewer multiplies than im2col + GEMM. Used for y of NHWC convs
 * (y = correlation of x[n] with W itself, U from rot = 0; the W3 conv,
 * 128x26x26x32 -> 64, went from 45 to 31 ms a forward at 2 threads) and
 * for their dx:
 * dx = correlation of dz[OH, OW, K] (pads 2 - pad_top, 2 - pad_left) with
 * the filter W'[i, j, k, c] = W[2-i, 2-j, c, k]. Tiles go CK_WINO_TILES
 * at a time through the block's buffers, in a fixed order. */
#define CK_WINO_TILES 64

static int wino_ok(const ck_conv_geom *g, int64_t K) {
    return !g->channels_first && g->kh == 3 && g->kw == 3 && g->stride_h == 1 &&
           g->stride_w == 1 && g->dilation_h == 1 && g->dilation_w == 1 &&
           g->C >= 8 && K >= 8 && g->pad_top <= 2 && g->pad_left <= 2;
}

/* Floats of the Winograd buffers of one image (Ci, Co are C, K in either
 * order): the 4x4 patch and B^T of it [16, Ci] each, V [16, T, Ci],
 * M [16, T, Co], a 2x2 output tile [4, Co]. */
static int64_t wino_floats(int64_t C, int64_t K) {
    const int64_t m = C > K ? C : K;
    return 32 * m + 16 * CK_WINO_TILES * (C + K) + 4 * m;
}

/* U[16][Ci][Co] from the correlation filter g(i, j, ci, co) = W'[...]:
 * rot = 0: W[i, j, ci, co] ([3,3,Ci,Co]); rot = 1: W[2-i, 2-j, co, ci]
 * (W [3,3,Co,Ci]), the input-gradient filter. */
static void wino_filter(float *U, const float *W, int64_t Ci, int64_t Co,
                        int rot) {
    for (int64_t ci = 0; ci < Ci; ci++)
        for (int64_t co = 0; co < Co; co++) {
            float gf[3][3], t[4][3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    gf[i][j] = rot ? W[((2 - i) * 3 + (2 - j)) * Co * Ci + co * Ci + ci]
                                   : W[(i * 3 + j) * Ci * Co + ci * Co + co];
            for (int j = 0; j < 3; j++) {  /* t = G g */
                t[0][j] = gf[0][j];
                t[1][j] = 0.5f * (gf[0][j] + gf[1][j] + gf[2][j]);
                t[2][j] = 0.5f * (gf[0][j] - gf[1][j] + gf[2][j]);
                t[3][j] = gf[2][j];
            }
            for (int r = 0; r < 4; r++) {  /* U = t G^T */
                float *u = U + (int64_t)(r * 4) * Ci * Co + ci * Co + co;
                u[0] = t[r][0];
                u[Ci * Co] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
                u[2 * Ci * Co] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
                u[3 * Ci * Co] = t[r][2];
            }
        }
}

/* The 4-point B^T along one axis: (o0, o1, o2, o3) = (i0 - i2, i1 + i2,
 * i2 - i1, i1 - i3), each an n-vector. */
CK_VECTOR_CLONES static void wino_bt4(float *restrict o0, float *restrict o1,
                                      float *restrict o2, float *restrict o3,
                                      const float *restrict i0,
                                      const float *restrict i1,
                                      const float *restrict i2,
                                      const float *restrict i3, int64_t n) {
    for (int64_t c = 0; c < n; c++) {
        const float a = i0[c], b = i1[c], e = i2[c], f = i3[c];
        o0[c] = a - e;
        o1[c] = b + e;
        o2[c] = e - b;
        o3[c] = b - f;
    }
}

/* v[xi * vs + c] = (B^T d B)[xi] for the patch d[16][n] (row-major 4x4):
 * t[16][n] = B^T d column by column, then v = t B row by row. */
static void wino_in(float *v, int64_t vs, const float *d, float *t, int64_t n) {
    for (int s = 0; s < 4; s++)
        wino_bt4(t + s * n, t + (4 + s) * n, t + (8 + s) * n, t + (12 + s) * n,
                 d + s * n, d + (4 + s) * n, d + (8 + s) * n, d + (12 + s) * n, n);
    for (int r = 0; r < 4; r++) {
        const float *tr = t + r * 4 * n;
        float *vr = v + r * 4 * vs;
        wino_bt4(vr, vr + vs, vr + 2 * vs, vr + 3 * vs, tr, tr + n, tr + 2 * n,
                 tr + 3 * n, n);
    }
}

/* y[4][n] = A^T m A for m[xi * ms + c] (the 2x2 tile, row-major). */
CK_VECTOR_CLONES static void wino_out(float *restrict y,
                                      const float *restrict m, int64_t ms,
                                      int64_t n) {
    for (int64_t c = 0; c < n; c++) {
#define MM(r, s) m[((r) * 4 + (s)) * ms + c]
#define AT_COL(s)                                                         \
    const float a0##s = MM(0, s) + MM(1, s) + MM(2, s),                   \
                a1##s = MM(1, s) - MM(2, s) - MM(3, s);
        AT_COL(0) AT_COL(1) AT_COL(2) AT_COL(3)
        y[0 * n + c] = a00 + a01 + a02;
        y[1 * n + c] = a01 - a02 - a03;
        y[2 * n + c] = a10 + a11 + a12;
        y[3 * n + c] = a11 - a12 - a13;
#undef MM
#undef AT_COL
    }
}

/* out[Ho, Wo, Co] += correlation of in[Hi, Wi, Ci] (pads pt, pl) with the
 * transformed filter U[16][Ci][Co]; buf: wino_floats(Ci, Co) floats.
 * Serial (called inside a block). */
static void wino_image(float *out, const float *in, const float *U,
                       int64_t Hi, int64_t Wi, int64_t Ci, int64_t Ho,
                       int64_t Wo, int64_t Co, int64_t pt, int64_t pl,
                       float *buf) {
    const int64_t th = (Ho + 1) / 2, tw = (Wo + 1) / 2, ntiles = th * tw;
    const int64_t m = Ci > Co ? Ci : Co;
    float *d = buf, *dt = d + 16 * m, *V = dt + 16 * m;
    float *M = V + 16 * CK_WINO_TILES * Ci;
    float *yt = M + 16 * CK_WINO_TILES * Co;
    for (int64_t t0 = 0; t0 < ntiles; t0 += CK_WINO_TILES) {
        const int64_t nt = ntiles - t0 < CK_WINO_TILES ? ntiles - t0 : CK_WINO_TILES;
        for (int64_t t = 0; t < nt; t++) {  /* V[:, t, :] = B^T d B */
            const int64_t ty = (t0 + t) / tw, tx = (t0 + t) % tw;
            for (int r = 0; r < 4; r++) {
                const int64_t ih = 2 * ty - pt + r;
                for (int s = 0; s < 4; s++) {
                    const int64_t iw = 2 * tx - pl + s;
                    float *dr = d + (r * 4 + s) * Ci;
                    if (ih < 0 || ih >= Hi || iw < 0 || iw >= Wi)
                        memset(dr, 0, (size_t)Ci * sizeof(float));
                    else
                        memcpy(dr, in + (ih * Wi + iw) * Ci, (size_t)Ci * sizeof(float));
                }
            }
            wino_in(V + t * Ci, CK_WINO_TILES * Ci, d, dt, Ci);
        }
        /* M[xi][nt, Co] = V[xi][nt, Ci] @ U[xi][Ci, Co] */
        for (int xi = 0; xi < 16; xi++)
            ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, nt, Co, Ci, 1.0f,
                     V + xi * CK_WINO_TILES * Ci, Ci, U + xi * Ci * Co, Co, 0.0f,
                     M + xi * CK_WINO_TILES * Co, Co);
        for (int64_t t = 0; t < nt; t++) {  /* out tile += A^T M A */
            const int64_t ty = (t0 + t) / tw, tx = (t0 + t) % tw;
            wino_out(yt, M + t * Co, CK_WINO_TILES * Co, Co);
            for (int r = 0; r < 2; r++)
                for (int s = 0; s < 2; s++) {
                    const int64_t oh = 2 * ty + r, ow = 2 * tx + s;
                    if (oh < Ho && ow < Wo)
                        add_into(out + (oh * Wo + ow) * Co, yt + (r * 2 + s) * Co, Co);
                }
        }
    }
}

/* ---------------------------------------------------------------- */
/* Conv2D                                                            */
/* ---------------------------------------------------------------- */
int64_t ck_conv2d_workspace_size(const ck_conv_geom *g, int64_t K) {
    const conv_tiling t = conv_tiles(g, K);
    return t.shared + t.T * t.per;
}

/* Activation of rows x cols floats in place (linear: nothing). Called
 * inside a block, so ck_activation_forward runs serially on this core. */
static void act_forward(float *y, int64_t rows, int64_t cols, int act,
                        float alpha) {
    if (act != CK_ACT_LINEAR) ck_activation_forward(y, y, rows, cols, act, alpha);
}

typedef struct {
    const ck_conv_geom *g;
    int64_t K;              /* filters */
    conv_tiling t;
    float *y, *dx, *dW, *db; /* whole-batch outputs (NULL: not wanted) */
    const float *x, *W, *b, *dy, *yin;
    int act;
    float alpha;
    float *ws;
} conv_ctx;

/* Workspace: [Winograd U | slot 0 | slot 1 | ...]; slot t of block t:
 * [dW partial KC*K | db partial nb | cols chunk | dz | NCHW: x[n] as NHWC |
 * dx[n] as NHWC | Winograd buffers] (transpose: the two images are dz[n]
 * and y[n] as NHWC, or act' scratch). Forward keeps its cols chunk at the
 * slot's start (no partials then). */
static float *slot(const conv_ctx *c, int64_t t) {
    return c->ws + c->t.shared + t * c->t.per;
}
static float *slot_img(const conv_ctx *c, int64_t t) {
    return slot(c, t) + c->g->kh * c->g->kw * c->g->C * c->K + c->t.nb +
           c->t.chunk + c->t.dz;
}
/* Winograd buffers (wino_floats) after the NCHW copies. */
static float *slot_wino(const conv_ctx *c, int64_t t) {
    return slot_img(c, t) + 2 * c->t.img;
}

/* dst[cols, rows] = src[rows, cols]^T (add: +=), in 32x32 blocks. */
static void transpose(float *restrict dst, const float *restrict src,
                      int64_t rows, int64_t cols, int add) {
    for (int64_t r0 = 0; r0 < rows; r0 += 32)
        for (int64_t c0 = 0; c0 < cols; c0 += 32) {
            const int64_t r1 = r0 + 32 < rows ? r0 + 32 : rows;
            const int64_t c1 = c0 + 32 < cols ? c0 + 32 : cols;
            for (int64_t cc = c0; cc < c1; cc++)
                for (int64_t r = r0; r < r1; r++)
                    dst[cc * rows + r] = (add ? dst[cc * rows + r] : 0.0f) +
                                         src[r * cols + cc];
        }
}

/* NCHW images are im2col'd (and col2im'd) through an NHWC copy in the
 * block's slot: contiguous channel runs instead of plane-strided ones. */
static ck_conv_geom nhwc_view(const ck_conv_geom *g) {
    ck_conv_geom h = *g;
    h.channels_first = 0;
    return h;
}

/* Floats of depth per forward GEMM call (see CK_CONV_GEMM_DEPTH); the
 * loops over pieces run once even for KC == 0 (C = 0), so y = b. */
static int64_t gemm_depth(const ck_conv_geom *g) {
    const int64_t row = g->kw * g->C;
    if (row <= 0) return 1;
    return row < CK_CONV_GEMM_DEPTH ? CK_CONV_GEMM_DEPTH / row * row : row;
}

/* Images [lo, hi) of block b of T: an even split of the batch. */
static void block_images(const conv_ctx *c, int64_t b, int64_t *lo, int64_t *hi) {
    *lo = b * c->g->N / c->t.T;
    *hi = (b + 1) * c->g->N / c->t.T;
}

/* Forward of image n in slot t, chunk by chunk. */
static void conv_forward_image(const conv_ctx *c, int64_t t, int64_t n) {
    const ck_conv_geom *g = c->g;
    const int64_t K = c->K, OW = g->OW, P = g->OH * OW;
    const int64_t KC = g->kh * g->kw * g->C, depth = gemm_depth(g);
    const ck_conv_geom gl = nhwc_view(g);
    const float *xn = c->x + n * g->H * g->W * g->C;
    float *yn = c->y + n * P * K, *cols = slot(c, t);
    if (c->t.wino) {  /* y[n] = act(Winograd correlation + b), NHWC */
        memset(yn, 0, (size_t)(P * K) * sizeof(float));
        wino_image(yn, xn, c->ws, g->H, g->W, g->C, g->OH, OW, K, g->pad_top,
                   g->pad_left, slot_wino(c, t));
        if (c->b)
            for (int64_t r = 0; r < P; r++) add_into(yn + r * K, c->b, K);
        act_forward(yn, P, K, c->act, c->alpha);
        return;
    }
    if (g->channels_first) {  /* x[n] [C, H*W] -> NHWC [H*W, C] */
        transpose(slot_img(c, t), xn, g->C, g->H * g->W, 0);
        xn = slot_img(c, t);
    }
    for (int64_t oh0 = 0; oh0 < g->OH; oh0 += c->t.ohc) {
        const int64_t oh1 = oh0 + c->t.ohc < g->OH ? oh0 + c->t.ohc : g->OH;
        const int64_t rows = (oh1 - oh0) * OW, p0 = oh0 * OW;
        im2col_rows(cols, xn, &gl, oh0, oh1);
        if (!g->channels_first) {
            /* y[p0:p0+rows, K] = cols[rows, KC] @ W[KC, K], + b, act;
             * the depth KC in pieces [k0, k0+kn), summed in order */
            float *yc = yn + p0 * K;
            for (int64_t k0 = 0; k0 == 0 || k0 < KC; k0 += depth) {
                const int64_t kn = KC - k0 < depth ? KC - k0 : depth;
                ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, rows, K, kn, 1.0f, cols + k0,
                         KC, c->W + k0 * K, K, k0 == 0 ? 0.0f : 1.0f, yc, K);
            }
            if (c->b)
                for (int64_t r = 0; r < rows; r++) add_into(yc + r * K, c->b, K);
            act_forward(yc, rows, K, c->act, c->alpha);
        } else {
            /* y[K, p0:p0+rows] (row stride P) = W^T[K, KC] @ cols^T */
            for (int64_t k0 = 0; k0 == 0 || k0 < KC; k0 += depth) {
                const int64_t kn = KC - k0 < depth ? KC - k0 : depth;
                ck_sgemm(CK_TRANS, CK_TRANS, K, rows, kn, 1.0f, c->W + k0 * K, K,
                         cols + k0, KC, k0 == 0 ? 0.0f : 1.0f, yn + p0, P);
            }
            for (int64_t k = 0; k < K; k++) {
                float *yk = yn + k * P + p0;
                if (c->b) {
                    const float bk = c->b[k];
                    for (int64_t r = 0; r < rows; r++) yk[r] += bk;
                }
                act_forward(yk, oh1 - oh0, OW, c->act, c->alpha);
            }
        }
    }
}

/* Block b: its images one after the other, in its slot. */
static void conv_forward_block(void *vctx, int64_t b) {
    const conv_ctx *c = (const conv_ctx *)vctx;
    int64_t lo, hi;
    block_images(c, b, &lo, &hi);
    for (int64_t n = lo; n < hi; n++) conv_forward_image(c, b, n);
}

void ck_conv2d_forward(float *y, const float *x, const float *W,
                       const float *b, const ck_conv_geom *g, int64_t K,
                       int act, float alpha, float *workspace) {
    if (g->N <= 0 || g->OH <= 0 || g->OW <= 0 || K <= 0) return;
    conv_ctx c = {g, K, conv_tiles(g, K), y, NULL, NULL, NULL, x, W, b,
                  NULL, NULL, act, alpha, workspace};
    if (c.t.wino) wino_filter(workspace, W, g->C, K, 0);
    ck_parallel_for(c.t.T, conv_forward_block, &c);
}

/* Backward of image n in slot t, chunk by chunk: dz, the slot's db and
 * dW partials (started by the block's first image), dx[n]. */
static void conv_backward_image(const conv_ctx *c, int64_t t, int64_t n,
                                int first) {
    const ck_conv_geom *g = c->g;
    const int64_t K = c->K, OW = g->OW, P = g->OH * OW;
    const int64_t KC = g->kh * g->kw * g->C;
    const int cf = (int)g->channels_first;
    float *dWp = slot(c, t), *dbp = dWp + KC * K;
    float *cols = dbp + K, *dzc = cols + c->t.chunk;
    const int wino = (int)c->t.wino;
    const float *dyn = c->dy + n * P * K, *yn = c->yin + n * P * K;
    const ck_conv_geom gl = nhwc_view(g);
    const int64_t HW = g->H * g->W, C = g->C;
    const float *xn = c->x + n * HW * C;
    float *dxn = c->dx ? c->dx + n * HW * C : NULL;
    if (cf && KC > 0) {  /* NHWC copies: x[n] in, dx[n] accumulated */
        float *xs = slot_img(c, t), *dxs = xs + c->t.img;
        transpose(xs, xn, C, HW, 0);
        xn = xs;
        if (dxn) memset(dxs, 0, (size_t)(HW * C) * sizeof(float));
    }
    float *dxl = cf && dxn ? slot_img(c, t) + c->t.img : dxn;
    if (c->db && first)
        for (int64_t k = 0; k < K; k++) dbp[k] = 0.0f;
    for (int64_t oh0 = 0; oh0 < g->OH; oh0 += c->t.ohc) {
        const int64_t oh1 = oh0 + c->t.ohc < g->OH ? oh0 + c->t.ohc : g->OH;
        const int64_t rows = (oh1 - oh0) * OW, p0 = oh0 * OW;
        /* dz of the chunk: NHWC [rows, K], NCHW [K, rows]; row stride ldz */
        const float *dz = cf ? dyn + p0 : dyn + p0 * K;
        int64_t ldz = cf ? P : K;
        if (c->act != CK_ACT_LINEAR) {
            /* dz = dy * act'(y), along y's last axis (Winograd: kept for
             * the whole image, at its place in dzc) */
            float *dzr = wino && dxn ? dzc + p0 * K : dzc;
            memset(dzr, 0, (size_t)(rows * K) * sizeof(float));
            if (!cf)
                ck_activation_backward(dzr, dz, yn + p0 * K, rows, K, c->act,
                                       c->alpha);
            else
                for (int64_t k = 0; k < K; k++)
                    ck_activation_backward(dzc + k * rows, dz + k * P,
                                           yn + k * P + p0, oh1 - oh0, OW,
                                           c->act, c->alpha);
            dz = dzr;
            ldz = cf ? rows : K;
        }
        /* db partial: pixels in order, chunk after chunk */
        if (c->db) {
            if (!cf) {
                for (int64_t r = 0; r < rows; r++) add_into(dbp, dz + r * ldz, K);
            } else {
                for (int64_t k = 0; k < K; k++) {
                    float s = 0.0f;
                    for (int64_t r = 0; r < rows; r++) s += dz[k * ldz + r];
                    dbp[k] += s;
                }
            }
        }
        if (KC <= 0) continue;
        im2col_rows(cols, xn, &gl, oh0, oh1);
        /* dWp[KC, K] (+)= cols^T[KC, rows] @ dz[rows, K] */
        const float beta = oh0 == 0 && first ? 0.0f : 1.0f;
        ck_sgemm(CK_TRANS, cf ? CK_TRANS : CK_NO_TRANS, KC, K, rows, 1.0f,
                 cols, KC, dz, ldz, beta, dWp, K);
        if (!dxn || wino) continue;
        /* dcols[rows, KC] = dz[rows, K] @ W^T[K, KC], into the cols slot */
        ck_sgemm(cf ? CK_TRANS : CK_NO_TRANS, CK_TRANS, rows, KC, K, 1.0f, dz,
                 ldz, c->W, K, 0.0f, cols, KC);
        col2im_rows(dxl, cols, &gl, oh0, oh1);
    }
    if (dxn && wino)  /* dx[n] += dz[n] correlated with the flipped W */
        wino_image(dxn, c->act != CK_ACT_LINEAR ? dzc : dyn, c->ws, g->OH, OW, K,
                   g->H, g->W, C, 2 - g->pad_top, 2 - g->pad_left, slot_wino(c, t));
    if (cf && dxn && KC > 0)  /* dx[n] [C, H*W] += NHWC [H*W, C]^T */
        transpose(dxn, dxl, HW, C, 1);
}

static void conv_backward_block(void *vctx, int64_t b) {
    const conv_ctx *c = (const conv_ctx *)vctx;
    int64_t lo, hi;
    block_images(c, b, &lo, &hi);
    for (int64_t n = lo; n < hi; n++) conv_backward_image(c, b, n, n == lo);
}

/* Block of CK_ELEMENTWISE_BLOCK elements of dW (then db): add the
 * blocks' partials in block order. */
typedef struct {
    const conv_ctx *c;
    int64_t nt, nW;  /* blocks, KC*K */
} reduce_ctx;

static void conv_reduce_block(void *vctx, int64_t blk) {
    const reduce_ctx *r = (const reduce_ctx *)vctx;
    const conv_ctx *c = r->c;
    const int64_t n = r->nW + (c->db ? c->t.nb : 0);
    const int64_t e0 = blk * CK_ELEMENTWISE_BLOCK;
    const int64_t e1 = e0 + CK_ELEMENTWISE_BLOCK < n ? e0 + CK_ELEMENTWISE_BLOCK : n;
    for (int64_t e = e0; e < e1; e++) {
        /* element e of [dW | db]; partials at the same offset per image */
        const int64_t off = e;
        float s = 0.0f;
        for (int64_t t = 0; t < r->nt; t++) s += slot(c, t)[off];
        if (e < r->nW) c->dW[e] += s;
        else c->db[e - r->nW] += s;
    }
}

void ck_conv2d_backward(float *dx, float *dW, float *db, const float *dy,
                        const float *x, const float *W, const float *y,
                        const ck_conv_geom *g, int64_t K, int act,
                        float alpha, float *workspace) {
    if (g->N <= 0 || g->OH <= 0 || g->OW <= 0 || K <= 0) return;
    conv_ctx c = {g, K, conv_tiles(g, K), NULL, dx, dW, db, x, W, NULL,
                  dy, y, act, alpha, workspace};
    const int64_t KC = g->kh * g->kw * g->C;
    if (dx && c.t.wino) wino_filter(workspace, W, K, g->C, 1);
    ck_parallel_for(c.t.T, conv_backward_block, &c);
    reduce_ctx r = {&c, c.t.T, KC * K};
    ck_parallel_for(ck_nblocks(KC * K + (db ? K : 0), CK_ELEMENTWISE_BLOCK),
                    conv_reduce_block, &r);
}

/* ---------------------------------------------------------------- */
/* Conv2DTranspose: Conv2D's backward in x as a forward, and back    */
/* ---------------------------------------------------------------- */
int64_t ck_conv2d_transpose_workspace_size(const ck_conv_geom *g, int64_t K) {
    const conv_tiling t = conv_tiles_for(g, K, 1);
    return t.shared + t.T * t.per;
}

/* Forward of image n in slot t: y[n] = act(col2im(x[n] W^T) + b). The
 * scatter goes into y[n] itself (NHWC) or an NHWC image in the slot
 * (NCHW). */
static void convt_forward_image(const conv_ctx *c, int64_t t, int64_t n) {
    const ck_conv_geom *g = c->g;
    const int64_t K = c->K, OW = g->OW, P = g->OH * OW;
    const int64_t KC = g->kh * g->kw * g->C, HW = g->H * g->W, C = g->C;
    const int cf = (int)g->channels_first;
    const ck_conv_geom gl = nhwc_view(g);
    const float *xn = c->x + n * P * K;
    float *yn = c->y + n * HW * C, *cols = slot(c, t);
    float *yl = cf ? slot_img(c, t) : yn;  /* y[n] as NHWC [HW, C] */
    memset(yl, 0, (size_t)(HW * C) * sizeof(float));
    for (int64_t oh0 = 0; oh0 < g->OH; oh0 += c->t.ohc) {
        const int64_t oh1 = oh0 + c->t.ohc < g->OH ? oh0 + c->t.ohc : g->OH;
        const int64_t rows = (oh1 - oh0) * OW, p0 = oh0 * OW;
        /* dcols[rows, KC] = x[rows, K] @ W^T[K, KC]; NCHW x[n] is [K, P] */
        ck_sgemm(cf ? CK_TRANS : CK_NO_TRANS, CK_TRANS, rows, KC, K, 1.0f,
                 cf ? xn + p0 : xn + p0 * K, cf ? P : K, c->W, K, 0.0f, cols,
                 KC);
        col2im_rows(yl, cols, &gl, oh0, oh1);
    }
    if (!cf) {
        if (c->b)
            for (int64_t r = 0; r < HW; r++) add_into(yn + r * C, c->b, C);
        act_forward(yn, HW, C, c->act, c->alpha);
    } else {  /* y[n] [C, HW] = NHWC [HW, C]^T, then bias, act on rows */
        transpose(yn, yl, HW, C, 0);
        for (int64_t ch = 0; ch < C; ch++) {
            float *yc = yn + ch * HW;
            if (c->b) {
                const float bc = c->b[ch];
                for (int64_t r = 0; r < HW; r++) yc[r] += bc;
            }
            act_forward(yc, g->H, g->W, c->act, c->alpha);
        }
    }
}

static void convt_forward_block(void *vctx, int64_t b) {
    const conv_ctx *c = (const conv_ctx *)vctx;
    int64_t lo, hi;
    block_images(c, b, &lo, &hi);
    for (int64_t n = lo; n < hi; n++) convt_forward_image(c, b, n);
}

void ck_conv2d_transpose_forward(float *y, const float *x, const float *W,
                                 const float *b, const ck_conv_geom *g,
                                 int64_t K, int act, float alpha,
                                 float *workspace) {
    if (g->N <= 0 || g->H <= 0 || g->W <= 0 || g->C <= 0 || g->OH <= 0 ||
        g->OW <= 0 || K <= 0)
        return;
    conv_ctx c = {g, K, conv_tiles_for(g, K, 1), y, NULL, NULL, NULL, x, W,
                  b, NULL, NULL, act, alpha, workspace};
    ck_parallel_for(c.t.T, convt_forward_block, &c);
}

/* Backward of image n in slot t: dz[n] (NHWC, in the slot unless dy[n]
 * serves as is), the slot's db partial, then per chunk of x's rows:
 * cols = im2col(dz), dW partial (+)= cols^T x, dx[n] += cols W. The
 * block's first image starts the partials, the others add to them. */
static void convt_backward_image(const conv_ctx *c, int64_t t, int64_t n,
                                 int first) {
    const ck_conv_geom *g = c->g;
    const int64_t K = c->K, OW = g->OW, P = g->OH * OW;
    const int64_t KC = g->kh * g->kw * g->C, HW = g->H * g->W, C = g->C;
    const int cf = (int)g->channels_first;
    const ck_conv_geom gl = nhwc_view(g);
    float *dWp = slot(c, t), *dbp = dWp + KC * K, *cols = dbp + c->t.nb;
    float *img1 = slot_img(c, t), *img2 = img1 + c->t.img;
    const float *dyn = c->dy + n * HW * C, *yn = c->yin + n * HW * C;
    const float *xn = c->x + n * P * K;
    float *dxn = c->dx ? c->dx + n * P * K : NULL;
    const float *dz = dyn;  /* NHWC [HW, C] */
    if (c->act != CK_ACT_LINEAR) {
        /* dz = dy * act'(y) along y's last axis (C, or W for NCHW) */
        float *d = cf ? img2 : img1;
        memset(d, 0, (size_t)(HW * C) * sizeof(float));
        if (!cf) ck_activation_backward(d, dyn, yn, HW, C, c->act, c->alpha);
        else ck_activation_backward(d, dyn, yn, C * g->H, g->W, c->act, c->alpha);
        dyn = d;
    }
    if (cf) {  /* [C, HW] -> NHWC [HW, C] */
        transpose(img1, dyn, C, HW, 0);
        dz = img1;
    } else {
        dz = dyn;
    }
    if (c->db) {
        if (first)
            for (int64_t k = 0; k < C; k++) dbp[k] = 0.0f;
        for (int64_t r = 0; r < HW; r++) add_into(dbp, dz + r * C, C);
    }
    for (int64_t oh0 = 0; oh0 < g->OH; oh0 += c->t.ohc) {
        const int64_t oh1 = oh0 + c->t.ohc < g->OH ? oh0 + c->t.ohc : g->OH;
        const int64_t rows = (oh1 - oh0) * OW, p0 = oh0 * OW;
        const float *xc = cf ? xn + p0 : xn + p0 * K;
        const int64_t ldx = cf ? P : K;
        im2col_rows(cols, dz, &gl, oh0, oh1);
        /* dWp[KC, K] (+)= cols^T[KC, rows] @ x[rows, K] */
        ck_sgemm(CK_TRANS, cf ? CK_TRANS : CK_NO_TRANS, KC, K, rows, 1.0f,
                 cols, KC, xc, ldx, oh0 == 0 && first ? 0.0f : 1.0f, dWp, K);
        if (!dxn) continue;
        /* dx[rows, K] += cols[rows, KC] @ W[KC, K]; NCHW: dx[n] [K, P] */
        if (!cf)
            ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, rows, K, KC, 1.0f, cols, KC,
                     c->W, K, 1.0f, dxn + p0 * K, K);
        else
            ck_sgemm(CK_TRANS, CK_TRANS, K, rows, KC, 1.0f, c->W, K, cols, KC,
                     1.0f, dxn + p0, P);
    }
}

static void convt_backward_block(void *vctx, int64_t b) {
    const conv_ctx *c = (const conv_ctx *)vctx;
    int64_t lo, hi;
    block_images(c, b, &lo, &hi);
    for (int64_t n = lo; n < hi; n++) convt_backward_image(c, b, n, n == lo);
}

void ck_conv2d_transpose_backward(float *dx, float *dW, float *db,
                                  const float *dy, const float *x,
                                  const float *W, const float *y,
                                  const ck_conv_geom *g, int64_t K, int act,
                                  float alpha, float *workspace) {
    if (g->N <= 0 || g->H <= 0 || g->W <= 0 || g->C <= 0 || g->OH <= 0 ||
        g->OW <= 0 || K <= 0)
        return;
    conv_ctx c = {g, K, conv_tiles_for(g, K, 1), NULL, dx, dW, db, x, W,
                  NULL, dy, y, act, alpha, workspace};
    const int64_t KC = g->kh * g->kw * g->C;
    ck_parallel_for(c.t.T, convt_backward_block, &c);
    reduce_ctx r = {&c, c.t.T, KC * K};
    ck_parallel_for(ck_nblocks(KC * K + (db ? g->C : 0), CK_ELEMENTWISE_BLOCK),
                    conv_reduce_block, &r);
}
