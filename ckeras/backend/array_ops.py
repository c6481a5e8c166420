"""Shape and indexing ops, each backward beside its forward."""
import numpy as np

from ckeras.backend.core import array, op, record


@op
def reshape(x, shape):
    xv = array(x)
    y = xv.reshape(tuple(shape))
    return record(y, (x,), lambda dy: (dy.reshape(xv.shape),))


@op
def transpose(x):
    xv = array(x)
    return record(xv.T, (x,), lambda dy: (dy.T,))


@op
def permute_dimensions(x, pattern):
    xv = array(x)
    pattern = tuple(pattern)
    inverse = tuple(np.argsort(pattern))
    return record(np.transpose(xv, pattern), (x,),
                  lambda dy: (np.transpose(dy, inverse),))


@op
def expand_dims(x, axis=-1):
    xv = array(x)
    return record(np.expand_dims(xv, axis), (x,), lambda dy: (dy.reshape(xv.shape),))


@op
def squeeze(x, axis):
    xv = array(x)
    return record(np.squeeze(xv, axis), (x,), lambda dy: (dy.reshape(xv.shape),))


def squeeze_axes(x, axes):
    return squeeze(x, tuple(axes))


@op
def flatten(x):
    xv = array(x)
    return record(xv.reshape(-1), (x,), lambda dy: (dy.reshape(xv.shape),))


@op
def batch_flatten(x):
    xv = array(x)
    return record(xv.reshape(xv.shape[0], -1), (x,), lambda dy: (dy.reshape(xv.shape),))


@op
def concatenate(tensors, axis=-1):
    vals = [array(t) for t in tensors]
    y = np.concatenate(vals, axis=axis)
    cuts = np.cumsum([v.shape[axis] for v in vals])[:-1]
    return record(y, tuple(tensors), lambda dy: tuple(np.split(dy, cuts, axis=axis)))


@op
def stack(tensors, axis=0):
    vals = [array(t) for t in tensors]
    y = np.stack(vals, axis=axis)
    n = len(vals)
    return record(y, tuple(tensors), lambda dy: tuple(
        np.squeeze(p, axis) for p in np.split(dy, n, axis=axis)))


@op
def repeat(x, n):
    """(batch, dim) -> (batch, n, dim), as RepeatVector."""
    xv = array(x)
    y = np.repeat(xv[:, None, :], n, axis=1)
    return record(y, (x,), lambda dy: (dy.sum(axis=1),))


@op
def repeat_elements(x, rep, axis):
    xv = array(x)
    y = np.repeat(xv, rep, axis=axis)
    shape = list(xv.shape)
    shape.insert(axis % xv.ndim + 1, rep)
    return record(y, (x,), lambda dy: (dy.reshape(shape).sum(axis=axis % xv.ndim + 1),))


@op
def tile(x, n):
    xv = array(x)
    reps = (n,) * xv.ndim if isinstance(n, int) else tuple(n)
    y = np.tile(xv, reps)

    def backward(dy):
        shape = []
        for r, s in zip(reps, xv.shape):
            shape += [r, s]
        return (dy.reshape(shape).sum(axis=tuple(range(0, 2 * xv.ndim, 2))),)
    return record(y, (x,), backward)


@op
def reverse(x, axes):
    xv = array(x)
    return record(np.flip(xv, axes), (x,), lambda dy: (np.flip(dy, axes),))


@op
def getitem(x, index):
    """x[index]; the gradient scatters back into zeros."""
    xv = array(x)
    y = xv[index]

    def backward(dy):
        dx = np.zeros_like(xv)
        np.add.at(dx, index, dy)
        return (dx,)
    return record(y, (x,), backward)


@op
def gather(reference, indices):
    rv = array(reference)
    iv = array(indices).astype(np.int64)
    y = rv[iv]

    def backward(dy):
        dr = np.zeros_like(rv)
        np.add.at(dr, iv, dy)
        return dr, None
    return record(y, (reference, indices), backward)


@op
def one_hot(indices, num_classes):
    iv = array(indices).astype(np.int64)
    return record(np.eye(num_classes, dtype=np.float32)[iv], (), None)


@op
def cast(x, dtype):
    xv = array(x)
    y = xv.astype(dtype)
    if np.dtype(dtype).kind != "f":
        return record(y, (), None)
    return record(y, (x,), lambda dy: (dy.astype(xv.dtype),))


@op
def stop_gradient(x):
    return record(array(x), (), None)


@op
def identity(x):
    return record(array(x), (x,), lambda dy: (dy,))


@op
def zeros_like(x, dtype=None):
    return np.zeros_like(array(x), dtype=dtype)


@op
def ones_like(x, dtype=None):
    return np.ones_like(array(x), dtype=dtype)


@op
def shape(x):
    return np.array(array(x).shape, dtype=np.int32)
