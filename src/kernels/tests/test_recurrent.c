/* Recurrent kernels (LSTM, GRU, SimpleRNN) on edge shapes: N, T, U of 1,
 * C of 0, batches that split into several row blocks, masks, go_backwards,
 * recurrent dropout masks (GRU also with rdcarry), W NULL (x is the input
 * projection), absent bias / initial states / output gradients. Every buffer has its
 * exact size. Checks: the LSTM forward against a plain C loop, and every
 * backward against a central difference of the forward along a random
 * direction (float32, so a loose tolerance: it catches wrong formulas,
 * the Python tests check the digits). */
#include <string.h>
#include "test_util.h"

enum { K_LSTM = 0, K_GRU = 1, K_SRNN = 2 };

typedef struct {
    int kind;
    int64_t N, T, C, U;
    int gb, act, ract, use_b, use_h0, use_mask, use_dhseq;
    int use_rd;   /* recurrent dropout masks rdmask [G, N, U] */
    int rdcarry;  /* GRU: the update's carry reads h * rdmask[0] too */
    int no_w;     /* W NULL: x is the input projection, C = G*U */
} rcase;

static int64_t gates_of(int kind) {
    return kind == K_LSTM ? 4 : kind == K_GRU ? 3 : 1;
}

typedef struct {
    float *x, *W, *R, *b, *h0, *c0, *mask, *rd; /* inputs */
    float *hseq, *hT, *cT, *cache;         /* outputs */
    float *dhseq, *dhT, *dcT;              /* output gradients */
    float *dx, *dW, *dR, *db, *dh0, *dc0, *ws;
} rbufs;

static void forward(const rcase *c, rbufs *B) {
    const float *b = c->use_b ? B->b : NULL, *h0 = c->use_h0 ? B->h0 : NULL;
    const float *W = c->no_w ? NULL : B->W;
    const float *m = c->use_mask ? B->mask : NULL;
    if (c->kind == K_LSTM)
        ck_lstm_forward(B->hseq, B->hT, B->cT, B->cache, B->x, W, B->R, b,
                        h0, c->use_h0 ? B->c0 : NULL, m,
                        c->use_rd ? B->rd : NULL, c->N, c->T, c->C, c->U,
                        c->gb, c->act, c->ract);
    else if (c->kind == K_GRU)
        ck_gru_forward(B->hseq, B->hT, B->cache, B->x, W, B->R, b, h0, m,
                       c->use_rd ? B->rd : NULL, c->N, c->T, c->C, c->U,
                       c->gb, c->act, c->ract, c->rdcarry);
    else
        ck_simple_rnn_forward(B->hseq, B->hT, B->cache, B->x, W, B->R, b,
                              h0, m, c->use_rd ? B->rd : NULL, c->N, c->T,
                              c->C, c->U, c->gb, c->act);
}

static void backward(const rcase *c, rbufs *B) {
    const float *m = c->use_mask ? B->mask : NULL;
    const float *dhs = c->use_dhseq ? B->dhseq : NULL;
    float *db = c->use_b ? B->db : NULL;
    const float *W = c->no_w ? NULL : B->W;
    float *dW = c->no_w ? NULL : B->dW;
    if (c->kind == K_LSTM)
        ck_lstm_backward(B->dx, dW, B->dR, db, B->dh0, B->dc0, dhs, B->dhT,
                         B->dcT, B->x, W, B->R, m,
                         c->use_rd ? B->rd : NULL, B->cache, c->N, c->T,
                         c->C, c->U, c->gb, c->act, c->ract, B->ws);
    else if (c->kind == K_GRU)
        ck_gru_backward(B->dx, dW, B->dR, db, B->dh0, dhs, B->dhT, B->x,
                        W, B->R, m, c->use_rd ? B->rd : NULL, B->cache,
                        c->N, c->T, c->C, c->U, c->gb, c->act, c->ract,
                        c->rdcarry, B->ws);
    else
        ck_simple_rnn_backward(B->dx, dW, B->dR, db, B->dh0, dhs, B->dhT,
                               B->x, W, B->R, m, c->use_rd ? B->rd : NULL,
                               B->cache, c->N, c->T, c->C, c->U, c->gb,
                               c->act, B->ws);
}

