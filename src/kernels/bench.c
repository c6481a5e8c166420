/*
 * bench.c: the machine's FMA peak, measured by a register-only loop of
 * independent fused multiply-adds in one pool block per thread. Each block
 * times itself and the peak is the sum of the blocks' rates, so a block
 * that ran after another on the same (busy) thread still counts one core.
 *
 * With AVX2+FMA: 12 independent 8-lane accumulators (enough to cover the
 * FMA latency times two ports), 2 flops per lane per FMA. Without them:
 * the same loop in SSE multiply + add, the best this CPU can do.
 */
#include <time.h>
#include "ck_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CK_ACC 12

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(int64_t iters) {
    __m256 acc[CK_ACC];
    const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CK_ACC; i++) acc[i] = _mm256_set1_ps((float)i);
    for (int64_t it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CK_ACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
    __m256 s = acc[0];
    for (int i = 1; i < CK_ACC; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

static float mul_add_loop_sse(int64_t iters) {
    __m128 acc[CK_ACC];
    const __m128 mul = _mm_set1_ps(0.999999f), add = _mm_set1_ps(1e-7f);
    for (int i = 0; i < CK_ACC; i++) acc[i] = _mm_set1_ps((float)i);
    for (int64_t it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CK_ACC; i++)
            acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], mul), add);
    __m128 s = acc[0];
    for (int i = 1; i < CK_ACC; i++) s = _mm_add_ps(s, acc[i]);
    return _mm_cvtss_f32(s);
}

/* flops one thread performs in fma_loop(iters) */
static double loop_flops(int64_t iters, int fma) {
    return (double)iters * CK_ACC * (fma ? 8.0 * 2.0 : 4.0 * 2.0);
}

#define CK_MAX_PEAK_BLOCKS 256

typedef struct {
    int64_t iters;
    int fma;
    double secs[CK_MAX_PEAK_BLOCKS];
    float sink[CK_MAX_PEAK_BLOCKS];
} peak_ctx;

static void peak_block(void *vctx, int64_t b) {
    peak_ctx *p = (peak_ctx *)vctx;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    p->sink[b] = p->fma ? fma_loop_avx2(p->iters) : mul_add_loop_sse(p->iters);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    p->secs[b] = (double)(t1.tv_sec - t0.tv_sec) +
                 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}

double ck_fma_peak_gflops(int64_t iters) {
    peak_ctx p; /* 3 KB */
    int nt = ck_get_num_threads();
    if (nt > CK_MAX_PEAK_BLOCKS) nt = CK_MAX_PEAK_BLOCKS;
    p.iters = iters;
    p.fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    ck_parallel_for(nt, peak_block, &p);
    double gflops = 0.0;
    for (int b = 0; b < nt; b++)
        if (p.secs[b] > 0.0) gflops += loop_flops(iters, p.fma) / p.secs[b] * 1e-9;
    return gflops;
}
#else
double ck_fma_peak_gflops(int64_t iters) {
    (void)iters;
    return 0.0; /* not measured on this architecture */
}
#endif
