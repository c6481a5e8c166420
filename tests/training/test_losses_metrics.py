"""Losses and metrics against numpy references of Keras 2's math."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import losses, metrics

E = 1e-7
rng = np.random.default_rng(0)
T = rng.random((6, 4)).astype(np.float32)
P = (rng.random((6, 4)) * 0.98 + 0.01).astype(np.float32)
ONEHOT = np.eye(4, dtype=np.float32)[[0, 3, 1, 1, 2, 0]]
SIGN = np.where(rng.random((6, 4)) > 0.5, 1, -1).astype(np.float32)


def _cce(t, p):
    p = p / p.sum(-1, keepdims=True)
    return -(t * np.log(np.clip(p, E, 1 - E))).sum(-1)


def _logcosh(x):
    return np.log(np.cosh(x))


REFS = {
    "mean_squared_error": lambda t, p: ((p - t) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(p - t).mean(-1),
    "mean_absolute_percentage_error":
        lambda t, p: 100 * (np.abs(t - p) / np.clip(np.abs(t), E, None)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: (
        (np.log(np.clip(p, E, None) + 1) - np.log(np.clip(t, E, None) + 1)) ** 2).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
    "logcosh": lambda t, p: _logcosh(p - t).mean(-1),
    "categorical_crossentropy": _cce,
    "binary_crossentropy": lambda t, p: -(
        t * np.log(np.clip(p, E, 1 - E)) + (1 - t) * np.log(1 - np.clip(p, E, 1 - E))).mean(-1),
    "kullback_leibler_divergence": lambda t, p: (
        np.clip(t, E, 1) * np.log(np.clip(t, E, 1) / np.clip(p, E, 1))).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + E)).mean(-1),
    "cosine_proximity": lambda t, p: -(
        (t / np.linalg.norm(t, axis=-1, keepdims=True)) *
        (p / np.linalg.norm(p, axis=-1, keepdims=True))).sum(-1),
}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
           "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "kld": "kullback_leibler_divergence", "cosine": "cosine_proximity"}


@pytest.mark.parametrize("name", sorted(REFS))
def test_loss_matches_numpy(name):
    t = SIGN if "hinge" in name else (ONEHOT if name == "categorical_crossentropy" else T)
    got = np.asarray(losses.get(name)(t, P))
    np.testing.assert_allclose(got, REFS[name](t.astype(np.float64), P.astype(np.float64)),
                               rtol=2e-5, atol=1e-6)
    got_metric = np.asarray(metrics.get(name)(t, P))
    np.testing.assert_allclose(got_metric, got)


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()))
def test_aliases(alias, name):
    assert losses.get(alias) is losses.get(name)
    assert losses.get(alias.upper() if alias != "cosine" else alias) is losses.get(name)


def test_sparse_categorical_crossentropy():
    labels = np.array([[0], [3], [1], [1], [2], [0]], np.float32)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(labels, P),
                               _cce(ONEHOT, P), rtol=1e-5)


@pytest.mark.parametrize("name", ["mse", "mae", "logcosh", "categorical_crossentropy",
                                  "binary_crossentropy", "poisson", "hinge"])
def test_losses_differentiate_through_the_tape(name):
    t = (ONEHOT if name == "categorical_crossentropy" else
         SIGN if name == "hinge" else T).astype(np.float64)
    p0 = P.astype(np.float64)
    fn = losses.get(name)
    v = K.variable(p0, dtype="float64")
    with K.GradientTape() as tape:
        total = K.sum(fn(t, v))
    g = tape.gradient(total, v)
    num = np.zeros_like(p0)
    h = 1e-6
    for idx in np.ndindex(p0.shape):
        a, b = p0.copy(), p0.copy()
        a[idx] += h
        b[idx] -= h
        num[idx] = (np.sum(fn(t, a)) - np.sum(fn(t, b))) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-6)


def test_accuracy_metrics():
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]], np.float32)
    onehot = np.eye(3, dtype=np.float32)[[1, 1, 2]]
    np.testing.assert_array_equal(metrics.categorical_accuracy(onehot, y_pred), [1, 0, 1])
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(np.array([[1], [1], [2]], np.float32), y_pred),
        [1, 0, 1])
    np.testing.assert_array_equal(
        metrics.binary_accuracy(np.array([[1, 0], [0, 0]], np.float32),
                                np.array([[0.6, 0.4], [0.7, 0.1]], np.float32)), [1, 0.5])
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(onehot, y_pred, k=2),
                                  [1, 1, 1])
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(onehot, y_pred, k=1),
                                  [1, 0, 1])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(np.array([[1], [2], [0]], np.float32),
                                                  y_pred, k=2), [1, 0, 0])


@pytest.mark.parametrize("fn", [metrics.binary_accuracy, metrics.categorical_accuracy,
                                metrics.sparse_categorical_accuracy])
def test_accuracy_on_arrays_equals_the_backend_ops(fn):
    # the training loop passes plain arrays (numpy fast path); symbolic
    # and tape code passes tensors (backend ops): same values, same dtype
    rng = np.random.default_rng(5)
    y_pred = rng.random((64, 7), dtype=np.float32)
    if fn is metrics.sparse_categorical_accuracy:
        y_true = rng.integers(0, 7, (64, 1)).astype(np.float32)
    elif fn is metrics.categorical_accuracy:
        y_true = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 64)]
        y_true[:10] = np.eye(7, dtype=np.float32)[np.argmax(y_pred[:10], -1)]
    else:
        y_true = (rng.random((64, 7)) > 0.5).astype(np.float32)
    fast = fn(y_true, y_pred)
    with K.GradientTape():
        slow = fn(K.constant(y_true), K.constant(y_pred))
    slow = np.asarray(getattr(slow, "value", slow))
    assert type(fast) is np.ndarray and fast.dtype == slow.dtype
    np.testing.assert_array_equal(fast, slow)
    assert 0 < fast.mean() < 1


def test_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match="Unknown loss function: 'msee'.*mean_squared_error"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Unknown metric function: 'acuracy'.*accuracy"):
        metrics.get("acuracy")
