"""Convolution and pooling ops: Conv2D/Conv1D (fused conv + bias +
activation), 2-D max/average pooling, and the spatial reshuffles
(zero padding, cropping, nearest upsampling).

float32 runs the C kernels (``native.conv2d_forward/backward``,
``native.max_pool2d_*``, ``native.avg_pool2d_*``); other dtypes (float64
for gradient checks) run the numpy references of ``ckeras.reference``.
Each op records its backward on the open tapes, as ``nn_ops.dense`` does.
Conv1D runs the 2-D kernel on a height-1 view of its input.
"""
import numpy as np

from ckeras.backend import config, native
from ckeras.backend import tape as _tape
from ckeras.backend.core import array, op, record
from ckeras.backend.tensor import Tensor

DATA_FORMATS = ("channels_last", "channels_first")


def normalize_data_format(data_format):
    """data_format, None meaning K.image_data_format(); anything but the
    two Keras names is a ValueError."""
    value = config.image_data_format() if data_format is None else data_format
    if value not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    return value


def _c32(a):
    a = a.astype(np.float32, copy=False)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _value(v):
    return None if v is None else array(v)


def _conv_core(xv, W, b, strides, padding, dilation, data_format, activation, alpha,
               need_dx):
    """(y, backward) of act(conv2d(xv, W) + b) on 4-D arrays; backward(dy)
    gives (dx or None, dW, db or None)."""
    if W.dtype == np.float32:
        xv = _c32(xv)
        W = _c32(W)
        b = None if b is None else _c32(b)
        y = native.conv2d_forward(xv, W, b, strides, padding, dilation, data_format,
                                  activation, alpha)

        def backward(dy):
            return native.conv2d_backward(
                _c32(dy.reshape(y.shape)), xv, W, y, strides, padding, dilation,
                data_format, activation, alpha, has_bias=b is not None,
                need_dx=need_dx)
        return y, backward
    from ckeras.reference import conv as ref
    # the reference checks nothing: take the geometry checks of the binding
    native.conv_padding(xv.shape, W.shape[:2], strides, padding, dilation, data_format)
    dtype = W.dtype
    y = ref.conv2d_forward(xv, W, b, strides, padding, dilation, data_format,
                           activation, alpha).astype(dtype)

    def backward(dy):
        dx, dW, db = ref.conv2d_backward(dy.reshape(y.shape), xv, W, y, strides, padding,
                                         dilation, data_format, activation, alpha,
                                         has_bias=b is not None)
        return (dx.astype(dtype) if need_dx else None, dW.astype(dtype),
                None if db is None else db.astype(dtype))
    return y, backward


def conv2d_bias_act(x, kernel, bias=None, strides=(1, 1), padding="valid",
                    data_format=None, dilation_rate=(1, 1), activation="linear",
                    alpha=1.0):
    """The fused Conv2D op: act(conv2d(x, kernel) + bias).

    x: (N, H, W, C) or (N, C, H, W); kernel (kh, kw, C, filters); bias
    (filters,) or None; activation a kernel activation name applied on the
    output's last axis, as Keras 2 does. Not symbolic: layers call it on
    concrete values."""
    data_format = normalize_data_format(data_format)
    xv, W, b = array(x), array(kernel), _value(bias)
    y, backward = _conv_core(xv, W, b, strides, padding, dilation_rate, data_format,
                             activation, alpha, isinstance(x, Tensor))
    if not _tape.recording:
        return y
    return record(y, (x, kernel, bias), backward)


def conv1d_bias_act(x, kernel, bias=None, strides=1, padding="valid",
                    data_format="channels_last", dilation_rate=1, activation="linear",
                    alpha=1.0):
    """The fused Conv1D op on x (N, steps, C) (or (N, C, steps)) with kernel
    (k, C, filters): the 2-D kernel on a height-1 view. padding may be
    'causal' (all the padding before the first step)."""
    data_format = normalize_data_format(data_format)
    xv, W, b = array(x), array(kernel), _value(bias)
    if xv.ndim != 3 or W.ndim != 3:
        raise ValueError(f"conv1d needs a 3-D input and a 3-D kernel, got shapes "
                         f"{xv.shape} and {W.shape}")
    axis = 1 if data_format == "channels_last" else 2
    x4 = np.expand_dims(xv, axis)
    W4 = W.reshape((1,) + W.shape)
    s = strides[0] if isinstance(strides, (tuple, list)) else strides
    d = dilation_rate[0] if isinstance(dilation_rate, (tuple, list)) else dilation_rate
    y4, backward4 = _conv_core(x4, W4, b, (1, s), padding, (1, d), data_format,
                               activation, alpha, isinstance(x, Tensor))
    y = np.squeeze(y4, axis)
    if not _tape.recording:
        return y

    def backward(dy):
        dx, dW, db = backward4(np.expand_dims(dy, axis))
        return (None if dx is None else dx.reshape(xv.shape)), dW.reshape(W.shape), db
    return record(y, (x, kernel, bias), backward)


@op
def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None,
           dilation_rate=(1, 1)):
    """Keras 2's K.conv2d: TensorFlow's 2-D cross-correlation, kernel
    (kh, kw, C, filters)."""
    return conv2d_bias_act(x, kernel, None, strides, padding, data_format,
                           dilation_rate)


@op
def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras 2's K.conv1d: kernel (k, C, filters); padding may be 'causal'."""
    return conv1d_bias_act(x, kernel, None, strides, padding, data_format,
                           dilation_rate)


