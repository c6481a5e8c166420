"""Convolution and pooling ops: conv2d, the fused conv + bias + activation
op the Conv layers use, conv2d_transpose, depthwise_conv2d,
separable_conv2d, pool2d, and the spatial padding / resizing helpers.

float32 runs the C kernels (``native.conv2d_forward`` etc.); other dtypes
(float64 for gradient checks) run the numpy references of
``ckeras.reference`` (the kernels' test oracle). Each op records its
backward on the tape; the kernels' backward accumulates into buffers
they zero themselves. Not symbolic: layers call them on concrete values.
"""
import numpy as np

from ckeras.backend import config, native
from ckeras.backend import tape as _tape
from ckeras.backend.core import array, record
from ckeras.backend.tensor import Tensor
from ckeras.reference import conv as _conv_ref
from ckeras.reference import depthwise as _dw_ref
from ckeras.reference import pool as _pool_ref

DATA_FORMATS = ("channels_last", "channels_first")


def _c32(a):
    a = a.astype(np.float32, copy=False)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _pair(v):
    return (int(v), int(v)) if np.isscalar(v) else tuple(int(i) for i in v)


def _format(data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    return data_format


def _conv_operands(x, kernel, bias, strides, padding, data_format, dilation_rate):
    """x, kernel and bias (or None) as arrays, and the geometry keywords
    every convolution kernel binding takes."""
    geo = dict(strides=_pair(strides), padding=padding, dilation=_pair(dilation_rate),
               data_format=_format(data_format))
    return array(x), array(kernel), None if bias is None else array(bias), geo


def conv2d_bias_act(x, kernel, bias=None, strides=(1, 1), padding="valid",
                    data_format=None, dilation_rate=(1, 1), activation="linear",
                    alpha=1.0):
    """The fused Conv2D op: act(conv2d(x, kernel) + bias).

    x: (N, H, W, C) or (N, C, H, W); kernel (kh, kw, C, filters); bias
    (filters,) or None; activation: a Keras 2 activation name (applied on
    the output's last axis, as Keras does); padding 'valid', 'same' or
    'causal'. One C kernel forward, one backward (need_dx only when x is a
    recorded tensor).
    """
    xv, W, b, geo = _conv_operands(x, kernel, bias, strides, padding, data_format,
                                   dilation_rate)
    if W.dtype == np.float32:
        xv = _c32(xv)
        y = native.get("conv2d_forward")(xv, W, b, activation=activation, alpha=alpha,
                                         **geo)

        def backward(dy):
            return native.get("conv2d_backward")(
                _c32(dy), xv, W, y, activation=activation, alpha=alpha,
                has_bias=b is not None, need_dx=isinstance(x, Tensor), **geo)
    else:
        y = _conv_ref.conv2d_forward(xv, W, b, activation=activation, alpha=alpha,
                                     **geo).astype(W.dtype)

        def backward(dy):
            return _conv_ref.conv2d_backward(dy, xv, W, y, activation=activation,
                                             alpha=alpha, has_bias=b is not None,
                                             **geo)
    if not _tape.recording:
        return y
    return record(y, (x, kernel, bias), backward)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None,
           dilation_rate=(1, 1)):
    """2-D convolution (TensorFlow's cross-correlation), Keras 2's
    ``K.conv2d``: kernel (kh, kw, in_channels, filters)."""
    return conv2d_bias_act(x, kernel, None, strides, padding, data_format,
                           dilation_rate)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution, Keras 2's ``K.conv1d``: x (N, steps, C), kernel
    (k, C, filters); padding 'valid', 'same' or 'causal'. Runs the 2-D op on
    a height-1 view; channels_last only."""
    from ckeras.backend.array_ops import expand_dims, squeeze
    if _format(data_format) != "channels_last":
        raise ValueError(f"conv1d: only data_format='channels_last' is supported, got "
                         f"{data_format!r}")
    s = strides[0] if isinstance(strides, (tuple, list)) else strides
    d = dilation_rate[0] if isinstance(dilation_rate, (tuple, list)) else dilation_rate
    return squeeze(conv2d_bias_act(expand_dims(x, 1), expand_dims(kernel, 0), None,
                                   (1, s), padding, "channels_last", (1, d)), 1)


def _spatial_size(output_shape, fmt):
    """(rows, cols) from Keras's 4-D output_shape (data_format layout), a
    (rows, cols) pair, or None (Keras 2's deconv_length default)."""
    if output_shape is None:
        return None
    output_shape = tuple(output_shape)
    if len(output_shape) == 2:
        return tuple(int(v) for v in output_shape)
    if len(output_shape) != 4:
        raise ValueError(f"output_shape must have 4 entries (batch, rows, cols, filters "
                         f"in the data_format's order), got {output_shape!r}")
    size = output_shape[1:3] if fmt == "channels_last" else output_shape[2:]
    return tuple(int(v) for v in size)


def conv2d_transpose_bias_act(x, kernel, bias=None, output_size=None, strides=(1, 1),
                              padding="valid", data_format=None, dilation_rate=(1, 1),
                              activation="linear", alpha=1.0):
    """The fused Conv2DTranspose op: act(conv2d_transpose(x, kernel) + bias).

    kernel (kh, kw, filters, in_channels); bias (filters,) or None;
    output_size (rows, cols) of the result, None for Keras 2's
    deconv_length without output_padding. One C kernel forward, one
    backward.
    """
    xv, W, b, geo = _conv_operands(x, kernel, bias, strides, padding, data_format,
                                   dilation_rate)
    if W.dtype == np.float32:
        xv = _c32(xv)
        y = native.get("conv2d_transpose_forward")(
            xv, W, b, output_size, activation=activation, alpha=alpha, **geo)

        def backward(dy):
            return native.get("conv2d_transpose_backward")(
                _c32(dy), xv, W, y, activation=activation, alpha=alpha,
                has_bias=b is not None, need_dx=isinstance(x, Tensor), **geo)
    else:
        y = _conv_ref.conv2d_transpose_forward(
            xv, W, b, output_size, activation=activation, alpha=alpha,
            **geo).astype(W.dtype)

        def backward(dy):
            return _conv_ref.conv2d_transpose_backward(
                dy, xv, W, y, activation=activation, alpha=alpha,
                has_bias=b is not None, **geo)
    if not _tape.recording:
        return y
    return record(y, (x, kernel, bias), backward)


def conv2d_transpose(x, kernel, output_shape=None, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """2-D transposed convolution, Keras 2's ``K.conv2d_transpose``: the
    gradient of conv2d with respect to its input. kernel (kh, kw, filters,
    in_channels); output_shape (batch, rows, cols, filters) in the
    data_format's order (the batch may be None), or None for Keras 2's
    default size."""
    fmt = _format(data_format)
    return conv2d_transpose_bias_act(x, kernel, None, _spatial_size(output_shape, fmt),
                                     strides, padding, fmt, dilation_rate)


def depthwise_conv2d_bias(x, depthwise_kernel, bias=None, strides=(1, 1),
                          padding="valid", data_format=None, dilation_rate=(1, 1)):
    """Depthwise conv plus bias: depthwise_kernel (kh, kw, C, M), bias
    (C*M,) or None; output channel c*M + m. One C kernel each way."""
    xv, W, b, geo = _conv_operands(x, depthwise_kernel, bias, strides, padding,
                                   data_format, dilation_rate)
    if W.dtype == np.float32:
        xv = _c32(xv)
        y = native.get("depthwise_conv2d_forward")(xv, W, b, **geo)

        def backward(dy):
            return native.get("depthwise_conv2d_backward")(
                _c32(dy), xv, W, has_bias=b is not None,
                need_dx=isinstance(x, Tensor), **geo)
    else:
        y = _dw_ref.depthwise_conv2d_forward(xv, W, b, **geo).astype(W.dtype)

        def backward(dy):
            return _dw_ref.depthwise_conv2d_backward(dy, xv, W, has_bias=b is not None,
                                                     **geo)
    if not _tape.recording:
        return y
    return record(y, (x, depthwise_kernel, bias), backward)


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """Keras 2's ``K.depthwise_conv2d``: depthwise_kernel (kh, kw, C, M)."""
    return depthwise_conv2d_bias(x, depthwise_kernel, None, strides, padding,
                                 data_format, dilation_rate)


def pointwise_bias_act(x, pointwise_kernel, bias=None, data_format=None,
                       activation="linear"):
    """The 1x1 convolution of a separable conv, fused with bias and
    activation: pointwise_kernel (1, 1, C, filters). channels_last runs the
    Dense GEMM kernel on the pixels; channels_first the 1x1 Conv2D kernel."""
    from ckeras.backend.array_ops import reshape
    from ckeras.backend.nn_ops import dense
    fmt = _format(data_format)
    if fmt == "channels_last":
        shape = np.shape(array(pointwise_kernel))
        return dense(x, reshape(pointwise_kernel, shape[2:]), bias, activation)
    return conv2d_bias_act(x, pointwise_kernel, bias, data_format=fmt,
                           activation=activation)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1),
                     padding="valid", data_format=None, dilation_rate=(1, 1)):
    """Keras 2's ``K.separable_conv2d``: a depthwise conv (kh, kw, C, M)
    then a pointwise one (1, 1, C*M, filters)."""
    y = depthwise_conv2d(x, depthwise_kernel, strides, padding, data_format,
                         dilation_rate)
    return pointwise_bias_act(y, pointwise_kernel, None, data_format)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None,
           pool_mode="max"):
    """2-D max or average pooling, Keras 2's ``K.pool2d``."""
    fmt = _format(data_format)
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    geo = dict(pool_size=_pair(pool_size), strides=_pair(strides), padding=padding,
               data_format=fmt)
    xv = array(x)
    if xv.dtype == np.float32:
        xv = _c32(xv)
        if pool_mode == "max":
            y = native.get("max_pool2d_forward")(xv, **geo)
            backward = lambda dy: (native.get("max_pool2d_backward")(  # noqa: E731
                _c32(dy), xv, **geo),)
        else:
            y = native.get("avg_pool2d_forward")(xv, **geo)
            backward = lambda dy: (native.get("avg_pool2d_backward")(  # noqa: E731
                _c32(dy), xv.shape, **geo),)
    else:
        if pool_mode == "max":
            y = _pool_ref.max_pool2d_forward(xv, **geo).astype(xv.dtype)
            backward = lambda dy: (_pool_ref.max_pool2d_backward(dy, xv, **geo),)  # noqa
        else:
            y = _pool_ref.avg_pool2d_forward(xv, **geo).astype(xv.dtype)
            backward = lambda dy: (  # noqa: E731
                _pool_ref.avg_pool2d_backward(dy, xv.shape, **geo),)
    return record(y, (x,), backward)


def _spatial_axes(ndim, data_format):
    return (tuple(range(2, ndim)) if data_format == "channels_first"
            else tuple(range(1, ndim - 1)))


def spatial_padding(x, padding, data_format=None):
    """Zero-pads the spatial axes: padding one (before, after) pair per
    spatial axis (Keras 2's spatial_2d_padding, any rank)."""
    xv = array(x)
    axes = _spatial_axes(xv.ndim, _format(data_format))
    pads = [(0, 0)] * xv.ndim
    for a, p in zip(axes, padding):
        pads[a] = tuple(p)
    y = np.pad(xv, pads)
    index = tuple(slice(p[0], p[0] + n) for p, n in zip(pads, xv.shape))
    return record(y, (x,), lambda dy: (dy[index],))


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    return spatial_padding(x, padding, data_format)


def resize_images(x, height_factor, width_factor, data_format=None):
    """Repeats rows and columns (nearest-neighbour upsampling)."""
    from ckeras.backend.array_ops import repeat_elements
    axes = _spatial_axes(np.ndim(array(x)), _format(data_format))
    return repeat_elements(repeat_elements(x, height_factor, axes[0]), width_factor,
                           axes[1])
