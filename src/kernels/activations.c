/*
 * activations.c: Keras 2 activations, forward and backward.
 *
 *   x, y, dy, dx: [rows, cols], row-major, densely packed.
 *
 * Forward y = act(x) (y may be x: in place). Elementwise activations treat
 * the array as n = rows * cols values; softmax works on each row:
 *   linear        y = x
 *   relu          y = max(x, 0)                        (NaN propagates)
 *   elu(alpha)    y = x > 0 ? x : alpha * expm1(x)
 *   selu          y = scale * (x > 0 ? x : alpha * expm1(x)),
 *                 alpha = 1.6732632423543772, scale = 1.0507009873554805
 *   softplus      y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
 *   softsign      y = x / (1 + |x|)                    (+-inf -> +-1)
 *   sigmoid       y = 1 / (1 + e^-x)
 *   hard_sigmoid  y = clip(0.2 x + 0.5, 0, 1)
 *   tanh          y = tanh x
 *   softmax       y = e^(x - max) / sum(e^(x - max)) over each row
 *
 * Backward dx += dy * act'(x), with act' written through y only:
 *   linear 1; relu y > 0; elu y > 0 ? 1 : y + alpha;
 *   selu y > 0 ? scale : y + scale * alpha; softplus 1 - e^-y = -expm1(-y);
 *   softsign (1 - |y|)^2; sigmoid y (1 - y); hard_sigmoid 0.2 where
 *   0 < y < 1, else 0; tanh 1 - y^2;
 *   softmax dx += y * (dy - sum_j(dy_j y_j)) over each row.
 *
 * Parallel: elementwise over CK_ELEMENTWISE_BLOCK chunks of the flat
 * array; softmax over blocks of whole rows (about CK_ELEMENTWISE_BLOCK
 * values each). Row sums use ck_lanes8's fixed order, so results do not
 * depend on the thread count.
 */
#include "ck_internal.h"
#include "ck_math.h"

#define CK_SELU_ALPHA 1.6732632423543772f
#define CK_SELU_SCALE 1.0507009873554805f

/* ---- forward, one function per activation over n flat values ---- */

CK_VECTOR_CLONES
static void relu_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ck_selectf(x[i] < 0.0f, 0.0f, x[i]);
}

CK_VECTOR_CLONES
static void elu_fwd(float *y, const float *x, int64_t n, float alpha) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = ck_selectf(v > 0.0f, v, alpha * ck_expm1f(v));
    }
}

CK_VECTOR_CLONES
static void selu_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = CK_SELU_SCALE *
               ck_selectf(v > 0.0f, v, CK_SELU_ALPHA * ck_expm1f(v));
    }
}

CK_VECTOR_CLONES
static void softplus_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ck_softplusf(x[i]);
}

CK_VECTOR_CLONES
static void softsign_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], av = ck_u2f(ck_f2u(v) & 0x7fffffffu);
        /* +-inf: the limit +-1, not inf / inf */
        float one = ck_u2f((ck_f2u(v) & 0x80000000u) | 0x3f800000u);
        y[i] = ck_selectf(av == CK_INF_F, one, v / (1.0f + av));
    }
}

CK_VECTOR_CLONES
static void sigmoid_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ck_sigmoidf(x[i]);
}

CK_VECTOR_CLONES
static void hard_sigmoid_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = 0.2f * x[i] + 0.5f;
        v = ck_selectf(v < 0.0f, 0.0f, v);
        y[i] = ck_selectf(v > 1.0f, 1.0f, v);
    }
}

CK_VECTOR_CLONES
static void tanh_fwd(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ck_tanhf(x[i]);
}

/* softmax of `rows` rows of `cols` values. y may be x. */
CK_VECTOR_CLONES
static void softmax_fwd(float *y, const float *x, int64_t rows,
                        int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = ck_max8(xr, cols);
        for (int64_t j = 0; j < cols; j++) yr[j] = ck_expf(xr[j] - m);
        float inv = 1.0f / ck_sum8(yr, cols);
        for (int64_t j = 0; j < cols; j++) yr[j] = yr[j] * inv;
    }
}

