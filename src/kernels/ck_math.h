/*
 * ck_math.h: float32 elementary functions for the kernels' hot loops.
 *
 * Every function is static inline, branch-free (selects, integer bit
 * tricks) and calls no libm, so gcc auto-vectorizes loops that use them
 * inside CK_VECTOR_CLONES functions. The build uses -ffp-contract=off, so
 * the AVX2 and baseline clones compute identical bits.
 *
 * Accuracy (measured against float64 libm by the C driver and the Python
 * tests): within 2 ulp on normal results. Overflow gives +inf, underflow
 * gives 0 (kernels run with denormals flushed to zero), NaN propagates,
 * and no finite input gives NaN.
 *
 *   ck_expf(x)      e^x           Cody-Waite reduction by ln2, degree-7
 *                                 polynomial (Cephes), 2^n from exponent bits
 *   ck_expm1f(x)    e^x - 1       same reduction, accurate near 0
 *   ck_logf(x)      log x         mantissa in [sqrt(1/2), sqrt(2)), Cephes
 *                                 polynomial; 0 -> -inf, x < 0 -> NaN
 *   ck_log1pf(u)    log(1 + u)    log of w = 1 + u plus the rounding
 *                                 correction (u - (w - 1)) / w
 *   ck_sigmoidf, ck_tanhf, ck_softplusf: stable forms built on the above.
 *
 * Row reductions with a fixed order (the same for any thread count and
 * either clone): ck_lanes8 sums values in 8 compensated lanes by index
 * mod 8 and folds the lanes in a fixed tree; ck_max8 likewise.
 */
#ifndef CK_MATH_H
#define CK_MATH_H

#include <stdint.h>

#define CK_INF_F (__builtin_inff())
#define CK_NAN_F (__builtin_nanf(""))

static inline uint32_t ck_f2u(float f) {
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}

static inline float ck_u2f(uint32_t u) {
    union { float f; uint32_t u; } v;
    v.u = u;
    return v.f;
}

/* c ? a : b as a bitwise blend. Both a and b are always computed, and no
 * branch is left for gcc to keep: with -ftrapping-math (the default) gcc
 * will not if-convert a ?: whose arms compute, so loops using one would
 * not vectorize. */
static inline float ck_selectf(int c, float a, float b) {
    uint32_t m = (uint32_t)0 - (uint32_t)(c != 0);
    return ck_u2f((ck_f2u(a) & m) | (ck_f2u(b) & ~m));
}

/* 2^n for n in [-126, 127] (n = 128 gives +inf), from the exponent bits. */
static inline float ck_pow2i(int32_t n) {
    return ck_u2f((uint32_t)(n + 127) << 23);
}

/* e^r - 1 for |r| <= ln2/2 (plus rounding slack): r + r^2 P(r). */
static inline float ck_expm1_poly(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * (r * r) + r;
}

/* x = n ln2 + r, |r| <= ln2/2 (n = round(x log2 e)). ln2 is split in a
 * 9-bit head (n * head is exact for |n| < 2^15) and a tail. The rounding
 * to an integer adds 1.5 * 2^23, which leaves n in the low mantissa bits:
 * no float-to-int conversion, so NaN input is no undefined behaviour. */
static inline float ck_exp_reduce(float x, int32_t *n) {
    float k = x * 1.44269504088896341f + 12582912.0f;
    *n = (int32_t)ck_f2u(k) - 0x4B400000;
    float nf = k - 12582912.0f;
    float r = x - nf * 0.693359375f;
    return r - nf * -2.12194440e-4f;
}

/* e^x. x > 89 -> +inf, x < -110 -> 0, NaN -> NaN. 2^n is applied in two
 * halves so that n from -159 to 128 needs no special case. */
static inline float ck_expf(float x) {
    x = ck_selectf(x < -110.0f, -110.0f, x);
    x = ck_selectf(x > 89.0f, 89.0f, x);
    int32_t n;
    float r = ck_exp_reduce(x, &n);
    float p = ck_expm1_poly(r) + 1.0f;
    int32_t n1 = n / 2;
    return (p * ck_pow2i(n1)) * ck_pow2i(n - n1);
}

