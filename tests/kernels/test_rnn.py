"""SimpleRNN and GRU kernels (src/kernels/rnn.c) against their numpy
references; the references against finite differences.

The harness here (Layer, run_kernel, run_reference, ...) serves the LSTM
tests too (tests/kernels/test_lstm.py): one recurrent layer is described
once and every check runs on it.
"""
from dataclasses import dataclass

import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.reference import recurrent as ref
from tests.gradcheck import assert_grads_match
from tests.threads import assert_same_bits_at_thread_counts


@dataclass(frozen=True)
class Layer:
    name: str
    gates: int
    has_cell: bool
    has_ract: bool
    forward: object
    backward: object
    ref_forward: object
    ref_backward: object


LSTM = Layer("LSTM", 4, True, True, kernels.lstm_forward,
             kernels.lstm_backward, ref.lstm_forward, ref.lstm_backward)
GRU = Layer("GRU", 3, False, True, kernels.gru_forward, kernels.gru_backward,
            ref.gru_forward, ref.gru_backward)
SIMPLE = Layer("SimpleRNN", 1, False, False, kernels.simple_rnn_forward,
               kernels.simple_rnn_backward, ref.simple_rnn_forward,
               ref.simple_rnn_backward)


def make_inputs(layer, N, T, C, U, seed=0, bias=True, init=True, mask=False,
                dtype=np.float32):
    """x, kernel, recurrent_kernel, bias, h0, c0, mask of one call."""
    rng = np.random.default_rng(seed)
    G = layer.gates

    def normal(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    x = normal(N, T, C)
    W = normal(C, G * U, scale=1.0 / np.sqrt(max(C, 1)))
    R = normal(U, G * U, scale=1.0 / np.sqrt(U))
    b = normal(G * U, scale=0.5) if bias else None
    h0 = normal(N, U) if init else None
    c0 = normal(N, U) if init and layer.has_cell else None
    m = None
    if mask:
        m = rng.random((N, T)) > 0.3
        m[0, :] = False if N > 1 else m[0, :]  # a sample fully masked
    return x, W, R, b, h0, c0, m


def state_kwargs(layer, h0, c0):
    return dict(h0=h0, c0=c0) if layer.has_cell else dict(h0=h0)


def act_kwargs(layer, act, ract):
    kw = dict(activation=act)
    if layer.has_ract:
        kw["recurrent_activation"] = ract
    return kw


def run_kernel(layer, inputs, go_backwards=False, act="tanh",
               ract="hard_sigmoid"):
    """(outputs list, cache) of the kernel binding."""
    x, W, R, b, h0, c0, m = inputs
    res = layer.forward(x, W, R, b, mask=m, go_backwards=go_backwards,
                        **state_kwargs(layer, h0, c0),
                        **act_kwargs(layer, act, ract))
    return list(res[:-1]), res[-1]


def run_reference(layer, inputs, go_backwards=False, act="tanh",
                  ract="hard_sigmoid"):
    x, W, R, b, h0, c0, m = inputs
    res = layer.ref_forward(x, W, R, b, mask=m, go_backwards=go_backwards,
                            **state_kwargs(layer, h0, c0),
                            **act_kwargs(layer, act, ract))
    return list(res[:-1]), res[-1]


def output_grads(outputs, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(o.shape).astype(np.float32) for o in outputs]


def kernel_grads(layer, douts, cache, inputs, **buffers):
    x, W, R = inputs[:3]
    return list(layer.backward(*douts, cache, x, W, R, **buffers))


def reference_grads(layer, douts, cache, inputs):
    x, W, R = inputs[:3]
    return list(layer.ref_backward(*douts, cache, x, W, R))


def assert_close(got, want, what, rtol=2e-4, atol=2e-5):
    scale = max(1.0, float(np.max(np.abs(want)))) if np.size(want) else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale,
                               err_msg=what)


