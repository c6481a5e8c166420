"""Conv2DTranspose and K.conv2d_transpose: tape gradients against finite
differences, output shapes against Keras 2's deconv_length and real
outputs, Keras 2 configs, clear errors, torch, and an upsampling
autoencoder that learns."""
import itertools

import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Sequential
from ckeras.optimizers import Adam
from ckeras.utils import conv_utils
from tests.backend.test_ops_grad import check_op

OPS = {
    "valid": (lambda x, w: K.conv2d_transpose(x, w), (2, 3, 2, 2), (2, 3, 3, 2)),
    "same_strided": (lambda x, w: K.conv2d_transpose(x, w, None, (2, 2), "same"),
                     (1, 2, 3, 2), (3, 3, 2, 2)),
    "output_shape_cf": (lambda x, w: K.conv2d_transpose(
        x, w, (None, 2, 6, 5), (2, 2), "valid", "channels_first"),
        (1, 3, 2, 2), (3, 2, 2, 3)),
    "dilated": (lambda x, w: K.conv2d_transpose(x, w, dilation_rate=(1, 2)),
                (1, 3, 3, 2), (2, 2, 2, 2)),
    "bias_tanh": (lambda x, w, b: K.conv2d_transpose_bias_act(
        x, w, b, None, 2, "same", activation="tanh"), (2, 2, 2, 2), (3, 3, 3, 2), (3,)),
    "bias_softmax_cf": (lambda x, w, b: K.conv2d_transpose_bias_act(
        x, w, b, (4, 5), 2, "same", "channels_first", activation="softmax"),
        (1, 2, 2, 3), (2, 2, 2, 2), (2,)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradient_matches_finite_differences(name):
    fn, *shapes = OPS[name]
    check_op(fn, *shapes)


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_kernel_path_matches_float64_twin(name):
    fn, *shapes = OPS[name]
    rng = np.random.default_rng(1)
    values = [rng.standard_normal(s) for s in shapes]
    results = []
    for dtype in (np.float32, np.float64):
        vs = [K.variable(v, dtype=dtype) for v in values]
        with K.GradientTape() as tape:
            y = fn(*vs)
        dy = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
        assert y.dtype == dtype
        results.append([y.value] + tape.gradient(y, vs, output_gradient=dy))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_keras2_deconv_length_numbers():
    # Keras 2.2.4's conv_utils.deconv_length
    assert conv_utils.deconv_length(7, 2, 3, "valid", None) == 15
    assert conv_utils.deconv_length(7, 2, 3, "same", None) == 14
    assert conv_utils.deconv_length(7, 3, 2, "valid", None) == 21
    assert conv_utils.deconv_length(7, 2, 3, "valid", 1) == 16
    assert conv_utils.deconv_length(7, 2, 3, "same", 1) == 14
    assert conv_utils.deconv_length(7, 2, 3, "same", 0) == 13
    assert conv_utils.deconv_length(7, 1, 3, "valid", None, dilation=2) == 11
    assert conv_utils.deconv_length(7, 2, 3, "full", None) == 11
    assert conv_utils.deconv_length(None, 2, 3, "same", 1) is None
    layer = layers.Conv2DTranspose(8, 3, strides=2)
    assert layer.compute_output_shape((None, 7, 5, 1)) == (None, 15, 11, 8)
    assert layers.Conv2DTranspose(8, 3, strides=2, padding="same").compute_output_shape(
        (4, None, 5, 1)) == (4, None, 10, 8)
    assert layers.Conv2DTranspose(8, (3, 4), strides=(2, 3), output_padding=(1, 2),
                                  data_format="channels_first").compute_output_shape(
        (None, 2, 7, None)) == (None, 8, 16, None)


def _cases():
    for k, s, d, pad, op in itertools.product((1, 2, 3), (1, 2, 3), (1, 2),
                                              ("valid", "same"), (None, 0, 1, 2)):
        if (s > 1 and d > 1) or (op is not None and op >= s):
            continue
        if op is not None and pad == "same" and k % 2 == 0 and op == 0:
            continue  # no Conv2D maps that size back: refused (below)
        yield k, s, d, pad, op


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_output_shapes_match_outputs(data_format):
    rng = np.random.default_rng(0)
    for k, s, d, pad, op in _cases():
        shape = (2, 3, 4, 2) if data_format == "channels_last" else (2, 2, 3, 4)
        layer = layers.Conv2DTranspose(3, (k, 3), strides=(s, 1), padding=pad,
                                       output_padding=None if op is None else (op, 0),
                                       dilation_rate=(d, 1), data_format=data_format)
        want = layer.compute_output_shape(shape)
        got = layer(rng.standard_normal(shape).astype(np.float32)).shape
        assert tuple(got) == want, (k, s, d, pad, op)
        channel = 3 if data_format == "channels_last" else 1
        free = tuple(n if i == channel else None for i, n in enumerate(shape))
        assert layer.compute_output_shape(free) == tuple(
            3 if i == channel else None for i in range(4))


def test_is_conv2d_read_backwards():
    # <Conv2D(u), x> == <u, Conv2DTranspose(x)> with the same kernel
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    t = layers.Conv2DTranspose(2, 3, strides=2, padding="same", use_bias=False)
    y = np.asarray(t(x))
    c = layers.Conv2D(3, 3, strides=2, padding="same", use_bias=False)
    c.build((None,) + y.shape[1:])
    c.set_weights(t.get_weights())
    u = rng.standard_normal(y.shape).astype(np.float32)
    lhs = np.sum(np.asarray(c(u), np.float64) * x)
    assert abs(lhs - np.sum(u.astype(np.float64) * y)) < 1e-3


def test_config_is_keras2_and_keras224_config_loads():
    cfg = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, name="t").get_config()
    assert cfg["output_padding"] == (1, 1) and cfg["kernel_size"] == (3, 3)
    assert cfg["dilation_rate"] == (1, 1) and "rank" not in cfg
    assert layers.Conv2DTranspose(4, 3).get_config()["output_padding"] is None
    assert layers.Deconvolution2D is layers.Conv2DTranspose
    # as Keras 2.2.4 writes it (JSON lists)
    config = {"name": "conv2d_transpose_1", "trainable": True, "filters": 2,
              "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
              "data_format": "channels_last", "dilation_rate": [1, 1],
              "activation": "relu", "use_bias": True,
              "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                  "scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                  "seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}},
              "kernel_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None, "output_padding": None}
    layer = layers.Conv2DTranspose.from_config(config)
    assert layer(np.ones((1, 3, 4, 5), np.float32)).shape == (1, 6, 8, 2)
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 5), (2,)]


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2DTranspose(0, 3), "filters"),
    (lambda: layers.Conv2DTranspose(2, 3, padding="causal"), "padding"),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: layers.Conv2DTranspose(2, 3, output_padding=-1), "output_padding"),
    (lambda: layers.Conv2DTranspose(2, 3, output_padding=(1, 1, 1)), "output_padding"),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="ndim=4|rank 4"):
        layers.Conv2DTranspose(2, 3)(layers.Input(shape=(8, 3)))
    with pytest.raises(ValueError, match="channel dimension"):
        layers.Conv2DTranspose(2, 3)(layers.Input(shape=(8, 8, None)))
    # 'same', even kernel, output_padding 0: no Conv2D maps the size back
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 2, strides=2, padding="same", output_padding=0)(
            layers.Input(shape=(3, 3, 1)))
    layer = layers.Conv2DTranspose(2, 3)
    layer(layers.Input(shape=(4, 4, 3)))
    with pytest.raises(ValueError, match="axis -1"):
        layer(layers.Input(shape=(4, 4, 2)))


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_layer_matches_torch_conv_transpose2d():
    # odd kernel, 'valid', stride 2, output_padding 1: torch's padding=0,
    # output_padding=1 is the same op
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    layer = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1,
                                   data_format="channels_first", bias_initializer="ones")
    y = np.asarray(layer(x))
    W, b = layer.get_weights()
    ty = F.conv_transpose2d(torch.tensor(x), torch.tensor(W.transpose(3, 2, 0, 1).copy()),
                            torch.tensor(b), stride=2, output_padding=1)
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-5, atol=1e-5)


def test_upsampling_autoencoder_loss_falls():
    rng = np.random.default_rng(0)
    K.set_random_seed(0)
    x = rng.standard_normal((32, 8, 8, 1)).astype(np.float32)
    x = (x + np.roll(x, 1, axis=1) + np.roll(x, 1, axis=2)) / 3  # some structure
    model = Sequential([
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu",
                      input_shape=(8, 8, 1)),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, padding="same"),
    ])
    assert model.output_shape == (None, 8, 8, 1)
    model.compile(Adam(lr=0.01), "mse")
    loss = model.fit(x, x, batch_size=8, epochs=15, verbose=0).history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss
