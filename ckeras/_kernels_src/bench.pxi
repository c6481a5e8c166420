# Benchmark support (src/kernels/bench.c) and timing loops run inside C.
#
# Each bench_* function validates its arrays by making one call of the
# kernel's own binding (the checks of checks.pxi; that call is also the
# warm-up), then runs the kernel `iters` times back to back in a nogil
# loop timed with CLOCK_MONOTONIC and returns the mean seconds per call.
# Repeats and medians are the caller's (ckeras/bench/kernels.py), so that
# it can interleave its peers' timings with ours.
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC


ctypedef void (*_bench_body)(const void *ctx) noexcept nogil


cdef double _mono_seconds() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>ts.tv_sec + 1e-9 * <double>ts.tv_nsec


cdef double _time_body(_bench_body body, const void *ctx, object iters) except -1:
    """Mean seconds per call of body(ctx) over `iters` back-to-back calls."""
    cdef int64_t n = check_positive(iters, "iters"), i
    cdef double t0, t1
    with nogil:
        t0 = _mono_seconds()
        for i in range(n):
            body(ctx)
        t1 = _mono_seconds()
    return (t1 - t0) / <double>n


def fma_peak_gflops(iters):
    """GFLOP/s of a register-only FMA loop of `iters` steps on every pool
    thread: the machine's peak for the current thread count."""
    cdef int64_t n = check_positive(iters, "iters")
    cdef double g
    with nogil:
        g = ck_fma_peak_gflops(n)
    return g


# ---- GEMM: a sequence of up to _BENCH_MAX_GEMMS ck_sgemm calls -------------

cdef enum:
    _BENCH_MAX_GEMMS = 4

cdef struct _gemm_call:
    int transa, transb
    int64_t M, N, K, lda, ldb, ldc
    float alpha, beta
    const float *A
    const float *B
    float *C

cdef struct _gemm_seq:
    int count
    _gemm_call calls[_BENCH_MAX_GEMMS]


cdef void _gemm_seq_body(const void *vctx) noexcept nogil:
    cdef const _gemm_seq *s = <const _gemm_seq *>vctx
    cdef int i
    for i in range(s.count):
        ck_sgemm(s.calls[i].transa, s.calls[i].transb, s.calls[i].M,
                 s.calls[i].N, s.calls[i].K, s.calls[i].alpha, s.calls[i].A,
                 s.calls[i].lda, s.calls[i].B, s.calls[i].ldb,
                 s.calls[i].beta, s.calls[i].C, s.calls[i].ldc)


def bench_sgemm(calls, iters):
    """Mean seconds of one pass over `calls`, a list of up to 4 tuples
    (A, B, C, trans_a, trans_b, beta), each C = op(A) @ op(B) + beta * C
    through ck_sgemm, timed over `iters` passes."""
    if not 1 <= len(calls) <= _BENCH_MAX_GEMMS:
        raise ValueError(
            f"calls must hold 1 to {_BENCH_MAX_GEMMS} GEMMs, got {len(calls)}")
    cdef _gemm_seq seq
    cdef cnp.ndarray a, b, c
    seq.count = len(calls)
    for i, (A, B, C, trans_a, trans_b, beta) in enumerate(calls):
        if C is None:
            raise ValueError(f"calls[{i}]: pass an output C to time into")
        _sgemm(False, A, B, C, trans_a, trans_b, 1.0, beta)  # checks, warm-up
        a, b, c = A, B, C
        seq.calls[i].transa = 1 if trans_a else 0
        seq.calls[i].transb = 1 if trans_b else 0
        seq.calls[i].M = c.shape[0]
        seq.calls[i].N = c.shape[1]
        seq.calls[i].K = a.shape[0] if trans_a else a.shape[1]
        seq.calls[i].lda = _leading_dim(a, "A")
        seq.calls[i].ldb = _leading_dim(b, "B")
        seq.calls[i].ldc = _leading_dim(c, "C")
        seq.calls[i].alpha = 1.0
        seq.calls[i].beta = beta
        seq.calls[i].A = _fptr(a)
        seq.calls[i].B = _fptr(b)
        seq.calls[i].C = _fptr(c)
    return _time_body(_gemm_seq_body, &seq, iters)


