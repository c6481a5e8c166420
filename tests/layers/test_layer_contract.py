"""One harness for the layer contract, run over every layer: build, output
shape against the real output, get/set_weights, config round-trip with
equal outputs, Sequential and functional use, layers.serialize."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Model, Sequential
from ckeras.utils import CustomObjectScope


def helper_test_layer(make, input_shape, extra_inputs=0, seed=0, int_inputs=None):
    """Checks one layer class through the whole contract.

    make(): a fresh layer; input_shape: per-sample shape (or a list of them
    for multi-input layers); int_inputs: feed int32 indices in
    [0, int_inputs) instead of floats (Embedding)."""
    rng = np.random.default_rng(seed)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if int_inputs:
        data = [rng.integers(0, int_inputs, (3,) + tuple(s)).astype(np.int32)
                for s in shapes]
    else:
        data = [rng.standard_normal((3,) + tuple(s)).astype(np.float32) for s in shapes]
    inputs = [layers.Input(shape=s, dtype="int32" if int_inputs else None)
              for s in shapes]
    layer = make()
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    model = Model(inputs=inputs, outputs=out)
    y = model.predict(data if len(data) > 1 else data[0])
    # output shape inferred symbolically agrees with the real output
    want = layer.compute_output_shape([i._keras_shape for i in inputs] if len(inputs) > 1
                                      else inputs[0]._keras_shape)
    assert K.int_shape(out) == tuple(want)
    assert y.shape[1:] == tuple(want[1:]), (y.shape, want)
    assert layer.output_shape == tuple(want)
    # eager call on arrays gives the same values
    eager = layer(data if len(data) > 1 else data[0])
    np.testing.assert_allclose(np.asarray(eager), y, rtol=1e-6, atol=1e-6)
    # get/set weights
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [tuple(v.value.shape) for v in layer.weights]
    layer.set_weights([w + rng.standard_normal(w.shape) for w in weights])
    y2 = model.predict(data if len(data) > 1 else data[0])
    if weights:
        assert not np.allclose(y, y2)
        with pytest.raises(ValueError, match="weight"):
            layer.set_weights(weights[:-1])
    layer.set_weights(weights)
    # config round-trip, through layers.serialize/deserialize
    config = layer.get_config()
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == config
    clone2 = type(layer).from_config(config)
    cloned_out = clone2(inputs if len(inputs) > 1 else inputs[0])
    clone2.set_weights(weights)
    m2 = Model(inputs=inputs, outputs=cloned_out)
    np.testing.assert_allclose(m2.predict(data if len(data) > 1 else data[0]), y,
                               rtol=1e-6, atol=1e-6)
    # model config round-trip
    m3 = Model.from_config(Model(inputs=inputs, outputs=out).get_config())
    m3.set_weights(model.get_weights())
    np.testing.assert_allclose(m3.predict(data if len(data) > 1 else data[0]), y,
                               rtol=1e-6, atol=1e-6)
    # Sequential use (single-input layers)
    if len(shapes) == 1:
        seq = Sequential([layers.InputLayer(input_shape=shapes[0]),
                          type(layer).from_config({**config, "name": "seq_copy"})])
        seq.set_weights(weights)
        np.testing.assert_allclose(seq.predict(data[0]), y, rtol=1e-6, atol=1e-6)
        seq2 = Sequential.from_config(seq.get_config())
        seq2.set_weights(weights)
        np.testing.assert_allclose(seq2.predict(data[0]), y, rtol=1e-6, atol=1e-6)
    return y


def mean_over_time(x):
    return K.mean(x, axis=1)


LAYERS = {
    "dense": (lambda: layers.Dense(4), (5,)),
    "dense_relu_nobias": (lambda: layers.Dense(3, activation="relu", use_bias=False), (6,)),
    "dense_rank3": (lambda: layers.Dense(4, activation="softmax"), (2, 5)),
    "dense_custom_act": (lambda: layers.Dense(
        3, activation=None, kernel_initializer="he_normal", bias_initializer="ones",
        kernel_regularizer="l2", kernel_constraint="max_norm"), (4,)),
    "activation_tanh": (lambda: layers.Activation("tanh"), (5,)),
    "activation_softmax": (lambda: layers.Activation("softmax"), (5,)),
    "activation_linear": (lambda: layers.Activation("linear"), (5,)),
    "dropout": (lambda: layers.Dropout(0.5), (5,)),
    "flatten": (lambda: layers.Flatten(), (2, 3)),
    "reshape": (lambda: layers.Reshape((3, -1)), (6,)),
    "permute": (lambda: layers.Permute((2, 1)), (2, 3)),
    "repeat_vector": (lambda: layers.RepeatVector(3), (4,)),
    "lambda_shape_inferred": (lambda: layers.Lambda(mean_over_time), (3, 4)),
    "masking": (lambda: layers.Masking(0.0), (3, 4)),
    "activity_regularization": (lambda: layers.ActivityRegularization(l1=0.1), (4,)),
    "add": (lambda: layers.Add(), [(4,), (4,)]),
    "subtract": (lambda: layers.Subtract(), [(4,), (4,)]),
    "multiply": (lambda: layers.Multiply(), [(4,), (4,), (4,)]),
    "average": (lambda: layers.Average(), [(4,), (4,)]),
    "maximum": (lambda: layers.Maximum(), [(4,), (4,)]),
    "minimum": (lambda: layers.Minimum(), [(4,), (4,)]),
    "concatenate": (lambda: layers.Concatenate(axis=-1), [(2, 3), (2, 5)]),
    "concatenate_axis1": (lambda: layers.Concatenate(axis=1), [(2, 3), (4, 3)]),
    "dot": (lambda: layers.Dot(axes=1), [(4,), (4,)]),
    "dot_normalized": (lambda: layers.Dot(axes=(2, 2), normalize=True), [(3, 4), (2, 4)]),
    "embedding": (lambda: layers.Embedding(7, 3), (4,), 7),
    "embedding_mask_zero_length": (lambda: layers.Embedding(
        5, 2, mask_zero=True, input_length=3), (3,), 5),
    "lstm": (lambda: layers.LSTM(3), (4, 5)),
    "lstm_seq_state_back": (lambda: layers.LSTM(
        2, return_sequences=True, go_backwards=True,
        activation="relu", recurrent_activation="sigmoid"), (3, 4)),
    "lstm_nobias": (lambda: layers.LSTM(2, use_bias=False, unit_forget_bias=False,
                                        kernel_regularizer="l2"), (3, 2)),
    "gru": (lambda: layers.GRU(3, return_sequences=True), (4, 5)),
    "gru_back": (lambda: layers.GRU(2, go_backwards=True, use_bias=False), (3, 4)),
    "simple_rnn": (lambda: layers.SimpleRNN(3), (4, 5)),
    "simple_rnn_seq": (lambda: layers.SimpleRNN(
        2, activation="relu", return_sequences=True, dropout=0.3), (3, 4)),
    "time_distributed_dense": (lambda: layers.TimeDistributed(layers.Dense(3)), (4, 5)),
    "time_distributed_model": (lambda: layers.TimeDistributed(Sequential(
        [layers.Dense(3, activation="relu", input_shape=(2, 5)), layers.Flatten()])),
        (4, 2, 5)),
    "bidirectional_lstm": (lambda: layers.Bidirectional(layers.LSTM(3)), (4, 5)),
    "bidirectional_gru_seq_sum": (lambda: layers.Bidirectional(
        layers.GRU(2, return_sequences=True), merge_mode="sum"), (3, 4)),
    "bidirectional_rnn_ave": (lambda: layers.Bidirectional(
        layers.SimpleRNN(2, return_sequences=True), merge_mode="ave"), (3, 4)),
    "bidirectional_lstm_mul": (lambda: layers.Bidirectional(
        layers.LSTM(2, go_backwards=True), merge_mode="mul"), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_contract(name):
    make, shape, *vocab = LAYERS[name]
    with CustomObjectScope({"mean_over_time": mean_over_time}):
        helper_test_layer(make, shape, int_inputs=vocab[0] if vocab else None)


def test_every_layer_is_covered_by_the_harness():
    tested = {type(entry[0]()).__name__ for entry in LAYERS.values()}
    public = {v.__name__ for n, v in vars(layers).items() if isinstance(v, type) and issubclass(
        v, layers.Layer) and n not in ("Layer", "InputLayer")}
    assert public <= tested, public - tested


def test_lambda_with_output_shape_and_arguments():
    lam = layers.Lambda(lambda x, k: x * k, output_shape=(4,), arguments={"k": 2.0})
    x = layers.Input(shape=(4,))
    assert K.int_shape(lam(x)) == (None, 4)
    np.testing.assert_allclose(lam(np.ones((2, 4), np.float32)), 2.0)


def test_lambda_from_config_refuses_bytecode_unless_opted_in():
    lam = layers.Lambda(lambda x: x + 1)
    config = lam.get_config()
    with pytest.raises(ValueError, match="bytecode"):
        layers.Lambda.from_config(config)
    again = layers.Lambda.from_config(config, safe_mode=False)
    assert np.asarray(again(np.zeros((1, 2), np.float32))).tolist() == [[1.0, 1.0]]


def test_dropout_only_while_training():
    d = layers.Dropout(0.5)
    x = np.ones((4, 100), np.float32)
    assert np.array_equal(d(x), x)
    y = d(x, training=True)
    assert 0.2 < (y == 0).mean() < 0.8


def test_masking_zeroes_masked_timesteps():
    m = layers.Masking(0.0)
    x = np.array([[[1, 2], [0, 0], [3, 0]]], np.float32)
    assert m.compute_mask(x).tolist() == [[True, False, True]]
    assert np.array_equal(m(x), x)


def test_regularization_losses():
    d = layers.Dense(2, kernel_regularizer="l1", bias_regularizer=K.variables and None,
                     activity_regularizer="l2")
    d.build((None, 3))
    d.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert np.isclose(float(d.losses[0]), 0.01 * 6)
    d(np.ones((1, 3), np.float32))
    assert len(d.losses) == 2 and np.isclose(float(d.losses[1]), 0.01 * 2 * 9)


# ---- convolution and pooling layers (issue 5) --------------------------------
def abs_activation(x):
    return K.abs(x)


CONV_LAYERS = {
    "conv2d": (lambda: layers.Conv2D(3, (3, 3)), (7, 6, 2)),
    "conv2d_same_strided": (lambda: layers.Conv2D(4, (3, 2), strides=(2, 3), padding="same",
                                                  activation="relu"), (7, 8, 3)),
    "conv2d_dilated_nobias": (lambda: layers.Conv2D(2, 3, dilation_rate=(2, 1),
                                                    use_bias=False), (8, 6, 2)),
    "conv2d_channels_first": (lambda: layers.Conv2D(3, 2, padding="same",
                                                    data_format="channels_first",
                                                    activation="tanh"), (2, 5, 4)),
    "conv2d_custom_act": (lambda: layers.Conv2D(
        2, 2, activation=abs_activation, kernel_initializer="he_normal", bias_initializer="ones",
        kernel_regularizer="l2", kernel_constraint="max_norm"), (4, 4, 1)),
    "convolution2d_alias": (lambda: layers.Convolution2D(2, 1), (3, 3, 2)),
    "conv1d": (lambda: layers.Conv1D(3, 3, activation="relu"), (7, 2)),
    "conv1d_causal_dilated": (lambda: layers.Conv1D(2, 2, padding="causal",
                                                    dilation_rate=2), (6, 3)),
    "conv1d_same_strided": (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (7, 2)),
    "max_pooling2d": (lambda: layers.MaxPooling2D(), (6, 7, 2)),
    "max_pooling2d_same": (lambda: layers.MaxPooling2D((3, 2), strides=(2, 1),
                                                       padding="same"), (7, 5, 2)),
    "avg_pooling2d_cf": (lambda: layers.AveragePooling2D(
        2, padding="same", data_format="channels_first"), (2, 5, 5)),
    "avg_pooling2d": (lambda: layers.AvgPool2D((2, 3)), (4, 6, 3)),
    "max_pooling1d": (lambda: layers.MaxPooling1D(2), (7, 3)),
    "avg_pooling1d_same": (lambda: layers.AveragePooling1D(3, strides=2, padding="same"),
                           (7, 3)),
    "global_max_pooling2d": (lambda: layers.GlobalMaxPooling2D(), (3, 4, 2)),
    "global_avg_pooling2d_cf": (lambda: layers.GlobalAveragePooling2D(
        data_format="channels_first"), (2, 3, 4)),
    "global_max_pooling1d": (lambda: layers.GlobalMaxPooling1D(), (5, 3)),
    "global_avg_pooling1d": (lambda: layers.GlobalAveragePooling1D(), (5, 3)),
    "zero_padding2d": (lambda: layers.ZeroPadding2D(((1, 2), (0, 3))), (3, 4, 2)),
    "zero_padding2d_cf": (lambda: layers.ZeroPadding2D(1, data_format="channels_first"),
                          (2, 3, 4)),
    "zero_padding1d": (lambda: layers.ZeroPadding1D((2, 1)), (4, 3)),
    "cropping2d": (lambda: layers.Cropping2D(((1, 0), (1, 2))), (5, 6, 2)),
    "cropping2d_cf": (lambda: layers.Cropping2D(1, data_format="channels_first"),
                      (2, 4, 5)),
    "cropping1d": (lambda: layers.Cropping1D((1, 2)), (6, 2)),
    "upsampling2d": (lambda: layers.UpSampling2D((2, 3)), (2, 3, 2)),
    "upsampling2d_cf": (lambda: layers.UpSampling2D(data_format="channels_first"),
                        (2, 3, 2)),
    "upsampling1d": (lambda: layers.UpSampling1D(3), (4, 2)),
    "conv2d_transpose": (lambda: layers.Conv2DTranspose(3, (3, 2)), (4, 5, 2)),
    "conv2d_transpose_same_strided_op": (lambda: layers.Conv2DTranspose(
        2, 3, strides=(2, 3), padding="same", output_padding=(1, 2), activation="relu"),
        (3, 4, 3)),
    "conv2d_transpose_cf_dilated": (lambda: layers.Conv2DTranspose(
        2, 2, dilation_rate=2, data_format="channels_first", activation="tanh",
        use_bias=False), (3, 4, 3)),
    "deconvolution2d_alias": (lambda: layers.Deconvolution2D(2, 1, strides=2), (3, 3, 2)),
    "depthwise_conv2d": (lambda: layers.DepthwiseConv2D(3), (5, 6, 3)),
    "depthwise_conv2d_multiplier_same": (lambda: layers.DepthwiseConv2D(
        (3, 2), strides=2, padding="same", depth_multiplier=2, activation="relu",
        depthwise_regularizer="l2"), (7, 6, 3)),
    "depthwise_conv2d_cf_dilated": (lambda: layers.DepthwiseConv2D(
        2, dilation_rate=2, data_format="channels_first", use_bias=False), (2, 6, 5)),
    "separable_conv2d": (lambda: layers.SeparableConv2D(4, 3), (5, 6, 3)),
    "separable_conv2d_same_multiplier": (lambda: layers.SeparableConv2D(
        3, (2, 3), strides=2, padding="same", depth_multiplier=2, activation="softmax",
        pointwise_regularizer="l1", depthwise_constraint="max_norm"), (7, 6, 2)),
    "separable_conv2d_cf_custom_act": (lambda: layers.SeparableConv2D(
        2, 3, padding="same", data_format="channels_first", activation=abs_activation),
        (3, 5, 4)),
    "separable_convolution2d_alias": (lambda: layers.SeparableConvolution2D(
        2, 1, use_bias=False), (3, 3, 2)),
}
LAYERS.update(CONV_LAYERS)


@pytest.mark.parametrize("name", sorted(CONV_LAYERS))
def test_conv_layer_contract(name):
    make, shape = CONV_LAYERS[name]
    with CustomObjectScope({"abs_activation": abs_activation}):
        helper_test_layer(make, shape)
