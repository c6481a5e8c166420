"""Reference of the Dense kernels: y = act(x @ W + b).

Same contract as src/kernels/dense.c, computed in float64; backward returns
fresh gradients instead of accumulating.
"""
import numpy as np


# TEMPORARY until ckeras.reference.activations lands (branch act).
_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_FWD = {
    "linear": lambda z, a: z,
    "relu": lambda z, a: np.maximum(z, 0),
    "elu": lambda z, a: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0))),
    "selu": lambda z, a: _SELU_S * np.where(z > 0, z, _SELU_A * np.expm1(np.minimum(z, 0))),
    "softplus": lambda z, a: np.logaddexp(z, 0),
    "softsign": lambda z, a: z / (1 + np.abs(z)),
    "sigmoid": lambda z, a: 1 / (1 + np.exp(-z)),
    "hard_sigmoid": lambda z, a: np.clip(0.2 * z + 0.5, 0, 1),
    "tanh": lambda z, a: np.tanh(z),
    "softmax": lambda z, a: _softmax(z),
}
_BWD = {
    "linear": lambda dy, y, a: dy,
    "relu": lambda dy, y, a: dy * (y > 0),
    "elu": lambda dy, y, a: dy * np.where(y > 0, 1, y + a),
    "selu": lambda dy, y, a: dy * np.where(y > 0, _SELU_S, y + _SELU_S * _SELU_A),
    "softplus": lambda dy, y, a: dy * -np.expm1(-y),
    "softsign": lambda dy, y, a: dy * (1 - np.abs(y)) ** 2,
    "sigmoid": lambda dy, y, a: dy * y * (1 - y),
    "hard_sigmoid": lambda dy, y, a: dy * np.where((y > 0) & (y < 1), 0.2, 0),
    "tanh": lambda dy, y, a: dy * (1 - y * y),
    "softmax": lambda dy, y, a: y * (dy - (dy * y).sum(axis=-1, keepdims=True)),
}


class act_ref:  # noqa: N801
    @staticmethod
    def activation_forward(z, name, alpha):
        return _FWD[name](np.asarray(z, np.float64), alpha)

    @staticmethod
    def activation_backward(dy, y, name, alpha):
        return _BWD[name](np.asarray(dy, np.float64), np.asarray(y, np.float64), alpha)


def dense_forward(x, W, b, activation="linear", alpha=1.0):
    """y[N,U] = act(x[N,C] @ W[C,U] + b[U]); b may be None (no bias)."""
    z = np.asarray(x, np.float64) @ np.asarray(W, np.float64)
    if b is not None:
        z = z + np.asarray(b, np.float64)
    return act_ref.activation_forward(z, activation, alpha)


def dense_backward(dy, x, W, y, activation="linear", alpha=1.0,
                   has_bias=True, need_dx=True):
    """Returns (dx, dW, db): the gradients of sum(dy * y) with respect to x,
    W and b, given the forward output y. db is None when has_bias is False
    and dx is None when need_dx is False."""
    x = np.asarray(x, np.float64)
    W = np.asarray(W, np.float64)
    # y = act(z): dz = dy * act'(z), written through y
    dz = act_ref.activation_backward(dy, y, activation, alpha)
    # z = x @ W + b: each term's gradient
    dW = x.T @ dz
    db = dz.sum(axis=0) if has_bias else None
    dx = dz @ W.T if need_dx else None
    return dx, dW, db
