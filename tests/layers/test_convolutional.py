"""Conv2D, Conv1D, ZeroPadding2D, Cropping2D, UpSampling2D and the conv
backend ops: shapes, values against ckeras/reference/conv.py, tape
gradients (reference backward in float32, finite differences in float64),
data formats, configs, errors, and training through model.fit."""
import itertools

import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Sequential
from ckeras.optimizers import Adam
from ckeras.reference import conv as ref
from tests.backend.test_ops_grad import check_op


def _rng():
    return np.random.default_rng(0)


def _shape_cases():
    for k, s, pad, d, fmt in itertools.product(
            [(1, 1), (3, 3), (2, 3)], [(1, 1), (2, 2), (1, 3)], ["valid", "same"],
            [(1, 1), (2, 1)], ["channels_last", "channels_first"]):
        if max(d) > 1 and max(s) > 1:
            continue
        yield k, s, pad, d, fmt


@pytest.mark.parametrize("k,s,pad,d,fmt", list(_shape_cases()))
def test_conv2d_output_shape_and_values_match_reference(k, s, pad, d, fmt):
    rng = _rng()
    hw_c = (7, 8, 3) if fmt == "channels_last" else (3, 7, 8)
    x = rng.standard_normal((2,) + hw_c).astype(np.float32)
    layer = layers.Conv2D(4, k, strides=s, padding=pad, dilation_rate=d, data_format=fmt,
                          activation="relu", bias_initializer="glorot_uniform")
    y = layer(x)
    assert layer.compute_output_shape((2,) + hw_c) == y.shape
    # unknown spatial sizes stay unknown
    none_shape = (None, None, None, 3) if fmt == "channels_last" else (None, 3, None, None)
    out = layer.compute_output_shape(none_shape)
    assert out == ((None, None, None, 4) if fmt == "channels_last" else (None, 4, None, None))
    want = ref.conv2d_forward(x, layer.kernel.value, layer.bias.value, s, pad, d, fmt,
                              "relu")
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_conv2d_formats_agree_up_to_transposition():
    rng = _rng()
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    last = layers.Conv2D(4, 3, strides=2, padding="same", data_format="channels_last")
    first = layers.Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    y_last = last(x)
    first.build((None, 3, 6, 5))
    first.set_weights(last.get_weights())
    y_first = first(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y_first.transpose(0, 2, 3, 1), y_last, rtol=1e-5, atol=1e-5)


def test_conv2d_default_data_format_follows_image_data_format():
    old = K.image_data_format()
    try:
        K.set_image_data_format("channels_first")
        layer = layers.Conv2D(2, 3)
        assert layer.data_format == "channels_first"
        assert layer.compute_output_shape((None, 3, 8, 9)) == (None, 2, 6, 7)
    finally:
        K.set_image_data_format(old)
    assert layers.Conv2D(2, 3).data_format == old


@pytest.mark.parametrize("fmt,act,pad,s,d", [
    ("channels_last", "relu", "same", (2, 1), (1, 1)),
    ("channels_first", "tanh", "valid", (1, 1), (1, 2)),
    ("channels_last", "linear", "valid", (1, 1), (1, 1))])
def test_conv2d_tape_gradients_match_reference_backward(fmt, act, pad, s, d):
    rng = _rng()
    shape = (2, 6, 7, 3) if fmt == "channels_last" else (2, 3, 6, 7)
    x = K.variable(rng.standard_normal(shape).astype(np.float32))
    W = K.variable(rng.standard_normal((3, 2, 3, 4)).astype(np.float32) * 0.3)
    b = K.variable(rng.standard_normal(4).astype(np.float32))
    with K.GradientTape() as tape:
        y = K.conv_ops.conv2d_bias_act(x, W, b, s, pad, fmt, d, act)
    dy = rng.standard_normal(y.value.shape).astype(np.float32)
    got = tape.gradient(y, [x, W, b], output_gradient=dy)
    want = ref.conv2d_backward(dy, x.value, W.value, y.value, s, pad, d, fmt, act)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("pad,s,d", [("valid", (1, 1), (1, 1)), ("same", (2, 2), (1, 1)),
                                     ("same", (1, 1), (2, 1))])
def test_conv2d_float64_gradients_match_finite_differences(fmt, pad, s, d):
    shape = (2, 4, 5, 2) if fmt == "channels_last" else (2, 2, 4, 5)
    check_op(lambda x, w: K.conv2d(x, w, s, pad, fmt, d), shape, (2, 2, 2, 3))
    check_op(lambda x, w, b: K.conv_ops.conv2d_bias_act(x, w, b, s, pad, fmt, d, "tanh"),
             shape, (3, 2, 2, 2), (2,))


