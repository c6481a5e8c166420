"""Every differentiable backend op: tape gradients against central finite
differences in float64 (one helper, one line per op), and the ops backed
by C kernels (activations, dense, 2-D dot) against their float64 twins."""
import numpy as np
import pytest

from ckeras import backend as K
from tests.gradcheck import assert_grads_match


def tape_backward(fn):
    """backward(dy, *inputs) for assert_grads_match, through the tape."""
    def backward(dy, *inputs):
        vs = [K.variable(x, dtype="float64") for x in inputs]
        with K.GradientTape() as tape:
            y = fn(*vs)
        return tuple(tape.gradient(y, vs, output_gradient=dy))
    return backward


def check_op(fn, *shapes, positive=False, seed=0, atol=1e-6):
    rng = np.random.default_rng(seed)
    inputs = [rng.uniform(0.5, 2.0, s) if positive else rng.standard_normal(s)
              for s in shapes]
    assert_grads_match(lambda *xs: np.asarray(fn(*xs)), tape_backward(fn), inputs,
                       atol=atol, rtol=1e-5)


def check_float32_matches_float64(fn, *shapes, tol=1e-4):
    """An op's float32 (kernel) path: output and tape gradients equal its
    float64 twin's to float32 precision."""
    rng = np.random.default_rng(1)
    values = [rng.standard_normal(s) for s in shapes]
    results = []
    for dtype in (np.float32, np.float64):
        vs = [K.variable(v, dtype=dtype) for v in values]
        with K.GradientTape() as tape:
            y = fn(*vs)
        dy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
        assert y.dtype == dtype
        results.append([y.value] + tape.gradient(y, vs, output_gradient=dy))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


OPS = {
    "add": (K.add, (3, 4), (4,)),
    "subtract": (K.subtract, (3, 4), (3, 1)),
    "multiply": (K.multiply, (2, 3), (2, 3)),
    "divide": (lambda a, b: K.divide(a, b), (2, 3), (1, 3)),
    "maximum": (K.maximum, (3, 4), (3, 4)),
    "minimum": (K.minimum, (3, 4), (3, 4)),
    "negative": (K.negative, (3,)),
    "abs": (K.abs, (4, 3)),
    "square": (K.square, (4, 3)),
    "sin": (K.sin, (5,)),
    "cos": (K.cos, (5,)),
    "exp": (K.exp, (2, 3)),
    "clip": (lambda x: K.clip(x, -0.5, 0.7), (4, 5)),
    "sum_axis": (lambda x: K.sum(x, axis=1), (3, 4, 2)),
    "sum_keep": (lambda x: K.sum(x, axis=(0, 2), keepdims=True), (3, 4, 2)),
    "mean": (lambda x: K.mean(x, axis=-1), (3, 5)),
    "mean_all": (K.mean, (3, 5)),
    "max": (lambda x: K.max(x, axis=0), (4, 3)),
    "min": (lambda x: K.min(x, axis=1, keepdims=True), (4, 3)),
    "var": (lambda x: K.var(x, axis=1), (3, 6)),
    "logsumexp": (lambda x: K.logsumexp(x, axis=-1), (3, 5)),
    "cumsum": (lambda x: K.cumsum(x, axis=1), (2, 5)),
    "dot_2d": (K.dot, (3, 4), (4, 5)),
    "dot_3d_2d": (K.dot, (2, 3, 4), (4, 5)),
    "dot_2d_3d": (K.dot, (3, 4), (2, 4, 5)),
    "dot_vec": (K.dot, (3, 4), (4,)),
    "batch_dot": (lambda a, b: K.batch_dot(a, b, axes=(2, 1)), (2, 3, 4), (2, 4, 5)),
    "batch_dot_2d": (lambda a, b: K.batch_dot(a, b, axes=1), (3, 4), (3, 4)),
    "reshape": (lambda x: K.reshape(x, (4, 3)), (2, 6)),
    "transpose": (K.transpose, (2, 5)),
    "permute": (lambda x: K.permute_dimensions(x, (2, 0, 1)), (2, 3, 4)),
    "expand_dims": (lambda x: K.expand_dims(x, 1), (2, 3)),
    "squeeze": (lambda x: K.squeeze(x, 1), (2, 1, 3)),
    "batch_flatten": (K.batch_flatten, (2, 3, 4)),
    "flatten": (K.flatten, (2, 3)),
    "concatenate": (lambda a, b: K.concatenate([a, b], axis=1), (2, 3), (2, 4)),
    "stack": (lambda a, b: K.stack([a, b], axis=1), (2, 3), (2, 3)),
    "repeat": (lambda x: K.repeat(x, 3), (2, 4)),
    "repeat_elements": (lambda x: K.repeat_elements(x, 2, axis=1), (2, 3)),
    "tile": (lambda x: K.tile(x, (2, 3)), (2, 3)),
    "reverse": (lambda x: K.reverse(x, 1), (2, 3)),
    "getitem": (lambda x: x[:, 1:3], (3, 4)),
    "gather": (lambda x: K.gather(x, np.array([0, 2, 2])), (4, 3)),
    "pow": (lambda x: K.pow(x, 3), (2, 3)),
    "operators": (lambda a, b: (a * 2 - b) / 3 + a * b, (2, 3), (2, 3)),
    "bias_add": (K.bias_add, (3, 4), (4,)),
    "l2_normalize": (lambda x: K.l2_normalize(x, axis=-1), (3, 4)),
    "relu": (lambda x: K.relu(x), (4, 5)),
    "leaky_relu": (lambda x: K.relu(x, alpha=0.1, max_value=1.0), (4, 5)),
    "elu": (lambda x: K.elu(x, 0.7), (4, 5)),
    "selu": (K.selu, (4, 5)),
    "softplus": (K.softplus, (4, 5)),
    "softsign": (K.softsign, (4, 5)),
    "sigmoid": (K.sigmoid, (4, 5)),
    "hard_sigmoid": (K.hard_sigmoid, (4, 5)),
    "tanh": (K.tanh, (4, 5)),
    "softmax": (K.softmax, (3, 5)),
    "softmax_axis1": (lambda x: K.softmax(x, axis=1), (2, 3, 4)),
    "dense_linear": (lambda x, w, b: K.dense(x, w, b), (3, 4), (4, 5), (5,)),
    "dense_tanh": (lambda x, w, b: K.dense(x, w, b, "tanh"), (3, 4), (4, 5), (5,)),
    "dense_softmax_3d": (lambda x, w: K.dense(x, w, None, "softmax"), (2, 3, 4), (4, 5)),
    "binary_crossentropy": (lambda t, p: K.binary_crossentropy(t, K.sigmoid(p)),
                            (3, 4), (3, 4)),
    "categorical_crossentropy": (lambda t, p: K.categorical_crossentropy(
        K.softmax(t), K.softmax(p)), (3, 4), (3, 4)),
    "categorical_crossentropy_logits": (lambda t, p: K.categorical_crossentropy(
        K.softmax(t), p, from_logits=True), (3, 4), (3, 4)),
    "user_loss": (lambda t, p: K.mean(K.square(p - t), axis=-1), (3, 4), (3, 4)),
}
POSITIVE = {"sqrt": (K.sqrt, (3, 4)), "log": (K.log, (3, 4)),
            "prod": (lambda x: K.prod(x, axis=1), (3, 4)),
            "std": (lambda x: K.std(x, axis=0), (4, 3)),
            "pow_tensor": (lambda x, a: K.pow(x, a), (2, 3), (2, 3))}


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradient_matches_finite_differences(name):
    fn, *shapes = OPS[name]
    check_op(fn, *shapes)


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_gradient_matches_finite_differences_positive(name):
    fn, *shapes = POSITIVE[name]
    check_op(fn, *shapes, positive=True)


