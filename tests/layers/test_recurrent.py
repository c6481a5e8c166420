"""SimpleRNN, GRU, LSTM and Embedding layers: Keras 2 weights, outputs
against the numpy references, gradients through the tape, masks, states,
dropout and bad input."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential
from ckeras.reference import recurrent as ref
from tests.gradcheck import numeric_grad

RNNS = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()
    yield
    K.set_floatx("float32")


def _ref_forward(kind, layer, x, mask=None, states=()):
    w = [np.asarray(v, np.float64) for v in layer.get_weights()]
    b = w[2] if layer.use_bias else None
    ract = () if kind == "simple_rnn" else (layer._ract,)
    if kind == "lstm":
        h0, c0 = states or (None, None)
        return ref.lstm_forward(x, w[0], w[1], b, h0, c0, mask, layer.go_backwards,
                                layer._act, *ract)[:3]
    h0 = states[0] if states else None
    return ref.__dict__[f"{kind}_forward"](x, w[0], w[1], b, h0, mask, layer.go_backwards,
                                           layer._act, *ract)[:2]


@pytest.mark.parametrize("kind", sorted(RNNS))
def test_weight_shapes_order_and_names_are_keras2(kind):
    layer = RNNS[kind](5)
    layer.build((None, 7, 3))
    G = GATES[kind]
    assert [w.value.shape for w in layer.weights] == [(3, G * 5), (5, G * 5), (G * 5,)]
    assert [w.name.split("/")[1] for w in layer.weights] == [
        "kernel:0", "recurrent_kernel:0", "bias:0"]
    R = layer.recurrent_kernel.value
    # orthogonal recurrent initializer (Keras 2 default)
    np.testing.assert_allclose(R @ R.T, np.eye(5), atol=1e-5)
    nobias = RNNS[kind](2, use_bias=False)
    nobias.build((None, 4, 3))
    assert len(nobias.weights) == 2


def test_lstm_unit_forget_bias():
    layer = layers.LSTM(3, bias_initializer="zeros")
    layer.build((None, 2, 4))
    assert layer.get_weights()[2].tolist() == [0] * 3 + [1] * 3 + [0] * 6
    off = layers.LSTM(3, unit_forget_bias=False)
    off.build((None, 2, 4))
    assert not off.get_weights()[2].any()


def test_keras2_defaults():
    lstm, gru, rnn = layers.LSTM(2), layers.GRU(2), layers.SimpleRNN(2)
    c = lstm.get_config()
    assert (c["activation"], c["recurrent_activation"], c["unit_forget_bias"],
            c["kernel_initializer"]["class_name"], c["recurrent_initializer"]["class_name"],
            c["dropout"], c["return_sequences"], c["implementation"]) == (
        "tanh", "hard_sigmoid", True, "VarianceScaling", "Orthogonal", 0.0, False, 1)
    assert gru.get_config()["recurrent_activation"] == "hard_sigmoid"
    assert "recurrent_activation" not in rnn.get_config()
    assert "unit_forget_bias" not in gru.get_config()


@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_outputs_match_reference_with_mask_and_states(kind, go_backwards):
    rng = np.random.default_rng(0)
    n_states = 2 if kind == "lstm" else 1
    layer = RNNS[kind](4, return_sequences=True, return_state=True,
                       go_backwards=go_backwards)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = rng.random((3, 5)) > 0.3
    states = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n_states)]
    out = layer(x, initial_state=states, mask=mask)
    want = _ref_forward(kind, layer, x, mask, states)
    assert len(out) == 1 + n_states
    for got, w in zip(out, want):
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-5)
    last = RNNS[kind](4, go_backwards=go_backwards)
    last.build((None, 5, 2))
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(x), _ref_forward(kind, last, x)[1], rtol=1e-5,
                               atol=1e-5)


def _loss_and_grads(layer, x, dy, states=(), mask=None):
    xs = K.Tensor(x)  # a Tensor, not a Variable: layers take Variables as values
    ss = [K.Tensor(s) for s in states]
    with K.GradientTape() as tape:
        out = layer(xs, initial_state=ss or None, mask=mask)
        outs = out if isinstance(out, list) else [out]
        loss = sum(K.sum(o * d) for o, d in zip(outs, dy))
    return tape.gradient(loss, layer.trainable_weights + [xs] + ss)


@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("options", [
    dict(return_sequences=True, return_state=True),
    dict(go_backwards=True, return_state=True, masked=True),
    dict(use_bias=False)])
def test_gradients_float64_vs_finite_differences(kind, options):
    """Tape gradients of every weight, the input and the initial states,
    through the float64 (reference) path, against central differences."""
    options = dict(options)
    masked = options.pop("masked", False)
    K.set_floatx("float64")
    rng = np.random.default_rng(1)
    n_states = 2 if kind == "lstm" else 1
    layer = RNNS[kind](2, bias_initializer="normal", **options)
    x = rng.standard_normal((2, 3, 2))
    states = [rng.standard_normal((2, 2)) * 0.5 for _ in range(n_states)]
    mask = np.array([[1, 0, 1], [1, 1, 0]], bool) if masked else None
    layer(x)  # build
    assert layer.kernel.value.dtype == np.float64
    probe = layer(x, initial_state=states, mask=mask)
    probe = probe if isinstance(probe, list) else [probe]
    dy = [rng.standard_normal(np.shape(p)) for p in probe]
    grads = _loss_and_grads(layer, x, dy, states, mask)
    targets = [w.value for w in layer.trainable_weights] + [x] + states

    def objective():
        out = layer(x, initial_state=states, mask=mask)
        out = out if isinstance(out, list) else [out]
        return float(sum(np.sum(np.asarray(o) * d) for o, d in zip(out, dy)))
    for got, target in zip(grads, targets):
        want = numeric_grad(objective, target)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", sorted(RNNS))
def test_float32_kernel_gradients_match_float64_path(kind):
    rng = np.random.default_rng(2)
    layer32 = RNNS[kind](3, return_sequences=True, return_state=True)
    x = rng.standard_normal((4, 5, 2)).astype(np.float32)
    mask = rng.random((4, 5)) > 0.2
    layer32(x)
    dy = [rng.standard_normal(np.shape(o)).astype(np.float32) for o in layer32(x)]
    g32 = _loss_and_grads(layer32, x, dy, mask=mask)
    K.set_floatx("float64")
    layer64 = RNNS[kind](3, return_sequences=True, return_state=True)
    layer64(x.astype(np.float64))
    layer64.set_weights(layer32.get_weights())
    g64 = _loss_and_grads(layer64, x.astype(np.float64), [d.astype(np.float64) for d in dy],
                          mask=mask)
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_embedding_forward_gradient_and_bounds():
    emb = layers.Embedding(6, 3)
    ids = np.array([[1, 2, 2], [5, 0, 1]])
    out = emb(ids.astype(np.float32))
    table = emb.get_weights()[0]
    np.testing.assert_array_equal(out, table[ids])
    dy = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    with K.GradientTape() as tape:
        loss = K.sum(emb(ids) * dy)
    (g,) = tape.gradient(loss, emb.trainable_weights)
    want = np.zeros_like(table)
    np.add.at(want, ids, dy)
    np.testing.assert_allclose(g, want, rtol=1e-6)
    for bad in (np.array([[0, 6, 1]]), np.array([[-1, 0, 0]])):
        with pytest.raises(ValueError, match=r"\[0, input_dim\) = \[0, 6\)"):
            emb(bad)
    with pytest.raises(ValueError, match="integers"):
        emb(np.array([[0.5, 1, 1]], np.float32))
    model = Sequential([layers.Embedding(6, 2, input_length=3)])
    with pytest.raises(ValueError, match="input_dim"):
        model.predict(np.array([[1, 2, 7]]))
    K.set_floatx("float64")
    emb64 = layers.Embedding(4, 2)
    emb64(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        emb64(np.array([[4, 0]]))


def test_embedding_shapes_and_mask():
    model = Sequential([layers.Embedding(1000, 64, input_length=10)])
    assert model.output_shape == (None, 10, 64)
    emb = layers.Embedding(5, 2, mask_zero=True)
    assert emb.compute_mask(np.array([[0, 3, 0]])).tolist() == [[False, True, False]]
    assert layers.Embedding(5, 2).compute_mask(np.array([[0, 1]])) is None


def _masked_vs_truncated(build_model, lengths, T=6, vocab=20):
    """A model over zero-padded ids must give, for each sample, what the
    same model gives on the sample without its padding."""
    rng = np.random.default_rng(3)
    ids = np.zeros((len(lengths), T), np.float32)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, vocab, n)
    model = build_model(T)
    padded = model.predict(ids)
    short = build_model(None)
    short.set_weights(model.get_weights())
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(padded[i], short.predict(ids[i:i + 1, :n])[0],
                                   rtol=1e-5, atol=1e-6)
    return model, ids, padded


@pytest.mark.parametrize("kind", sorted(RNNS))
def test_mask_zero_embedding_into_rnn(kind):
    def build(T):
        x = layers.Input(shape=(T,))
        h = layers.Embedding(20, 4, mask_zero=True)(x)
        return Model(x, RNNS[kind](3)(h))
    _masked_vs_truncated(build, [6, 2, 4, 1])


def test_masked_steps_keep_previous_output_in_sequences():
    x = layers.Input(shape=(5,))
    e = layers.Embedding(20, 4, mask_zero=True)(x)
    seq = layers.LSTM(3, return_sequences=True)(e)
    model = Model(x, seq)
    ids = np.array([[3, 0, 4, 0, 0]], np.float32)
    y = model.predict(ids)[0]
    np.testing.assert_array_equal(y[1], y[0])
    np.testing.assert_array_equal(y[3], y[2])
    np.testing.assert_array_equal(y[4], y[2])
    assert not np.allclose(y[2], y[0])
    # the mask flows on through return_sequences into a second LSTM
    out = layers.LSTM(2)(seq)
    assert seq._keras_mask is not None and out._keras_mask is None
    two = Model(x, out)
    ref_model = Model(x, layers.LSTM(2)(layers.Lambda(lambda t: t)(seq)))
    assert two.predict(ids).shape == (1, 2) and ref_model.predict(ids).shape == (1, 2)


def test_masking_layer_into_lstm_and_time_distributed():
    def build(T):
        x = layers.Input(shape=(T, 3))
        h = layers.Masking(0.0)(x)
        h = layers.TimeDistributed(layers.Dense(4))(h)
        return Model(x, layers.LSTM(2)(h))
    model = build(4)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 4, 3)).astype(np.float32)
    data[0, 2:] = 0
    y = model.predict(data)
    short = build(None)
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(y[0], short.predict(data[:1, :2])[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[1], short.predict(data[1:])[0], rtol=1e-5, atol=1e-6)
    # K.function evaluates the same masked graph
    f = K.function([model.input], [model.output])
    np.testing.assert_allclose(f([data])[0], y, rtol=1e-6)


def test_return_state_and_initial_state_symbolic():
    enc_in = layers.Input(shape=(4, 3))
    enc = layers.LSTM(5, return_state=True)
    out, h, c = enc(enc_in)
    assert [K.int_shape(t) for t in (out, h, c)] == [(None, 5)] * 3
    dec_in = layers.Input(shape=(6, 2))
    dec = layers.LSTM(5, return_sequences=True)
    seq = dec(dec_in, initial_state=[h, c])
    assert K.int_shape(seq) == (None, 6, 5)
    model = Model([enc_in, dec_in], seq)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 4, 3)).astype(np.float32)
    b = rng.standard_normal((2, 6, 2)).astype(np.float32)
    y = model.predict([a, b])
    _, h0, c0 = enc(a)
    np.testing.assert_allclose(y, dec(b, initial_state=[h0, c0]), rtol=1e-5, atol=1e-6)
    again = Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(again.predict([a, b]), y, rtol=1e-6)
    # list form: layer([x, h, c])
    np.testing.assert_allclose(dec([b, h0, c0]), y, rtol=1e-6)


def test_initial_state_errors():
    lstm = layers.LSTM(3)
    x = layers.Input(shape=(4, 2))
    h = layers.Input(shape=(3,))
    with pytest.raises(ValueError, match="2 state.*1 tensor"):
        lstm(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"initial_state 1 must have shape"):
        lstm(x, initial_state=[h, layers.Input(shape=(4,))])
    xs = np.zeros((2, 4, 2), np.float32)
    with pytest.raises(ValueError, match="initial_state 0 must have shape"):
        layers.GRU(3)(xs, initial_state=[np.zeros((3, 3), np.float32)])
    with pytest.raises(ValueError, match="1 state"):
        layers.GRU(3)(xs, initial_state=[np.zeros((2, 3))] * 2)


def test_bad_inputs_raise_clearly():
    with pytest.raises(ValueError, match="expected ndim=3.*timesteps"):
        layers.LSTM(3)(layers.Input(shape=(5,)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.LSTM(3)(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="units must be a positive int"):
        layers.GRU(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        layers.LSTM(2, activation="softmax")
    with pytest.raises(ValueError, match="dropout must be in"):
        layers.LSTM(2, dropout=1.5)


def test_stateful_carries_state_and_reset_clears_it():
    rng = np.random.default_rng(0)
    model = Sequential([layers.LSTM(3, stateful=True, batch_input_shape=(2, 4, 2))])
    a = rng.standard_normal((2, 4, 2)).astype(np.float32)
    b = rng.standard_normal((2, 4, 2)).astype(np.float32)
    first = model.predict(a, batch_size=2)
    second = model.predict(b, batch_size=2)
    lstm = model.layers[0]
    assert len(lstm.states) == 2 and np.allclose(lstm.states[0].value, second)
    # b after a == one long sequence a|b
    long = layers.LSTM(3)
    long.build((None, 8, 2))
    long.set_weights(lstm.get_weights())
    np.testing.assert_allclose(second, long(np.concatenate([a, b], 1)), rtol=1e-5,
                               atol=1e-6)
    lstm.reset_states()
    assert not lstm.states[0].value.any() and not lstm.states[1].value.any()
    np.testing.assert_allclose(model.predict(a, batch_size=2), first, rtol=1e-6)
    lstm.reset_states([np.ones((2, 3)), np.zeros((2, 3))])
    assert lstm.states[0].value.tolist() == [[1.0] * 3] * 2
    with pytest.raises(ValueError, match="stateful with batch size 2.*batch of 3"):
        model.predict(np.zeros((3, 4, 2)), batch_size=3)
    with pytest.raises(ValueError, match="needs to know its batch size"):
        layers.GRU(2, stateful=True)(layers.Input(shape=(4, 2)))
    with pytest.raises(AttributeError, match="must be stateful"):
        layers.GRU(2).reset_states()


def test_dropout_mask_fixed_across_time_and_only_in_training():
    rnn = layers.SimpleRNN(50, activation="linear", use_bias=False, dropout=0.5,
                           kernel_initializer="identity", recurrent_initializer="zeros",
                           return_sequences=True)
    x = np.ones((4, 6, 50), np.float32)
    np.testing.assert_array_equal(rnn(x), x)  # inference: no dropout
    y = np.asarray(rnn(x, training=True))
    dropped = y == 0
    assert 0.2 < dropped.mean() < 0.8
    assert (dropped == dropped[:, :1]).all()  # same units dropped at every step
    np.testing.assert_allclose(y[~dropped], 2.0)


def test_recurrent_dropout_is_inference_only():
    layer = layers.LSTM(2, recurrent_dropout=0.3)
    x = np.ones((1, 3, 2), np.float32)
    assert np.asarray(layer(x)).shape == (1, 2)
    assert layer.get_config()["recurrent_dropout"] == 0.3
    with pytest.raises(NotImplementedError, match="recurrent_dropout"):
        layer(x, training=True)
