"""Embedding and the recurrent layers (LSTM, GRU, SimpleRNN): outputs
against the numpy references, tape gradients against the references'
backward and float64 finite differences, masks, states, training."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential
from ckeras.reference import embedding as ref_emb
from ckeras.reference import recurrent as ref_rnn
from tests.gradcheck import assert_match_finite_differences, numeric_grad

RNNS = {"LSTM": (layers.LSTM, ref_rnn.lstm_forward, ref_rnn.lstm_backward, 2),
        "GRU": (layers.GRU, ref_rnn.gru_forward, ref_rnn.gru_backward, 1),
        "SimpleRNN": (layers.SimpleRNN, ref_rnn.simple_rnn_forward,
                      ref_rnn.simple_rnn_backward, 1)}


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _acts(kind, layer):
    kw = {"activation": layer.activation.__name__}
    if kind != "SimpleRNN":
        kw["recurrent_activation"] = layer.recurrent_activation.__name__
    return kw


# ---- forward against the references -----------------------------------------
@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_matches_reference(kind, go_backwards):
    cls, fwd, _, n_states = RNNS[kind]
    layer = cls(4, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = _x((3, 5, 6))
    out = layer(x)
    want = fwd(x, *layer.get_weights(), go_backwards=go_backwards, **_acts(kind, layer))
    np.testing.assert_allclose(out[0], want[0], rtol=1e-5, atol=1e-6)
    for got, ref in zip(out[1:], want[1:1 + n_states]):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert len(out) == 1 + n_states
    # return_sequences=False gives the last output = h_T
    last = cls.from_config({**layer.get_config(), "return_sequences": False,
                            "return_state": False, "name": "last"})
    last.build((None, 5, 6))
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(x), want[1], rtol=1e-5, atol=1e-6)


def test_lstm_weights_layout_and_unit_forget_bias():
    lstm = layers.LSTM(3)
    lstm.build((None, 7, 5))
    assert [w.name.split("/")[-1] for w in lstm.weights] == [
        "kernel:0", "recurrent_kernel:0", "bias:0"]
    assert [w.shape for w in lstm.get_weights()] == [(5, 12), (3, 12), (12,)]
    assert lstm.get_weights()[2].tolist() == [0] * 3 + [1] * 3 + [0] * 6
    gru = layers.GRU(2)
    gru.build((None, 7, 5))
    assert [w.shape for w in gru.get_weights()] == [(5, 6), (2, 6), (6,)]
    rnn = layers.SimpleRNN(2, use_bias=False)
    rnn.build((None, 7, 5))
    assert [w.shape for w in rnn.get_weights()] == [(5, 2), (2, 2)]


def test_embedding_matches_reference_and_rejects_bad_indices():
    emb = layers.Embedding(6, 3)
    idx = np.array([[0, 5, 2], [1, 1, 4]], np.int32)
    np.testing.assert_allclose(emb(idx), ref_emb.embedding_forward(
        idx, emb.get_weights()[0]), rtol=0, atol=0)
    assert np.abs(emb.get_weights()[0]).max() <= 0.05  # 'uniform' initializer
    with pytest.raises(ValueError, match=r"\[0, 6\).*got 6"):
        emb(np.array([[6]]))
    with pytest.raises(ValueError, match="got -1"):
        emb(np.array([[-1]]))


def test_rnn_2d_input_is_a_clear_error():
    with pytest.raises(ValueError, match="3-D input.*Reshape"):
        layers.LSTM(2)(layers.Input(shape=(5,)))
    lstm = layers.LSTM(2)
    lstm(_x((1, 2, 3)))
    with pytest.raises(ValueError, match="3-D"):
        lstm(_x((2, 3)))


def test_keras1_style_input_dim_and_length_kwargs():
    model = Sequential([layers.LSTM(3, input_dim=4, input_length=6),
                        layers.Dense(1)])
    assert model.input_shape == (None, 6, 4) and model.output_shape == (None, 1)
    rnn = layers.SimpleRNN(2, input_dim=4)
    assert rnn.batch_input_shape == (None, None, 4)


def test_bad_recurrent_dropout_and_custom_activation_are_clear_errors():
    for cls in (layers.LSTM, layers.GRU, layers.SimpleRNN):
        with pytest.raises(ValueError, match=r"recurrent_dropout must be in \[0, 1\), "
                           r"got 1.0"):
            cls(2, recurrent_dropout=1.0)
        assert cls(2, recurrent_dropout=0.2).recurrent_dropout == 0.2
    with pytest.raises(ValueError, match="activation must be one of.*got 'softmax'"):
        layers.GRU(2, activation="softmax")


# ---- gradients ------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(RNNS))
def test_rnn_tape_gradients_match_reference_backward(kind):
    cls, fwd, bwd, n_states = RNNS[kind]
    layer = cls(3, return_sequences=True, return_state=True)
    x = _x((2, 4, 5))
    layer.build((None, 4, 5))
    rng = np.random.default_rng(1)
    dhseq = rng.standard_normal((2, 4, 3)).astype(np.float32)
    dstates = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(n_states)]
    xt = K.Variable(x)
    with K.GradientTape() as tape:
        outs = layer(xt * 1.0)  # a recorded Tensor (layers read Variables' values)
        loss = K.sum(outs[0] * dhseq)
        for o, d in zip(outs[1:], dstates):
            loss = loss + K.sum(o * d)
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    want_out = fwd(x, *layer.get_weights(), **_acts(kind, layer))
    want = bwd(dhseq, *dstates, want_out[-1], x, *layer.get_weights()[:2])
    for g, w in zip(grads, want[:4]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind,rd", [("lstm", None), ("gru", None), ("simple_rnn", None),
                                     ("lstm", "masks"), ("gru", "masks"), ("gru", "carry"),
                                     ("simple_rnn", "masks")])
def test_backend_op_gradients_float64_finite_differences(kind, rd):
    rng = np.random.default_rng(2)
    G = {"lstm": 4, "gru": 3, "simple_rnn": 1}[kind]
    N, T, C, U = 2, 3, 2, 2
    vals = [rng.standard_normal((N, T, C)), 0.5 * rng.standard_normal((C, G * U)),
            0.5 * rng.standard_normal((U, G * U)), 0.1 * rng.standard_normal(G * U),
            0.3 * rng.standard_normal((N, U))]
    if kind == "lstm":
        vals.append(0.3 * rng.standard_normal((N, U)))  # c0
    mask = np.array([[1, 0, 1], [1, 1, 0]])
    acts = {} if kind == "simple_rnn" else {"recurrent_activation": "sigmoid"}
    if rd:  # recurrent dropout masks, constants of the op
        acts["recurrent_mask"] = (rng.random((G, N, U)) > 0.4) / 0.6
        acts["recurrent_mask"][:, :, 0] = 1 / 0.6
        if rd == "carry":
            acts["recurrent_mask_carry"] = True
    op = getattr(K, kind)
    w = rng.standard_normal((N, T, U))

    def scalar(*a):
        hseq, hT = op(*a, mask=mask, go_backwards=True, **acts)[:2]
        return K.sum(hseq * w) + 0.7 * K.sum(hT)

    variables = [K.Variable(v, dtype="float64") for v in vals]
    with K.GradientTape() as tape:
        loss = scalar(*variables)
    grads = tape.gradient(loss, variables)
    for i, (v, g) in enumerate(zip(vals, grads)):
        want = numeric_grad(lambda: float(scalar(*vals)), v)
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{kind} input {i}")


def test_embedding_gradient_is_scatter_add():
    emb = layers.Embedding(5, 2)
    idx = np.array([[1, 1, 3]], np.int32)
    dy = _x((1, 3, 2))
    with K.GradientTape() as tape:
        loss = K.sum(emb(idx) * dy)
    g = tape.gradient(loss, emb.embeddings)
    np.testing.assert_allclose(g, ref_emb.embedding_backward(dy, idx, 5), rtol=1e-6)


# ---- masks ----------------------------------------------------------------------
def test_embedding_mask_zero_reaches_lstm():
    ids = np.array([[3, 1, 0, 0], [2, 4, 1, 2]], np.int32)
    inp = layers.Input(shape=(4,), dtype="int32")
    emb = layers.Embedding(5, 3, mask_zero=True)
    lstm = layers.LSTM(2, return_sequences=True)
    model = Model(inp, lstm(emb(inp)))
    got = model.predict(ids)
    want = ref_rnn.lstm_forward(emb(ids), *lstm.get_weights(), mask=ids != 0)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # masked steps repeat the previous output
    np.testing.assert_array_equal(got[0, 2], got[0, 1])
    # Sequential and training mode see the mask too
    seq = Sequential([layers.Embedding(5, 3, mask_zero=True, input_length=4),
                      layers.LSTM(2)])
    seq.layers[0].set_weights(emb.get_weights())
    seq.layers[1].set_weights(lstm.get_weights())
    np.testing.assert_allclose(seq.predict(ids), want[:, -1], rtol=1e-5, atol=1e-6)
    assert np.allclose(model.run_graph([ids], 1)[0], want, atol=1e-6)


def _padded_ids(N=4, T=6, seed=0):
    ids = np.random.default_rng(seed).integers(1, 10, (N, T)).astype(np.int32)
    ids[:, T - 2:] = 0
    ids[1, 2:] = 0
    return ids


def test_mask_from_a_nested_model_reaches_the_outer_lstm():
    """Keras 2: a model used as a layer hands out its outputs' masks."""
    ids = _padded_ids()
    inner = Sequential([layers.Embedding(10, 3, mask_zero=True, input_length=6)])
    inp = layers.Input((6,))
    lstm = layers.LSTM(2)
    outer = Model(inp, lstm(inner(inp)))
    emb = inner.layers[0].get_weights()[0]
    want = ref_rnn.lstm_forward(emb[ids], *lstm.get_weights(), mask=ids != 0)[1]
    np.testing.assert_allclose(outer.predict(ids), want, rtol=1e-5, atol=1e-6)
    outer.compile(loss="mse", optimizer="sgd")
    assert np.isfinite(outer.train_on_batch(ids, np.zeros((4, 2), np.float32)))


