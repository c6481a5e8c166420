/* Activations on edge shapes (exact-size buffers), against a double
 * precision C loop; in place against out of place; and the accuracy of
 * ck_math.h's helpers against libm over the float range. */
#include <float.h>
#include <string.h>
#include "test_util.h"
#include "ck_math.h"

static const char *const names[CK_ACT_COUNT] = {
    "linear", "relu", "elu", "selu", "softplus", "softsign", "sigmoid",
    "hard_sigmoid", "tanh", "softmax"};

static const double selu_a = 1.6732632423543772, selu_s = 1.0507009873554805;

static double act_ref(int act, double x, double alpha) {
    switch (act) {
    case CK_ACT_RELU: return x > 0 ? x : 0;
    case CK_ACT_ELU: return x > 0 ? x : alpha * expm1(x);
    case CK_ACT_SELU: return selu_s * (x > 0 ? x : selu_a * expm1(x));
    case CK_ACT_SOFTPLUS: return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
    case CK_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case CK_ACT_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
    case CK_ACT_HARD_SIGMOID: {
        double v = (double)(0.2f * (float)x + 0.5f);  /* Keras rounds here */
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case CK_ACT_TANH: return tanh(x);
    default: return x;
    }
}

static double grad_ref(int act, double y, double alpha) {
    switch (act) {
    case CK_ACT_RELU: return y > 0;
    case CK_ACT_ELU: return y > 0 ? 1 : y + alpha;
    case CK_ACT_SELU: return y > 0 ? selu_s : y + selu_s * selu_a;
    case CK_ACT_SOFTPLUS: return -expm1(-y);
    case CK_ACT_SOFTSIGN: return (1 - fabs(y)) * (1 - fabs(y));
    case CK_ACT_SIGMOID: return y * (1 - y);
    case CK_ACT_HARD_SIGMOID: return y > 0 && y < 1 ? 0.2 : 0;
    case CK_ACT_TANH: return 1 - y * y;
    default: return 1;
    }
}

static void one(int act, int64_t rows, int64_t cols) {
    int64_t n = rows * cols;
    const float alpha = 0.7f;
    float *x = ck_test_alloc(n), *y = ck_test_alloc(n), *r = ck_test_alloc(n);
    float *dy = ck_test_alloc(n), *dx = ck_test_alloc(n), *dr = ck_test_alloc(n);
    ck_test_fill(x, n, 1, -12.0f, 12.0f);
    ck_test_fill(dy, n, 2, -1.0f, 1.0f);
    ck_test_fill(dx, n, 3, -1.0f, 1.0f);
    ck_activation_forward(y, x, rows, cols, act, alpha);
    /* reference forward */
    for (int64_t i = 0; i < rows; i++) {
        const float *xr = x + i * cols;
        if (act == CK_ACT_SOFTMAX) {
            double m = -INFINITY, s = 0;
            for (int64_t j = 0; j < cols; j++) m = xr[j] > m ? xr[j] : m;
            for (int64_t j = 0; j < cols; j++) s += exp((double)(xr[j] - (float)m));
            for (int64_t j = 0; j < cols; j++)
                r[i * cols + j] = (float)(exp((double)(xr[j] - (float)m)) / s);
        } else {
            for (int64_t j = 0; j < cols; j++)
                r[i * cols + j] = (float)act_ref(act, xr[j], alpha);
        }
    }
    float worst = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(y[i] - r[i]) / (fabsf(r[i]) + 1e-30f);
        if (!(d <= worst)) worst = d;
    }
    CK_CHECK(worst <= 4e-7f, "%s forward %ldx%ld: max rel diff %g",
             names[act], (long)rows, (long)cols, worst);
    /* in place gives the same bits */
    memcpy(r, x, (size_t)n * sizeof(float));
    ck_activation_forward(r, r, rows, cols, act, alpha);
    CK_CHECK(memcmp(r, y, (size_t)n * sizeof(float)) == 0,
             "%s in place %ldx%ld differs", names[act], (long)rows, (long)cols);
    /* backward accumulates */
    for (int64_t i = 0; i < rows; i++) {
        const float *yr = y + i * cols, *dyr = dy + i * cols;
        double dot = 0;
        for (int64_t j = 0; j < cols; j++) dot += (double)dyr[j] * yr[j];
        for (int64_t j = 0; j < cols; j++) {
            int64_t k = i * cols + j;
            double g = act == CK_ACT_SOFTMAX
                           ? yr[j] * (dyr[j] - dot)
                           : dyr[j] * grad_ref(act, yr[j], alpha);
            dr[k] = (float)(dx[k] + g);
        }
    }
    ck_activation_backward(dx, dy, y, rows, cols, act, alpha);
    float bw = ck_test_max_abs_diff(dx, dr, n);
    CK_CHECK(bw <= 1e-6f, "%s backward %ldx%ld: max abs diff %g", names[act],
             (long)rows, (long)cols, bw);
    free(x); free(y); free(r); free(dy); free(dx); free(dr);
}

