"""DepthwiseConv2D, SeparableConv2D and their backend ops: tape gradients
against finite differences, output shapes, the two data formats, Keras 2
configs, clear errors, torch, training, and an HDF5 round trip of the new
convolution layers."""
import itertools

import h5py
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.models import Sequential, load_model
from ckeras.optimizers import Adam
from tests.backend.test_ops_grad import check_op

OPS = {
    "depthwise": (lambda x, w: K.depthwise_conv2d(x, w), (2, 4, 5, 2), (2, 3, 2, 2)),
    "depthwise_same_strided_cf": (lambda x, w: K.depthwise_conv2d(
        x, w, (2, 2), "same", "channels_first"), (1, 3, 5, 4), (3, 2, 3, 1)),
    "depthwise_dilated_bias": (lambda x, w, b: K.depthwise_conv2d_bias(
        x, w, b, padding="same", dilation_rate=(2, 1)), (1, 5, 4, 2), (2, 2, 2, 3), (6,)),
    "separable": (lambda x, d, p: K.separable_conv2d(x, d, p), (2, 4, 4, 2),
                  (3, 3, 2, 2), (1, 1, 4, 3)),
    "separable_same_cf": (lambda x, d, p: K.separable_conv2d(
        x, d, p, (2, 1), "same", "channels_first"), (1, 2, 5, 3), (2, 2, 2, 1),
        (1, 1, 2, 3)),
    "pointwise_bias_tanh": (lambda x, p, b: K.pointwise_bias_act(
        x, p, b, activation="tanh"), (2, 2, 3, 4), (1, 1, 4, 3), (3,)),
    "pointwise_bias_tanh_cf": (lambda x, p, b: K.pointwise_bias_act(
        x, p, b, "channels_first", "tanh"), (2, 4, 2, 3), (1, 1, 4, 3), (3,)),
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


@pytest.mark.parametrize("cls", ["DepthwiseConv2D", "SeparableConv2D"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_output_shapes_match_outputs(cls, data_format):
    rng = np.random.default_rng(0)
    for k, s, d, pad, dm in itertools.product((1, 2, 3), (1, 2, 3), (1, 2),
                                              ("valid", "same"), (1, 2)):
        if s > 1 and d > 1:
            continue
        shape = (2, 7, 6, 3) if data_format == "channels_last" else (2, 3, 7, 6)
        args = dict(strides=(s, 1), padding=pad, dilation_rate=(d, 1),
                    depth_multiplier=dm, data_format=data_format)
        layer = (layers.DepthwiseConv2D((k, 2), **args) if cls == "DepthwiseConv2D"
                 else layers.SeparableConv2D(4, (k, 2), **args))
        want = layer.compute_output_shape(shape)
        assert tuple(layer(rng.standard_normal(shape).astype(np.float32)).shape) == want
        channel = 3 if data_format == "channels_last" else 1
        out_channels = 3 * dm if cls == "DepthwiseConv2D" else 4
        free = tuple(n if i == channel else None for i, n in enumerate(shape))
        assert layer.compute_output_shape(free) == tuple(
            out_channels if i == channel else None for i in range(4))


def test_keras2_shape_arithmetic_and_weights():
    dw = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=3)
    assert dw.compute_output_shape((None, 9, 8, 4)) == (None, 4, 3, 12)
    dw.build((None, 9, 8, 4))
    assert [w.shape for w in dw.get_weights()] == [(3, 3, 4, 3), (12,)]
    assert [w.name for w in dw.weights][0].endswith("depthwise_kernel:0")
    sep = layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2)
    assert sep.compute_output_shape((None, 9, 8, 4)) == (None, 9, 8, 5)
    sep.build((None, 9, 8, 4))
    assert [w.shape for w in sep.get_weights()] == [(3, 3, 4, 2), (1, 1, 8, 5), (5,)]
    assert [w.name.split("/")[-1] for w in sep.weights] == [
        "depthwise_kernel:0", "pointwise_kernel:0", "bias:0"]


def test_separable_is_depthwise_then_pointwise():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    sep = layers.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu",
                                 bias_initializer="ones")
    y = sep(x)
    dwk, pwk, b = sep.get_weights()
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)
    dw.build(x.shape)
    dw.set_weights([dwk])
    pw = layers.Conv2D(4, 1, activation="relu")
    h = dw(x)
    pw.build(h.shape)
    pw.set_weights([pwk, b])
    np.testing.assert_allclose(y, pw(h), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda f: layers.DepthwiseConv2D((2, 3), padding="same", depth_multiplier=2,
                                     activation="relu", data_format=f),
    lambda f: layers.DepthwiseConv2D(3, strides=2, data_format=f),
    lambda f: layers.SeparableConv2D(3, (3, 2), dilation_rate=2, data_format=f),
    lambda f: layers.SeparableConv2D(2, 3, strides=2, padding="same", activation="tanh",
                                     depth_multiplier=3, data_format=f),
])
def test_channels_first_equals_channels_last_up_to_layout(make):
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3)).astype(np.float32)
    last, first = make("channels_last"), make("channels_first")
    y_last = last(x)
    first.build((None, 3, 7, 6))
    first.set_weights(last.get_weights())
    y_first = first(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(np.moveaxis(np.asarray(y_first), 1, -1), y_last,
                               rtol=1e-5, atol=1e-5)


def test_configs_are_keras2s_and_keras2_configs_load():
    cfg = layers.DepthwiseConv2D(3, depth_multiplier=2, name="d").get_config()
    assert "filters" not in cfg and "kernel_initializer" not in cfg
    assert cfg["depth_multiplier"] == 2 and cfg["depthwise_regularizer"] is None
    assert cfg["depthwise_initializer"]["class_name"] == "VarianceScaling"
    cfg = layers.SeparableConv2D(8, 3, name="s").get_config()
    assert cfg["filters"] == 8 and "kernel_initializer" not in cfg
    assert {"depthwise_initializer", "pointwise_initializer", "depthwise_constraint",
            "pointwise_regularizer", "dilation_rate"} <= set(cfg)
    assert layers.SeparableConvolution2D is layers.SeparableConv2D
    # Keras 2.2.4's DepthwiseConv2D config: Conv2D's keys (with dilation_rate)
    # minus filters and kernel_*, plus depth_multiplier and depthwise_*
    glorot = {"class_name": "VarianceScaling", "config": {
        "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
    common = {"trainable": True, "kernel_size": [3, 3], "strides": [1, 1],
              "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
              "activation": "relu", "use_bias": True,
              "bias_initializer": {"class_name": "Zeros", "config": {}},
              "bias_regularizer": None, "activity_regularizer": None,
              "bias_constraint": None, "depth_multiplier": 2,
              "depthwise_initializer": glorot, "depthwise_regularizer": None,
              "depthwise_constraint": None}
    dw = layers.DepthwiseConv2D.from_config({"name": "depthwise_conv2d_1", **common})
    assert dw(np.ones((1, 4, 4, 3), np.float32)).shape == (1, 4, 4, 6)
    sep = layers.SeparableConv2D.from_config({
        "name": "separable_conv2d_1", "filters": 5, **common,
        "pointwise_initializer": glorot, "pointwise_regularizer": None,
        "pointwise_constraint": None})
    assert sep(np.ones((1, 4, 4, 3), np.float32)).shape == (1, 4, 4, 5)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.DepthwiseConv2D(0), "kernel_size"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=1.5), "depth_multiplier"),
    (lambda: layers.DepthwiseConv2D(3, padding="causal"), "padding"),
    (lambda: layers.DepthwiseConv2D(3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: layers.SeparableConv2D(0, 3), "filters"),
    (lambda: layers.SeparableConv2D(2, 3, depth_multiplier=-1), "depth_multiplier"),
    (lambda: layers.SeparableConv2D(2, 3, data_format="NCHW"), "data_format"),
])
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_are_refused():
    for layer in (layers.DepthwiseConv2D(3), layers.SeparableConv2D(2, 3)):
        with pytest.raises(ValueError, match="ndim=4|rank 4"):
            layer(layers.Input(shape=(8, 3)))
    with pytest.raises(ValueError, match="channel dimension"):
        layers.DepthwiseConv2D(3)(layers.Input(shape=(8, 8, None)))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.SeparableConv2D(2, 5)(layers.Input(shape=(4, 8, 3)))


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_separable_layer_matches_torch_grouped_then_pointwise_conv():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    sep = layers.SeparableConv2D(4, (3, 2), strides=2, depth_multiplier=2,
                                 data_format="channels_first", bias_initializer="ones")
    y = np.asarray(sep(x))
    dwk, pwk, b = sep.get_weights()
    tdw = torch.tensor(dwk.transpose(2, 3, 0, 1).reshape(6, 1, 3, 2).copy())
    tpw = torch.tensor(pwk.transpose(3, 2, 0, 1).copy())
    ty = F.conv2d(F.conv2d(torch.tensor(x), tdw, stride=2, groups=3), tpw, torch.tensor(b))
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-5, atol=1e-5)


