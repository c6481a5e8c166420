"""LSTM kernels (src/kernels/lstm.c) against the numpy reference, the
reference against finite differences and, when torch is installed, the
forward against torch.nn.LSTM. The harness is in test_rnn.py."""
import numpy as np
import pytest

from ckeras._native import kernels
from tests.kernels.test_rnn import (
    BIG_OPTIONS, BIG_SHAPES, LSTM, OPTIONS, SHAPES, check_accumulates,
    check_against_reference, check_bad_inputs, check_go_backwards_is_reversed_time,
    check_gradients_by_finite_differences, check_mask_semantics,
    check_thread_determinism, make_inputs, option_id, run_kernel)


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
