# Convolution: im2col / col2im and Conv2D forward/backward (src/kernels/conv.c).
# Output sizes and pads are computed here exactly as Keras 2 with TensorFlow
# does; the C takes them as given (ck_conv_geom).

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same", "causal")


cdef tuple _pair(object value, str name):
    """A pair of ints >= 1 from an int or a 2-sequence, as Keras accepts."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2 and
          all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
              for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(
            f"{name} must be an int or a tuple of 2 ints, got {value!r}")
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return pair


cdef str _data_format(object data_format):
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got "
            f"{data_format!r}")
    return data_format


cdef tuple _axis(object size, int64_t k, int64_t stride, int64_t dilation,
                 str padding, str axis):
    """(output size, pad before) of one spatial axis, as Keras 2's
    conv_output_length and TensorFlow's padding compute them. size None
    (unknown) gives (None, None)."""
    cdef int64_t span = (k - 1) * dilation + 1
    cdef int64_t out, before, n
    if size is None:
        return None, None
    n = size
    if padding == "valid":
        out = (n - span + stride) // stride if n >= span else 0
        before = 0
    elif padding == "same":
        out = (n + stride - 1) // stride
        before = max((out - 1) * stride + span - n, 0) // 2
    else:  # causal: everything before, as Keras's Conv1D
        out = (n + stride - 1) // stride
        before = span - 1
    if out < 1:
        raise ValueError(
            f"the window (size {k}, dilation {dilation}: spans {span}) is "
            f"larger than the {axis} of the padded input ({size} with "
            f"padding={padding!r}); use padding='same' or a smaller window")
    return out, before


cdef str _padding(object padding, bint allow_causal):
    allowed = PADDINGS if allow_causal else PADDINGS[:2]
    if padding not in allowed:
        raise ValueError(
            f"padding must be one of {', '.join(repr(p) for p in allowed)}, "
            f"got {padding!r}")
    return padding


cdef ck_conv_geom _geometry(tuple x_shape, tuple ksize, object strides,
                            object padding, object dilation,
                            object data_format, bint pooling) except *:
    """Checks the parameters and fills the C geometry for an input of
    shape x_shape (4 ints)."""
    cdef ck_conv_geom g
    fmt = _data_format(data_format)
    pad = _padding(padding, not pooling)
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation, "dilation_rate")
    kh, kw = _pair(ksize, "pool_size" if pooling else "kernel_size")
    if (dh > 1 or dw > 1) and (sh > 1 or sw > 1):
        raise ValueError(
            f"dilation_rate {(dh, dw)} > 1 together with strides {(sh, sw)} "
            f"> 1 is not supported (as in TensorFlow); use strides=1 or "
            f"dilation_rate=1")
    if len(x_shape) != 4:
        raise ValueError(f"the input must be 4-D, got shape {x_shape}")
    if fmt == "channels_last":
        g.N, g.H, g.W, g.C = x_shape
    else:
        g.N, g.C, g.H, g.W = x_shape
    g.channels_first = fmt == "channels_first"
    g.kh, g.kw, g.stride_h, g.stride_w = kh, kw, sh, sw
    g.dilation_h, g.dilation_w = dh, dw
    g.OH, g.pad_top = _axis(g.H, kh, sh, dh, pad, "height")
    g.OW, g.pad_left = _axis(g.W, kw, sw, dw, pad, "width")
    return g


cdef tuple _out_shape(ck_conv_geom *g, int64_t K):
    if g.channels_first:
        return (g.N, K, g.OH, g.OW)
    return (g.N, g.OH, g.OW, K)


cdef tuple _cols_shape(ck_conv_geom *g):
    return (g.N * g.OH * g.OW, g.kh * g.kw * g.C)


def conv_output_shape(input_shape, kernel_size, filters, strides=(1, 1),
                      padding="valid", dilation=(1, 1),
                      data_format="channels_last"):
    """The output shape Keras 2 computes for Conv2D; None entries (unknown
    batch or spatial size) stay None. padding: 'valid', 'same' or 'causal'.
    """
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must have 4 entries, got {input_shape!r}")
    fmt = _data_format(data_format)
    pad = _padding(padding, True)
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation, "dilation_rate")
    kh, kw = _pair(kernel_size, "kernel_size")
    check_positive(filters, "filters")
    if fmt == "channels_last":
        n, h, w, _ = input_shape
    else:
        n, _, h, w = input_shape
    oh = _axis(h, kh, sh, dh, pad, "height")[0]
    ow = _axis(w, kw, sw, dw, pad, "width")[0]
    if fmt == "channels_last":
        return (n, oh, ow, filters)
    return (n, filters, oh, ow)


def conv_padding(input_shape, kernel_size, strides=(1, 1), padding="valid",
                 dilation=(1, 1), data_format="channels_last"):
    """(pad_top, pad_left, OH, OW) the kernels use, TensorFlow's padding."""
    cdef ck_conv_geom g = _geometry(tuple(input_shape), _pair(kernel_size, "kernel_size"),
                                    strides, padding, dilation,
                                    data_format, False)
    return (g.pad_top, g.pad_left, g.OH, g.OW)


