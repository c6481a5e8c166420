"""Neural-network ops: activations, the fused Dense op, dropout, losses.

Activations and Dense are fused C kernels for float32 (``native``); other
dtypes (float64 for gradient checks) run the numpy twins below, which are
also the oracle the kernels are tested against. Every activation's
backward is written through its OUTPUT y, as the kernels do.
"""
import numpy as np

from ckeras.backend import config, native
from ckeras.backend import tape as _tape
from ckeras.backend.core import array, op, record
from ckeras.backend.math_ops import (clip, divide, log, mean, multiply, negative,
                                     subtract, sum)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _softmax_np(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_FORWARD = {
    "linear": lambda z, a: z,
    "relu": lambda z, a: np.maximum(z, 0),
    "elu": lambda z, a: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0))),
    "selu": lambda z, a: _SELU_SCALE * np.where(
        z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
    "softplus": lambda z, a: np.logaddexp(z, 0),
    "softsign": lambda z, a: z / (1 + np.abs(z)),
    "sigmoid": lambda z, a: 0.5 * (1 + np.tanh(0.5 * z)),
    "hard_sigmoid": lambda z, a: np.clip(0.2 * z + 0.5, 0, 1),
    "tanh": lambda z, a: np.tanh(z),
    "softmax": lambda z, a: _softmax_np(z),
}
# dz from dy and the output y
_BACKWARD = {
    "linear": lambda dy, y, a: dy,
    "relu": lambda dy, y, a: dy * (y > 0),
    "elu": lambda dy, y, a: dy * np.where(y > 0, 1, y + a),
    "selu": lambda dy, y, a: dy * np.where(y > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA),
    "softplus": lambda dy, y, a: dy * -np.expm1(-y),
    "softsign": lambda dy, y, a: dy * (1 - np.abs(y)) ** 2,
    "sigmoid": lambda dy, y, a: dy * y * (1 - y),
    "hard_sigmoid": lambda dy, y, a: dy * ((y > 0) & (y < 1)) * 0.2,
    "tanh": lambda dy, y, a: dy * (1 - y * y),
    "softmax": lambda dy, y, a: y * (dy - (dy * y).sum(axis=-1, keepdims=True)),
}
ACTIVATIONS = tuple(_FORWARD)


