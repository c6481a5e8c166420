"""GRU(reset_after=True), Keras 2.2's CuDNN-compatible form: the numpy
reference against finite differences, the op (K.gru(..., reset_after=True))
against the reference and torch.nn.GRU, and the layer: masks, states,
go_backwards, Bidirectional, training, config and HDF5 round trips."""
import json

import h5py
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential, load_model, model_from_config
from ckeras.reference import recurrent as ref_rnn
from tests.gradcheck import assert_grads_match, assert_match_finite_differences, numeric_grad
from tests.layers.test_layer_contract import helper_test_layer
from tests.threads import assert_same_bits_at_thread_counts

MASK = np.array([[1, 0, 1, 1], [1, 1, 1, 0], [0, 1, 1, 1]], bool)


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()


def _inputs(N=3, T=4, C=5, U=3, seed=0, dtype=np.float64):
    """x, kernel, recurrent_kernel, bias (2, 3U), h0."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((N, T, C)).astype(dtype),
            (0.5 * rng.standard_normal((C, 3 * U))).astype(dtype),
            (0.5 * rng.standard_normal((U, 3 * U))).astype(dtype),
            (0.3 * rng.standard_normal((2, 3 * U))).astype(dtype),
            (0.5 * rng.standard_normal((N, U))).astype(dtype)]


# ---- the numpy reference ---------------------------------------------------------
@pytest.mark.parametrize("go_backwards,masked,act,ract", [
    (False, False, "tanh", "sigmoid"), (True, True, "tanh", "sigmoid"),
    (False, True, "relu", "linear"), (True, False, "linear", "sigmoid")])
def test_reference_gradients_match_finite_differences(go_backwards, masked, act, ract):
    mask = MASK if masked else None
    T, U = 4, 2

    def forward(x, W, R, b, h0):
        hseq, hT, _ = ref_rnn.gru_reset_after_forward(
            x, W, R, b, h0, mask=mask, go_backwards=go_backwards, activation=act,
            recurrent_activation=ract)
        return np.concatenate([hseq, hT[:, None]], axis=1)

    def backward(dy, x, W, R, b, h0):
        _, _, cache = ref_rnn.gru_reset_after_forward(
            x, W, R, b, h0, mask=mask, go_backwards=go_backwards, activation=act,
            recurrent_activation=ract)
        return ref_rnn.gru_reset_after_backward(dy[:, :T], dy[:, T], cache, x, W, R)

    assert_grads_match(forward, backward, _inputs(T=T, C=2, U=U))


def test_reference_one_step_by_hand():
    """One step written out from Keras 2.2.4's GRUCell.call (reset_after)."""
    x, W, R, b, h0 = _inputs(N=2, T=1, C=3, U=2)
    U = 2

    def sig(v):
        return 1 / (1 + np.exp(-v))
    xz, xr, xh = (x[:, 0] @ W[:, i * U:(i + 1) * U] + b[0, i * U:(i + 1) * U]
                  for i in range(3))
    rz, rr, rh = (h0 @ R[:, i * U:(i + 1) * U] + b[1, i * U:(i + 1) * U]
                  for i in range(3))
    z, r = sig(xz + rz), sig(xr + rr)
    hh = np.tanh(xh + r * rh)
    want = z * h0 + (1 - z) * hh
    _, hT, _ = ref_rnn.gru_reset_after_forward(x, W, R, b, h0,
                                               recurrent_activation="sigmoid")
    np.testing.assert_allclose(hT, want, rtol=1e-12)
    # reset_after=False differs (r multiplies h before R): the test can fail
    _, h_old, _ = ref_rnn.gru_forward(x, W, R, b[0] + b[1], h0,
                                      recurrent_activation="sigmoid")
    assert not np.allclose(h_old, want, atol=1e-3)


def _rd(N=3, U=2, rate=0.5, seed=6, shared=False, dtype=np.float64):
    """Recurrent dropout masks (3, N, U): 0 or 1 / (1 - rate); every gate's
    mask differs somewhere unless shared, and no sample drops every unit."""
    rng = np.random.default_rng(seed)
    m = (rng.random((1 if shared else 3, N, U)) >= rate) / (1 - rate)
    m[:, :, 0] = 1 / (1 - rate)
    if not shared:
        m[:, 0, -1] = [0.0, 2.0, 0.0]
    return np.ascontiguousarray(np.broadcast_to(m, (3, N, U))).astype(dtype)


