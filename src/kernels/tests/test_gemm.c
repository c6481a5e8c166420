/* GEMM (both paths) on edge shapes: every transpose, padded leading dimensions, beta 0
 * with NaN in C (must not propagate), K = 0, sizes around panel edges. */
#include <string.h>
#include "ck_internal.h"
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

/* ck_sgemm_packed on op(B) packed once, over the leading Kp <= K rows of
 * the packing: against the reference, and bit for bit against ck_sgemm
 * where ck_sgemm takes the 6x16 micro-kernel (the same FMA chains). */
static void packed(int tb, int64_t M, int64_t N, int64_t K, int64_t Kp,
                   float beta) {
    if (!ck_sgemm_small_available()) return;
    int64_t lda = Kp + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
    float *A = ck_test_alloc(M * lda), *B = ck_test_alloc((tb ? N : K) * ldb);
    float *Bp = ck_test_alloc(ck_sgemm_packed_size(K, N));
    float *C = ck_test_alloc(M * ldc), *R = ck_test_alloc(M * ldc);
    float *S = ck_test_alloc(M * ldc);
    ck_test_fill(A, M * lda, 4, -1.0f, 1.0f);
    ck_test_fill(B, (tb ? N : K) * ldb, 5, -1.0f, 1.0f);
    ck_test_fill(C, M * ldc, 6, -1.0f, 1.0f);
    if (beta == 0.0f)
        for (int64_t i = 0; i < M * ldc; i++) C[i] = NAN;
    memcpy(R, C, (size_t)(M * ldc) * sizeof(float));
    memcpy(S, C, (size_t)(M * ldc) * sizeof(float));
    ck_sgemm_pack_b(Bp, tb, K, N, B, ldb);
    ck_sgemm_packed(M, N, Kp, 0.5f, A, lda, Bp, 16 * K, beta, C, ldc);
    ck_sgemm_ref(0, tb, M, N, Kp, 0.5f, A, lda, B, ldb, beta, R, ldc);
    ck_sgemm(0, tb, M, N, Kp, 0.5f, A, lda, B, ldb, beta, S, ldc);
    int small = M >= 6 && N >= 16 && (N % 16 == 0 || N >= 64) && Kp >= 1 &&
                Kp <= CK_GEMM_SMALL_MAX_K && (double)M * N * Kp <= 4.0e6;
    float worst = 0.0f;
    int same = 1;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float d = fabsf(C[i * ldc + j] - R[i * ldc + j]);
            if (!(d <= worst)) worst = d;
            same &= memcmp(&C[i * ldc + j], &S[i * ldc + j], sizeof(float)) == 0;
        }
    CK_CHECK(worst <= 1e-4f * (float)(Kp + 1),
             "sgemm_packed tb=%d M=%ld N=%ld K=%ld/%ld: max diff %g", tb,
             (long)M, (long)N, (long)Kp, (long)K, worst);
    CK_CHECK(!small || same, "sgemm_packed M=%ld N=%ld K=%ld: bits differ "
             "from ck_sgemm's micro-kernel", (long)M, (long)N, (long)Kp);
    free(A); free(B); free(Bp); free(C); free(R); free(S);
}

void ck_test_gemm(void) {
    static const int64_t psizes[][4] = {/* M, N, K, Kp */
        {1, 1, 1, 1}, {3, 17, 5, 5}, {32, 64, 128, 128}, {37, 40, 300, 100},
        {5, 16, 4, 0}, {32, 64, 512, 512}, {6, 200, 64, 64}};
    for (size_t s = 0; s < sizeof(psizes) / sizeof(psizes[0]); s++)
        for (int tb = 0; tb < 2; tb++) {
            packed(tb, psizes[s][0], psizes[s][1], psizes[s][2], psizes[s][3], 0.0f);
            packed(tb, psizes[s][0], psizes[s][1], psizes[s][2], psizes[s][3], 1.5f);
        }
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