def check_against_reference(layer, shape, go_backwards=False, act="tanh",
                            ract="hard_sigmoid", **make):
    inputs = make_inputs(layer, *shape, **make)
    outs, cache = run_kernel(layer, inputs, go_backwards, act, ract)
    want, rcache = run_reference(layer, inputs, go_backwards, act, ract)
    for name, o, w in zip(["hseq", "h_T", "c_T"], outs, want):
        assert o.dtype == np.float32
        assert_close(o, w, f"{layer.name} forward {name}")
    douts = output_grads(outs)
    got = kernel_grads(layer, douts, cache, inputs)
    exp = reference_grads(layer, douts, rcache, inputs)
    names = ["dx", "dkernel", "drecurrent", "dbias", "dh0", "dc0"]
    if not layer.has_cell:
        names.remove("dc0")
    for name, g, e in zip(names, got, exp):
        if name == "dbias" and inputs[3] is None:
            assert g is None
            continue
        assert_close(g, e, f"{layer.name} backward {name}")


def check_gradients_by_finite_differences(layer, go_backwards, init, mask,
                                          act="tanh", ract="hard_sigmoid",
                                          **extra):
    """The reference backward against central differences in float64, on
    every input and through every output (hseq, h_T, c_T); extra keywords
    (recurrent_mask ...) go to the reference forward."""
    N, T, C, U = 2, 3, 3, 2
    inputs = make_inputs(layer, N, T, C, U, seed=7, init=True, mask=mask,
                         dtype=np.float64)
    x, W, R, b, h0, c0, m = inputs
    if mask:
        m = np.array([[1, 0, 1], [0, 1, 1]], bool)
    arrays = [x, W, R, b, h0] + ([c0] if layer.has_cell else [])
    if not init:
        arrays = arrays[:4]

    def call(*arrs):
        states = list(arrs[4:]) + [None] * 2
        res = layer.ref_forward(*arrs[:4], mask=m, go_backwards=go_backwards,
                                **state_kwargs(layer, states[0], states[1]),
                                **act_kwargs(layer, act, ract), **extra)
        return res

    def forward(*arrs):
        outs = call(*arrs)[:-1]
        return np.concatenate([o.ravel() for o in outs])

    def backward(dy, *arrs):
        res = call(*arrs)
        outs, cache = res[:-1], res[-1]
        douts, at = [], 0
        for o in outs:
            douts.append(dy[at:at + o.size].reshape(o.shape))
            at += o.size
        grads = layer.ref_backward(*douts, cache, *arrs[:3])
        # (dx, dW, dR, db, dh0[, dc0]) in the order of arrays
        return tuple(grads[:len(arrs)])

    assert_grads_match(forward, backward, arrays, rtol=1e-5, atol=1e-7)


def check_accumulates(layer):
    inputs = make_inputs(layer, 3, 4, 5, 6, mask=True)
    outs, cache = run_kernel(layer, inputs)
    douts = output_grads(outs)
    fresh = kernel_grads(layer, douts, cache, inputs)
    rng = np.random.default_rng(9)
    starts = [rng.standard_normal(g.shape).astype(np.float32) for g in fresh]
    names = ["dx", "dkernel", "drecurrent", "dbias", "dh0", "dc0"]
    if not layer.has_cell:
        names.remove("dc0")
    buffers = {n: s.copy() for n, s in zip(names, starts)}
    got = kernel_grads(layer, douts, cache, inputs, **buffers)
    for n, g, s, f in zip(names, got, starts, fresh):
        assert g is buffers[n]
        np.testing.assert_allclose(g, s + f, rtol=1e-5, atol=1e-5, err_msg=n)


def check_thread_determinism(layer, shape=(70, 3, 20, 128)):
    inputs = make_inputs(layer, *shape, mask=True)

    def run():
        outs, cache = run_kernel(layer, inputs, go_backwards=True)
        return list(outs) + list(kernel_grads(layer, output_grads(outs), cache, inputs))
    assert_same_bits_at_thread_counts(run)


def check_mask_semantics(layer):
    inputs = make_inputs(layer, 4, 6, 3, 5, mask=True)
    m = inputs[6]
    (hseq, hT, *_), _ = run_kernel(layer, inputs)
    assert not m[0].any()
    np.testing.assert_array_equal(hT[0], inputs[4][0])  # fully masked: h0
    for n in range(4):
        for t in range(1, 6):
            if not m[n, t]:
                np.testing.assert_array_equal(hseq[n, t], hseq[n, t - 1])
    assert m[1:].any()  # some steps ran, and changed the state
    assert not np.allclose(hseq[1:], hseq[1:, :1])