def test_mask_passes_into_a_nested_model():
    """Keras 2: the mask of a nested model's input reaches its layers."""
    ids = _padded_ids()
    inner = Sequential([layers.LSTM(2, input_shape=(6, 3))])
    inp = layers.Input((6,))
    emb = layers.Embedding(10, 3, mask_zero=True)
    outer = Model(inp, inner(emb(inp)))
    want = ref_rnn.lstm_forward(emb.get_weights()[0][ids],
                                *inner.layers[0].get_weights(), mask=ids != 0)[1]
    np.testing.assert_allclose(outer.predict(ids), want, rtol=1e-5, atol=1e-6)
    outer.compile(loss="mse", optimizer="sgd")
    assert np.isfinite(outer.train_on_batch(ids, np.zeros((4, 2), np.float32)))


def test_masked_model_in_time_distributed():
    """TimeDistributed(model with Embedding(mask_zero=True) -> LSTM): every
    sub-sequence is masked by its own padding."""
    ids = np.stack([_padded_ids(seed=1), _padded_ids(seed=2)], axis=1)  # (4, 2, 6)
    inner_in = layers.Input((6,))
    emb, lstm = layers.Embedding(10, 3, mask_zero=True), layers.LSTM(2)
    inner = Model(inner_in, lstm(emb(inner_in)))
    model = Sequential([layers.TimeDistributed(inner, input_shape=(2, 6))])
    flat = ids.reshape(8, 6)
    want = ref_rnn.lstm_forward(emb.get_weights()[0][flat], *lstm.get_weights(),
                                mask=flat != 0)[1].reshape(4, 2, 2)
    np.testing.assert_allclose(model.predict(ids), want, rtol=1e-5, atol=1e-6)


