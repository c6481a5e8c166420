"""Every model-building example of the Keras 2 guide (seed text), with
keras replaced by ckeras."""
import numpy as np
import pytest

import ckeras
from ckeras import backend as K
from ckeras.layers import LSTM, Activation, Dense, Dropout, Embedding, Input
from ckeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh_names():
    K.clear_session()
    np.random.seed(0)


def test_sequential_add_stack():
    model = Sequential()
    model.add(Dense(units=64, input_dim=100))
    model.add(Activation("relu"))
    model.add(Dense(units=10))
    model.add(Activation("softmax"))
    classes = model.predict(np.random.random((7, 100)), batch_size=3)
    assert classes.shape == (7, 10)
    np.testing.assert_allclose(classes.sum(axis=1), 1.0, rtol=1e-5)
    assert [l.name for l in model.layers] == ["dense_1", "activation_1", "dense_2",
                                             "activation_2"]


def test_sequential_list_constructor_and_input_shape_forms():
    model = Sequential([Dense(32, input_shape=(784,)), Activation("relu"), Dense(10),
                        Activation("softmax")])
    assert model.output_shape == (None, 10)
    for first in (Dense(32, input_shape=(784,)), Dense(32, input_dim=784),
                  Dense(32, input_shape=784)):
        m = Sequential()
        m.add(first)
        m.add(Activation("relu"))
        assert m.input_shape == (None, 784) and m.output_shape == (None, 32)
    m = Sequential([Dense(32, batch_size=32, input_shape=(6, 8))])
    assert m.input_shape == (32, 6, 8) and m.output_shape == (32, 6, 32)


def test_mlp_examples_build_and_predict():
    x = np.random.random((100, 20))
    for last in (Dense(10, activation="softmax"), Dense(1, activation="sigmoid")):
        model = Sequential()
        model.add(Dense(64, activation="relu", input_dim=20))
        model.add(Dropout(0.5))
        model.add(Dense(64, activation="relu"))
        model.add(Dropout(0.5))
        model.add(last)
        assert model.predict(x, batch_size=128).shape == (100, last.units)
    labels = np.random.randint(10, size=(1000, 1))
    one_hot = ckeras.utils.to_categorical(labels, num_classes=10)
    assert one_hot.shape == (1000, 10) and (one_hot.argmax(1) == labels[:, 0]).all()


def test_functional_dense_network_and_calling_a_model():
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    predictions = Dense(10, activation="softmax")(x)
    model = Model(inputs=inputs, outputs=predictions)
    data = np.random.random((5, 784))
    want = model.predict(data)
    # all models are callable, just like layers (weights are reused)
    x = Input(shape=(784,))
    y = model(x)
    assert K.int_shape(y) == (None, 10)
    outer = Model(inputs=x, outputs=y)
    np.testing.assert_allclose(outer.predict(data), want, rtol=1e-6)
    assert outer.count_params() == model.count_params()
    assert outer.layers[1] is model


def test_multi_input_multi_output():
    main_input = Input(shape=(100,), dtype="int32", name="main_input")
    x = Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    lstm_out = LSTM(32)(x)
    auxiliary_output = Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = Input(shape=(5,), name="aux_input")
    x = ckeras.layers.concatenate([lstm_out, auxiliary_input])
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    main_output = Dense(1, activation="sigmoid", name="main_output")(x)
    model = Model(inputs=[main_input, auxiliary_input],
                  outputs=[main_output, auxiliary_output])
    headline, extra = np.random.randint(0, 10000, (6, 100)), np.random.random((6, 5))
    main, aux = model.predict([headline, extra])
    assert main.shape == (6, 1) and aux.shape == (6, 1)
    by_name = model.predict({"main_input": headline, "aux_input": extra})
    np.testing.assert_allclose(by_name[0], main)
    assert model.output_names == ["main_output", "aux_output"]
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([headline, extra])[0], main, rtol=1e-6)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", loss_weights=[1., 0.2])
    labels = np.random.randint(0, 2, (6, 1))
    hist = model.fit([headline, extra], [labels, labels], epochs=2, batch_size=3, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()


def test_shared_layers_and_nodes():
    tweet_a = Input(shape=(140, 256))
    tweet_b = Input(shape=(140, 256))
    shared = LSTM(64)
    encoded_a = shared(tweet_a)
    encoded_b = shared(tweet_b)
    merged_vector = ckeras.layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = Dense(1, activation="sigmoid")(merged_vector)
    model = Model(inputs=[tweet_a, tweet_b], outputs=predictions)
    assert len(model.trainable_weights) == 5  # shared weights counted once
    a, b = np.random.random((2, 140, 256)), np.random.random((2, 140, 256))
    assert model.predict([a, b]).shape == (2, 1)

    assert shared.get_output_at(0) == encoded_a
    assert shared.get_output_at(1) == encoded_b
    with pytest.raises(AttributeError, match="multiple inbound nodes.*get_output_at"):
        shared.output
    single = Dense(32)
    out = single(Input(shape=(20,)))
    assert single.output == out


def test_input_shape_per_node():
    a = Input(shape=(32, 32, 3))
    b = Input(shape=(64, 64, 3))
    conv = ckeras.layers.Conv2D(16, (3, 3), padding="same")
    conv(a)
    assert conv.input_shape == (None, 32, 32, 3)
    conv(b)
    with pytest.raises(AttributeError, match="get_input_shape_at"):
        conv.input_shape
    assert conv.get_input_shape_at(0) == (None, 32, 32, 3)
    assert conv.get_input_shape_at(1) == (None, 64, 64, 3)
    assert conv.get_output_shape_at(1) == (None, 64, 64, 16)


def _guide_model():
    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=20, name="dense_in"))
    model.add(Dropout(0.5))
    model.add(Dense(32, activation="relu", name="my_layer"))
    model.add(Dense(10, activation="softmax"))
    return model


