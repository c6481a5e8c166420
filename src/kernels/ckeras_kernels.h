/*
 * ckeras_kernels.h: the one public header of the ckeras C kernels.
 *
 * Single source of truth for every prototype. The contract in prose, with
 * the math of each kernel, is src/kernels/README.md.
 *
 * Shape legend (every size and stride is int64_t, every array float32,
 * row-major, densely packed unless a leading dimension says otherwise):
 *   N  batch (rows)          C  input features / classes / channels
 *   U  units (output features)
 *   T  time                  H, W  spatial            K  filters
 *   n  flat element count of an elementwise op
 *
 * Rules every kernel keeps:
 *   - C trusts its caller: no kernel validates shapes or pointers. The Cython
 *     layer (ckeras/_kernels.pyx) checks everything before calling.
 *   - No allocation, no printing, no exit. The caller owns every buffer,
 *     workspaces included.
 *   - Forward writes (=) its outputs. Backward ACCUMULATES (+=) into every
 *     gradient output (names start with d); the caller zeroes them first.
 *   - Results do not depend on the thread count: parallel loops own disjoint
 *     outputs and reductions are split by fixed block sizes, never by thread.
 *   - Denormals are flushed to zero (FTZ/DAZ) while a kernel runs; the
 *     calling thread's floating-point state is restored on return.
 *   - Argument order: outputs, inputs, forward caches, sizes, parameters,
 *     workspace. ck_sgemm alone keeps BLAS's order, which every reader knows.
 */
#ifndef CKERAS_KERNELS_H
#define CKERAS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Threads (parallel.c). One pool (pthreads) for the whole process;    */
/* OpenBLAS is kept single-threaded and called from inside that pool.  */
/* ------------------------------------------------------------------ */
/* ck_init: set the default thread count (available cores) and pin
 * OpenBLAS to one thread. Idempotent; call once before any kernel. */
void ck_init(void);
void ck_set_num_threads(int n);   /* n >= 1 */
int ck_get_num_threads(void);
int ck_available_cores(void);     /* CPUs this process may run on */

/* ------------------------------------------------------------------ */
/* GEMM (gemm.c): the only file that knows which BLAS is underneath.   */
/* C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C                 */
/* op(X) = X or X^T by trans flag; row-major; lda/ldb/ldc are row      */
/* strides in elements. beta == 0 writes C without reading it (NaN in  */
/* C does not propagate). K == 0 gives beta * C (or zeros).            */
/* ------------------------------------------------------------------ */
enum { CK_NO_TRANS = 0, CK_TRANS = 1 };

void ck_sgemm(int transa, int transb, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc);
/* Naive triple loop with the same contract, the test oracle. */
void ck_sgemm_ref(int transa, int transb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);

/* ------------------------------------------------------------------ */
/* Activations (activations.c), forward and backward.                  */
/* Backward needs only the forward OUTPUT y (every Keras 2 activation  */
/* has a derivative expressible through its output), so fused layers   */
/* keep y and never the pre-activation.                                */
/* ------------------------------------------------------------------ */
typedef enum {
    CK_ACT_LINEAR = 0,
    CK_ACT_RELU = 1,
    CK_ACT_ELU = 2,          /* alpha (Keras default 1.0) */
    CK_ACT_SELU = 3,         /* fixed alpha/scale of Klambauer et al. */
    CK_ACT_SOFTPLUS = 4,
    CK_ACT_SOFTSIGN = 5,
    CK_ACT_SIGMOID = 6,
    CK_ACT_HARD_SIGMOID = 7, /* Keras 2: clip(0.2 x + 0.5, 0, 1) */
    CK_ACT_TANH = 8,
    CK_ACT_SOFTMAX = 9,      /* over the last axis (cols) */
    CK_ACT_COUNT = 10
} ck_activation;

/* y[rows,cols] = act(x[rows,cols]). y may alias x (in place). */
void ck_activation_forward(float *y, const float *x,
                           int64_t rows, int64_t cols, int act, float alpha);
/* dx[rows,cols] += dy * act'(.) expressed through y. dx must not alias dy
 * or y. */
