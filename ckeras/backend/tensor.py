"""The three kinds of tensor the backend handles.

- ``Tensor``: a concrete array produced by an op while a GradientTape
  records; it wraps a numpy array (``.value``) so the tape can see it.
  With no tape recording, ops take and return plain numpy arrays.
- ``Variable``: a Tensor whose value is a float32 C-contiguous ndarray that
  lives as long as the variable and is updated in place by optimizers.
- ``SymbolicTensor``: a tensor of a model graph (Keras's "Keras tensor"):
  a shape and dtype, no data. It carries ``_keras_shape`` and
  ``_keras_history`` (layer, node_index, tensor_index) when a layer made
  it, or a deferred op (``_op`` on ``_parents``) when a backend op did;
  ``K.function`` and models evaluate them.

Operators (+, -, *, /, **, [], comparisons) of Tensor, Variable and
SymbolicTensor are the backend ops, installed by ``ckeras.backend.ops``.
Equality is identity, as for TensorFlow 1 tensors (use ``K.equal``).
"""
import numpy as np


class Tensor:
    """A concrete array that a GradientTape can differentiate through."""

    __slots__ = ("value", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, value):
        self.value = value

    @property
    def shape(self):
        return self.value.shape

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self):
        return self.value

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __len__(self):
        return len(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"<ckeras Tensor shape={self.value.shape} dtype={self.value.dtype}>"

    __hash__ = object.__hash__


class Variable(Tensor):
    """A named, persistent tensor (a weight).

    ``value`` is a C-contiguous ndarray of the variable's dtype that keeps
    its identity for the variable's life: optimizers update it in place.
    """

    __slots__ = ("name", "trainable", "constraint", "_keras_shape")

    def __init__(self, value, dtype=None, name=None, trainable=True, constraint=None,
                 copy=True):
        """`value` is copied, unless copy=False and it is already a
        writeable C-contiguous array of `dtype` that nobody else holds
        (e.g. fresh from an initializer): then it becomes the buffer."""
        from ckeras.backend.config import floatx
        dtype = dtype or (value.dtype if isinstance(value, np.ndarray) and
                          value.dtype.kind != "f" else floatx())
        super().__init__(np.array(value, dtype=dtype, order="C", copy=True if copy else None))
        if not self.value.flags.writeable:
            self.value = self.value.copy()
        self.name = name or "variable"
        self.trainable = trainable
        self.constraint = constraint
        self._keras_shape = self.value.shape

    def assign(self, new_value):
        """Copies new_value into the variable's buffer (same shape)."""
        new_value = np.asarray(getattr(new_value, "value", new_value))
        if new_value.shape != self.value.shape:
            raise ValueError(
                f"cannot assign a value of shape {new_value.shape} to variable "
                f"{self.name!r} of shape {self.value.shape}")
        self.value[...] = new_value
        return self

    def __repr__(self):
        return (f"<ckeras Variable {self.name!r} shape={self.value.shape} "
                f"dtype={self.value.dtype}>")


class SymbolicTensor:
    """A tensor of a model graph: shape, dtype and where it comes from."""

    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, shape, dtype=None, name=None, history=None, op=None,
                 parents=()):
        from ckeras.backend.config import floatx
        self._keras_shape = tuple(shape) if shape is not None else None
        self.dtype = str(np.dtype(dtype or floatx()))
        self.name = name
        self._keras_history = history
        self._op = op
        self._parents = tuple(parents)
        self._uses_learning_phase = False

    @property
    def shape(self):
        return self._keras_shape

    @property
    def ndim(self):
        return None if self._keras_shape is None else len(self._keras_shape)

    def get_shape(self):
        return self._keras_shape

    def __repr__(self):
        return (f"<ckeras SymbolicTensor {self.name!r} shape={self._keras_shape} "
                f"dtype={self.dtype}>")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"symbolic tensor {self.name!r} (shape {self._keras_shape}) holds no "
            "data; evaluate it with K.function or a Model's predict")

    def __bool__(self):
        return True

    def __iter__(self):
        raise TypeError(f"symbolic tensor {self.name!r} is not iterable")

    __hash__ = object.__hash__
