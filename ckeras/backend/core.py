"""How a backend op is written: the machinery every op module uses.

An op computes on plain numpy arrays and hands ``record(y, inputs,
backward)`` its result: with no tape recording that is ``y`` itself (the
inference fast path: nothing wrapped, nothing kept); while a tape records
it becomes a Tensor and ``backward(dy)`` (one gradient per input) is kept.

Ops decorated with ``@op`` also accept symbolic tensors: then nothing runs
now; the result is a SymbolicTensor holding the op as a deferred node,
whose shape is inferred by running the op on two small dummy inputs (so a
dimension that follows an unknown input dimension stays None).
"""
import functools

import numpy as np

from ckeras.backend import tape as _tape
from ckeras.backend.tensor import SymbolicTensor, Tensor


def value(x):
    """The ndarray (or Python value) behind x."""
    return x.value if isinstance(x, Tensor) else x


def array(x):
    """x as an ndarray (Python scalars and lists become floatx arrays)."""
    if isinstance(x, Tensor):
        return x.value
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float)):
        return x  # Python scalars stay weakly typed (float32 * 2 is float32)
    if isinstance(x, SymbolicTensor):
        raise TypeError(f"expected a concrete value, got symbolic tensor {x.name!r}")
    arr = np.asarray(x)
    if arr.dtype == np.float64 and not isinstance(x, np.generic):
        from ckeras.backend.config import floatx
        arr = arr.astype(floatx())
    return arr


def record(y, inputs, backward):
    """Returns an op's result: y itself when no tape records, else a
    Tensor recorded (with its backward) on every open tape."""
    tapes = _tape.recording
    if not tapes:
        return y
    out = Tensor(y)
    for x in inputs:
        if isinstance(x, Tensor):
            for t in tapes:
                t.record(out, inputs, backward)
            break
    return out


def unbroadcast(g, shape):
    """Sums g over the axes along which an operand of `shape` broadcast."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _is_symbolic(a):
    if isinstance(a, SymbolicTensor):
        return True
    if type(a) in (list, tuple):
        for b in a:
            if isinstance(b, SymbolicTensor):
                return True
    return False


def op(fn):
    """Decorator: lets a concrete op also build deferred symbolic nodes."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for a in args:
            if _is_symbolic(a):
                return defer(fn, args, kwargs)
        for a in kwargs.values():
            if _is_symbolic(a):
                return defer(fn, args, kwargs)
        return fn(*args, **kwargs)
    wrapper.concrete = fn
    return wrapper


def _split(args, kwargs):
    """Symbolic parents and a function rebuilding (args, kwargs) from them."""
    parents = []
    slots = []  # (container, key-or-index path)

    def scan(v):
        if isinstance(v, SymbolicTensor):
            parents.append(v)
            return ("sym", len(parents) - 1)
        if type(v) in (list, tuple) and any(isinstance(b, SymbolicTensor) for b in v):
            return ("seq", type(v), [scan(b) for b in v])
        return ("const", v)

    slots = ([scan(a) for a in args], {k: scan(v) for k, v in kwargs.items()})

    def fill(s, vals):
        if s[0] == "sym":
            return vals[s[1]]
        if s[0] == "seq":
            return s[1](fill(b, vals) for b in s[2])
        return s[1]

    def rebuild(vals):
        return ([fill(s, vals) for s in slots[0]],
                {k: fill(s, vals) for k, s in slots[1].items()})
    return parents, rebuild


def dummy(shape, dtype, fill_none):
    shape = tuple(fill_none if d is None else d for d in shape)
    return np.ones(shape, dtype=dtype)


def infer_shape(fn, shapes, dtypes):
    """Output shape(s) and dtype(s) of fn on inputs of the given shapes
    (None = unknown), found by running fn on ones with None as 2 and as 3."""
    runs = []
    with np.errstate(all="ignore"), _tape.stop_recording():
        for fill in (2, 3):
            vals = [dummy(s, d, fill) for s, d in zip(shapes, dtypes)]
            runs.append(fn(vals))

    def merge(a, b):
        if isinstance(a, (list, tuple)):
            return [merge(x, y) for x, y in zip(a, b)]
        a, b = np.asarray(value(a)), np.asarray(value(b))
        if a.ndim != b.ndim:
            return None, str(a.dtype)
        return (tuple(None if x != y else int(x) for x, y in zip(a.shape, b.shape)),
                str(a.dtype))
    return merge(runs[0], runs[1])


def defer(fn, args, kwargs, name=None):
    """A SymbolicTensor for fn(*args, **kwargs) evaluated later."""
    parents, rebuild = _split(args, kwargs)

    def run(vals):
        a, k = rebuild(vals)
        return fn(*a, **k)
    shape, dtype = infer_shape(run, [p._keras_shape for p in parents],
                               [p.dtype for p in parents])
    out = SymbolicTensor(shape, dtype=dtype, name=name or fn.__name__,
                         op=run, parents=parents)
    out._uses_learning_phase = any(p._uses_learning_phase for p in parents)
    return out