def check_go_backwards_is_reversed_time(layer):
    inputs = make_inputs(layer, 3, 5, 4, 6, mask=True)
    back, _ = run_kernel(layer, inputs, go_backwards=True)
    x, W, R, b, h0, c0, m = inputs
    flipped = (np.ascontiguousarray(x[:, ::-1]), W, R, b, h0, c0,
               np.ascontiguousarray(m[:, ::-1]))
    fwd, _ = run_kernel(layer, flipped)
    for a, b_ in zip(back, fwd):
        np.testing.assert_array_equal(a, b_)


def check_bad_inputs(layer):
    x, W, R, b, h0, c0, m = make_inputs(layer, 2, 3, 4, 5)
    G, fwd = layer.gates, layer.forward
    st = state_kwargs(layer, h0, c0)
    with pytest.raises(ValueError, match=r"3-D \(batch, time, features\)"):
        fwd(x[:, 0].copy(), W, R, b)
    with pytest.raises(TypeError, match="float32, got float64"):
        fwd(x.astype(np.float64), W, R, b)
    with pytest.raises(ValueError, match=r"kernel has shape \(3, .*expected "
                       rf"kernel shape \(4, {G * 5}\)"):
        fwd(x, W[:3].copy(), R, b)
    with pytest.raises(ValueError, match=rf"recurrent_kernel must have shape "
                       rf"\(units, {G}\*units\), got \(5, {G * 5 + 1}\)"):
        fwd(x, W, np.zeros((5, G * 5 + 1), np.float32), b)
    with pytest.raises(ValueError, match=rf"bias has shape \({G * 5 - 1},\)"):
        fwd(x, W, R, b[1:].copy())
    with pytest.raises(ValueError, match=r"h0 must have shape .*\(2, 5\), "
                       r"got \(2, 4\)"):
        fwd(x, W, R, b, **{**st, "h0": np.zeros((2, 4), np.float32)})
    if layer.has_cell:
        with pytest.raises(ValueError, match=r"c0 must have shape"):
            fwd(x, W, R, b, h0=h0, c0=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"mask must have shape .*\(2, 3\), "
                       r"got \(3, 2\)"):
        fwd(x, W, R, b, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="activation must be one of"):
        fwd(x, W, R, b, activation="softmax")
    if layer.has_ract:
        with pytest.raises(ValueError, match="recurrent_activation must be"):
            fwd(x, W, R, b, recurrent_activation="bogus")
    with pytest.raises(ValueError, match="C-contiguous"):
        fwd(np.asfortranarray(x), W, R, b)
    outs, cache = run_kernel(layer, (x, W, R, b, h0, c0, m))
    douts = output_grads(outs)
    with pytest.raises(TypeError, match="RecurrentCache"):
        layer.backward(*douts, "nope", x, W, R)
    ro = np.zeros_like(W)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="dkernel is read-only"):
        layer.backward(*douts, cache, x, W, R, dkernel=ro)
    with pytest.raises(ValueError, match=r"dhseq must have shape \(2, 3, 5\)"):
        layer.backward(douts[0][:, :2].copy(), *douts[1:], cache, x, W, R)
    with pytest.raises(ValueError, match="forward that made this cache"):
        layer.backward(*douts, cache, x[:1].copy(), W, R)
    with pytest.raises(ValueError, match="dx must not share memory with x"):
        layer.backward(*douts, cache, x, W, R, dx=x)


SHAPES = [(1, 1, 1, 1), (2, 3, 3, 2), (5, 7, 6, 9)]
# odd batches; several unit blocks per step (ck_rnn_units_per_block: LSTM
# 4 blocks of 56, 56, 56, 32 units; GRU 2 of 104, 96; SimpleRNN 2 of 104,
# 96 units), fewer options
BIG_SHAPES = [(35, 3, 8, 40), (64, 4, 10, 64), (64, 2, 5, 200)]
OPTIONS = [
    dict(),
    dict(mask=True),
    dict(go_backwards=True, mask=True),
    dict(init=False, bias=False),
    dict(act="relu", ract="sigmoid", init=False),
    dict(act="linear", ract="tanh", go_backwards=True),
    dict(act="sigmoid", ract="linear", mask=True),
    dict(act="hard_sigmoid", ract="hard_sigmoid"),
]

