"""Reference of depthwise.c: depthwise Conv2D forward/backward.

Direct sum over the kh*kw window taps of shifted slices of the padded
input (the same tap slicing as the Conv2D reference). W (kh, kw, C, M);
output channel c*M + m is input channel c filtered by W[:, :, c, m];
b (C*M,). TensorFlow's padding (conv.axis_geometry). Works in float64.
"""
import numpy as np

from ckeras.reference.conv import _from_nhwc, _nhwc, _setup, _tap


def depthwise_conv2d_forward(x, W, b=None, strides=(1, 1), padding="valid",
                             dilation=(1, 1), data_format="channels_last"):
    """y (N, OH, OW, C*M) or (N, C*M, OH, OW)."""
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    Wt = np.asarray(W, np.float64)
    kh, kw, C, M = Wt.shape
    OH, OW, pads = _setup(xs, kh, kw, strides, padding, dilation)
    xp = np.pad(xs, pads)
    y = np.zeros((xs.shape[0], OH, OW, C, M))
    for i in range(kh):
        for j in range(kw):
            y += _tap(xp, i, j, OH, OW, strides, dilation)[..., None] * Wt[i, j]
    y = y.reshape(xs.shape[0], OH, OW, C * M)
    if b is not None:
        y += np.asarray(b, np.float64)
    return _from_nhwc(y, data_format)


def depthwise_conv2d_backward(dy, x, W, strides=(1, 1), padding="valid",
                              dilation=(1, 1), data_format="channels_last",
                              has_bias=True):
    """Fresh (dx, dW, db); db None without bias."""
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    Wt = np.asarray(W, np.float64)
    kh, kw, C, M = Wt.shape
    OH, OW, pads = _setup(xs, kh, kw, strides, padding, dilation)
    dz = _nhwc(np.asarray(dy, np.float64), data_format)
    db = dz.sum(axis=(0, 1, 2)) if has_bias else None
    dz = dz.reshape(dz.shape[:3] + (C, M))
    xp = np.pad(xs, pads)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(Wt)
    for i in range(kh):
        for j in range(kw):
            # forward: y[..., c, m] += x_tap[..., c] * W[i, j, c, m]
            dW[i, j] = np.einsum("nhwc,nhwcm->cm",
                                 _tap(xp, i, j, OH, OW, strides, dilation), dz)
            _tap(dxp, i, j, OH, OW, strides, dilation)[...] += np.einsum(
                "nhwcm,cm->nhwc", dz, Wt[i, j])
    N, H, Wd, _ = xs.shape
    dx = dxp[:, pads[1][0]:pads[1][0] + H, pads[2][0]:pads[2][0] + Wd]
    return _from_nhwc(dx, data_format), dW, db