@pytest.mark.parametrize("pad", ["valid", "same", "causal"])
@pytest.mark.parametrize("s,d", [(1, 1), (2, 1), (1, 2)])
def test_conv1d_matches_2d_reference_and_gradients(pad, s, d):
    rng = _rng()
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    layer = layers.Conv1D(4, 3, strides=s, padding=pad, dilation_rate=d,
                          bias_initializer="ones")
    y = layer(x)
    assert layer.compute_output_shape((2, 9, 3)) == y.shape
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 4)
    W, b = layer.get_weights()
    if pad == "causal":  # everything before: left-pad then 'valid'
        xr = np.pad(x, ((0, 0), (2 * d, 0), (0, 0)))
        want = ref.conv2d_forward(xr[:, None], W[None], b, (1, s), "valid", (1, d))[:, 0]
    else:
        want = ref.conv2d_forward(x[:, None], W[None], b, (1, s), pad, (1, d))[:, 0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    check_op(lambda x, w: K.conv1d(x, w, s, pad, "channels_last", d), (2, 7, 2), (3, 2, 2))


def test_conv1d_channels_first_agrees():
    rng = _rng()
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    last = layers.Conv1D(2, 3, padding="same")
    first = layers.Conv1D(2, 3, padding="same", data_format="channels_first")
    y = last(x)
    first.build((None, 3, 8))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(np.ascontiguousarray(x.transpose(0, 2, 1))),
                               y.transpose(0, 2, 1), rtol=1e-5, atol=1e-6)


def test_conv_weight_layout_and_config():
    layer = layers.Conv2D(5, (3, 2), strides=(2, 1), padding="same",
                          data_format="channels_last", activation="relu", use_bias=True)
    layer.build((None, 8, 8, 3))
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 3, 5), (5,)]
    config = layer.get_config()
    for key, value in {"filters": 5, "kernel_size": (3, 2), "strides": (2, 1),
                       "padding": "same", "data_format": "channels_last",
                       "dilation_rate": (1, 1), "activation": "relu",
                       "use_bias": True}.items():
        assert config[key] == value
    assert layers.Conv2D.from_config(config).get_config() == config
    c1 = layers.Conv1D(2, 4, padding="causal").get_config()
    assert (c1["kernel_size"], c1["strides"], c1["dilation_rate"]) == ((4,), (1,), (1,))
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution1D is layers.Conv1D


@pytest.mark.parametrize("make,match", [
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(-2, 3), "filters"),
    (lambda: layers.Conv2D(2, 3, strides=0), "strides"),
    (lambda: layers.Conv2D(2, (3, 3), strides=(1, -1)), "strides"),
    (lambda: layers.Conv2D(2, 0), "kernel_size"),
    (lambda: layers.Conv2D(2, 3, data_format="NHWC"), "data_format"),
    (lambda: layers.Conv2D(2, 3, padding="full"), "padding"),
    (lambda: layers.Conv2D(2, 3, padding="causal"), "padding"),
    (lambda: layers.Conv2D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.Conv1D(2, 3, padding="causal", data_format="channels_first"),
     "causal"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), "padding"),
    (lambda: layers.ZeroPadding2D(-1), "padding"),
    (lambda: layers.UpSampling2D(interpolation="bilinear"), "interpolation"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="ndim|rank"):
        layers.Conv2D(2, 3)(layers.Input(shape=(5, 3)))
    with pytest.raises(ValueError, match="larger than"):
        layers.Conv2D(2, 5)(layers.Input(shape=(4, 8, 1)))
    with pytest.raises(ValueError, match="larger than"):
        layers.Conv2D(2, 3)(np.zeros((1, 2, 6, 1), np.float32))
    with pytest.raises(ValueError, match="channel"):
        layers.Conv2D(2, 3).build((None, 5, 5, None))
    with pytest.raises(ValueError, match="removes every cell"):
        layers.Cropping2D(2)(layers.Input(shape=(4, 6, 1)))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_padding_cropping_upsampling_values_and_gradients(fmt):
    rng = _rng()
    shape = (2, 3, 4, 2) if fmt == "channels_last" else (2, 2, 3, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    sp = (1, 2) if fmt == "channels_last" else (2, 3)

    def pads(p):
        out = [(0, 0)] * 4
        out[sp[0]], out[sp[1]] = p
        return out
    y = layers.ZeroPadding2D(((1, 0), (2, 3)), data_format=fmt)(x)
    np.testing.assert_array_equal(y, np.pad(x, pads(((1, 0), (2, 3)))))
    y = layers.Cropping2D(((1, 0), (1, 2)), data_format=fmt)(x)
    crop = [slice(None)] * 4
    crop[sp[0]], crop[sp[1]] = slice(1, 3), slice(1, 2)
    np.testing.assert_array_equal(y, x[tuple(crop)])
    y = layers.UpSampling2D((2, 3), data_format=fmt)(x)
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, sp[0]), 3, sp[1]))
    check_op(lambda v: K.spatial_2d_padding(v, ((1, 0), (2, 1)), fmt), shape)
    check_op(lambda v: K.cropping_2d(v, ((1, 0), (0, 2)), fmt), shape)
    check_op(lambda v: K.resize_images(v, 2, 3, fmt), shape)


def test_small_cnn_trains_with_fit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 1)).astype(np.float32)
    # label: is the bright blob in the left or the right half
    y = (x[:, :, 4:, 0].sum(axis=(1, 2)) > x[:, :, :4, 0].sum(axis=(1, 2))).astype(np.float32)
    K.set_random_seed(0)
    model = Sequential([
        layers.Conv2D(4, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(),
        layers.Conv2D(4, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(Adam(lr=0.01), "binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
    assert hist.history["acc"][-1] > 0.85