/* sum(dhseq hseq) + sum(dhT hT) + sum(dcT cT) in double */
static double objective(const rcase *c, rbufs *B) {
    forward(c, B);
    double L = 0.0;
    int64_t NU = c->N * c->U;
    if (c->use_dhseq)
        for (int64_t i = 0; i < NU * c->T; i++)
            L += (double)B->dhseq[i] * B->hseq[i];
    for (int64_t i = 0; i < NU; i++) L += (double)B->dhT[i] * B->hT[i];
    if (c->kind == K_LSTM)
        for (int64_t i = 0; i < NU; i++) L += (double)B->dcT[i] * B->cT[i];
    return L;
}

/* The directional derivative of the objective along random v of the
 * array p[n], against sum(grad * v). */
static void check_direction(const rcase *c, rbufs *B, float *p,
                            const float *grad, int64_t n, const char *what) {
    if (n == 0) return;
    float *v = ck_test_alloc(n), *keep = ck_test_alloc(n);
    ck_test_fill(v, n, 77, -1.0f, 1.0f);
    memcpy(keep, p, (size_t)n * sizeof(float));
    const float eps = 1e-2f;
    for (int64_t i = 0; i < n; i++) p[i] = keep[i] + eps * v[i];
    double up = objective(c, B);
    for (int64_t i = 0; i < n; i++) p[i] = keep[i] - eps * v[i];
    double down = objective(c, B);
    memcpy(p, keep, (size_t)n * sizeof(float));
    double numeric = (up - down) / (2.0 * eps), analytic = 0.0, scale = 0.0;
    for (int64_t i = 0; i < n; i++) {
        analytic += (double)grad[i] * v[i];
        scale += fabs((double)grad[i] * v[i]);
    }
    CK_CHECK(fabs(numeric - analytic) <= 2e-2 * scale + 1e-3,
             "%s kind=%d N=%ld T=%ld C=%ld U=%ld gb=%d mask=%d rd=%d "
             "carry=%d: d%s numeric %g analytic %g", "recurrent", c->kind,
             (long)c->N, (long)c->T, (long)c->C, (long)c->U, c->gb,
             c->use_mask, c->use_rd, c->rdcarry, what, numeric, analytic);
    free(v);
    free(keep);
}

/* Plain-loop LSTM forward (no mask, forward in time), double sums. */
static void lstm_naive(const rcase *c, const rbufs *B, float *hT, float *cT) {
    int64_t N = c->N, T = c->T, C = c->C, U = c->U;
    float *z = ck_test_alloc(4 * U);
    for (int64_t n = 0; n < N; n++) {
        for (int64_t j = 0; j < U; j++) {
            hT[n * U + j] = c->use_h0 ? B->h0[n * U + j] : 0.0f;
            cT[n * U + j] = c->use_h0 ? B->c0[n * U + j] : 0.0f;
        }
        for (int64_t t = 0; t < T; t++) {
            for (int64_t g = 0; g < 4 * U; g++) {
                double acc = c->use_b ? B->b[g] : 0.0;
                for (int64_t k = 0; k < C; k++)
                    acc += (double)B->x[(n * T + t) * C + k] *
                           B->W[k * 4 * U + g];
                for (int64_t k = 0; k < U; k++)
                    acc += (double)hT[n * U + k] * B->R[k * 4 * U + g];
                z[g] = (float)acc;
            }
            for (int64_t j = 0; j < U; j++) { /* tanh, sigmoid */
                float i = 1.0f / (1.0f + expf(-z[j]));
                float f = 1.0f / (1.0f + expf(-z[U + j]));
                float g = tanhf(z[2 * U + j]);
                float o = 1.0f / (1.0f + expf(-z[3 * U + j]));
                cT[n * U + j] = f * cT[n * U + j] + i * g;
                hT[n * U + j] = o * tanhf(cT[n * U + j]);
            }
        }
    }
    free(z);
}

