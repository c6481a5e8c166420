"""An embedding table's gradient travels as RowSlices from the tape to
RMSprop and gives the dense path's bits; everywhere else it is dense."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import optimizers
from ckeras.backend.row_slices import RowSlices
from ckeras.layers import LSTM, Dense, Embedding, Flatten, Input, concatenate
from ckeras.models import Model, Sequential


def _ids(rng, n=16, t=7, vocab=50):
    return rng.integers(0, vocab, (n, t))


def test_tape_gives_dense_unless_asked():
    rng = np.random.default_rng(0)
    table = K.variable(rng.standard_normal((50, 4)).astype(np.float32))
    ids = _ids(rng)
    for row_slices in (False, True):
        with K.GradientTape() as tape:
            loss = K.sum(K.square(K.embedding_lookup(table, ids)))
        g = tape.gradient(loss, [table], row_slices=row_slices)[0]
        want = np.zeros((50, 4), np.float32)
        np.add.at(want, ids, 2 * table.value[ids])
        if row_slices:
            assert isinstance(g, RowSlices)
            np.testing.assert_array_equal(g.indices, ids.ravel())
            g = g.dense()
        else:
            assert type(g) is np.ndarray
        np.testing.assert_allclose(g, want, rtol=1e-6)


def test_table_read_twice_and_computed_table_are_summed_densely():
    rng = np.random.default_rng(1)
    table = K.variable(rng.standard_normal((50, 4)).astype(np.float32))
    a, b = _ids(rng), _ids(rng)
    with K.GradientTape() as tape:
        scaled = table * 3.0  # a computed table: its op gets an array
        loss = (K.sum(K.embedding_lookup(table, a)) + K.sum(K.embedding_lookup(table, b))
                + K.sum(K.embedding_lookup(scaled, a)))
    g = tape.gradient(loss, [table], row_slices=True)[0]
    want = np.zeros((50, 4), np.float32)
    np.add.at(want, a, 4.0)
    np.add.at(want, b, 1.0)
    assert type(g) is np.ndarray
    np.testing.assert_allclose(g, want)


def _two_input_model():
    main = Input(shape=(9,), dtype="int32", name="main_input")
    x = LSTM(8)(Embedding(60, 16, input_length=9)(main))
    aux_out = Dense(1, activation="sigmoid", name="aux_output")(x)
    aux = Input(shape=(3,), name="aux_input")
    out = Dense(1, activation="sigmoid", name="main_output")(
        Dense(8, activation="relu")(concatenate([x, aux])))
    return Model([main, aux], [out, aux_out])


@pytest.mark.parametrize("clipnorm", [None, 0.5])
def test_rmsprop_with_row_slices_trains_to_the_dense_bits(monkeypatch, clipnorm):
    rng = np.random.default_rng(2)
    xs = [rng.integers(0, 60, (40, 9)), rng.standard_normal((40, 3)).astype(np.float32)]
    y = (rng.random((40, 1)) > 0.5).astype(np.float32)
    runs = []
    for sparse in (True, False):
        monkeypatch.setattr(optimizers.RMSprop, "_ROW_SLICES", sparse)
        K.set_random_seed(0)
        np.random.seed(0)
        model = _two_input_model()
        kw = {} if clipnorm is None else {"clipnorm": clipnorm}
        model.compile(optimizers.RMSprop(**kw), "binary_crossentropy",
                      loss_weights=[1.0, 0.2])
        model.fit(xs, [y, y], batch_size=8, epochs=2, verbose=0, shuffle=False)
        runs.append(model.get_weights() + model.optimizer.get_weights())
    for got, want in zip(*runs):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["RMSprop", "Adam", "SGD"])
def test_only_rmsprop_receives_row_slices(monkeypatch, name):
    rng = np.random.default_rng(3)
    cls = getattr(optimizers, name)
    seen = []
    real = cls._apply

    def spy(self, params, grads, lr):
        seen.extend(type(g) for g in grads)
        return real(self, params, grads, lr)
    monkeypatch.setattr(cls, "_apply", spy)
    model = Sequential([Embedding(30, 4, input_length=5), Flatten(), Dense(1)])
    model.compile(cls(), "mse")
    model.fit(rng.integers(0, 30, (20, 5)), rng.standard_normal((20, 1)), verbose=0)
    assert seen[0] is (RowSlices if name == "RMSprop" else np.ndarray)
    assert all(t is np.ndarray for t in seen[1:3])  # the Dense kernel and bias