void ck_activation_backward(float *dx, const float *dy, const float *y,
                            int64_t rows, int64_t cols, int act, float alpha);

/* ------------------------------------------------------------------ */
/* Dropout (dropout.c): inverted dropout, mask from a counter-based     */
/* stream of (seed, element index): mask = u < 1-rate ? 1/(1-rate) : 0, */
/* y = x * mask, all flat [n]; y may alias x. 0 <= rate < 1. The        */
/* backward pass is dx = dy * mask.                                     */
/* ------------------------------------------------------------------ */
void ck_dropout_forward(float *y, float *mask, const float *x, int64_t n,
                        float rate, uint64_t seed);

/* ------------------------------------------------------------------ */
/* Dense (dense.c): y[N,U] = act(x[N,C] @ W[C,U] + b[U])               */
/* b may be NULL (use_bias=False). Bias and activation are applied to  */
/* each GEMM output block while it is still in cache.                  */
/* ------------------------------------------------------------------ */
void ck_dense_forward(float *y, const float *x, const float *W,
                      const float *b, int64_t N, int64_t C, int64_t U,
                      int act, float alpha);
/* dx[N,C] += dz @ W^T, dW[C,U] += x^T @ dz, db[U] += sum_n dz,
 * where dz = dy * act'(y). dx or db may be NULL (not wanted).
 * workspace: N*U floats (ck_dense_workspace_size), holds dz. */
int64_t ck_dense_workspace_size(int64_t N, int64_t C, int64_t U);
void ck_dense_backward(float *dx, float *dW, float *db,
                       const float *dy, const float *x, const float *W,
                       const float *y, int64_t N, int64_t C, int64_t U,
                       int act, float alpha, float *workspace);

/* ------------------------------------------------------------------ */
/* Losses (losses.c). Forward writes one loss per sample (row);        */
/* backward takes dloss[N], the gradient of the objective with respect */
/* to each sample's loss (1/N for a mean, times sample weights), and   */
/* accumulates into the input gradient.                                */
/* ------------------------------------------------------------------ */
/* Fused softmax + categorical cross-entropy on logits z[N,C] with      */
/* targets t[N,C]. probs[N,C] = softmax(z) (saved for backward).       */
/* loss[n] = -sum_c t log(clip(p, eps, 1-eps)), as Keras 2 computes it. */
void ck_softmax_xent_forward(float *loss, float *probs, const float *z,
                             const float *t, int64_t N, int64_t C,
                             float eps);
/* dz += dloss[n] * (p * sum_c(m t) - m * t), m = (eps <= p <= 1-eps):
 * the exact gradient of the clipped loss; p - t when nothing clips and
 * the targets sum to one. */
void ck_softmax_xent_backward(float *dz, const float *dloss,
                              const float *probs, const float *t,
                              int64_t N, int64_t C, float eps);

/* Binary cross-entropy on probabilities p[N,C], Keras 2's way: clip p to
 * [eps, 1-eps], take the logit, sigmoid cross-entropy;
 * loss[n] = mean over C. */
void ck_bce_forward(float *loss, const float *p, const float *t,
                    int64_t N, int64_t C, float eps);
void ck_bce_backward(float *dp, const float *dloss, const float *p,
                     const float *t, int64_t N, int64_t C, float eps);

/* Fused sigmoid + binary cross-entropy on logits z[N,C]; probs[N,C] =
 * sigmoid(z) saved for backward. Same numbers as sigmoid then
 * ck_bce_forward (the clip becomes a clip of z to +-log((1-eps)/eps)). */
void ck_sigmoid_bce_forward(float *loss, float *probs, const float *z,
                            const float *t, int64_t N, int64_t C, float eps);
void ck_sigmoid_bce_backward(float *dz, const float *dloss,
                             const float *probs, const float *t,
                             int64_t N, int64_t C, float eps);

/* Mean squared error: loss[n] = mean_c (yp - yt)^2. */
void ck_mse_forward(float *loss, const float *yp, const float *yt,
                    int64_t N, int64_t C);
void ck_mse_backward(float *dyp, const float *dloss, const float *yp,
                     const float *yt, int64_t N, int64_t C);

