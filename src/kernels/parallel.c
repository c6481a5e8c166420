/*
 * parallel.c: the process's one thread pool (OpenMP) and denormal control.
 *
 * OpenBLAS is pinned to one thread (gemm.c) and called from inside this
 * pool, so no second pool ever spins against this one. The pool size is
 * ck_set_num_threads(n); every parallel region passes it explicitly, so the
 * setting holds whichever Python thread calls a kernel.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <omp.h>
#include "ck_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define CK_MXCSR_FTZ_DAZ 0x8040u
unsigned ck_ftz_enter(void) {
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | CK_MXCSR_FTZ_DAZ);
    return saved;
}
void ck_ftz_restore(unsigned saved) { _mm_setcsr(saved); }
#else
unsigned ck_ftz_enter(void) { return 0; }
void ck_ftz_restore(unsigned saved) { (void)saved; }
#endif

static int ck_num_threads = 0; /* 0: not initialised yet */

int ck_available_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

void ck_init(void) {
    if (ck_num_threads == 0) ck_num_threads = ck_available_cores();
    ck_gemm_init_blas();
}

void ck_set_num_threads(int n) { ck_num_threads = n < 1 ? 1 : n; }

int ck_get_num_threads(void) {
    return ck_num_threads == 0 ? ck_available_cores() : ck_num_threads;
}

void ck_parallel_for(int64_t nblocks, ck_block_fn fn, void *ctx) {
    unsigned saved = ck_ftz_enter();
    int64_t nt = ck_get_num_threads();
    if (nt > nblocks) nt = nblocks;
    if (nt <= 1 || omp_in_parallel()) {
        for (int64_t b = 0; b < nblocks; b++) fn(ctx, b);
    } else {
#pragma omp parallel num_threads((int)nt)
        {
            unsigned mine = ck_ftz_enter();
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nblocks; b++) fn(ctx, b);
            ck_ftz_restore(mine);
        }
    }
    ck_ftz_restore(saved);
}
