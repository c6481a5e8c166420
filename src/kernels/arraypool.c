/*
 * arraypool.c: a cache of large memory blocks for the arrays of training
 * steps. Not a kernel: the one C file that allocates.
 *
 * Why: a training step allocates the same large arrays every batch (the
 * LSTM's cache and workspace, gradients, numpy temporaries) and frees them
 * at its end. glibc hands blocks this large back to the kernel (munmap, or
 * a trim of the heap top), so every batch takes a page fault per 4 KiB of
 * them again: about 3500 faults (some 9 ms) a batch of W4's LSTM, about
 * 2.5 us each on this machine. Kept here, a freed block is reused by the
 * next request of its size class without a fault.
 *
 * Blocks of CK_POOL_MIN_BYTES or more are mmap'ed, rounded up to a size
 * class (8 classes per power of two, so at most 12.5% slack) and, when
 * freed, kept on their class's list while the cache holds at most
 * ck_pool_cap bytes; smaller blocks go to malloc. Every block carries a
 * 16-byte header just before the pointer handed out, so free needs no
 * size from its caller. Pointers are 64-byte aligned (large) or malloc's
 * 16 (small). Thread-safe (one mutex).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ckeras_kernels.h"

#define CK_POOL_MIN_BYTES ((size_t)128 << 10)
#define LARGE_OFFSET 64 /* header at p - 16 of a block that starts at p - 64 */
#define NBINS 128

enum { SMALL = 0x636b7331u, LARGE = 0x636b7332u }; /* "cks1", "cks2" */

typedef struct {
    uint32_t magic;
    uint32_t pad;
    uint64_t size; /* bytes asked for */
} header;

typedef struct {
    size_t size; /* class size; 0: unused bin */
    void *head;  /* free blocks, linked through their first word */
} bin;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bin bins[NBINS];
static size_t cached_bytes, cap_bytes;
static int cap_known;
static int64_t hits, misses;

/* A fork while another thread holds the lock would leave the child's copy
 * locked for good: take it around fork. */
static void lock_for_fork(void) { pthread_mutex_lock(&lock); }
static void unlock_after_fork(void) { pthread_mutex_unlock(&lock); }
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void install_fork_handlers(void) {
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static header *head_of(void *p) { return (header *)((char *)p - sizeof(header)); }

/* The class of a large request: n rounded up to a multiple of 1/8 of its
 * power of two (n >= CK_POOL_MIN_BYTES). */
static size_t size_class(size_t n) {
    int e = 63 - __builtin_clzll((unsigned long long)n);
    size_t step = (size_t)1 << (e - 3);
    return (n + step - 1) & ~(step - 1);
}

static size_t mapped_bytes(size_t cls) { return cls + LARGE_OFFSET; }

/* The cap: set by ck_pool_set_cap, else min(1 GiB, RAM / 8), worked out
 * on first use. Called with the lock held. */
static size_t cap_locked(void) {
    if (!cap_known) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        size_t eighth =
            pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 8 : 0;
        size_t gib = (size_t)1 << 30;
        cap_bytes = eighth && eighth < gib ? eighth : gib;
        cap_known = 1;
    }
    return cap_bytes;
}

/* A cached block of class cls, or NULL. Called with the lock held. */
static void *pop(size_t cls) {
    for (int i = 0; i < NBINS; i++)
        if (bins[i].size == cls && bins[i].head) {
            void *p = bins[i].head;
            bins[i].head = *(void **)p;
            cached_bytes -= cls;
            return p;
        }
    return NULL;
}

/* Keeps block p of class cls; 0 when the cache is full (the caller unmaps
 * it). Called with the lock held. */
static int push(void *p, size_t cls) {
    if (cached_bytes + cls > cap_locked()) return 0;
    bin *slot = NULL;
    for (int i = 0; i < NBINS; i++) {
        if (bins[i].size == cls) {
            slot = &bins[i];
            break;
        }
        if (!slot && !bins[i].head) slot = &bins[i]; /* empty: reusable */
    }
    if (!slot) return 0;
    slot->size = cls;
    *(void **)p = slot->head;
    slot->head = p;
    cached_bytes += cls;
    return 1;
}

static void *large_alloc(size_t n, int zero) {
    size_t cls = size_class(n);
    pthread_once(&fork_once, install_fork_handlers);
    pthread_mutex_lock(&lock);
    char *base = pop(cls);
    if (base) hits++;
    else misses++;
    pthread_mutex_unlock(&lock);
    if (base) {
        if (zero) memset(base + LARGE_OFFSET, 0, n);
    } else { /* fresh pages are zero */
        base = mmap(NULL, mapped_bytes(cls), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) return NULL;
    }
    void *p = base + LARGE_OFFSET;
    *head_of(p) = (header){LARGE, 0, n};
    return p;
}

static void *small_alloc(size_t n, int zero) {
    header *h = zero ? calloc(1, sizeof(header) + n) : malloc(sizeof(header) + n);
    if (!h) return NULL;
    *h = (header){SMALL, 0, n};
    return h + 1;
}

static void *pool_alloc(size_t n, int zero) {
    if (n > SIZE_MAX / 2) return NULL;
    return n >= CK_POOL_MIN_BYTES ? large_alloc(n, zero) : small_alloc(n, zero);
}

void *ck_pool_malloc(size_t n) { return pool_alloc(n, 0); }

void *ck_pool_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    return pool_alloc(count * size, 1);
}

void ck_pool_free(void *p) {
    if (!p) return;
    header *h = head_of(p);
    if (h->magic == SMALL) {
        h->magic = 0;
        free(h);
        return;
    }
    if (h->magic != LARGE) { /* not ours: memory is corrupt, stop here */
        fprintf(stderr, "ckeras: ck_pool_free of a pointer it did not allocate\n");
        abort();
    }
    size_t cls = size_class(h->size);
    char *base = (char *)p - LARGE_OFFSET;
    pthread_mutex_lock(&lock);
    int kept = push(base, cls);
    pthread_mutex_unlock(&lock);
    if (!kept) munmap(base, mapped_bytes(cls));
}

void *ck_pool_realloc(void *p, size_t n) {
    if (!p) return ck_pool_malloc(n);
    header *h = head_of(p);
    size_t old = h->size;
    if (h->magic == LARGE && n >= CK_POOL_MIN_BYTES && size_class(n) == size_class(old)) {
        h->size = n; /* fits the block it has */
        return p;
    }
    void *q = ck_pool_malloc(n);
    if (!q) return NULL; /* p stays valid, as realloc's contract says */
    memcpy(q, p, old < n ? old : n);
    ck_pool_free(p);
    return q;
}

void ck_pool_release(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < NBINS; i++) {
        while (bins[i].head) {
            void *b = bins[i].head;
            bins[i].head = *(void **)b;
            munmap(b, mapped_bytes(bins[i].size));
        }
        bins[i].size = 0;
    }
    cached_bytes = 0;
    pthread_mutex_unlock(&lock);
}

void ck_pool_set_cap(size_t bytes) {
    pthread_mutex_lock(&lock);
    cap_bytes = bytes;
    cap_known = 1;
    int over = cached_bytes > bytes;
    pthread_mutex_unlock(&lock);
    if (over) ck_pool_release();
}

void ck_pool_stats(int64_t out[4]) {
    pthread_mutex_lock(&lock);
    out[0] = (int64_t)cached_bytes;
    out[1] = (int64_t)cap_locked();
    out[2] = hits;
    out[3] = misses;
    pthread_mutex_unlock(&lock);
}
