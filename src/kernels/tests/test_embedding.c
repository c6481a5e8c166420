/* Embedding on edge shapes: D of 1, sizes around the backward's column
 * blocks, repeated indices (must add up in order), out-of-range indices
 * (never touched: forward writes zeros, backward skips), exact buffers. */
#include <string.h>
#include "test_util.h"

static void one(int64_t n_idx, int64_t V, int64_t D) {
    float *table = ck_test_alloc(V * D), *out = ck_test_alloc(n_idx * D);
    float *dout = ck_test_alloc(n_idx * D), *dtable = ck_test_alloc(V * D);
    float *want = ck_test_alloc(V * D);
    int64_t *idx = (int64_t *)malloc((size_t)(n_idx > 0 ? n_idx : 1) *
                                     sizeof(int64_t));
    if (!idx) exit(2);
    ck_test_fill(table, V * D, 1, -1.0f, 1.0f);
    ck_test_fill(dout, n_idx * D, 2, -1.0f, 1.0f);
    for (int64_t n = 0; n < n_idx; n++)
        idx[n] = n % 7 == 3 ? -1 - n : n % 11 == 5 ? V + n : (n * 13) % V;
    ck_embedding_forward(out, table, idx, n_idx, V, D);
    float worst = 0.0f;
    for (int64_t n = 0; n < n_idx; n++)
        for (int64_t j = 0; j < D; j++) {
            int ok = idx[n] >= 0 && idx[n] < V;
            float w = ok ? table[idx[n] * D + j] : 0.0f;
            float d = fabsf(out[n * D + j] - w);
            if (!(d <= worst)) worst = d;
        }
    CK_CHECK(worst == 0.0f, "embedding forward n=%ld V=%ld D=%ld: diff %g",
             (long)n_idx, (long)V, (long)D, worst);
    ck_test_fill(dtable, V * D, 3, -1.0f, 1.0f);
    memcpy(want, dtable, (size_t)(V * D) * sizeof(float));
    for (int64_t n = 0; n < n_idx; n++)
        if (idx[n] >= 0 && idx[n] < V)
            for (int64_t j = 0; j < D; j++)
                want[idx[n] * D + j] += dout[n * D + j];
    ck_embedding_backward(dtable, dout, idx, n_idx, V, D);
    /* same adds in the same order: bitwise equal */
    CK_CHECK(memcmp(dtable, want, (size_t)(V * D) * sizeof(float)) == 0,
             "embedding backward n=%ld V=%ld D=%ld differs from the loop",
             (long)n_idx, (long)V, (long)D);
    free(table); free(out); free(dout); free(dtable); free(want); free(idx);
}

void ck_test_embedding(void) {
    static const int64_t sizes[][3] = {/* n_idx, V, D */
        {1, 1, 1}, {0, 3, 4}, {5, 2, 1}, {40, 9, 63}, {40, 9, 64},
        {300, 50, 65}, {1200, 100, 130}, {2560, 997, 128}};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        one(sizes[s][0], sizes[s][1], sizes[s][2]);
}