def test_masking_layer_reaches_gru():
    x = _x((2, 3, 2))
    x[0, 1] = 0.0
    inp = layers.Input(shape=(3, 2))
    gru = layers.GRU(2)
    model = Model(inp, gru(layers.Masking(0.0)(inp)))
    want = ref_rnn.gru_forward(x, *gru.get_weights(), mask=np.any(x != 0, axis=-1))[1]
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)


def test_mask_into_non_masking_layer_raises():
    inp = layers.Input(shape=(4,), dtype="int32")
    with pytest.raises(TypeError, match="flatten.*does not support masking"):
        layers.Flatten()(layers.Embedding(5, 3, mask_zero=True)(inp))
    # the last output of an LSTM carries no mask: Flatten-free Dense is fine
    out = layers.Dense(1)(layers.LSTM(2)(layers.Embedding(5, 3, mask_zero=True)(inp)))
    assert out._keras_mask is None


def test_nodes_store_masks_and_k_function_applies_them():
    ids = np.array([[3, 1, 0, 0], [2, 4, 1, 2]], np.int32)
    inp = layers.Input(shape=(4,), dtype="int32")
    emb = layers.Embedding(5, 3, mask_zero=True)
    lstm = layers.LSTM(2, return_sequences=True)
    out = lstm(emb(inp))
    assert emb.output_mask is not None and lstm.input_mask is emb.output_mask
    assert lstm.output_mask is emb.output_mask
    mask_fn = K.function([inp], [emb.output_mask])
    assert np.asarray(mask_fn([ids])[0]).tolist() == (ids != 0).tolist()
    want = Model(inp, out).predict(ids)
    np.testing.assert_allclose(K.function([inp], [out])([ids])[0], want, rtol=1e-6)
    np.testing.assert_array_equal(want[0, 3], want[0, 1])


# ---- states ---------------------------------------------------------------------
def test_initial_state_symbolic_and_eager():
    x = _x((2, 3, 4))
    h0, c0 = _x((2, 5), 1), _x((2, 5), 2)
    inp = layers.Input(shape=(3, 4))
    hi, ci = layers.Input(shape=(5,)), layers.Input(shape=(5,))
    lstm = layers.LSTM(5, return_state=True)
    out, h, c = lstm(inp, initial_state=[hi, ci])
    model = Model([inp, hi, ci], [out, h, c])
    got = model.predict([x, h0, c0])
    want = ref_rnn.lstm_forward(x, *lstm.get_weights(), h0=h0, c0=c0)
    for g, w in zip(got, [want[1], want[1], want[2]]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    eager = lstm(x, initial_state=[h0, c0])
    np.testing.assert_allclose(eager[2], want[2], rtol=1e-5, atol=1e-6)
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([x, h0, c0])[2], want[2], rtol=1e-5,
                               atol=1e-6)


