"""Reference of pool.c: 2-D max and average pooling, forward and backward.

TensorFlow's padding (as ckeras.reference.conv.axis_geometry, dilation 1);
padding taps are ignored: max over the valid taps (padding is -inf),
average over the count of valid taps. Max backward routes dy to the first
maximal tap of each window in row-major scan order (TensorFlow's rule).
Works in float64; x is (N, H, W, C) or (N, C, H, W).
"""
import numpy as np

from ckeras.reference.conv import _from_nhwc, _nhwc, axis_geometry


def _windows(a, pool_size, strides, padding, fill):
    """Padded a (N, H, W, C) and its windows (N, OH, OW, kh*kw, C) as a
    copy, plus the pads."""
    kh, kw = pool_size
    sh, sw = strides
    N, H, W, C = a.shape
    OH, pt, pb = axis_geometry(H, kh, sh, 1, padding)
    OW, pl, pr = axis_geometry(W, kw, sw, 1, padding)
    ap = np.pad(a, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    taps = [ap[:, i:i + (OH - 1) * sh + 1:sh, j:j + (OW - 1) * sw + 1:sw]
            for i in range(kh) for j in range(kw)]
    return np.stack(taps, axis=3), (pt, pb, pl, pr), (OH, OW)


def _args(x, pool_size, strides, data_format):
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    return xs, tuple(pool_size), tuple(pool_size if strides is None else strides)


def max_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid",
                       data_format="channels_last"):
    xs, ps, st = _args(x, pool_size, strides, data_format)
    win, _, _ = _windows(xs, ps, st, padding, -np.inf)
    return _from_nhwc(win.max(axis=3), data_format)


def avg_pool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid",
                       data_format="channels_last"):
    xs, ps, st = _args(x, pool_size, strides, data_format)
    win, _, _ = _windows(xs, ps, st, padding, 0.0)
    count, _, _ = _windows(np.ones_like(xs[:1, :, :, :1]), ps, st, padding, 0.0)
    return _from_nhwc(win.sum(axis=3) / count.sum(axis=3), data_format)


def _scatter(dwin, shape, pool_size, strides, pads, out_hw):
    """Adjoint of _windows: sums window gradients (N, OH, OW, kh*kw, C)
    back onto the unpadded input (N, H, W, C)."""
    kh, kw = pool_size
    sh, sw = strides
    pt, pb, pl, pr = pads
    OH, OW = out_hw
    N, H, W, C = shape
    dp = np.zeros((N, H + pt + pb, W + pl + pr, C))
    for i in range(kh):
        for j in range(kw):
            dp[:, i:i + (OH - 1) * sh + 1:sh, j:j + (OW - 1) * sw + 1:sw] += \
                dwin[:, :, :, i * kw + j]
    return dp[:, pt:pt + H, pl:pl + W]


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None,
                        padding="valid", data_format="channels_last"):
    """Fresh dx: dy goes to the first maximal tap of each window."""
    xs, ps, st = _args(x, pool_size, strides, data_format)
    win, pads, out_hw = _windows(xs, ps, st, padding, -np.inf)
    first = win.argmax(axis=3)  # first occurrence of the maximum
    onehot = np.arange(win.shape[3])[None, None, None, :, None] == first[:, :, :, None]
    d = _nhwc(np.asarray(dy, np.float64), data_format)
    dwin = onehot * d[:, :, :, None, :]
    return _from_nhwc(_scatter(dwin, xs.shape, ps, st, pads, out_hw), data_format)


def avg_pool2d_backward(dy, x_shape, pool_size=(2, 2), strides=None,
                        padding="valid", data_format="channels_last"):
    """Fresh dx: dy / count on each valid tap."""
    shape = tuple(x_shape)
    if data_format == "channels_first":
        shape = (shape[0], shape[2], shape[3], shape[1])
    ps = tuple(pool_size)
    st = tuple(pool_size if strides is None else strides)
    ones = np.ones((1, shape[1], shape[2], 1))
    count, pads, out_hw = _windows(ones, ps, st, padding, 0.0)
    d = _nhwc(np.asarray(dy, np.float64), data_format)
    dwin = np.broadcast_to((d / count.sum(axis=3))[:, :, :, None, :],
                           d.shape[:3] + (len(count[0, 0, 0]),) + d.shape[3:])
    # padding taps receive gradient here but are cropped by _scatter
    return _from_nhwc(_scatter(dwin, shape, ps, st, pads, out_hw), data_format)
