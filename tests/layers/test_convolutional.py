"""Convolution and pooling layers and their backend ops: gradients against
float64 finite differences, output shapes against real outputs over many
padding/stride/dilation combinations in both data formats, the two
formats agreeing, clear errors, and a small CNN that learns."""
import itertools

import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Sequential
from ckeras.optimizers import Adam
from tests.backend.test_ops_grad import check_float32_matches_float64, check_op

# ---- backend ops: tape gradients vs finite differences (float64 twin) -------

OPS = {
    "conv2d_valid": (lambda x, w: K.conv2d(x, w), (2, 4, 5, 2), (2, 3, 2, 3)),
    "conv2d_same_strided": (lambda x, w: K.conv2d(x, w, (2, 2), "same"),
                            (1, 5, 4, 2), (3, 2, 2, 2)),
    "conv2d_dilated_cf": (lambda x, w: K.conv2d(x, w, padding="same",
                                                data_format="channels_first",
                                                dilation_rate=(2, 1)),
                          (2, 2, 5, 4), (2, 2, 2, 3)),
    "conv2d_bias_tanh": (lambda x, w, b: K.conv2d_bias_act(x, w, b, activation="tanh"),
                         (2, 3, 4, 2), (2, 2, 2, 3), (3,)),
    "conv2d_bias_softmax_cf": (lambda x, w, b: K.conv2d_bias_act(
        x, w, b, padding="same", data_format="channels_first", activation="softmax"),
        (1, 2, 3, 4), (2, 2, 2, 2), (2,)),
    "max_pool2d": (lambda x: K.pool2d(x, (2, 2), (2, 2)), (2, 4, 5, 3)),
    "max_pool2d_same_cf": (lambda x: K.pool2d(x, (3, 2), (2, 1), "same",
                                              "channels_first"), (1, 2, 5, 4)),
    "avg_pool2d_same": (lambda x: K.pool2d(x, (2, 3), (1, 2), "same", pool_mode="avg"),
                        (2, 4, 5, 2)),
    "avg_pool2d_cf": (lambda x: K.pool2d(x, 2, 2, data_format="channels_first",
                                         pool_mode="avg"), (1, 2, 4, 4)),
    "spatial_padding": (lambda x: K.spatial_2d_padding(x, ((1, 0), (2, 1))), (2, 3, 2, 2)),
    "resize_images": (lambda x: K.resize_images(x, 2, 3, "channels_first"), (1, 2, 2, 3)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradient_matches_finite_differences(name):
    fn, *shapes = OPS[name]
    check_op(fn, *shapes)


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_kernel_path_matches_float64_twin(name):
    fn, *shapes = OPS[name]
    check_float32_matches_float64(fn, *shapes)


def test_conv_backward_is_not_accumulated_across_steps():
    x = K.variable(np.ones((1, 3, 3, 1)))
    w = K.variable(np.ones((2, 2, 1, 1)))
    grads = []
    for _ in range(2):
        with K.GradientTape() as tape:
            y = K.conv2d(x, w)
        grads.append(tape.gradient(y, [x, w]))
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
    np.testing.assert_array_equal(grads[1][1], np.full((2, 2, 1, 1), 4.0))


# ---- output shapes: compute_output_shape vs real outputs --------------------

def _cases():
    for k, s, d, pad in itertools.product((1, 2, 3), (1, 2, 3), (1, 2), ("valid", "same")):
        if s > 1 and d > 1:
            continue
        yield k, s, d, pad


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_output_shapes_match_outputs(data_format):
    rng = np.random.default_rng(0)
    for (kh, sh, d, pad), (kw, sw) in zip(_cases(), itertools.cycle([(2, 1), (3, 2), (1, 3)])):
        if d > 1:
            sw = 1
        for h, w in ((7, 8), (5, 6)):
            shape = (2, h, w, 3) if data_format == "channels_last" else (2, 3, h, w)
            layer = layers.Conv2D(4, (kh, kw), strides=(sh, sw), padding=pad,
                                  dilation_rate=d, data_format=data_format)
            want = layer.compute_output_shape(shape)
            got = layer(rng.standard_normal(shape).astype(np.float32)).shape
            assert tuple(got) == want, (kh, kw, sh, sw, d, pad, shape)
            # unknown batch and spatial sizes stay None
            channel = 3 if data_format == "channels_last" else 1
            free = tuple(n if i == channel else None for i, n in enumerate(shape))
            want_free = tuple(4 if i == channel else None for i in range(4))
            assert layer.compute_output_shape(free) == want_free


def test_conv2d_keras2_shape_arithmetic():
    # the numbers Keras 2's conv_output_length gives
    assert layers.Conv2D(8, 3).compute_output_shape((None, 28, 28, 1)) == (None, 26, 26, 8)
    assert layers.Conv2D(8, 3, strides=2, padding="same").compute_output_shape(
        (None, 7, 8, 1)) == (None, 4, 4, 8)
    assert layers.Conv2D(8, (3, 5), strides=(2, 3)).compute_output_shape(
        (None, 9, 10, 1)) == (None, 4, 2, 8)
    assert layers.Conv2D(8, 3, dilation_rate=2).compute_output_shape(
        (None, 9, 10, 1)) == (None, 5, 6, 8)
    assert layers.Conv2D(8, 3, data_format="channels_first").compute_output_shape(
        (4, 2, None, 10)) == (4, 8, None, 8)
    assert layers.Conv1D(8, 3, padding="causal", dilation_rate=4).compute_output_shape(
        (None, 10, 2)) == (None, 10, 8)
    assert layers.MaxPooling2D(3, 2, padding="same").compute_output_shape(
        (None, 7, 8, 5)) == (None, 4, 4, 5)
    assert layers.MaxPooling1D().compute_output_shape((None, 7, 5)) == (None, 3, 5)


@pytest.mark.parametrize("layer_cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pool2d_output_shapes_match_outputs(layer_cls, data_format):
    rng = np.random.default_rng(0)
    for p, s, pad in itertools.product((1, 2, 3), (None, 1, 2, 3), ("valid", "same")):
        shape = (2, 7, 6, 3) if data_format == "channels_last" else (2, 3, 7, 6)
        layer = layer_cls((p, 2), s, pad, data_format)
        y = layer(rng.standard_normal(shape).astype(np.float32))
        assert tuple(y.shape) == layer.compute_output_shape(shape)


@pytest.mark.parametrize("make", [
    lambda f: layers.Conv2D(3, (2, 3), padding="same", activation="relu", data_format=f),
    lambda f: layers.Conv2D(2, 3, strides=2, data_format=f),
    lambda f: layers.Conv2D(2, 2, dilation_rate=2, activation="softmax", data_format=f),
    lambda f: layers.MaxPooling2D((2, 3), padding="same", data_format=f),
    lambda f: layers.AveragePooling2D(3, 1, "same", data_format=f),
    lambda f: layers.GlobalAveragePooling2D(data_format=f),
    lambda f: layers.ZeroPadding2D(((1, 2), (3, 0)), data_format=f),
    lambda f: layers.Cropping2D(((1, 0), (0, 2)), data_format=f),
    lambda f: layers.UpSampling2D((2, 1), data_format=f),
])
def test_channels_first_equals_channels_last_up_to_layout(make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    last, first = make("channels_last"), make("channels_first")
    y_last = last(x)
    first.build((None, 3, 6, 7))
    first.set_weights(last.get_weights())
    y_first = first(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if np.ndim(y_last) == 4:
        y_first = np.moveaxis(np.asarray(y_first), 1, -1)
    if "softmax" in str(last.get_config().get("activation")):
        return  # softmax acts on the last axis in both formats, as in Keras 2
    np.testing.assert_allclose(y_first, y_last, rtol=1e-5, atol=1e-5)


def test_default_data_format_comes_from_the_config():
    old = K.image_data_format()
    try:
        K.set_image_data_format("channels_first")
        assert layers.Conv2D(2, 3).data_format == "channels_first"
        assert layers.MaxPooling2D().get_config()["data_format"] == "channels_first"
    finally:
        K.set_image_data_format(old)
    assert layers.Conv2D(2, 3).data_format == old


def test_conv1d_matches_conv2d_with_height_one():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    c1 = layers.Conv1D(4, 3, padding="causal", dilation_rate=2)
    y1 = c1(x)
    c2 = layers.Conv2D(4, (1, 3), dilation_rate=(1, 2), padding="valid")
    c2.build((None, 1, 13, 3))
    c2.set_weights([c1.get_weights()[0][None], c1.get_weights()[1]])
    padded = np.concatenate([np.zeros((2, 4, 3), np.float32), x], axis=1)
    y2 = c2(padded[:, None])[:, 0]
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    # causal: output step t does not see input steps after t
    x2 = x.copy()
    x2[:, 5:] += 1.0
    np.testing.assert_allclose(c1(x2)[:, :5], y1[:, :5], rtol=1e-6)


def test_config_is_keras2():
    cfg = layers.Conv2D(32, 3, name="c").get_config()
    assert cfg["kernel_size"] == (3, 3) and cfg["strides"] == (1, 1)
    assert cfg["dilation_rate"] == (1, 1) and cfg["padding"] == "valid"
    assert cfg["data_format"] == "channels_last" and cfg["activation"] == "linear"
    assert "rank" not in cfg
    cfg1 = layers.Conv1D(8, 5).get_config()
    assert cfg1["kernel_size"] == (5,) and "data_format" not in cfg1
    assert layers.MaxPooling2D().get_config()["strides"] == (2, 2)
    assert layers.ZeroPadding2D(2).get_config()["padding"] == ((2, 2), (2, 2))
    assert layers.Conv2D is layers.Convolution2D and layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D
    layer = layers.Conv2D(4, 3)
    layer.build((None, 5, 5, 2))
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 4), (4,)]


# ---- errors -----------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(-2, 3), "filters"),
    (lambda: layers.Conv2D(2.5, 3), "filters"),
    (lambda: layers.Conv2D(2, 0), "kernel_size"),
    (lambda: layers.Conv2D(2, (3, 3, 3)), "kernel_size"),
    (lambda: layers.Conv2D(2, 3, strides=0), "strides"),
    (lambda: layers.Conv2D(2, 3, strides=(1, -1)), "strides"),
    (lambda: layers.Conv2D(2, 3, padding="full"), "padding"),
    (lambda: layers.Conv2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.Conv2D(2, 3, data_format="NHWC"), "data_format"),
    (lambda: layers.Conv2D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv1D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.MaxPooling2D(0), "pool_size"),
    (lambda: layers.MaxPooling2D(2, strides=0), "strides"),
    (lambda: layers.MaxPooling2D(padding="causal"), "padding"),
    (lambda: layers.AveragePooling2D(data_format="channels_middle"), "data_format"),
    (lambda: layers.ZeroPadding2D(-1), "padding"),
    (lambda: layers.UpSampling2D(0), "size"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="ndim=4"):
        layers.Conv2D(2, 3)(layers.Input(shape=(8, 3)))
    with pytest.raises(ValueError, match="ndim=4"):
        layers.Conv2D(2, 3)(np.ones((2, 8, 3), np.float32))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.Conv2D(2, 5)(layers.Input(shape=(4, 8, 3)))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.Conv2D(2, 3, dilation_rate=3)(layers.Input(shape=(6, 8, 3)))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.MaxPooling2D(3)(layers.Input(shape=(2, 8, 3)))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.Conv1D(2, 4)(layers.Input(shape=(3, 2)))
    with pytest.raises(ValueError, match="channel dimension"):
        layers.Conv2D(2, 3)(layers.Input(shape=(8, 8, None)))
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping2D(2)(layers.Input(shape=(4, 8, 3)))
    conv = layers.Conv2D(2, 3)
    conv(layers.Input(shape=(8, 8, 3)))
    with pytest.raises(ValueError, match="axis -1"):
        conv(layers.Input(shape=(8, 8, 4)))
    # 'same' padding accepts a kernel larger than the input, as Keras does
    assert layers.Conv2D(2, 5, padding="same").compute_output_shape(
        (None, 3, 3, 1)) == (None, 3, 3, 2)


# ---- training -----------------------------------------------------------------

@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_small_cnn_loss_falls(data_format):
    rng = np.random.default_rng(0)
    K.set_random_seed(0)
    n = 64
    x = rng.standard_normal((n, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    shape = (8, 8, 1) if data_format == "channels_last" else (1, 8, 8)
    model = Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=shape,
                      data_format=data_format),
        layers.MaxPooling2D(data_format=data_format),
        layers.Conv2D(4, 2, activation="relu", data_format=data_format),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(Adam(lr=0.01), "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss


def test_conv1d_model_trains():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((48, 10, 2)).astype(np.float32)
    y = (x[:, :, 0].max(axis=1) > 1.2).astype(np.float32)
    model = Sequential([layers.Conv1D(4, 3, activation="relu", input_shape=(10, 2)),
                        layers.MaxPooling1D(), layers.GlobalAveragePooling1D(),
                        layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    loss = model.fit(x, y, batch_size=16, epochs=10, verbose=0).history["loss"]
    assert loss[-1] < loss[0]


def test_guide_shared_conv2d_node_shapes():
    # the guide's snippet, with the real Conv2D
    a = layers.Input(shape=(32, 32, 3))
    b = layers.Input(shape=(64, 64, 3))
    conv = layers.Conv2D(16, (3, 3), padding='same')
    conv(a)
    assert conv.input_shape == (None, 32, 32, 3)
    conv(b)
    assert conv.get_input_shape_at(0) == (None, 32, 32, 3)
    assert conv.get_input_shape_at(1) == (None, 64, 64, 3)
    assert conv.get_output_shape_at(1) == (None, 64, 64, 16)


# ---- Keras 2.2 arguments of the 1-D layers, UpSampling2D interpolation, K.conv1d

def test_keras22_conv1d_config_with_data_format_loads():
    # as Keras 2.2.x writes it: data_format is part of Conv1D's config
    config = {"name": "c", "trainable": True, "filters": 2, "kernel_size": [3],
              "strides": [1], "padding": "causal", "data_format": "channels_last",
              "dilation_rate": [2], "activation": "relu", "use_bias": True}
    layer = layers.Conv1D.from_config(config)
    assert (layer.kernel_size, layer.dilation_rate, layer.padding) == ((3,), (2,), "causal")
    assert layer(np.ones((1, 6, 4), np.float32)).shape == (1, 6, 2)


@pytest.mark.parametrize("make", [
    lambda fmt: layers.Conv1D(2, 3, data_format=fmt),
    lambda fmt: layers.MaxPooling1D(2, data_format=fmt),
    lambda fmt: layers.AveragePooling1D(2, data_format=fmt),
    lambda fmt: layers.GlobalMaxPooling1D(data_format=fmt),
    lambda fmt: layers.GlobalAveragePooling1D(data_format=fmt),
])
def test_1d_layers_take_data_format_channels_last_and_refuse_channels_first(make):
    layer = make("channels_last")
    assert layer(np.ones((2, 6, 3), np.float32)).shape[0] == 2
    with pytest.raises(ValueError, match="channels_last"):
        make("channels_first")


def test_upsampling2d_interpolation_argument():
    y = layers.UpSampling2D((2, 1), interpolation="nearest")(
        np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1))
    assert y[0, :, :, 0].tolist() == [[0, 1], [0, 1], [2, 3], [2, 3]]
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bilinear")


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_k_conv1d(padding):
    from ckeras.reference import conv as conv_ref
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4)).astype(np.float32)
    y = K.conv1d(x, w, 1, padding, dilation_rate=2)
    if padding == "causal":  # all the padding before the first step
        want = conv_ref.conv2d_forward(np.pad(x, ((0, 0), (4, 0), (0, 0)))[:, None],
                                       w[None], dilation=(1, 2))[:, 0]
    else:
        want = conv_ref.conv2d_forward(x[:, None], w[None], padding=padding,
                                       dilation=(1, 2))[:, 0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    check_op(lambda a, b: K.conv1d(a, b, 2, padding), (2, 7, 2), (3, 2, 2))
    with pytest.raises(ValueError, match="channels_last"):
        K.conv1d(x, w, data_format="channels_first")