def test_stateful_carries_state_and_resets():
    x = _x((2, 6, 3))
    rnn = layers.SimpleRNN(4, stateful=True, batch_input_shape=(2, 3, 3))
    model = Sequential([rnn])
    first = model.predict(x[:, :3], batch_size=2)
    second = model.predict(x[:, 3:], batch_size=2)
    full = ref_rnn.simple_rnn_forward(x, *rnn.get_weights())[0]
    np.testing.assert_allclose(first, full[:, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second, full[:, 5], rtol=1e-5, atol=1e-6)
    rnn.reset_states()
    np.testing.assert_allclose(model.predict(x[:, 3:], batch_size=2),
                               ref_rnn.simple_rnn_forward(x[:, 3:], *rnn.get_weights())[1],
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch size 2, got a batch of 1"):
        rnn(x[:1, :3])
    with pytest.raises(ValueError, match="fixed batch size"):
        layers.LSTM(2, stateful=True)(layers.Input(shape=(3, 3)))
    with pytest.raises(AttributeError, match="stateful"):
        layers.LSTM(2).reset_states()


# ---- dropout and training ----------------------------------------------------------
def test_dropout_only_in_training_and_fixed_across_time():
    lstm = layers.LSTM(3, dropout=0.5, return_sequences=True)
    x = np.ones((64, 4, 8), np.float32)
    np.testing.assert_allclose(lstm(x), ref_rnn.lstm_forward(x, *lstm.get_weights())[0],
                               rtol=1e-5, atol=1e-6)
    K.set_random_seed(0)
    a = np.asarray(lstm(x, training=True))
    assert not np.allclose(a, lstm(x))
    # linear SimpleRNN with R = 0: h_t = (x_t * m) W, so a mask fixed across
    # time gives equal outputs at every step for a constant input
    rnn = layers.SimpleRNN(8, activation="linear", use_bias=False, dropout=0.5,
                           recurrent_initializer="zeros", return_sequences=True)
    y = np.asarray(rnn(x, training=True))
    np.testing.assert_allclose(y, np.repeat(y[:, :1], 4, axis=1), rtol=1e-6)
    assert not np.allclose(y[0, 0], y[1, 0])  # but it differs between samples
    m = y[:, 0] @ np.linalg.inv(rnn.get_weights()[0])  # the input mask itself
    np.testing.assert_allclose(m, np.round(m / 2) * 2, atol=1e-3)  # 0 or 1 / 0.5
    assert 0.3 < (np.abs(m) < 1e-3).mean() < 0.7


def _training_grads(layer, seed, inputs, **call_kw):
    """layer(x, training=True) (initial_state: the further inputs) under
    random seed `seed`, on Variables made from `inputs`; returns y and the
    tape gradients of sum(y^2) with respect to the inputs, then the layer's
    trainable weights."""
    K.set_random_seed(seed)
    vs = [K.Variable(a) for a in inputs]
    with K.GradientTape() as tape:  # v * 1.0: Tensors the tape records
        if len(vs) > 1:
            call_kw["initial_state"] = [v * 1.0 for v in vs[1:]]
        y = layer(vs[0] * 1.0, training=True, **call_kw)
        loss = K.sum(K.square(y))
    return y, tape.gradient(loss, vs + layer.trainable_weights)


@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_recurrent_dropout_matches_reference_with_the_same_masks(implementation):
    """Training: masks drawn once per call, fixed over time (one per gate
    with implementation=1, shared with 2), 0 or 1 / (1 - rate); the layer
    equals the reference run with the masks drawn from the same seed; at
    inference nothing is dropped. The tape gradient equals the reference
    backward with those masks."""
    lstm = layers.LSTM(5, recurrent_dropout=0.4, return_sequences=True,
                       implementation=implementation)
    x = _x((6, 4, 3))
    np.testing.assert_allclose(lstm(x), ref_rnn.lstm_forward(x, *lstm.get_weights())[0],
                               rtol=1e-5, atol=1e-6)
    assert lstm.uses_learning_phase
    K.set_random_seed(3)
    masks = lstm._recurrent_masks(6)
    assert masks.shape == (4, 6, 5)
    assert set(np.unique(masks)) <= {0.0, np.float32(1 / 0.6)}
    assert 0.2 < (masks == 0).mean() < 0.6
    if implementation == 1:
        assert not np.array_equal(masks[0], masks[1])
    else:
        assert all(np.array_equal(masks[0], masks[q]) for q in range(4))
    y, grads = _training_grads(lstm, 3, [x])
    W, R, b = (w.astype(np.float64) for w in lstm.get_weights())
    want, _, _, cache = ref_rnn.lstm_forward(x, W, R, b, recurrent_mask=masks)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-6)
    exp = ref_rnn.lstm_backward(2 * want, None, None, cache, x, W, R)
    for g, e in zip(grads, exp[:4]):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-4, atol=1e-5)


