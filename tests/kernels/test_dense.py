"""Dense kernels (ck_dense_forward/backward) against the numpy reference."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import dense as ref
from tests.gradcheck import assert_grads_match

ACTIVATIONS = list(kernels.ACTIVATIONS)
# (N, C, U): ones, odd sizes, row-block and db column-block remainders,
# empty batch and empty input, and the MNIST MLP layer
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 9), (3, 4, 1), (17, 33, 65),
          (64, 64, 64), (129, 65, 31), (100, 50, 600), (200, 30, 10),
          (300, 200, 200),
          (0, 3, 4), (4, 0, 5)]
# the MNIST MLP layer, with a few activations to keep the suite fast
CASES = ([(shape, act) for shape in SHAPES for act in ACTIVATIONS] +
         [((128, 784, 512), act) for act in ("linear", "relu", "softmax")])
CASE_IDS = [f"{N}x{C}x{U}-{act}" for (N, C, U), act in CASES]


def operands(N, C, U, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C), dtype=np.float32)
    W = (rng.standard_normal((C, U)) / np.sqrt(max(C, 1))).astype(np.float32)
    b = (0.5 * rng.standard_normal(U)).astype(np.float32)
    dy = rng.standard_normal((N, U), dtype=np.float32)
    return x, W, b, dy


def tol(K):
    """float32 GEMM with a K-long inner sum against float64."""
    return dict(rtol=1e-4, atol=2e-5 * np.sqrt(K + 1))


@pytest.mark.parametrize("shape,activation", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_forward_matches_reference(shape, activation, use_bias):
    N, C, U = shape
    x, W, b, _ = operands(N, C, U)
    b = b if use_bias else None
    y = kernels.dense_forward(x, W, b, activation, alpha=0.7)
    assert y.shape == (N, U) and y.dtype == np.float32
    want = ref.dense_forward(x, W, b, activation, 0.7)
    np.testing.assert_allclose(y, want, **tol(C))


@pytest.mark.parametrize("shape,activation", CASES, ids=CASE_IDS)
def test_backward_matches_reference(shape, activation):
    N, C, U = shape
    x, W, b, dy = operands(N, C, U)
    y = kernels.dense_forward(x, W, b, activation, alpha=0.7)
    dx, dW, db = kernels.dense_backward(dy, x, W, y, activation, alpha=0.7)
    rdx, rdW, rdb = ref.dense_backward(dy, x, W, y, activation, 0.7)
    np.testing.assert_allclose(dW, rdW, **tol(N))
    np.testing.assert_allclose(db, rdb, **tol(N))
    np.testing.assert_allclose(dx, rdx, **tol(U))


@pytest.mark.parametrize("has_bias", [True, False])
@pytest.mark.parametrize("need_dx", [True, False])
def test_backward_optional_gradients(has_bias, need_dx):
    x, W, b, dy = operands(37, 20, 45, seed=1)
    y = kernels.dense_forward(x, W, b if has_bias else None, "tanh")
    dx, dW, db = kernels.dense_backward(dy, x, W, y, "tanh",
                                        has_bias=has_bias, need_dx=need_dx)
    rdx, rdW, rdb = ref.dense_backward(dy, x, W, y, "tanh", 1.0, has_bias,
                                       need_dx)
    assert (dx is None) == (not need_dx) and (rdx is None) == (not need_dx)
    assert (db is None) == (not has_bias) and (rdb is None) == (not has_bias)
    np.testing.assert_allclose(dW, rdW, **tol(37))
    if need_dx:
        np.testing.assert_allclose(dx, rdx, **tol(45))
    if has_bias:
        np.testing.assert_allclose(db, rdb, **tol(37))


@pytest.mark.parametrize("activation", ["linear", "relu", "softmax"])
def test_backward_accumulates_into_given_buffers(activation):
    N, C, U = 70, 33, 300
    x, W, b, dy = operands(N, C, U, seed=2)
    y = kernels.dense_forward(x, W, b, activation)
    rng = np.random.default_rng(3)
    dx0 = rng.standard_normal((N, C), dtype=np.float32)
    dW0 = rng.standard_normal((C, U), dtype=np.float32)
    db0 = rng.standard_normal(U, dtype=np.float32)
    dx, dW, db = dx0.copy(), dW0.copy(), db0.copy()
    ws = np.full(kernels.dense_workspace_size(N, C, U) + 5, np.nan, np.float32)
    out = kernels.dense_backward(dy, x, W, y, activation, dx=dx, dW=dW, db=db,
                                 workspace=ws)
    assert out[0] is dx and out[1] is dW and out[2] is db
    rdx, rdW, rdb = ref.dense_backward(dy, x, W, y, activation)
    np.testing.assert_allclose(dx, dx0 + rdx, **tol(U))
    np.testing.assert_allclose(dW, dW0 + rdW, **tol(N))
    np.testing.assert_allclose(db, db0 + rdb, **tol(N))
    assert np.isnan(ws[-5:]).all()  # nothing past the workspace size


def test_forward_writes_out_without_reading_it():
    x, W, b, _ = operands(40, 12, 70, seed=4)
    out = np.full((40, 70), np.nan, np.float32)
    y = kernels.dense_forward(x, W, b, "sigmoid", out=out)
    assert y is out
    np.testing.assert_allclose(out, ref.dense_forward(x, W, b, "sigmoid"),
                               **tol(12))


def test_workspace_size():
    assert kernels.dense_workspace_size(128, 784, 512) == 128 * 512
    assert kernels.dense_workspace_size(0, 3, 4) == 0


@pytest.mark.parametrize("N,C,U", [(128, 784, 512), (1000, 64, 600),
                                   (40, 300, 1000), (3, 5, 7)])
@pytest.mark.parametrize("activation", ["relu", "softmax"])
def test_results_do_not_depend_on_thread_count(N, C, U, activation):
    x, W, b, dy = operands(N, C, U, seed=5)
    before = get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            y = kernels.dense_forward(x, W, b, activation)
            results.append((y,) + kernels.dense_backward(dy, x, W, y,
                                                         activation))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        for got, first in zip(r, results[0]):
            assert np.array_equal(got, first)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_reference_backward_matches_finite_differences(activation, use_bias):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    inputs = [x, W, b] if use_bias else [x, W]

    def forward(x, W, b=None):
        return ref.dense_forward(x, W, b, activation, 0.7)

    def backward(dy, x, W, b=None):
        y = forward(x, W, b)
        dx, dW, db = ref.dense_backward(dy, x, W, y, activation, 0.7,
                                        has_bias=b is not None)
        return (dx, dW, db) if b is not None else (dx, dW)

    assert_grads_match(forward, backward, inputs, rtol=1e-5, atol=1e-6)


def test_gradient_check_catches_a_missing_activation_derivative():
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal((3, 4)), rng.standard_normal((4, 5)),
              rng.standard_normal(5)]

    def forward(x, W, b):
        return ref.dense_forward(x, W, b, "tanh")

    def wrong_backward(dy, x, W, b):  # treats tanh as linear
        return ref.dense_backward(dy, x, W, forward(x, W, b), "linear")

    with pytest.raises(AssertionError, match="finite differences"):
        assert_grads_match(forward, wrong_backward, inputs)


def test_bad_inputs_raise_clear_errors():
    x, W, b, dy = operands(6, 4, 5)
    y = kernels.dense_forward(x, W, b, "relu")
    fwd, bwd = kernels.dense_forward, kernels.dense_backward
    with pytest.raises(TypeError, match="float32, got float64"):
        fwd(x.astype(np.float64), W, b)
    with pytest.raises(TypeError, match="W must have dtype float32"):
        fwd(x, W.astype(np.float16), b)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fwd(x.tolist(), W, b)
    with pytest.raises(ValueError, match="x must be 2-D"):
        fwd(x.reshape(-1), W, b)
    with pytest.raises(ValueError, match=r"W must have shape \(C, U\)"):
        fwd(x, W.T.copy(), b)
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        fwd(x, W, b[:4].copy())
    with pytest.raises(ValueError, match="b must be 1-D"):
        fwd(x, W, b.reshape(1, 5))
    with pytest.raises(ValueError, match="C-contiguous"):
        fwd(np.asfortranarray(x), W, b)
    with pytest.raises(ValueError, match="unknown activation"):
        fwd(x, W, b, "swish")
    with pytest.raises(ValueError, match=r"out must have shape \(6, 5\)"):
        fwd(x, W, b, out=np.empty((5, 6), np.float32))
    ro = np.empty((6, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fwd(x, W, b, out=ro)
    sq = np.ones((5, 5), np.float32)
    with pytest.raises(ValueError, match="out must not share memory with x"):
        fwd(sq, sq.copy(), None, out=sq)

    with pytest.raises(ValueError, match=r"dy must have shape \(6, 5\)"):
        bwd(dy[:5].copy(), x, W, y)
    with pytest.raises(ValueError, match=r"y must have shape \(6, 5\)"):
        bwd(dy, x, W, y[:, :4].copy())
    with pytest.raises(TypeError, match="dy must have dtype float32"):
        bwd(dy.astype(np.float64), x, W, y)
    with pytest.raises(ValueError, match="unknown activation"):
        bwd(dy, x, W, y, "Relu")
    with pytest.raises(ValueError, match=r"dW must have shape \(4, 5\)"):
        bwd(dy, x, W, y, dW=np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match=r"dx must have shape \(6, 4\)"):
        bwd(dy, x, W, y, dx=np.zeros((6, 5), np.float32))
    with pytest.raises(ValueError, match="db is read-only"):
        db = np.zeros(5, np.float32)
        db.flags.writeable = False
        bwd(dy, x, W, y, db=db)
    with pytest.raises(ValueError, match="has_bias=False"):
        bwd(dy, x, W, y, has_bias=False, db=np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="need_dx=False"):
        bwd(dy, x, W, y, need_dx=False, dx=np.zeros((6, 4), np.float32))
    with pytest.raises(ValueError, match="at least 30 floats"):
        bwd(dy, x, W, y, workspace=np.empty(29, np.float32))
    with pytest.raises(ValueError, match="workspace must be a 1-D"):
        bwd(dy, x, W, y, workspace=np.empty((6, 5), np.float32))
    with pytest.raises(TypeError, match="workspace must have dtype float32"):
        bwd(dy, x, W, y, workspace=np.empty(30, np.float64))
    with pytest.raises(ValueError, match="dW must not share memory with dy"):
        bwd(dy, x, W, y, dW=dy.reshape(-1)[:20].reshape(4, 5))
    with pytest.raises(ValueError, match="dx must not share memory with workspace"):
        ws = np.empty(60, np.float32)
        bwd(dy, x, W, y, dx=ws[:24].reshape(6, 4), workspace=ws)
