# Optimizer updates (src/kernels/optimizers.c): one fused pass over a
# parameter, in place, Keras 2's formulas. Every array is float32,
# C-contiguous, of the parameter's shape (any rank). p and the state
# buffers are updated in place; g is read only and may share memory with
# none of them; no two of p and the state buffers may share memory.

cdef double _FLT_MAX = 3.4028234663852886e38


cdef float _check_nonneg(object value, str name) except? -1:
    """A finite float32 scalar >= 0 (learning rates, momentum, epsilon)."""
    cdef double x = float(value)
    if not (0.0 <= x <= _FLT_MAX):
        raise ValueError(
            f"{name} must be a finite number >= 0, got {value!r}")
    return <float>x


cdef float _check_decay(object value, str name) except? -1:
    """A decay factor in [0, 1) (rho, beta_1, beta_2), also as float32."""
    cdef double x = float(value)
    if not (0.0 <= x < 1.0) or <float>x >= 1.0:
        raise ValueError(
            f"{name} must be in [0, 1), got {value!r}"
            + (" (it rounds to 1 in float32)" if 0.0 <= x < 1.0 else ""))
    return <float>x


cdef cnp.ndarray _opt_param(object p):
    cdef cnp.ndarray a = _check_array(p, "p")
    return check_out(a, "p", _shp(a))


cdef cnp.ndarray _opt_grad(object g, cnp.ndarray p):
    cdef cnp.ndarray a = check_shape(check_in(g, "g"), "g", _shp(p))
    check_no_alias(a, "g", p, "p")
    return a


cdef cnp.ndarray _opt_state(object s, str name, cnp.ndarray p, cnp.ndarray g,
                            list others):
    """A state buffer of p's shape, writeable, sharing memory with none of
    p, g and the state buffers already checked (`others`: (name, array))."""
    if s is None:
        raise TypeError(
            f"{name} must be a float32 array of shape {_shp(p)}, got None; "
            f"pass numpy.zeros_like(p) before the first step")
    cdef cnp.ndarray a = check_out(_check_array(s, name), name, _shp(p))
    check_no_alias(a, name, p, "p")
    check_no_alias(a, name, g, "g")
    for other_name, other in others:
        check_no_alias(a, name, other, other_name)
    others.append((name, a))
    return a


def sgd_update(p, g, m, lr, momentum=0.0, nesterov=False):
    """Keras 2 SGD step, in place: v = momentum*m - lr*g; m = v;
    p += momentum*v - lr*g (nesterov) or p += v.

    m may be None only when momentum == 0 (then p -= lr*g).
    """
    cdef float flr = _check_nonneg(lr, "lr")
    cdef float fmom = _check_nonneg(momentum, "momentum")
    cdef cnp.ndarray pa = _opt_param(p)
    cdef cnp.ndarray ga = _opt_grad(g, pa)
    cdef cnp.ndarray ma = None
    if m is None:
        if fmom != 0.0:
            raise ValueError(
                f"m is None but momentum={momentum!r}: momentum needs a "
                f"velocity buffer; pass m=numpy.zeros_like(p)")
    else:
        ma = _opt_state(m, "m", pa, ga, [])
    cdef float *pp = _fptr(pa)
    cdef float *pm = _fptr_or_null(ma)
    cdef const float *pg = _fptr(ga)
    cdef int64_t n = pa.size
    cdef int nest = 1 if nesterov else 0
    with nogil:
        ck_sgd_update(pp, pm, pg, n, flr, fmom, nest)


def rmsprop_update(p, g, a, lr, rho=0.9, eps=1e-7):
    """Keras 2 RMSprop step, in place: a = rho*a + (1-rho)*g^2;
    p -= lr*g / (sqrt(a) + eps)."""
    cdef float flr = _check_nonneg(lr, "lr")
    cdef float frho = _check_decay(rho, "rho")
    cdef float feps = _check_nonneg(eps, "eps")
    cdef cnp.ndarray pa = _opt_param(p)
    cdef cnp.ndarray ga = _opt_grad(g, pa)
    cdef cnp.ndarray aa = _opt_state(a, "a", pa, ga, [])
    cdef float *pp = _fptr(pa)
    cdef float *pacc = _fptr(aa)
    cdef const float *pg = _fptr(ga)
    cdef int64_t n = pa.size
    with nogil:
        ck_rmsprop_update(pp, pacc, pg, n, flr, frho, feps)