def test_checker_catches_a_wrong_gradient():
    def wrong(dy, x):
        return (dy * 2.001 * x,)  # d(x^2) is 2x
    with pytest.raises(AssertionError):
        assert_grads_match(lambda x: x * x, wrong, [np.ones((2, 3))])


@pytest.mark.parametrize("name", K.ACTIVATIONS)
def test_activation_kernel_matches_float64_twin(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 7))
    dy = rng.standard_normal((5, 7))
    y64 = K.activation(x, name)
    y32 = K.activation(x.astype(np.float32), name)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    grads = []
    for dtype in (np.float32, np.float64):
        v = K.variable(x, dtype=dtype)
        with K.GradientTape() as tape:
            y = K.activation(v, name)
        grads.append(tape.gradient(y, v, output_gradient=dy.astype(dtype)))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["linear", "relu", "softmax", "sigmoid"])
@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_kernel_matches_float64_twin(act, shape, bias):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    W = rng.standard_normal((shape[-1], 4))
    b = rng.standard_normal(4) if bias else None
    out_shape = shape[:-1] + (4,)
    dy = rng.standard_normal(out_shape)
    results = []
    for dtype in (np.float32, np.float64):
        vs = [K.variable(a, dtype=dtype) for a in (x, W)] + (
            [K.variable(b, dtype=dtype)] if bias else [])
        with K.GradientTape() as tape:
            y = K.dense(vs[0], vs[1], vs[2] if bias else None, act)
        assert y.shape == out_shape and y.dtype == dtype
        results.append([y.value] + tape.gradient(y, vs, output_gradient=dy.astype(dtype)))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_dot_float32_uses_sgemm_and_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 9)).astype(np.float32)
    b = rng.standard_normal((9, 4)).astype(np.float32)
    np.testing.assert_allclose(K.dot(a, b), a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
