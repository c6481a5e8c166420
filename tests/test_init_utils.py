"""Initializers, regularizers, constraints and activations: by name, object
and config; Keras 2 defaults; module paths."""
import importlib

import numpy as np
import pytest

from ckeras import activations, constraints, initializers, regularizers


@pytest.mark.parametrize("name", [
    "zeros", "ones", "random_normal", "random_uniform", "truncated_normal",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "identity"])
def test_initializers_by_name_and_config(name):
    np.random.seed(0)
    init = initializers.get(name)
    w = init((6, 6), dtype="float32")
    assert w.shape == (6, 6) and w.dtype == np.float32
    again = initializers.get(initializers.serialize(init))
    assert type(again) is type(init) and again.get_config() == init.get_config()


def test_initializer_statistics():
    np.random.seed(1)
    w = initializers.get("glorot_uniform")((200, 300))
    limit = np.sqrt(6 / 500)
    assert w.max() <= limit and w.min() >= -limit and abs(w.std() - limit / np.sqrt(3)) < 2e-3
    q = initializers.Orthogonal()((5, 5))
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-5)
    t = initializers.TruncatedNormal(stddev=1.0, seed=3)((1000,))
    assert np.abs(t).max() <= 2.0
    assert initializers.Constant(3)((2,)).tolist() == [3, 3]
    assert (initializers.RandomUniform(seed=5)((4,)) == initializers.RandomUniform(
        seed=5)((4,))).all()


def test_regularizers():
    x = np.array([1.0, -2.0], np.float32)
    assert np.isclose(regularizers.l1(0.1)(x), 0.3)
    assert np.isclose(regularizers.l2(0.1)(x), 0.5)
    assert np.isclose(regularizers.l1_l2(0.1, 0.1)(x), 0.8)
    r = regularizers.get(regularizers.serialize(regularizers.l1_l2(0.1, 0.2)))
    assert r.get_config() == {"l1": 0.1, "l2": 0.2}
    assert regularizers.get("l2").l2 == 0.01


def test_constraints():
    w = np.array([[3.0, 0.1], [4.0, -0.2]], np.float32)
    np.testing.assert_allclose(np.linalg.norm(constraints.max_norm(2)(w)[:, 0]), 2.0,
                               rtol=1e-5)
    assert (constraints.get("non_neg")(w) >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(constraints.unit_norm()(w), axis=0), 1.0,
                               rtol=1e-5)
    mm = constraints.min_max_norm(1.0, 2.0)(w)
    norms = np.linalg.norm(mm, axis=0)
    assert (norms >= 1 - 1e-5).all() and (norms <= 2 + 1e-5).all()
    c = constraints.get(constraints.serialize(constraints.MaxNorm(3, axis=1)))
    assert c.get_config() == {"max_value": 3, "axis": 1}


@pytest.mark.parametrize("name", ["softmax", "elu", "selu", "softplus", "softsign",
                                  "relu", "tanh", "sigmoid", "hard_sigmoid", "linear"])
def test_activations_by_name(name):
    fn = activations.get(name)
    assert activations.serialize(fn) == name
    y = fn(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4))
    assert np.asarray(y).shape == (3, 4)


@pytest.mark.parametrize("path", [
    "ckeras.layers.core", "ckeras.layers.merge", "ckeras.engine.topology",
    "ckeras.engine.training", "ckeras.utils.np_utils", "ckeras.utils.generic_utils",
    "ckeras.models", "ckeras.backend"])
def test_keras2_module_paths(path):
    importlib.import_module(path)


def test_keras2_names_at_their_paths():
    from ckeras.engine.topology import Input, InputLayer, Layer, Node  # noqa: F401
    from ckeras.engine.training import Model  # noqa: F401
    from ckeras.layers.core import Dense  # noqa: F401
    from ckeras.utils.np_utils import normalize, to_categorical
    assert to_categorical([0, 2]).tolist() == [[1, 0, 0], [0, 0, 1]]
    np.testing.assert_allclose(np.linalg.norm(normalize(np.ones((2, 3))), axis=1), 1.0)
    import ckeras
    assert ckeras.layers.Dense is Dense and ckeras.backend.backend() == "ckeras"
