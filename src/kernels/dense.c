/*
 * dense.c: the fully connected layer, y = act(x @ W + b).
 *
 * Forward:   z[N,U] = x[N,C] @ W[C,U] + b[U];  y[N,U] = act(z)
 * Backward:  dz = dy * act'(.) expressed through y (ck_activation_backward)
 *            dW[C,U] += x^T @ dz
 *            db[U]   += sum over rows n of dz[n,:]
 *            dx[N,C] += dz @ W^T
 *
 *   x:  [N,C]   W: [C,U] (Keras 2's kernel layout)   b, db: [U]
 *   y, dy: [N,U]   dx: [N,C]   dW: [C,U]   workspace: [N,U] (holds dz)
 *
 * Forward cuts the rows of y into row blocks whose size depends on the
 * shape only; each block of ck_parallel_for runs its own (serial) GEMM and
 * then adds the bias and applies the activation while that block of y is
 * still in cache, so bias and activation never sweep y from memory. When
 * the shape gives a single row block (few rows or little work), the GEMM
 * runs on the whole pool (ck_sgemm panels it) and bias + activation follow
 * as one parallel pass. Softmax works per row; row blocks never split it.
 *
 * Backward computes dz into the workspace (parallel over row blocks; the
 * linear activation uses dy itself and leaves the workspace untouched),
 * then db as column sums in row order (parallel over column blocks, so the
 * summation order is fixed whatever the thread count), then the two GEMMs
 * with beta = 1, which accumulate into dW and dx.
 */
#include <string.h>
#include "ck_internal.h"

/* Row blocks of the fused forward: a power-of-two count up to
 * DENSE_MAX_BLOCKS, each carrying at least DENSE_BLOCK_FLOPS, spanning a
 * multiple of DENSE_ROW_ALIGN rows, then shrunk until a block of y fits in
 * DENSE_L2_BYTES (half of a Zen3 core's L2, so x's rows and the packed W
 * fit beside it), never below DENSE_ROW_ALIGN rows. DENSE_ROW_ALIGN is
 * twice ck_sgemm's panel alignment: ck_sgemm cuts a block of 64 or more
 * rows into row panels of 32 (the same single-threaded BLAS calls it makes
 * for the whole y), whereas it would cut a 32-row block into column
 * panels that re-pack x and measure 6% slower. */
#define DENSE_BLOCK_FLOPS (4.0e6)
#define DENSE_ROW_ALIGN ((int64_t)64)
#define DENSE_MAX_BLOCKS 8
#define DENSE_L2_BYTES ((int64_t)256 * 1024)
/* db: columns per block of the column-sum pass. */
#define DENSE_DB_COLS ((int64_t)256)
/* Rows per sub-chunk of the bias/activation and dz passes: about this many
 * floats, so a chunk stays in L1 between its two sweeps. */
#define DENSE_CHUNK_FLOATS ((int64_t)2048)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Rows per forward block; N when the shape gives a single block. */
static int64_t forward_block_rows(int64_t N, int64_t C, int64_t U) {
    double flops = 2.0 * (double)N * (double)U * (double)(C > 0 ? C : 1);
    int64_t most = N / DENSE_ROW_ALIGN, blocks = 1;
    while (blocks * 2 <= DENSE_MAX_BLOCKS && blocks * 2 <= most &&
           (double)(blocks * 2) * DENSE_BLOCK_FLOPS <= flops)
        blocks *= 2;
    if (blocks == 1) return N;
    int64_t per = (N + blocks - 1) / blocks;
    int64_t rows = (per + DENSE_ROW_ALIGN - 1) / DENSE_ROW_ALIGN * DENSE_ROW_ALIGN;
    int64_t fit = DENSE_L2_BYTES / (4 * max64(U, 1));
    fit = max64(DENSE_ROW_ALIGN, fit / DENSE_ROW_ALIGN * DENSE_ROW_ALIGN);
    return min64(rows, fit);
}

/* Rows per sub-chunk of a pass over rows of `cols` floats. */
static int64_t chunk_rows(int64_t cols) {
    return max64(1, DENSE_CHUNK_FLOATS / max64(cols, 1));
}

/* y[rows,U] += b[U] on every row. */
CK_VECTOR_CLONES
static void add_bias(float *restrict y, const float *restrict b,
                     int64_t rows, int64_t U) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict yr = y + r * U;
        for (int64_t j = 0; j < U; j++) yr[j] += b[j];
    }
}

/* y[rows,U] = act(y + b) in place, in sub-chunks that stay in L1. */
static void bias_act(float *y, const float *b, int64_t rows, int64_t U,
                     int act, float alpha) {
    int64_t step = chunk_rows(U);
    for (int64_t r = 0; r < rows; r += step) {
        int64_t n = min64(step, rows - r);
        if (b) add_bias(y + r * U, b, n, U);
        if (act != CK_ACT_LINEAR)
            ck_activation_forward(y + r * U, y + r * U, n, U, act, alpha);
    }
}

typedef struct {
    float *y;
    const float *x, *W, *b;
    int64_t N, C, U;
    int64_t rows, nblocks; /* rows per block; the last block runs to N */
    int act;
    float alpha;
} forward_ctx;

/* Block: rows [lo, hi) of y = act(x @ W + b), GEMM then epilogue. */
static void forward_block(void *vctx, int64_t blk) {
    const forward_ctx *f = (const forward_ctx *)vctx;
    int64_t lo = blk * f->rows;
    int64_t n = blk == f->nblocks - 1 ? f->N - lo : f->rows;
    float *y = f->y + lo * f->U;
    ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, n, f->U, f->C, 1.0f,
             f->x + lo * f->C, f->C, f->W, f->U, 0.0f, y, f->U);
    bias_act(y, f->b, n, f->U, f->act, f->alpha);
}