cdef cnp.ndarray _workspace(object workspace, int64_t need, str what):
    cdef cnp.ndarray ws
    if workspace is None:
        return np.empty(max(need, 1), np.float32)
    ws = _check_array(workspace, "workspace")
    if ws.ndim != 1 or not ws.flags.c_contiguous:
        raise ValueError(
            f"workspace must be a 1-D C-contiguous float32 array, got shape "
            f"{_shp(ws)}; allocate numpy.empty(n, 'float32')")
    if not ws.flags.writeable:
        raise ValueError("workspace is read-only; pass a writeable array")
    if ws.shape[0] < need:
        raise ValueError(
            f"workspace must hold at least {need} floats ({what}), got "
            f"{ws.shape[0]}")
    return ws


cdef _check_outputs_apart(list outputs, list inputs):
    """No output shares memory with an input or another output."""
    for i, (o, oname) in enumerate(outputs):
        if o is None:
            continue
        for other, other_name in inputs + outputs[i + 1:]:
            check_no_alias(o, oname, other, other_name)


def im2col(x, kernel_size, strides=(1, 1), padding="valid",
           dilation=(1, 1), data_format="channels_last", out=None):
    """cols (N*OH*OW, kh*kw*C): rows (n, oh, ow), columns (i, j, c), for
    either data format; padding taps are zero."""
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    cdef ck_conv_geom g = _geometry(_shp(xa), _pair(kernel_size, "kernel_size"),
                                    strides, padding, dilation,
                                    data_format, False)
    cdef cnp.ndarray cols = check_out(out, "out", _cols_shape(&g))
    check_no_alias(cols, "out", xa, "x")
    cdef float *pc = _fptr(cols)
    cdef const float *px = _fptr(xa)
    with nogil:
        ck_im2col(pc, px, &g)
    return cols


def col2im(dcols, x_shape, kernel_size, strides=(1, 1), padding="valid",
           dilation=(1, 1), data_format="channels_last", dx=None):
    """dx += the adjoint of im2col applied to dcols; dx has x_shape (fresh
    zeros when None). Returns dx."""
    cdef ck_conv_geom g = _geometry(tuple(x_shape), _pair(kernel_size, "kernel_size"),
                                    strides, padding, dilation,
                                    data_format, False)
    cdef cnp.ndarray da = check_shape(check_in(dcols, "dcols", 2), "dcols",
                                      _cols_shape(&g))
    cdef cnp.ndarray dxa = check_out(dx, "dx", tuple(x_shape), zero=True)
    check_no_alias(dxa, "dx", da, "dcols")
    cdef float *pdx = _fptr(dxa)
    cdef const float *pd = _fptr(da)
    with nogil:
        ck_col2im(pdx, pd, &g)
    return dxa


cdef tuple _conv_operands(object x, object W, object strides, object padding,
                          object dilation, object data_format,
                          ck_conv_geom *g):
    """Checks x (4-D) and W (kh, kw, C, K); fills g; returns (x, W, K)."""
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    cdef cnp.ndarray Wa = check_in(W, "W", 4)
    g[0] = _geometry(_shp(xa), (Wa.shape[0], Wa.shape[1]), strides, padding,
                     dilation, data_format, False)
    if Wa.shape[2] != g.C:
        raise ValueError(
            f"W must have shape (kh, kw, C, K) with C = {g.C}, the channels "
            f"of x (shape {_shp(xa)}, data_format={data_format!r}); got W "
            f"shape {_shp(Wa)}")
    check_positive(Wa.shape[3], "filters (W.shape[3])")
    return xa, Wa, Wa.shape[3]


