"""Pooling layers and K.pool2d/pool1d: shapes, values against
ckeras/reference/pool.py, tape gradients (reference backward in float32,
finite differences in float64), data formats, configs, errors."""
import itertools

import numpy as np
import pytest

from ckeras import backend as K
from ckeras import layers
from ckeras.reference import pool as ref
from tests.backend.test_ops_grad import check_op

LAYER = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}
REF = {"max": ref.max_pool2d_forward, "avg": ref.avg_pool2d_forward}


@pytest.mark.parametrize("mode,p,s,pad,fmt", list(itertools.product(
    ["max", "avg"], [(2, 2), (3, 2), (1, 1)], [None, (1, 1), (2, 3)], ["valid", "same"],
    ["channels_last", "channels_first"])))
def test_pool2d_shapes_and_values_match_reference(mode, p, s, pad, fmt):
    rng = np.random.default_rng(0)
    shape = (2, 7, 6, 3) if fmt == "channels_last" else (2, 3, 7, 6)
    x = rng.standard_normal(shape).astype(np.float32)
    layer = LAYER[mode](p, s, pad, fmt)
    y = layer(x)
    assert layer.compute_output_shape(shape) == y.shape
    none = (None, None, None, 3) if fmt == "channels_last" else (None, 3, None, None)
    assert layer.compute_output_shape(none) == none
    np.testing.assert_allclose(y, REF[mode](x, p, s, pad, fmt), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_pool2d_gradients(mode, fmt):
    rng = np.random.default_rng(0)
    shape = (2, 5, 6, 3) if fmt == "channels_last" else (2, 3, 5, 6)
    x = K.variable(rng.standard_normal(shape).astype(np.float32))
    with K.GradientTape() as tape:
        y = K.pool2d(x, (3, 2), (2, 2), "same", fmt, mode)
    dy = rng.standard_normal(y.value.shape).astype(np.float32)
    got = tape.gradient(y, x, output_gradient=dy)
    if mode == "max":
        want = ref.max_pool2d_backward(dy, x.value, (3, 2), (2, 2), "same", fmt)
    else:
        want = ref.avg_pool2d_backward(dy, shape, (3, 2), (2, 2), "same", fmt)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # float64: finite differences (distinct values keep max differentiable)
    check_op(lambda v: K.pool2d(v, (2, 2), (1, 2), "same", fmt, mode), shape)
    check_op(lambda v: K.pool1d(v, 3, 2, "same", "channels_last", mode), (2, 7, 3))


def test_pool_formats_agree_up_to_transposition():
    x = np.random.default_rng(1).standard_normal((2, 6, 5, 3)).astype(np.float32)
    for cls in (layers.MaxPooling2D, layers.AveragePooling2D):
        a = cls(3, 2, "same", "channels_last")(x)
        b = cls(3, 2, "same", "channels_first")(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        np.testing.assert_allclose(b.transpose(0, 2, 3, 1), a, rtol=1e-6)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("pad", ["valid", "same"])
def test_pool1d_matches_2d(mode, pad):
    x = np.random.default_rng(2).standard_normal((2, 9, 3)).astype(np.float32)
    cls = layers.MaxPooling1D if mode == "max" else layers.AveragePooling1D
    layer = cls(3, 2, pad)
    y = layer(x)
    assert layer.compute_output_shape((2, 9, 3)) == y.shape
    np.testing.assert_allclose(y, REF[mode](x[:, None], (1, 3), (1, 2), pad)[:, 0],
                               rtol=1e-6, atol=1e-6)
    cf = cls(3, 2, pad, data_format="channels_first")
    np.testing.assert_allclose(cf(np.ascontiguousarray(x.transpose(0, 2, 1))),
                               y.transpose(0, 2, 1), rtol=1e-6)


def test_global_pooling_values():
    x = np.random.default_rng(3).standard_normal((2, 4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D()(x), x.max(axis=(1, 2)))
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)),
                               rtol=1e-6)
    np.testing.assert_allclose(
        layers.GlobalMaxPooling2D(data_format="channels_first")(x), x.max(axis=(2, 3)))
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(x[:, 0]), x[:, 0].max(axis=1))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x[:, 0]),
                               x[:, 0].mean(axis=1), rtol=1e-6)
    assert layers.GlobalAveragePooling2D().compute_output_shape((None, None, None, 3)) == (
        None, 3)


def test_pool_config_and_aliases():
    layer = layers.MaxPooling2D((3, 3), padding="same", data_format="channels_last")
    config = layer.get_config()
    assert (config["pool_size"], config["strides"], config["padding"],
            config["data_format"]) == ((3, 3), (3, 3), "same", "channels_last")
    assert layers.MaxPooling2D.from_config(config).get_config() == config
    c1 = layers.AveragePooling1D(4).get_config()
    assert (c1["pool_size"], c1["strides"]) == ((4,), (4,))
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.MaxPool1D is layers.MaxPooling1D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D


@pytest.mark.parametrize("make,match", [
    (lambda: layers.MaxPooling2D(0), "pool_size"),
    (lambda: layers.MaxPooling2D(2, strides=0), "strides"),
    (lambda: layers.MaxPooling2D(padding="causal"), "padding"),
    (lambda: layers.AveragePooling2D(data_format="NCHW"), "data_format"),
    (lambda: layers.MaxPooling1D((2, 2)), "pool_size"),
    (lambda: layers.GlobalMaxPooling2D(data_format="x"), "data_format"),
])
def test_bad_pooling_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_pooling_inputs():
    with pytest.raises(ValueError, match="ndim|rank"):
        layers.MaxPooling2D()(layers.Input(shape=(5, 3)))
    with pytest.raises(ValueError, match="larger than"):
        layers.MaxPooling2D(3)(layers.Input(shape=(2, 8, 1)))
    with pytest.raises(ValueError, match="pool_mode"):
        K.pool2d(np.zeros((1, 2, 2, 1), np.float32), (2, 2), pool_mode="sum")
