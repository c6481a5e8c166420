"""References of the optimizer updates (src/kernels/optimizers.c).

Keras 2's update formulas (keras/optimizers.py, 2.x), evaluated in float32
numpy in the same operation order as the C kernels. Hyper-parameters are
taken as float32 scalars and their complements (1 - rho, 1 - beta) are
computed in float32, as the C kernels (and tf.keras) compute them. Unlike
the kernels, which update in place, these return the new arrays.
"""
import numpy as np

_F = np.float32


def _f32(*arrays):
    return [None if a is None else np.asarray(a, _F) for a in arrays]


def sgd(p, g, m, lr, momentum=0.0, nesterov=False):
    """Returns (new_p, new_m); new_m is None when m is None (momentum 0)."""
    p, g, m = _f32(p, g, m)
    lr, momentum = _F(lr), _F(momentum)
    if m is None:
        return p - lr * g, None
    v = momentum * m - lr * g  # velocity
    if nesterov:
        new_p = p + momentum * v - lr * g
    else:
        new_p = p + v
    return new_p, v


def rmsprop(p, g, a, lr, rho=0.9, eps=1e-7):
    """Returns (new_p, new_a)."""
    p, g, a = _f32(p, g, a)
    lr, rho, eps = _F(lr), _F(rho), _F(eps)
    new_a = rho * a + (_F(1) - rho) * np.square(g)
    new_p = p - lr * g / (np.sqrt(new_a) + eps)
    return new_p, new_a


def rmsprop_rows(p, indices, values, a, lr, rho=0.9, eps=1e-7):
    """rmsprop with the dense gradient that scatters values [n, D] into the
    rows indices [n] of the table p [V, D] (repeats add up, in index order);
    returns (new_p, new_a)."""
    g = np.zeros(np.shape(p), np.float32)
    np.add.at(g, np.asarray(indices), np.asarray(values, np.float32))
    return rmsprop(p, g, a, lr, rho, eps)


def adagrad(p, g, a, lr, eps=1e-7):
    """Returns (new_p, new_a)."""
    p, g, a = _f32(p, g, a)
    lr, eps = _F(lr), _F(eps)
    new_a = a + np.square(g)
    new_p = p - lr * g / (np.sqrt(new_a) + eps)
    return new_p, new_a


def adadelta(p, g, a, d, lr=1.0, rho=0.95, eps=1e-7):
    """Returns (new_p, new_a, new_d); d is Keras's delta accumulator."""
    p, g, a, d = _f32(p, g, a, d)
    lr, rho, eps = _F(lr), _F(rho), _F(eps)
    new_a = rho * a + (_F(1) - rho) * np.square(g)
    update = g * np.sqrt(d + eps) / np.sqrt(new_a + eps)
    new_p = p - lr * update
    new_d = rho * d + (_F(1) - rho) * np.square(update)
    return new_p, new_a, new_d


def adam_lr_t(lr, beta1, beta2, t):
    """Adam's bias-corrected step rate at step t >= 1 (Keras 2)."""
    return lr * (np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))


def adam(p, g, m, v, lr_t, beta1=0.9, beta2=0.999, eps=1e-7, vhat=None):
    """Returns (new_p, new_m, new_v, new_vhat); new_vhat is None unless
    vhat is given (amsgrad)."""
    p, g, m, v, vhat = _f32(p, g, m, v, vhat)
    lr_t, beta1, beta2, eps = _F(lr_t), _F(beta1), _F(beta2), _F(eps)
    m_t = (beta1 * m) + (_F(1) - beta1) * g
    v_t = (beta2 * v) + (_F(1) - beta2) * np.square(g)
    if vhat is None:
        p_t = p - lr_t * m_t / (np.sqrt(v_t) + eps)
        return p_t, m_t, v_t, None
    vhat_t = np.maximum(vhat, v_t)
    p_t = p - lr_t * m_t / (np.sqrt(vhat_t) + eps)
    return p_t, m_t, v_t, vhat_t