@pytest.mark.parametrize("go_backwards,masked,carry", [
    (False, False, False), (True, True, False), (False, True, True),
    (True, False, True)])
def test_reference_gradients_with_recurrent_mask(go_backwards, masked, carry):
    """Keras 2.2.4's GRUCell with recurrent dropout, reset_after=True:
    inner_q = (h * m_q) R_q + b_rec_q (carry: the update reads h * m_z)."""
    mask = MASK if masked else None
    T, U = 4, 2
    kw = dict(mask=mask, go_backwards=go_backwards, recurrent_activation="sigmoid",
              recurrent_mask=_rd(U=U, shared=carry), recurrent_mask_carry=carry)

    def forward(x, W, R, b, h0):
        hseq, hT, _ = ref_rnn.gru_reset_after_forward(x, W, R, b, h0, **kw)
        return np.concatenate([hseq, hT[:, None]], axis=1)

    def backward(dy, x, W, R, b, h0):
        _, _, cache = ref_rnn.gru_reset_after_forward(x, W, R, b, h0, **kw)
        return ref_rnn.gru_reset_after_backward(dy[:, :T], dy[:, T], cache, x, W, R)

    assert_grads_match(forward, backward, _inputs(T=T, C=2, U=U))


@pytest.mark.parametrize("carry", [False, True])
def test_reference_one_step_with_recurrent_mask_by_hand(carry):
    """One step of Keras 2.2.4's GRUCell.call, reset_after=True, with
    recurrent dropout: implementation=1 (three masks, the carry reads h)
    and implementation=2 (one mask; the update reads the masked h)."""
    x, W, R, b, h0 = _inputs(N=3, T=1, C=3, U=2)
    U = 2
    m = _rd(U=U, shared=carry)

    def sig(v):
        return 1 / (1 + np.exp(-v))
    xz, xr, xh = (x[:, 0] @ W[:, i * U:(i + 1) * U] + b[0, i * U:(i + 1) * U]
                  for i in range(3))
    rz, rr, rh = ((h0 * m[i]) @ R[:, i * U:(i + 1) * U] + b[1, i * U:(i + 1) * U]
                  for i in range(3))
    z, r = sig(xz + rz), sig(xr + rr)
    hh = np.tanh(xh + r * rh)
    h_tm1 = h0 * m[0] if carry else h0
    want = z * h_tm1 + (1 - z) * hh
    _, hT, _ = ref_rnn.gru_reset_after_forward(
        x, W, R, b, h0, recurrent_activation="sigmoid", recurrent_mask=m,
        recurrent_mask_carry=carry)
    np.testing.assert_allclose(hT, want, rtol=1e-12)


# ---- the op ------------------------------------------------------------------------
def _op_with_grads(vals, dy_seq, dy_T, **kw):
    """K.gru(reset_after=True) on Variables: (hseq, h_T, grads of the 5 inputs)."""
    variables = [K.Variable(v, dtype=str(v.dtype)) if v is not None else None
                 for v in vals]
    with K.GradientTape() as tape:
        hseq, hT = K.gru(*variables, reset_after=True, **kw)
        loss = K.sum(hseq * dy_seq) + K.sum(hT * dy_T)
    grads = tape.gradient(loss, [v for v in variables if v is not None])
    return np.asarray(hseq), np.asarray(hT), grads


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (1, 1, 1, 1), (4, 7, 3, 17)])
def test_op_float32_matches_reference(go_backwards, masked, use_bias, shape):
    N, T, C, U = shape
    vals = _inputs(N, T, C, U, seed=1, dtype=np.float32)
    if not use_bias:
        vals[3] = None
    mask = None
    if masked:
        mask = np.random.default_rng(2).random((N, T)) > 0.3
    rng = np.random.default_rng(3)
    dy_seq = rng.standard_normal((N, T, U)).astype(np.float32)
    dy_T = rng.standard_normal((N, U)).astype(np.float32)
    kw = dict(mask=mask, go_backwards=go_backwards, activation="tanh",
              recurrent_activation="hard_sigmoid")
    hseq, hT, grads = _op_with_grads(vals, dy_seq, dy_T, **kw)
    assert hseq.dtype == np.float32 and grads[0].dtype == np.float32
    want_seq, want_T, cache = ref_rnn.gru_reset_after_forward(*vals, **kw)
    np.testing.assert_allclose(hseq, want_seq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hT, want_T, rtol=1e-5, atol=1e-6)
    want = ref_rnn.gru_reset_after_backward(dy_seq, dy_T, cache, *vals[:3])
    want = [w for w, v in zip(want, vals[:3] + vals[3:]) if v is not None]
    for i, (g, w) in enumerate(zip(grads, want)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"input {i}")
    # no tape: plain arrays, the same values
    plain = K.gru(*vals, reset_after=True, **kw)
    assert isinstance(plain[0], np.ndarray)
    np.testing.assert_array_equal(plain[0], hseq)