def test_lstm_recurrent_dropout_trains_and_round_trips_config():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 6)).astype(np.int32)
    y = (x[:, -1] > 10).astype(np.float32)
    K.set_random_seed(0)
    np.random.seed(0)
    model = Sequential([layers.Embedding(20, 8, input_length=6),
                        layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop")
    losses = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0] - 0.05, losses
    config = model.layers[1].get_config()
    assert config["recurrent_dropout"] == 0.2
    assert layers.LSTM.from_config(config).recurrent_dropout == 0.2
    p1, p2 = model.predict(x), model.predict(x)  # inference: deterministic
    np.testing.assert_array_equal(p1, p2)


# ---- recurrent dropout for GRU (both reset_after forms) and SimpleRNN --------------
RD_LAYERS = {
    "SimpleRNN": (layers.SimpleRNN, {}, ref_rnn.simple_rnn_forward,
                  ref_rnn.simple_rnn_backward),
    "GRU": (layers.GRU, {}, ref_rnn.gru_forward, ref_rnn.gru_backward),
    "GRU-reset_after": (layers.GRU, {"reset_after": True},
                        ref_rnn.gru_reset_after_forward,
                        ref_rnn.gru_reset_after_backward),
}


@pytest.mark.parametrize("kind", sorted(RD_LAYERS))
@pytest.mark.parametrize("implementation", [1, 2])
def test_recurrent_dropout_matches_reference_with_the_same_masks(kind, implementation):
    """Training: masks drawn once per call, (G, batch, units) of 0 and
    1 / (1 - rate), one per gate with implementation=1 and shared with 2
    (GRU: the update then reads the masked state, Keras 2.2.4's GRUCell);
    with an initial state, a step mask and go_backwards the layer equals
    the reference run with the masks drawn from the same seed, and its tape
    gradient equals the reference backward with those masks. At inference
    nothing is dropped."""
    cls, extra, fwd, bwd = RD_LAYERS[kind]
    G = 1 if kind == "SimpleRNN" else 3
    layer = cls(5, recurrent_dropout=0.4, return_sequences=True, go_backwards=True,
                implementation=implementation, **extra)
    x, h0 = _x((6, 4, 3)), _x((6, 5), seed=1)
    mask = np.random.default_rng(2).random((6, 4)) > 0.25
    plain = layer(x, initial_state=[h0], mask=mask)  # builds; inference
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    kw = dict(mask=mask, go_backwards=True)
    np.testing.assert_allclose(plain, fwd(x, *weights, h0, **kw)[0], rtol=1e-5, atol=1e-6)
    assert layer.uses_learning_phase
    K.set_random_seed(3)
    masks = layer._recurrent_masks(6)
    assert masks.shape == (G, 6, 5)
    assert set(np.unique(masks)) <= {0.0, np.float32(1 / 0.6)}
    assert 0.2 < (masks == 0).mean() < 0.6
    if G > 1 and implementation == 1:
        assert not np.array_equal(masks[0], masks[1])
        assert not np.array_equal(masks[1], masks[2])
    else:
        assert all(np.array_equal(masks[0], masks[q]) for q in range(G))
    if G > 1:
        kw["recurrent_mask_carry"] = implementation != 1
    y, grads = _training_grads(layer, 3, [x, h0], mask=mask)
    want, _, cache = fwd(x, *weights, h0, recurrent_mask=masks, **kw)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want, plain, atol=1e-3)
    dx, dW, dR, db, dh0 = bwd(2 * want, None, cache, x, *weights[:2])
    for name, g, e in zip(["x", "h0", "kernel", "recurrent_kernel", "bias"], grads,
                          [dx, dh0, dW, dR, db]):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-4, atol=1e-4, err_msg=name)


def test_simple_rnn_recurrent_mask_is_fixed_over_time():
    """Linear SimpleRNN, W = 0, R = I, h0 = 1: h_t = h_{t-1} * m, so with a
    mask fixed over time h_t = m^t (units kept at the first step stay kept,
    growing by 1 / (1 - rate) per step); a mask redrawn per step would drop
    about half of them later."""
    rnn = layers.SimpleRNN(8, activation="linear", use_bias=False,
                           kernel_initializer="zeros", recurrent_initializer="identity",
                           recurrent_dropout=0.5, return_sequences=True)
    x, h0 = np.zeros((32, 6, 2), np.float32), np.ones((32, 8), np.float32)
    K.set_random_seed(0)
    y = np.asarray(rnn(x, initial_state=[h0], training=True))
    m = y[:, 0]
    assert set(np.unique(m)) == {0.0, 2.0}
    assert not all(np.array_equal(m[0], m[n]) for n in range(32))  # one per sample
    np.testing.assert_allclose(y, m[:, None, :] ** np.arange(1, 7)[None, :, None],
                               rtol=1e-6)
    np.testing.assert_array_equal(rnn(x, initial_state=[h0]), np.ones((32, 6, 8)))


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("implementation", [1, 2])
def test_gru_recurrent_mask_is_fixed_over_time(reset_after, implementation):
    """GRU with W = 0, b = 0, R_z = R_r = 0, R_h = I and linear activation:
    z = r = hard_sigmoid(0) = 1/2, hh = (h * m_h) / 2, so with a mask fixed
    over time, h0 = 1, rate 1/2 (m in {0, 2}): implementation=1 (carry reads
    h) gives h_t = 1 on kept units, 2^-t on dropped ones; implementation=2
    (the carry reads h * m, Keras 2.2.4) gives 1.5^t and 0. A mask redrawn
    per step would mix the two branches of a unit over time."""
    gru = layers.GRU(8, activation="linear", recurrent_dropout=0.5, return_sequences=True,
                     implementation=implementation, reset_after=reset_after)
    x, h0 = np.zeros((32, 5, 2), np.float32), np.ones((32, 8), np.float32)
    gru.build((None, 5, 2))
    R = np.zeros((8, 24), np.float32)
    R[:, 16:] = np.eye(8)
    gru.set_weights([np.zeros((2, 24), np.float32), R,
                     np.zeros(gru.get_weights()[2].shape, np.float32)])
    K.set_random_seed(0)
    y = np.asarray(gru(x, initial_state=[h0], training=True))
    steps = np.arange(1, 6)[None, :, None]
    if implementation == 1:
        kept = y[:, :1] == 1.0
        want = np.where(kept, 1.0, 0.5 ** steps)
    else:
        kept = y[:, :1] == 1.5
        want = np.where(kept, 1.5 ** steps, 0.0)
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(y, want, rtol=1e-6)
    # inference, nothing dropped: h_t = h / 2 + h / 4 = 0.75^t
    np.testing.assert_allclose(gru(x, initial_state=[h0]),
                               np.broadcast_to(0.75 ** steps, (32, 5, 8)), rtol=1e-6)