/* ------------------------------------------------------------------ */
/* Optimizer updates (optimizers.c): one fused pass over a parameter,  */
/* in place, Keras 2's exact formulas. The caller computes the step's  */
/* learning rate (decay, Adam's bias correction) as a scalar.          */
/* ------------------------------------------------------------------ */
/* v = momentum*m - lr*g; m = v; p += nesterov ? momentum*v - lr*g : v.
 * m may be NULL only when momentum == 0 (then p -= lr*g). */
void ck_sgd_update(float *p, float *m, const float *g, int64_t n,
                   float lr, float momentum, int nesterov);
/* a = rho*a + (1-rho)*g^2; p -= lr*g/(sqrt(a)+eps) */
void ck_rmsprop_update(float *p, float *a, const float *g, int64_t n,
                       float lr, float rho, float eps);
/* The same on a table p, a [V, D] whose gradient is a sum of rows: row
 * r's is the sum of values[order[k]] ([n, D]) for k in [rowptr[r],
 * rowptr[r+1]) in that order, zero for an empty range (then only a is read
 * and written). Bits of ck_rmsprop_update with the dense gradient that
 * ck_embedding_backward scatters from the same values in index order. */
void ck_rmsprop_update_rows(float *p, float *a, const float *values,
                            const int64_t *rowptr, const int64_t *order,
                            int64_t V, int64_t D, float lr, float rho,
                            float eps);
/* a += g^2; p -= lr*g/(sqrt(a)+eps) */
void ck_adagrad_update(float *p, float *a, const float *g, int64_t n,
                       float lr, float eps);
/* a = rho*a + (1-rho)*g^2; u = g*sqrt(d+eps)/sqrt(a+eps); p -= lr*u;
 * d = rho*d + (1-rho)*u^2 */
void ck_adadelta_update(float *p, float *a, float *d, const float *g,
                        int64_t n, float lr, float rho, float eps);
/* m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * vhat == NULL: p -= lr_t*m/(sqrt(v)+eps);
 * vhat != NULL (amsgrad): vhat = max(vhat, v); p -= lr_t*m/(sqrt(vhat)+eps).
 * lr_t = lr*sqrt(1-b2^t)/(1-b1^t), computed by the caller. */
void ck_adam_update(float *p, float *m, float *v, float *vhat,
                    const float *g, int64_t n, float lr_t, float beta1,
                    float beta2, float eps);

/* ------------------------------------------------------------------ */
/* Benchmark support (bench.c)                                         */
/* ------------------------------------------------------------------ */
/* Runs a register-only FMA loop on every pool thread and returns the  */
/* achieved GFLOP/s of the whole pool (the machine's FMA peak).        */
double ck_fma_peak_gflops(int64_t iters);

/* ------------------------------------------------------------------ */
/* Recurrent layers (lstm.c, rnn.c): a whole sequence per call, Keras 2 */
/* math and weight layouts. x [N, T, C] (batch-major); W [C, G*U],      */
/* R [U, G*U], b [G*U] (NULL: no bias) with G gates: LSTM 4 (i, f, c,   */
/* o), GRU 3 (z, r, h; Keras 2.0 form, reset before the recurrent       */
/* product), SimpleRNN 1. h0, c0 [N, U] (NULL: zeros). mask [N, T]      */
/* (NULL: all kept); a step whose mask is 0 keeps the previous state,   */
/* and its output is that state. go_backwards processes t = T-1 .. 0    */
/* and writes hseq [N, T, U] (NULL: not wanted) in processed order.     */
/* act, ract: CK_ACT_LINEAR, _RELU, _SIGMOID, _HARD_SIGMOID or _TANH.   */
/* Forward saves into cache (ck_*_cache_size floats) what backward      */
/* reads; backward takes the same sizes and flags, dhseq/dhT/dcT (NULL: */
/* zero), and accumulates into dx, dW, dR, db, dh0 (dx, db, dh0, dc0    */
/* may be NULL), with ck_*_workspace_size floats of scratch.            */
/* rdmask [G, N, U] (NULL: none): recurrent dropout, gate q's recurrent */
/* product reads h * rdmask[q] (GRU's h gate: (r * (h * rdmask[2])) R_h);*/
/* backward takes the same one. GRU rdcarry != 0 (Keras 2.2's GRUCell    */
/* with implementation=2): the update's carry reads it too,             */
/* h = z * (h * rdmask[0]) + (1 - z) * hh; ignored without rdmask.      */
/* W NULL: x is the input projection x_t W itself, [N, T, G*U] (C must  */
/* be G*U), e.g. projected by the caller with one input dropout mask    */
/* per gate; backward then adds dz into dx and leaves dW (may be NULL). */
/* ------------------------------------------------------------------ */
int64_t ck_lstm_cache_size(int64_t N, int64_t T, int64_t U);
int64_t ck_lstm_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U);
void ck_lstm_forward(float *hseq, float *hT, float *cT, float *cache,
                     const float *x, const float *W, const float *R,
                     const float *b, const float *h0, const float *c0,
                     const float *mask, const float *rdmask, int64_t N,
                     int64_t T, int64_t C, int64_t U, int go_backwards,
                     int act, int ract);