def _check_op_gradients_by_finite_differences(**kw):
    """The op's own backward (not the reference's) in float64."""
    vals = _inputs(N=3, T=4, C=2, U=2, seed=4)
    rng = np.random.default_rng(5)
    w_seq, w_T = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 2))
    kw = dict(mask=MASK, recurrent_activation="sigmoid", **kw)
    _, _, grads = _op_with_grads(vals, w_seq, w_T, **kw)

    def objective():
        hseq, hT = K.gru(*vals, reset_after=True, **kw)
        return float(np.sum(hseq * w_seq) + np.sum(hT * w_T))
    for i, (v, g) in enumerate(zip(vals, grads)):
        np.testing.assert_allclose(g, numeric_grad(objective, v), rtol=1e-5, atol=1e-7,
                                   err_msg=f"input {i}")


@pytest.mark.parametrize("go_backwards", [False, True])
def test_op_float64_tape_gradients_match_finite_differences(go_backwards):
    _check_op_gradients_by_finite_differences(go_backwards=go_backwards)


def test_op_bitwise_identical_at_1_2_3_threads():
    vals = _inputs(N=3, T=6, C=7, U=33, seed=8, dtype=np.float32)
    dy_seq = np.random.default_rng(9).standard_normal((3, 6, 33)).astype(np.float32)
    mask = np.random.default_rng(10).random((3, 6)) > 0.3

    def run():
        hseq, hT, grads = _op_with_grads(vals, dy_seq, dy_seq[:, 0], mask=mask,
                                         go_backwards=True)
        return [hseq, hT] + list(grads)
    assert_same_bits_at_thread_counts(run)


@pytest.mark.parametrize("carry", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (1, 1, 1, 1), (4, 7, 3, 17)])
def test_op_with_recurrent_mask_matches_reference(carry, shape):
    """float32 op (sgemm, its own backward) against the reference with the
    same masks, with a step mask, go_backwards and an initial state."""
    N, T, C, U = shape
    vals = _inputs(N, T, C, U, seed=1, dtype=np.float32)
    rd = _rd(N, U, rate=0.4, seed=2, shared=carry, dtype=np.float32) if U > 1 else \
        np.full((3, N, U), 1 / 0.6, np.float32)
    mask = np.random.default_rng(2).random((N, T)) > 0.3
    mask[:, -1] = True  # the first processed step runs
    rng = np.random.default_rng(3)
    dy_seq = rng.standard_normal((N, T, U)).astype(np.float32)
    dy_T = rng.standard_normal((N, U)).astype(np.float32)
    kw = dict(mask=mask, go_backwards=True, recurrent_mask=rd, recurrent_mask_carry=carry)
    hseq, hT, grads = _op_with_grads(vals, dy_seq, dy_T, **kw)
    want_seq, want_T, cache = ref_rnn.gru_reset_after_forward(*vals, **kw)
    np.testing.assert_allclose(hseq, want_seq, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hT, want_T, rtol=1e-5, atol=1e-5)
    want = ref_rnn.gru_reset_after_backward(dy_seq, dy_T, cache, *vals[:3])
    for i, (g, w) in enumerate(zip(grads, want)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4, err_msg=f"input {i}")
    plain = K.gru(*vals, reset_after=True, mask=mask, go_backwards=True)[0]
    assert not np.allclose(plain, hseq)  # the masks did something


@pytest.mark.parametrize("carry", [False, True])
def test_op_float64_tape_gradients_with_recurrent_mask(carry):
    _check_op_gradients_by_finite_differences(
        go_backwards=True, recurrent_mask=_rd(shared=carry), recurrent_mask_carry=carry)


