"""Metrics (Keras 2's ``keras.metrics``): functions ``f(y_true, y_pred)``
returning one value per sample; every loss is also a metric.

``compile(metrics=['accuracy'])`` resolves 'accuracy'/'acc' to binary,
categorical or sparse categorical accuracy from the loss and the output
shape, as Keras 2 does (``ckeras.engine.training_loop``).
"""
import numpy as np

from ckeras import backend as K
from ckeras.losses import (KLD, MAE, MAPE, MSE, MSLE, binary_crossentropy,  # noqa: F401
                           categorical_crossentropy, cosine, cosine_proximity,
                           hinge, kld, kullback_leibler_divergence, logcosh, mae,
                           mape, mean_absolute_error, mean_absolute_percentage_error,
                           mean_squared_error, mean_squared_logarithmic_error, mse,
                           msle, poisson, sparse_categorical_crossentropy,
                           squared_hinge)
from ckeras.losses import _ALL as _LOSSES
from ckeras.utils.generic_utils import deserialize_loss_like


def _np(x):
    return np.asarray(getattr(x, "value", x))


def _arrays(*xs):
    """True when every argument is a plain ndarray: the training loop's
    metrics then skip the backend's op dispatch (same numbers: these
    metrics have no gradient and these numpy calls are what the ops run)."""
    return all(type(x) is np.ndarray for x in xs)


def binary_accuracy(y_true, y_pred):
    if _arrays(y_true, y_pred):
        return np.mean((y_true == np.round(y_pred)).astype(K.floatx()), axis=-1)
    return K.mean(K.cast(K.equal(y_true, K.round(y_pred)), K.floatx()), axis=-1)


def categorical_accuracy(y_true, y_pred):
    if _arrays(y_true, y_pred):
        return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(K.floatx())
    return K.cast(K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1)),
                  K.floatx())


def sparse_categorical_accuracy(y_true, y_pred):
    if _arrays(y_true, y_pred):
        return (np.max(y_true, axis=-1)
                == np.argmax(y_pred, axis=-1).astype(K.floatx())).astype(K.floatx())
    return K.cast(K.equal(K.max(y_true, axis=-1),
                          K.cast(K.argmax(y_pred, axis=-1), K.floatx())), K.floatx())


def _in_top_k(predictions, targets, k):
    """True where the target's score is among the k largest of its row
    (ties with the k-th score count as in, as TensorFlow's in_top_k)."""
    p = _np(predictions)
    t = _np(targets).astype(np.int64)
    target_score = np.take_along_axis(p, t[:, None], axis=-1)
    higher = (p > target_score).sum(axis=-1)
    return higher < k


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(y_pred, np.argmax(_np(y_true), axis=-1), k).astype(K.floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    t = _np(y_true)
    t = t.reshape(t.shape[0], -1).max(axis=-1)
    return _in_top_k(y_pred, t, k).astype(K.floatx())


_ALL = dict(_LOSSES)
_ALL.update({f.__name__: f for f in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)})


def serialize(metric):
    return metric.__name__


def deserialize(name, custom_objects=None):
    return deserialize_loss_like(name, _ALL, custom_objects, "metric function",
                                 ["accuracy", "acc"] + list(_ALL))


def get(identifier):
    """A metric function from a name or a function."""
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric function identifier: {identifier!r}")