def rmsprop_update_rows(p, indices, values, a, lr, rho=0.9, eps=1e-7):
    """rmsprop_update of a table p [V, D] whose gradient is values [n, D]
    scattered into rows indices [n] (ints in [0, V); a row named several
    times gets the sum, in index order): the bits of rmsprop_update with
    the dense gradient embedding_backward(values, indices, V) gives, while
    reading and writing only the accumulator a in the rows not named (an
    Embedding's step touches only the rows its batch used)."""
    cdef float flr = _check_nonneg(lr, "lr")
    cdef float frho = _check_decay(rho, "rho")
    cdef float feps = _check_nonneg(eps, "eps")
    cdef cnp.ndarray pa = _opt_param(p)
    if pa.ndim != 2:
        raise ValueError(f"p must be a 2-D table (rows, columns), got shape {_shp(pa)}")
    cdef int64_t V = pa.shape[0], D = pa.shape[1]
    r = np.asarray(indices)
    if r.ndim != 1 or r.dtype.kind not in "iu":
        raise TypeError(f"indices must be a 1-D integer array, got {r.dtype} with "
                        f"shape {r.shape}")
    if r.size and (r.min() < 0 or r.max() >= V):
        raise ValueError(f"indices must be in [0, {V}) (p has {V} rows), got values "
                         f"in [{r.min()}, {r.max()}]")
    cdef cnp.ndarray va = check_shape(check_in(values, "values"), "values",
                                      (r.size, D))
    check_no_alias(va, "values", pa, "p")
    cdef cnp.ndarray aa = _opt_state(a, "a", pa, va, [])
    cdef cnp.ndarray order = np.ascontiguousarray(np.argsort(r, kind="stable"),
                                                  dtype=np.int64)
    cdef cnp.ndarray rowptr = np.zeros(V + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=V), out=rowptr[1:])
    cdef float *pp = _fptr(pa)
    cdef float *pacc = _fptr(aa)
    cdef const float *pv = _fptr(va)
    cdef const int64_t *pr = <const int64_t *>cnp.PyArray_DATA(rowptr)
    cdef const int64_t *po = <const int64_t *>cnp.PyArray_DATA(order)
    with nogil:
        ck_rmsprop_update_rows(pp, pacc, pv, pr, po, V, D, flr, frho, feps)


def adagrad_update(p, g, a, lr, eps=1e-7):
    """Keras 2 Adagrad step, in place: a += g^2;
    p -= lr*g / (sqrt(a) + eps)."""
    cdef float flr = _check_nonneg(lr, "lr")
    cdef float feps = _check_nonneg(eps, "eps")
    cdef cnp.ndarray pa = _opt_param(p)
    cdef cnp.ndarray ga = _opt_grad(g, pa)
    cdef cnp.ndarray aa = _opt_state(a, "a", pa, ga, [])
    cdef float *pp = _fptr(pa)
    cdef float *pacc = _fptr(aa)
    cdef const float *pg = _fptr(ga)
    cdef int64_t n = pa.size
    with nogil:
        ck_adagrad_update(pp, pacc, pg, n, flr, feps)


def adadelta_update(p, g, a, d, lr=1.0, rho=0.95, eps=1e-7):
    """Keras 2 Adadelta step, in place: a = rho*a + (1-rho)*g^2;
    u = g*sqrt(d + eps)/sqrt(a + eps); p -= lr*u; d = rho*d + (1-rho)*u^2."""
    cdef float flr = _check_nonneg(lr, "lr")
    cdef float frho = _check_decay(rho, "rho")
    cdef float feps = _check_nonneg(eps, "eps")
    cdef cnp.ndarray pa = _opt_param(p)
    cdef cnp.ndarray ga = _opt_grad(g, pa)
    cdef list states = []
    cdef cnp.ndarray aa = _opt_state(a, "a", pa, ga, states)
    cdef cnp.ndarray da = _opt_state(d, "d", pa, ga, states)
    cdef float *pp = _fptr(pa)
    cdef float *pacc = _fptr(aa)
    cdef float *pd = _fptr(da)
    cdef const float *pg = _fptr(ga)
    cdef int64_t n = pa.size
    with nogil:
        ck_adadelta_update(pp, pacc, pd, pg, n, flr, frho, feps)


def adam_update(p, g, m, v, lr_t, beta1=0.9, beta2=0.999, eps=1e-7,
                vhat=None):
    """Keras 2 Adam step, in place: m = b1*m + (1-b1)*g;
    v = b2*v + (1-b2)*g^2; p -= lr_t*m / (sqrt(v) + eps).

    lr_t is the step's bias-corrected rate, lr*sqrt(1-b2^t)/(1-b1^t).
    With vhat (amsgrad): vhat = max(vhat, v) and sqrt(vhat) replaces
    sqrt(v).
    """
    cdef float flr = _check_nonneg(lr_t, "lr_t")
    cdef float fb1 = _check_decay(beta1, "beta1")
    cdef float fb2 = _check_decay(beta2, "beta2")
    cdef float feps = _check_nonneg(eps, "eps")
    cdef cnp.ndarray pa = _opt_param(p)
    cdef cnp.ndarray ga = _opt_grad(g, pa)
    cdef list states = []
    cdef cnp.ndarray ma = _opt_state(m, "m", pa, ga, states)
    cdef cnp.ndarray va = _opt_state(v, "v", pa, ga, states)
    cdef cnp.ndarray ha = None
    if vhat is not None:
        ha = _opt_state(vhat, "vhat", pa, ga, states)
    cdef float *pp = _fptr(pa)
    cdef float *pm = _fptr(ma)
    cdef float *pv = _fptr(va)
    cdef float *ph = _fptr_or_null(ha)
    cdef const float *pg = _fptr(ga)
    cdef int64_t n = pa.size
    with nogil:
        ck_adam_update(pp, pm, pv, ph, pg, n, flr, fb1, fb2, feps)
