/* Dropout on exact-size buffers: masks are 0 or 1/keep, y = x * mask, the
 * kept fraction is near keep, in-place equals out-of-place, and a block
 * boundary changes nothing (element i depends on (seed, i) only). */
#include "test_util.h"

static void one(int64_t n, float rate, uint64_t seed) {
    float *x = ck_test_alloc(n), *y = ck_test_alloc(n), *m = ck_test_alloc(n);
    float *y2 = ck_test_alloc(n), *m2 = ck_test_alloc(n);
    x[0] = 0.0f; /* n >= 1; tells gcc x is written */
    ck_test_fill(x, n, 7, -1.0f, 1.0f);
    ck_test_fill(y, n, 8, -1.0f, 1.0f); /* outputs start as junk */
    ck_test_fill(m, n, 9, -1.0f, 1.0f);
    ck_dropout_forward(y, m, x, n, rate, seed);
    float keep = 1.0f - rate, scale = 1.0f / keep;
    int64_t kept = 0, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (m[i] == scale) kept++;
        else if (m[i] != 0.0f) bad++;
        if (y[i] != x[i] * m[i]) bad++;
    }
    CK_CHECK(bad == 0, "dropout n=%ld rate=%g: %ld bad values", (long)n,
             (double)rate, (long)bad);
    if (n >= 100000) {
        double frac = (double)kept / (double)n;
        CK_CHECK(frac > keep - 0.01 && frac < keep + 0.01,
                 "dropout n=%ld rate=%g: kept %g", (long)n, (double)rate, frac);
    }
    /* in place, and the tail starting at an odd offset inside a block */
    for (int64_t i = 0; i < n; i++) y2[i] = x[i];
    ck_dropout_forward(y2, m2, y2, n, rate, seed);
    for (int64_t i = 0; i < n; i++)
        if (y2[i] != y[i] || m2[i] != m[i]) bad++;
    CK_CHECK(bad == 0, "dropout in place n=%ld differs", (long)n);
    free(x); free(y); free(m); free(y2); free(m2);
}

void ck_test_dropout(void) {
    one(1, 0.5f, 1);
    one(7, 0.1f, 2);
    one(32768, 0.5f, 3);
    one(32769 * 3 + 5, 0.2f, 0xdeadbeefcafef00dULL);
    one(200000, 0.9f, 4);
    ck_dropout_forward(NULL, NULL, NULL, 0, 0.5f, 5); /* n = 0: nothing */
}