def test_intermediate_output_with_a_new_model():
    model = _guide_model()
    data = np.random.random((4, 20)).astype(np.float32)
    layer_name = "my_layer"
    intermediate_layer_model = Model(input=model.input,
                                     output=model.get_layer(layer_name).output)
    out = intermediate_layer_model.predict(data)
    W1, b1, W2, b2 = model.get_weights()[:4]
    want = np.maximum(np.maximum(data @ W1 + b1, 0) @ W2 + b2, 0)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    m2 = Model(inputs=model.input, outputs=model.get_layer(layer_name).output)
    np.testing.assert_allclose(m2.predict(data), out)


def test_intermediate_output_with_k_function():
    model = _guide_model()
    X = np.random.random((4, 20)).astype(np.float32)
    get_3rd_layer_output = K.function([model.layers[0].input], [model.layers[3].output])
    layer_output = get_3rd_layer_output([X])[0]
    np.testing.assert_allclose(layer_output, model.predict(X), rtol=1e-6)
    with_phase = K.function([model.layers[0].input, K.learning_phase()],
                            [model.layers[3].output])
    np.testing.assert_allclose(with_phase([X, 0])[0], layer_output, rtol=1e-6)


def test_model_methods_from_the_guide():
    model = _guide_model()
    config = model.get_config()
    again = Sequential.from_config(config)
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    again.set_weights(model.get_weights())
    x = np.random.random((3, 20))
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert model.get_layer(index=2).name == "my_layer"
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(20, 64), (64,), (64, 32), (32,), (32, 10), (10,)]
    functional = Model(inputs=model.input, outputs=model.output)
    clone = Model.from_config(functional.get_config())
    clone.set_weights(functional.get_weights())
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)
    # Keras 2.2 wraps the Sequential config in a dict
    assert Sequential.from_config({"name": "s", "layers": config}).name == "s"


def test_layer_config_round_trip_from_the_guide():
    layer = Dense(32)
    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)
    assert reconstructed_layer.get_config() == config
    from ckeras import layers
    layer2 = layers.deserialize({"class_name": layer.__class__.__name__,
                                 "config": config})
    assert isinstance(layer2, Dense) and layer2.units == 32


def test_sequence_classification_with_lstm():
    max_features = 1024
    model = Sequential()
    model.add(Embedding(max_features, output_dim=256))
    model.add(LSTM(128))
    model.add(Dropout(0.5))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    x_train = np.random.randint(0, max_features, (16, 10))
    y_train = np.random.randint(0, 2, (16, 1))
    model.fit(x_train, y_train, batch_size=8, epochs=1, verbose=0)
    score = model.evaluate(x_train, y_train, batch_size=8, verbose=0)
    assert len(score) == 2 and 0.0 <= score[1] <= 1.0


def test_stacked_lstm_and_its_stateful_version():
    data_dim, timesteps, num_classes = 16, 8, 10
    model = Sequential()
    model.add(LSTM(32, return_sequences=True, input_shape=(timesteps, data_dim)))
    model.add(LSTM(32, return_sequences=True))
    model.add(LSTM(32))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop",
                  metrics=["accuracy"])
    x_train = np.random.random((20, timesteps, data_dim))
    y_train = np.eye(num_classes)[np.random.randint(0, num_classes, 20)]
    model.fit(x_train, y_train, batch_size=10, epochs=1, verbose=0,
              validation_data=(x_train[:10], y_train[:10]))

    batch_size = 4
    stateful = Sequential()
    stateful.add(LSTM(32, return_sequences=True, stateful=True,
                      batch_input_shape=(batch_size, timesteps, data_dim)))
    stateful.add(LSTM(32, return_sequences=True, stateful=True))
    stateful.add(LSTM(32, stateful=True))
    stateful.add(Dense(10, activation="softmax"))
    stateful.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    stateful.fit(x_train[:8], y_train[:8], batch_size=batch_size, epochs=1,
                 shuffle=False, verbose=0)
    first = stateful.predict(x_train[:4], batch_size=batch_size)
    assert not np.allclose(stateful.predict(x_train[:4], batch_size=batch_size), first)
    stateful.reset_states()
    a = stateful.predict(x_train[:4], batch_size=batch_size)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.predict(x_train[:4], batch_size=batch_size), a)
