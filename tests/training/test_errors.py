"""Bad input gives Keras 2's checks with clear messages."""
import numpy as np
import pytest

from ckeras.layers import Dense, Input
from ckeras.models import Model, Sequential


def _model():
    m = Sequential([Dense(4, activation="relu", input_dim=3, name="dense_1"),
                    Dense(10, activation="softmax", name="dense_3")])
    return m


def test_fit_before_compile():
    with pytest.raises(RuntimeError, match="must compile your model"):
        _model().fit(np.zeros((2, 3)), np.zeros((2, 10)), verbose=0)


def test_sample_count_mismatch():
    m = _model()
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Found 100 input samples and 99 target samples"):
        m.fit(np.zeros((100, 3)), np.zeros((99, 10)), verbose=0)


def test_target_shape_mismatch_and_integer_labels_for_cce():
    m = _model()
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"expected dense_3 to have shape \(None, 10\) but "
                                         r"got array with shape \(1000, 1\)"):
        m.fit(np.zeros((1000, 3)), np.zeros((1000, 1)), verbose=0)
    m.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match="(?s)to_categorical.*sparse_categorical_crossentropy"):
        m.fit(np.zeros((1000, 3)), np.zeros((1000, 1)), verbose=0)


def test_wrong_number_of_arrays_and_unknown_dict_keys():
    a, b = Input(shape=(2,), name="a"), Input(shape=(2,), name="b")
    out = Dense(1, name="out")(Dense(2)(a))
    m = Model(inputs=[a, b], outputs=out)
    m.compile("sgd", "mse")
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="Expected to see 2 array"):
        m.fit([x], np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"Unknown entries in input dictionary: \['c'\]"):
        m.fit({"a": x, "b": x, "c": x}, np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"Unknown entries in target dictionary: \['nope'\]"):
        m.fit([x, x], {"nope": np.zeros((4, 1))}, verbose=0)
    with pytest.raises(ValueError, match="No data provided for 'b'"):
        m.fit({"a": x}, np.zeros((4, 1)), verbose=0)


def test_unknown_names_in_compile():
    m = _model()
    with pytest.raises(ValueError, match="Unknown optimizer: 'adamm'"):
        m.compile("adamm", "mse")
    with pytest.raises(ValueError, match="Unknown loss function: 'mean_sq'"):
        m.compile("sgd", "mean_sq")
    with pytest.raises(ValueError, match="Unknown metric function: 'acc2'"):
        m.compile("sgd", "mse", metrics=["acc2"])
    with pytest.raises(ValueError, match="Unknown entry in loss dictionary: 'foo'"):
        m.compile("sgd", {"foo": "mse"})
    with pytest.raises(ValueError, match="one entry per model output"):
        m.compile("sgd", ["mse", "mse"])


def test_bad_sample_weight_shape():
    m = _model()
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="sample_weight_mode"):
        m.fit(np.zeros((4, 3)), np.zeros((4, 10)), sample_weight=np.ones((4, 2)), verbose=0)