/* Block: rows [lo, lo+rows) of y = act(y + b) (the unfused epilogue). */
static void epilogue_block(void *vctx, int64_t blk) {
    const forward_ctx *f = (const forward_ctx *)vctx;
    int64_t lo = blk * f->rows, n = min64(f->rows, f->N - lo);
    bias_act(f->y + lo * f->U, f->b, n, f->U, f->act, f->alpha);
}

void ck_dense_forward(float *y, const float *x, const float *W,
                      const float *b, int64_t N, int64_t C, int64_t U,
                      int act, float alpha) {
    if (N <= 0 || U <= 0) return;
    int64_t rows = forward_block_rows(N, C, U);
    forward_ctx f = {y, x, W, b, N, C, U, rows, ck_nblocks(N, rows), act,
                     alpha};
    /* a tail shorter than DENSE_ROW_ALIGN joins the block before it */
    if (f.nblocks > 1 && N - (f.nblocks - 1) * rows < DENSE_ROW_ALIGN)
        f.nblocks--;
    if (f.nblocks > 1) {
        ck_parallel_for(f.nblocks, forward_block, &f);
        return;
    }
    /* one row block: the GEMM on the whole pool (ck_sgemm panels it), then
     * a parallel epilogue over row blocks of about CK_ELEMENTWISE_BLOCK
     * floats */
    ck_sgemm(CK_NO_TRANS, CK_NO_TRANS, N, U, C, 1.0f, x, C, W, U, 0.0f, y, U);
    if (!b && act == CK_ACT_LINEAR) return;
    f.rows = max64(1, CK_ELEMENTWISE_BLOCK / U);
    ck_parallel_for(ck_nblocks(N, f.rows), epilogue_block, &f);
}

int64_t ck_dense_workspace_size(int64_t N, int64_t C, int64_t U) {
    (void)C;
    return N * U;
}

typedef struct {
    float *dz_out;       /* [N,U] written by dz_block */
    const float *dz;     /* [N,U] read by db_block */
    const float *dy, *y;
    int64_t N, U, rows; /* rows per block */
    int act;
    float alpha;
    float *db;
} backward_ctx;

/* Block: rows [lo, lo+rows) of dz = dy * act'(y), zeroed then accumulated
 * one L1-sized sub-chunk at a time. */
static void dz_block(void *vctx, int64_t blk) {
    const backward_ctx *g = (const backward_ctx *)vctx;
    int64_t lo = blk * g->rows, hi = min64(g->N, lo + g->rows);
    int64_t step = chunk_rows(g->U);
    for (int64_t r = lo; r < hi; r += step) {
        int64_t n = min64(step, hi - r), off = r * g->U;
        memset(g->dz_out + off, 0, (size_t)(n * g->U) * sizeof(float));
        ck_activation_backward(g->dz_out + off, g->dy + off, g->y + off, n, g->U,
                               g->act, g->alpha);
    }
}

/* acc[cols] += dz[n, 0:cols] for n = 0 .. N-1, in row order. */
CK_VECTOR_CLONES
static void column_sums(float *restrict acc, const float *restrict dz,
                        int64_t N, int64_t cols, int64_t ld) {
    for (int64_t n = 0; n < N; n++) {
        const float *restrict row = dz + n * ld;
        for (int64_t j = 0; j < cols; j++) acc[j] += row[j];
    }
}

/* Block: db[j] += sum_n dz[n,j] for the columns j of block blk. */
static void db_block(void *vctx, int64_t blk) {
    const backward_ctx *g = (const backward_ctx *)vctx;
    int64_t lo = blk * DENSE_DB_COLS, cols = min64(DENSE_DB_COLS, g->U - lo);
    float acc[DENSE_DB_COLS];
    for (int64_t j = 0; j < cols; j++) acc[j] = 0.0f;
    column_sums(acc, g->dz + lo, g->N, cols, g->U);
    for (int64_t j = 0; j < cols; j++) g->db[lo + j] += acc[j];
}

void ck_dense_backward(float *dx, float *dW, float *db, const float *dy,
                       const float *x, const float *W, const float *y,
                       int64_t N, int64_t C, int64_t U, int act, float alpha,
                       float *workspace) {
    if (N <= 0 || U <= 0) return;
    /* dz[N,U] = dy * act'(y); linear: dz is dy itself */
    const float *dz = dy;
    backward_ctx g = {workspace, dy, dy, y, N, U,
                      max64(1, CK_ELEMENTWISE_BLOCK / U), act, alpha, db};
    if (act != CK_ACT_LINEAR) {
        ck_parallel_for(ck_nblocks(N, g.rows), dz_block, &g);
        dz = workspace;
    }
    /* db[U] += column sums of dz, each column summed in row order */
    if (db) {
        g.dz = dz;
        ck_parallel_for(ck_nblocks(U, DENSE_DB_COLS), db_block, &g);
    }
    /* dW[C,U] += x^T[C,N] @ dz[N,U] */
    ck_sgemm(CK_TRANS, CK_NO_TRANS, C, U, N, 1.0f, x, C, dz, U, 1.0f, dW, U);
    /* dx[N,C] += dz[N,U] @ W^T[U,C] */
    if (dx)
        ck_sgemm(CK_NO_TRANS, CK_TRANS, N, C, U, 1.0f, dz, U, W, U, 1.0f, dx,
                 C);
}
