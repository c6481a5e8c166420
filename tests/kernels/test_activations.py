"""ck_activation_forward / backward against the numpy reference, their
accuracy against float64 truth, and the reference against finite
differences."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import activations as ref
from tests.gradcheck import assert_grads_match

NAMES = ref.NAMES
SHAPES = [(1,), (1, 1), (7,), (3, 5), (2, 3, 33), (4, 1), (65, 129),
          (32768 + 9,), (3, 40000), (5000, 13)]


def data(shape, seed=0, scale=4.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def ulp(truth):
    """The float32 spacing at each float64 value (at least the smallest
    normal's), the unit of the accuracy checks."""
    a = np.maximum(np.abs(truth), np.finfo(np.float32).tiny).astype(np.float32)
    return np.spacing(a).astype(np.float64)


def max_ulp_error(got, truth):
    return float(np.max(np.abs(got.astype(np.float64) - truth) / ulp(truth)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_reference(name, shape):
    x = data(shape)
    got = kernels.activation_forward(x, name, alpha=0.7)
    assert got.shape == x.shape and got.dtype == np.float32
    want = ref.activation_forward(x.astype(np.float64), name, alpha=0.7)
    # hard_sigmoid's 0.2 x + 0.5 cancels near x = -2.5 in float32 (as in
    # Keras): absolute error only; it equals the float32 reference exactly
    atol = 6e-8 if name == 'hard_sigmoid' else 1e-37
    # softmax: x - max rounds in float32 (as in Keras), an error of up to
    # |x - max| * 2^-24 in the exponent
    rtol = 3e-6 if name == 'softmax' else 4e-7
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    if name in ('linear', 'relu', 'hard_sigmoid', 'softsign'):
        assert np.array_equal(got, ref.activation_forward(x, name))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_reference_and_accumulates(name, shape):
    x, dy = data(shape), data(shape, seed=1, scale=1.0)
    y = kernels.activation_forward(x, name, alpha=0.7)
    dx0 = data(shape, seed=2, scale=1.0)
    got = kernels.activation_backward(dy, y, name, alpha=0.7, dx=dx0.copy())
    grad = ref.activation_backward(dy.astype(np.float64), y.astype(np.float64),
                                   name, alpha=0.7)
    np.testing.assert_allclose(got, dx0 + grad, rtol=1e-6, atol=1e-6)
    fresh = kernels.activation_backward(dy, y, name, alpha=0.7)
    # softmax: dy - sum(dy * y) rounds at the size of dy
    atol = 1e-6 if name == 'softmax' else 1e-7
    np.testing.assert_allclose(fresh, grad, rtol=1e-6, atol=atol)


@pytest.mark.parametrize("name", NAMES)
def test_forward_in_place(name):
    x = data((33, 17))
    want = kernels.activation_forward(x, name)
    got = kernels.activation_forward(x, name, out=x)
    assert got is x
    assert np.array_equal(x, want)


# float64 truth for the accuracy sweeps
TRUTH = {
    'sigmoid': lambda x: np.exp(-np.logaddexp(0.0, -x)),
    'tanh': np.tanh,
    'softplus': lambda x: np.logaddexp(0.0, x),
    'elu': lambda x: np.where(x > 0, x, np.expm1(x)),
    'selu': lambda x: ref.SELU_SCALE * np.where(x > 0, x,
                                                ref.SELU_ALPHA * np.expm1(x)),
}


@pytest.mark.parametrize("name", sorted(TRUTH))
@pytest.mark.parametrize("lo,hi", [(-100.0, 100.0), (-4.0, 4.0),
                                   (-1e-3, 1e-3)])
def test_elementwise_accuracy_within_3_ulp(name, lo, hi):
    x = np.linspace(lo, hi, 100001, dtype=np.float32)
    got = kernels.activation_forward(x, name)
    truth = TRUTH[name](x.astype(np.float64))
    # denormal results are flushed to zero by the kernels
    normal = np.abs(truth) >= np.finfo(np.float32).tiny
    assert np.all(got[~normal] == 0) or np.all(np.abs(got[~normal]) < 1e-37)
    # selu's scale * alpha * expm1 has three roundings in float32
    limit = 3.0 if name != 'selu' else 4.0
    assert max_ulp_error(got[normal], truth[normal]) <= limit


def test_softplus_backward_accuracy():
    x = np.linspace(-80, 80, 100001, dtype=np.float32)
    y = kernels.activation_forward(x, 'softplus')
    got = kernels.activation_backward(np.ones_like(y), y, 'softplus')
    truth = -np.expm1(-y.astype(np.float64))
    normal = truth >= np.finfo(np.float32).tiny
    assert max_ulp_error(got[normal], truth[normal]) <= 3.0


def test_softmax_accuracy_and_rows_sum_to_one():
    x = data((50, 1001), scale=30.0)
    x[0] = np.linspace(-5, 5, 1001)  # many terms of one size
    got = kernels.activation_forward(x, 'softmax')
    # truth from the float32 differences x - max, which Keras rounds too
    shifted = (x - x.max(axis=-1, keepdims=True)).astype(np.float64)
    truth = ref.softmax(shifted)
    normal = truth >= np.finfo(np.float32).tiny
    assert max_ulp_error(got[normal], truth[normal]) <= 4.0
    np.testing.assert_allclose(got.sum(axis=-1, dtype=np.float64), 1.0,
                               rtol=1e-5)


def test_extreme_inputs_do_not_overflow_to_nan():
    big = np.float32(3e38)
    x = np.array([-np.inf, -big, -1e4, -89, -88, 88, 89, 1e4, big, np.inf],
                 np.float32)
    finite = x[1:-1]
    for name in NAMES:
        # no NaN from finite input; softmax of a row holding +inf is NaN,
        # as in Keras (inf - inf), but -inf logits are fine
        for v in (finite, x[:-1]) if name == 'softmax' else (finite, x):
            y = kernels.activation_forward(v[None, :], name)
            assert not np.isnan(y).any(), name
    out = {n: kernels.activation_forward(x, n) for n in NAMES}
    np.testing.assert_array_equal(out['sigmoid'][[0, 1, -2, -1]], [0, 0, 1, 1])
    np.testing.assert_array_equal(out['tanh'][[0, 1, -2, -1]], [-1, -1, 1, 1])
    np.testing.assert_array_equal(out['softplus'][[0, 1, -2, -1]],
                                  [0, 0, big, np.inf])
    np.testing.assert_array_equal(out['elu'][[0, 1]], [-1, -1])
    np.testing.assert_array_equal(out['softsign'][[1, -2]], [-1, 1])
    soft = kernels.activation_forward(x[:-1], 'softmax')
    assert soft[-1] == 1 and soft[:-1].sum() == 0  # the largest wins
    assert np.isnan(out['softmax']).all()
    nan = kernels.activation_forward(np.array([1, np.nan, 2], np.float32),
                                     'sigmoid')
    assert np.isnan(nan[1]) and not np.isnan(nan[[0, 2]]).any()
    assert np.isnan(kernels.activation_forward(
        np.array([1, np.nan, 2], np.float32), 'softmax')).all()


def test_softmax_of_huge_logits_is_stable():
    x = np.array([[1e30, 1e30, -1e30], [-1e30, -1e30, -1e30]], np.float32)
    y = kernels.activation_forward(x, 'softmax')
    np.testing.assert_allclose(y, [[0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]],
                               rtol=1e-6)


def test_hard_sigmoid_is_keras_2s():
    x = np.array([-3, -2.5, -1, 0, 1, 2.5, 3], np.float32)
    y = kernels.activation_forward(x, 'hard_sigmoid')
    np.testing.assert_allclose(y, np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)
    dx = kernels.activation_backward(np.ones_like(y), y, 'hard_sigmoid')
    np.testing.assert_array_equal(dx, np.float32([0, 0, .2, .2, .2, 0, 0]))


def away_from_kinks(shape, seed):
    """Values whose finite differences do not straddle relu's or
    hard_sigmoid's kinks (0 and +-2.5)."""
    x = np.random.default_rng(seed).uniform(-4, 4, shape)
    for kink in (0.0, 2.5, -2.5):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.1
    return x


@pytest.mark.parametrize("name", NAMES)
def test_reference_backward_matches_finite_differences(name):
    x = away_from_kinks((3, 5), seed=4)

    def forward(x):
        return ref.activation_forward(x, name, alpha=0.7)

    def backward(dy, x):
        return ref.activation_backward(dy, forward(x), name, alpha=0.7)

    assert_grads_match(forward, backward, [x])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(70001,), (3, 40001), (20000, 3)])
def test_results_do_not_depend_on_thread_count(name, shape):
    x, dy = data(shape, seed=5), data(shape, seed=6, scale=1.0)
    before = get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            set_num_threads(n)
            y = kernels.activation_forward(x, name)
            results.append((y, kernels.activation_backward(dy, y, name)))
    finally:
        set_num_threads(before)
    for y, dx in results[1:]:
        assert np.array_equal(y, results[0][0])
        assert np.array_equal(dx, results[0][1])


def test_activations_dict_and_unknown_names():
    assert set(kernels.ACTIVATIONS) == set(NAMES)
    assert sorted(kernels.ACTIVATIONS.values()) == list(range(len(NAMES)))
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="unknown activation 'swish'.*'relu'"):
        kernels.activation_forward(x, 'swish')
    with pytest.raises(ValueError, match="unknown activation None"):
        kernels.activation_backward(x, x, None)