# ---- optimizer updates: one in-place step over a parameter -----------------

cdef enum _OptKind:
    _OPT_SGD, _OPT_RMSPROP, _OPT_ADAGRAD, _OPT_ADADELTA, _OPT_ADAM

cdef struct _opt_step:
    int kind, nesterov
    float *p
    float *s1
    float *s2
    const float *g
    int64_t n
    float lr, rho, beta2, eps  # rho: momentum, rho or beta1


cdef void _opt_body(const void *vctx) noexcept nogil:
    cdef const _opt_step *s = <const _opt_step *>vctx
    if s.kind == _OPT_SGD:
        ck_sgd_update(s.p, s.s1, s.g, s.n, s.lr, s.rho, s.nesterov)
    elif s.kind == _OPT_RMSPROP:
        ck_rmsprop_update(s.p, s.s1, s.g, s.n, s.lr, s.rho, s.eps)
    elif s.kind == _OPT_ADAGRAD:
        ck_adagrad_update(s.p, s.s1, s.g, s.n, s.lr, s.eps)
    elif s.kind == _OPT_ADADELTA:
        ck_adadelta_update(s.p, s.s1, s.s2, s.g, s.n, s.lr, s.rho, s.eps)
    else:
        ck_adam_update(s.p, s.s1, s.s2, NULL, s.g, s.n, s.lr, s.rho, s.beta2,
                       s.eps)


# name -> (binding, kind, its momentum/rho/beta1 keyword)
_BENCH_OPTIMIZERS = {
    "sgd": (sgd_update, _OPT_SGD, "momentum"),
    "rmsprop": (rmsprop_update, _OPT_RMSPROP, "rho"),
    "adagrad": (adagrad_update, _OPT_ADAGRAD, None),
    "adadelta": (adadelta_update, _OPT_ADADELTA, "rho"),
    "adam": (adam_update, _OPT_ADAM, "beta1"),
}


def bench_optimizer(name, p, g, states, kwargs, iters):
    """Mean seconds of one in-place <name>_update(p, g, *states, **kwargs)
    step (name: sgd, rmsprop, adagrad, adadelta or adam; states: its one
    or two state buffers; kwargs: every hyper-parameter of the binding
    but nesterov, by keyword), timed over `iters` steps."""
    if name not in _BENCH_OPTIMIZERS:
        raise ValueError(f"name must be one of {sorted(_BENCH_OPTIMIZERS)}, "
                         f"got {name!r}")
    binding, kind, rho_key = _BENCH_OPTIMIZERS[name]
    binding(p, g, *states, **kwargs)  # checks every argument; warm-up
    cdef _opt_step s
    s.kind = kind
    s.nesterov = 1 if kwargs.get("nesterov", False) else 0
    s.p = _fptr(<cnp.ndarray>p)
    s.g = _fptr(<cnp.ndarray>g)
    s.s1 = _fptr(<cnp.ndarray>states[0]) if len(states) > 0 else NULL
    s.s2 = _fptr(<cnp.ndarray>states[1]) if len(states) > 1 else NULL
    s.n = (<cnp.ndarray>p).size
    s.lr = kwargs["lr_t"] if kind == _OPT_ADAM else kwargs["lr"]
    s.rho = kwargs[rho_key] if rho_key else 0.0
    s.beta2 = kwargs["beta2"] if kind == _OPT_ADAM else 0.0
    s.eps = kwargs["eps"] if kind != _OPT_SGD else 0.0
    return _time_body(_opt_body, &s, iters)


# ---- fused softmax cross-entropy: forward + backward -----------------------

cdef struct _xent_step:
    float *loss
    float *probs
    float *dz
    const float *z
    const float *t
    const float *dloss
    int64_t N, C
    float eps