static void one(rcase c) {
    int64_t N = c.N, T = c.T, C = c.C, U = c.U, G = gates_of(c.kind);
    int64_t cache_n = c.kind == K_LSTM ? ck_lstm_cache_size(N, T, U)
                    : c.kind == K_GRU  ? ck_gru_cache_size(N, T, U)
                                       : ck_simple_rnn_cache_size(N, T, U);
    int64_t ws_n = c.kind == K_LSTM ? ck_lstm_workspace_size(N, T, C, U)
                 : c.kind == K_GRU  ? ck_gru_workspace_size(N, T, C, U)
                                    : ck_simple_rnn_workspace_size(N, T, C, U);
    rbufs B;
    B.x = ck_test_alloc(N * T * C);
    B.W = c.no_w ? NULL : ck_test_alloc(C * G * U);
    B.R = ck_test_alloc(U * G * U);
    B.b = ck_test_alloc(G * U);
    B.h0 = ck_test_alloc(N * U);
    B.c0 = ck_test_alloc(N * U);
    B.mask = ck_test_alloc(N * T);
    B.rd = ck_test_alloc(G * N * U);
    B.hseq = ck_test_alloc(N * T * U);
    B.hT = ck_test_alloc(N * U);
    B.cT = ck_test_alloc(N * U);
    B.cache = ck_test_alloc(cache_n);
    B.dhseq = ck_test_alloc(N * T * U);
    B.dhT = ck_test_alloc(N * U);
    B.dcT = ck_test_alloc(N * U);
    B.dx = ck_test_alloc(N * T * C);
    B.dW = c.no_w ? NULL : ck_test_alloc(C * G * U);
    B.dR = ck_test_alloc(U * G * U);
    B.db = ck_test_alloc(G * U);
    B.dh0 = ck_test_alloc(N * U);
    B.dc0 = ck_test_alloc(N * U);
    B.ws = ck_test_alloc(ws_n);
    ck_test_fill(B.x, N * T * C, 1, -1.0f, 1.0f);
    if (B.W) ck_test_fill(B.W, C * G * U, 2, -0.5f, 0.5f);
    ck_test_fill(B.R, U * G * U, 3, -0.5f, 0.5f);
    ck_test_fill(B.b, G * U, 4, -0.5f, 0.5f);
    ck_test_fill(B.h0, N * U, 5, -1.0f, 1.0f);
    ck_test_fill(B.c0, N * U, 6, -1.0f, 1.0f);
    ck_test_fill(B.mask, N * T, 7, 0.0f, 1.0f);
    for (int64_t i = 0; i < N * T; i++) B.mask[i] = B.mask[i] > 0.3f;
    ck_test_fill(B.rd, G * N * U, 11, 0.0f, 1.0f);
    for (int64_t i = 0; i < G * N * U; i++) /* dropout rate 0.3 */
        B.rd[i] = B.rd[i] > 0.3f ? 1.0f / 0.7f : 0.0f;
    ck_test_fill(B.dhseq, N * T * U, 8, -1.0f, 1.0f);
    ck_test_fill(B.dhT, N * U, 9, -1.0f, 1.0f);
    ck_test_fill(B.dcT, N * U, 10, -1.0f, 1.0f);

    if (c.kind == K_LSTM && !c.use_mask && !c.gb && !c.use_rd &&
        c.act == CK_ACT_TANH &&
        c.ract == CK_ACT_SIGMOID) {
        float *hT = ck_test_alloc(N * U), *cT = ck_test_alloc(N * U);
        forward(&c, &B);
        lstm_naive(&c, &B, hT, cT);
        float dh = ck_test_max_abs_diff(hT, B.hT, N * U);
        float dc = ck_test_max_abs_diff(cT, B.cT, N * U);
        CK_CHECK(dh <= 1e-4f && dc <= 1e-4f,
                 "lstm forward N=%ld T=%ld C=%ld U=%ld vs naive: %g %g",
                 (long)N, (long)T, (long)C, (long)U, dh, dc);
        free(hT);
        free(cT);
    }

    forward(&c, &B);
    memset(B.dx, 0, (size_t)(N * T * C) * sizeof(float));
    if (B.dW) memset(B.dW, 0, (size_t)(C * G * U) * sizeof(float));
    memset(B.dR, 0, (size_t)(U * G * U) * sizeof(float));
    memset(B.db, 0, (size_t)(G * U) * sizeof(float));
    memset(B.dh0, 0, (size_t)(N * U) * sizeof(float));
    memset(B.dc0, 0, (size_t)(N * U) * sizeof(float));
    backward(&c, &B);
    check_direction(&c, &B, B.x, B.dx, N * T * C, "x");
    if (B.W) check_direction(&c, &B, B.W, B.dW, C * G * U, "W");
    check_direction(&c, &B, B.R, B.dR, U * G * U, "R");
    if (c.use_b) check_direction(&c, &B, B.b, B.db, G * U, "b");
    if (c.use_h0) {
        check_direction(&c, &B, B.h0, B.dh0, N * U, "h0");
        if (c.kind == K_LSTM)
            check_direction(&c, &B, B.c0, B.dc0, N * U, "c0");
    }

    float *ptrs[] = {B.x, B.W, B.R, B.b, B.h0, B.c0, B.mask, B.rd, B.hseq, B.hT,
                     B.cT, B.cache, B.dhseq, B.dhT, B.dcT, B.dx, B.dW, B.dR,
                     B.db, B.dh0, B.dc0, B.ws};
    for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) free(ptrs[i]);
}

