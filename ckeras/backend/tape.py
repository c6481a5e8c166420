"""The gradient tape: records ops on concrete tensors, then differentiates.

Usage (the training loop of issue 4, and custom code)::

    with K.GradientTape() as tape:
        y_pred = model_forward(x)              # ops record here
        loss = K.mean(K.square(y_pred - y_true))
    grads = tape.gradient(loss, model.trainable_weights)

Only while a tape is open do ops wrap results in Tensors and remember
their backward functions; otherwise they return plain ndarrays and record
nothing (the inference fast path). Every op's backward sits beside its
forward in the ops modules: ``backward(dy)`` returns one gradient (or
None) per input.
"""
import numpy as np

from ckeras.backend.row_slices import RowSlices
from ckeras.backend.tensor import Tensor

# tapes currently recording, innermost last (module-level list: ops test it)
recording = []


class GradientTape:
    """Records ops while open; ``gradient`` walks them in reverse.

    Args:
        persistent: allow several ``gradient`` calls (default one).
    """

    def __init__(self, persistent=False):
        self.persistent = persistent
        self._entries = []
        self._used = False

    def __enter__(self):
        recording.append(self)
        return self

    def __exit__(self, *exc):
        if self in recording:
            recording.remove(self)
        return False

    def watch(self, tensor):
        """Variables and recorded tensors are watched already; kept for
        TensorFlow-style code."""
        return tensor

    def record(self, out, inputs, backward):
        self._entries.append((out, inputs, backward))

    def gradient(self, target, sources, output_gradient=None,
                 unconnected_gradients="none", row_slices=False):
        """Gradients of sum(target) (or of sum(output_gradient * target))
        with respect to each source (a Tensor/Variable or list of them).

        Returns a list (or a single array for a single source); a source
        the target does not depend on gets None, or zeros when
        ``unconnected_gradients='zero'``. With ``row_slices=True`` (the
        training step's optimizer), a table read only by embedding lookups
        gets a RowSlices (row_slices.py) instead of its dense array.
        """
        if self._used and not self.persistent:
            raise RuntimeError("this GradientTape was already used; make it "
                               "with persistent=True to call gradient twice")
        self._used = True
        single = isinstance(sources, Tensor)
        srcs = [sources] if single else list(sources)
        if not isinstance(target, Tensor):
            raise ValueError(
                "the target of gradient() was not computed on this tape (got "
                f"{type(target).__name__}); compute it inside `with tape:` "
                "from Variables or Tensors")
        seed = (np.ones_like(target.value) if output_gradient is None
                else np.asarray(getattr(output_gradient, "value", output_gradient)))
        grads = {id(target): seed}
        keep = {id(s) for s in srcs}
        for out, inputs, backward in reversed(self._entries):
            key = id(out)
            g = grads.get(key) if key in keep else grads.pop(key, None)
            if g is None:
                continue
            if type(g) is RowSlices:  # a computed table: its op wants an array
                g = g.dense()
            for x, gx in zip(inputs, backward(g)):
                if gx is None or not isinstance(x, Tensor):
                    continue
                k = id(x)
                prev = grads.get(k)
                grads[k] = gx if prev is None else prev + gx
        result = []
        for s in srcs:
            g = grads.get(id(s))
            if type(g) is RowSlices and not row_slices:
                g = g.dense()
            if g is not None and g.shape != s.value.shape:
                g = np.broadcast_to(g, s.value.shape).copy()
            if g is None and unconnected_gradients == "zero":
                g = np.zeros_like(s.value)
            result.append(g)
        if not self.persistent:
            self._entries = []
        return result[0] if single else result


class stop_recording:
    """Context manager: ops inside record on no tape."""

    def __enter__(self):
        self._saved = recording[:]
        del recording[:]

    def __exit__(self, *exc):
        recording[:] = self._saved
        return False