cdef void _xent_body(const void *vctx) noexcept nogil:
    cdef const _xent_step *s = <const _xent_step *>vctx
    ck_softmax_xent_forward(s.loss, s.probs, s.z, s.t, s.N, s.C, s.eps)
    ck_softmax_xent_backward(s.dz, s.dloss, s.probs, s.t, s.N, s.C, s.eps)


def bench_softmax_xent(z, t, loss, probs, dloss, dz, iters, eps=1e-7):
    """Mean seconds of softmax_xent_forward(z, t, eps, loss=loss,
    probs=probs) then softmax_xent_backward(dloss, probs, t, eps, dz=dz),
    timed over `iters` calls of the pair. dz accumulates over the calls."""
    softmax_xent_forward(z, t, eps, loss=loss, probs=probs)  # checks; warm-up
    softmax_xent_backward(dloss, probs, t, eps, dz=dz)
    cdef _xent_step s
    s.loss = _fptr(<cnp.ndarray>loss)
    s.probs = _fptr(<cnp.ndarray>probs)
    s.dz = _fptr(<cnp.ndarray>dz)
    s.z = _fptr(<cnp.ndarray>z)
    s.t = _fptr(<cnp.ndarray>t)
    s.dloss = _fptr(<cnp.ndarray>dloss)
    s.N = (<cnp.ndarray>z).shape[0]
    s.C = (<cnp.ndarray>z).shape[1]
    s.eps = eps
    return _time_body(_xent_body, &s, iters)


# ---- Dense: one forward + backward step ------------------------------------

cdef struct _dense_step:
    float *y
    float *dx
    float *dW
    float *db
    float *workspace
    const float *x
    const float *W
    const float *b
    const float *dy
    int64_t N, C, U
    int act
    float alpha


cdef void _dense_body(const void *vctx) noexcept nogil:
    cdef const _dense_step *s = <const _dense_step *>vctx
    ck_dense_forward(s.y, s.x, s.W, s.b, s.N, s.C, s.U, s.act, s.alpha)
    ck_dense_backward(s.dx, s.dW, s.db, s.dy, s.x, s.W, s.y, s.N, s.C, s.U,
                      s.act, s.alpha, s.workspace)


def bench_dense(x, W, b, dy, y, dx, dW, db, workspace, activation, iters,
                alpha=1.0):
    """Mean seconds of one Dense step, dense_forward(x, W, b, activation,
    out=y) then dense_backward(dy, x, W, y, ..., dx=dx, dW=dW, db=db,
    workspace=workspace), timed over `iters` steps. b and db, or dx, may
    be None. The gradients accumulate over the steps."""
    dense_forward(x, W, b, activation, alpha, out=y)  # checks; warm-up
    dense_backward(dy, x, W, y, activation, alpha, has_bias=b is not None,
                   need_dx=dx is not None, dx=dx, dW=dW, db=db,
                   workspace=workspace)
    cdef _dense_step s
    s.y = _fptr(<cnp.ndarray>y)
    s.dx = _fptr_or_null(dx)
    s.dW = _fptr(<cnp.ndarray>dW)
    s.db = _fptr_or_null(db)
    s.workspace = _fptr(<cnp.ndarray>workspace)
    s.x = _fptr(<cnp.ndarray>x)
    s.W = _fptr(<cnp.ndarray>W)
    s.b = _fptr_or_null(b)
    s.dy = _fptr(<cnp.ndarray>dy)
    s.N = (<cnp.ndarray>x).shape[0]
    s.C = (<cnp.ndarray>x).shape[1]
    s.U = (<cnp.ndarray>W).shape[1]
    s.act = activation_code(activation)
    s.alpha = alpha
    return _time_body(_dense_body, &s, iters)


# ---- Conv2D: one forward + backward step -----------------------------------

cdef struct _conv_step:
    float *y
    float *dx
    float *dW
    float *db
    float *workspace
    const float *x
    const float *W
    const float *b
    const float *dy
    ck_conv_geom g
    int64_t K
    int act
    float alpha


