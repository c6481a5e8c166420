# Depthwise Conv2D forward/backward (src/kernels/depthwise.c). Geometry,
# output sizes and pads as Conv2D (conv.pxi's _geometry, TensorFlow's).


cdef tuple _depthwise_operands(object x, object W, object strides,
                               object padding, object dilation,
                               object data_format, ck_conv_geom *g):
    """Checks x (4-D) and W (kh, kw, C, M); fills g; returns (x, W, M)."""
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    cdef cnp.ndarray Wa = check_in(W, "W", 4)
    g[0] = _geometry(_shp(xa), (Wa.shape[0], Wa.shape[1]), strides,
                     _padding(padding, False), dilation, data_format, False)
    if Wa.shape[2] != g.C:
        raise ValueError(
            f"W must have shape (kh, kw, C, depth_multiplier) with C = "
            f"{g.C}, the channels of x (shape {_shp(xa)}, data_format="
            f"{data_format!r}); got W shape {_shp(Wa)}")
    check_positive(Wa.shape[3], "depth_multiplier (W.shape[3])")
    return xa, Wa, Wa.shape[3]


def depthwise_conv2d_workspace_size(x_shape, W_shape, strides=(1, 1),
                                    padding="valid", dilation=(1, 1),
                                    data_format="channels_last"):
    """Floats of scratch depthwise_conv2d_backward needs."""
    cdef ck_conv_geom g = _geometry(tuple(x_shape), tuple(W_shape[:2]),
                                    strides, _padding(padding, False),
                                    dilation, data_format, False)
    return ck_depthwise_conv2d_workspace_size(&g, W_shape[3])


def depthwise_conv2d_forward(x, W, b=None, strides=(1, 1), padding="valid",
                             dilation=(1, 1), data_format="channels_last",
                             out=None):
    """y = depthwise_conv2d(x, W) + b, TensorFlow's depthwise_conv2d.

    x: (N, H, W, C) or (N, C, H, W); W: (kh, kw, C, M), Keras's
    DepthwiseConv2D kernel; b: (C*M,) or None. Output channel c*M + m is
    input channel c convolved with W[:, :, c, m]. padding 'valid' or
    'same'. Returns y, (N, OH, OW, C*M) or (N, C*M, OH, OW).
    """
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t M
    xa, Wa, M = _depthwise_operands(x, W, strides, padding, dilation,
                                    data_format, &g)
    cdef cnp.ndarray ba = None
    if b is not None:
        ba = check_shape(check_in(b, "b", 1), "b", (g.C * M,))
    cdef cnp.ndarray y = check_out(out, "out", _out_shape(&g, g.C * M))
    _check_outputs_apart([(y, "out")], [(xa, "x"), (Wa, "W"), (ba, "b")])
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *pb = _fptr_or_null(ba)
    with nogil:
        ck_depthwise_conv2d_forward(py, px, pW, pb, &g, M)
    return y


def depthwise_conv2d_backward(dy, x, W, strides=(1, 1), padding="valid",
                              dilation=(1, 1), data_format="channels_last",
                              has_bias=True, need_dx=True, dx=None, dW=None,
                              db=None, workspace=None):
    """Gradients of y = depthwise_conv2d_forward(x, W, b), ACCUMULATED into
    dx (x's shape), dW (W's shape), db (C*M,); fresh zeros when None.
    has_bias=False / need_dx=False skip db / dx (returned as None).
    Returns (dx, dW, db)."""
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t M
    xa, Wa, M = _depthwise_operands(x, W, strides, padding, dilation,
                                    data_format, &g)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 4), "dy",
                                       _out_shape(&g, g.C * M))
    if not has_bias and db is not None:
        raise ValueError("db was given but has_bias=False; pass db=None or "
                         "has_bias=True")
    if not need_dx and dx is not None:
        raise ValueError("dx was given but need_dx=False; pass dx=None or "
                         "need_dx=True")
    cdef cnp.ndarray dWa = check_out(dW, "dW", _shp(Wa), zero=True)
    cdef cnp.ndarray dba = check_out(db, "db", (g.C * M,), zero=True) if has_bias else None
    cdef cnp.ndarray dxa = check_out(dx, "dx", _shp(xa), zero=True) if need_dx else None
    cdef cnp.ndarray ws = _workspace(
        workspace, ck_depthwise_conv2d_workspace_size(&g, M),
        "depthwise_conv2d_workspace_size")
    _check_outputs_apart(
        [(dWa, "dW"), (dba, "db"), (dxa, "dx"), (ws, "workspace")],
        [(dya, "dy"), (xa, "x"), (Wa, "W")])
    cdef float *pdx = _fptr_or_null(dxa)
    cdef float *pdW = _fptr(dWa)
    cdef float *pdb = _fptr_or_null(dba)
    cdef const float *pdy = _fptr(dya)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_depthwise_conv2d_backward(pdx, pdW, pdb, pdy, px, pW, &g, M, pws)
    return dxa, dWa, dba