BIG_OPTIONS = [dict(), dict(go_backwards=True, mask=True, act="relu")]


def option_id(opt):
    return "-".join(f"{k}={v}" for k, v in opt.items()) or "defaults"


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("opt", OPTIONS, ids=option_id)
def test_kernel_matches_reference(layer, shape, opt):
    check_against_reference(layer, shape, **opt)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("init,mask", [(False, False), (True, True)])
@pytest.mark.parametrize("act,ract", [("tanh", "hard_sigmoid"),
                                      ("relu", "sigmoid")])
def test_reference_gradients(layer, go_backwards, init, mask, act, ract):
    check_gradients_by_finite_differences(layer, go_backwards, init, mask,
                                          act, ract)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
@pytest.mark.parametrize("shape", BIG_SHAPES, ids=str)
@pytest.mark.parametrize("opt", BIG_OPTIONS, ids=option_id)
def test_kernel_matches_reference_big(layer, shape, opt):
    check_against_reference(layer, shape, **opt)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_backward_accumulates(layer):
    check_accumulates(layer)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_results_do_not_depend_on_thread_count(layer):
    check_thread_determinism(layer)
    check_thread_determinism(layer, shape=(70, 2, 9, 200))  # 2 unit blocks


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_masked_steps_keep_the_state(layer):
    check_mask_semantics(layer)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_go_backwards_is_time_reversed(layer):
    check_go_backwards_is_reversed_time(layer)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_bad_inputs_raise_clear_errors(layer):
    check_bad_inputs(layer)


def test_gru_keras2_formula_by_hand():
    """One GRU step written out from Keras 2.0's GRU.step (implementation
    0, reset_after absent): catches a reference and kernel wrong together."""
    inputs = make_inputs(GRU, 2, 1, 3, 4, init=True)
    x, W, R, b, h0, _, _ = [np.asarray(a, np.float64) if a is not None
                            else None for a in inputs]
    U = 4
    hs = lambda v: np.clip(0.2 * v + 0.5, 0, 1)  # noqa: E731
    xz, xr, xh = (x[:, 0] @ W[:, k * U:(k + 1) * U] + b[k * U:(k + 1) * U]
                  for k in range(3))
    z = hs(xz + h0 @ R[:, :U])
    r = hs(xr + h0 @ R[:, U:2 * U])
    hh = np.tanh(xh + (r * h0) @ R[:, 2 * U:])
    want = z * h0 + (1 - z) * hh
    (_, hT), _ = run_kernel(GRU, inputs)
    np.testing.assert_allclose(hT, want, rtol=1e-5, atol=1e-6)


# ---- recurrent dropout: recurrent_mask (G, N, U), gate q's product reads
# h * m[q]; GRU's recurrent_mask_carry also masks the update's carry --------

def recurrent_mask(layer, N, U, rate=0.4, seed=3, dtype=np.float32):
    """Keras 2's recurrent dropout masks: 0 or 1 / (1 - rate)."""
    rng = np.random.default_rng(seed)
    draw = rng.random((layer.gates, N, U)) >= rate
    return (draw / (1.0 - rate)).astype(dtype)


RD_CASES = [(SIMPLE, False), (GRU, False), (GRU, True)]


def rd_id(case):
    layer, carry = case
    return layer.name + ("-carry" if carry else "")


def rd_kwargs(layer, N, U, carry, **draw):
    kw = dict(recurrent_mask=recurrent_mask(layer, N, U, **draw))
    if carry:
        kw["recurrent_mask_carry"] = True
    return kw


@pytest.mark.parametrize("case", RD_CASES, ids=rd_id)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 7, 6, 9), (35, 3, 8, 40),
                                   (64, 2, 5, 200)], ids=str)
@pytest.mark.parametrize("opt", [dict(), dict(init=False, bias=False),
                                 dict(go_backwards=True, mask=True),
                                 dict(mask=True, act="relu", ract="sigmoid")],
                         ids=option_id)
