"""Variables, placeholders, the learning phase, and session-wide state."""
from collections import defaultdict

import numpy as np

from ckeras.backend import config
from ckeras.backend.core import value
from ckeras.backend.tensor import SymbolicTensor, Tensor, Variable

_UIDS = defaultdict(int)
_LEARNING_PHASE = SymbolicTensor((), dtype="uint8", name="keras_learning_phase")
_learning_phase_value = [None]  # set_learning_phase's fixed value, or None


def get_uid(prefix=""):
    """1, 2, 3 ... per prefix, per session (layer auto-names use it)."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def reset_uids():
    _UIDS.clear()


def clear_session():
    """Forgets layer name counters and the fixed learning phase, and empties
    the array pool's cache (ckeras.backend.memory)."""
    from ckeras.backend import memory
    reset_uids()
    _learning_phase_value[0] = None
    memory.release()


def learning_phase():
    """The learning phase: 0 (test) or 1 (train) once fixed by
    set_learning_phase, else a symbolic flag that K.function accepts as an
    input, as in Keras 2."""
    v = _learning_phase_value[0]
    return _LEARNING_PHASE if v is None else v


def learning_phase_value():
    """The learning phase as a plain int (0 unless fixed to 1)."""
    return _learning_phase_value[0] or 0


def set_learning_phase(value):
    if value not in (0, 1):
        raise ValueError(f"the learning phase must be 0 or 1, got {value!r}")
    _learning_phase_value[0] = value


def variable(value, dtype=None, name=None, constraint=None):
    """A Variable holding a copy of `value` (floatx unless dtype)."""
    v = value.value if isinstance(value, Tensor) else value
    return Variable(v, dtype=dtype or config.floatx(), name=name, constraint=constraint)


def constant(value, dtype=None, shape=None, name=None):
    arr = np.asarray(value, dtype=dtype or config.floatx())
    return np.broadcast_to(arr, shape).copy() if shape is not None else arr


def zeros(shape, dtype=None, name=None):
    return variable(np.zeros(shape), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(np.ones(shape), dtype, name)


def eye(size, dtype=None, name=None):
    return variable(np.eye(size), dtype, name)


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A symbolic input to feed through K.function."""
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder needs a shape or an ndim")
        shape = (None,) * ndim
    t = SymbolicTensor(tuple(shape), dtype=dtype or config.floatx(),
                       name=name or f"placeholder_{get_uid('placeholder')}")
    t._is_placeholder = True
    return t


def is_placeholder(x):
    return bool(getattr(x, "_is_placeholder", False))


def is_keras_tensor(x):
    return isinstance(x, SymbolicTensor) and x._keras_history is not None


def is_tensor(x):
    return isinstance(x, (Tensor, SymbolicTensor, np.ndarray))


def int_shape(x):
    """The shape as a tuple of ints (None where unknown)."""
    if isinstance(x, SymbolicTensor):
        return x._keras_shape
    return tuple(int(d) for d in np.shape(value(x)))


def ndim(x):
    s = int_shape(x)
    return None if s is None else len(s)


def dtype(x):
    if isinstance(x, SymbolicTensor):
        return x.dtype
    return str(np.asarray(value(x)).dtype)


def count_params(x):
    return int(np.prod(int_shape(x)))


def eval(x):  # noqa: A001 (Keras's name)
    """The value of a variable or concrete tensor as a numpy array."""
    if isinstance(x, SymbolicTensor):
        from ckeras.backend.function import function
        return function([], [x])([])[0]
    return np.array(value(x))


def get_value(x):
    if not isinstance(x, Variable):
        return np.asarray(value(x))
    return x.value.copy()


def set_value(x, value_):
    """Copies value_ into variable x in place (same shape), keeping its
    buffer, so references held by optimizers stay valid."""
    if not isinstance(x, Variable):
        raise TypeError(f"set_value needs a Variable, got {type(x).__name__}")
    value_ = np.asarray(value(value_))
    if value_.shape != x.value.shape:
        raise ValueError(f"cannot set variable {x.name!r} of shape {x.value.shape} "
                         f"to a value of shape {value_.shape}")
    x.value[...] = value_


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def batch_set_value(tuples):
    for x, v in tuples:
        set_value(x, v)


def update(x, new_x):
    set_value(x, new_x)
    return x


def update_add(x, increment):
    x.value += np.asarray(value(increment), dtype=x.value.dtype)
    return x


def update_sub(x, decrement):
    x.value -= np.asarray(value(decrement), dtype=x.value.dtype)
    return x
