"""Keras 2 mask propagation through the engine: compute_mask, nodes'
output masks, ``mask=`` passed to call, and models computing masks."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh():
    K.clear_session()


class SeeMask(layers.Layer):
    """Identity that remembers the mask its call received."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seen = []

    def call(self, inputs, mask=None):
        self.seen.append(None if mask is None else np.asarray(mask).copy())
        return inputs


def test_masking_propagates_to_nodes_and_calls():
    x = layers.Input(shape=(3, 2))
    masked = layers.Masking(0.0)
    m = masked(x)
    see = SeeMask()
    y = see(m)
    assert masked.output_mask is m._keras_mask is not None
    assert see.input_mask is m._keras_mask
    assert see.get_output_mask_at(0) is y._keras_mask is not None  # passed through
    assert masked.input_mask is None
    data = np.array([[[1, 2], [0, 0], [3, 0]]], np.float32)
    model = Model(x, y)
    model.predict(data)
    assert see.seen[-1].tolist() == [[True, False, True]]
    f = K.function([x], [y])
    f([data])
    assert see.seen[-1].tolist() == [[True, False, True]]


def test_unmasked_graph_keeps_the_fast_path_and_no_masks():
    x = layers.Input(shape=(4,))
    y = layers.Dense(2)(layers.Dense(3)(x))
    model = Model(x, y)
    assert y._keras_mask is None and not model._mask_steps
    assert model.layers[1].output_mask is None


def test_layer_without_mask_support_raises_like_keras2():
    x = layers.Input(shape=(3, 2))
    with pytest.raises(TypeError, match="does not support masking"):
        layers.Flatten()(layers.Masking()(x))


def test_masks_of_several_inputs_are_anded_and_sequential_propagates():
    a, b = layers.Input(shape=(3, 2)), layers.Input(shape=(3, 2))
    out = layers.add([layers.Masking()(a), layers.Masking()(b)])
    see = SeeMask()
    model = Model([a, b], see(out))
    da = np.array([[[1, 1], [0, 0], [1, 1]]], np.float32)
    db = np.array([[[1, 1], [1, 1], [0, 0]]], np.float32)
    model.predict([da, db])
    assert see.seen[-1].tolist() == [[True, False, False]]
    see2 = SeeMask()
    seq = Sequential([layers.Masking(input_shape=(3, 2)), see2])
    seq.predict(da)
    assert see2.seen[-1].tolist() == [[True, False, True]]


def test_rnn_without_return_sequences_ends_the_mask():
    x = layers.Input(shape=(4,))
    e = layers.Embedding(10, 3, mask_zero=True)(x)
    last = layers.LSTM(2)(e)
    seq = layers.GRU(2, return_sequences=True, return_state=True)(e)[0]
    assert e._keras_mask is not None and last._keras_mask is None
    assert seq._keras_mask is not None
    # after the mask ends, a Dense (and Flatten) works as usual
    Model(x, layers.Dense(1)(last)).predict(np.array([[1, 2, 0, 0]], np.float32))