void ck_test_recurrent(void) {
    static const int64_t shapes[][4] = {/* N, T, C, U */
        {1, 1, 1, 1}, {2, 3, 3, 2}, {3, 1, 0, 4}, {1, 5, 2, 3},
        {5, 4, 7, 9}, {37, 3, 5, 40}, {64, 2, 5, 200} /* unit blocks */};
    static const int acts[][2] = {{CK_ACT_TANH, CK_ACT_SIGMOID},
                                  {CK_ACT_TANH, CK_ACT_HARD_SIGMOID},
                                  {CK_ACT_SIGMOID, CK_ACT_TANH}, /* smooth */
                                  {CK_ACT_LINEAR, CK_ACT_LINEAR}};
    for (int kind = 0; kind < 3; kind++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            for (int variant = 0; variant < 4; variant++) {
                rcase c = {kind, shapes[s][0], shapes[s][1], shapes[s][2],
                           shapes[s][3], variant & 1, acts[variant][0],
                           acts[variant][1], variant != 3, variant != 2,
                           variant >= 1, variant != 1, 0, 0, 0};
                one(c);
                if (variant == 1 || variant == 2) {
                    c.use_rd = 1; /* with h0 (1); smooth, no h0 (2) */
                    one(c);
                }
                if (kind == K_GRU && variant == 1) {
                    c.rdcarry = 1; /* Keras 2.2's implementation=2 */
                    one(c);
                }
                if (variant == 1 && s < 5) { /* the caller projected x */
                    c.no_w = 1;
                    c.C = gates_of(kind) * c.U;
                    one(c);
                }
            }
    /* T = 0: the final state is the initial one */
    float h0[2] = {0.5f, -1.0f}, c0[2] = {2.0f, 3.0f}, hT[2], cT[2];
    float dummy[1] = {0.0f};
    ck_lstm_forward(NULL, hT, cT, dummy, dummy, dummy, dummy, NULL, h0, c0,
                    NULL, NULL, 1, 0, 1, 2, 0, CK_ACT_TANH, CK_ACT_SIGMOID);
    CK_CHECK(hT[0] == 0.5f && hT[1] == -1.0f && cT[0] == 2.0f && cT[1] == 3.0f,
             "lstm T=0 must return the initial state");
}
