/*
 * gemm.c: C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major.
 *
 * The only file that knows the BLAS underneath: OpenBLAS from the
 * scipy-openblas32 package (every symbol prefixed scipy_). OpenBLAS is
 * pinned to one thread; ck_sgemm cuts C into column or row panels whose
 * number and size depend only on (M, N, K), and runs one single-threaded
 * OpenBLAS call per panel on the ckeras pool. So every element of C is
 * computed by the same call whatever the thread count: results are
 * bitwise identical for 1, 2 or 16 threads (OpenBLAS's own threading is
 * not), and there is one pool in the process.
 *
 *   A: op(A) is [M,K]; stored [M,lda] (no trans) or [K,lda] (trans)
 *   B: op(B) is [K,N]; stored [K,ldb] (no trans) or [N,ldb] (trans)
 *   C: [M,ldc]. beta == 0: C is written, never read.
 */
#include <stdlib.h>
#include <cblas.h>
#include "ck_internal.h"

void ck_gemm_init_blas(void) { scipy_openblas_set_num_threads(1); }

/* A single row or column of C is a matrix-vector product: GEMV reads the
 * matrix once, where GEMM would first copy (pack) all of it. beta == 0
 * zeroes C first, so that C is never read (NaN in C does not propagate)
 * whatever the BLAS does with beta == 0. */
static void sgemv_call(int transa, int transb, int64_t M, int64_t N,
                       int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C,
                       int64_t ldc) {
    if (M == 1) {
        /* C[0, :] = alpha * op(B)^T a + beta C[0, :]; a = op(A)[0, :] */
        blasint inca = transa ? (blasint)lda : 1;
        if (beta == 0.0f)
            for (int64_t j = 0; j < N; j++) C[j] = 0.0f;
        if (transb) /* B stored [N, ldb]: C = B a */
            scipy_cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)N,
                              (blasint)K, alpha, B, (blasint)ldb, A, inca,
                              beta, C, 1);
        else /* B stored [K, ldb]: C = B^T a */
            scipy_cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)K,
                              (blasint)N, alpha, B, (blasint)ldb, A, inca,
                              beta, C, 1);
    } else {
        /* N == 1: C[:, 0] = alpha * op(A) b + beta C[:, 0]; b = op(B)[:, 0] */
        blasint incb = transb ? 1 : (blasint)ldb;
        if (beta == 0.0f)
            for (int64_t i = 0; i < M; i++) C[i * ldc] = 0.0f;
        if (transa) /* A stored [K, lda]: C = A^T b */
            scipy_cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)K,
                              (blasint)M, alpha, A, (blasint)lda, B, incb,
                              beta, C, (blasint)ldc);
        else
            scipy_cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)M,
                              (blasint)K, alpha, A, (blasint)lda, B, incb,
                              beta, C, (blasint)ldc);
    }
}

/* OpenBLAS packs operands into a buffer it maps once per thread and
 * never pre-faults. Its AVX2 kernels prefetch a little past the packed
 * panel they read; a page there that no call has written yet stays not
 * present, so each such prefetch pays a failed page walk (dear on a VM),
 * on every call, until some larger call writes that page. Measured on the
 * 2-core dev VM (AMD EPYC): a 3200x128x512 product (an LSTM's input
 * projection) took 43 ms on 1 thread and 24 ms on 2 before any larger
 * product had run, 12 ms and 6.6 ms after; perf puts the stall on the
 * instruction after `prefetcht1` in sgemm_kernel. A 400x512x128 or
 * 512x512x512 product was enough to cure it; 8x4096x1024 and
 * 4096x256x256 were not. So each thread's first OpenBLAS product is
 * preceded by one CK_GEMM_WARM_M x N x K product on zeros (0.27 G
 * multiply-adds, about 7 ms, once per thread). It runs lazily, inside a
 * call its caller waits for: a pool worker warming up on its own while
 * the process exits would be inside OpenBLAS when its destructor unmaps
 * the buffers. */
#define CK_GEMM_WARM_M 512
#define CK_GEMM_WARM_N 1024
#define CK_GEMM_WARM_K 512

static __thread int warmed; /* this thread ran the warm-up product */

static void blas_sgemm(int transa, int transb, int64_t M, int64_t N,
                       int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C,
                       int64_t ldc) {
    if (!warmed) {
        const int64_t m = CK_GEMM_WARM_M, n = CK_GEMM_WARM_N, k = CK_GEMM_WARM_K;
        float *a = (float *)calloc((size_t)(m * k + k * n), sizeof(float));
        float *c = (float *)malloc((size_t)(m * n) * sizeof(float));
        warmed = 1;
        if (a && c)
            scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                              (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
                              (blasint)k, a + m * k, (blasint)n, 0.0f, c,
                              (blasint)n);
        free(a);
        free(c);
    }
    scipy_cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                      transb ? CblasTrans : CblasNoTrans, (blasint)M,
                      (blasint)N, (blasint)K, alpha, A, (blasint)lda, B,
                      (blasint)ldb, beta, C, (blasint)ldc);
}