/* ---- backward: dx += dy * act'(y) ---- */

CK_VECTOR_CLONES
static void linear_bwd(float *dx, const float *dy, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
}

CK_VECTOR_CLONES
static void relu_bwd(float *dx, const float *dy, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += ck_selectf(y[i] > 0.0f, dy[i], 0.0f);
}

/* elu and selu: act' = y > 0 ? pos : y + neg. elu (pos, neg) = (1, alpha);
 * selu (scale, scale * alpha), since y = scale alpha (e^x - 1) there. */
CK_VECTOR_CLONES
static void elu_bwd(float *dx, const float *dy, const float *y, int64_t n,
                    float pos, float neg) {
    for (int64_t i = 0; i < n; i++) {
        float v = y[i];
        dx[i] += dy[i] * ck_selectf(v > 0.0f, pos, v + neg);
    }
}

/* sigmoid(x) = 1 - e^-y for y = softplus(x) */
CK_VECTOR_CLONES
static void softplus_bwd(float *dx, const float *dy, const float *y,
                         int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * -ck_expm1f(-y[i]);
}

/* 1 / (1 + |x|)^2 = (1 - |y|)^2 */
CK_VECTOR_CLONES
static void softsign_bwd(float *dx, const float *dy, const float *y,
                         int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float a = 1.0f - ck_u2f(ck_f2u(y[i]) & 0x7fffffffu);
        dx[i] += dy[i] * (a * a);
    }
}

CK_VECTOR_CLONES
static void sigmoid_bwd(float *dx, const float *dy, const float *y,
                        int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (y[i] * (1.0f - y[i]));
}

CK_VECTOR_CLONES
static void hard_sigmoid_bwd(float *dx, const float *dy, const float *y,
                             int64_t n) {
    for (int64_t i = 0; i < n; i++)
        dx[i] += ck_selectf((y[i] > 0.0f) & (y[i] < 1.0f), 0.2f * dy[i], 0.0f);
}

