"""Elementwise math, reductions and products, each backward beside its
forward. Inputs are ndarrays, Tensors, Variables or Python numbers; see
``core`` for how recording and symbolic deferral work."""
import numpy as np

from ckeras.backend import native
from ckeras.backend.core import array, op, record, unbroadcast, value


# ---- binary elementwise (numpy broadcasting) -------------------------------

def _binary(a, b):
    av, bv = array(a), array(b)
    return av, bv


@op
def add(a, b):
    av, bv = _binary(a, b)
    y = av + bv
    # y = a + b: both get dy, summed over broadcast axes
    return record(y, (a, b), lambda dy: (unbroadcast(dy, np.shape(av)),
                                         unbroadcast(dy, np.shape(bv))))


@op
def subtract(a, b):
    av, bv = _binary(a, b)
    y = av - bv
    return record(y, (a, b), lambda dy: (unbroadcast(dy, np.shape(av)),
                                         unbroadcast(-dy, np.shape(bv))))


@op
def multiply(a, b):
    av, bv = _binary(a, b)
    y = av * bv
    return record(y, (a, b), lambda dy: (unbroadcast(dy * bv, np.shape(av)),
                                         unbroadcast(dy * av, np.shape(bv))))


@op
def divide(a, b):
    av, bv = _binary(a, b)
    y = av / bv
    # y = a / b: da = dy / b, db = -dy * a / b^2 = -dy * y / b
    return record(y, (a, b), lambda dy: (unbroadcast(dy / bv, np.shape(av)),
                                         unbroadcast(-dy * y / bv, np.shape(bv))))


@op
def pow(x, a):  # noqa: A001 (Keras's name)
    """x ** a (a a number or a tensor)."""
    xv, av = _binary(x, a)
    y = np.power(xv, av)

    def backward(dy):
        dx = unbroadcast(dy * av * np.power(xv, av - 1), np.shape(xv))
        da = None
        if isinstance(a, type(x)) and not np.isscalar(av):
            with np.errstate(all="ignore"):
                da = unbroadcast(dy * y * np.log(np.where(xv > 0, xv, 1)), np.shape(av))
        return dx, da
    return record(y, (x, a), backward)


@op
def maximum(a, b):
    av, bv = _binary(a, b)
    y = np.maximum(av, bv)
    pick = av >= bv  # ties go to a, as TensorFlow
    return record(y, (a, b), lambda dy: (unbroadcast(dy * pick, np.shape(av)),
                                         unbroadcast(dy * ~pick, np.shape(bv))))


@op
def minimum(a, b):
    av, bv = _binary(a, b)
    y = np.minimum(av, bv)
    pick = av <= bv
    return record(y, (a, b), lambda dy: (unbroadcast(dy * pick, np.shape(av)),
                                         unbroadcast(dy * ~pick, np.shape(bv))))


def _compare(npfn):
    def compare(a, b):
        av, bv = _binary(a, b)
        return record(npfn(av, bv), (), None)  # not differentiable
    compare.__name__ = npfn.__name__
    return op(compare)


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)


# ---- unary elementwise ------------------------------------------------------

@op
def negative(x):
    return record(-array(x), (x,), lambda dy: (-dy,))


@op
def abs(x):  # noqa: A001
    xv = array(x)
    return record(np.abs(xv), (x,), lambda dy: (dy * np.sign(xv),))


@op
def square(x):
    xv = array(x)
    return record(xv * xv, (x,), lambda dy: (2 * dy * xv,))


@op
def sqrt(x):
    xv = array(x)
    y = np.sqrt(np.maximum(xv, 0))
    # y = sqrt(x): dx = dy / (2 y), 0 where y == 0 (as Keras's clipped sqrt)
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(y, (x,), lambda dy: (np.where(y > 0, dy / (2 * y), 0).astype(y.dtype),))


@op
def exp(x):
    y = np.exp(array(x))
    return record(y, (x,), lambda dy: (dy * y,))


