# Declarations of the C kernels (src/kernels/ckeras_kernels.h), in header
# order. Declarations only: the wrappers live in _kernels.pyx.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "ckeras_kernels.h" nogil:
    void ck_init()
    void ck_set_num_threads(int n)
    int ck_get_num_threads()
    int ck_available_cores()

    enum:
        CK_NO_TRANS
        CK_TRANS
    void ck_sgemm(int transa, int transb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc)
    void ck_sgemm_ref(int transa, int transb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda,
                      const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc)

    enum:
        CK_ACT_LINEAR
        CK_ACT_RELU
        CK_ACT_ELU
        CK_ACT_SELU
        CK_ACT_SOFTPLUS
        CK_ACT_SOFTSIGN
        CK_ACT_SIGMOID
        CK_ACT_HARD_SIGMOID
        CK_ACT_TANH
        CK_ACT_SOFTMAX
        CK_ACT_COUNT
    void ck_activation_forward(float *y, const float *x, int64_t rows,
                               int64_t cols, int act, float alpha)
    void ck_activation_backward(float *dx, const float *dy, const float *y,
                                int64_t rows, int64_t cols, int act,
                                float alpha)

    void ck_dropout_forward(float *y, float *mask, const float *x, int64_t n,
                            float rate, uint64_t seed)

    void ck_dense_forward(float *y, const float *x, const float *W,
                          const float *b, int64_t N, int64_t C, int64_t U,
                          int act, float alpha)
    int64_t ck_dense_workspace_size(int64_t N, int64_t C, int64_t U)
    void ck_dense_backward(float *dx, float *dW, float *db, const float *dy,
                           const float *x, const float *W, const float *y,
                           int64_t N, int64_t C, int64_t U, int act,
                           float alpha, float *workspace)

    void ck_softmax_xent_forward(float *loss, float *probs, const float *z,
                                 const float *t, int64_t N, int64_t C,
                                 float eps)
    void ck_softmax_xent_backward(float *dz, const float *dloss,
                                  const float *probs, const float *t,
                                  int64_t N, int64_t C, float eps)
    void ck_bce_forward(float *loss, const float *p, const float *t,
                        int64_t N, int64_t C, float eps)
    void ck_bce_backward(float *dp, const float *dloss, const float *p,
                         const float *t, int64_t N, int64_t C, float eps)
    void ck_sigmoid_bce_forward(float *loss, float *probs, const float *z,
                                const float *t, int64_t N, int64_t C,
                                float eps)
    void ck_sigmoid_bce_backward(float *dz, const float *dloss,
                                 const float *probs, const float *t,
                                 int64_t N, int64_t C, float eps)
    void ck_mse_forward(float *loss, const float *yp, const float *yt,
                        int64_t N, int64_t C)
    void ck_mse_backward(float *dyp, const float *dloss, const float *yp,
                         const float *yt, int64_t N, int64_t C)

    void ck_sgd_update(float *p, float *m, const float *g, int64_t n,
                       float lr, float momentum, int nesterov)
    void ck_rmsprop_update(float *p, float *a, const float *g, int64_t n,
                           float lr, float rho, float eps)
    void ck_rmsprop_update_rows(float *p, float *a, const float *values,
                                const int64_t *rowptr, const int64_t *order,
                                int64_t V, int64_t D, float lr, float rho,
                                float eps)
    void ck_adagrad_update(float *p, float *a, const float *g, int64_t n,
                           float lr, float eps)
    void ck_adadelta_update(float *p, float *a, float *d, const float *g,
                            int64_t n, float lr, float rho, float eps)
    void ck_adam_update(float *p, float *m, float *v, float *vhat,
                        const float *g, int64_t n, float lr_t, float beta1,
                        float beta2, float eps)

    double ck_fma_peak_gflops(int64_t iters)

    int64_t ck_lstm_cache_size(int64_t N, int64_t T, int64_t U)
    int64_t ck_lstm_workspace_size(int64_t N, int64_t T, int64_t C,
                                   int64_t U)
    void ck_lstm_forward(float *hseq, float *hT, float *cT, float *cache,
                         const float *x, const float *W, const float *R,
                         const float *b, const float *h0, const float *c0,
                         const float *mask, const float *rdmask, int64_t N,
                         int64_t T, int64_t C, int64_t U, int go_backwards,
                         int act, int ract)
    void ck_lstm_backward(float *dx, float *dW, float *dR, float *db,
                          float *dh0, float *dc0, const float *dhseq,
                          const float *dhT, const float *dcT, const float *x,
                          const float *W, const float *R, const float *mask,
                          const float *rdmask, const float *cache, int64_t N, int64_t T, int64_t C,
                          int64_t U, int go_backwards, int act, int ract,
                          float *workspace)
    int64_t ck_gru_cache_size(int64_t N, int64_t T, int64_t U)
    int64_t ck_gru_workspace_size(int64_t N, int64_t T, int64_t C, int64_t U)
    void ck_gru_forward(float *hseq, float *hT, float *cache, const float *x,
                        const float *W, const float *R, const float *b,
                        const float *h0, const float *mask,
                        const float *rdmask, int64_t N, int64_t T, int64_t C,
                        int64_t U, int go_backwards, int act, int ract,
                        int rdcarry)
    void ck_gru_backward(float *dx, float *dW, float *dR, float *db,
                         float *dh0, const float *dhseq, const float *dhT,
                         const float *x, const float *W, const float *R,
                         const float *mask, const float *rdmask,
                         const float *cache, int64_t N, int64_t T, int64_t C,
                         int64_t U, int go_backwards, int act, int ract,
                         int rdcarry, float *workspace)
    int64_t ck_simple_rnn_cache_size(int64_t N, int64_t T, int64_t U)
    int64_t ck_simple_rnn_workspace_size(int64_t N, int64_t T, int64_t C,
                                         int64_t U)
    void ck_simple_rnn_forward(float *hseq, float *hT, float *cache,
                               const float *x, const float *W, const float *R,
                               const float *b, const float *h0,
                               const float *mask, const float *rdmask,
                               int64_t N, int64_t T, int64_t C, int64_t U,
                               int go_backwards, int act)
    void ck_simple_rnn_backward(float *dx, float *dW, float *dR, float *db,
                                float *dh0, const float *dhseq,
                                const float *dhT, const float *x,
                                const float *W, const float *R,
                                const float *mask, const float *rdmask,
                                const float *cache, int64_t N, int64_t T,
                                int64_t C, int64_t U, int go_backwards,
                                int act, float *workspace)

    void ck_embedding_forward(float *out, const float *table,
                              const int64_t *idx, int64_t n_idx, int64_t V,
                              int64_t D)
    void ck_embedding_backward(float *dtable, const float *dout,
                               const int64_t *idx, int64_t n_idx, int64_t V,
                               int64_t D)
    ctypedef struct ck_conv_geom:
        int64_t N, H, W, C
        int64_t OH, OW
        int64_t kh, kw
        int64_t stride_h, stride_w
        int64_t dilation_h, dilation_w
        int64_t pad_top, pad_left
        int64_t channels_first
    void ck_im2col(float *cols, const float *x, const ck_conv_geom *g)
    void ck_col2im(float *dx, const float *dcols, const ck_conv_geom *g)
    int64_t ck_conv2d_workspace_size(const ck_conv_geom *g, int64_t K)
    void ck_conv2d_forward(float *y, const float *x, const float *W,
                           const float *b, const ck_conv_geom *g, int64_t K,
                           int act, float alpha, float *workspace)
    void ck_conv2d_backward(float *dx, float *dW, float *db, const float *dy,
                            const float *x, const float *W, const float *y,
                            const ck_conv_geom *g, int64_t K, int act,
                            float alpha, float *workspace)
    int64_t ck_conv2d_transpose_workspace_size(const ck_conv_geom *g,
                                               int64_t K)
    void ck_conv2d_transpose_forward(float *y, const float *x, const float *W,
                                     const float *b, const ck_conv_geom *g,
                                     int64_t K, int act, float alpha,
                                     float *workspace)
    void ck_conv2d_transpose_backward(float *dx, float *dW, float *db,
                                      const float *dy, const float *x,
                                      const float *W, const float *y,
                                      const ck_conv_geom *g, int64_t K,
                                      int act, float alpha, float *workspace)
    int64_t ck_depthwise_conv2d_workspace_size(const ck_conv_geom *g,
                                               int64_t M)
    void ck_depthwise_conv2d_forward(float *y, const float *x, const float *W,
                                     const float *b, const ck_conv_geom *g,
                                     int64_t M)
    void ck_depthwise_conv2d_backward(float *dx, float *dW, float *db,
                                      const float *dy, const float *x,
                                      const float *W, const ck_conv_geom *g,
                                      int64_t M, float *workspace)
    void ck_max_pool2d_forward(float *y, const float *x,
                               const ck_conv_geom *g)
    void ck_max_pool2d_backward(float *dx, const float *dy, const float *x,
                                const ck_conv_geom *g)
    void ck_avg_pool2d_forward(float *y, const float *x,
                               const ck_conv_geom *g)
    void ck_avg_pool2d_backward(float *dx, const float *dy,
                                const ck_conv_geom *g)

    void *ck_pool_malloc(size_t n)
    void *ck_pool_calloc(size_t count, size_t size)
    void *ck_pool_realloc(void *p, size_t n)
    void ck_pool_free(void *p)
    void ck_pool_release()
    void ck_pool_set_cap(size_t bytes)
    void ck_pool_stats(int64_t out[4])