void ck_lstm_backward(float *dx, float *dW, float *dR, float *db, float *dh0,
                      float *dc0, const float *dhseq, const float *dhT,
                      const float *dcT, const float *x, const float *W,
                      const float *R, const float *mask, const float *rdmask,
                      const float *cache, int64_t N, int64_t T, int64_t C,
                      int64_t U, int go_backwards, int act, int ract,
                      float *workspace);

int64_t ck_gru_cache_size(int64_t N, int64_t T, int64_t U);
int64_t ck_gru_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U);
void ck_gru_forward(float *hseq, float *hT, float *cache, const float *x,
                    const float *W, const float *R, const float *b,
                    const float *h0, const float *mask, const float *rdmask,
                    int64_t N, int64_t T, int64_t C, int64_t U,
                    int go_backwards, int act, int ract, int rdcarry);
void ck_gru_backward(float *dx, float *dW, float *dR, float *db, float *dh0,
                     const float *dhseq, const float *dhT, const float *x,
                     const float *W, const float *R, const float *mask,
                     const float *rdmask, const float *cache, int64_t N,
                     int64_t T, int64_t C, int64_t U, int go_backwards,
                     int act, int ract, int rdcarry, float *workspace);

int64_t ck_simple_rnn_cache_size(int64_t N, int64_t T, int64_t U);
int64_t ck_simple_rnn_workspace_size(int64_t N, int64_t T, int64_t C,
                                     int64_t U);
void ck_simple_rnn_forward(float *hseq, float *hT, float *cache,
                           const float *x, const float *W, const float *R,
                           const float *b, const float *h0,
                           const float *mask, const float *rdmask, int64_t N,
                           int64_t T, int64_t C, int64_t U, int go_backwards,
                           int act);
void ck_simple_rnn_backward(float *dx, float *dW, float *dR, float *db,
                            float *dh0, const float *dhseq, const float *dhT,
                            const float *x, const float *W, const float *R,
                            const float *mask, const float *rdmask,
                            const float *cache, int64_t N, int64_t T,
                            int64_t C, int64_t U, int go_backwards, int act,
                            float *workspace);

/* ------------------------------------------------------------------ */
/* Embedding (embedding.c): out[n, :] = table[idx[n], :] for n < n_idx; */
/* table [V, D]. Backward: dtable[idx[n], :] += dout[n, :], touching    */
/* only the rows used, in index order (same bits for any thread count). */
/* The bindings reject indices outside [0, V); as a last guard the      */
/* kernels never touch memory for one: forward writes a zero row,       */
/* backward skips it.                                                   */
/* ------------------------------------------------------------------ */
void ck_embedding_forward(float *out, const float *table, const int64_t *idx,
                          int64_t n_idx, int64_t V, int64_t D);
void ck_embedding_backward(float *dtable, const float *dout,
                           const int64_t *idx, int64_t n_idx, int64_t V,
                           int64_t D);

