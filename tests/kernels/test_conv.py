"""im2col/col2im and Conv2D forward/backward against the numpy reference."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.reference import conv as ref
from tests.threads import assert_same_bits_at_thread_counts
from tests.gradcheck import assert_grads_match

FORMATS = ["channels_last", "channels_first"]

# (N, H, W, C, K, kh, kw, strides, padding, dilation)
CASES = [
    (1, 1, 1, 1, 1, 1, 1, (1, 1), "valid", (1, 1)),
    (2, 5, 5, 3, 4, 3, 3, (1, 1), "valid", (1, 1)),
    (3, 7, 9, 3, 5, 3, 2, (1, 1), "same", (1, 1)),
    (2, 8, 8, 2, 3, 3, 3, (2, 2), "same", (1, 1)),
    (2, 7, 6, 4, 2, 3, 3, (2, 3), "same", (1, 1)),
    (2, 9, 7, 3, 2, 2, 4, (3, 2), "valid", (1, 1)),
    (1, 10, 11, 2, 3, 3, 3, (1, 1), "same", (2, 3)),
    (2, 9, 9, 3, 4, 3, 2, (1, 1), "valid", (2, 2)),
    (3, 6, 5, 5, 7, 1, 1, (1, 1), "valid", (1, 1)),
    (2, 6, 5, 5, 3, 1, 1, (2, 2), "same", (1, 1)),
    (2, 4, 4, 2, 3, 5, 5, (1, 1), "same", (1, 1)),  # kernel > input: same
    (2, 1, 9, 3, 4, 1, 3, (1, 2), "causal", (1, 1)),  # Conv1D as H = 1
    (1, 1, 12, 2, 2, 1, 3, (1, 1), "causal", (1, 2)),
    (5, 13, 11, 16, 9, 3, 3, (1, 1), "same", (1, 1)),
    (18, 31, 30, 8, 5, 3, 3, (1, 1), "same", (1, 1)),  # tiles, chunks
    (2, 6, 7, 32, 5, 3, 3, (1, 1), "valid", (1, 1)),  # GEMM depth 192 + 96
    (2, 5, 6, 70, 3, 3, 2, (1, 1), "same", (1, 1)),  # GEMM depth 3 x 140
    (2, 7, 9, 8, 8, 3, 3, (1, 1), "valid", (1, 1)),  # Winograd dx, odd sizes
    (3, 6, 5, 9, 10, 3, 3, (1, 1), "same", (1, 1)),  # Winograd dx, padded
    (2, 3, 2, 12, 9, 3, 3, (1, 1), "same", (1, 1)),  # Winograd, image < tile
]
IDS = [f"{c[1]}x{c[2]}x{c[3]}-k{c[5]}x{c[6]}-s{c[7][0]}{c[7][1]}-{c[8]}-d{c[9][0]}{c[9][1]}"
       for c in CASES]


def make(case, data_format, seed=0):
    N, H, W, C, K, kh, kw, strides, padding, dilation = case
    rng = np.random.default_rng(seed)
    shape = (N, H, W, C) if data_format == "channels_last" else (N, C, H, W)
    x = rng.standard_normal(shape, dtype=np.float32)
    Wt = rng.standard_normal((kh, kw, C, K), dtype=np.float32) / np.float32(np.sqrt(kh * kw * C))
    b = rng.standard_normal(K, dtype=np.float32)
    return x, Wt, b, dict(strides=strides, padding=padding, dilation=dilation,
                          data_format=data_format)


def close(got, want, tol=2e-5):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_im2col_col2im_match_reference(case, data_format):
    x, Wt, _, p = make(case, data_format)
    ks = Wt.shape[:2]
    args = dict(strides=p["strides"], padding=p["padding"],
                dilation=p["dilation"], data_format=data_format)
    cols = kernels.im2col(x, ks, **args)
    want = ref.im2col(x, ks, p["strides"], p["padding"], p["dilation"], data_format)
    assert cols.shape == want.shape
    np.testing.assert_array_equal(cols, want.astype(np.float32))
    dcols = np.random.default_rng(1).standard_normal(cols.shape, dtype=np.float32)
    dx0 = np.random.default_rng(2).standard_normal(x.shape, dtype=np.float32)
    dx = kernels.col2im(dcols, x.shape, ks, dx=dx0.copy(), **args)
    close(dx, dx0 + ref.col2im(dcols, x.shape, ks, p["strides"], p["padding"],
                               p["dilation"], data_format), 1e-5)


@pytest.mark.parametrize("data_format", FORMATS)
def test_col2im_is_the_adjoint_of_im2col(data_format):
    x, Wt, _, p = make(CASES[6], data_format)
    args = dict(strides=p["strides"], padding=p["padding"],
                dilation=p["dilation"], data_format=data_format)
    cols = kernels.im2col(x, Wt.shape[:2], **args)
    dcols = np.random.default_rng(3).standard_normal(cols.shape, dtype=np.float32)
    dx = kernels.col2im(dcols, x.shape, Wt.shape[:2], **args)
    lhs = np.sum(cols.astype(np.float64) * dcols)
    rhs = np.sum(x.astype(np.float64) * dx)
    assert abs(lhs - rhs) <= 1e-4 * (1 + abs(lhs))


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_forward_backward_match_reference(case, data_format):
    x, Wt, b, p = make(case, data_format)
    y = kernels.conv2d_forward(x, Wt, b, **p)
    want = ref.conv2d_forward(x, Wt, b, **p)
    assert y.shape == want.shape
    close(y, want)
    rng = np.random.default_rng(4)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx0 = rng.standard_normal(x.shape, dtype=np.float32)
    dW0 = rng.standard_normal(Wt.shape, dtype=np.float32)
    db0 = rng.standard_normal(b.shape, dtype=np.float32)
    dx, dW, db = kernels.conv2d_backward(dy, x, Wt, y, dx=dx0.copy(),
                                         dW=dW0.copy(), db=db0.copy(), **p)
    rdx, rdW, rdb = ref.conv2d_backward(dy, x, Wt, y, **p)
    close(dx, dx0 + rdx, 1e-4)
    close(dW, dW0 + rdW, 1e-4)
    close(db, db0 + rdb, 1e-4)


ACTIVATIONS = [("relu", 1.0), ("elu", 0.7), ("selu", 1.0), ("softplus", 1.0),
               ("softsign", 1.0), ("sigmoid", 1.0), ("hard_sigmoid", 1.0),
               ("tanh", 1.0), ("softmax", 1.0)]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("activation,alpha", ACTIVATIONS)
@pytest.mark.parametrize("case", [CASES[3], (2, 31, 30, 8, 5, 3, 3, (1, 1), "same", (1, 1))],
                         ids=["strided", "chunked"])
def test_fused_activation_matches_reference(case, activation, alpha,
                                            data_format):
    # softmax acts on the output's last axis: K (channels_last) or OW
    x, Wt, b, p = make(case, data_format)
    p.update(activation=activation, alpha=alpha)
    y = kernels.conv2d_forward(x, Wt, b, **p)
    close(y, ref.conv2d_forward(x, Wt, b, **p))
    dy = np.random.default_rng(9).standard_normal(y.shape, dtype=np.float32)
    got = kernels.conv2d_backward(dy, x, Wt, y, **p)
    for g, w in zip(got, ref.conv2d_backward(dy, x, Wt, y, **p)):
        close(g, w, 1e-4)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("activation", ["tanh", "softmax", "elu"])
def test_reference_backward_with_activation_matches_finite_differences(
        activation, data_format):
    x, Wt, b, p = make((1, 5, 4, 2, 3, 3, 2, (1, 1), "same", (1, 1)),
                       data_format)
    p.update(activation=activation, alpha=0.5)

    def backward(dy, x, Wt, b):
        y = ref.conv2d_forward(x, Wt, b, **p)
        return ref.conv2d_backward(dy, x, Wt, y, **p)

    assert_grads_match(lambda *a: ref.conv2d_forward(*a, **p), backward,
                       [x, Wt, b])


def test_conv2d_without_bias_or_dx():
    x, Wt, _, p = make(CASES[3], "channels_last")
    y = kernels.conv2d_forward(x, Wt, None, **p)
    close(y, ref.conv2d_forward(x, Wt, None, **p))
    dy = np.ones_like(y)
    dx, dW, db = kernels.conv2d_backward(dy, x, Wt, y, has_bias=False,
                                         need_dx=False, **p)
    assert dx is None and db is None
    close(dW, ref.conv2d_backward(dy, x, Wt, y, **p)[1], 1e-4)


@pytest.mark.parametrize("case", [CASES[4], CASES[6], CASES[12]])
def test_both_data_formats_agree_up_to_layout(case):
    x, Wt, b, p = make(case, "channels_last")
    p_first = dict(p, data_format="channels_first")
    x_first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = kernels.conv2d_forward(x, Wt, b, **p)
    y_first = kernels.conv2d_forward(x_first, Wt, b, **p_first)
    close(y_first.transpose(0, 2, 3, 1), y, 1e-5)
    dy = np.random.default_rng(5).standard_normal(y.shape, dtype=np.float32)
    g = kernels.conv2d_backward(dy, x, Wt, y, **p)
    g_first = kernels.conv2d_backward(
        np.ascontiguousarray(dy.transpose(0, 3, 1, 2)), x_first, Wt, y_first,
        **p_first)
    close(g_first[0].transpose(0, 2, 3, 1), g[0], 1e-5)
    close(g_first[1], g[1], 1e-4)
    close(g_first[2], g[2], 1e-4)


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[6], CASES[9], CASES[12]])
def test_reference_backward_matches_finite_differences(case, data_format):
    N, H, W, C, K, kh, kw, strides, padding, dilation = case
    x, Wt, b, p = make((1, min(H, 7), min(W, 7), min(C, 2), min(K, 2), kh, kw,
                        strides, padding, dilation), data_format)

    def forward(x, Wt, b):
        return ref.conv2d_forward(x, Wt, b, **p)

    def backward(dy, x, Wt, b):
        return ref.conv2d_backward(dy, x, Wt, None, **p)

    assert_grads_match(forward, backward, [x, Wt, b])


def test_gradcheck_catches_a_wrong_conv_gradient():
    x, Wt, b, p = make((1, 4, 4, 2, 2, 3, 3, (1, 1), "same", (1, 1)), "channels_last")

    def wrong(dy, x, Wt, b):
        dx, dW, db = ref.conv2d_backward(dy, x, Wt, None, **p)
        return dx, dW[::-1], db  # taps flipped: a classic bug

    with pytest.raises(AssertionError):
        assert_grads_match(lambda *a: ref.conv2d_forward(*a, **p), wrong, [x, Wt, b])


@pytest.mark.parametrize("data_format", FORMATS)
def test_results_do_not_depend_on_thread_count(data_format):
    # two tiles (16 images + 1), images cut into chunks of output rows
    x, Wt, b, p = make((17, 31, 31, 8, 12, 3, 3, (1, 1), "same", (1, 1)),
                       data_format, seed=6)
    dy = np.random.default_rng(7).standard_normal(
        kernels.conv2d_forward(x, Wt, b, **p).shape, dtype=np.float32)

    def run():
        y = kernels.conv2d_forward(x, Wt, b, **p)
        return (y,) + kernels.conv2d_backward(dy, x, Wt, y, **p)
    assert_same_bits_at_thread_counts(run)


def test_workspace_is_bounded_and_reusable():
    shape, wshape = (4000, 16, 16, 8), (3, 3, 8, 16)
    small = kernels.conv2d_workspace_size((8,) + shape[1:], wshape, padding="same")
    big = kernels.conv2d_workspace_size(shape, wshape, padding="same")
    assert big == kernels.conv2d_workspace_size((400,) + shape[1:], wshape,
                                                padding="same")
    assert small <= big < 4 * 16 * 16 * 9 * 8 * 100
    x, Wt, b, p = make((37, 9, 9, 8, 16, 3, 3, (1, 1), "same", (1, 1)),
                       "channels_last")
    ws = np.full(kernels.conv2d_workspace_size(x.shape, Wt.shape, **p), np.nan,
                 np.float32)
    y = kernels.conv2d_forward(x, Wt, b, workspace=ws, **p)
    close(y, ref.conv2d_forward(x, Wt, b, **p))
    dy = np.ones_like(y)
    g = kernels.conv2d_backward(dy, x, Wt, y, workspace=ws, **p)
    for got, want in zip(g, ref.conv2d_backward(dy, x, Wt, y, **p)):
        close(got, want, 1e-4)
    with pytest.raises(ValueError, match="at least"):
        kernels.conv2d_forward(x, Wt, b, workspace=ws[:10], **p)


@pytest.mark.parametrize("size,k,s,d,padding,out,pad", [
    (8, 3, 2, 1, "same", 4, 0),     # total pad 1: all of it after
    (7, 3, 2, 1, "same", 4, 1),
    (5, 4, 1, 1, "same", 5, 1),     # total 3: 1 before, 2 after
    (10, 3, 1, 3, "same", 10, 3),
    (10, 3, 1, 3, "valid", 4, 0),
    (9, 2, 3, 1, "valid", 3, 0),
    (9, 3, 2, 1, "causal", 5, 2),
    (2, 5, 1, 1, "same", 2, 2),
])
def test_output_size_and_padding_as_keras_and_tensorflow(size, k, s, d, padding,
                                                         out, pad):
    got = kernels.conv_padding((1, size, size, 1), (k, k), s, padding, d)
    assert got == (pad, pad, out, out)
    assert kernels.conv_output_shape((None, size, size, 3), k, 7, s, padding, d) \
        == (None, out, out, 7)
    assert kernels.conv_output_shape((2, 3, size, None), k, 7, s, padding, d,
                                     "channels_first") == (2, 7, out, None)
    assert ref.axis_geometry(size, k, s, d, padding)[:2] == (out, pad)


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("case", [c for c in CASES if c[8] != "causal"], ids=[
    i for c, i in zip(CASES, IDS) if c[8] != "causal"])
def test_conv2d_matches_torch(case):
    x, Wt, b, p = make(case, "channels_first")
    N, C, H, W = x.shape
    kh, kw = Wt.shape[:2]
    (sh, sw), (dh, dw) = p["strides"], p["dilation"]
    _, pt, pb = ref.axis_geometry(H, kh, sh, dh, p["padding"])
    _, pl, pr = ref.axis_geometry(W, kw, sw, dw, p["padding"])
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(Wt.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv2d(F.pad(tx, (pl, pr, pt, pb)), tW, tb, stride=(sh, sw),
                  dilation=(dh, dw))
    y = kernels.conv2d_forward(x, Wt, b, **p)
    close(y, ty.detach().numpy(), 1e-4)
    dy = np.random.default_rng(8).standard_normal(y.shape, dtype=np.float32)
    ty.backward(torch.tensor(dy))
    dx, dW, db = kernels.conv2d_backward(dy, x, Wt, y, **p)
    # torch sums in float32 too: tolerances scale with the sums' size
    for got, want in [(dx, tx.grad.numpy()),
                      (dW, tW.grad.numpy().transpose(2, 3, 1, 0)),
                      (db, tb.grad.numpy())]:
        np.testing.assert_allclose(got, want, rtol=1e-4,
                                   atol=1e-5 * max(1.0, np.abs(want).max()))


def test_bad_inputs_raise_clear_errors():
    x = np.ones((2, 5, 5, 3), np.float32)
    Wt = np.ones((3, 3, 3, 4), np.float32)
    b = np.ones(4, np.float32)
    y = kernels.conv2d_forward(x, Wt, b)
    dy = np.ones_like(y)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.conv2d_forward(x.astype(np.float64), Wt, b)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.conv2d_forward(x.tolist(), Wt, b)
    with pytest.raises(ValueError, match="4-D"):
        kernels.conv2d_forward(x[0], Wt, b)
    with pytest.raises(ValueError, match="4-D"):
        kernels.conv2d_forward(x, Wt[0], b)
    with pytest.raises(ValueError, match="C = 3"):
        kernels.conv2d_forward(x, np.ones((3, 3, 2, 4), np.float32), b)
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        kernels.conv2d_forward(x, Wt, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.conv2d_forward(np.ones((2, 5, 5, 6), np.float32)[..., ::2], Wt, b)
    with pytest.raises(ValueError, match="larger than the height"):
        kernels.conv2d_forward(x, np.ones((6, 3, 3, 4), np.float32), b)
    with pytest.raises(ValueError, match="larger than the width"):
        kernels.conv2d_forward(x, np.ones((3, 2, 3, 4), np.float32), b,
                               dilation=(1, 5))
    with pytest.raises(ValueError, match="strides must be >= 1"):
        kernels.conv2d_forward(x, Wt, b, strides=0)
    with pytest.raises(ValueError, match="tuple of 2 ints"):
        kernels.conv2d_forward(x, Wt, b, strides=(1, 1, 1))
    with pytest.raises(ValueError, match="dilation_rate must be >= 1"):
        kernels.conv2d_forward(x, Wt, b, dilation=(0, 1))
    with pytest.raises(ValueError, match="not supported"):
        kernels.conv2d_forward(x, Wt, b, strides=2, dilation=2)
    with pytest.raises(ValueError, match="filters"):
        kernels.conv2d_forward(x, np.ones((3, 3, 3, 0), np.float32), None)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        kernels.conv2d_forward(x, np.ones((0, 3, 3, 4), np.float32), b)
    with pytest.raises(ValueError, match="data_format"):
        kernels.conv2d_forward(x, Wt, b, data_format="NHWC")
    with pytest.raises(ValueError, match="padding"):
        kernels.conv2d_forward(x, Wt, b, padding="full")
    with pytest.raises(ValueError, match="activation"):
        kernels.conv2d_forward(x, Wt, b, activation="swish")
    ro = np.zeros_like(y)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.conv2d_forward(x, Wt, b, out=ro)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3, 3, 4\)"):
        kernels.conv2d_forward(x, Wt, b, out=np.zeros((2, 3, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 3, 3, 4\)"):
        kernels.conv2d_backward(dy[:1], x, Wt, y)
    with pytest.raises(ValueError, match="y must have shape"):
        kernels.conv2d_backward(dy, x, Wt, y[:, :2].copy())
    with pytest.raises(ValueError, match="dW must have shape"):
        kernels.conv2d_backward(dy, x, Wt, y, dW=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="read-only"):
        kernels.conv2d_backward(dy, x, Wt, y, dx=_read_only(x))
    with pytest.raises(ValueError, match="share memory"):
        kernels.conv2d_backward(dy, x, Wt, y, dW=Wt)
    with pytest.raises(ValueError, match="share memory"):
        kernels.conv2d_backward(dy, x, Wt, y, dx=x)
    with pytest.raises(ValueError, match="has_bias=False"):
        kernels.conv2d_backward(dy, x, Wt, y, has_bias=False, db=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="need_dx=False"):
        kernels.conv2d_backward(dy, x, Wt, y, need_dx=False, dx=np.zeros_like(x))
    with pytest.raises(ValueError, match="share memory"):
        big = np.zeros(10000, np.float32)
        kernels.conv2d_forward(x, Wt, b, out=big[:y.size].reshape(y.shape),
                               workspace=big)
    with pytest.raises(ValueError, match="dcols must have shape"):
        kernels.col2im(np.ones((3, 27), np.float32), x.shape, (3, 3))
    with pytest.raises(ValueError, match="out must have shape"):
        kernels.im2col(x, (3, 3), out=np.zeros((3, 27), np.float32))


def _read_only(a):
    r = np.zeros_like(a)
    r.flags.writeable = False
    return r
