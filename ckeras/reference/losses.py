"""Reference of the loss kernels (ck_softmax_xent_*, ck_bce_*,
ck_sigmoid_bce_*, ck_mse_*).

Written the way Keras 2's TensorFlow backend computes each loss, in the
inputs' float dtype (float32 stays float32, float64 stays float64). Every
forward returns one loss per sample (row); every backward takes dloss (N,),
the gradient of the objective with respect to each sample's loss, and
returns a fresh gradient.
"""
import numpy as np

from ckeras.reference.activations import softmax


def _float(*xs):
    out = []
    for x in xs:
        x = np.asarray(x)
        out.append(x if x.dtype in (np.float32, np.float64)
                   else x.astype(np.float64))
    return out


def _col(dloss):
    return np.asarray(dloss)[:, None]


def softmax_xent_forward(z, t, eps=1e-7):
    """(loss, probs): probs = softmax(z); loss as Keras 2's
    categorical_crossentropy: normalise, clip to [eps, 1-eps],
    -sum t log p."""
    z, t = _float(z, t)
    eps = z.dtype.type(eps)
    probs = softmax(z)
    p = probs / np.sum(probs, axis=-1, keepdims=True)
    p = np.clip(p, eps, 1 - eps)
    return -np.sum(t * np.log(p), axis=-1), probs


def softmax_xent_backward(dloss, probs, t, eps=1e-7):
    """dz = dloss * (p sum_c(m t) - m t), m = (eps <= p <= 1-eps).

    With L = -sum_c t_c log(clip(p_c)) and p = softmax(z):
    dL/dp_c = -m_c t_c / p_c, dp_c/dz_j = p_c (delta_cj - p_j), so
    dL/dz_j = -m_j t_j + p_j sum_c m_c t_c.
    """
    probs, t = _float(probs, t)
    eps = probs.dtype.type(eps)
    mt = np.where((probs >= eps) & (probs <= 1 - eps), t, 0).astype(t.dtype)
    return _col(dloss) * (probs * np.sum(mt, axis=-1, keepdims=True) - mt)


def sigmoid_xent_with_logits(l, t):
    """TensorFlow's sigmoid_cross_entropy_with_logits:
    max(l, 0) - l t + log1p(e^-|l|)."""
    return np.maximum(l, 0) - l * t + np.log1p(np.exp(-np.abs(l)))


def bce_forward(p, t, eps=1e-7):
    """Keras 2's binary_crossentropy: clip p, logit, sigmoid cross-entropy
    with logits, mean over the last axis."""
    p, t = _float(p, t)
    eps = p.dtype.type(eps)
    pc = np.clip(p, eps, 1 - eps)
    return np.mean(sigmoid_xent_with_logits(np.log(pc / (1 - pc)), t), axis=-1)


def bce_backward(dloss, p, t, eps=1e-7):
    """dp = dloss / C * m (p - t) / (p (1 - p)), m = (eps <= p <= 1-eps):
    d/dl of the sigmoid cross-entropy is sigmoid(l) - t = pc - t, and
    dl/dpc = 1 / (pc (1 - pc)); the clip passes the gradient where m."""
    p, t = _float(p, t)
    eps = p.dtype.type(eps)
    m = (p >= eps) & (p <= 1 - eps)
    with np.errstate(divide='ignore', invalid='ignore'):
        g = (p - t) / (p * (1 - p))
    return np.where(m, _col(dloss) / p.shape[-1] * g, 0).astype(p.dtype)


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1, e) / (1 + e)


def sigmoid_bce_forward(z, t, eps=1e-7):
    """(loss, probs): probs = sigmoid(z), loss = bce_forward(probs, t)."""
    z, t = _float(z, t)
    probs = sigmoid(z)
    return bce_forward(probs, t, eps), probs


def sigmoid_bce_backward(dloss, probs, t, eps=1e-7):
    """dz = dloss / C * m (probs - t): bce_backward times
    dprobs/dz = probs (1 - probs)."""
    probs, t = _float(probs, t)
    eps = probs.dtype.type(eps)
    m = (probs >= eps) & (probs <= 1 - eps)
    return np.where(m, _col(dloss) / probs.shape[-1] * (probs - t),
                    0).astype(probs.dtype)


def mse_forward(yp, yt):
    """Keras 2's mean_squared_error: mean over the last axis."""
    yp, yt = _float(yp, yt)
    return np.mean(np.square(yp - yt), axis=-1)


def mse_backward(dloss, yp, yt):
    """dyp = dloss * 2 (yp - yt) / C."""
    yp, yt = _float(yp, yt)
    return _col(dloss) * 2 * (yp - yt) / yp.shape[-1]