cdef void _conv_body(const void *vctx) noexcept nogil:
    cdef const _conv_step *s = <const _conv_step *>vctx
    ck_conv2d_forward(s.y, s.x, s.W, s.b, &s.g, s.K, s.act, s.alpha,
                      s.workspace)
    ck_conv2d_backward(s.dx, s.dW, s.db, s.dy, s.x, s.W, s.y, &s.g, s.K,
                       s.act, s.alpha, s.workspace)


def bench_conv2d(x, W, b, dy, y, dx, dW, db, workspace, activation, iters,
                 strides=(1, 1), padding="valid", dilation=(1, 1),
                 data_format="channels_last", alpha=1.0):
    """Mean seconds of one Conv2D step, conv2d_forward(..., out=y) then
    conv2d_backward(dy, x, W, y, ..., dx=dx, dW=dW, db=db,
    workspace=workspace), timed over `iters` steps. b and db, or dx, may
    be None. The gradients accumulate over the steps."""
    conv2d_forward(x, W, b, strides, padding, dilation, data_format,
                   activation, alpha, out=y, workspace=workspace)  # checks
    conv2d_backward(dy, x, W, y, strides, padding, dilation, data_format,
                    activation, alpha, has_bias=b is not None,
                    need_dx=dx is not None, dx=dx, dW=dW, db=db,
                    workspace=workspace)
    cdef _conv_step s
    s.g = _geometry(_shp(<cnp.ndarray>x), (W.shape[0], W.shape[1]), strides,
                    padding, dilation, data_format, False)
    s.y = _fptr(<cnp.ndarray>y)
    s.dx = _fptr_or_null(dx)
    s.dW = _fptr(<cnp.ndarray>dW)
    s.db = _fptr_or_null(db)
    s.workspace = _fptr(<cnp.ndarray>workspace)
    s.x = _fptr(<cnp.ndarray>x)
    s.W = _fptr(<cnp.ndarray>W)
    s.b = _fptr_or_null(b)
    s.dy = _fptr(<cnp.ndarray>dy)
    s.K = W.shape[3]
    s.act = activation_code(activation)
    s.alpha = alpha
    return _time_body(_conv_body, &s, iters)


# ---- LSTM: one forward over a whole sequence -------------------------------

cdef struct _lstm_fwd:
    float *hseq
    float *hT
    float *cT
    float *cache
    const float *x
    const float *W
    const float *R
    const float *b
    int64_t N, T, C, U
    int act, ract


cdef void _lstm_fwd_body(const void *vctx) noexcept nogil:
    cdef const _lstm_fwd *s = <const _lstm_fwd *>vctx
    ck_lstm_forward(s.hseq, s.hT, s.cT, s.cache, s.x, s.W, s.R, s.b, NULL,
                    NULL, NULL, NULL, s.N, s.T, s.C, s.U, 0, s.act, s.ract)


def bench_lstm_forward(x, kernel, recurrent_kernel, bias, iters,
                       activation="tanh", recurrent_activation="hard_sigmoid"):
    """Mean seconds of one ck_lstm_forward over the whole sequence x
    (N, T, C) with zero initial states and no mask, hseq wanted, timed
    over `iters` calls into buffers allocated once (the cache too)."""
    hseq, hT, cT, saved = lstm_forward(x, kernel, recurrent_kernel, bias,
                                       activation=activation,
                                       recurrent_activation=recurrent_activation)
    cdef _lstm_fwd s
    s.hseq = _fptr(<cnp.ndarray>hseq)
    s.hT = _fptr(<cnp.ndarray>hT)
    s.cT = _fptr(<cnp.ndarray>cT)
    s.cache = _fptr(<cnp.ndarray>saved.data)
    s.x = _fptr(<cnp.ndarray>x)
    s.W = _fptr(<cnp.ndarray>kernel)
    s.R = _fptr(<cnp.ndarray>recurrent_kernel)
    s.b = _fptr_or_null(bias)
    s.N, s.T, s.C, s.U = saved.shape
    s.act, s.ract = saved.act, saved.ract
    return _time_body(_lstm_fwd_body, &s, iters)