@op
def log(x):
    xv = array(x)
    return record(np.log(xv), (x,), lambda dy: (dy / xv,))


@op
def sign(x):
    return record(np.sign(array(x)), (), None)


@op
def round(x):  # noqa: A001
    return record(np.round(array(x)), (), None)


@op
def sin(x):
    xv = array(x)
    return record(np.sin(xv), (x,), lambda dy: (dy * np.cos(xv),))


@op
def cos(x):
    xv = array(x)
    return record(np.cos(xv), (x,), lambda dy: (-dy * np.sin(xv),))


@op
def clip(x, min_value, max_value):
    """Clips x to [min_value, max_value]; the gradient passes inside."""
    xv = array(x)
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    y = np.clip(xv, min_value, max_value)
    inside = y == xv
    return record(y, (x,), lambda dy: (dy * inside,))


# ---- reductions -------------------------------------------------------------

def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = axis if isinstance(axis, (list, tuple)) else (axis,)
    return tuple(sorted(a % ndim for a in axis)) if ndim else ()


def _keep(g, axes, keepdims):
    """g reshaped so it broadcasts against the reduced input."""
    return g if keepdims else np.expand_dims(g, axes)


@op
def sum(x, axis=None, keepdims=False):  # noqa: A001
    xv = array(x)
    axes = _axes(axis, xv.ndim)
    y = np.sum(xv, axis=axes, keepdims=keepdims)
    return record(y, (x,), lambda dy: (np.broadcast_to(_keep(dy, axes, keepdims),
                                                       xv.shape).copy(),))


@op
def mean(x, axis=None, keepdims=False):
    xv = array(x)
    axes = _axes(axis, xv.ndim)
    y = np.mean(xv, axis=axes, keepdims=keepdims)
    n = 1
    for a in axes:
        n *= xv.shape[a]
    if xv.dtype.kind != "f":
        y = y.astype(np.float32)
    return record(y, (x,), lambda dy: (np.broadcast_to(_keep(dy, axes, keepdims) / n,
                                                       xv.shape).copy(),))


def _extreme(npfn):
    def reduce(x, axis=None, keepdims=False):
        xv = array(x)
        axes = _axes(axis, xv.ndim)
        y = npfn(xv, axis=axes, keepdims=keepdims)

        def backward(dy):
            # the gradient goes to the maxima, split among ties
            yk = _keep(y, axes, keepdims)
            hit = (xv == yk)
            count = hit.sum(axis=axes, keepdims=True)
            return (hit * _keep(dy, axes, keepdims) / count,)
        return record(y, (x,), backward)
    reduce.__name__ = npfn.__name__
    return op(reduce)


max = _extreme(np.max)  # noqa: A001
min = _extreme(np.min)  # noqa: A001


@op
def prod(x, axis=None, keepdims=False):
    xv = array(x)
    axes = _axes(axis, xv.ndim)
    y = np.prod(xv, axis=axes, keepdims=keepdims)
    with np.errstate(all="ignore"):
        return record(y, (x,), lambda dy: (_keep(dy * y, axes, keepdims) / xv,))


@op
def var(x, axis=None, keepdims=False):
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


@op
def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


@op
def logsumexp(x, axis=None, keepdims=False):
    m = np.max(array(x), axis=axis, keepdims=True)
    s = log(sum(exp(subtract(x, m)), axis=axis, keepdims=True))
    out = add(s, m)
    if not keepdims:
        from ckeras.backend.array_ops import squeeze_axes
        out = squeeze_axes(out, _axes(axis, np.ndim(array(x))))
    return out


@op
def any(x, axis=None, keepdims=False):  # noqa: A001
    return record(np.any(array(x), axis=axis, keepdims=keepdims), (), None)


@op
def all(x, axis=None, keepdims=False):  # noqa: A001
    return record(np.all(array(x), axis=axis, keepdims=keepdims), (), None)


