"""Max and average pooling forward/backward against the numpy reference."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import pool as ref
from tests.gradcheck import assert_grads_match

FORMATS = ["channels_last", "channels_first"]

# (N, H, W, C, pool_size, strides, padding)
CASES = [
    (1, 1, 1, 1, (1, 1), None, "valid"),
    (2, 6, 7, 3, (2, 2), None, "valid"),
    (2, 7, 7, 5, (2, 2), None, "same"),
    (2, 7, 7, 5, (3, 3), (2, 2), "same"),
    (3, 8, 5, 2, (3, 2), (2, 1), "same"),
    (1, 5, 6, 70, (3, 3), (1, 2), "same"),
    (2, 3, 3, 4, (3, 3), None, "valid"),
    (2, 1, 9, 3, (1, 2), (1, 2), "same"),
    (2, 9, 8, 3, (2, 3), (3, 1), "valid"),
    (4, 12, 12, 16, (2, 2), (1, 1), "same"),
]
IDS = [f"{c[1]}x{c[2]}x{c[3]}-p{c[4][0]}{c[4][1]}-s{c[5]}-{c[6]}" for c in CASES]


def make(case, data_format, seed=0, ties=False):
    N, H, W, C, pool, strides, padding = case
    rng = np.random.default_rng(seed)
    shape = (N, H, W, C) if data_format == "channels_last" else (N, C, H, W)
    x = rng.standard_normal(shape, dtype=np.float32)
    if ties:  # few distinct values: windows with several maxima
        x = np.round(x).astype(np.float32)
    return x, dict(pool_size=pool, strides=strides, padding=padding,
                   data_format=data_format)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_pool_matches_reference(case, data_format, ties):
    x, p = make(case, data_format, ties=ties)
    y = kernels.max_pool2d_forward(x, **p)
    want = ref.max_pool2d_forward(x, **p)
    assert y.shape == want.shape
    np.testing.assert_array_equal(y, want.astype(np.float32))
    rng = np.random.default_rng(1)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx0 = rng.standard_normal(x.shape, dtype=np.float32)
    dx = kernels.max_pool2d_backward(dy, x, dx=dx0.copy(), **p)
    np.testing.assert_allclose(dx, dx0 + ref.max_pool2d_backward(dy, x, **p),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_avg_pool_matches_reference(case, data_format):
    x, p = make(case, data_format)
    y = kernels.avg_pool2d_forward(x, **p)
    want = ref.avg_pool2d_forward(x, **p)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(2)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx0 = rng.standard_normal(x.shape, dtype=np.float32)
    dx = kernels.avg_pool2d_backward(dy, x.shape, dx=dx0.copy(), **p)
    np.testing.assert_allclose(dx, dx0 + ref.avg_pool2d_backward(dy, x.shape, **p),
                               rtol=1e-6, atol=1e-6)


def test_ties_go_to_the_first_maximum_in_scan_order():
    x = np.zeros((1, 2, 2, 1), np.float32)  # all four taps equal
    dx = kernels.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x)
    assert dx.ravel().tolist() == [1.0, 0.0, 0.0, 0.0]
    x = np.array([[1, 3], [3, 2]], np.float32).reshape(1, 1, 2, 2)
    dx = kernels.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x,
                                     data_format="channels_first")
    assert dx.ravel().tolist() == [0.0, 1.0, 0.0, 0.0]


def test_same_padding_averages_over_valid_cells_only():
    x = np.ones((1, 3, 3, 1), np.float32)
    y = kernels.avg_pool2d_forward(x, (2, 2), padding="same")
    assert y.shape == (1, 2, 2, 1) and np.all(y == 1.0)
    x = -np.ones((1, 3, 3, 1), np.float32)
    assert np.all(kernels.max_pool2d_forward(x, (2, 2), padding="same") == -1.0)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", [CASES[3], CASES[4], CASES[7]])
def test_reference_backward_matches_finite_differences(case, data_format):
    N, H, W, C, pool, strides, padding = case
    x, p = make((1, H, W, min(C, 2), pool, strides, padding), data_format)
    # distinct, well-separated values keep the max differentiable
    x = np.random.default_rng(3).permutation(x.size).reshape(x.shape) * 0.1
    assert_grads_match(lambda x: ref.max_pool2d_forward(x, **p),
                       lambda dy, x: ref.max_pool2d_backward(dy, x, **p), [x])
    assert_grads_match(lambda x: ref.avg_pool2d_forward(x, **p),
                       lambda dy, x: ref.avg_pool2d_backward(dy, x.shape, **p), [x])


def test_gradcheck_catches_a_wrong_pool_gradient():
    x = np.random.default_rng(4).permutation(16).reshape(1, 4, 4, 1) * 0.1
    with pytest.raises(AssertionError):
        # forgetting the division by the window size
        assert_grads_match(
            lambda x: ref.avg_pool2d_forward(x),
            lambda dy, x: ref.avg_pool2d_backward(dy, x.shape) * 4, [x])


@pytest.mark.parametrize("data_format", FORMATS)
def test_results_do_not_depend_on_thread_count(data_format):
    x, p = make((16, 20, 20, 24, (3, 3), (2, 2), "same"), data_format, seed=5,
                ties=True)
    dy = np.random.default_rng(6).standard_normal(
        kernels.max_pool2d_forward(x, **p).shape, dtype=np.float32)
    before = get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            results.append((kernels.max_pool2d_forward(x, **p),
                            kernels.avg_pool2d_forward(x, **p),
                            kernels.max_pool2d_backward(dy, x, **p),
                            kernels.avg_pool2d_backward(dy, x.shape, **p)))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        for got, want in zip(r, results[0]):
            assert np.array_equal(got, want)


@pytest.mark.parametrize("size,k,s,padding,out", [
    (7, 2, 2, "valid", 3), (7, 2, 2, "same", 4), (8, 3, 2, "same", 4),
    (5, 3, 1, "valid", 3), (1, 1, 1, "valid", 1), (4, 3, 3, "same", 2)])
def test_output_shape_as_keras(size, k, s, padding, out):
    assert kernels.pool_output_shape((None, size, size, 3), k, s, padding) == \
        (None, out, out, 3)
    assert kernels.pool_output_shape((2, 3, size, size), k, s, padding,
                                     "channels_first") == (2, 3, out, out)
    x = np.zeros((1, size, size, 1), np.float32)
    assert kernels.max_pool2d_forward(x, k, s, padding).shape == (1, out, out, 1)


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[6], CASES[8]])
def test_pooling_matches_torch(case):
    # torch pads symmetrically: these cases have equal pads on both sides
    x, p = make(case, "channels_first", ties=True)
    kh, kw = p["pool_size"]
    st = p["strides"] or p["pool_size"]
    pad = (kh // 2, kw // 2) if p["padding"] == "same" else (0, 0)
    tx = torch.tensor(x, requires_grad=True)
    ty = F.max_pool2d(tx, (kh, kw), st, pad)
    y = kernels.max_pool2d_forward(x, **p)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    dy = np.random.default_rng(7).standard_normal(y.shape, dtype=np.float32)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(kernels.max_pool2d_backward(dy, x, **p),
                               tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    tx.grad = None
    ta = F.avg_pool2d(tx, (kh, kw), st, pad, count_include_pad=False)
    np.testing.assert_allclose(kernels.avg_pool2d_forward(x, **p),
                               ta.detach().numpy(), rtol=1e-6, atol=1e-6)
    ta.backward(torch.tensor(dy))
    np.testing.assert_allclose(kernels.avg_pool2d_backward(dy, x.shape, **p),
                               tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 6, 6, 3), np.float32)
    y = kernels.max_pool2d_forward(x)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.max_pool2d_forward(x.astype(np.float64))
    with pytest.raises(ValueError, match="4-D"):
        kernels.avg_pool2d_forward(x[0])
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.max_pool2d_forward(np.ones((2, 6, 6, 6), np.float32)[..., ::2])
    with pytest.raises(ValueError, match="pool_size must be >= 1"):
        kernels.max_pool2d_forward(x, 0)
    with pytest.raises(ValueError, match="strides must be >= 1"):
        kernels.avg_pool2d_forward(x, 2, (1, -1))
    with pytest.raises(ValueError, match="padding"):
        kernels.max_pool2d_forward(x, padding="causal")
    with pytest.raises(ValueError, match="data_format"):
        kernels.max_pool2d_forward(x, data_format="NCHW")
    with pytest.raises(ValueError, match="larger than the height"):
        kernels.max_pool2d_forward(x, (7, 2))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3, 3, 3\)"):
        kernels.max_pool2d_backward(np.ones((2, 3, 3, 2), np.float32), x)
    with pytest.raises(ValueError, match=r"dy must have shape"):
        kernels.avg_pool2d_backward(np.ones((2, 3, 3, 2), np.float32), x.shape)
    ro = np.zeros_like(y)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.max_pool2d_forward(x, out=ro)
    with pytest.raises(ValueError, match="share memory"):
        kernels.max_pool2d_backward(y, x, dx=x)
    with pytest.raises(ValueError, match=r"dx must have shape \(2, 6, 6, 3\)"):
        kernels.avg_pool2d_backward(y, x.shape, dx=np.zeros((2, 6, 6, 2), np.float32))