/* ------------------------------------------------------------------ */
/* Convolution and pooling geometry (conv.c, pool.c). The caller (the  */
/* binding) computes output sizes and pads exactly as Keras 2 /        */
/* TensorFlow do; the kernels take them as given. Window tap (i, j) of */
/* output pixel (oh, ow) reads input row oh*stride_h - pad_top +       */
/* i*dilation_h and column ow*stride_w - pad_left + j*dilation_w;      */
/* taps outside [0,H) x [0,W) are padding (zero for conv, ignored by   */
/* pooling). The pads after the last row/column follow from OH, OW.    */
/* ------------------------------------------------------------------ */
typedef struct {
    int64_t N, H, W, C;          /* input batch, height, width, channels */
    int64_t OH, OW;              /* output height, width */
    int64_t kh, kw;              /* window (kernel or pool) height, width */
    int64_t stride_h, stride_w;  /* >= 1 */
    int64_t dilation_h, dilation_w; /* >= 1 (pooling: 1) */
    int64_t pad_top, pad_left;   /* >= 0 */
    int64_t channels_first;      /* 0: [N,H,W,C] (NHWC), 1: [N,C,H,W] */
} ck_conv_geom;

/* im2col (conv.c): cols[N*OH*OW, kh*kw*C], rows (n, oh, ow), columns
 * (i, j, c), whichever layout x has; padding taps are 0. */
void ck_im2col(float *cols, const float *x, const ck_conv_geom *g);
/* col2im, the adjoint: dx[N,H,W,C] or [N,C,H,W] += scatter of
 * dcols[N*OH*OW, kh*kw*C] (padding taps dropped). */
void ck_col2im(float *dx, const float *dcols, const ck_conv_geom *g);

/* Conv2D (conv.c), TensorFlow's cross-correlation:
 *   y[n,oh,ow,k] = act(b[k] + sum_{i,j,c} x[n, ih, iw, c] W[i,j,c,k])
 * W[kh,kw,C,K] (Keras layout), b[K] or NULL; y[N,OH,OW,K] (NHWC) or
 * [N,K,OH,OW] (NCHW). The batch is cut into a number of image blocks
 * fixed by the shape; each image is cut into chunks of output rows whose
 * im2col fits in L2: im2col, GEMM, then bias and activation while the
 * chunk is in cache (3x3 stride-1 NHWC: y and dx by Winograd F(2x2,3x3)). The activation acts on the output's last axis
 * (softmax: K for NHWC, OW for NCHW, as Keras 2 applies it). workspace:
 * ck_conv2d_workspace_size floats, for forward and backward alike;
 * independent of N. */
int64_t ck_conv2d_workspace_size(const ck_conv_geom *g, int64_t K);
void ck_conv2d_forward(float *y, const float *x, const float *W,
                       const float *b, const ck_conv_geom *g, int64_t K,
                       int act, float alpha, float *workspace);
/* dz = dy * act'(y); db[K] += sum dz; dW[kh,kw,C,K] += cols^T dz;
 * dx += col2im(dz W^T). dx or db may be NULL (not wanted). */
void ck_conv2d_backward(float *dx, float *dW, float *db, const float *dy,
                        const float *x, const float *W, const float *y,
                        const ck_conv_geom *g, int64_t K, int act,
                        float alpha, float *workspace);

/* Conv2DTranspose (conv.c), the adjoint of Conv2D in x: g is the
 * geometry of the Conv2D that maps the transposed conv's OUTPUT y back to
 * its input x, so y has g's input shape (N,H,W,C) / (N,C,H,W) and x has
 * g's output shape with K channels: x[N,OH,OW,K] / [N,K,OH,OW].
 * W[kh,kw,C,K] (Keras's Conv2DTranspose layout (kh, kw, filters, in)).
 *   y = act(col2im(x W^T) + b),  b[C] or NULL.
 * Activation on y's last axis, as for Conv2D. Blocks of images like
 * Conv2D (each with its own workspace slot), chunked by rows of x. */
