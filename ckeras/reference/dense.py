"""Reference of the Dense kernels: y = act(x @ W + b).

Same contract as src/kernels/dense.c, computed in float64; backward returns
fresh gradients instead of accumulating.
"""
import numpy as np

from ckeras.reference import activations as act_ref


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
    dz = act_ref.activation_backward(np.asarray(dy, np.float64),
                                     np.asarray(y, np.float64), activation,
                                     alpha)
    # z = x @ W + b: each term's gradient
    dW = x.T @ dz
    db = dz.sum(axis=0) if has_bias else None
    dx = dz @ W.T if need_dx else None
    return dx, dW, db
