# Dense: y = act(x @ W + b) and its backward (src/kernels/dense.c).
# Activation names map to codes through activation_code (activations.pxi).


cdef tuple _dense_operands(object x, object W):
    """Checks x (N, C) and W (C, U); returns (x, W, N, C, U)."""
    cdef cnp.ndarray xa = check_in(x, "x", 2)
    cdef cnp.ndarray Wa = check_in(W, "W", 2)
    if Wa.shape[0] != xa.shape[1]:
        raise ValueError(
            f"W must have shape (C, U) with C = x.shape[1] = {xa.shape[1]}, "
            f"got W shape {_shp(Wa)} for x shape {_shp(xa)}; the kernel is "
            f"(input_dim, units), as in Keras")
    return xa, Wa, xa.shape[0], xa.shape[1], Wa.shape[1]


cdef cnp.ndarray _dense_bias(object b, int64_t U):
    if b is None:
        return None
    return check_shape(check_in(b, "b", 1), "b", (U,))


def dense_workspace_size(N, C, U):
    """Floats of scratch dense_backward needs for x (N, C), W (C, U)."""
    return ck_dense_workspace_size(N, C, U)


def dense_forward(x, W, b, activation='linear', alpha=1.0, out=None):
    """y = act(x @ W + b), bias and activation fused into the GEMM pass.

    x: (N, C), W: (C, U), b: (U,) or None (no bias); float32, C-contiguous.
    activation: a Keras 2 activation name; alpha: ELU's alpha.
    out: optional (N, U) buffer for y (must not overlap the inputs).
    Returns y, float32 (N, U).
    """
    cdef cnp.ndarray xa, Wa
    cdef int64_t N, C, U
    xa, Wa, N, C, U = _dense_operands(x, W)
    cdef cnp.ndarray ba = _dense_bias(b, U)
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    cdef cnp.ndarray y = check_out(out, "out", (N, U))
    check_no_alias(y, "out", xa, "x")
    check_no_alias(y, "out", Wa, "W")
    check_no_alias(y, "out", ba, "b")
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *pb = _fptr_or_null(ba)
    cdef float *py = _fptr(y)
    with nogil:
        ck_dense_forward(py, px, pW, pb, N, C, U, act, alpha_f)
    return y


def dense_backward(dy, x, W, y, activation='linear', alpha=1.0,
                   has_bias=True, need_dx=True, dx=None, dW=None, db=None,
                   workspace=None):
    """Gradients of y = act(x @ W + b), ACCUMULATED into dx, dW, db.

    dy, y: (N, U), the output gradient and the forward output; x: (N, C);
    W: (C, U). dx (N, C), dW (C, U), db (U,): buffers to add into (fresh
    zeros when None). has_bias=False skips db, need_dx=False skips dx
    (their results are then None). workspace: optional 1-D float32 scratch
    of at least dense_workspace_size(N, C, U) elements.
    Returns (dx or None, dW, db or None).
    """
    cdef cnp.ndarray xa, Wa
    cdef int64_t N, C, U
    xa, Wa, N, C, U = _dense_operands(x, W)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 2), "dy", (N, U))
    cdef cnp.ndarray ya = check_shape(check_in(y, "y", 2), "y", (N, U))
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    if not has_bias and db is not None:
        raise ValueError("db was given but has_bias=False; pass db=None or "
                         "has_bias=True")
    if not need_dx and dx is not None:
        raise ValueError("dx was given but need_dx=False; pass dx=None or "
                         "need_dx=True")
    cdef cnp.ndarray dWa = check_out(dW, "dW", (C, U), zero=True)
    cdef cnp.ndarray dba = check_out(db, "db", (U,), zero=True) if has_bias else None
    cdef cnp.ndarray dxa = check_out(dx, "dx", (N, C), zero=True) if need_dx else None
    cdef int64_t need = ck_dense_workspace_size(N, C, U)
    cdef cnp.ndarray ws
    if workspace is None:
        ws = np.empty(max(need, 1), np.float32)
    else:
        ws = _check_array(workspace, "workspace")
        if ws.ndim != 1 or not ws.flags.c_contiguous:
            raise ValueError(
                f"workspace must be a 1-D C-contiguous float32 array, got "
                f"shape {_shp(ws)}; allocate numpy.empty(n, 'float32')")
        if not ws.flags.writeable:
            raise ValueError("workspace is read-only; pass a writeable array")
        if ws.shape[0] < need:
            raise ValueError(
                f"workspace must hold at least {need} floats "
                f"(dense_workspace_size({N}, {C}, {U})), got {ws.shape[0]}")
    outputs = [(dWa, "dW"), (dba, "db"), (dxa, "dx"), (ws, "workspace")]
    inputs = [(dya, "dy"), (xa, "x"), (Wa, "W"), (ya, "y")]
    for i, (o, oname) in enumerate(outputs):
        if o is None:
            continue
        for other, other_name in inputs + outputs[i + 1:]:
            check_no_alias(o, oname, other, other_name)
    cdef float *pdx = _fptr_or_null(dxa)
    cdef float *pdW = _fptr(dWa)
    cdef float *pdb = _fptr_or_null(dba)
    cdef const float *pdy = _fptr(dya)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *py = _fptr(ya)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_dense_backward(pdx, pdW, pdb, pdy, px, pW, py, N, C, U, act,
                          alpha_f, pws)
    return dxa, dWa, dba
