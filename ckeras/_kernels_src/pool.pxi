# Pooling: 2-D max and average pooling forward/backward (src/kernels/pool.c).
# Geometry helpers (_geometry, _axis, ...) come from conv.pxi.


cdef ck_conv_geom _pool_geometry(tuple x_shape, object pool_size,
                                 object strides, object padding,
                                 object data_format) except *:
    """Keras 2's pooling geometry: strides None means pool_size."""
    ksize = _pair(pool_size, "pool_size")
    return _geometry(x_shape, ksize, ksize if strides is None else strides,
                     padding, 1, data_format, True)


cdef tuple _pool_out_shape(ck_conv_geom *g):
    return _out_shape(g, g.C)


def pool_output_shape(input_shape, pool_size=(2, 2), strides=None,
                      padding="valid", data_format="channels_last"):
    """The output shape Keras 2 computes for MaxPooling2D/AveragePooling2D;
    None entries stay None."""
    ksize = _pair(pool_size, "pool_size")
    if padding not in ("valid", "same"):
        raise ValueError(
            f"padding must be one of 'valid', 'same', got {padding!r}")
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must have 4 entries, got {input_shape!r}")
    fmt = _data_format(data_format)
    c = input_shape[3] if fmt == "channels_last" else input_shape[1]
    shape = conv_output_shape(input_shape, ksize, 1, ksize if strides is None
                              else strides, padding, 1, fmt)
    if fmt == "channels_last":
        return shape[:3] + (c,)
    return (shape[0], c) + shape[2:]


cdef tuple _pool_forward_args(object x, object pool_size, object strides,
                              object padding, object data_format, object out,
                              ck_conv_geom *g):
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    g[0] = _pool_geometry(_shp(xa), pool_size, strides, padding, data_format)
    cdef cnp.ndarray y = check_out(out, "out", _pool_out_shape(g))
    check_no_alias(y, "out", xa, "x")
    return xa, y


def max_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid",
                       data_format="channels_last", out=None):
    """y = max over each window's valid taps (padding is ignored).

    x: (N, H, W, C) or (N, C, H, W); strides None means pool_size; padding
    'valid' or 'same' (TensorFlow's). Returns y.
    """
    cdef ck_conv_geom g
    xa, y = _pool_forward_args(x, pool_size, strides, padding, data_format,
                               out, &g)
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(xa)
    with nogil:
        ck_max_pool2d_forward(py, px, &g)
    return y


def avg_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid",
                       data_format="channels_last", out=None):
    """y = mean over each window's valid taps (Keras 2 with TensorFlow:
    'same' padding divides by the count of valid cells). Returns y."""
    cdef ck_conv_geom g
    xa, y = _pool_forward_args(x, pool_size, strides, padding, data_format,
                               out, &g)
    cdef float *py = _fptr(y)
    cdef const float *px = _fptr(xa)
    with nogil:
        ck_avg_pool2d_forward(py, px, &g)
    return y


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None,
                        padding="valid", data_format="channels_last",
                        dx=None):
    """dx += dy routed to the first maximal tap of each window (row-major
    scan), recomputed from x as TensorFlow does. dx: x's shape, fresh zeros
    when None. Returns dx."""
    cdef cnp.ndarray xa = check_in(x, "x", 4)
    cdef ck_conv_geom g = _pool_geometry(_shp(xa), pool_size, strides,
                                         padding, data_format)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 4), "dy",
                                       _pool_out_shape(&g))
    cdef cnp.ndarray dxa = check_out(dx, "dx", _shp(xa), zero=True)
    check_no_alias(dxa, "dx", dya, "dy")
    check_no_alias(dxa, "dx", xa, "x")
    cdef float *pdx = _fptr(dxa)
    cdef const float *pdy = _fptr(dya)
    cdef const float *px = _fptr(xa)
    with nogil:
        ck_max_pool2d_backward(pdx, pdy, px, &g)
    return dxa


def avg_pool2d_backward(dy, x_shape, pool_size=(2, 2), strides=None,
                        padding="valid", data_format="channels_last",
                        dx=None):
    """dx += dy / count on each valid tap of each window. x_shape: the
    forward input's shape (its values are not needed). Returns dx."""
    shape = tuple(x_shape)
    cdef ck_conv_geom g = _pool_geometry(shape, pool_size, strides, padding,
                                         data_format)
    cdef cnp.ndarray dya = check_shape(check_in(dy, "dy", 4), "dy",
                                       _pool_out_shape(&g))
    cdef cnp.ndarray dxa = check_out(dx, "dx", shape, zero=True)
    check_no_alias(dxa, "dx", dya, "dy")
    cdef float *pdx = _fptr(dxa)
    cdef const float *pdy = _fptr(dya)
    with nogil:
        ck_avg_pool2d_backward(pdx, pdy, &g)
    return dxa
