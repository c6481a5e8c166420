/*
 * parallel.c: the process's one thread pool and denormal control.
 *
 * OpenBLAS is pinned to one thread (gemm.c) and called from inside this
 * pool's blocks, so no second pool ever spins against this one.
 *
 * Why not an OpenMP parallel region: its closing barrier waits for every
 * thread of the team, so on a machine whose other cores are busy (a shared
 * 2-core CI box, a laptop compiling something) each kernel call waited for
 * a descheduled thread's time slice. Under a load of 6 on 2 cores, the
 * guide's MLP trained 10x slower with 2 threads than with 1 (212 ms
 * against 20 ms an epoch). Here the caller never waits for a thread that
 * has not started: blocks are claimed one at a time from a shared counter
 * by the caller and whichever workers are awake; the caller waits only for
 * blocks already claimed (being computed). A worker that wakes late finds
 * nothing left and goes back to waiting.
 *
 * Determinism is untouched: the blocks are fixed by the problem's shape
 * and each computes its own outputs the same way whichever thread runs it.
 *
 * The claim counter is one 64-bit word, job generation << 32 | next block,
 * so a worker still holding an old job's fields can never claim a block of
 * a newer job (its compare-and-swap carries the old generation). When a
 * job's blocks are all done, the caller closes the counter (next block =
 * CLOSED) before it reuses the job's fields.
 *
 * Workers spin on the generation word for about CK_SPIN_NS after a job (a
 * training step calls kernels every few tens of microseconds), then sleep
 * on it with a futex; a caller wakes them only if some sleep. Workers keep
 * flush-to-zero on for their whole life; they run nothing but blocks.
 * Only one caller at a time uses the workers: a second Python thread
 * calling a kernel meanwhile runs its blocks itself. A forked child starts
 * with no workers (they were not copied) and creates its own.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
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
static inline void cpu_relax(void) { _mm_pause(); }
#else
unsigned ck_ftz_enter(void) { return 0; }
void ck_ftz_restore(unsigned saved) { (void)saved; }
static inline void cpu_relax(void) {}
#endif

#define CK_MAX_WORKERS 255
#define CK_SPIN_NS 200000           /* 0.2 ms */
#define CLOSED ((uint64_t)0xFFFFFFFFu)

static int ck_num_threads = 0; /* 0: not initialised yet */

int ck_available_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void ck_init(void) {
    if (ck_num_threads == 0) ck_num_threads = ck_available_cores();
    ck_gemm_init_blas();
}

void ck_set_num_threads(int n) {
    ck_num_threads = n < 1 ? 1 : n > CK_MAX_WORKERS + 1 ? CK_MAX_WORKERS + 1 : n;
}

int ck_get_num_threads(void) {
    return ck_num_threads == 0 ? ck_available_cores() : ck_num_threads;
}

/* ---- the pool -------------------------------------------------------- */
static struct {
    /* the current job; written by the caller before it publishes gen */
    ck_block_fn fn;
    void *ctx;
    int64_t nblocks;
    int helpers;          /* workers 1..helpers take part */
    uint64_t claim;       /* gen << 32 | next block (CLOSED: none) */
    int64_t done;         /* blocks finished */
    uint32_t gen;         /* job generation; the futex word */
    int sleepers;         /* workers asleep (or about to be) on gen */
    int nworkers;         /* workers started in this process */
} pool;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_block; /* this thread is running a block */

