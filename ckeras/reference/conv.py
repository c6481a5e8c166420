"""Reference of conv.c: im2col, col2im and Conv2D forward/backward.

Direct convolution (a sum over the kh*kw window taps of shifted slices of
the padded input), not im2col, so it checks the C kernel's im2col + GEMM
route independently. TensorFlow's padding: 'valid' pads nothing; 'same'
gives ceil(in/stride) outputs and pads max((out-1)*stride + (k-1)*dilation
+ 1 - in, 0) in total, the smaller half before; 'causal' pads
(k-1)*dilation before only (Keras's Conv1D, here on both axes).
Weights in Keras layout: W (kh, kw, C, K), b (K,). Works in float64.
"""
import numpy as np

from ckeras.reference import activations as act_ref


def axis_geometry(size, k, stride, dilation, padding):
    """(output size, pad before, pad after) of one spatial axis."""
    span = (k - 1) * dilation + 1
    if padding == "valid":
        out = (size - span) // stride + 1
        before = 0
    elif padding == "same":
        out = -(-size // stride)
        before = max((out - 1) * stride + span - size, 0) // 2
    elif padding == "causal":
        out = -(-size // stride)
        before = span - 1
    else:
        raise ValueError(f"unknown padding {padding!r}")
    after = max((out - 1) * stride + span - size - before, 0)
    return out, before, after


def _nhwc(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def _from_nhwc(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, -1, 1)


def _setup(x_nhwc, kh, kw, strides, padding, dilation):
    N, H, W, C = x_nhwc.shape
    OH, pt, pb = axis_geometry(H, kh, strides[0], dilation[0], padding)
    OW, pl, pr = axis_geometry(W, kw, strides[1], dilation[1], padding)
    return OH, OW, ((0, 0), (pt, pb), (pl, pr), (0, 0))


def _tap(a, i, j, OH, OW, strides, dilation):
    """The slice of padded a read by window tap (i, j): (N, OH, OW, C)."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return a[:, r0:r0 + (OH - 1) * strides[0] + 1:strides[0],
             c0:c0 + (OW - 1) * strides[1] + 1:strides[1], :]


def im2col(x, kernel_size, strides=(1, 1), padding="valid", dilation=(1, 1),
           data_format="channels_last"):
    """cols (N*OH*OW, kh*kw*C): rows (n, oh, ow), columns (i, j, c)."""
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    kh, kw = kernel_size
    OH, OW, pads = _setup(xs, kh, kw, strides, padding, dilation)
    xp = np.pad(xs, pads)
    taps = [_tap(xp, i, j, OH, OW, strides, dilation)
            for i in range(kh) for j in range(kw)]
    cols = np.stack(taps, axis=3)  # (N, OH, OW, kh*kw, C)
    return cols.reshape(xs.shape[0] * OH * OW, -1)


def col2im(dcols, x_shape, kernel_size, strides=(1, 1), padding="valid",
           dilation=(1, 1), data_format="channels_last"):
    """The adjoint of im2col: a fresh dx of x_shape."""
    shape = tuple(x_shape)
    if data_format == "channels_first":
        shape = (shape[0], shape[2], shape[3], shape[1])
    kh, kw = kernel_size
    N, H, W, C = shape
    OH, OW, pads = _setup(np.empty(shape), kh, kw, strides, padding, dilation)
    d = np.asarray(dcols, np.float64).reshape(N, OH, OW, kh, kw, C)
    dxp = np.zeros((N, H + pads[1][0] + pads[1][1],
                    W + pads[2][0] + pads[2][1], C))
    for i in range(kh):
        for j in range(kw):
            _tap(dxp, i, j, OH, OW, strides, dilation)[...] += d[:, :, :, i, j]
    dx = dxp[:, pads[1][0]:pads[1][0] + H, pads[2][0]:pads[2][0] + W]
    return _from_nhwc(dx, data_format)


def conv2d_forward(x, W, b=None, strides=(1, 1), padding="valid",
                   dilation=(1, 1), data_format="channels_last",
                   activation="linear", alpha=1.0):
    """y = act(conv(x, W) + b): (N, OH, OW, K) or (N, K, OH, OW); the
    activation acts on the output's last axis, as Keras 2 applies it."""
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    Wt = np.asarray(W, np.float64)
    kh, kw = Wt.shape[:2]
    OH, OW, pads = _setup(xs, kh, kw, strides, padding, dilation)
    xp = np.pad(xs, pads)
    y = np.zeros((xs.shape[0], OH, OW, Wt.shape[3]))
    for i in range(kh):
        for j in range(kw):
            y += _tap(xp, i, j, OH, OW, strides, dilation) @ Wt[i, j]
    if b is not None:
        y += np.asarray(b, np.float64)
    return act_ref.activation_forward(_from_nhwc(y, data_format), activation,
                                      alpha)


def conv2d_backward(dy, x, W, y=None, strides=(1, 1), padding="valid",
                    dilation=(1, 1), data_format="channels_last",
                    activation="linear", alpha=1.0, has_bias=True):
    """Fresh (dx, dW, db) of y = conv2d_forward(x, W, b); db None without
    bias. y, the forward output, gives act' (it may be None for linear)."""
    dy = np.asarray(dy, np.float64)
    if activation != "linear":
        # y = act(z): dz = dy * act'(z), written through y
        dy = act_ref.activation_backward(dy, np.asarray(y, np.float64),
                                         activation, alpha)
    dz = _nhwc(dy, data_format)
    xs = _nhwc(np.asarray(x, np.float64), data_format)
    Wt = np.asarray(W, np.float64)
    kh, kw = Wt.shape[:2]
    OH, OW, pads = _setup(xs, kh, kw, strides, padding, dilation)
    xp = np.pad(xs, pads)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(Wt)
    for i in range(kh):
        for j in range(kw):
            xt = _tap(xp, i, j, OH, OW, strides, dilation)
            # forward: y += x_tap @ W[i, j]
            dW[i, j] = np.einsum("nhwc,nhwk->ck", xt, dz)
            _tap(dxp, i, j, OH, OW, strides, dilation)[...] += dz @ Wt[i, j].T
    N, H, Wd, C = xs.shape
    dx = dxp[:, pads[1][0]:pads[1][0] + H, pads[2][0]:pads[2][0] + Wd]
    db = dz.sum(axis=(0, 1, 2)) if has_bias else None
    return _from_nhwc(dx, data_format), dW, db


def deconv_length(size, stride, k, padding, output_padding=None, dilation=1):
    """Keras 2's conv_utils.deconv_length (one axis of Conv2DTranspose)."""
    span = (k - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(span - stride, 0)
        return size * stride
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


def _transpose_y_shape(x, W, output_size, strides, padding, dilation,
                       data_format):
    if data_format == "channels_last":
        N, H, Wd, _ = x.shape
    else:
        N, _, H, Wd = x.shape
    kh, kw, F, _ = W.shape
    if output_size is None:
        output_size = (deconv_length(H, strides[0], kh, padding, None, dilation[0]),
                       deconv_length(Wd, strides[1], kw, padding, None, dilation[1]))
    oh, ow = output_size
    return (N, oh, ow, F) if data_format == "channels_last" else (N, F, oh, ow)


def conv2d_transpose_forward(x, W, b=None, output_size=None, strides=(1, 1),
                             padding="valid", dilation=(1, 1),
                             data_format="channels_last", activation="linear",
                             alpha=1.0):
    """y = act(conv2d_transpose(x, W) + b): the input gradient of the Conv2D
    from y (output_size) to x, with kernel W (kh, kw, filters, in)."""
    x = np.asarray(x, np.float64)
    Wt = np.asarray(W, np.float64)
    shape = _transpose_y_shape(x, Wt, output_size, strides, padding, dilation,
                               data_format)
    y = conv2d_backward(x, np.zeros(shape), Wt, None, strides, padding, dilation,
                        data_format, has_bias=False)[0]
    if b is not None:
        b = np.asarray(b, np.float64)
        y = y + (b if data_format == "channels_last" else b.reshape(-1, 1, 1))
    return act_ref.activation_forward(y, activation, alpha)


def conv2d_transpose_backward(dy, x, W, y=None, strides=(1, 1), padding="valid",
                              dilation=(1, 1), data_format="channels_last",
                              activation="linear", alpha=1.0, has_bias=True):
    """Fresh (dx, dW, db) of y = conv2d_transpose_forward(x, W, b)."""
    dz = np.asarray(dy, np.float64)
    if activation != "linear":
        dz = act_ref.activation_backward(dz, np.asarray(y, np.float64), activation,
                                         alpha)
    x = np.asarray(x, np.float64)
    Wt = np.asarray(W, np.float64)
    geo = dict(strides=strides, padding=padding, dilation=dilation,
               data_format=data_format)
    # forward: y = col2im(x W^T), the dx of conv2d(y) -> x: adjoints swap
    dx = conv2d_forward(dz, Wt, **geo)
    dW = conv2d_backward(x, dz, Wt, **geo, has_bias=False)[1]
    axes = (0, 1, 2) if data_format == "channels_last" else (0, 2, 3)
    db = dz.sum(axis=axes) if has_bias else None
    return dx, dW, db
