"""Nodes, graphs, nested models, summary, naming and the errors for bad
input (each names the layer, what was received and what was expected)."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.engine import get_source_inputs
from ckeras.engine.topology import Container, Layer
from ckeras.layers import Dense, Input
from ckeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh_names():
    K.clear_session()
    np.random.seed(0)


def test_keras_tensor_attributes_and_nodes():
    x = Input(shape=(3,), name="x")
    d = Dense(2)
    y = d(x)
    assert y._keras_shape == (None, 2) and y._keras_history == (d, 0, 0)
    assert x._keras_history[0].name == "x"
    node = d.inbound_nodes[0]
    assert node.inbound_layers == [x._keras_history[0]] and node.output_tensors == [y]
    assert x._keras_history[0].outbound_nodes == [node]
    assert d.get_input_at(0) is x and d.input is x and d.input_shape == (None, 3)
    assert get_source_inputs(y) == [x]
    assert Container is not None


def test_auto_names_count_per_class_and_reset():
    assert [Dense(1).name, Dense(1).name, layers.Activation("relu").name] == [
        "dense_1", "dense_2", "activation_1"]
    assert Input(shape=(1,))._keras_history[0].name == "input_1"
    K.clear_session()
    assert Dense(1).name == "dense_1"
    assert Sequential().name == "sequential_1" and Model().name == "model_1"


def test_layer_reused_at_different_depths_and_topological_order():
    x = Input(shape=(4,))
    shared = Dense(4, activation="tanh")
    h = shared(x)
    h2 = Dense(4)(h)
    out = shared(layers.add([h, h2]))
    model = Model(x, out)
    data = np.random.random((3, 4)).astype(np.float32)
    W, b = shared.get_weights()
    W2, b2 = model.layers[2].get_weights()
    hh = np.tanh(data @ W + b)
    want = np.tanh((hh + hh @ W2 + b2) @ W + b)
    np.testing.assert_allclose(model.predict(data), want, rtol=1e-5, atol=1e-6)
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(data), want, rtol=1e-5, atol=1e-6)


def test_nested_models_and_sequential_inside_functional():
    inner = Sequential([Dense(5, input_shape=(3,), activation="relu"), Dense(2)])
    x = Input(shape=(3,))
    y = layers.concatenate([inner(x), Dense(1)(x)])
    outer = Model(x, y)
    data = np.random.random((4, 3))
    out = outer.predict(data)
    np.testing.assert_allclose(out[:, :2], inner.predict(data), rtol=1e-6)
    config = outer.get_config()
    clone = Model.from_config(config)
    clone.set_weights(outer.get_weights())
    np.testing.assert_allclose(clone.predict(data), out, rtol=1e-6)
    assert len(outer.weights) == 6


def test_summary_keras_format_with_connections():
    a, b = Input(shape=(4,), name="a"), Input(shape=(3,), name="b")
    merged = layers.concatenate([Dense(2, name="da")(a), b], name="cat")
    model = Model([a, b], Dense(1, name="out")(merged))
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[1].startswith("Layer (type)") and "Connected to" in lines[1]
    assert len(lines[0]) == 98
    text = "\n".join(lines)
    assert "cat (Concatenate)" in text and "da[0][0]" in text and "b[0][0]" in text
    assert "Total params: 16" in text and "Non-trainable params: 0" in text


def test_summary_sequential_rows():
    model = Sequential([Dense(64, input_dim=100), layers.Activation("relu")])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[3] == "dense_1 (Dense)              (None, 64)                6464      "
    assert lines[-4] == "Total params: 6,464"


def test_trainable_flag_and_weights():
    d = Dense(3)
    d.build((None, 2))
    assert [w.name for w in d.weights] == ["dense_1/kernel:0", "dense_1/bias:0"]
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    assert np.all(d.get_weights()[1] == 0)
    assert d.count_params() == 9


def test_custom_keras2_style_layer():
    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
            super().build(input_shape)

        def call(self, x):  # no training argument, as many Keras 2 layers
            return x * self.w

    x = Input(shape=(3,))
    model = Model(x, Scale()(x))
    np.testing.assert_allclose(model.predict(np.ones((2, 3))), 1.0)
    assert model.count_params() == 3


def test_sequential_pop_and_deferred_build():
    model = Sequential([Dense(4, input_dim=3), Dense(5), Dense(6)])
    model.pop()
    assert model.output_shape == (None, 5) and len(model.layers) == 2
    assert model.predict(np.ones((2, 3))).shape == (2, 5)
    deferred = Sequential([Dense(4), Dense(2)])
    assert deferred.predict(np.ones((3, 7))).shape == (3, 2)
    assert deferred.input_shape == (None, 7)
    with pytest.raises(TypeError, match="no layers"):
        Sequential().pop()


def test_predict_on_batch_and_batches_agree():
    model = Sequential([Dense(8, input_dim=4, activation="relu"), Dense(3)])
    x = np.random.random((70, 4))
    np.testing.assert_allclose(model.predict(x, batch_size=16),
                               model.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    assert model.predict_on_batch(x[:1]).shape == (1, 3)


# ---- bad input ------------------------------------------------------------------

def test_incompatible_shapes_when_called():
    d = Dense(3)
    d(Input(shape=(4,)))
    with pytest.raises(ValueError, match=r"dense_1.*axis -1.*value 4.*\(None, 5\)"):
        d(Input(shape=(5,)))
    with pytest.raises(ValueError, match="Input 0 is incompatible with layer flatten_1"):
        layers.Flatten()(Input(shape=(3,)))
    with pytest.raises(ValueError, match="concat axis"):
        layers.concatenate([Input(shape=(2, 3)), Input(shape=(4, 5))])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()(Input(shape=(3,)))
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((4, 4))(Input(shape=(6,)))


def test_graph_disconnected():
    a, b = Input(shape=(2,)), Input(shape=(2,))
    out = layers.add([Dense(2)(a), Dense(2)(b)])
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(inputs=a, outputs=out)
    with pytest.raises(RuntimeError, match="Graph disconnected"):
        Model(inputs=a, outputs=out)


def test_duplicate_layer_names():
    x = Input(shape=(2,))
    y = Dense(2, name="same")(Dense(2, name="same")(x))
    with pytest.raises(ValueError, match='"same" is used 2 times'):
        Model(x, y)


def test_model_inputs_must_be_keras_tensors():
    with pytest.raises(TypeError, match="Keras tensors"):
        Model(inputs=np.ones(3), outputs=Input(shape=(2,)))


def test_set_weights_wrong_count_or_shape():
    model = Sequential([Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match=r"list of 1 arrays.*2 weights"):
        model.set_weights([np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        model.set_weights([np.ones((2, 3)), np.ones(2)])
    with pytest.raises(ValueError, match=r"\(3, 2\) not compatible.*\(4, 2\)"):
        model.layers[0].set_weights([np.ones((4, 2)), np.ones(2)])


def test_predict_with_wrong_shape_or_count():
    model = Sequential([Dense(2, input_dim=3)])
    with pytest.raises(ValueError, match=r"expected dense_1_input to have shape "
                                          r"\(None, 3\) but got array with shape \(4, 5\)"):
        model.predict(np.ones((4, 5)))
    with pytest.raises(ValueError, match="to have 2 dimensions"):
        model.predict(np.ones(3))
    a, b = Input(shape=(2,)), Input(shape=(2,))
    two = Model([a, b], layers.add([a, b]))
    with pytest.raises(ValueError, match="Expected to see 2 array"):
        two.predict(np.ones((1, 2)))
    with pytest.raises(ValueError, match="same number of samples"):
        two.predict([np.ones((1, 2)), np.ones((2, 2))])


@pytest.mark.parametrize("units", [0, -3, 2.5, None])
def test_bad_units(units):
    with pytest.raises(ValueError, match="units must be a positive int"):
        Dense(units)


def test_unknown_keyword_and_bad_identifiers():
    with pytest.raises(TypeError, match="not understood: 'foo'"):
        Dense(2, foo=1)
    with pytest.raises(ValueError, match="Unknown activation function: nope"):
        Dense(2, activation="nope")
    with pytest.raises(ValueError, match="Unknown initializer"):
        Dense(2, kernel_initializer="nope")
    with pytest.raises(ValueError, match="Unknown layer: Nope"):
        layers.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="layer index or name|layer name or layer index"):
        Sequential([Dense(2, input_dim=2)]).get_layer()
    with pytest.raises(ValueError, match="No such layer: zzz"):
        Sequential([Dense(2, input_dim=2)]).get_layer("zzz")
    with pytest.raises(ValueError, match="batch_shape"):
        Input()
