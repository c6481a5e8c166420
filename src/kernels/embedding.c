/*
 * embedding.c: Keras 2 Embedding lookup and its scatter-add backward.
 *
 *   table  [V, D]      the embedding matrix (input_dim V, output_dim D)
 *   idx    [n_idx]     int64 row numbers (any index shape, flattened)
 *   out    [n_idx, D]  forward: out[n] = table[idx[n]]
 *   dout   [n_idx, D]  backward: dtable[idx[n]] += dout[n]
 *
 * The bindings reject an index outside [0, V); as a last guard the kernels
 * never touch memory for one: forward writes a row of zeros, backward
 * skips it.
 *
 * Forward: blocks of rows on the pool, each a row copy.
 * Backward: touches only the rows used. The columns of D are cut into
 * fixed blocks; each block walks all indices in order and adds its slice
 * of dout into its slice of the table row, so two uses of one row add up
 * in index order in every thread: the same bits for any thread count, no
 * atomics, no sort.
 */
#include <string.h>
#include "ck_internal.h"

typedef struct {
    float *out;
    const float *table;
    const int64_t *idx;
    int64_t n_idx, V, D, rows;
} emb_fwd_ctx;

static void emb_fwd_block(void *vctx, int64_t blk) {
    const emb_fwd_ctx *k = (const emb_fwd_ctx *)vctx;
    int64_t r0 = blk * k->rows;
    int64_t r1 = r0 + k->rows < k->n_idx ? r0 + k->rows : k->n_idx;
    for (int64_t n = r0; n < r1; n++) {
        int64_t v = k->idx[n];
        float *dst = k->out + n * k->D;
        if (v >= 0 && v < k->V)
            memcpy(dst, k->table + v * k->D, (size_t)k->D * sizeof(float));
        else
            memset(dst, 0, (size_t)k->D * sizeof(float));
    }
}

void ck_embedding_forward(float *out, const float *table, const int64_t *idx,
                          int64_t n_idx, int64_t V, int64_t D) {
    if (n_idx <= 0 || D <= 0) return;
    /* rows per block: about CK_ELEMENTWISE_BLOCK floats of output */
    int64_t rows = CK_ELEMENTWISE_BLOCK / D > 0 ? CK_ELEMENTWISE_BLOCK / D : 1;
    emb_fwd_ctx k = {out, table, idx, n_idx, V, D, rows};
    ck_parallel_for(ck_nblocks(n_idx, rows), emb_fwd_block, &k);
}

/* Columns per backward block; fewer blocks when the whole scatter is
 * small (a pool wake-up would cost more than the adds). */
#define CK_EMB_COL_BLOCK 64
#define CK_EMB_PARALLEL_MIN ((int64_t)65536)

typedef struct {
    float *dtable;
    const float *dout;
    const int64_t *idx;
    int64_t n_idx, V, D, cols;
} emb_bwd_ctx;

CK_VECTOR_CLONES static void emb_bwd_block(void *vctx, int64_t blk) {
    const emb_bwd_ctx *k = (const emb_bwd_ctx *)vctx;
    int64_t c0 = blk * k->cols;
    int64_t nc = k->D - c0 < k->cols ? k->D - c0 : k->cols;
    for (int64_t n = 0; n < k->n_idx; n++) {
        int64_t v = k->idx[n];
        if (v < 0 || v >= k->V) continue;
        float *dst = k->dtable + v * k->D + c0;
        const float *src = k->dout + n * k->D + c0;
        for (int64_t j = 0; j < nc; j++) dst[j] += src[j];
    }
}

void ck_embedding_backward(float *dtable, const float *dout,
                           const int64_t *idx, int64_t n_idx, int64_t V,
                           int64_t D) {
    if (n_idx <= 0 || D <= 0) return;
    unsigned ftz = ck_ftz_enter();
    int64_t cols = n_idx * D < CK_EMB_PARALLEL_MIN ? D : CK_EMB_COL_BLOCK;
    emb_bwd_ctx k = {dtable, dout, idx, n_idx, V, D, cols};
    ck_parallel_for(ck_nblocks(D, cols), emb_bwd_block, &k);
    ck_ftz_restore(ftz);
}