def test_recurrent_mask_matches_reference(case, shape, opt):
    """Forward and backward with masks, with go_backwards, a step mask and
    an initial state; shapes with several unit blocks per step."""
    layer, carry = case
    opt = dict(opt)
    gb = opt.pop("go_backwards", False)
    act, ract = opt.pop("act", "tanh"), opt.pop("ract", "hard_sigmoid")
    inputs = make_inputs(layer, *shape, **opt)
    x, W, R, b, h0, _, m = inputs
    kw = dict(mask=m, go_backwards=gb, h0=h0, **act_kwargs(layer, act, ract),
              **rd_kwargs(layer, shape[0], shape[3], carry))
    *outs, cache = layer.forward(x, W, R, b, **kw)
    *want, rcache = layer.ref_forward(x, W, R, b, **kw)
    for name, o, w in zip(["hseq", "h_T"], outs, want):
        assert_close(o, w, f"{rd_id(case)} forward {name}")
    douts = output_grads(outs)
    got = kernel_grads(layer, douts, cache, inputs)
    exp = reference_grads(layer, douts, rcache, inputs)
    for name, g, e in zip(["dx", "dkernel", "drecurrent", "dbias", "dh0"], got, exp):
        if name == "dbias" and b is None:
            assert g is None
            continue
        assert_close(g, e, f"{rd_id(case)} backward {name}")


@pytest.mark.parametrize("case", RD_CASES, ids=rd_id)
def test_recurrent_mask_changes_the_result_and_ones_do_not(case):
    layer, carry = case
    x, W, R, b, h0, _, _ = make_inputs(layer, 4, 5, 3, 6)
    plain = layer.forward(x, W, R, b, h0=h0)[0]
    ones = dict(recurrent_mask=np.ones((layer.gates, 4, 6), np.float32))
    if carry:
        ones["recurrent_mask_carry"] = True
    np.testing.assert_array_equal(layer.forward(x, W, R, b, h0=h0, **ones)[0], plain)
    dropped = layer.forward(x, W, R, b, h0=h0, **rd_kwargs(layer, 4, 6, carry))[0]
    assert not np.allclose(dropped, plain)  # h0 is masked at the first step too


def test_gru_recurrent_masks_each_reach_their_own_gate():
    """Zeroing one gate's mask is the same as zeroing that gate's recurrent
    kernel columns (the carry untouched), gate by gate: the masks are not
    swapped or shared."""
    x, W, R, b, h0, _, _ = make_inputs(GRU, 3, 4, 2, 5)
    U = 5
    for q in range(3):
        rd = np.ones((3, 3, U), np.float32)
        rd[q] = 0.0
        R0 = R.copy()
        R0[:, q * U:(q + 1) * U] = 0.0
        got = GRU.forward(x, W, R, b, h0=h0, recurrent_mask=rd)[0]
        np.testing.assert_allclose(got, GRU.forward(x, W, R0, b, h0=h0)[0],
                                   rtol=1e-6, atol=1e-7, err_msg=f"gate {q}")
    # with the carry flag a zero z mask also zeroes the carry term z * h
    rd = np.ones((3, 3, U), np.float32)
    rd[0] = 0.0
    carried = GRU.forward(x, W, R, b, h0=h0, recurrent_mask=rd,
                          recurrent_mask_carry=True)[0]
    assert not np.allclose(carried, GRU.forward(x, W, R, b, h0=h0, recurrent_mask=rd)[0])


