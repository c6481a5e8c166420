"""TEST-ONLY numpy stand-ins for kernels that have not landed on this branch.

The engine calls ``activation_forward/backward`` and ``dense_forward/
backward`` from ``ckeras._native.kernels`` (branches act and dense). Until
those are merged, the test session installs these float32 numpy twins on
the kernels module so the engine's tests can run; ``install()`` does
nothing once the real kernels exist. The library itself never falls back.
"""
import warnings

import numpy as np

from ckeras.backend.nn_ops import _BACKWARD, _FORWARD


def activation_forward(x, activation, alpha=1.0, out=None):
    y = _FORWARD[activation](np.asarray(x, np.float32), np.float32(alpha))
    y = np.ascontiguousarray(y, dtype=np.float32)
    if out is not None:
        out[...] = y
        return out
    return y


def activation_backward(dy, y, activation, alpha=1.0, dx=None):
    g = _BACKWARD[activation](dy, y, np.float32(alpha)).astype(np.float32)
    if dx is None:
        return np.ascontiguousarray(g)
    dx += g
    return dx


def dense_forward(x, W, b, activation="linear", alpha=1.0, out=None):
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f"x {x.shape} and W {W.shape} do not match")
    z = x @ W
    if b is not None:
        z += b
    return activation_forward(z, activation, alpha, out)


def dense_backward(dy, x, W, y, activation="linear", alpha=1.0, has_bias=True,
                   need_dx=True, dx=None, dW=None, db=None, workspace=None):
    dz = _BACKWARD[activation](dy, y, np.float32(alpha)).astype(np.float32)
    dW = (dW if dW is not None else np.zeros_like(W))
    dW += x.T @ dz
    if has_bias:
        db = db if db is not None else np.zeros(W.shape[1], np.float32)
        db += dz.sum(axis=0)
    else:
        db = None
    if need_dx:
        dx = dx if dx is not None else np.zeros_like(x)
        dx += dz @ W.T
    else:
        dx = None
    return dx, dW, db


def install():
    from ckeras._native import kernels
    missing = [name for name in ("activation_forward", "activation_backward",
                                 "dense_forward", "dense_backward")
               if not hasattr(kernels, name)]
    for name in missing:
        setattr(kernels, name, globals()[name])
    if missing:
        warnings.warn(f"TEST-ONLY numpy stand-ins installed for missing kernels {missing}")
    return missing
