/*
 * gemm_small.c: C[M,N] = alpha * op(A) @ op(B) + beta * C for the small
 * shapes of training steps (Dense layers at batch 32-256, the recurrent
 * product of an LSTM step), with an AVX2/FMA register-tiled micro-kernel.
 *
 * Why: OpenBLAS packs both operands on every call. For 128x64x64 that
 * packing costs as much as the product (about 25 GFLOP/s where the core
 * does 38), and an LSTM step re-packs its whole recurrent kernel every
 * time step. Here only a K x 16 panel of B is packed (into a stack
 * buffer, zero-padded), and reused by every 6-row tile of A, which is read
 * in place (op(A) elements are broadcast, so A may be transposed for
 * free).
 *
 * Determinism: every element of C is one FMA chain over k = 0..K-1 in
 * order, then alpha and beta, whatever tile or block computed it; so
 * results do not depend on the blocking or the thread count. (They differ
 * from OpenBLAS's bits, which is why the choice between the two depends
 * on the shape only.)
 *
 *   A: op(A) is [M,K]; stored [M,lda] (no trans) or [K,lda] (trans)
 *   B: op(B) is [K,N]; stored [K,ldb] (no trans) or [N,ldb] (trans)
 *   C: [M,ldc]. beta == 0: C is written, never read.
 */
#include "ck_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MR 6
#define NR 16

/* Bp[k, 0:16] = op(B)[k, j0:j0+nr] for k < K, zero beyond nr (op(B) as
 * in ck_gemm_job: B stored [K, ldb], or [N, ldb] when transposed). */
static void pack_panel(float *Bp, int transb, int64_t K, const float *B,
                       int64_t ldb, int64_t j0, int64_t nr) {
    if (!transb) {
        for (int64_t k = 0; k < K; k++) {
            const float *src = B + k * ldb + j0;
            float *dst = Bp + k * NR;
            int64_t j = 0;
            for (; j < nr; j++) dst[j] = src[j];
            for (; j < NR; j++) dst[j] = 0.0f;
        }
    } else {
        for (int64_t j = 0; j < NR; j++) {
            if (j < nr) {
                const float *src = B + (j0 + j) * ldb;
                for (int64_t k = 0; k < K; k++) Bp[k * NR + j] = src[k];
            } else {
                for (int64_t k = 0; k < K; k++) Bp[k * NR + j] = 0.0f;
            }
        }
    }
}

/* Writes a tile's accumulators acc[2 * r + h] (row r, columns 8h..8h+7)
 * to out: out = alpha * acc + beta * out (beta 0: out not read). direct:
 * a full mr x 16 tile, straight into out; else the first rows x cols. */
__attribute__((target("avx2,fma"))) static inline void store_tile(
    float *out, int64_t ldo, int64_t rows, int64_t cols, int direct,
    const __m256 *acc, int mr, float alpha, float beta) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (direct) {
        for (int r = 0; r < mr; r++) {
            float *c = out + r * ldo;
            for (int h = 0; h < 2; h++) {
                __m256 v = _mm256_mul_ps(acc[2 * r + h], va);
                if (beta != 0.0f)
                    v = _mm256_add_ps(v, _mm256_mul_ps(vb,
                                                       _mm256_loadu_ps(c + 8 * h)));
                _mm256_storeu_ps(c + 8 * h, v);
            }
        }
        return;
    }
    float tile[MR * NR];
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(tile + r * NR, acc[2 * r]);
        _mm256_storeu_ps(tile + r * NR + 8, acc[2 * r + 1]);
    }
    for (int64_t r = 0; r < rows; r++) /* same arithmetic as the direct path */
        for (int64_t j = 0; j < cols; j++) {
            float v = tile[r * NR + j] * alpha;
            out[r * ldo + j] = beta == 0.0f ? v : v + beta * out[r * ldo + j];
        }
}

/* One row of a tile at one k: acc row (c0, c1) += A element * (b0, b1). */
#define FMA_ROW(aptr, c0, c1)                                    \
    do {                                                         \
        const __m256 a_ = _mm256_broadcast_ss(aptr);             \
        c0 = _mm256_fmadd_ps(a_, b0, c0);                        \
        c1 = _mm256_fmadd_ps(a_, b1, c1);                        \
    } while (0)

