/*
 * dropout.c: inverted dropout with a counter-based random stream.
 *
 *   u_i     = (h(seed, i) >> 8) * 2^-24       in [0, 1), 24 random bits
 *   mask[i] = u_i < keep ? 1 / keep : 0       keep = 1 - rate
 *   y[i]    = x[i] * mask[i]
 *
 * h is two rounds of a 32-bit integer finaliser ("lowbias32", C. Wellons)
 * over the element index, mixed with the 64-bit seed's halves and the
 * index's high half. Element i depends on (seed, i) only, so any blocking
 * and any thread count give the same bits; the integer arithmetic wraps
 * modulo 2^32 as numpy's uint32 does, so the numpy reference
 * (ckeras/reference/dropout.py) reproduces every mask exactly. The caller
 * draws a fresh seed per call from its seeded generator.
 *
 * Layout: x, y, mask are flat [n] float32; y may alias x (in place).
 */
#include "ck_internal.h"

static inline uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

typedef struct {
    float *y, *mask;
    const float *x;
    int64_t n;
    uint32_t s0, s1;
    float keep, scale;
} dropout_ctx;

/* Blocks are CK_ELEMENTWISE_BLOCK (a power of two below 2^32) elements,
 * so a block never crosses a multiple of 2^32: the index's high half is
 * fixed inside it and the loop counts in 32 bits (vectorisable). */
CK_VECTOR_CLONES static void dropout_block(void *vctx, int64_t b) {
    const dropout_ctx *k = (const dropout_ctx *)vctx;
    int64_t lo = b * CK_ELEMENTWISE_BLOCK;
    int64_t hi = lo + CK_ELEMENTWISE_BLOCK < k->n ? lo + CK_ELEMENTWISE_BLOCK : k->n;
    const uint32_t base = (uint32_t)lo;
    const uint32_t s1 = k->s1 ^ (uint32_t)((uint64_t)lo >> 32);
    const uint32_t s0 = k->s0, cnt = (uint32_t)(hi - lo);
    const float keep = k->keep, scale = k->scale;
    float *y = k->y + lo, *mask = k->mask + lo;
    const float *x = k->x + lo;
    for (uint32_t j = 0; j < cnt; j++) {
        uint32_t h = lowbias32(lowbias32((base + j) ^ s0) ^ s1);
        float u = (float)(int32_t)(h >> 8) * 0x1p-24f;
        float m = u < keep ? scale : 0.0f;
        mask[j] = m;
        y[j] = x[j] * m;
    }
}

void ck_dropout_forward(float *y, float *mask, const float *x, int64_t n,
                        float rate, uint64_t seed) {
    if (n <= 0) return;
    float keep = 1.0f - rate;
    dropout_ctx k = {y, mask, x, n, (uint32_t)seed, (uint32_t)(seed >> 32),
                     keep, 1.0f / keep};
    ck_parallel_for(ck_nblocks(n, CK_ELEMENTWISE_BLOCK), dropout_block, &k);
}