static double ulp_of(double t) {
    float f = (float)fabs(t);
    if (f < FLT_MIN) f = FLT_MIN;
    return (double)nextafterf(f, INFINITY) - (double)f;
}

/* max ulp error of f against g over n points of [lo, hi]; results below
 * FLT_MIN must be below it too (denormals may flush), above FLT_MAX inf. */
static void sweep(const char *name, float (*f)(float), double (*g)(double),
                  float lo, float hi, double limit) {
    const int n = 200000;
    double worst = 0;
    float at = lo;
    for (int i = 0; i <= n; i++) {
        float x = lo + (hi - lo) * (float)i / (float)n;
        float got = f(x);
        double t = g(x);
        double e;
        if (fabs(t) > FLT_MAX) e = isinf(got) && (got > 0) == (t > 0) ? 0 : 1e9;
        else if (fabs(t) < FLT_MIN) e = fabsf(got) < FLT_MIN ? 0 : 1e9;
        else e = fabs(got - t) / ulp_of(t);
        if (!(e <= worst)) { worst = e; at = x; }
    }
    CK_CHECK(worst <= limit, "%s on [%g, %g]: %g ulp at %g (limit %g)", name,
             lo, hi, worst, at, limit);
}

static float f_exp(float x) { return ck_expf(x); }
static float f_expm1(float x) { return ck_expm1f(x); }
static float f_log(float x) { return ck_logf(x); }
static float f_log1p(float x) { return ck_log1pf(x); }
static float f_sig(float x) { return ck_sigmoidf(x); }
static float f_tanh(float x) { return ck_tanhf(x); }
static float f_softplus(float x) { return ck_softplusf(x); }
static double d_sig(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double d_softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

static void math_accuracy(void) {
    sweep("ck_expf", f_exp, exp, -110.0f, 90.0f, 1.5);
    sweep("ck_expf", f_exp, exp, -1.0f, 1.0f, 1.5);
    sweep("ck_expm1f", f_expm1, expm1, -40.0f, 90.0f, 2.0);
    sweep("ck_expm1f", f_expm1, expm1, -1e-3f, 1e-3f, 2.0);
    sweep("ck_logf", f_log, log, 1e-30f, 10.0f, 1.5);
    sweep("ck_logf", f_log, log, 1.0f, 3e38f, 1.5);
    sweep("ck_log1pf", f_log1p, log1p, -0.999f, 1.0f, 2.0);
    sweep("ck_log1pf", f_log1p, log1p, -1e-5f, 1e-5f, 2.0);
    sweep("ck_sigmoidf", f_sig, d_sig, -100.0f, 100.0f, 2.5);
    sweep("ck_tanhf", f_tanh, tanh, -20.0f, 20.0f, 2.5);
    sweep("ck_softplusf", f_softplus, d_softplus, -100.0f, 100.0f, 2.5);
    /* special values */
    CK_CHECK(isinf(ck_expf(INFINITY)) && ck_expf(-INFINITY) == 0.0f &&
             isnan(ck_expf(NAN)), "ck_expf special values");
    CK_CHECK(ck_expm1f(-INFINITY) == -1.0f && isinf(ck_expm1f(1e4f)) &&
             ck_expm1f(0.0f) == 0.0f, "ck_expm1f special values");
    CK_CHECK(isinf(ck_logf(0.0f)) && ck_logf(0.0f) < 0 && isnan(ck_logf(-1.0f)) &&
             isinf(ck_logf(INFINITY)) && isnan(ck_logf(NAN)) && ck_logf(1.0f) == 0.0f,
             "ck_logf special values");
    CK_CHECK(ck_tanhf(INFINITY) == 1.0f && ck_tanhf(-INFINITY) == -1.0f &&
             ck_sigmoidf(-INFINITY) == 0.0f && ck_sigmoidf(INFINITY) == 1.0f,
             "tanh/sigmoid limits");
    float v[19];
    for (int i = 0; i < 19; i++) v[i] = (float)(i * 7 % 19) - 9.0f;
    CK_CHECK(ck_max8(v, 19) == 9.0f && ck_max8(v, 1) == v[0], "ck_max8");
    CK_CHECK(ck_sum8(v, 19) == 0.0f, "ck_sum8 of -9..9 is %g", ck_sum8(v, 19));
}

void ck_test_activations(void) {
    static const int64_t shapes[][2] = {
        {1, 1}, {1, 7}, {5, 1}, {3, 33}, {17, 9}, {1, 32768 + 5},
        {2, 40000}, {9000, 8}, {4, 300}};
    for (int act = 0; act < CK_ACT_COUNT; act++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            one(act, shapes[s][0], shapes[s][1]);
    /* empty: nothing is touched */
    ck_activation_forward(NULL, NULL, 0, 5, CK_ACT_SOFTMAX, 1.0f);
    ck_activation_backward(NULL, NULL, NULL, 4, 0, CK_ACT_TANH, 1.0f);
    math_accuracy();
}
