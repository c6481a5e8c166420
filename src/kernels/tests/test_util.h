/*
 * test_util.h: helpers of the C test driver (make test-c). The driver runs
 * every kernel on edge shapes under AddressSanitizer and
 * UndefinedBehaviorSanitizer; buffers are allocated to their exact sizes
 * so that any read or write past them is caught.
 */
#ifndef CK_TEST_UTIL_H
#define CK_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "ckeras_kernels.h"

extern int ck_test_failures;

#define CK_CHECK(cond, ...)                                              \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
            ck_test_failures++;                                          \
        }                                                                \
    } while (0)

/* n floats, exactly: no slack for an overrun to hide in. */
static inline float *ck_test_alloc(int64_t n) {
    float *p = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* Deterministic values in [lo, hi). */
static inline void ck_test_fill(float *p, int64_t n, unsigned seed, float lo,
                                float hi) {
    uint32_t s = seed * 2654435761u + 1u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)(s >> 8) / 16777216.0f;
    }
}

static inline float ck_test_max_abs_diff(const float *a, const float *b,
                                         int64_t n) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

#endif
