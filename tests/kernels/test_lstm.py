"""LSTM kernels (src/kernels/lstm.c) against the numpy reference, the
reference against finite differences and, when torch is installed, the
forward against torch.nn.LSTM. The harness is in test_rnn.py."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.reference import recurrent as ref
from tests.gradcheck import assert_grads_match
from tests.kernels.test_rnn import (
    BIG_OPTIONS, BIG_SHAPES, LSTM, OPTIONS, SHAPES, assert_close, check_accumulates,
    check_against_reference, check_bad_inputs, check_go_backwards_is_reversed_time,
    check_gradients_by_finite_differences, check_mask_semantics,
    check_thread_determinism, make_inputs, option_id, output_grads, run_kernel)
from tests.threads import assert_same_bits_at_thread_counts


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("opt", OPTIONS, ids=option_id)
def test_kernel_matches_reference(shape, opt):
    check_against_reference(LSTM, shape, **opt)


@pytest.mark.parametrize("shape", BIG_SHAPES + [(32, 3, 128, 128)], ids=str)
@pytest.mark.parametrize("opt", BIG_OPTIONS, ids=option_id)
def test_kernel_matches_reference_big(shape, opt):
    check_against_reference(LSTM, shape, **opt)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("init,mask", [(False, False), (True, True)])
@pytest.mark.parametrize("act,ract", [("tanh", "hard_sigmoid"),
                                      ("tanh", "sigmoid"),
                                      ("sigmoid", "tanh")])
def test_reference_gradients(go_backwards, init, mask, act, ract):
    check_gradients_by_finite_differences(LSTM, go_backwards, init, mask,
                                          act, ract)


def test_backward_accumulates():
    check_accumulates(LSTM)


def test_results_do_not_depend_on_thread_count():
    check_thread_determinism(LSTM)


def test_masked_steps_keep_the_state():
    check_mask_semantics(LSTM)
    inputs = make_inputs(LSTM, 4, 6, 3, 5, mask=True)
    (_, _, cT), _ = run_kernel(LSTM, inputs)
    np.testing.assert_array_equal(cT[0], inputs[5][0])  # fully masked: c0


def test_go_backwards_is_time_reversed():
    check_go_backwards_is_reversed_time(LSTM)


def test_bad_inputs_raise_clear_errors():
    check_bad_inputs(LSTM)
    inputs = make_inputs(LSTM, 2, 3, 4, 5)
    outs, cache = run_kernel(LSTM, inputs)
    x, W, R = inputs[:3]
    shared = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match="dh0 must not share memory with dc0"):
        kernels.lstm_backward(None, outs[1], None, cache, x, W, R, dh0=shared,
                              dc0=shared)


def test_only_final_state_gradients():
    """dhseq=None, dc_T=None: gradients through h_T alone."""
    inputs = make_inputs(LSTM, 3, 4, 2, 3)
    outs, cache = run_kernel(LSTM, inputs)
    dhT = np.ones_like(outs[1])
    zero = np.zeros_like(outs[0])
    x, W, R = inputs[:3]
    got = kernels.lstm_backward(None, dhT, None, cache, x, W, R)
    want = kernels.lstm_backward(zero, dhT, np.zeros_like(dhT), cache, x, W, R)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.abs(got[1]).sum() > 0


def test_forward_matches_torch_lstm():
    torch = pytest.importorskip("torch")
    N, T, C, U = 3, 5, 4, 6
    x, W, R, b, h0, c0, _ = make_inputs(LSTM, N, T, C, U, seed=3)
    hseq, hT, cT, _ = kernels.lstm_forward(
        x, W, R, b, h0, c0, recurrent_activation="sigmoid")
    lstm = torch.nn.LSTM(C, U, batch_first=True)
    # Keras: x @ W with gate order i, f, c, o; torch: W_ih @ x, order i, f,
    # g, o (the same order), two biases of which one is set to zero
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(R.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(b))
        lstm.bias_hh_l0.zero_()
        out, (hn, cn) = lstm(torch.from_numpy(x), (torch.from_numpy(h0)[None],
                                                   torch.from_numpy(c0)[None]))
    np.testing.assert_allclose(hseq, out.numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(hT, hn[0].numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(cT, cn[0].numpy(), rtol=1e-5, atol=2e-6)


# ---- recurrent dropout: recurrent_mask (4, N, U), gate q reads h * m[q] ----

def _recurrent_mask(N, U, rate=0.4, seed=3, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return ((rng.random((4, N, U)) >= rate) / (1.0 - rate)).astype(dtype)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 7, 6, 9), (64, 2, 5, 200)],
                         ids=str)
@pytest.mark.parametrize("opt", [dict(), dict(init=False, mask=True),
                                 dict(go_backwards=True, mask=True, ract="sigmoid")],
                         ids=option_id)
def test_recurrent_mask_matches_reference(shape, opt):
    opt = dict(opt)
    gb, ract = opt.pop("go_backwards", False), opt.pop("ract", "hard_sigmoid")
    inputs = make_inputs(LSTM, *shape, **opt)
    x, W, R, b, h0, c0, m = inputs
    rd = _recurrent_mask(shape[0], shape[3])
    kw = dict(mask=m, go_backwards=gb, recurrent_activation=ract)
    *outs, cache = kernels.lstm_forward(x, W, R, b, h0, c0, recurrent_mask=rd, **kw)
    *want, rcache = ref.lstm_forward(x, W, R, b, h0, c0, recurrent_mask=rd, **kw)
    for name, o, w in zip(["hseq", "h_T", "c_T"], outs, want):
        assert_close(o, w, f"forward {name}")
    douts = output_grads(outs)
    got = kernels.lstm_backward(*douts, cache, x, W, R)
    exp = ref.lstm_backward(*douts, rcache, x, W, R)
    for name, g, e in zip(["dx", "dkernel", "drecurrent", "dbias", "dh0", "dc0"],
                          got, exp):
        assert_close(g, e, f"backward {name}")


def test_recurrent_mask_changes_the_result_and_ones_do_not():
    x, W, R, b, h0, c0, m = make_inputs(LSTM, 4, 5, 3, 6)
    plain = kernels.lstm_forward(x, W, R, b, h0, c0)[0]
    ones = kernels.lstm_forward(x, W, R, b, h0, c0,
                                recurrent_mask=np.ones((4, 4, 6), np.float32))[0]
    np.testing.assert_array_equal(ones, plain)
    dropped = kernels.lstm_forward(x, W, R, b, h0, c0,
                                   recurrent_mask=_recurrent_mask(4, 6))[0]
    assert not np.allclose(dropped[:, 1:], plain[:, 1:])


@pytest.mark.parametrize("go_backwards,init", [(False, True), (True, False)])
def test_reference_gradients_with_recurrent_mask(go_backwards, init):
    N, T, C, U = 2, 3, 3, 2
    x, W, R, b, h0, c0, _ = make_inputs(LSTM, N, T, C, U, seed=7, dtype=np.float64)
    rd = _recurrent_mask(N, U, rate=0.5, seed=1, dtype=np.float64)
    rd[:, 0, 0] = [2.0, 0.0, 2.0, 2.0]  # every gate's mask differs somewhere
    m = np.array([[1, 0, 1], [1, 1, 1]], bool)
    arrays = [x, W, R, b] + ([h0, c0] if init else [])

    def call(*arrs):
        states = list(arrs[4:]) + [None] * 2
        return ref.lstm_forward(*arrs[:4], states[0], states[1], mask=m,
                                go_backwards=go_backwards, recurrent_activation="sigmoid",
                                recurrent_mask=rd)

    def forward(*arrs):
        return np.concatenate([o.ravel() for o in call(*arrs)[:-1]])

    def backward(dy, *arrs):
        *outs, cache = call(*arrs)
        douts, at = [], 0
        for o in outs:
            douts.append(dy[at:at + o.size].reshape(o.shape))
            at += o.size
        return tuple(ref.lstm_backward(*douts, cache, *arrs[:3])[:len(arrs)])

    assert_grads_match(forward, backward, arrays, rtol=1e-5, atol=1e-7)


def test_recurrent_mask_results_do_not_depend_on_thread_count():
    x, W, R, b, h0, c0, m = make_inputs(LSTM, 40, 3, 7, 200, mask=True)
    rd = _recurrent_mask(40, 200)

    def run():
        *outs, cache = kernels.lstm_forward(x, W, R, b, h0, c0, mask=m,
                                            recurrent_mask=rd)
        return outs + list(kernels.lstm_backward(*output_grads(outs), cache, x, W, R))
    assert_same_bits_at_thread_counts(run)


def test_recurrent_mask_bad_shape_or_dtype():
    x, W, R, b, h0, c0, m = make_inputs(LSTM, 3, 2, 4, 5)
    with pytest.raises(ValueError, match=r"recurrent_mask must have shape .*\(4, 3, 5\)"):
        kernels.lstm_forward(x, W, R, b, recurrent_mask=np.ones((4, 3, 4), np.float32))
    with pytest.raises(TypeError, match="recurrent_mask"):
        kernels.lstm_forward(x, W, R, b, recurrent_mask=np.ones((4, 3, 5)))