/* One BLAS call, or the degenerate cases BLAS would reject. */
static void sgemm_call(int transa, int transb, int64_t M, int64_t N,
                       int64_t K, float alpha, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C,
                       int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    if (M == 1 || N == 1) {
        sgemv_call(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                   ldc);
        return;
    }
    blas_sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Panel sizing, measured on the 2-core dev machine with single-threaded
 * OpenBLAS calls on the pool: row panels beat column panels whenever M
 * allows two (a row panel of C is contiguous and packs B once per panel);
 * a few large panels beat many small ones (each call re-packs the shared
 * operand). A panel carries at least CK_GEMM_PANEL_FLOPS, spans a multiple
 * of CK_GEMM_PANEL_ALIGN rows or columns, and there are at most
 * CK_GEMM_MAX_PANELS, a power of two so that 2, 4 or 8 threads share them
 * evenly. All of this depends on (M, N, K) only, never on the thread
 * count. Against numpy.matmul (OpenBLAS's own threads) at 2 threads, 64-row
 * panels took 128x512x784 from 0.87x to 0.95-0.97x (32-row panels pack B
 * four times), and 1 MFLOP panels 32x512x160 from 0.8-0.9x to 0.94-0.97x. */
#define CK_GEMM_PANEL_FLOPS (1.0e6)
#define CK_GEMM_PANEL_ALIGN 64
#define CK_GEMM_MAX_PANELS 8

static int64_t gemm_panels(double flops, int64_t extent) {
    double want = flops / CK_GEMM_PANEL_FLOPS;
    int64_t most = extent / CK_GEMM_PANEL_ALIGN;
    int64_t panels = 1;
    while (panels * 2 <= CK_GEMM_MAX_PANELS && panels * 2 <= most &&
           (double)(panels * 2) <= want)
        panels *= 2;
    return panels;
}

static void gemm_panel(void *vctx, int64_t b) {
    const ck_gemm_job *g = (const ck_gemm_job *)vctx;
    int64_t lo, hi;
    ck_gemm_block_range(g, b, &lo, &hi);
    if (g->split_rows) {
        const float *A = g->transa ? g->A + lo : g->A + lo * g->lda;
        sgemm_call(g->transa, g->transb, hi - lo, g->N, g->K, g->alpha, A,
                   g->lda, g->B, g->ldb, g->beta, g->C + lo * g->ldc, g->ldc);
    } else {
        const float *B = g->transb ? g->B + lo * g->ldb : g->B + lo;
        sgemm_call(g->transa, g->transb, g->M, hi - lo, g->K, g->alpha, g->A,
                   g->lda, B, g->ldb, g->beta, g->C + lo, g->ldc);
    }
}

/* Up to this many multiply-adds (and K <= CK_GEMM_SMALL_MAX_K) the
 * micro-kernel of gemm_small.c, which packs no more than a K x 16 panel of
 * B, matches or beats OpenBLAS, which packs both operands on every call.
 * Single-thread CPU time on the dev machine (AMD EPYC, AVX2), ratio
 * OpenBLAS / micro-kernel: 128x64x64 1.65, 32x512x128 (an LSTM step)
 * 1.33, 64x64x128 A^T B (a dW) 1.37, 32x128x512 A B^T 1.41, 256^3 1.07,
 * 128x128x512 1.01; C narrower than 16 columns or not a multiple of 16
 * below 64 lost (0.7-0.85: lanes computed and thrown away). */
#define CK_GEMM_SMALL_MAX_MACS (4.0e6)

static int use_small(int64_t M, int64_t N, int64_t K, float alpha) {
    /* The micro-kernel computes 6 x 16 tiles: narrow C wastes lanes */
    return M >= 6 && N >= 16 && (N % 16 == 0 || N >= 64) && K >= 1 &&
           K <= CK_GEMM_SMALL_MAX_K &&
           alpha != 0.0f &&
           (double)M * (double)N * (double)K <= CK_GEMM_SMALL_MAX_MACS &&
           ck_sgemm_small_available();
}

void ck_sgemm(int transa, int transb, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B,
              int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    ck_gemm_job g = {transa, transb, M, N, K, alpha, beta, A, B, C,
                     lda, ldb, ldc, 0, 0};
    if (use_small(M, N, K, alpha)) {
        ck_sgemm_small(&g);
        return;
    }
    double flops = 2.0 * (double)M * (double)N * (double)(K > 0 ? K : 1);
    int64_t row_panels = gemm_panels(flops, M);
    int64_t col_panels = gemm_panels(flops, N);
    g.split_rows = row_panels > 1 || col_panels == 1;
    int64_t extent = g.split_rows ? M : N;
    int64_t panels = g.split_rows ? row_panels : col_panels;
    int64_t per = (extent + panels - 1) / panels;
    g.per_block = (per + CK_GEMM_PANEL_ALIGN - 1) / CK_GEMM_PANEL_ALIGN *
                  CK_GEMM_PANEL_ALIGN;
    ck_parallel_for(ck_nblocks(extent, g.per_block), gemm_panel, &g);
}

void ck_sgemm_ref(int transa, int transb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float a = transa ? A[k * lda + i] : A[i * lda + k];
                float b = transb ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * (double)b;
            }
            float ab = (float)((double)alpha * acc);
            C[i * ldc + j] = beta == 0.0f ? ab : ab + beta * C[i * ldc + j];
        }
    }
}