@pytest.mark.parametrize("kind,implementation", [("SimpleRNN", 1), ("GRU", 1),
                                                 ("GRU-reset_after", 2)])
def test_recurrent_dropout_trains_and_is_inactive_at_inference(kind, implementation):
    cls, extra, _, _ = RD_LAYERS[kind]
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 6)).astype(np.int32)
    y = (x[:, -1] > 10).astype(np.float32)
    K.set_random_seed(0)
    np.random.seed(0)

    def build(rate):
        return Sequential([layers.Embedding(20, 8, input_length=6),
                           cls(8, dropout=0.2, recurrent_dropout=rate,
                               implementation=implementation, **extra),
                           layers.Dense(1, activation="sigmoid")])
    model = build(0.3)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop")
    losses = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0] - 0.05, losses
    config = model.layers[1].get_config()
    assert config["recurrent_dropout"] == 0.3
    assert config["implementation"] == implementation
    again = cls.from_config(config)
    assert again.recurrent_dropout == 0.3 and again.get_config() == config
    p1, p2 = model.predict(x), model.predict(x)  # inference: deterministic
    np.testing.assert_array_equal(p1, p2)
    plain = build(0.0)
    plain.build((None, 6))
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(plain.predict(x), p1, rtol=1e-6, atol=1e-7)
    K.set_random_seed(1)
    train_mode = np.asarray(model.layers[1](model.layers[0](x), training=True))
    assert not np.allclose(train_mode, model.layers[1](model.layers[0](x)))


# ---- input dropout: one mask per gate with implementation=1 (Keras 2.2.4) ----------
IN_LAYERS = {
    "LSTM": (layers.LSTM, {}, ref_rnn.lstm_forward, ref_rnn.lstm_backward, 4),
    "GRU": (layers.GRU, {}, ref_rnn.gru_forward, ref_rnn.gru_backward, 3),
    "GRU-reset_after": (layers.GRU, {"reset_after": True},
                        ref_rnn.gru_reset_after_forward,
                        ref_rnn.gru_reset_after_backward, 3),
}


def _shared_input_mask(N, C, rate):
    """The mask K.dropout draws for noise_shape (N, 1, C) (implementation=2)."""
    from ckeras.backend import native
    from ckeras.backend.nn_ops import dropout_seed
    ones = np.ones((N, 1, C), np.float32)
    return native.dropout_forward(ones, rate, dropout_seed())[1][:, 0]