@op
def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None,
           pool_mode="max"):
    """Keras 2's K.pool2d: max or average pooling over (H, W) windows;
    'same' averages count only the valid cells (TensorFlow)."""
    data_format = normalize_data_format(data_format)
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    xv = array(x)
    if xv.dtype == np.float32:
        xv = _c32(xv)
        fwd = native.max_pool2d_forward if pool_mode == "max" else native.avg_pool2d_forward
        y = fwd(xv, pool_size, strides, padding, data_format)
        if pool_mode == "max":
            def backward(dy):
                return (native.max_pool2d_backward(_c32(dy), xv, pool_size, strides,
                                                   padding, data_format),)
        else:
            def backward(dy):
                return (native.avg_pool2d_backward(_c32(dy), xv.shape, pool_size, strides,
                                                   padding, data_format),)
    else:
        from ckeras.reference import pool as ref
        native.pool_output_shape(xv.shape, pool_size, strides, padding, data_format)
        dtype = xv.dtype
        if pool_mode == "max":
            y = ref.max_pool2d_forward(xv, pool_size, strides, padding,
                                       data_format).astype(dtype)

            def backward(dy):
                return (ref.max_pool2d_backward(dy, xv, pool_size, strides, padding,
                                                data_format).astype(dtype),)
        else:
            y = ref.avg_pool2d_forward(xv, pool_size, strides, padding,
                                       data_format).astype(dtype)

            def backward(dy):
                return (ref.avg_pool2d_backward(dy, xv.shape, pool_size, strides, padding,
                                                data_format).astype(dtype),)
    if not _tape.recording:
        return y
    return record(y, (x,), backward)


@op
def pool1d(x, pool_size, strides=1, padding="valid", data_format=None, pool_mode="max"):
    """1-D pooling over the steps axis of (N, steps, C) (or (N, C, steps))."""
    data_format = normalize_data_format(data_format)
    xv = array(x)
    if xv.ndim != 3:
        raise ValueError(f"pool1d needs a 3-D input, got shape {xv.shape}")
    axis = 1 if data_format == "channels_last" else 2
    y4 = pool2d.concrete(np.expand_dims(xv, axis), (1, pool_size), (1, strides), padding,
                         data_format, pool_mode)
    y = np.squeeze(y4, axis)
    if not _tape.recording:
        return y
    x4 = np.expand_dims(xv, axis)

    def backward(dy):
        return (_pool_backward(np.expand_dims(dy, axis), x4, (1, pool_size), (1, strides),
                               padding, data_format, pool_mode).reshape(xv.shape),)
    return record(y, (x,), backward)


def _pool_backward(dy, x4, pool_size, strides, padding, data_format, mode):
    if x4.dtype == np.float32:
        if mode == "max":
            return native.max_pool2d_backward(_c32(dy), _c32(x4), pool_size, strides,
                                              padding, data_format)
        return native.avg_pool2d_backward(_c32(dy), x4.shape, pool_size, strides, padding,
                                          data_format)
    from ckeras.reference import pool as ref
    if mode == "max":
        return ref.max_pool2d_backward(dy, x4, pool_size, strides, padding,
                                       data_format).astype(x4.dtype)
    return ref.avg_pool2d_backward(dy, x4.shape, pool_size, strides, padding,
                                   data_format).astype(x4.dtype)


def _spatial_axes(ndim, data_format):
    """The spatial axes of an (N, ..., C) or (N, C, ...) array."""
    return tuple(range(1, ndim - 1)) if data_format == "channels_last" else tuple(
        range(2, ndim))


@op
def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zero-pads the two spatial axes: padding ((top, bottom), (left, right))."""
    data_format = normalize_data_format(data_format)
    xv = array(x)
    pads = [(0, 0)] * xv.ndim
    for ax, p in zip(_spatial_axes(xv.ndim, data_format), padding):
        pads[ax] = tuple(p)
    y = np.pad(xv, pads)
    crop = tuple(slice(a, y.shape[i] - b) for i, (a, b) in enumerate(pads))
    return record(y, (x,), lambda dy: (np.ascontiguousarray(dy[crop]),))


@op
def cropping_2d(x, cropping=((0, 0), (0, 0)), data_format=None):
    """Removes ((top, bottom), (left, right)) cells of the spatial axes."""
    data_format = normalize_data_format(data_format)
    xv = array(x)
    pads = [(0, 0)] * xv.ndim
    for ax, c in zip(_spatial_axes(xv.ndim, data_format), cropping):
        pads[ax] = tuple(c)
    crop = tuple(slice(a, xv.shape[i] - b) for i, (a, b) in enumerate(pads))
    y = np.ascontiguousarray(xv[crop])
    return record(y, (x,), lambda dy: (np.pad(dy, pads),))


@op
def resize_images(x, height_factor, width_factor, data_format=None):
    """Nearest-neighbour upsampling: each spatial cell repeated
    height_factor x width_factor times (Keras 2's K.resize_images)."""
    data_format = normalize_data_format(data_format)
    xv = array(x)
    ah, aw = _spatial_axes(xv.ndim, data_format)
    y = np.repeat(np.repeat(xv, height_factor, axis=ah), width_factor, axis=aw)

    def backward(dy):
        shape = list(xv.shape)
        shape[aw:aw + 1] = [xv.shape[aw], width_factor]
        shape[ah:ah + 1] = [xv.shape[ah], height_factor]
        return (dy.reshape(shape).sum(axis=(ah + 1, aw + 2)),)
    return record(y, (x,), backward)