CK_VECTOR_CLONES
static void tanh_bwd(float *dx, const float *dy, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

/* softmax: dx = y * (dy - <dy, y>) per row; the dot in ck_lanes8's order. */
CK_VECTOR_CLONES
static void softmax_bwd(float *dx, const float *dy, const float *y,
                        int64_t rows, int64_t cols) {
    enum { CHUNK = 256 };
    float prod[CHUNK];
    for (int64_t r = 0; r < rows; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        ck_lanes8 acc;
        ck_lanes8_init(&acc);
        for (int64_t c0 = 0; c0 < cols; c0 += CHUNK) {
            int64_t len = cols - c0 < CHUNK ? cols - c0 : CHUNK;
            for (int64_t j = 0; j < len; j++) prod[j] = dyr[c0 + j] * yr[c0 + j];
            ck_lanes8_add(&acc, prod, len);
        }
        float dot = ck_lanes8_total(&acc);
        for (int64_t j = 0; j < cols; j++) dxr[j] += yr[j] * (dyr[j] - dot);
    }
}

/* ---- blocks on the pool ---- */

typedef struct {
    float *out;        /* y (forward) or dx (backward) */
    const float *in;   /* x (forward) or dy (backward) */
    const float *y;    /* backward only */
    int64_t rows, cols, n;
    int64_t per;       /* values (elementwise) or rows (softmax) per block */
    int act;
    float alpha;
} act_ctx;

static int64_t softmax_rows_per_block(int64_t cols) {
    int64_t per = CK_ELEMENTWISE_BLOCK / (cols > 0 ? cols : 1);
    return per > 0 ? per : 1;
}

static void forward_block(void *vctx, int64_t b) {
    const act_ctx *c = (const act_ctx *)vctx;
    int64_t lo = b * c->per;
    int64_t len = (c->act == CK_ACT_SOFTMAX ? c->rows : c->n) - lo;
    if (len > c->per) len = c->per;
    if (len <= 0) return;
    if (c->act == CK_ACT_SOFTMAX) {
        softmax_fwd(c->out + lo * c->cols, c->in + lo * c->cols, len,
                    c->cols);
        return;
    }
    float *y = c->out + lo;
    const float *x = c->in + lo;
    switch (c->act) {
    case CK_ACT_RELU: relu_fwd(y, x, len); break;
    case CK_ACT_ELU: elu_fwd(y, x, len, c->alpha); break;
    case CK_ACT_SELU: selu_fwd(y, x, len); break;
    case CK_ACT_SOFTPLUS: softplus_fwd(y, x, len); break;
    case CK_ACT_SOFTSIGN: softsign_fwd(y, x, len); break;
    case CK_ACT_SIGMOID: sigmoid_fwd(y, x, len); break;
    case CK_ACT_HARD_SIGMOID: hard_sigmoid_fwd(y, x, len); break;
    case CK_ACT_TANH: tanh_fwd(y, x, len); break;
    default: /* linear */
        if (y != x)
            for (int64_t i = 0; i < len; i++) y[i] = x[i];
        break;
    }
}

static void backward_block(void *vctx, int64_t b) {
    const act_ctx *c = (const act_ctx *)vctx;
    int64_t lo = b * c->per;
    int64_t len = (c->act == CK_ACT_SOFTMAX ? c->rows : c->n) - lo;
    if (len > c->per) len = c->per;
    if (len <= 0) return;
    if (c->act == CK_ACT_SOFTMAX) {
        int64_t off = lo * c->cols;
        softmax_bwd(c->out + off, c->in + off, c->y + off, len, c->cols);
        return;
    }
    float *dx = c->out + lo;
    const float *dy = c->in + lo, *y = c->y + lo;
    switch (c->act) {
    case CK_ACT_RELU: relu_bwd(dx, dy, y, len); break;
    case CK_ACT_ELU: elu_bwd(dx, dy, y, len, 1.0f, c->alpha); break;
    case CK_ACT_SELU:
        elu_bwd(dx, dy, y, len, CK_SELU_SCALE, CK_SELU_SCALE * CK_SELU_ALPHA);
        break;
    case CK_ACT_SOFTPLUS: softplus_bwd(dx, dy, y, len); break;
    case CK_ACT_SOFTSIGN: softsign_bwd(dx, dy, y, len); break;
    case CK_ACT_SIGMOID: sigmoid_bwd(dx, dy, y, len); break;
    case CK_ACT_HARD_SIGMOID: hard_sigmoid_bwd(dx, dy, y, len); break;
    case CK_ACT_TANH: tanh_bwd(dx, dy, y, len); break;
    default: linear_bwd(dx, dy, len); break;
    }
}

static void run(act_ctx *c, ck_block_fn fn) {
    c->n = c->rows * c->cols;
    if (c->n <= 0) return;
    c->per = c->act == CK_ACT_SOFTMAX ? softmax_rows_per_block(c->cols)
                                      : CK_ELEMENTWISE_BLOCK;
    int64_t extent = c->act == CK_ACT_SOFTMAX ? c->rows : c->n;
    ck_parallel_for(ck_nblocks(extent, c->per), fn, c);
}

void ck_activation_forward(float *y, const float *x, int64_t rows,
                           int64_t cols, int act, float alpha) {
    act_ctx c = {y, x, 0, rows, cols, 0, 0, act, alpha};
    run(&c, forward_block);
}

void ck_activation_backward(float *dx, const float *dy, const float *y,
                            int64_t rows, int64_t cols, int act,
                            float alpha) {
    act_ctx c = {dx, dy, y, rows, cols, 0, 0, act, alpha};
    run(&c, backward_block);
}
