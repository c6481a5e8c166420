"""TimeDistributed and Bidirectional."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()


def test_time_distributed_dense_is_dense_per_step():
    td = layers.TimeDistributed(layers.Dense(8), input_shape=(10, 16))
    model = Sequential([td])
    assert model.output_shape == (None, 10, 8)
    x = np.random.default_rng(0).standard_normal((3, 10, 16)).astype(np.float32)
    W, b = td.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ W + b, rtol=1e-5, atol=1e-5)
    assert [w.name for w in td.weights] == [w.name for w in td.layer.weights]
    # gradients reach the inner layer's weights and the input
    xt = K.Tensor(x)
    with K.GradientTape() as tape:
        loss = K.sum(K.square(td(xt)))
    gW, gb, gx = tape.gradient(loss, td.trainable_weights + [xt])
    y = x @ W + b
    np.testing.assert_allclose(gW, 2 * x.reshape(-1, 16).T @ y.reshape(-1, 8), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(gx, 2 * y @ W.T, rtol=1e-4, atol=1e-4)


def test_time_distributed_model():
    x = layers.Input(shape=(6,))
    inner = Model(x, layers.Dense(3, activation="relu")(layers.Dense(4)(x)))
    seq = layers.Input(shape=(5, 6))
    out = layers.TimeDistributed(inner)(seq)
    assert K.int_shape(out) == (None, 5, 3)
    model = Model(seq, out)
    data = np.random.default_rng(1).standard_normal((2, 5, 6)).astype(np.float32)
    y = model.predict(data)
    for t in range(5):
        np.testing.assert_allclose(y[:, t], inner.predict(data[:, t]), rtol=1e-5, atol=1e-6)
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(data), y, rtol=1e-6)


def test_time_distributed_rejects_low_rank():
    with pytest.raises(ValueError, match="min_ndim=3"):
        layers.TimeDistributed(layers.Dense(2))(layers.Input(shape=(4,)))
    with pytest.raises(TypeError, match="wraps a Layer"):
        layers.TimeDistributed("dense")


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merge_modes(mode, return_sequences):
    rng = np.random.default_rng(2)
    bi = layers.Bidirectional(layers.LSTM(3, return_sequences=return_sequences),
                              merge_mode=mode)
    x = layers.Input(shape=(4, 2))
    out = bi(x)
    model = Model(x, out)
    data = rng.standard_normal((2, 4, 2)).astype(np.float32)
    y = model.predict(data)
    w = bi.get_weights()
    assert [a.shape for a in w] == [(2, 12), (3, 12), (12,)] * 2
    fwd, bwd = layers.LSTM(3, return_sequences=return_sequences), layers.LSTM(
        3, return_sequences=return_sequences, go_backwards=True)
    fwd.build((None, 4, 2))
    bwd.build((None, 4, 2))
    fwd.set_weights(w[:3])
    bwd.set_weights(w[3:])
    a, b = np.asarray(fwd(data)), np.asarray(bwd(data))
    if return_sequences:
        b = b[:, ::-1]
    want = {"concat": lambda: np.concatenate([a, b], -1), "sum": lambda: a + b,
            "mul": lambda: a * b, "ave": lambda: (a + b) / 2,
            None: lambda: [a, b]}[mode]()
    if mode is None:
        assert isinstance(y, list) and len(y) == 2
        for got, ww in zip(y, want):
            np.testing.assert_allclose(got, ww, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
        assert bi.output_shape == (None,) + want.shape[1:]
    again = layers.Bidirectional.from_config(bi.get_config())
    assert again.get_config() == bi.get_config()


def test_bidirectional_with_mask_gradients_and_errors():
    def build(T):
        x = layers.Input(shape=(T,))
        e = layers.Embedding(10, 3, mask_zero=True)(x)
        return Model(x, layers.Bidirectional(layers.GRU(2))(e))
    model = build(5)
    ids = np.array([[3, 4, 1, 0, 0]], np.float32)
    short = build(None)
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(ids), short.predict(ids[:, :3]), rtol=1e-5,
                               atol=1e-6)
    bi = model.layers[-1]
    with K.GradientTape() as tape:
        loss = K.sum(bi(np.ones((2, 3, 3), np.float32)))
    grads = tape.gradient(loss, bi.trainable_weights)
    assert len(grads) == 6 and all(g is not None and g.any() for g in grads)
    with pytest.raises(ValueError, match="Invalid merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(NotImplementedError, match="return_state"):
        layers.Bidirectional(layers.LSTM(2, return_state=True))