def test_op_with_recurrent_mask_bitwise_identical_at_1_2_3_threads():
    vals = _inputs(N=3, T=6, C=7, U=33, seed=8, dtype=np.float32)
    dy_seq = np.random.default_rng(9).standard_normal((3, 6, 33)).astype(np.float32)
    rd = _rd(3, 33, rate=0.3, seed=10, dtype=np.float32)

    def run():
        hseq, hT, grads = _op_with_grads(vals, dy_seq, dy_seq[:, 0], go_backwards=True,
                                         recurrent_mask=rd)
        return [hseq, hT] + list(grads)
    assert_same_bits_at_thread_counts(run)


def test_op_rejects_a_bad_recurrent_mask():
    x, W, R, b, h0 = _inputs(dtype=np.float32)
    with pytest.raises(ValueError, match=r"recurrent_mask must have shape .*\(3, 3, 3\), "
                       r"got \(3, 3, 2\)"):
        K.gru(x, W, R, b, reset_after=True, recurrent_mask=np.ones((3, 3, 2), np.float32))


def test_op_rejects_a_flat_bias():
    x, W, R, b, h0 = _inputs(dtype=np.float32)
    with pytest.raises(ValueError, match=r"bias \(2, 9\).*\(9,\)"):
        K.gru(x, W, R, b.sum(axis=0), reset_after=True)


