/* Loss kernels on edge shapes (exact-size buffers), against double
 * precision C loops of the same formulas. */
#include "test_util.h"

static double clampd(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static void one(int64_t N, int64_t C) {
    const float eps = 1e-7f, hi = 1.0f - eps;
    int64_t n = N * C;
    float *z = ck_test_alloc(n), *t = ck_test_alloc(n), *p = ck_test_alloc(n);
    float *probs = ck_test_alloc(n), *g = ck_test_alloc(n), *gr = ck_test_alloc(n);
    float *loss = ck_test_alloc(N), *lr = ck_test_alloc(N), *dl = ck_test_alloc(N);
    ck_test_fill(z, n, 1, -20.0f, 20.0f);
    ck_test_fill(t, n, 2, 0.0f, 1.0f);
    ck_test_fill(p, n, 3, 0.0f, 1.0f);
    ck_test_fill(dl, N, 4, 0.0f, 1.0f);
    if (n > 2) { p[0] = 0.0f; p[1] = 1.0f; p[2] = eps; }
    double llo = log((double)eps), lhi = log((double)hi);

    /* softmax cross-entropy */
    ck_softmax_xent_forward(loss, probs, z, t, N, C, eps);
    float worst_l = 0, worst_p = 0;
    for (int64_t i = 0; i < N; i++) {
        const float *zr = z + i * C, *tr = t + i * C;
        double m = -INFINITY, s = 0, l = 0;
        for (int64_t j = 0; j < C; j++) m = zr[j] > m ? zr[j] : m;
        for (int64_t j = 0; j < C; j++) s += exp((double)(zr[j] - (float)m));
        for (int64_t j = 0; j < C; j++) {
            double d = (double)(zr[j] - (float)m);
            double pj = exp(d) / s;
            float e = (float)fabs(probs[i * C + j] - pj) / (float)(pj + 1e-30);
            if (!(e <= worst_p)) worst_p = e;
            l -= tr[j] * clampd(d - log(s), llo, lhi);
        }
        float e = (float)fabs(loss[i] - l) / (float)(1 + fabs(l));
        if (!(e <= worst_l)) worst_l = e;
    }
    CK_CHECK(worst_p <= 1e-6f && worst_l <= 2e-6f,
             "softmax_xent forward %ldx%ld: probs %g loss %g", (long)N,
             (long)C, worst_p, worst_l);
    ck_test_fill(g, n, 5, -1.0f, 1.0f);
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t j = 0; j < C; j++) {
            float q = probs[i * C + j];
            s += q >= eps && q <= hi ? t[i * C + j] : 0;
        }
        for (int64_t j = 0; j < C; j++) {
            float q = probs[i * C + j];
            double mt = q >= eps && q <= hi ? t[i * C + j] : 0;
            gr[i * C + j] = (float)(g[i * C + j] + dl[i] * (q * s - mt));
        }
    }
    ck_softmax_xent_backward(g, dl, probs, t, N, C, eps);
    float d = ck_test_max_abs_diff(g, gr, n);
    CK_CHECK(d <= 1e-6f, "softmax_xent backward %ldx%ld: %g", (long)N, (long)C, d);

    /* bce on probabilities, and the fused sigmoid variant */
    ck_bce_forward(loss, p, t, N, C, eps);
    ck_sigmoid_bce_forward(lr, probs, z, t, N, C, eps);
    float worst_b = 0, worst_s = 0;
    double L = log((double)hi / (double)eps);
    for (int64_t i = 0; i < N; i++) {
        double sb = 0, ss = 0;
        for (int64_t j = 0; j < C; j++) {
            double tj = t[i * C + j];
            float pc = p[i * C + j] < eps ? eps : p[i * C + j] > hi ? hi : p[i * C + j];
            double l = log((double)pc / (double)(1.0f - pc));
            sb += (l > 0 ? l : 0) - l * tj + log1p(exp(-fabs(l)));
            double zc = clampd(z[i * C + j], -L, L);
            ss += (zc > 0 ? zc : 0) - zc * tj + log1p(exp(-fabs(zc)));
        }
        float e1 = (float)(fabs(loss[i] - sb / C) / (1 + sb / C));
        float e2 = (float)(fabs(lr[i] - ss / C) / (1 + ss / C));
        if (!(e1 <= worst_b)) worst_b = e1;
        if (!(e2 <= worst_s)) worst_s = e2;
    }
    CK_CHECK(worst_b <= 2e-6f && worst_s <= 2e-6f,
             "bce forward %ldx%ld: %g, sigmoid_bce %g", (long)N, (long)C,
             worst_b, worst_s);
    ck_test_fill(g, n, 6, -1.0f, 1.0f);
    for (int64_t k = 0; k < n; k++) {
        float v = p[k];
        double gk = (v >= eps && v <= hi)
                        ? dl[k / C] / C * (v - (double)t[k]) / ((double)v * (1.0f - v))
                        : 0;
        gr[k] = (float)(g[k] + gk);
    }
    ck_bce_backward(g, dl, p, t, N, C, eps);
    float worst = 0;
    for (int64_t k = 0; k < n; k++) {
        float e = fabsf(g[k] - gr[k]) / (1.0f + fabsf(gr[k]));
        if (!(e <= worst)) worst = e;
    }
    CK_CHECK(worst <= 2e-6f, "bce backward %ldx%ld: %g", (long)N, (long)C, worst);
    ck_test_fill(g, n, 7, -1.0f, 1.0f);
    for (int64_t k = 0; k < n; k++) {
        float v = probs[k];
        gr[k] = (float)(g[k] + ((v >= eps && v <= hi)
                                    ? dl[k / C] / C * (v - (double)t[k]) : 0));
    }
    ck_sigmoid_bce_backward(g, dl, probs, t, N, C, eps);
    d = ck_test_max_abs_diff(g, gr, n);
    CK_CHECK(d <= 1e-6f, "sigmoid_bce backward %ldx%ld: %g", (long)N, (long)C, d);

    /* mse */
    ck_mse_forward(loss, z, t, N, C);
    worst = 0;
    for (int64_t i = 0; i < N; i++) {
        double s = 0;
        for (int64_t j = 0; j < C; j++) {
            double e = (double)z[i * C + j] - t[i * C + j];
            s += e * e;
        }
        float e = (float)(fabs(loss[i] - s / C) / (s / C + 1e-30));
        if (!(e <= worst)) worst = e;
    }
    CK_CHECK(worst <= 1e-6f, "mse forward %ldx%ld: %g", (long)N, (long)C, worst);
    ck_test_fill(g, n, 8, -1.0f, 1.0f);
    for (int64_t k = 0; k < n; k++)
        gr[k] = (float)(g[k] + dl[k / C] * 2.0 * ((double)z[k] - t[k]) / C);
    ck_mse_backward(g, dl, z, t, N, C);
    d = ck_test_max_abs_diff(g, gr, n);
    CK_CHECK(d <= 1e-5f, "mse backward %ldx%ld: %g", (long)N, (long)C, d);

    free(z); free(t); free(p); free(probs); free(g); free(gr);
    free(loss); free(lr); free(dl);
}

void ck_test_losses(void) {
    static const int64_t shapes[][2] = {
        {1, 1}, {1, 7}, {5, 1}, {3, 33}, {17, 257}, {2, 40000}, {9000, 3},
        {64, 1000}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        one(shapes[s][0], shapes[s][1]);
    /* empty batch: nothing is touched */
    ck_softmax_xent_forward(NULL, NULL, NULL, NULL, 0, 5, 1e-7f);
    ck_mse_backward(NULL, NULL, NULL, NULL, 0, 5);
}
