"""Reference of ck_activation_forward / ck_activation_backward.

Written the way Keras 2 (TensorFlow backend) computes each activation, in
the input's float dtype (float32 stays float32, float64 stays float64;
anything else becomes float64). The backward is expressed through the
forward output y only, as the kernel's is, and returns a fresh dx.
"""
import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805

NAMES = ('linear', 'relu', 'elu', 'selu', 'softplus', 'softsign', 'sigmoid',
         'hard_sigmoid', 'tanh', 'softmax')


def _float(x):
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def _check(activation):
    if activation not in NAMES:
        raise ValueError(f"unknown activation {activation!r}")


def softmax(x):
    """Over the last axis, with the row maximum subtracted (stable)."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def activation_forward(x, activation, alpha=1.0):
    """y = act(x) for a Keras 2 activation name."""
    _check(activation)
    x = _float(x)
    one = x.dtype.type(1)
    if activation == 'linear':
        return x.copy()
    if activation == 'relu':
        return np.maximum(x, 0)
    if activation == 'elu':
        return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(x))
    if activation == 'selu':
        a, s = x.dtype.type(SELU_ALPHA), x.dtype.type(SELU_SCALE)
        return s * np.where(x > 0, x, a * np.expm1(x))
    if activation == 'softplus':
        # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    if activation == 'softsign':
        return x / (one + np.abs(x))
    if activation == 'sigmoid':
        # 1 / (1 + e^-x), computed from e^-|x| so nothing overflows
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, one, e) / (one + e)
    if activation == 'hard_sigmoid':
        return np.clip(x.dtype.type(0.2) * x + x.dtype.type(0.5), 0, 1)
    if activation == 'tanh':
        return np.tanh(x)
    return softmax(x)


def activation_backward(dy, y, activation, alpha=1.0):
    """dx = dy * act'(x), with act' written through y = act(x)."""
    _check(activation)
    dy, y = _float(dy), _float(y)
    one = y.dtype.type(1)
    if activation == 'linear':
        return dy.copy()
    if activation == 'relu':
        return np.where(y > 0, dy, 0).astype(y.dtype)
    if activation == 'elu':
        # x <= 0: y = alpha (e^x - 1), so dy/dx = alpha e^x = y + alpha
        return dy * np.where(y > 0, one, y + y.dtype.type(alpha))
    if activation == 'selu':
        # x <= 0: y = scale alpha (e^x - 1), dy/dx = y + scale alpha
        s = y.dtype.type(SELU_SCALE)
        return dy * np.where(y > 0, s, y + s * y.dtype.type(SELU_ALPHA))
    if activation == 'softplus':
        # softplus' = sigmoid(x) = 1 - e^-y
        return dy * -np.expm1(-y)
    if activation == 'softsign':
        # 1 / (1 + |x|)^2, and 1 - |y| = 1 / (1 + |x|)
        return dy * (one - np.abs(y)) ** 2
    if activation == 'sigmoid':
        return dy * (y * (one - y))
    if activation == 'hard_sigmoid':
        return np.where((y > 0) & (y < 1), y.dtype.type(0.2) * dy,
                        0).astype(y.dtype)
    if activation == 'tanh':
        return dy * (one - y * y)
    # softmax: dx = y * (dy - sum(dy * y)) over the last axis
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