@pytest.mark.parametrize("carry", [False, True])
def test_gru_recurrent_mask_keras224_step_by_hand(carry):
    """One step written out from Keras 2.2.4's GRUCell.call, reset_after
    False: implementation=1 (three masks, carry unmasked) and
    implementation=2 (one mask shared; `h_tm1 *= rec_dp_mask[0]` rebinds
    h_tm1, so the update reads the masked state)."""
    x, W, R, b, h0 = [np.asarray(a, np.float64) for a in make_inputs(GRU, 2, 1, 3, 4)[:5]]
    U = 4
    rd = recurrent_mask(GRU, 2, U, rate=0.5, dtype=np.float64)
    if carry:
        rd[:] = rd[0]  # implementation=2 shares one mask
    hs = lambda v: np.clip(0.2 * v + 0.5, 0, 1)  # noqa: E731
    xz, xr, xh = (x[:, 0] @ W[:, k * U:(k + 1) * U] + b[k * U:(k + 1) * U]
                  for k in range(3))
    h_tm1 = h0 * rd[0] if carry else h0
    z = hs(xz + (h0 * rd[0]) @ R[:, :U])
    r = hs(xr + (h0 * rd[1]) @ R[:, U:2 * U])
    hh = np.tanh(xh + (r * (h0 * rd[2])) @ R[:, 2 * U:])
    want = z * h_tm1 + (1 - z) * hh
    kw = dict(recurrent_mask=rd, recurrent_mask_carry=carry)
    np.testing.assert_allclose(ref.gru_forward(x, W, R, b, h0, **kw)[1], want, rtol=1e-12)
    got = GRU.forward(*(a.astype(np.float32) for a in (x, W, R, b, h0)),
                      recurrent_mask=rd.astype(np.float32),
                      recurrent_mask_carry=carry)[1]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", RD_CASES, ids=rd_id)
@pytest.mark.parametrize("go_backwards,init,mask", [(False, True, True),
                                                    (True, False, False),
                                                    (True, True, True)])
def test_reference_gradients_with_recurrent_mask(case, go_backwards, init, mask):
    layer, carry = case
    rd = recurrent_mask(layer, 2, 2, rate=0.5, seed=1, dtype=np.float64)
    rd[:, 0, 0] = [2.0, 0.0, 2.0][:layer.gates]  # the gates' masks differ
    rd[:, 1, 1] = 2.0  # and no sample is all zeros
    extra = dict(recurrent_mask=rd)
    if carry:
        extra["recurrent_mask_carry"] = True
    check_gradients_by_finite_differences(layer, go_backwards, init, mask,
                                          "tanh", "sigmoid", **extra)