def test_bad_inputs_raise_clear_errors():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.activation_forward(x.astype(np.float64), 'relu')
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.activation_forward([1.0], 'relu')
    with pytest.raises(ValueError, match="at least 1-D"):
        kernels.activation_forward(np.array(1.0, np.float32), 'relu')
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.activation_forward(np.ones((4, 3), np.float32).T, 'relu')
    with pytest.raises(ValueError, match=r"out must have shape \(3, 4\)"):
        kernels.activation_forward(x, 'relu', out=np.zeros((4, 3), np.float32))
    ro = np.zeros((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.activation_forward(x, 'relu', out=ro)
    with pytest.raises(ValueError, match="read-only"):
        kernels.activation_backward(x, x, 'relu', dx=ro)
    big = np.ones(10, np.float32)
    with pytest.raises(ValueError, match="out must not share memory with x"):
        kernels.activation_forward(big[:8], 'relu', out=big[2:])
    with pytest.raises(ValueError, match=r"y must have shape \(3, 4\)"):
        kernels.activation_backward(x, np.ones((3, 5), np.float32), 'relu')
    with pytest.raises(ValueError, match="dx must not share memory with dy"):
        dy = np.ones((3, 4), np.float32)
        kernels.activation_backward(dy, x, 'relu', dx=dy)
    with pytest.raises(ValueError, match="dx must not share memory with y"):
        y = np.ones((3, 4), np.float32)
        kernels.activation_backward(x, y, 'relu', dx=y)
    with pytest.raises(TypeError):
        kernels.activation_forward(x, 'elu', alpha='big')


def test_empty_arrays():
    for shape in [(0,), (0, 5), (5, 0)]:
        x = np.zeros(shape, np.float32)
        for name in NAMES:
            assert kernels.activation_forward(x, name).shape == shape
            assert kernels.activation_backward(x, x, name).shape == shape
