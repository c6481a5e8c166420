"""Conv2DTranspose forward/backward (conv.c) against the numpy reference,
finite differences, torch, thread counts and bad input."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import conv as ref
from tests.gradcheck import assert_grads_match

FORMATS = ["channels_last", "channels_first"]

# (N, H, W, in, filters, kh, kw, strides, padding, dilation, output_size)
# H, W: the transposed conv's INPUT; output_size None: Keras 2's default
CASES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), "valid", (1, 1), None),
    (2, 3, 4, 3, 2, 3, 3, (1, 1), "valid", (1, 1), None),
    (2, 4, 3, 2, 3, 3, 3, (2, 2), "same", (1, 1), None),
    (2, 3, 3, 2, 3, 3, 3, (2, 2), "same", (1, 1), (5, 6)),   # output_padding 0/1
    (2, 3, 4, 3, 2, 2, 2, (3, 3), "valid", (1, 1), None),    # gaps: stride > k
    (3, 4, 5, 2, 4, 3, 2, (2, 3), "valid", (1, 1), (10, 16)),  # output_padding 1
    (1, 5, 6, 2, 3, 3, 3, (1, 1), "same", (2, 3), None),     # dilated
    (2, 4, 4, 3, 2, 3, 3, (1, 1), "valid", (2, 2), None),
    (3, 5, 4, 7, 5, 1, 1, (1, 1), "valid", (1, 1), None),    # 1x1
    (2, 3, 3, 5, 3, 1, 1, (2, 2), "same", (1, 1), None),
    (2, 2, 2, 2, 3, 5, 5, (1, 1), "same", (1, 1), None),     # k > input
    (18, 16, 15, 8, 5, 4, 4, (2, 2), "same", (1, 1), None),  # tiles, chunks
]
IDS = [f"{c[1]}x{c[2]}x{c[3]}-k{c[5]}x{c[6]}-s{c[7][0]}{c[7][1]}-{c[8]}-d{c[9][0]}"
       f"{c[9][1]}-o{c[10]}" for c in CASES]


def make(case, data_format, seed=0):
    N, H, W, C, F, kh, kw, strides, padding, dilation, size = case
    rng = np.random.default_rng(seed)
    shape = (N, H, W, C) if data_format == "channels_last" else (N, C, H, W)
    x = rng.standard_normal(shape, dtype=np.float32)
    Wt = rng.standard_normal((kh, kw, F, C), dtype=np.float32) / np.float32(
        np.sqrt(kh * kw * C))
    b = rng.standard_normal(F, dtype=np.float32)
    return x, Wt, b, dict(strides=strides, padding=padding, dilation=dilation,
                          data_format=data_format), size


def close(got, want, tol=2e-5):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_backward_match_reference(case, data_format):
    x, Wt, b, p, size = make(case, data_format)
    y = kernels.conv2d_transpose_forward(x, Wt, b, size, **p)
    want = ref.conv2d_transpose_forward(x, Wt, b, size, **p)
    assert y.shape == want.shape
    close(y, want)
    rng = np.random.default_rng(4)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx0 = rng.standard_normal(x.shape, dtype=np.float32)
    dW0 = rng.standard_normal(Wt.shape, dtype=np.float32)
    db0 = rng.standard_normal(b.shape, dtype=np.float32)
    dx, dW, db = kernels.conv2d_transpose_backward(
        dy, x, Wt, y, dx=dx0.copy(), dW=dW0.copy(), db=db0.copy(), **p)
    rdx, rdW, rdb = ref.conv2d_transpose_backward(dy, x, Wt, y, **p)
    close(dx, dx0 + rdx, 1e-4)
    close(dW, dW0 + rdW, 1e-4)
    close(db, db0 + rdb, 1e-4)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("activation,alpha", [("relu", 1.0), ("elu", 0.7),
                                              ("tanh", 1.0), ("softmax", 1.0)])
def test_fused_activation_matches_reference(activation, alpha, data_format):
    x, Wt, b, p, size = make(CASES[5], data_format)
    p.update(activation=activation, alpha=alpha)
    y = kernels.conv2d_transpose_forward(x, Wt, b, size, **p)
    close(y, ref.conv2d_transpose_forward(x, Wt, b, size, **p))
    dy = np.random.default_rng(9).standard_normal(y.shape, dtype=np.float32)
    got = kernels.conv2d_transpose_backward(dy, x, Wt, y, **p)
    for g, w in zip(got, ref.conv2d_transpose_backward(dy, x, Wt, y, **p)):
        close(g, w, 1e-4)


def test_without_bias_or_dx():
    x, Wt, _, p, size = make(CASES[2], "channels_last")
    y = kernels.conv2d_transpose_forward(x, Wt, None, size, **p)
    close(y, ref.conv2d_transpose_forward(x, Wt, None, size, **p))
    dy = np.ones_like(y)
    dx, dW, db = kernels.conv2d_transpose_backward(dy, x, Wt, y, has_bias=False,
                                                   need_dx=False, **p)
    assert dx is None and db is None
    close(dW, ref.conv2d_transpose_backward(dy, x, Wt, y, **p)[1], 1e-4)


@pytest.mark.parametrize("data_format", FORMATS)
def test_is_the_adjoint_of_conv2d(data_format):
    # <conv2d(y), x> == <y, conv2d_transpose(x)> with the same kernel
    x, Wt, _, p, size = make(CASES[5], data_format)
    y = kernels.conv2d_transpose_forward(x, Wt, None, size, **p)
    u = np.random.default_rng(3).standard_normal(y.shape, dtype=np.float32)
    cu = kernels.conv2d_forward(u, Wt, None, **p)
    assert cu.shape == x.shape
    lhs = np.sum(cu.astype(np.float64) * x)
    rhs = np.sum(u.astype(np.float64) * y)
    assert abs(lhs - rhs) <= 1e-4 * (1 + abs(lhs))


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[5], CASES[6]])
@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_reference_backward_matches_finite_differences(case, data_format, activation):
    N, H, W, C, F, kh, kw, strides, padding, dilation, size = case
    x, Wt, b, p, _ = make((1, min(H, 3), min(W, 3), min(C, 2), min(F, 2), kh, kw,
                           strides, padding, dilation, None), data_format)
    p.update(activation=activation)

    def forward(x, Wt, b):
        return ref.conv2d_transpose_forward(x, Wt, b, **p)

    def backward(dy, x, Wt, b):
        return ref.conv2d_transpose_backward(dy, x, Wt, forward(x, Wt, b), **p)

    assert_grads_match(forward, backward, [x, Wt, b])


def test_gradcheck_catches_a_wrong_transpose_gradient():
    x, Wt, b, p, _ = make(CASES[2], "channels_last")

    def wrong(dy, x, Wt, b):
        dx, dW, db = ref.conv2d_transpose_backward(dy, x, Wt, **p)
        return dx, dW[::-1], db  # taps flipped

    with pytest.raises(AssertionError):
        assert_grads_match(lambda *a: ref.conv2d_transpose_forward(*a, **p), wrong,
                           [x[:1, :2, :2], Wt, b])


@pytest.mark.parametrize("data_format", FORMATS)
def test_results_do_not_depend_on_thread_count(data_format):
    x, Wt, b, p, _ = make((17, 12, 11, 6, 5, 3, 3, (2, 2), "same", (1, 1), None),
                          data_format, seed=6)
    p.update(activation="tanh")
    dy = np.random.default_rng(7).standard_normal(
        kernels.conv2d_transpose_forward(x, Wt, b, **p).shape, dtype=np.float32)
    before = get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            y = kernels.conv2d_transpose_forward(x, Wt, b, **p)
            results.append((y,) + kernels.conv2d_transpose_backward(dy, x, Wt, y, **p))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        for got, want in zip(r, results[0]):
            assert np.array_equal(got, want)


def test_workspace_is_reusable_and_checked():
    x, Wt, b, p, _ = make(CASES[-1], "channels_first")
    n = kernels.conv2d_transpose_workspace_size(x.shape, Wt.shape, **p)
    ws = np.full(n, np.nan, np.float32)
    y = kernels.conv2d_transpose_forward(x, Wt, b, workspace=ws, **p)
    close(y, ref.conv2d_transpose_forward(x, Wt, b, **p))
    dy = np.ones_like(y)
    got = kernels.conv2d_transpose_backward(dy, x, Wt, y, workspace=ws, **p)
    for g, w in zip(got, ref.conv2d_transpose_backward(dy, x, Wt, y, **p)):
        close(g, w, 1e-4)
    with pytest.raises(ValueError, match="at least"):
        kernels.conv2d_transpose_forward(x, Wt, b, workspace=ws[:10], **p)


@pytest.mark.parametrize("size,s,k,d,padding,op,want", [
    (4, 2, 3, 1, "valid", None, 9),
    (4, 3, 2, 1, "valid", None, 12),   # max(k - s, 0)
    (4, 2, 3, 1, "same", None, 8),
    (4, 2, 3, 1, "same", 1, 8),
    (4, 2, 3, 1, "same", 0, 7),
    (4, 2, 3, 1, "valid", 1, 10),
    (5, 1, 3, 2, "same", None, 5),
    (5, 1, 3, 2, "valid", None, 9),
    (None, 2, 3, 1, "same", None, None),
])
def test_deconv_length_is_keras2s(size, s, k, d, padding, op, want):
    assert kernels.deconv_length(size, s, k, padding, op, d) == want
    if size is not None:
        assert ref.deconv_length(size, s, k, padding, op, d) == want


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch_conv_transpose2d(case):
    x, Wt, b, p, size = make(case, "channels_first")
    y = kernels.conv2d_transpose_forward(x, Wt, b, size, **p)
    OH, OW = y.shape[2:]
    kh, kw = Wt.shape[:2]
    (sh, sw), (dh, dw) = p["strides"], p["dilation"]
    _, pt, _ = ref.axis_geometry(OH, kh, sh, dh, p["padding"])
    _, pl, _ = ref.axis_geometry(OW, kw, sw, dw, p["padding"])
    # TensorFlow's output is the full transposed conv, (in-1)*s + span per
    # axis, extended with zeros at the end, from pad_top / pad_left on
    full_h = (x.shape[2] - 1) * sh + (kh - 1) * dh + 1
    full_w = (x.shape[3] - 1) * sw + (kw - 1) * dw + 1
    tx = torch.tensor(x, requires_grad=True)
    # torch's kernel is (in, filters, kh, kw)
    tW = torch.tensor(Wt.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    full = F.conv_transpose2d(tx, tW, None, stride=(sh, sw), dilation=(dh, dw))
    assert full.shape[2:] == (full_h, full_w)
    full = F.pad(full, (0, max(OW + pl - full_w, 0), 0, max(OH + pt - full_h, 0)))
    ty = full[:, :, pt:pt + OH, pl:pl + OW] + tb.view(1, -1, 1, 1)
    close(y, ty.detach().numpy(), 1e-4)
    dy = np.random.default_rng(8).standard_normal(y.shape, dtype=np.float32)
    ty.backward(torch.tensor(dy))
    dx, dW, db = kernels.conv2d_transpose_backward(dy, x, Wt, y, **p)
    for got, want in [(dx, tx.grad.numpy()), (dW, tW.grad.numpy().transpose(2, 3, 1, 0)),
                      (db, tb.grad.numpy())]:
        np.testing.assert_allclose(got, want, rtol=1e-4,
                                   atol=1e-5 * max(1.0, np.abs(want).max()))


def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 3, 3, 4), np.float32)
    Wt = np.ones((3, 3, 2, 4), np.float32)
    b = np.ones(2, np.float32)
    y = kernels.conv2d_transpose_forward(x, Wt, b)
    assert y.shape == (2, 5, 5, 2)
    dy = np.ones_like(y)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.conv2d_transpose_forward(x.astype(np.float64), Wt, b)
    with pytest.raises(ValueError, match="4-D"):
        kernels.conv2d_transpose_forward(x[0], Wt, b)
    with pytest.raises(ValueError, match="in_channels = 4"):
        kernels.conv2d_transpose_forward(x, np.ones((3, 3, 2, 3), np.float32), b)
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        kernels.conv2d_transpose_forward(x, Wt, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d_transpose_forward(np.ones((2, 3, 3, 8), np.float32)[..., ::2],
                                         Wt, b)
    with pytest.raises(ValueError, match="does not fit"):
        kernels.conv2d_transpose_forward(x, Wt, b, output_size=(7, 5))
    with pytest.raises(ValueError, match="does not fit"):  # even kernel, same, op 0
        kernels.conv2d_transpose_forward(x, np.ones((2, 2, 2, 4), np.float32), b,
                                         output_size=(2, 3), padding="same")
    with pytest.raises(ValueError, match="padding"):
        kernels.conv2d_transpose_forward(x, Wt, b, padding="causal")
    with pytest.raises(ValueError, match="strides must be >= 1"):
        kernels.conv2d_transpose_forward(x, Wt, b, strides=0)
    with pytest.raises(ValueError, match="not supported"):
        kernels.conv2d_transpose_forward(x, Wt, b, strides=2, dilation=2)
    with pytest.raises(ValueError, match="data_format"):
        kernels.conv2d_transpose_forward(x, Wt, b, data_format="NHWC")
    with pytest.raises(ValueError, match="filters"):
        kernels.conv2d_transpose_forward(x, np.ones((3, 3, 0, 4), np.float32), None)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros_like(y)
        ro.flags.writeable = False
        kernels.conv2d_transpose_forward(x, Wt, b, out=ro)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 5, 5, 2\)"):
        kernels.conv2d_transpose_forward(x, Wt, b, out=np.zeros((2, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="dy must have shape"):
        kernels.conv2d_transpose_backward(dy[:1], x, Wt, y)
    with pytest.raises(ValueError, match="does not fit"):
        kernels.conv2d_transpose_backward(dy, x, Wt, np.ones((2, 7, 7, 2), np.float32))
    with pytest.raises(ValueError, match="dW must have shape"):
        kernels.conv2d_transpose_backward(dy, x, Wt, y, dW=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="share memory"):
        kernels.conv2d_transpose_backward(dy, x, Wt, y, dW=Wt)
    with pytest.raises(ValueError, match="share memory"):
        kernels.conv2d_transpose_backward(dy, x, Wt, y, dx=x)
    with pytest.raises(ValueError, match="has_bias=False"):
        kernels.conv2d_transpose_backward(dy, x, Wt, y, has_bias=False,
                                          db=np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="need_dx=False"):
        kernels.conv2d_transpose_backward(dy, x, Wt, y, need_dx=False,
                                          dx=np.zeros_like(x))
