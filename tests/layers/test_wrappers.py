"""TimeDistributed and Bidirectional."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential
from ckeras.reference import recurrent as ref_rnn


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_time_distributed_applies_the_layer_per_step_and_trains():
    x = _x((3, 4, 5))
    td = layers.TimeDistributed(layers.Dense(2, activation="tanh"), input_shape=(4, 5))
    model = Sequential([td])
    assert model.output_shape == (None, 4, 2)
    W, b = td.get_weights()
    np.testing.assert_allclose(model.predict(x), np.tanh(x @ W + b), rtol=1e-5,
                               atol=1e-6)
    xt = K.Variable(x)
    with K.GradientTape() as tape:
        loss = K.sum(td(xt * 1.0))
    gx, gw = tape.gradient(loss, [xt, td.layer.kernel])
    dz = 1 - np.tanh(x @ W + b) ** 2
    np.testing.assert_allclose(gx, dz @ W.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw, x.reshape(-1, 5).T @ dz.reshape(-1, 2), rtol=1e-4)
    model.compile(loss="mse", optimizer="sgd")
    before = model.evaluate(x, np.zeros((3, 4, 2)), verbose=0)
    model.fit(x, np.zeros((3, 4, 2)), epochs=3, verbose=0)
    assert model.evaluate(x, np.zeros((3, 4, 2)), verbose=0) < before


def test_time_distributed_rejects_rank2():
    with pytest.raises(ValueError, match="rank >= 3"):
        layers.TimeDistributed(layers.Dense(2))(layers.Input(shape=(4,)))


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_two_references(mode):
    x = _x((2, 5, 3))
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=mode)
    out = bi(x)
    w = bi.get_weights()
    assert len(w) == 6 and [a.shape for a in w[:3]] == [(3, 16), (4, 16), (16,)]
    fwd = ref_rnn.lstm_forward(x, *w[:3])[0]
    bwd = ref_rnn.lstm_forward(x, *w[3:], go_backwards=True)[0][:, ::-1]
    want = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd,
            "mul": fwd * bwd, "ave": (fwd + bwd) / 2, None: [fwd, bwd]}[mode]
    if mode is None:
        assert isinstance(out, list) and len(out) == 2
        for o, ww in zip(out, want):
            np.testing.assert_allclose(o, ww, rtol=1e-5, atol=1e-6)
        inp = layers.Input(shape=(5, 3))
        outs = layers.Bidirectional(layers.LSTM(4), merge_mode=None)(inp)
        assert [K.int_shape(o) for o in outs] == [(None, 4), (None, 4)]
    else:
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_bidirectional_gets_the_mask_and_names():
    ids = np.array([[1, 2, 0], [3, 0, 0]], np.int32)
    inp = layers.Input(shape=(3,), dtype="int32")
    emb = layers.Embedding(4, 2, mask_zero=True)
    bi = layers.Bidirectional(layers.GRU(3))
    model = Model(inp, bi(emb(inp)))
    w = bi.get_weights()
    e = emb(ids)
    fwd = ref_rnn.gru_forward(e, *w[:3], mask=ids != 0)[1]
    bwd = ref_rnn.gru_forward(e, *w[3:], mask=ids != 0, go_backwards=True)[1]
    np.testing.assert_allclose(model.predict(ids), np.concatenate([fwd, bwd], -1),
                               rtol=1e-5, atol=1e-6)
    assert bi.forward_layer.name.startswith("forward_")
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


def test_bidirectional_bad_arguments():
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(2))