/* acc[6x16] = A6 @ Bp over k, A6 element (r, k) at A[r * sr + k * sk]. */
__attribute__((target("avx2,fma"))) static void kernel_6x16(
    float *out, int64_t ldo, int64_t rows, int64_t cols, int direct,
    const float *A, int64_t sr, int64_t sk, const float *Bp, int64_t sb,
    int64_t K, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const float *a0 = A, *a1 = A + sr, *a2 = A + 2 * sr, *a3 = A + 3 * sr,
                *a4 = A + 4 * sr, *a5 = A + 5 * sr;
    for (int64_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(Bp + k * sb);
        const __m256 b1 = _mm256_loadu_ps(Bp + k * sb + 8);
        const int64_t o = k * sk;
        FMA_ROW(a0 + o, c00, c01);
        FMA_ROW(a1 + o, c10, c11);
        FMA_ROW(a2 + o, c20, c21);
        FMA_ROW(a3 + o, c30, c31);
        FMA_ROW(a4 + o, c40, c41);
        FMA_ROW(a5 + o, c50, c51);
    }
    const __m256 acc[2 * MR] = {c00, c01, c10, c11, c20, c21,
                                c30, c31, c40, c41, c50, c51};
    store_tile(out, ldo, rows, cols, direct, acc, MR, alpha, beta);
}

/* acc[4x16] = A4 @ Bp over k (Bp: a packed K x 16 panel), A4 row r at
 * A[r * sr] (k contiguous); rows < 4 reuse row 0 for the missing rows,
 * whose results are not stored. M = 32 (a batch) is 8 of these tiles with
 * none of the 6-row tile's padding; 35.6 against 27.6 GFLOP/s for an
 * LSTM step's 32x64x128 on the dev machine (peak 37.5). */
__attribute__((target("avx2,fma"))) static void kernel_4x16(
    float *out, int64_t ldo, int64_t rows, int64_t cols, const float *A,
    int64_t sr, const float *Bp, int64_t K, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    const float *a0 = A, *a1 = rows > 1 ? A + sr : A,
                *a2 = rows > 2 ? A + 2 * sr : A, *a3 = rows > 3 ? A + 3 * sr : A;
    for (int64_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(Bp + k * NR);
        const __m256 b1 = _mm256_loadu_ps(Bp + k * NR + 8);
        FMA_ROW(a0 + k, c00, c01);
        FMA_ROW(a1 + k, c10, c11);
        FMA_ROW(a2 + k, c20, c21);
        FMA_ROW(a3 + k, c30, c31);
    }
    const __m256 acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
    store_tile(out, ldo, rows, cols, rows == 4 && cols == NR, acc, 4, alpha,
               beta);
}

/* The rectangle rows [r0, r1) x columns [c0, c1) of C. */
static void small_rect(const ck_gemm_job *g, int64_t r0, int64_t r1, int64_t c0,
                       int64_t c1) {
    const int64_t K = g->K;
    float Bp[CK_GEMM_SMALL_MAX_K * NR];
    float Apad[MR * CK_GEMM_SMALL_MAX_K];
    /* op(A)[i, k] = A[i * sr + k * sk] */
    const int64_t sr = g->transa ? 1 : g->lda, sk = g->transa ? g->lda : 1;
    for (int64_t j0 = c0; j0 < c1; j0 += NR) {
        int64_t nr = c1 - j0 < NR ? c1 - j0 : NR;
        /* A full panel of an untransposed B is read in place (16 floats
         * per row of B); the others are packed. */
        const float *Bpanel = Bp;
        int64_t sb = NR;
        if (!g->transb && nr == NR) {
            Bpanel = g->B + j0;
            sb = g->ldb;
        } else {
            pack_panel(Bp, g->transb, K, g->B, g->ldb, j0, nr);
        }
        for (int64_t i0 = r0; i0 < r1; i0 += MR) {
            int64_t mr = r1 - i0 < MR ? r1 - i0 : MR;
            float *c = g->C + i0 * g->ldc + j0;
            if (mr == MR) {
                kernel_6x16(c, g->ldc, mr, nr, nr == NR, g->A + i0 * sr, sr,
                            sk, Bpanel, sb, K, g->alpha, g->beta);
            } else { /* copy the last rows, zero-padded, as [MR, K] */
                for (int64_t r = 0; r < MR; r++)
                    for (int64_t k = 0; k < K; k++)
                        Apad[r * K + k] =
                            r < mr ? g->A[(i0 + r) * sr + k * sk] : 0.0f;
                kernel_6x16(c, g->ldc, mr, nr, 0, Apad, K, 1, Bpanel, sb, K,
                            g->alpha, g->beta);
            }
        }
    }
}

int64_t ck_sgemm_packed_size(int64_t K, int64_t N) {
    return (N + NR - 1) / NR * NR * K;
}