@pytest.mark.parametrize("case", RD_CASES, ids=rd_id)
def test_recurrent_mask_backward_accumulates(case):
    layer, carry = case
    inputs = make_inputs(layer, 3, 4, 5, 6, mask=True)
    x, W, R, b, h0, _, m = inputs
    rd = rd_kwargs(layer, 3, 6, carry)
    *outs, cache = layer.forward(x, W, R, b, h0=h0, mask=m, **rd)
    douts = output_grads(outs)
    fresh = kernel_grads(layer, douts, cache, inputs)
    rng = np.random.default_rng(9)
    names = ["dx", "dkernel", "drecurrent", "dbias", "dh0"]
    starts = {n: rng.standard_normal(g.shape).astype(np.float32)
              for n, g in zip(names, fresh)}
    got = kernel_grads(layer, douts, cache, inputs,
                       **{n: v.copy() for n, v in starts.items()})
    for n, g, f in zip(names, got, fresh):
        np.testing.assert_allclose(g, starts[n] + f, rtol=1e-5, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("case", RD_CASES, ids=rd_id)
def test_recurrent_mask_results_do_not_depend_on_thread_count(case):
    layer, carry = case
    x, W, R, b, h0, _, m = make_inputs(layer, 40, 3, 7, 200, mask=True)
    rd = rd_kwargs(layer, 40, 200, carry)

    def run():
        *outs, cache = layer.forward(x, W, R, b, h0=h0, mask=m, go_backwards=True,
                                     **rd)
        return outs + list(layer.backward(*output_grads(outs), cache, x, W, R))
    assert_same_bits_at_thread_counts(run)


@pytest.mark.parametrize("layer", [GRU, SIMPLE], ids=lambda l: l.name)
def test_recurrent_mask_bad_shape_dtype_or_layout(layer):
    x, W, R, b, h0, _, _ = make_inputs(layer, 3, 2, 4, 5)
    G = layer.gates
    with pytest.raises(ValueError, match=rf"{layer.name} recurrent_mask must have "
                       rf"shape \(gates, batch, units\) = \({G}, 3, 5\), got "
                       rf"\({G}, 3, 4\)"):
        layer.forward(x, W, R, b, recurrent_mask=np.ones((G, 3, 4), np.float32))
    with pytest.raises(ValueError, match=rf"= \({G}, 3, 5\), got \({G + 1}, 3, 5\)"):
        layer.forward(x, W, R, b, recurrent_mask=np.ones((G + 1, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"recurrent_mask must be 3-D, got shape \(3, 5\)"):
        layer.forward(x, W, R, b, recurrent_mask=np.ones((3, 5), np.float32))
    with pytest.raises(TypeError, match="recurrent_mask.*float32, got float64"):
        layer.forward(x, W, R, b, recurrent_mask=np.ones((G, 3, 5)))
    with pytest.raises(ValueError, match="recurrent_mask must be C-contiguous"):
        layer.forward(x, W, R, b, recurrent_mask=np.ones((5, 3, G), np.float32).T)


# ---- kernel None: x is the input projection x W, made by the caller (Keras
# 2's implementation=1 input dropout projects x with one mask per gate) -------

def project(x, W):
    """x W in float64, rounded to float32: the projection a caller feeds."""
    N, T, C = x.shape
    return (x.reshape(N * T, C).astype(np.float64) @ W).reshape(N, T, -1).astype(np.float32)


@pytest.mark.parametrize("layer", [LSTM, GRU, SIMPLE], ids=lambda l: l.name)
@pytest.mark.parametrize("opt", [dict(), dict(go_backwards=True, mask=True, rd=True)],
                         ids=option_id)
def test_projected_input_equals_the_fused_projection(layer, opt):
    """kernel=None with x W computed outside gives the fused path's outputs;
    its dx is the gradient of x W (so dx W^T is the fused dx), the other
    gradients are the fused ones, dkernel is None; the reference agrees."""
    opt = dict(opt)
    gb, rd = opt.pop("go_backwards", False), opt.pop("rd", False)
    N, T, C, U = 35, 3, 8, 40
    inputs = make_inputs(layer, N, T, C, U, **opt)
    x, W, R, b, h0, c0, m = inputs
    kw = dict(mask=m, go_backwards=gb, **state_kwargs(layer, h0, c0))
    if rd:
        kw["recurrent_mask"] = recurrent_mask(layer, N, U)
    P = project(x, W)
    *fused, cache = layer.forward(x, W, R, b, **kw)
    *proj, pcache = layer.forward(P, None, R, b, **kw)
    *want, rcache = layer.ref_forward(P, None, R, b, **kw)
    for f, p, w in zip(fused, proj, want):
        assert_close(p, f, f"{layer.name} forward")
        assert_close(p, w, f"{layer.name} forward vs reference")
    douts = output_grads(fused)
    gf = layer.backward(*douts, cache, x, W, R)
    gp = layer.backward(*douts, pcache, P, None, R)
    gr = layer.ref_backward(*douts, rcache, P, None, R)
    assert gp[0].shape == (N, T, layer.gates * U) and gp[1] is None and gr[1] is None
    assert_close(gp[0], gr[0], "dx (the projection's gradient) vs reference")
    assert_close(gp[0].reshape(N * T, -1) @ W.T, gf[0].reshape(N * T, C), "dx W^T")
    for g, f, r in zip(gp[2:], gf[2:], gr[2:]):
        assert_close(g, f, f"{layer.name} backward")
        assert_close(g, r, f"{layer.name} backward vs reference")


@pytest.mark.parametrize("layer", [LSTM, GRU, SIMPLE], ids=lambda l: l.name)
def test_projected_input_bad_shapes_raise_clear_errors(layer):
    G, U = layer.gates, 3
    x, W, R, b, h0, c0, _ = make_inputs(layer, 2, 4, G * U, U)
    with pytest.raises(ValueError, match=rf"with kernel=None takes x as the input "
                       rf"projection .*\(2, 4, {G * U}\), got x shape \(2, 4, {G * U - 1}\)"):
        layer.forward(x[:, :, 1:].copy(), None, R, b)
    # C = G*U: a cache of one path must not be undone by the other
    *outs, cache = layer.forward(x, W, R, b)
    *pouts, pcache = layer.forward(x, None, R, b)
    douts = output_grads(outs)
    with pytest.raises(ValueError, match="kernel is None but the forward that made this "
                       "cache ran with a kernel"):
        layer.backward(*douts, cache, x, None, R)
    with pytest.raises(ValueError, match="kernel is given but the forward that made this "
                       "cache ran with kernel=None"):
        layer.backward(*douts, pcache, x, W, R)