static void futex_wait(uint32_t *addr, uint32_t val) {
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(uint32_t *addr) {
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Claims and runs blocks of job `gen` until none is left. */
static void run_blocks(uint32_t gen, ck_block_fn fn, void *ctx,
                       int64_t nblocks) {
    uint64_t v = __atomic_load_n(&pool.claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen) return; /* a newer job */
        int64_t b = (int64_t)(v & CLOSED);
        if (b >= nblocks) return; /* all claimed, or closed */
        if (!__atomic_compare_exchange_n(&pool.claim, &v, v + 1, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue; /* v now holds the current value */
        fn(ctx, b);
        __atomic_add_fetch(&pool.done, 1, __ATOMIC_RELEASE);
        v = __atomic_load_n(&pool.claim, __ATOMIC_ACQUIRE);
    }
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    ck_ftz_enter();
    in_block = 1; /* a kernel called from a block runs serially */
    uint32_t seen = __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t g = __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE);
        if (g == seen) {
            int64_t until = now_ns() + CK_SPIN_NS;
            int spins = 0;
            while ((g = __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE)) == seen) {
                cpu_relax();
                if ((++spins & 63) == 0 && now_ns() > until) {
                    __atomic_add_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
                    if (__atomic_load_n(&pool.gen, __ATOMIC_SEQ_CST) == seen)
                        futex_wait(&pool.gen, seen);
                    __atomic_sub_fetch(&pool.sleepers, 1, __ATOMIC_SEQ_CST);
                    until = now_ns() + CK_SPIN_NS;
                }
            }
        }
        seen = g;
        /* The job's fields were written before gen. If a newer job
         * overwrites them meanwhile (only after this job's counter was
         * closed), the fence makes run_blocks see the closed counter or
         * the newer generation, and it claims nothing. */
        ck_block_fn fn = __atomic_load_n(&pool.fn, __ATOMIC_RELAXED);
        void *ctx = __atomic_load_n(&pool.ctx, __ATOMIC_RELAXED);
        int64_t nblocks = __atomic_load_n(&pool.nblocks, __ATOMIC_RELAXED);
        int helpers = __atomic_load_n(&pool.helpers, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (id <= helpers) run_blocks(g, fn, ctx, nblocks);
    }
    return NULL;
}

/* A forked child has none of its parent's workers, and the lock may have
 * been held by a parent thread that does not exist in the child. */
static void pool_after_fork_child(void) {
    pthread_mutex_init(&pool_lock, NULL);
    pool.nworkers = 0;
    pool.sleepers = 0;
    pool.claim = ((uint64_t)pool.gen << 32) | CLOSED;
    in_block = 0;
}

/* Starts workers up to `want` (called with pool_lock held); returns how
 * many exist. */
static int ensure_workers(int want) {
    static int atfork_registered = 0;
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, pool_after_fork_child);
        atfork_registered = 1;
    }
    while (pool.nworkers < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, (size_t)8 << 20);
        int rc = pthread_create(&t, &attr, worker_main,
                                (void *)(intptr_t)(pool.nworkers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) break; /* fewer helpers; the caller does the rest */
        pool.nworkers++;
    }
    return pool.nworkers;
}

void ck_parallel_for(int64_t nblocks, ck_block_fn fn, void *ctx) {
    unsigned saved = ck_ftz_enter();
    int64_t nt = ck_get_num_threads();
    if (nt > nblocks) nt = nblocks;
    if (nt <= 1 || in_block || nblocks >= (int64_t)CLOSED ||
        pthread_mutex_trylock(&pool_lock) != 0) {
        for (int64_t b = 0; b < nblocks; b++) fn(ctx, b);
        ck_ftz_restore(saved);
        return;
    }
    int helpers = ensure_workers((int)nt - 1);
    if (helpers > (int)nt - 1) helpers = (int)nt - 1;
    uint32_t gen = pool.gen + 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the last close, then these */
    __atomic_store_n(&pool.fn, fn, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.nblocks, nblocks, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.helpers, helpers, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.claim, (uint64_t)gen << 32, __ATOMIC_RELEASE);
    __atomic_store_n(&pool.gen, gen, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&pool.sleepers, __ATOMIC_SEQ_CST) > 0)
        futex_wake_all(&pool.gen);

    in_block = 1;
    run_blocks(gen, fn, ctx, nblocks);
    in_block = 0;
    /* wait for the blocks other threads claimed and are computing */
    int spins = 0;
    while (__atomic_load_n(&pool.done, __ATOMIC_ACQUIRE) < nblocks) {
        cpu_relax();
        if (++spins > 4096) sched_yield();
    }
    __atomic_store_n(&pool.claim, ((uint64_t)gen << 32) | CLOSED,
                     __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&pool_lock);
    ck_ftz_restore(saved);
}