@pytest.mark.parametrize("kind", sorted(IN_LAYERS))
@pytest.mark.parametrize("implementation", [1, 2])
def test_input_dropout_masks_per_gate_match_reference(kind, implementation):
    """Training with dropout and recurrent_dropout: implementation=1 draws
    one input mask per gate, (G, batch, input_dim) of 0 and 1 / (1 - rate)
    fixed over time, x_q = x * m_q feeds gate q's kernel columns;
    implementation=2 shares one mask. The layer equals the reference fed
    the gate-by-gate projection, and its tape gradients equal the
    reference's pushed back through that projection."""
    cls, extra, fwd, bwd, G = IN_LAYERS[kind]
    N, T, C, U = 6, 4, 3, 5
    layer = cls(U, dropout=0.4, recurrent_dropout=0.3, return_sequences=True,
                implementation=implementation, **extra)
    x = _x((N, T, C))
    layer.build((None, T, C))
    W, R, b = (w.astype(np.float64) for w in layer.get_weights())
    K.set_random_seed(4)
    if implementation == 1:
        m = layer._input_masks(N, C)
        assert m.shape == (G, N, C)
        assert set(np.unique(m)) <= {0.0, np.float32(1 / 0.6)}
        assert all(not np.array_equal(m[0], m[q]) for q in range(1, G))
    else:
        m = np.broadcast_to(_shared_input_mask(N, C, 0.4), (G, N, C))
    rm = layer._recurrent_masks(N)
    # P[..., q] = (x * m_q) W_q, the projection each gate reads
    xm = x[None] * m[:, :, None, :]  # (G, N, T, C)
    P = np.concatenate([xm[q] @ W[:, q * U:(q + 1) * U] for q in range(G)], axis=-1)
    kw = dict(recurrent_mask=rm)
    if G == 3:
        kw["recurrent_mask_carry"] = implementation != 1
    want, *_, cache = fwd(P, None, R, b, **kw)
    y, grads = _training_grads(layer, 4, [x])
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want, layer(x), atol=1e-3)
    dP, dW_none, dR, db = bwd(2 * want, *[None] * (G == 4 and 2 or 1), cache, P, None,
                              R)[:4]
    assert dW_none is None
    dW = np.concatenate([np.einsum("ntc,ntu->cu", xm[q], dP[..., q * U:(q + 1) * U])
                         for q in range(G)], axis=1)
    dx = sum(m[q][:, None, :] * (dP[..., q * U:(q + 1) * U] @ W[:, q * U:(q + 1) * U].T)
             for q in range(G))
    for name, g, e in zip(["x", "kernel", "recurrent_kernel", "bias"], grads,
                          [dx, dW, dR, db]):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("kind", sorted(IN_LAYERS))
def test_input_dropout_per_gate_float64_gradients_vs_finite_differences(kind):
    """The gate-by-gate projection's backward end to end through the layer
    (float64, reference path): every weight and the input, with the same
    masks at each evaluation (the seed is reset before each call)."""
    cls, extra, _, _, _ = IN_LAYERS[kind]
    K.set_floatx("float64")
    try:
        rng = np.random.default_rng(1)
        layer = cls(2, dropout=0.5, recurrent_dropout=0.4, return_sequences=True,
                    bias_initializer="normal", **extra)
        x = rng.standard_normal((3, 3, 2))

        def run(xx):
            K.set_random_seed(7)
            return layer(xx, training=True)
        probe = np.asarray(run(x))
        assert not np.allclose(probe, layer(x))  # dropout acted
        dy = rng.standard_normal(probe.shape)
        xt = K.Tensor(x)
        with K.GradientTape() as tape:
            loss = K.sum(run(xt) * dy)
        grads = tape.gradient(loss, layer.trainable_weights + [xt])

        def objective():
            return float(np.sum(np.asarray(run(x)) * dy))
        targets = [w.value for w in layer.trainable_weights] + [x]
        assert_match_finite_differences(grads, objective, targets)
    finally:
        K.set_floatx("float32")


