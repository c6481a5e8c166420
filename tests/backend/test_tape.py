"""The tape: records only while open, returns None for unconnected
sources, accumulates through reuse, keeps float32 and variables in place."""
import numpy as np
import pytest

from ckeras import backend as K


def test_no_tape_means_plain_arrays():
    x = np.ones((2, 3), np.float32)
    y = K.exp(K.square(x) * 2)
    assert type(y) is np.ndarray and y.dtype == np.float32


def test_tape_returns_tensors_and_gradients():
    v = K.variable([[1.0, 2.0], [3.0, 4.0]])
    assert v.value.dtype == np.float32 and v.value.flags.c_contiguous
    with K.GradientTape() as tape:
        y = K.sum(v * v + v)
    assert isinstance(y, K.Tensor)
    g = tape.gradient(y, [v])[0]
    np.testing.assert_allclose(g, 2 * v.value + 1)
    assert g.dtype == np.float32


def test_reused_tensor_accumulates_and_unconnected_is_none():
    a, b = K.variable([1.0, 2.0]), K.variable([5.0])
    with K.GradientTape(persistent=True) as tape:
        y = K.sum(a * a * a)
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(ga, 3 * a.value ** 2)
    assert gb is None
    assert tape.gradient(y, b, unconnected_gradients="zero").tolist() == [0.0]


def test_non_persistent_tape_used_twice_raises():
    a = K.variable([1.0])
    with K.GradientTape() as tape:
        y = K.sum(a * 2)
    tape.gradient(y, [a])
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, [a])


def test_target_not_on_tape_raises():
    with K.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match="not computed on this tape"):
        tape.gradient(np.ones(3), [K.variable([1.0])])


def test_numpy_on_the_left_defers_to_tensor_operators():
    v = K.variable([1.0, 2.0])
    with K.GradientTape() as tape:
        y = K.sum(np.array([3.0, 4.0], np.float32) * v)
    np.testing.assert_allclose(tape.gradient(y, v), [3.0, 4.0])


def test_set_value_keeps_the_buffer():
    v = K.variable(np.zeros((2, 2)))
    buf = v.value
    K.set_value(v, np.ones((2, 2)))
    assert v.value is buf and K.get_value(v).sum() == 4
    with pytest.raises(ValueError, match="shape"):
        K.set_value(v, np.ones(3))


def test_variables_and_helpers():
    assert K.backend() == "ckeras" and K.floatx() == "float32"
    assert K.epsilon() == 1e-7
    assert K.int_shape(K.ones((2, 3))) == (2, 3)
    assert K.eval(K.zeros((2,))).tolist() == [0.0, 0.0]
    assert K.count_params(K.ones((3, 4))) == 12
    assert K.int_shape(K.placeholder(shape=(None, 4))) == (None, 4)
