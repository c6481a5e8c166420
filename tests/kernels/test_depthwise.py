"""Depthwise Conv2D forward/backward (depthwise.c) against the numpy
reference, finite differences, torch, thread counts and bad input."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import depthwise as ref
from ckeras.reference.conv import axis_geometry
from tests.gradcheck import assert_grads_match

FORMATS = ["channels_last", "channels_first"]

# (N, H, W, C, M, kh, kw, strides, padding, dilation)
CASES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), "valid", (1, 1)),
    (2, 5, 5, 3, 1, 3, 3, (1, 1), "valid", (1, 1)),
    (3, 7, 9, 3, 2, 3, 2, (1, 1), "same", (1, 1)),
    (2, 8, 8, 2, 3, 3, 3, (2, 2), "same", (1, 1)),
    (2, 7, 6, 4, 1, 3, 3, (2, 3), "same", (1, 1)),
    (2, 9, 7, 3, 2, 2, 4, (3, 2), "valid", (1, 1)),
    (1, 10, 11, 2, 1, 3, 3, (1, 1), "same", (2, 3)),
    (2, 9, 9, 3, 2, 3, 2, (1, 1), "valid", (2, 2)),
    (3, 6, 5, 17, 1, 1, 1, (1, 1), "valid", (1, 1)),
    (2, 4, 4, 2, 2, 5, 5, (1, 1), "same", (1, 1)),   # kernel > input
    (19, 12, 13, 33, 1, 3, 3, (1, 1), "same", (1, 1)),  # tiles, wide channels
]
IDS = [f"{c[1]}x{c[2]}x{c[3]}m{c[4]}-k{c[5]}x{c[6]}-s{c[7][0]}{c[7][1]}-{c[8]}"
       f"-d{c[9][0]}{c[9][1]}" for c in CASES]


def make(case, data_format, seed=0):
    N, H, W, C, M, kh, kw, strides, padding, dilation = case
    rng = np.random.default_rng(seed)
    shape = (N, H, W, C) if data_format == "channels_last" else (N, C, H, W)
    x = rng.standard_normal(shape, dtype=np.float32)
    Wt = rng.standard_normal((kh, kw, C, M), dtype=np.float32)
    b = rng.standard_normal(C * M, dtype=np.float32)
    return x, Wt, b, dict(strides=strides, padding=padding, dilation=dilation,
                          data_format=data_format)


def close(got, want, tol=2e-5):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_backward_match_reference(case, data_format):
    x, Wt, b, p = make(case, data_format)
    y = kernels.depthwise_conv2d_forward(x, Wt, b, **p)
    want = ref.depthwise_conv2d_forward(x, Wt, b, **p)
    assert y.shape == want.shape
    close(y, want, 1e-4)
    rng = np.random.default_rng(4)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx0 = rng.standard_normal(x.shape, dtype=np.float32)
    dW0 = rng.standard_normal(Wt.shape, dtype=np.float32)
    db0 = rng.standard_normal(b.shape, dtype=np.float32)
    dx, dW, db = kernels.depthwise_conv2d_backward(
        dy, x, Wt, dx=dx0.copy(), dW=dW0.copy(), db=db0.copy(), **p)
    rdx, rdW, rdb = ref.depthwise_conv2d_backward(dy, x, Wt, **p)
    close(dx, dx0 + rdx, 1e-4)
    close(dW, dW0 + rdW, 2e-4)
    close(db, db0 + rdb, 2e-4)


@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[6]])
def test_both_data_formats_agree_up_to_layout(case):
    x, Wt, b, p = make(case, "channels_last")
    pf = dict(p, data_format="channels_first")
    xf = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = kernels.depthwise_conv2d_forward(x, Wt, b, **p)
    yf = kernels.depthwise_conv2d_forward(xf, Wt, b, **pf)
    # the same taps in the same order: identical bits
    assert np.array_equal(yf.transpose(0, 2, 3, 1), y)
    dy = np.random.default_rng(5).standard_normal(y.shape, dtype=np.float32)
    g = kernels.depthwise_conv2d_backward(dy, x, Wt, **p)
    gf = kernels.depthwise_conv2d_backward(
        np.ascontiguousarray(dy.transpose(0, 3, 1, 2)), xf, Wt, **pf)
    close(gf[0].transpose(0, 2, 3, 1), g[0], 1e-5)
    close(gf[1], g[1], 1e-4)
    close(gf[2], g[2], 1e-4)


def test_without_bias_or_dx():
    x, Wt, _, p = make(CASES[3], "channels_last")
    y = kernels.depthwise_conv2d_forward(x, Wt, None, **p)
    close(y, ref.depthwise_conv2d_forward(x, Wt, None, **p))
    dy = np.ones_like(y)
    dx, dW, db = kernels.depthwise_conv2d_backward(dy, x, Wt, has_bias=False,
                                                   need_dx=False, **p)
    assert dx is None and db is None
    close(dW, ref.depthwise_conv2d_backward(dy, x, Wt, **p)[1], 1e-4)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", [CASES[2], CASES[3], CASES[5], CASES[6]])
def test_reference_backward_matches_finite_differences(case, data_format):
    N, H, W, C, M, kh, kw, strides, padding, dilation = case
    x, Wt, b, p = make((1, min(H, 6), min(W, 7), min(C, 2), M, kh, kw, strides,
                        padding, dilation), data_format)
    assert_grads_match(lambda *a: ref.depthwise_conv2d_forward(*a, **p),
                       lambda dy, x, Wt, b: ref.depthwise_conv2d_backward(dy, x, Wt, **p),
                       [x, Wt, b])


def test_gradcheck_catches_a_wrong_depthwise_gradient():
    x, Wt, b, p = make((1, 4, 4, 2, 2, 3, 3, (1, 1), "same", (1, 1)), "channels_last")

    def wrong(dy, x, Wt, b):
        dx, dW, db = ref.depthwise_conv2d_backward(dy, x, Wt, **p)
        return dx, dW[:, :, :, ::-1], db  # multipliers swapped

    with pytest.raises(AssertionError):
        assert_grads_match(lambda *a: ref.depthwise_conv2d_forward(*a, **p), wrong,
                           [x, Wt, b])


@pytest.mark.parametrize("data_format", FORMATS)
def test_results_do_not_depend_on_thread_count(data_format):
    x, Wt, b, p = make((37, 9, 10, 6, 2, 3, 3, (1, 1), "same", (1, 1)),
                       data_format, seed=6)
    dy = np.random.default_rng(7).standard_normal(
        kernels.depthwise_conv2d_forward(x, Wt, b, **p).shape, dtype=np.float32)
    before = get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            results.append((kernels.depthwise_conv2d_forward(x, Wt, b, **p),) +
                           kernels.depthwise_conv2d_backward(dy, x, Wt, **p))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        for got, want in zip(r, results[0]):
            assert np.array_equal(got, want)


def test_workspace_is_bounded_and_reusable():
    wshape = (3, 3, 8, 2)
    assert kernels.depthwise_conv2d_workspace_size((4000, 9, 9, 8), wshape) == \
        kernels.depthwise_conv2d_workspace_size((16, 9, 9, 8), wshape) == 16 * 10 * 16
    x, Wt, b, p = make((21, 5, 5, 8, 2, 3, 3, (1, 1), "same", (1, 1)), "channels_last")
    ws = np.full(kernels.depthwise_conv2d_workspace_size(x.shape, Wt.shape, **p),
                 np.nan, np.float32)
    dy = np.ones((21, 5, 5, 16), np.float32)
    got = kernels.depthwise_conv2d_backward(dy, x, Wt, workspace=ws, **p)
    for g, w in zip(got, ref.depthwise_conv2d_backward(dy, x, Wt, **p)):
        close(g, w, 1e-4)
    with pytest.raises(ValueError, match="at least"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, workspace=ws[:10], **p)


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch_grouped_conv2d(case):
    x, Wt, b, p = make(case, "channels_first")
    N, C, H, W = x.shape
    kh, kw, _, M = Wt.shape
    (sh, sw), (dh, dw) = p["strides"], p["dilation"]
    _, pt, pb = axis_geometry(H, kh, sh, dh, p["padding"])
    _, pl, pr = axis_geometry(W, kw, sw, dw, p["padding"])
    tx = torch.tensor(x, requires_grad=True)
    # torch's grouped weight (C*M, 1, kh, kw): out channel c*M+m from group c
    tW = torch.tensor(Wt.transpose(2, 3, 0, 1).reshape(C * M, 1, kh, kw).copy(),
                      requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv2d(F.pad(tx, (pl, pr, pt, pb)), tW, tb, stride=(sh, sw),
                  dilation=(dh, dw), groups=C)
    y = kernels.depthwise_conv2d_forward(x, Wt, b, **p)
    close(y, ty.detach().numpy(), 1e-4)
    dy = np.random.default_rng(8).standard_normal(y.shape, dtype=np.float32)
    ty.backward(torch.tensor(dy))
    dx, dW, db = kernels.depthwise_conv2d_backward(dy, x, Wt, **p)
    twg = tW.grad.numpy().reshape(C, M, kh, kw).transpose(2, 3, 0, 1)
    for got, want in [(dx, tx.grad.numpy()), (dW, twg), (db, tb.grad.numpy())]:
        np.testing.assert_allclose(got, want, rtol=1e-4,
                                   atol=1e-5 * max(1.0, np.abs(want).max()))


def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 5, 5, 3), np.float32)
    Wt = np.ones((3, 3, 3, 2), np.float32)
    b = np.ones(6, np.float32)
    y = kernels.depthwise_conv2d_forward(x, Wt, b)
    assert y.shape == (2, 3, 3, 6)
    dy = np.ones_like(y)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.depthwise_conv2d_forward(x.astype(np.float64), Wt, b)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.depthwise_conv2d_forward(x.tolist(), Wt, b)
    with pytest.raises(ValueError, match="4-D"):
        kernels.depthwise_conv2d_forward(x[0], Wt, b)
    with pytest.raises(ValueError, match="C = 3"):
        kernels.depthwise_conv2d_forward(x, np.ones((3, 3, 2, 2), np.float32), b)
    with pytest.raises(ValueError, match="depth_multiplier"):
        kernels.depthwise_conv2d_forward(x, np.ones((3, 3, 3, 0), np.float32), None)
    with pytest.raises(ValueError, match=r"b must have shape \(6,\)"):
        kernels.depthwise_conv2d_forward(x, Wt, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.depthwise_conv2d_forward(np.ones((2, 5, 5, 6), np.float32)[..., ::2], Wt, b)
    with pytest.raises(ValueError, match="larger than the height"):
        kernels.depthwise_conv2d_forward(x, np.ones((6, 3, 3, 2), np.float32), b)
    with pytest.raises(ValueError, match="padding"):
        kernels.depthwise_conv2d_forward(x, Wt, b, padding="causal")
    with pytest.raises(ValueError, match="strides must be >= 1"):
        kernels.depthwise_conv2d_forward(x, Wt, b, strides=(1, 0))
    with pytest.raises(ValueError, match="not supported"):
        kernels.depthwise_conv2d_forward(x, Wt, b, strides=2, dilation=2)
    with pytest.raises(ValueError, match="data_format"):
        kernels.depthwise_conv2d_forward(x, Wt, b, data_format="NCHW")
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros_like(y)
        ro.flags.writeable = False
        kernels.depthwise_conv2d_forward(x, Wt, b, out=ro)
    with pytest.raises(ValueError, match="share memory"):
        kernels.depthwise_conv2d_forward(x, Wt, b, out=_alias_of(x, y.shape))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3, 3, 6\)"):
        kernels.depthwise_conv2d_backward(dy[:1], x, Wt)
    with pytest.raises(ValueError, match="dW must have shape"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, dW=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="share memory"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, dW=Wt)
    with pytest.raises(ValueError, match="share memory"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, dx=x)
    with pytest.raises(ValueError, match="has_bias=False"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, has_bias=False,
                                          db=np.zeros(6, np.float32))
    with pytest.raises(ValueError, match="need_dx=False"):
        kernels.depthwise_conv2d_backward(dy, x, Wt, need_dx=False, dx=np.zeros_like(x))


def _alias_of(a, shape):
    """A writeable C-contiguous view of a's memory with `shape`."""
    n = int(np.prod(shape))
    return a.reshape(-1)[:n].reshape(shape)