def test_op_matches_torch_gru_forward_and_gradients():
    torch = pytest.importorskip("torch")
    N, T, C, U = 3, 5, 4, 3
    x, W, R, b, h0 = _inputs(N, T, C, U, seed=6)

    def torch_rows(m):  # ours: columns z, r, h; torch: rows r, z, n
        return np.concatenate([m[..., U:2 * U], m[..., :U], m[..., 2 * U:]], axis=-1).T
    gru = torch.nn.GRU(C, U, batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(torch_rows(W)))
        gru.weight_hh_l0.copy_(torch.from_numpy(torch_rows(R)))
        gru.bias_ih_l0.copy_(torch.from_numpy(torch_rows(b[0])))
        gru.bias_hh_l0.copy_(torch.from_numpy(torch_rows(b[1])))
    xt = torch.from_numpy(x).requires_grad_()
    ht = torch.from_numpy(h0[None]).requires_grad_()
    seq_t, hT_t = gru(xt, ht)
    rng = np.random.default_rng(7)
    dy_seq, dy_T = rng.standard_normal((N, T, U)), rng.standard_normal((N, U))
    (seq_t * torch.from_numpy(dy_seq)).sum().add((hT_t[0] * torch.from_numpy(dy_T))
                                                 .sum()).backward()
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        vals = [v.astype(dtype) for v in (x, W, R, b, h0)]
        hseq, hT, grads = _op_with_grads(vals, dy_seq.astype(dtype), dy_T.astype(dtype),
                                         activation="tanh", recurrent_activation="sigmoid")
        np.testing.assert_allclose(hseq, seq_t.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(hT, hT_t[0].detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(grads[0], xt.grad.numpy(), rtol=10 * tol, atol=10 * tol)
        np.testing.assert_allclose(grads[4], ht.grad.numpy()[0], rtol=10 * tol,
                                   atol=10 * tol)
        np.testing.assert_allclose(torch_rows(grads[1]), gru.weight_ih_l0.grad.numpy(),
                                   rtol=10 * tol, atol=10 * tol)
        np.testing.assert_allclose(torch_rows(grads[2]), gru.weight_hh_l0.grad.numpy(),
                                   rtol=10 * tol, atol=10 * tol)
        np.testing.assert_allclose(torch_rows(grads[3][1]), gru.bias_hh_l0.grad.numpy(),
                                   rtol=10 * tol, atol=10 * tol)


# ---- the layer -------------------------------------------------------------------------
def _gru(units=3, **kw):
    kw.setdefault("recurrent_activation", "sigmoid")
    kw.setdefault("bias_initializer", "normal")
    return layers.GRU(units, reset_after=True, **kw)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _ref(layer, x, **kw):
    return ref_rnn.gru_reset_after_forward(
        x, *layer.get_weights(), activation=layer.activation.__name__,
        recurrent_activation=layer.recurrent_activation.__name__, **kw)


def test_weights_layout_and_default():
    gru = layers.GRU(2, reset_after=True)
    gru.build((None, 7, 5))
    assert [w.name.split("/")[-1] for w in gru.weights] == [
        "kernel:0", "recurrent_kernel:0", "bias:0"]
    assert [w.shape for w in gru.get_weights()] == [(5, 6), (2, 6), (2, 6)]
    old = layers.GRU(2)
    assert old.reset_after is False and old.get_config()["reset_after"] is False
    old.build((None, 7, 5))
    assert old.get_weights()[2].shape == (6,)
    nobias = layers.GRU(2, reset_after=True, use_bias=False)
    nobias.build((None, 7, 5))
    assert len(nobias.get_weights()) == 2


@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_matches_reference_sequences_and_states(go_backwards):
    gru = _gru(4, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = _x((3, 5, 6))
    seq, h = gru(x)
    want = _ref(gru, x, go_backwards=go_backwards)
    np.testing.assert_allclose(seq, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, want[1], rtol=1e-5, atol=1e-6)
    inp = layers.Input(shape=(5, 6))
    outs = _gru(4, return_state=True)(inp)
    assert [K.int_shape(o) for o in outs] == [(None, 4), (None, 4)]


@pytest.mark.parametrize("name,make", [
    ("seq", lambda: _gru(3, return_sequences=True)),
    ("back_nobias", lambda: layers.GRU(2, reset_after=True, go_backwards=True,
                                       use_bias=False)),
    ("bidirectional", lambda: layers.Bidirectional(_gru(2, return_sequences=True))),
])
def test_layer_contract(name, make):
    helper_test_layer(make, (4, 5))


def test_mask_keeps_the_state_on_masked_steps():
    x = _x((2, 4, 3))
    x[0, 1:3] = 0.0
    inp = layers.Input(shape=(4, 3))
    gru = _gru(2, return_sequences=True)
    model = Model(inp, gru(layers.Masking(0.0)(inp)))
    got = model.predict(x)
    want = _ref(gru, x, mask=np.any(x != 0, axis=-1))[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[0, 1], got[0, 0])
    np.testing.assert_array_equal(got[0, 2], got[0, 0])


def test_initial_state_and_stateful():
    x = _x((2, 6, 3))
    h0 = _x((2, 4), 1)
    gru = _gru(4, return_state=True)
    out, h = gru(x, initial_state=[h0])
    np.testing.assert_allclose(h, _ref(gru, x, h0=h0)[1], rtol=1e-5, atol=1e-6)
    inp, hi = layers.Input(shape=(6, 3)), layers.Input(shape=(4,))
    model = Model([inp, hi], gru(inp, initial_state=[hi])[0])
    np.testing.assert_allclose(model.predict([x, h0]), out, rtol=1e-6, atol=1e-6)
    stateful = _gru(4, stateful=True, batch_input_shape=(2, 3, 3))
    seq = Sequential([stateful])
    first, second = seq.predict(x[:, :3], batch_size=2), seq.predict(x[:, 3:], batch_size=2)
    full = _ref(stateful, x)[0]
    np.testing.assert_allclose(first, full[:, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second, full[:, 5], rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(seq.predict(x[:, 3:], batch_size=2),
                               _ref(stateful, x[:, 3:])[1], rtol=1e-5, atol=1e-6)


def test_bidirectional_matches_two_references():
    x = _x((2, 4, 3))
    bi = layers.Bidirectional(_gru(3), merge_mode="concat")
    y = np.asarray(bi(x))
    w = bi.get_weights()
    assert [a.shape for a in w] == [(3, 9), (3, 9), (2, 9)] * 2
    fwd = ref_rnn.gru_reset_after_forward(x, *w[:3], recurrent_activation="sigmoid")[1]
    bwd = ref_rnn.gru_reset_after_forward(x, *w[3:], go_backwards=True,
                                          recurrent_activation="sigmoid")[1]
    np.testing.assert_allclose(y, np.concatenate([fwd, bwd], axis=-1), rtol=1e-5,
                               atol=1e-6)


def test_layer_float64_gradients_match_finite_differences():
    K.set_floatx("float64")
    try:
        rng = np.random.default_rng(1)
        layer = _gru(2, go_backwards=True, return_sequences=True)
        x, h0 = rng.standard_normal((2, 3, 2)), 0.5 * rng.standard_normal((2, 2))
        mask = np.array([[1, 0, 1], [1, 1, 0]], bool)
        probe = layer(x, initial_state=[h0], mask=mask)
        dy = rng.standard_normal(np.shape(probe))
        xt, ht = K.Tensor(x), K.Tensor(h0)
        with K.GradientTape() as tape:
            loss = K.sum(layer(xt, initial_state=[ht], mask=mask) * dy)
        grads = tape.gradient(loss, layer.trainable_weights + [xt, ht])

        def objective():
            return float(np.sum(np.asarray(layer(x, initial_state=[h0], mask=mask)) * dy))
        targets = [w.value for w in layer.trainable_weights] + [x, h0]
        assert_match_finite_differences(grads, objective, targets)
    finally:
        K.set_floatx("float32")


def test_dropout_only_in_training_and_model_trains():
    gru = _gru(3, dropout=0.5)
    x = np.ones((16, 4, 8), np.float32)
    np.testing.assert_allclose(gru(x), _ref(gru, x)[1], rtol=1e-5, atol=1e-6)
    K.set_random_seed(0)
    assert not np.allclose(np.asarray(gru(x, training=True)), gru(x))
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 5, 2)).astype(np.float32)
    ys = (xs[:, :, 0].sum(axis=1) > 0).astype(np.float32)
    K.set_random_seed(0)
    np.random.seed(0)  # fit's shuffling: without it the test hung on the order
    model = Sequential([layers.GRU(6, reset_after=True, input_shape=(5, 2)),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop")
    losses = model.fit(xs, ys, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0] - 0.05, losses


def _tfkeras_gru_config(units=3):
    """A GRU layer config as tf.keras 2.x writes it (reset_after=True)."""
    init = {"module": "keras.initializers", "registered_name": None}
    return {
        "module": "keras.layers", "class_name": "GRU", "registered_name": None,
        "config": {
            "name": "gru", "trainable": True,
            "dtype": {"module": "keras", "class_name": "DTypePolicy",
                      "config": {"name": "float32"}, "registered_name": None},
            "return_sequences": False, "return_state": False, "go_backwards": False,
            "stateful": False, "unroll": False, "time_major": False, "units": units,
            "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform",
                                   "config": {"seed": None}, **init},
            "recurrent_initializer": {"class_name": "Orthogonal",
                                      "config": {"gain": 1.0, "seed": None}, **init},
            "bias_initializer": {"class_name": "Zeros", "config": {}, **init},
            "kernel_regularizer": None, "recurrent_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "recurrent_constraint": None,
            "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0,
            "implementation": 2, "reset_after": True}}


def test_tfkeras_config_builds_and_round_trips():
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, 4, 2], "dtype": "float32", "sparse": False,
            "ragged": False, "name": "input_1"}},
        _tfkeras_gru_config(3)]}}
    model = model_from_config(config)
    gru = model.layers[-1]
    assert gru.reset_after and gru.get_weights()[2].shape == (2, 9)
    assert gru.get_config()["reset_after"] is True
    clone = layers.GRU.from_config(gru.get_config())
    assert clone.get_config() == gru.get_config()
    x = _x((2, 4, 2))
    np.testing.assert_allclose(model.predict(x), _ref(gru, x)[1], rtol=1e-5, atol=1e-6)


def test_hdf5_round_trip_and_a_tfkeras_style_file(tmp_path):
    x = _x((3, 4, 2))
    model = Sequential([_gru(3, input_shape=(4, 2)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.train_on_batch(x, np.ones((3, 1), np.float32))
    want = model.predict(x)
    path = str(tmp_path / "gru.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        group = f["model_weights"][model.layers[0].name]
        assert [group[n].shape for n in group.attrs["weight_names"]] == [
            (2, 9), (3, 9), (2, 9)]
    again = load_model(path)
    assert again.layers[0].reset_after
    np.testing.assert_array_equal(again.predict(x), want)
    # the same file with the GRU config rewritten the way tf.keras writes it
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        tf_gru = _tfkeras_gru_config(3)
        tf_gru["config"]["name"] = model.layers[0].name
        tf_gru["config"]["batch_input_shape"] = [None, 4, 2]
        layer_list = config["config"]
        layer_list = layer_list["layers"] if isinstance(layer_list, dict) else layer_list
        layer_list[0] = tf_gru
        f.attrs["model_config"] = json.dumps(config).encode()
    tf_model = load_model(path, compile=False)
    np.testing.assert_array_equal(tf_model.predict(x), want)