/* e^x - 1, accurate near 0. x < -30 -> -1 (float-exact), x > 89 -> +inf. */
static inline float ck_expm1f(float x) {
    x = ck_selectf(x < -30.0f, -30.0f, x);
    x = ck_selectf(x > 89.0f, 89.0f, x);
    int32_t n;
    float r = ck_exp_reduce(x, &n);
    float em = ck_expm1_poly(r);
    /* n <= 24: 2^n (em + 1) - 1 = em 2^n + (2^n - 1), with 2^n - 1 exact. */
    float t = ck_pow2i(n);
    float small = em * t + (t - 1.0f);
    /* n > 24: the -1 is below half an ulp; scale in two halves. */
    int32_t n1 = n / 2;
    float big = ((em + 1.0f) * ck_pow2i(n1)) * ck_pow2i(n - n1) - 1.0f;
    return ck_selectf(n > 24, big, small);
}

/* log x. 0 -> -inf, x < 0 -> NaN, +inf -> +inf, NaN -> NaN; subnormal x
 * (when denormals are not flushed) is scaled by 2^23 first. */
static inline float ck_logf(float x) {
    int32_t sub = x < 1.17549435e-38f;
    float xs = ck_selectf(sub, x * 8388608.0f, x);
    /* x = 2^k m with m in [sqrt(1/2), sqrt(2)); f = m - 1 is exact. */
    uint32_t ix = ck_f2u(xs) + (0x3f800000u - 0x3f3504f3u);
    int32_t k = (int32_t)(ix >> 23) - 0x7f - (23 & -sub);
    float f = ck_u2f((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
    float z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    float kf = (float)k;
    /* log m = f - f^2/2 + f^3 P(f); log 2 split as in ck_exp_reduce */
    float y = p * (f * z);
    y = y + kf * -2.12194440e-4f;
    y = y - 0.5f * z;
    float res = f + y;
    res = res + kf * 0.693359375f;
    res = ck_selectf(x == 0.0f, -CK_INF_F, res);
    res = ck_selectf(x < 0.0f, CK_NAN_F, res);
    res = ck_selectf(x == CK_INF_F, CK_INF_F, res);
    return ck_selectf(x != x, x, res);
}

/* log(1 + u) for u >= -1; accurate for tiny u. */
static inline float ck_log1pf(float u) {
    float w = 1.0f + u;
    float res = ck_logf(w) + (u - (w - 1.0f)) / w;
    res = ck_selectf(w == 0.0f, -CK_INF_F, res);
    return ck_selectf(u == CK_INF_F, CK_INF_F, res);
}

/* 1 / (1 + e^-x) without overflow: with e = e^-|x| in (0, 1], it is
 * 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0. */
static inline float ck_sigmoidf(float x) {
    float ax = ck_u2f(ck_f2u(x) & 0x7fffffffu);
    float e = ck_expf(-ax);
    return ck_selectf(x >= 0.0f, 1.0f, e) / (1.0f + e);
}

/* e^x - 1 for x <= 0 only (ck_expm1f's n <= 24 branch; x < -30 -> -1):
 * half the work where the sign is known. */
static inline float ck_expm1f_nonpos(float x) {
    x = ck_selectf(x < -30.0f, -30.0f, x);
    int32_t n;
    float r = ck_exp_reduce(x, &n);
    float t = ck_pow2i(n); /* n <= 0: 2^n and 2^n - 1 are exact */
    return ck_expm1_poly(r) * t + (t - 1.0f);
}

/* tanh x = sign(x) tanh|x|, tanh|x| = -e / (2 + e) with e = expm1(-2|x|)
 * in (-1, 0]: no cancellation near 0, and near 1 (e near -1) the quotient
 * is within an ulp of 1 - 2 e^-2|x|; one expm1 and one division. */
static inline float ck_tanhf(float x) {
    uint32_t sign = ck_f2u(x) & 0x80000000u;
    float ax = ck_u2f(ck_f2u(x) & 0x7fffffffu);
    float e = ck_expm1f_nonpos(-2.0f * ax);
    float t = (0.0f - e) / (2.0f + e); /* not -e: tanh(+0) is +0 */
    return ck_u2f(ck_f2u(t) | sign);
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
static inline float ck_softplusf(float x) {
    float ax = ck_u2f(ck_f2u(x) & 0x7fffffffu);
    return ck_selectf(x > 0.0f, x, 0.0f) + ck_log1pf(ck_expf(-ax));
}

/* Row reductions use GNU vector types of 8 lanes: gcc maps them to one
 * AVX register in the AVX2 clone and to two SSE registers in the baseline
 * clone, lane by lane, so both give identical bits. (gcc does not
 * auto-vectorize a compensated sum or a NaN-propagating max.) */
typedef float ck_v8f __attribute__((vector_size(32)));
typedef int32_t ck_v8i __attribute__((vector_size(32)));

/* A compensated (Kahan) sum in 8 lanes: value j of a row goes to lane
 * j mod 8, so the order of every addition is fixed by the row alone (the
 * same for any thread count and either clone), and the error stays a few
 * ulp however long the row. */
typedef struct {
    ck_v8f s;  /* lane sums */
    ck_v8f c;  /* their compensations (the rounding error, negated) */
} ck_lanes8;

static inline void ck_lanes8_init(ck_lanes8 *a) {
    ck_v8f zero = {0, 0, 0, 0, 0, 0, 0, 0};
    a->s = zero;
    a->c = zero;
}

/* Adds v[0..n) to the lanes. Callers that feed a row in chunks keep every
 * chunk but the last a multiple of 8 long, so each value still lands in
 * the lane of its index in the row. */
static inline void ck_lanes8_add(ck_lanes8 *a, const float *v, int64_t n) {
    ck_v8f s = a->s, c = a->c;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        ck_v8f x;
        __builtin_memcpy(&x, v + j, sizeof x);
        ck_v8f y = x - c;
        ck_v8f t = s + y;
        c = (t - s) - y;
        s = t;
    }
    if (j < n) {  /* the tail, zero-padded: adding 0 changes no lane */
        float pad[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int k = 0; j + k < n; k++) pad[k] = v[j + k];
        ck_v8f x;
        __builtin_memcpy(&x, pad, sizeof x);
        ck_v8f y = x - c;
        ck_v8f t = s + y;
        c = (t - s) - y;
        s = t;
    }
    a->s = s;
    a->c = c;
}

/* The lanes folded in a fixed tree. */
static inline float ck_lanes8_total(const ck_lanes8 *a) {
    ck_v8f v = a->s - a->c;
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* sum v[0..n) in a fixed order (compensated, 8 lanes). */
static inline float ck_sum8(const float *v, int64_t n) {
    ck_lanes8 a;
    ck_lanes8_init(&a);
    ck_lanes8_add(&a, v, n);
    return ck_lanes8_total(&a);
}

/* max v[0..n) (n >= 1); NaN anywhere gives NaN. Exact in any order. */
static inline float ck_max8(const float *v, int64_t n) {
    ck_v8f m = {v[0], v[0], v[0], v[0], v[0], v[0], v[0], v[0]};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        ck_v8f x;
        __builtin_memcpy(&x, v + j, sizeof x);
        ck_v8i take = (x > m) | (x != x);
        m = (ck_v8f)(((ck_v8i)x & take) | ((ck_v8i)m & ~take));
    }
    float r = m[0];
    for (int k = 1; k < 8; k++)
        r = ck_selectf((m[k] > r) | (m[k] != m[k]), m[k], r);
    for (; j < n; j++)
        r = ck_selectf((v[j] > r) | (v[j] != v[j]), v[j], r);
    return r;
}

#endif /* CK_MATH_H */
