/*
 * ck_internal.h: helpers shared by the kernel files; not part of the
 * public contract (that is ckeras_kernels.h).
 */
#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H

#include <stdint.h>
#include "ckeras_kernels.h"

/* Run-time selected vector code: gcc builds an AVX2 clone and a baseline
 * clone of the function and picks one when the library loads. Never
 * -march=native (a wheel must run on any x86-64). Floating-point
 * contraction is off in the build, so both clones give identical bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(CK_NO_CLONES)
#define CK_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CK_VECTOR_CLONES
#endif

/* Work is cut into blocks whose number depends only on the problem's
 * shape; fn(ctx, b) computes block b and owns its outputs. Blocks run on
 * the pool (serially when the pool has one thread, when called from inside
 * a parallel region, or when nblocks == 1). Every thread that runs a block
 * has denormals flushed to zero. */
typedef void (*ck_block_fn)(void *ctx, int64_t block);
void ck_parallel_for(int64_t nblocks, ck_block_fn fn, void *ctx);

/* Number of blocks of `block` elements covering n (at least one). */
static inline int64_t ck_nblocks(int64_t n, int64_t block) {
    return n <= block ? 1 : (n + block - 1) / block;
}

/* Elementwise kernels split flat arrays into blocks of this many
 * elements: large enough to amortise a pool wake-up, small enough to
 * balance two to sixteen threads on 1M-element arrays. */
#define CK_ELEMENTWISE_BLOCK ((int64_t)32768)

/* Save the calling thread's MXCSR and turn on flush-to-zero and
 * denormals-are-zero; ck_ftz_restore puts the saved state back. */
unsigned ck_ftz_enter(void);
void ck_ftz_restore(unsigned saved);

/* One ck_sgemm call (operands as in gemm.c's comment) cut into blocks of
 * C: row ranges (split_rows) or column ranges, per_block rows or columns
 * each (the last block may be shorter). gemm.c's OpenBLAS panels and
 * gemm_small.c's micro-kernel blocks both use it. */
typedef struct {
    int transa, transb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    int split_rows;
    int64_t per_block;
} ck_gemm_job;

/* Rows or columns [*lo, *hi) of block b. */
static inline void ck_gemm_block_range(const ck_gemm_job *g, int64_t b,
                                       int64_t *lo, int64_t *hi) {
    int64_t extent = g->split_rows ? g->M : g->N;
    *lo = b * g->per_block;
    *hi = *lo + g->per_block < extent ? *lo + g->per_block : extent;
}

/* Small GEMMs (gemm_small.c): an AVX2/FMA micro-kernel that packs only
 * K x 16 panels of B on the stack, so K is bounded. ck_sgemm picks it by
 * shape alone; ck_sgemm_small_available() is 0 without AVX2 and FMA.
 * ck_sgemm_small chooses g's blocks itself (split_rows, per_block). */
#define CK_GEMM_SMALL_MAX_K 512
int ck_sgemm_small_available(void);
void ck_sgemm_small(ck_gemm_job *g);
/* B packed once for many products with it (the recurrent kernels' R):
 * Bp holds op(B) [K, N] (op and ldb as in ck_sgemm) as ceil(N/16) panels
 * of K x 16, zero-padded, ck_sgemm_packed_size(K, N) floats; panel p
 * (columns 16p..16p+15) starts at Bp + 16 * K * p. ck_sgemm_packed: C[M,
 * N] = alpha * A[M, K] (row stride lda) @ Bp[:K] + beta * C, panel p at
 * Bp + p * panel_stride (K may be a leading part of the packed K, with
 * the panels' own 16 * K apart), in 4 x 16 tiles split over the pool by
 * column panels (serially when called from inside a pool block), with
 * ck_sgemm_small's arithmetic: every element one FMA chain over k in
 * order, then alpha, then beta. Needs ck_sgemm_small_available(). */
int64_t ck_sgemm_packed_size(int64_t K, int64_t N);
void ck_sgemm_pack_b(float *Bp, int transb, int64_t K, int64_t N,
                     const float *B, int64_t ldb);
void ck_sgemm_packed(int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *Bp,
                     int64_t panel_stride, float beta, float *C, int64_t ldc);
/* Pins the BLAS to one thread (gemm.c, the only file that knows it). */
void ck_gemm_init_blas(void);

#endif /* CK_INTERNAL_H */