def test_embedding_lstm_dense_trains():
    K.set_random_seed(0)  # the initial weights: an unlucky draw learnt slower
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (64, 6)).astype(np.int32)
    y = (x[:, -1] > 10).astype(np.float32)
    model = Sequential([layers.Embedding(20, 8, input_length=6), layers.LSTM(8),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop")
    hist = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < losses[0] - 0.05 and losses == sorted(losses, reverse=True), losses


def test_guide_two_input_two_output_model():
    main_input = layers.Input(shape=(100,), dtype="int32", name="main_input")
    x = layers.Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    lstm_out = layers.LSTM(32)(x)
    auxiliary_output = layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = layers.Input(shape=(5,), name="aux_input")
    x = layers.concatenate([lstm_out, auxiliary_input])
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    model = Model(inputs=[main_input, auxiliary_input],
                  outputs=[main_output, auxiliary_output])
    lines = []
    model.summary(print_fn=lines.append)
    assert any("lstm" in l for l in lines)
    assert model.count_params() == 10000 * 512 + 4 * 32 * (512 + 32 + 1) + 33 + \
        (38 * 64 + 2 * 65 * 64 + 65)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy",
                  loss_weights=[1., 0.2])
    rng = np.random.default_rng(0)
    headline = rng.integers(0, 10000, (16, 100))
    extra = rng.random((16, 5)).astype(np.float32)
    labels = (rng.random((16, 1)) > 0.5).astype(np.float32)
    hist = model.fit([headline, extra], [labels, labels], epochs=1, batch_size=8,
                     verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_masks_through_merge_layers():
    ids_a = np.array([[1, 2, 0]], np.int32)
    ids_b = np.array([[1, 0, 3]], np.int32)
    a, b = layers.Input(shape=(3,), dtype="int32"), layers.Input(shape=(3,), dtype="int32")
    emb = layers.Embedding(4, 2, mask_zero=True)
    summed = layers.add([emb(a), emb(b)])
    lstm = layers.LSTM(2, return_sequences=True)
    model = Model([a, b], lstm(summed))
    x = emb(ids_a) + emb(ids_b)
    want = ref_rnn.lstm_forward(x, *lstm.get_weights(), mask=(ids_a != 0) & (ids_b != 0))
    np.testing.assert_allclose(model.predict([ids_a, ids_b]), want[0], rtol=1e-5,
                               atol=1e-6)
    merge = layers.Concatenate()
    m = merge.compute_mask([x, x], [ids_a != 0, None])
    assert m.tolist() == [[True, True, False]]
    assert layers.Concatenate(axis=1).compute_mask(
        [x, x], [ids_a != 0, ids_b != 0]).tolist() == [[True, True, False, True, False,
                                                        True]]


def test_loss_ignores_masked_timesteps():
    ids = np.array([[3, 1, 0, 0], [2, 4, 1, 2]], np.int32)
    y = np.random.default_rng(0).standard_normal((2, 4, 1)).astype(np.float32)
    model = Sequential([layers.Embedding(5, 3, mask_zero=True, input_length=4),
                        layers.LSTM(2, return_sequences=True),
                        layers.TimeDistributed(layers.Dense(1))])
    model.compile(loss="mse", optimizer="sgd")
    pred = model.predict(ids)
    keep = (ids != 0).astype(np.float32)
    se = ((pred - y) ** 2)[..., 0]
    want = np.mean(se * keep / keep.mean())
    np.testing.assert_allclose(model.evaluate(ids, y, verbose=0), want, rtol=1e-5)
    # targets at masked steps do not matter, in evaluation or training
    y2 = y.copy()
    y2[0, 2:] = 100.0
    np.testing.assert_allclose(model.evaluate(ids, y2, verbose=0), want, rtol=1e-5)
    w = model.get_weights()
    model.train_on_batch(ids, y)
    after = model.get_weights()
    model.set_weights(w)
    model.train_on_batch(ids, y2)
    for a, b in zip(after, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_initial_state_wrong_count_or_shape_raises_when_called():
    x = layers.Input(shape=(4, 2))
    h, c = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    with pytest.raises(ValueError, match="has 2 state.*given 1 initial state"):
        layers.LSTM(3)(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"initial_state 0 must have shape .*\(None, 4\)"):
        layers.LSTM(3)(x, initial_state=[layers.Input(shape=(4,)), c])
    with pytest.raises(ValueError, match="has 1 state.*given 2"):
        layers.GRU(3)([x, h, c])
    arrays = np.zeros((2, 4, 2), np.float32)
    with pytest.raises(ValueError, match=r"= \(2, 3\), got \(3, 3\)"):
        layers.GRU(3)(arrays, initial_state=[np.zeros((3, 3), np.float32)])
    assert K.int_shape(layers.LSTM(3)(x, initial_state=[h, c])) == (None, 3)


def test_stateful_layer_called_on_arrays_uses_its_batch_input_shape():
    x = np.random.default_rng(0).standard_normal((2, 3, 2)).astype(np.float32)
    lstm = layers.LSTM(3, stateful=True, batch_input_shape=(2, 3, 2))
    first = np.asarray(lstm(x))
    assert not np.allclose(np.asarray(lstm(x)), first)  # the state carried over
    lstm.reset_states()
    np.testing.assert_allclose(lstm(x), first, rtol=1e-6)
    bi = layers.Bidirectional(layers.GRU(2, stateful=True), batch_input_shape=(2, 3, 2))
    assert np.asarray(bi(x)).shape == (2, 4)


@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("options", [
    dict(return_sequences=True, return_state=True),
    dict(go_backwards=True, return_state=True, masked=True),
    dict(use_bias=False)])
def test_layer_tape_gradients_float64_vs_finite_differences(kind, options):
    """Through the layer and the tape: every weight, the input and the
    initial states, float64 (reference path), against central differences."""
    options = dict(options)
    masked = options.pop("masked", False)
    K.set_floatx("float64")
    try:
        rng = np.random.default_rng(1)
        layer = RNNS[kind][0](2, bias_initializer="normal", **options)
        x = rng.standard_normal((2, 3, 2))
        states = [rng.standard_normal((2, 2)) * 0.5 for _ in range(
            RNNS[kind][3])]
        mask = np.array([[1, 0, 1], [1, 1, 0]], bool) if masked else None

        def run(xx, ss):
            out = layer(xx, initial_state=ss, mask=mask)
            return out if isinstance(out, list) else [out]
        probe = run(x, states)
        assert layer.kernel.value.dtype == np.float64
        dy = [rng.standard_normal(np.shape(p)) for p in probe]
        xt, st = K.Tensor(x), [K.Tensor(s) for s in states]
        with K.GradientTape() as tape:
            loss = sum(K.sum(o * d) for o, d in zip(run(xt, st), dy))
        grads = tape.gradient(loss, layer.trainable_weights + [xt] + st)

        def objective():
            return float(sum(np.sum(np.asarray(o) * d) for o, d in zip(run(x, states), dy)))
        targets = [w.value for w in layer.trainable_weights] + [x] + states
        assert_match_finite_differences(grads, objective, targets)
    finally:
        K.set_floatx("float32")