def conv2d_workspace_size(x_shape, W_shape, strides=(1, 1), padding="valid",
                          dilation=(1, 1), data_format="channels_last"):
    """Floats of scratch conv2d_forward/backward need (independent of the
    batch size beyond one tile of images)."""
    cdef ck_conv_geom g = _geometry(tuple(x_shape), tuple(W_shape[:2]),
                                    strides, padding, dilation, data_format,
                                    False)
    return ck_conv2d_workspace_size(&g, W_shape[3])


def conv2d_forward(x, W, b=None, strides=(1, 1), padding="valid",
                   dilation=(1, 1), data_format="channels_last",
                   activation="linear", alpha=1.0, out=None, workspace=None):
    """y = act(conv2d(x, W) + b), TensorFlow's cross-correlation.

    x: (N, H, W, C) for channels_last, (N, C, H, W) for channels_first.
    W: (kh, kw, C, K), Keras's kernel layout; b: (K,) or None.
    padding: 'valid', 'same' (TensorFlow's split) or 'causal'.
    activation: a Keras 2 activation name, applied along the output's last
    axis (as Keras does: channels for channels_last, width for
    channels_first); alpha: ELU's alpha. out: optional output buffer;
    workspace: optional 1-D float32 scratch of at least
    conv2d_workspace_size(...) floats. Returns y, (N, OH, OW, K) or
    (N, K, OH, OW).
    """
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t K
    xa, Wa, K = _conv_operands(x, W, strides, padding, dilation, data_format,
                               &g)
    cdef cnp.ndarray ba = None
    if b is not None:
        ba = check_shape(check_in(b, "b", 1), "b", (K,))
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    cdef cnp.ndarray y = check_out(out, "out", _out_shape(&g, K))
    cdef cnp.ndarray ws = _workspace(workspace, ck_conv2d_workspace_size(&g, K),
                                     "conv2d_workspace_size")
    _check_outputs_apart([(y, "out"), (ws, "workspace")],
                         [(xa, "x"), (Wa, "W"), (ba, "b")])
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *pb = _fptr_or_null(ba)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_conv2d_forward(py, px, pW, pb, &g, K, act, alpha_f, pws)
    return y


def conv2d_backward(dy, x, W, y, strides=(1, 1), padding="valid",
                    dilation=(1, 1), data_format="channels_last",
                    activation="linear", alpha=1.0, has_bias=True,
                    need_dx=True, dx=None, dW=None, db=None, workspace=None):
    """Gradients of y = act(conv2d(x, W) + b), ACCUMULATED into dx, dW, db.

    dy, y: the output gradient and the forward output (y's shape); x, W as
    in conv2d_forward. dx (x's shape), dW (W's shape), db (K,): buffers to
    add into (fresh zeros when None). has_bias=False skips db, need_dx=False
    skips dx (their results are then None). Returns (dx, dW, db).
    """
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t K
    xa, Wa, K = _conv_operands(x, W, strides, padding, dilation, data_format,
                               &g)
    yshape = _out_shape(&g, K)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 4), "dy", yshape)
    cdef cnp.ndarray ya = check_shape(check_in(y, "y", 4), "y", yshape)
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    if not has_bias and db is not None:
        raise ValueError("db was given but has_bias=False; pass db=None or "
                         "has_bias=True")
    if not need_dx and dx is not None:
        raise ValueError("dx was given but need_dx=False; pass dx=None or "
                         "need_dx=True")
    cdef cnp.ndarray dWa = check_out(dW, "dW", _shp(Wa), zero=True)
    cdef cnp.ndarray dba = check_out(db, "db", (K,), zero=True) if has_bias else None
    cdef cnp.ndarray dxa = check_out(dx, "dx", _shp(xa), zero=True) if need_dx else None
    cdef cnp.ndarray ws = _workspace(workspace, ck_conv2d_workspace_size(&g, K),
                                     "conv2d_workspace_size")
    _check_outputs_apart(
        [(dWa, "dW"), (dba, "db"), (dxa, "dx"), (ws, "workspace")],
        [(dya, "dy"), (xa, "x"), (Wa, "W"), (ya, "y")])
    cdef float *pdx = _fptr_or_null(dxa)
    cdef float *pdW = _fptr(dWa)
    cdef float *pdb = _fptr_or_null(dba)
    cdef const float *pdy = _fptr(dya)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *py = _fptr(ya)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_conv2d_backward(pdx, pdW, pdb, pdy, px, pW, py, &g, K, act,
                           alpha_f, pws)
    return dxa, dWa, dba


