/* test_arraypool.c: the array memory pool (arraypool.c): reuse, zeroing,
 * realloc, alignment, the cap, release, and two threads at once. */
#include <pthread.h>
#include <string.h>
#include "test_util.h"

static int64_t stat(int i) {
    int64_t s[4];
    ck_pool_stats(s);
    return s[i];
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

static void *churn(void *arg) {
    size_t n = (size_t)(uintptr_t)arg;
    for (int i = 0; i < 200; i++) {
        unsigned char *p = ck_pool_malloc(n + (size_t)(i % 3) * 4096);
        memset(p, i & 0xff, n);
        if (!all_bytes(p, n, (unsigned char)(i & 0xff))) return (void *)1;
        ck_pool_free(p);
    }
    return NULL;
}

void ck_test_arraypool(void) {
    const size_t big = (size_t)3 << 20, small = 1000;
    ck_pool_release();
    /* small blocks: malloc's, usable to their size */
    unsigned char *s = ck_pool_malloc(small);
    memset(s, 1, small);
    ck_pool_free(s);
    s = ck_pool_calloc(small, 1);
    CK_CHECK(s && all_bytes(s, small, 0), "small calloc not zero");
    ck_pool_free(s);
    ck_pool_free(NULL);

    /* a freed large block is kept and handed out again */
    int64_t hits = stat(2);
    unsigned char *a = ck_pool_malloc(big);
    CK_CHECK(((uintptr_t)a & 63) == 0, "large block not 64-byte aligned");
    memset(a, 7, big);
    ck_pool_free(a);
    CK_CHECK(stat(0) > 0, "freed large block not cached");
    unsigned char *b = ck_pool_malloc(big - 100); /* same size class */
    CK_CHECK(b == a && stat(2) == hits + 1, "cached block not reused");
    ck_pool_free(b);
    /* calloc of a reused block is zeroed */
    b = ck_pool_calloc(big / 4, 4);
    CK_CHECK(b == a && all_bytes(b, big, 0), "reused calloc block not zero");

    /* realloc keeps the contents: same class in place, then a larger one */
    memset(b, 3, big);
    unsigned char *c = ck_pool_realloc(b, big - 5000);
    CK_CHECK(c == b, "realloc within the size class moved");
    c = ck_pool_realloc(c, 4 * big);
    CK_CHECK(c && all_bytes(c, big - 5000, 3), "realloc lost contents");
    unsigned char *d = ck_pool_realloc(NULL, small);
    memset(d, 5, small);
    d = ck_pool_realloc(d, big); /* small -> large */
    CK_CHECK(d && all_bytes(d, small, 5), "small-to-large realloc lost contents");
    d = ck_pool_realloc(d, 10); /* large -> small */
    CK_CHECK(d && all_bytes(d, 10, 5), "large-to-small realloc lost contents");
    ck_pool_free(d);
    ck_pool_free(c);

    /* overflowing calloc fails cleanly */
    CK_CHECK(ck_pool_calloc(SIZE_MAX / 2, 4) == NULL, "overflowing calloc");
    CK_CHECK(ck_pool_malloc(SIZE_MAX - 8) == NULL, "huge malloc");

    /* release unmaps the cache; a cap of 0 caches nothing */
    ck_pool_release();
    CK_CHECK(stat(0) == 0, "release left %lld bytes", (long long)stat(0));
    int64_t cap = stat(1);
    ck_pool_set_cap(0);
    a = ck_pool_malloc(big);
    ck_pool_free(a);
    CK_CHECK(stat(0) == 0, "cap 0 still cached");
    ck_pool_set_cap((size_t)cap);

    /* two threads allocating and freeing at once */
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(big + (size_t)i * 65536));
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        CK_CHECK(r == NULL, "thread %d saw a block change under it", i);
    }
    ck_pool_release();
}
