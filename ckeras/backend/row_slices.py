"""Row-sparse gradients: what an embedding lookup's backward gives its table.

An Embedding's batch reads a few rows of a large table, so the gradient of
the table is zero outside those rows. ``RowSlices`` keeps it as the rows'
gradients; the tape hands it on only when asked (the training step asks,
so that RMSprop updates the table without materialising a dense gradient
and without reading or writing the parameter rows the batch did not use).
Everyone else (``tape.gradient`` by default, ``K.gradients``, ops that
consume a computed table's gradient) gets ``dense()``: the array the
dense path computes, bit for bit.
"""
import numpy as np

from ckeras.backend import native


class RowSlices:
    """The gradient of a table of `shape` (V, D): values[i] adds into row
    indices[i]; a row read several times gets the sum, in index order.

    indices: int64 [n] in [0, V); values: float32 [n, D], C-contiguous.
    """
    __slots__ = ("indices", "values", "shape")
    __array_ufunc__ = None  # ndarray + RowSlices -> RowSlices.__radd__
    dtype = np.dtype(np.float32)

    def __init__(self, indices, values, shape):
        self.indices = indices
        self.values = values
        self.shape = tuple(shape)

    def dense(self):
        """The dense gradient: zeros with every value added into its row."""
        return native.get("embedding_backward")(self.values, self.indices,
                                                self.shape[0])

    # a table read twice: the tape adds the two gradients as dense arrays,
    # as it would have without row slices
    def __add__(self, other):
        return self.dense() + (other.dense() if isinstance(other, RowSlices)
                               else other)

    def __radd__(self, other):
        return other + self.dense()

    def __repr__(self):
        return (f"RowSlices({len(self.indices)} rows of a table of shape "
                f"{self.shape})")