# ---- Conv2DTranspose: Conv2D read backwards --------------------------------

def deconv_length(dim_size, stride, kernel_size, padding, output_padding=None,
                  dilation=1):
    """Keras 2's conv_utils.deconv_length: the output size of one axis of
    a transposed convolution (None stays None). output_padding None infers
    the size; an int gives it exactly."""
    if dim_size is None:
        return None
    if padding not in ("valid", "same", "full"):
        raise ValueError(
            f"padding must be 'valid' or 'same', got {padding!r}")
    k = kernel_size + (kernel_size - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return dim_size * stride + max(k - stride, 0)
        if padding == "full":
            return dim_size * stride - (stride + k - 2)
        return dim_size * stride
    pad = {"same": k // 2, "valid": 0, "full": k - 1}[padding]
    return (dim_size - 1) * stride + k - 2 * pad + output_padding


cdef tuple _transpose_operands(object x, object W, object output_size,
                               object strides, object padding,
                               object dilation, object data_format,
                               ck_conv_geom *g):
    """Checks x (4-D) and W (kh, kw, filters, in_channels); fills g with the
    geometry of the Conv2D from y back to x; returns (x, W, in_channels)."""
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    cdef cnp.ndarray Wa = check_in(W, "W", 4)
    fmt = _data_format(data_format)
    pad = _padding(padding, False)
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilation, "dilation_rate")
    kh, kw = _pair((Wa.shape[0], Wa.shape[1]), "kernel_size")
    if fmt == "channels_last":
        n, ih, iw, k = _shp(xa)
    else:
        n, k, ih, iw = _shp(xa)
    if Wa.shape[3] != k:
        raise ValueError(
            f"W must have shape (kh, kw, filters, in_channels) with "
            f"in_channels = {k}, the channels of x (shape {_shp(xa)}, "
            f"data_format={fmt!r}); got W shape {_shp(Wa)}")
    check_positive(Wa.shape[2], "filters (W.shape[2])")
    check_positive(ih * iw, "the spatial size of x")
    if output_size is None:
        oh = deconv_length(ih, sh, kh, pad, None, dh)
        ow = deconv_length(iw, sw, kw, pad, None, dw)
    else:
        oh, ow = _pair(output_size, "output_size")
    yshape = (n, oh, ow, Wa.shape[2]) if fmt == "channels_last" else (
        n, Wa.shape[2], oh, ow)
    g[0] = _geometry(yshape, (kh, kw), strides, pad, dilation, fmt, False)
    if (g.OH, g.OW) != (ih, iw):
        raise ValueError(
            f"output size {(oh, ow)} does not fit the input's {(ih, iw)}: a "
            f"Conv2D with kernel {(kh, kw)}, strides {(sh, sw)}, dilation "
            f"{(dh, dw)} and padding={pad!r} maps it to {(g.OH, g.OW)}; pick "
            f"an output size (output_padding) it maps back to {(ih, iw)}")
    return xa, Wa, k


cdef tuple _in_shape(ck_conv_geom *g):
    if g.channels_first:
        return (g.N, g.C, g.H, g.W)
    return (g.N, g.H, g.W, g.C)


def conv2d_transpose_workspace_size(x_shape, W_shape, output_size=None,
                                    strides=(1, 1), padding="valid",
                                    dilation=(1, 1),
                                    data_format="channels_last"):
    """Floats of scratch conv2d_transpose_forward/backward need."""
    cdef ck_conv_geom g
    _transpose_operands(np.empty(x_shape, np.float32),
                        np.empty(W_shape, np.float32), output_size, strides,
                        padding, dilation, data_format, &g)
    return ck_conv2d_transpose_workspace_size(&g, W_shape[3])


def conv2d_transpose_forward(x, W, b=None, output_size=None, strides=(1, 1),
                             padding="valid", dilation=(1, 1),
                             data_format="channels_last",
                             activation="linear", alpha=1.0, out=None,
                             workspace=None):
    """y = act(conv2d_transpose(x, W) + b), TensorFlow's conv2d_transpose:
    the gradient of conv2d(y, W) with respect to y, as a forward op.

    x: (N, H, W, in) or (N, in, H, W); W: (kh, kw, filters, in), Keras's
    Conv2DTranspose kernel; b: (filters,) or None. output_size: (rows,
    cols) of y; None gives Keras 2's deconv_length without output_padding.
    Must be a size the matching Conv2D maps back to x's. Other arguments
    as conv2d_forward. Returns y, (N, rows, cols, filters) or
    (N, filters, rows, cols).
    """
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t K
    xa, Wa, K = _transpose_operands(x, W, output_size, strides, padding,
                                    dilation, data_format, &g)
    cdef cnp.ndarray ba = None
    if b is not None:
        ba = check_shape(check_in(b, "b", 1), "b", (g.C,))
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    cdef cnp.ndarray y = check_out(out, "out", _in_shape(&g))
    cdef cnp.ndarray ws = _workspace(
        workspace, ck_conv2d_transpose_workspace_size(&g, K),
        "conv2d_transpose_workspace_size")
    _check_outputs_apart([(y, "out"), (ws, "workspace")],
                         [(xa, "x"), (Wa, "W"), (ba, "b")])
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *pb = _fptr_or_null(ba)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_conv2d_transpose_forward(py, px, pW, pb, &g, K, act, alpha_f, pws)
    return y


def conv2d_transpose_backward(dy, x, W, y, strides=(1, 1), padding="valid",
                              dilation=(1, 1), data_format="channels_last",
                              activation="linear", alpha=1.0, has_bias=True,
                              need_dx=True, dx=None, dW=None, db=None,
                              workspace=None):
    """Gradients of y = conv2d_transpose_forward(x, W, b), ACCUMULATED into
    dx (x's shape), dW (W's shape), db (filters,); fresh zeros when None.
    y's shape gives the output size. Returns (dx, dW, db)."""
    cdef ck_conv_geom g
    cdef cnp.ndarray xa, Wa
    cdef int64_t K
    cdef cnp.ndarray ya = check_in(y, "y", 4)
    ysize = _shp(ya)[1:3] if data_format == "channels_last" else _shp(ya)[2:]
    xa, Wa, K = _transpose_operands(x, W, ysize, strides, padding, dilation,
                                    data_format, &g)
    yshape = _in_shape(&g)
    check_shape(ya, "y", yshape)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 4), "dy", yshape)
    cdef int act = activation_code(activation)
    cdef float alpha_f = alpha
    if not has_bias and db is not None:
        raise ValueError("db was given but has_bias=False; pass db=None or "
                         "has_bias=True")
    if not need_dx and dx is not None:
        raise ValueError("dx was given but need_dx=False; pass dx=None or "
                         "need_dx=True")
    cdef cnp.ndarray dWa = check_out(dW, "dW", _shp(Wa), zero=True)
    cdef cnp.ndarray dba = check_out(db, "db", (g.C,), zero=True) if has_bias else None
    cdef cnp.ndarray dxa = check_out(dx, "dx", _shp(xa), zero=True) if need_dx else None
    cdef cnp.ndarray ws = _workspace(
        workspace, ck_conv2d_transpose_workspace_size(&g, K),
        "conv2d_transpose_workspace_size")
    _check_outputs_apart(
        [(dWa, "dW"), (dba, "db"), (dxa, "dx"), (ws, "workspace")],
        [(dya, "dy"), (xa, "x"), (Wa, "W"), (ya, "y")])
    cdef float *pdx = _fptr_or_null(dxa)
    cdef float *pdW = _fptr(dWa)
    cdef float *pdb = _fptr_or_null(dba)
    cdef const float *pdy = _fptr(dya)
    cdef const float *px = _fptr(xa)
    cdef const float *pW = _fptr(Wa)
    cdef const float *py = _fptr(ya)
    cdef float *pws = _fptr(ws)
    with nogil:
        ck_conv2d_transpose_backward(pdx, pdW, pdb, pdy, px, pW, py, &g, K,
                                     act, alpha_f, pws)
    return dxa, dWa, dba