@op
def argmax(x, axis=-1):
    return record(np.argmax(array(x), axis=axis), (), None)


@op
def argmin(x, axis=-1):
    return record(np.argmin(array(x), axis=axis), (), None)


@op
def cumsum(x, axis=0):
    xv = array(x)
    y = np.cumsum(xv, axis=axis)
    return record(y, (x,), lambda dy: (np.flip(np.cumsum(np.flip(dy, axis), axis), axis),))


# ---- products ---------------------------------------------------------------

def _matmul(a, b):
    """a @ b for 2-D arrays; float32 goes through the C sgemm."""
    if a.dtype == np.float32 and b.dtype == np.float32 and a.ndim == 2 and b.ndim == 2:
        return native.sgemm(np.ascontiguousarray(a), np.ascontiguousarray(b))
    return a @ b


@op
def dot(a, b):
    """Keras's K.dot: contracts a's last axis with b's second-to-last (b's
    only axis when 1-D), like numpy.dot; 2-D float32 products run on the
    C sgemm."""
    av, bv = array(a), array(b)
    if bv.ndim <= 2 and av.ndim >= 1:
        b2 = bv.reshape(-1, 1) if bv.ndim == 1 else bv
        a2 = av.reshape(-1, av.shape[-1])
        y2 = _matmul(a2, b2)
        y = y2.reshape(av.shape[:-1] + bv.shape[1:])

        def backward(dy):
            # y = a @ b: da = dy @ b^T, db = a^T @ dy
            d2 = np.ascontiguousarray(dy).reshape(y2.shape)
            da = _matmul(d2, np.ascontiguousarray(b2.T)).reshape(av.shape)
            db = _matmul(np.ascontiguousarray(a2.T), d2).reshape(bv.shape)
            return da, db
        return record(y, (a, b), backward)
    y = np.dot(av, bv)
    na, nb = av.ndim - 1, bv.ndim - 2

    def backward_nd(dy):
        # y[A.., B.., n] = sum_k a[A.., k] b[B.., k, n]
        dy_bn = tuple(range(na, na + nb)) + (dy.ndim - 1,)
        da = np.tensordot(dy, bv, axes=(dy_bn, tuple(range(nb)) + (bv.ndim - 1,)))
        db = np.moveaxis(np.tensordot(av, dy, axes=(tuple(range(na)), tuple(range(na)))), 0, -2)
        return da, db
    return record(y, (a, b), backward_nd)


@op
def batch_dot(x, y, axes=None):
    """Keras 2's batch_dot: dot over `axes` of each pair of samples."""
    xv, yv = array(x), array(y)
    if isinstance(axes, int):
        axes = (axes, axes)
    if axes is None:
        axes = (xv.ndim - 1, yv.ndim - 2 if yv.ndim > 2 else yv.ndim - 1)
    ax, ay = axes[0] % xv.ndim, axes[1] % yv.ndim
    xm = np.moveaxis(xv, ax, -1)
    ym = np.moveaxis(yv, ay, 1)
    xs, ys = xm.shape, ym.shape
    n = xs[0]
    x3 = xm.reshape(n, -1, xs[-1])
    y3 = ym.reshape(n, ys[1], -1)
    out3 = np.matmul(x3, y3)
    out = out3.reshape(xs[:-1] + ys[2:])
    squeeze = out.ndim == 1
    if squeeze:
        out = out.reshape(n, 1)

    def backward(dy):
        d3 = dy.reshape(out3.shape)
        dx3 = np.matmul(d3, np.swapaxes(y3, 1, 2))
        dy3 = np.matmul(np.swapaxes(x3, 1, 2), d3)
        dx = np.moveaxis(dx3.reshape(xs), -1, ax)
        dyy = np.moveaxis(dy3.reshape(ys), 1, ay)
        return dx, dyy
    return record(out, (x, y), backward)