void ck_sgemm_pack_b(float *Bp, int transb, int64_t K, int64_t N,
                     const float *B, int64_t ldb) {
    for (int64_t j0 = 0; j0 < N; j0 += NR)
        pack_panel(Bp + j0 * K, transb, K, B, ldb, j0, N - j0 < NR ? N - j0 : NR);
}

/* Blocks carry at least this many FLOPs: a pool wake-up costs a few
 * microseconds, about 100-200 kFLOP of this kernel on one core. */
#define CK_GEMM_SMALL_BLOCK_FLOPS (2.5e5)

/* Tiles (or panels) per pool block for a product of `flops` cut into
 * `tiles`: blocks of at least CK_GEMM_SMALL_BLOCK_FLOPS, at most 8 and at
 * most one a tile. Fixed by the shape, never by the thread count. */
static int64_t tiles_per_block(double flops, int64_t tiles) {
    int64_t want = (int64_t)(flops / CK_GEMM_SMALL_BLOCK_FLOPS);
    int64_t blocks = want < 1 ? 1 : want < tiles ? want : tiles;
    if (blocks > 8) blocks = 8;
    return (tiles + blocks - 1) / blocks;
}

typedef struct {
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *Bp;
    float *C;
    int64_t lda, panel_stride, ldc, per; /* per: panels per block */
} packed_job;

/* Columns of panels [b * per, (b + 1) * per) of a ck_sgemm_packed. */
static void packed_block(void *vctx, int64_t b) {
    const packed_job *g = (const packed_job *)vctx;
    int64_t c1 = (b + 1) * g->per * NR < g->N ? (b + 1) * g->per * NR : g->N;
    for (int64_t j0 = b * g->per * NR; j0 < c1; j0 += NR) {
        const float *panel = g->Bp + j0 / NR * g->panel_stride;
        int64_t nr = c1 - j0 < NR ? c1 - j0 : NR;
        for (int64_t i0 = 0; i0 < g->M; i0 += 4)
            kernel_4x16(g->C + i0 * g->ldc + j0, g->ldc,
                        g->M - i0 < 4 ? g->M - i0 : 4, nr, g->A + i0 * g->lda,
                        g->lda, panel, g->K, g->alpha, g->beta);
    }
}

void ck_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *Bp,
                     int64_t panel_stride, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    int64_t panels = (N + NR - 1) / NR;
    packed_job g = {M, N, K, alpha, beta, A, Bp, C, lda, panel_stride, ldc,
                    tiles_per_block(2.0 * (double)M * (double)N * (double)K,
                                    panels)};
    int64_t nblocks = (panels + g.per - 1) / g.per;
    if (nblocks == 1)
        packed_block(&g, 0);
    else /* called from inside a pool block (a recurrent step's unit
          * block), ck_parallel_for runs the blocks serially */
        ck_parallel_for(nblocks, packed_block, &g);
}

static void small_block(void *vctx, int64_t b) {
    const ck_gemm_job *g = (const ck_gemm_job *)vctx;
    int64_t lo, hi;
    ck_gemm_block_range(g, b, &lo, &hi);
    if (g->split_rows)
        small_rect(g, lo, hi, 0, g->N);
    else
        small_rect(g, 0, g->M, lo, hi);
}

int ck_sgemm_small_available(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return known;
}

void ck_sgemm_small(ck_gemm_job *g) {
    double flops = 2.0 * (double)g->M * (double)g->N * (double)g->K;
    int64_t col_tiles = (g->N + NR - 1) / NR, row_tiles = (g->M + MR - 1) / MR;
    /* Column blocks pack each panel of B once in all; row blocks pack all
     * of B once per block. So columns when there are two panels or more. */
    g->split_rows = col_tiles < 2;
    int64_t tiles = g->split_rows ? row_tiles : col_tiles;
    g->per_block = tiles_per_block(flops, tiles) * (g->split_rows ? MR : NR);
    ck_parallel_for(ck_nblocks(g->split_rows ? g->M : g->N, g->per_block),
                    small_block, g);
}

#else /* no x86-64 vector path: ck_sgemm never takes it */
int ck_sgemm_small_available(void) { return 0; }
void ck_sgemm_small(ck_gemm_job *g) { (void)g; }
int64_t ck_sgemm_packed_size(int64_t K, int64_t N) { (void)K; (void)N; return 0; }
void ck_sgemm_pack_b(float *Bp, int transb, int64_t K, int64_t N,
                     const float *B, int64_t ldb) {
    (void)Bp; (void)transb; (void)K; (void)N; (void)B; (void)ldb;
}
void ck_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *Bp,
                     int64_t panel_stride, float beta, float *C, int64_t ldc) {
    (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)Bp;
    (void)panel_stride; (void)beta; (void)C; (void)ldc;
}
#endif
