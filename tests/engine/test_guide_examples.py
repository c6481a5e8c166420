"""Every model-building example of the Keras 2 guide (seed text), with
keras replaced by ckeras (Conv2D still a Dense stand-in); compile/fit wait
for the training issue."""
import numpy as np
import pytest

import ckeras
from ckeras import backend as K
from ckeras.layers import Activation, Dense, Dropout, Input
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


def test_multi_input_multi_output_headline_model(capsys):
    from ckeras.layers import LSTM, Embedding
    # Headline input: meant to receive sequences of 100 integers, between 1 and 10000.
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
    assert K.int_shape(lstm_out) == (None, 32)
    model.summary()
    printed = capsys.readouterr().out
    assert "embedding_1 (Embedding)         (None, 100, 512)     5120000" in printed
    assert "lstm_1 (LSTM)                   (None, 32)           69760" in printed
    headline = np.random.randint(1, 10000, size=(6, 100))
    extra = np.random.random((6, 5))
    main, aux = model.predict([headline, extra])
    assert main.shape == (6, 1) and aux.shape == (6, 1)
    assert ((main > 0) & (main < 1)).all() and ((aux > 0) & (aux < 1)).all()
    by_name = model.predict({"main_input": headline, "aux_input": extra})
    np.testing.assert_allclose(by_name[0], main)
    assert model.output_names == ["main_output", "aux_output"]
    # Embedding 10000*512, LSTM 4*32*(512+32+1), Dense (37*64+64), 2x 64*65, 65, 33
    assert model.count_params() == (10000 * 512 + 4 * 32 * (512 + 32 + 1) + 1 * 33 +
                                    37 * 64 + 64 + 2 * 64 * 65 + 65)
    clone = Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([headline, extra])[0], main, rtol=1e-5)


def test_shared_lstm_tweet_model_and_nodes():
    from ckeras.layers import LSTM
    tweet_a = Input(shape=(140, 256))
    tweet_b = Input(shape=(140, 256))
    shared_lstm = LSTM(64)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged_vector = ckeras.layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = Dense(1, activation="sigmoid")(merged_vector)
    model = Model(inputs=[tweet_a, tweet_b], outputs=predictions)
    model.summary(print_fn=lambda line: None)
    assert len(model.trainable_weights) == 5  # shared LSTM weights counted once
    a, b = np.random.random((2, 140, 256)), np.random.random((2, 140, 256))
    y = model.predict([a, b])
    assert y.shape == (2, 1)
    ea, eb = shared_lstm(a.astype(np.float32)), shared_lstm(b.astype(np.float32))
    W, bias = model.layers[-1].get_weights()
    want = 1 / (1 + np.exp(-(np.concatenate([ea, eb], -1) @ W + bias)))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)

    assert shared_lstm.get_output_at(0) == encoded_a
    assert shared_lstm.get_output_at(1) == encoded_b
    with pytest.raises(AttributeError, match="multiple inbound nodes.*get_output_at"):
        shared_lstm.output
    a = Input(shape=(140, 256))
    lstm = LSTM(32)
    encoded_a = lstm(a)
    assert lstm.output == encoded_a


def test_time_distributed_model_from_the_guide():
    from ckeras.layers import TimeDistributed
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    predictions = Dense(10, activation="softmax")(x)
    model = Model(inputs=inputs, outputs=predictions)
    input_sequences = Input(shape=(20, 784))
    processed_sequences = TimeDistributed(model)(input_sequences)
    assert K.int_shape(processed_sequences) == (None, 20, 10)
    video = Model(input_sequences, processed_sequences)
    data = np.random.random((2, 20, 784)).astype(np.float32)
    y = video.predict(data)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y[:, 7], model.predict(data[:, 7]), rtol=1e-5, atol=1e-6)


def test_input_shape_per_node():
    a = Input(shape=(32, 32, 3))
    b = Input(shape=(64, 64, 3))
    conv = Dense(16)  # stand-in for Conv2D(16, (3, 3), padding='same')
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
