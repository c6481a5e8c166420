"""What keeps saving and loading cheap (the timings are in
``python -m ckeras.bench saving``): load_model builds the model without
running initializers, so loading holds the weights once; variables take
fresh initializer output without a second copy; weights are read into
the variables' own buffers."""
import tracemalloc

import numpy as np
import pytest

from ckeras import backend as K
from ckeras import initializers
from ckeras.backend.tensor import Variable
from ckeras.layers import LSTM, Dense, Reshape
from ckeras.models import Sequential, load_model, model_from_json

pytestmark = pytest.mark.filterwarnings("ignore:No training configuration")


class CountingInit(initializers.Initializer):
    calls = 0

    def __call__(self, shape, dtype=None):
        CountingInit.calls += 1
        return np.full(shape, 0.5, dtype=dtype or "float32")


def _model(units=8):
    K.set_random_seed(0)
    return Sequential([Dense(units, input_shape=(6,), kernel_initializer=CountingInit()),
                       Reshape((units // 2, 2)), LSTM(4), Dense(3)])


def test_load_model_runs_no_initializer_and_restores_every_weight(tmp_path):
    model = _model()
    for w in model.weights:  # values no initializer gives
        w.value[...] = np.random.default_rng(0).standard_normal(w.value.shape)
    model.save(tmp_path / "m.h5")
    CountingInit.calls = 0
    loaded = load_model(tmp_path / "m.h5", custom_objects={"CountingInit": CountingInit})
    assert CountingInit.calls == 0
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.value, b.value)
        assert b.value.flags.c_contiguous and b.value.flags.writeable
        assert b.value.dtype == np.float32


def test_architecture_only_loaders_still_initialize():
    model = _model()
    CountingInit.calls = 0
    fresh = model_from_json(model.to_json(), custom_objects={"CountingInit": CountingInit})
    assert CountingInit.calls == 1
    np.testing.assert_array_equal(fresh.layers[0].kernel.value, 0.5)
    assert np.any(fresh.layers[3].kernel.value != 0)  # glorot_uniform ran
    np.testing.assert_array_equal(fresh.layers[2].weights[2].value[4:8], 1.0)  # forget bias


def test_failed_load_leaves_initialization_on(tmp_path):
    model = _model()
    model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError):
        load_model(tmp_path / "m.h5")  # CountingInit is unknown
    CountingInit.calls = 0
    _model()
    assert CountingInit.calls == 1


def test_load_model_holds_the_weights_once(tmp_path):
    K.set_random_seed(0)
    model = Sequential([Dense(700, input_shape=(700,)), Dense(700)])
    nbytes = sum(w.value.nbytes for w in model.weights)  # ~3.9 MB
    model.save(tmp_path / "m.h5")
    tracemalloc.start()
    try:
        loaded = load_model(tmp_path / "m.h5")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded.count_params() == model.count_params()
    # the weights themselves + small change; a float64 draw alone is 2x
    assert peak < 1.25 * nbytes, (peak, nbytes)


def test_load_weights_reads_into_the_existing_buffers(tmp_path):
    model = _model()
    model.save_weights(tmp_path / "w.h5")
    other = _model()
    buffers = [w.value for w in other.weights]
    for b in buffers:
        b[...] = 0
    other.load_weights(tmp_path / "w.h5")
    for w, b, ref in zip(other.weights, buffers, model.weights):
        assert w.value is b
        np.testing.assert_array_equal(b, ref.value)


def test_variable_copies_unless_it_may_take_the_array():
    a = np.ones((3, 4), np.float32)
    assert Variable(a).value is not a  # default: a copy, as before
    assert Variable(a, copy=False).value is a
    readonly = np.ones(3, np.float32)
    readonly.flags.writeable = False
    v = Variable(readonly, copy=False)
    assert v.value is not readonly and v.value.flags.writeable
    strided = np.ones((4, 4), np.float32)[:, ::2]
    v = Variable(strided, copy=False)
    assert v.value.flags.c_contiguous and not np.shares_memory(v.value, strided)
    f64 = np.ones(3)
    assert Variable(f64, dtype="float32", copy=False).value.dtype == np.float32


def test_custom_initializer_output_is_copied_builtin_is_taken():
    shared = np.zeros((6, 4), np.float32)
    layer = Dense(4, kernel_initializer=lambda shape, dtype=None: shared)
    layer.build((None, 6))
    layer.kernel.value[...] = 1
    assert not shared.any()  # the user's array was not aliased
    assert initializers.returns_fresh_array(initializers.get("glorot_uniform"))
    assert not initializers.returns_fresh_array(CountingInit())


class UntrackedWeight(Dense):
    """A custom layer with a weight it does not report (so it is not saved,
    as in Keras 2): loading must still initialize it."""

    def build(self, input_shape):
        super().build(input_shape)
        self.extra = self.add_weight("extra", (3,), initializer=CountingInit())
        self._trainable_weights.remove(self.extra)

    def call(self, inputs):
        return super().call(inputs) + self.extra.value.sum()


def test_weights_the_file_does_not_hold_are_initialized(tmp_path):
    model = Sequential([UntrackedWeight(2, input_shape=(3,))])
    model.save(tmp_path / "m.h5")
    CountingInit.calls = 0
    loaded = load_model(tmp_path / "m.h5", custom_objects={
        "UntrackedWeight": UntrackedWeight, "CountingInit": CountingInit})
    assert CountingInit.calls == 1
    np.testing.assert_array_equal(loaded.layers[0].extra.value, 0.5)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
