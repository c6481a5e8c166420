/* GEMM (both paths) on edge shapes: every transpose, padded leading dimensions, beta 0
 * with NaN in C (must not propagate), K = 0, sizes around panel edges. */
#include "test_util.h"

static void one(int ta, int tb, int64_t M, int64_t N, int64_t K, int64_t pad,
                float alpha, float beta) {
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = ck_test_alloc(arows * lda), *B = ck_test_alloc(brows * ldb);
    float *C = ck_test_alloc(M * ldc), *R = ck_test_alloc(M * ldc);
    ck_test_fill(A, arows * lda, 1, -1.0f, 1.0f);
    ck_test_fill(B, brows * ldb, 2, -1.0f, 1.0f);
    ck_test_fill(C, M * ldc, 3, -1.0f, 1.0f);
    if (beta == 0.0f)
        for (int64_t i = 0; i < M * ldc; i++) C[i] = NAN;
    for (int64_t i = 0; i < M * ldc; i++) R[i] = C[i];
    ck_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    ck_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    float worst = 0.0f;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float d = fabsf(C[i * ldc + j] - R[i * ldc + j]);
            if (!(d <= worst)) worst = d;
        }
    CK_CHECK(worst <= 1e-4f * (float)(K + 1),
             "sgemm ta=%d tb=%d M=%ld N=%ld K=%ld pad=%ld: max diff %g", ta,
             tb, (long)M, (long)N, (long)K, (long)pad, worst);
    free(A); free(B); free(C); free(R);
}

void ck_test_gemm(void) {
    static const int64_t sizes[][3] = {
        {1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {3, 4, 0}, {33, 65, 17},
        {64, 64, 64}, {65, 129, 31}, {200, 70, 300}, {31, 600, 40},
        /* gemm_small.c: full and partial tiles, K at its bound and past it */
        {6, 16, 1}, {13, 80, 512}, {11, 48, 513}, {7, 96, 200}, {32, 512, 128}};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0, 1.0f, 0.0f);
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 3, 0.5f, 1.5f);
            }
}