int64_t ck_conv2d_transpose_workspace_size(const ck_conv_geom *g, int64_t K);
void ck_conv2d_transpose_forward(float *y, const float *x, const float *W,
                                 const float *b, const ck_conv_geom *g,
                                 int64_t K, int act, float alpha,
                                 float *workspace);
/* dz = dy * act'(y); db[C] += sum dz; dx[x's shape] += im2col(dz) W
 * (Conv2D forward of dz); dW += im2col(dz)^T x. dx or db may be NULL. */
void ck_conv2d_transpose_backward(float *dx, float *dW, float *db,
                                  const float *dy, const float *x,
                                  const float *W, const float *y,
                                  const ck_conv_geom *g, int64_t K, int act,
                                  float alpha, float *workspace);

/* Depthwise Conv2D (depthwise.c), TensorFlow's depthwise_conv2d: each
 * input channel c has M = depth_multiplier filters of its own,
 *   y[n,oh,ow,c*M+m] = b[c*M+m] + sum_{i,j} x[n,ih,iw,c] W[i,j,c,m]
 * W[kh,kw,C,M] (Keras layout), b[C*M] or NULL; y[N,OH,OW,C*M] (NHWC) or
 * [N,C*M,OH,OW] (NCHW). No activation (the layer applies it). Forward
 * blocks: NHWC one output row (n, oh), NCHW one input plane (n, c).
 * Backward: tiles of images, one block per image writing dx[n] and its
 * own dW/db partials, then a fixed-order sum of the partials. */
int64_t ck_depthwise_conv2d_workspace_size(const ck_conv_geom *g, int64_t M);
void ck_depthwise_conv2d_forward(float *y, const float *x, const float *W,
                                 const float *b, const ck_conv_geom *g,
                                 int64_t M);
/* dx += sum_m dy W (scattered to the taps); dW[kh,kw,C,M] += sum x dy;
 * db[C*M] += sum dy. dx or db may be NULL. workspace:
 * ck_depthwise_conv2d_workspace_size floats. */
void ck_depthwise_conv2d_backward(float *dx, float *dW, float *db,
                                  const float *dy, const float *x,
                                  const float *W, const ck_conv_geom *g,
                                  int64_t M, float *workspace);

/* Pooling (pool.c) over kh x kw windows (g->dilation_* must be 1);
 * x[N,H,W,C] or [N,C,H,W], y[N,OH,OW,C] or [N,C,OH,OW]. Padding taps are
 * ignored: max over the valid taps, average over the count of valid taps
 * (Keras 2 with TensorFlow). */
void ck_max_pool2d_forward(float *y, const float *x, const ck_conv_geom *g);
/* dx += dy routed to the first maximal tap of each window in scan order
 * (i, then j), recomputed from x as TensorFlow does; no argmax cache. */
void ck_max_pool2d_backward(float *dx, const float *dy, const float *x,
                            const ck_conv_geom *g);
void ck_avg_pool2d_forward(float *y, const float *x, const ck_conv_geom *g);
/* dx += dy / (valid taps of the window) on each valid tap. */
void ck_avg_pool2d_backward(float *dx, const float *dy,
                            const ck_conv_geom *g);

/* ------------------------------------------------------------------ */
/* Array memory pool (arraypool.c). Not a kernel: the one part of this  */
/* library that allocates. Blocks of 128 KiB or more are kept when      */
/* freed (up to a cap, default min(1 GiB, RAM / 8)) and reused by the   */
/* next request of their size class, so a training step's arrays do    */
/* not page-fault again every batch. Thread-safe; malloc's contract.    */
/* ------------------------------------------------------------------ */
void *ck_pool_malloc(size_t n);
void *ck_pool_calloc(size_t count, size_t size);
void *ck_pool_realloc(void *p, size_t n); /* p NULL: malloc */
void ck_pool_free(void *p);               /* p NULL: nothing */
void ck_pool_release(void);               /* unmaps every cached block */
void ck_pool_set_cap(size_t bytes);       /* 0: cache nothing */
/* out: cached bytes, cap, requests served from the cache, fresh maps */
void ck_pool_stats(int64_t out[4]);

#ifdef __cplusplus
}
#endif
#endif /* CKERAS_KERNELS_H */
