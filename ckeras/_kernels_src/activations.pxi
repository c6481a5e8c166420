# Activations: y = act(x) and dx += dy * act'(y) (src/kernels/activations.c).
# rows = prod(shape[:-1]), cols = shape[-1]; softmax is over the last axis.


ACTIVATIONS = {
    'linear': CK_ACT_LINEAR,
    'relu': CK_ACT_RELU,
    'elu': CK_ACT_ELU,
    'selu': CK_ACT_SELU,
    'softplus': CK_ACT_SOFTPLUS,
    'softsign': CK_ACT_SOFTSIGN,
    'sigmoid': CK_ACT_SIGMOID,
    'hard_sigmoid': CK_ACT_HARD_SIGMOID,
    'tanh': CK_ACT_TANH,
    'softmax': CK_ACT_SOFTMAX,
}


cdef int activation_code(object name) except -1:
    """The C enum code (CK_ACT_*) of a Keras activation name."""
    code = ACTIVATIONS.get(name) if isinstance(name, str) else None
    if code is None:
        raise ValueError(
            f"unknown activation {name!r}; expected one of "
            f"{', '.join(repr(k) for k in ACTIVATIONS)}")
    return code


cdef cnp.ndarray _check_act_in(object x, str name):
    cdef cnp.ndarray a = check_in(x, name)
    if a.ndim < 1:
        raise ValueError(
            f"{name} must be at least 1-D (the last axis is the one softmax "
            f"normalises), got a 0-D array; pass numpy.atleast_1d({name})")
    return a


cdef void _rows_cols(cnp.ndarray a, int64_t *rows, int64_t *cols):
    cols[0] = a.shape[a.ndim - 1]
    rows[0] = 1
    for i in range(a.ndim - 1):
        rows[0] *= a.shape[i]


def activation_forward(x, activation, alpha=1.0, out=None):
    """y = act(x) for a Keras 2 activation name (softmax: last axis).

    x: float32, any rank >= 1, C-contiguous. alpha: elu's alpha (ignored
    by the others). out: optional output of x's shape; may be x itself (in
    place) but must not otherwise overlap x. Returns y.
    """
    cdef cnp.ndarray a = _check_act_in(x, "x")
    cdef int code = activation_code(activation)
    cdef float alpha_f = alpha
    cdef cnp.ndarray y = check_out(out, "out", _shp(a))
    # in place is allowed: same start, same shape, both C-contiguous means
    # the very same memory; any other overlap is refused
    if out is not None and _fptr(y) != _fptr(a):
        check_no_alias(y, "out", a, "x")
    cdef int64_t rows, cols
    _rows_cols(a, &rows, &cols)
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(a)
    with nogil:
        ck_activation_forward(py, px, rows, cols, code, alpha_f)
    return y


def activation_backward(dy, y, activation, alpha=1.0, dx=None):
    """dx += dy * act'(x), written through the forward output y.

    dy, y: float32 of one shape (rank >= 1), C-contiguous. dx: optional
    gradient buffer of that shape, accumulated into (fresh zeros when
    None); must not share memory with dy or y. Returns dx.
    """
    cdef cnp.ndarray g = _check_act_in(dy, "dy")
    cdef cnp.ndarray a = _check_act_in(y, "y")
    check_shape(a, "y", _shp(g))
    cdef int code = activation_code(activation)
    cdef float alpha_f = alpha
    cdef cnp.ndarray d = check_out(dx, "dx", _shp(g), zero=True)
    check_no_alias(d, "dx", g, "dy")
    check_no_alias(d, "dx", a, "y")
    cdef int64_t rows, cols
    _rows_cols(g, &rows, &cols)
    cdef float *pd = _fptr(d)
    cdef const float *pg = _fptr(g)
    cdef const float *pa = _fptr(a)
    with nogil:
        ck_activation_backward(pd, pg, pa, rows, cols, code, alpha_f)
    return d