def _c(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


@op
def activation(x, name, alpha=1.0):
    """y = act(x) for a Keras 2 activation name (softmax on the last axis).
    float32 runs the C kernel; other float dtypes the numpy twin."""
    xv = array(x)
    if xv.dtype == np.float32:
        y = native.get("activation_forward")(_c(xv), name, alpha)
        if not _tape.recording:
            return y
        return record(y, (x,), lambda dy: (native.get("activation_backward")(
            _c(dy.astype(np.float32, copy=False)), y, name, alpha),))
    y = _FORWARD[name](xv, alpha)
    return record(y, (x,), lambda dy: (_BACKWARD[name](dy, y, alpha),))


def relu(x, alpha=0.0, max_value=None):
    """max(x, 0), leaky below 0 with `alpha`, capped at `max_value`."""
    if alpha == 0.0 and max_value is None:
        return activation(x, "relu")
    return _leaky_relu(x, alpha, max_value)


@op
def _leaky_relu(x, alpha, max_value):
    xv = array(x)
    y = np.where(xv > 0, xv, alpha * xv).astype(xv.dtype)
    if max_value is not None:
        y = np.minimum(y, max_value)
    slope = np.where(xv > 0, 1, alpha).astype(xv.dtype)
    if max_value is not None:
        slope = slope * (xv < max_value)
    return record(y, (x,), lambda dy: (dy * slope,))


def elu(x, alpha=1.0):
    return activation(x, "elu", alpha)


def selu(x):
    return activation(x, "selu")


def softplus(x):
    return activation(x, "softplus")


def softsign(x):
    return activation(x, "softsign")


def sigmoid(x):
    return activation(x, "sigmoid")


def hard_sigmoid(x):
    return activation(x, "hard_sigmoid")


def tanh(x):
    return activation(x, "tanh")


def softmax(x, axis=-1):
    if axis in (-1, None) or axis == np.ndim(array(x)) - 1:
        return activation(x, "softmax")
    from ckeras.backend.array_ops import permute_dimensions
    nd = np.ndim(array(x))
    perm = list(range(nd))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return permute_dimensions(activation(permute_dimensions(x, perm), "softmax"), perm)


def dense(x, kernel, bias=None, activation="linear", alpha=1.0):
    """The fused Dense op: act(x @ kernel + bias) on x's last axis.

    float32 runs one C kernel forward (dense_forward) and one backward
    (dense_backward, which accumulates into fresh buffers); other dtypes
    run the numpy twin. Not symbolic: layers call it on concrete values.
    """
    xv = x.value if hasattr(x, "value") else x
    W = kernel.value if hasattr(kernel, "value") else kernel
    b = None if bias is None else (bias.value if hasattr(bias, "value") else bias)
    shape = xv.shape
    if xv.ndim != 2:
        xv = xv.reshape(-1, shape[-1])
    if W.dtype == np.float32:
        if xv.dtype != np.float32:
            xv = xv.astype(np.float32)
        elif not xv.flags.c_contiguous:
            xv = np.ascontiguousarray(xv)
        y2 = native.get("dense_forward")(xv, W, b, activation, alpha)

        def backward(dy):
            dx, dW, db = native.get("dense_backward")(
                _c(dy.reshape(y2.shape).astype(np.float32, copy=False)), xv, W, y2,
                activation, alpha, has_bias=b is not None,
                need_dx=isinstance(x, Tensor))
            return (None if dx is None else dx.reshape(shape)), dW, db
    else:
        z = xv @ W
        if b is not None:
            z = z + b
        y2 = _FORWARD[activation](z, alpha)

        def backward(dy):
            # y = act(z), z = x @ W + b
            dz = _BACKWARD[activation](dy.reshape(y2.shape), y2, alpha)
            return ((dz @ W.T).reshape(shape), xv.T @ dz,
                    None if b is None else dz.sum(axis=0))
    y = y2 if len(shape) == 2 else y2.reshape(shape[:-1] + (W.shape[1],))
    if not _tape.recording:
        return y
    return record(y, (x, kernel, bias), backward)


from ckeras.backend.tensor import Tensor  # noqa: E402


@op
def bias_add(x, bias, data_format=None):
    xv, bv = array(x), array(bias)
    data_format = data_format or config.image_data_format()
    if data_format == "channels_first" and xv.ndim > 2:
        shape = (1, bv.shape[0]) + (1,) * (xv.ndim - 2)
        axes = (0,) + tuple(range(2, xv.ndim))
    else:
        shape = bv.shape
        axes = tuple(range(xv.ndim - bv.ndim))
    y = xv + bv.reshape(shape)
    return record(y, (x, bias), lambda dy: (dy, dy.sum(axis=axes).reshape(bv.shape)))


@op
def dropout(x, level, noise_shape=None, seed=None):
    """Inverted dropout: zeroes a `level` fraction, scales the rest.

    The mask comes from the dropout kernel's counter-based stream, named
    by a seed drawn from the backend's generator (K.set_random_seed), or
    from a generator of the op's own `seed` that advances call by call, as
    a seeded TensorFlow op gives a new, reproducible mask each run."""
    xv = array(x)
    shape = xv.shape if noise_shape is None else tuple(
        s if n is None else n for s, n in zip(xv.shape, noise_shape))
    stream = dropout_seed(seed)
    if shape == xv.shape and xv.dtype == np.float32 and xv.flags.c_contiguous:
        y, mask = native.dropout_forward(xv, float(level), stream)
    else:
        ones = np.ones(shape, np.float32)
        mask = native.dropout_forward(ones, float(level), stream)[1]
        mask = mask.astype(xv.dtype, copy=False)
        y = xv * mask
    return record(y, (x,), lambda dy: (dy * mask,))


_SEEDED = {}


def dropout_seed(seed=None):
    """A fresh 64-bit stream seed for one dropout mask: from the backend's
    generator, or from a generator kept per op-level `seed`."""
    if seed is None:
        rng = _rng()
    else:
        rng = _SEEDED.get(seed)
        if rng is None:
            rng = _SEEDED[seed] = np.random.default_rng(seed)
    return int(rng.bit_generator.random_raw())  # 64 raw bits, 5x cheaper than integers()


_RNG = []


def _rng():
    if not _RNG:
        _RNG.append(np.random.default_rng())
    return _RNG[0]


def set_random_seed(seed):
    """Seeds the generator behind dropout and the random initializers
    (and restarts the op-level seeded dropout streams)."""
    _RNG[:] = [np.random.default_rng(seed)]
    _SEEDED.clear()


def rng():
    return _rng()


@op
def l2_normalize(x, axis=None):
    from ckeras.backend.math_ops import maximum, sqrt, square
    norm = sqrt(maximum(sum(square(x), axis=axis, keepdims=True), 1e-12))
    return divide(x, norm)


# ---- losses as Keras 2's backend writes them --------------------------------

@op
def categorical_crossentropy(target, output, from_logits=False):
    """-sum(target * log(output)) over the last axis; output is renormalized
    and clipped to [epsilon, 1 - epsilon] unless from_logits."""
    if from_logits:
        from ckeras.backend.math_ops import logsumexp
        return negative(sum(multiply(target, subtract(output, logsumexp(
            output, axis=-1, keepdims=True))), axis=-1))
    eps = config.epsilon()
    output = divide(output, sum(output, axis=-1, keepdims=True))
    output = clip(output, eps, 1.0 - eps)
    return negative(sum(multiply(target, log(output)), axis=-1))


@op
def sparse_categorical_crossentropy(target, output, from_logits=False):
    from ckeras.backend.array_ops import one_hot, reshape
    tv = array(target).astype(np.int64)
    out_shape = np.shape(array(output))
    labels = one_hot(tv.reshape(out_shape[:-1]), out_shape[-1])
    return categorical_crossentropy(reshape(labels, out_shape), output, from_logits)


@op
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise -(t log p + (1 - t) log(1 - p)), p clipped as Keras."""
    from ckeras.backend.math_ops import add
    if from_logits:
        output = sigmoid(output)
    eps = config.epsilon()
    p = clip(output, eps, 1.0 - eps)
    return negative(add(multiply(target, log(p)),
                        multiply(subtract(1.0, target), log(subtract(1.0, p)))))


def in_train_phase(x, alt, training=None):
    """x when training, else alt (callables are called)."""
    from ckeras.backend import variables
    if training is None:
        training = variables.learning_phase()
    if hasattr(training, "_keras_shape"):  # the symbolic learning phase
        training = variables.learning_phase_value()
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    return in_train_phase(alt, x, training=training)
