"""Conv, pooling, embedding, recurrent, wrapper and reshaping layers, a
nested model and a multi-output training config through save_model /
load_model: the loaded model (built without running initializers) has
every weight and optimizer slot back, predicts the same and trains on
identically. (Ported from the saving2 branch.)"""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras.layers import (GRU, LSTM, Activation, Add, Bidirectional, Conv2D, Dense,
                           Dropout, Embedding, Flatten, Input, MaxPooling2D, Permute,
                           RepeatVector, Reshape, SimpleRNN, TimeDistributed)
from ckeras.models import Model, Sequential, load_model


def _round_trip(model, x, y, tmp_path):
    model.train_on_batch(x, y)  # optimizer slots hold something
    model.save(tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    for p, q in zip(model.predict(x) if isinstance(y, list) else [model.predict(x)],
                    loaded.predict(x) if isinstance(y, list) else [loaded.predict(x)]):
        np.testing.assert_array_equal(p, q)
    K.set_random_seed(3)  # same dropout masks for both
    a = model.train_on_batch(x, y)
    K.set_random_seed(3)
    assert a == loaded.train_on_batch(x, y)
    for p, q in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(p, q)
    return loaded


def test_cnn(tmp_path):
    K.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = Sequential([Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)),
                        MaxPooling2D((2, 2)), Flatten(), Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    x = rng.standard_normal((6, 8, 8, 1)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 6)]
    _round_trip(model, x, y, tmp_path)


def test_masked_recurrent_stack(tmp_path):
    K.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = Sequential([Embedding(20, 5, input_length=7, mask_zero=True),
                        Bidirectional(LSTM(4, return_sequences=True)),
                        TimeDistributed(Dense(3)), GRU(3, return_sequences=True),
                        SimpleRNN(2)])
    model.compile("rmsprop", "mse")
    x = rng.integers(0, 20, (5, 7)).astype("int32")
    x[:, -2:] = 0  # masked steps
    y = rng.standard_normal((5, 2)).astype("float32")
    _round_trip(model, x, y, tmp_path)


def test_reshaping_layers(tmp_path):
    K.set_random_seed(0)
    model = Sequential([Reshape((2, 3), input_shape=(6,)), Permute((2, 1)), Flatten(),
                        RepeatVector(2), Flatten(), Dense(4), Activation("tanh"),
                        Dropout(0.2), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype("float32")
    y = (rng.random((8, 1)) > 0.5).astype("float32")
    _round_trip(model, x, y, tmp_path)


def test_nested_model_and_multi_output_training_config(tmp_path):
    K.set_random_seed(0)
    inner_in = Input(shape=(4,))
    inner = Model(inner_in, Dense(3, activation="relu", name="inner_d")(inner_in),
                  name="inner")
    a = Input(shape=(4,), name="a")
    h = inner(a)
    o1 = Dense(2, activation="softmax", name="o1")(h)
    o2 = Dense(1, name="o2")(Add()([h, Dense(3, name="skip")(a)]))
    model = Model(inputs=a, outputs=[o1, o2])
    model.compile("rmsprop", loss={"o1": "categorical_crossentropy", "o2": "mse"},
                  loss_weights={"o1": 1.0, "o2": 0.5}, metrics={"o1": ["acc"]})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4)).astype("float32")
    ys = [np.eye(2, dtype="float32")[rng.integers(0, 2, 8)],
          rng.standard_normal((8, 1)).astype("float32")]
    loaded = _round_trip(model, x, ys, tmp_path)
    assert loaded.loss_weights == {"o1": 1.0, "o2": 0.5}
    assert loaded.metrics_names == model.metrics_names