def test_mobilenet_style_model_loss_falls():
    rng = np.random.default_rng(0)
    K.set_random_seed(0)
    x = rng.standard_normal((64, 8, 8, 2)).astype(np.float32)
    y = (x[:, :4, :, 0].mean(axis=(1, 2)) > x[:, 4:, :, 1].mean(axis=(1, 2))).astype(
        np.float32)
    model = Sequential([
        layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu",
                               input_shape=(8, 8, 2)),
        layers.SeparableConv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(Adam(lr=0.01), "binary_crossentropy")
    loss = model.fit(x, y, batch_size=16, epochs=15, verbose=0).history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss


@pytest.mark.filterwarnings("ignore:No training configuration")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_save_and_load_model_round_trip(tmp_path, data_format):
    K.set_random_seed(0)
    shape = (6, 5, 2) if data_format == "channels_last" else (2, 6, 5)
    model = Sequential([
        layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1,
                               activation="relu", input_shape=shape, name="up",
                               data_format=data_format),
        layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw", data_format=data_format),
        layers.SeparableConv2D(2, 3, padding="same", activation="tanh", name="sep",
                               data_format=data_format),
    ])
    model.compile("adam", "mse")
    x = np.random.default_rng(1).standard_normal((4,) + shape).astype(np.float32)
    model.train_on_batch(x, np.zeros((4,) + model.output_shape[1:], np.float32))
    path = tmp_path / "m.h5"
    model.save(str(path))
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["model_weights/sep"].attrs["weight_names"]]
        assert names == ["sep/depthwise_kernel:0", "sep/pointwise_kernel:0", "sep/bias:0"]
        assert f["model_weights/up/up/kernel:0"].shape == (3, 3, 3, 2)
    again = load_model(str(path))
    assert [type(la).__name__ for la in again.layers] == [
        "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    # training resumes identically (optimizer state saved too)
    t = np.ones((4,) + model.output_shape[1:], np.float32)
    assert again.train_on_batch(x, t) == model.train_on_batch(x, t)
