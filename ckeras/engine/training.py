"""Model: a Network that predicts (compile/fit/evaluate come in issue 4).

Inference records no tape: each batch walks the cached execution plan on
plain float32 arrays, so the only work beyond the kernels is one Python
call per layer.
"""
import numpy as np

from ckeras.backend import memory as _memory
from ckeras.backend import tape as _tape
from ckeras.engine.network import Network
from ckeras.engine.training_loop import TrainingMixin


class Model(TrainingMixin, Network):
    """The functional model (``Model(inputs=..., outputs=...)``)."""

    def _standardize_inputs(self, x):
        if type(x) is np.ndarray and len(self.inputs) == 1:
            t = self.inputs[0]
            if x.dtype == t.dtype and x.flags.c_contiguous and x.shape[1:] == \
                    t._keras_shape[1:]:
                return [x]  # the common case, checked in a few attribute reads
        return self._standardize_slow(x)

    def _standardize_slow(self, x):
        """x (array, list of arrays or dict by input name) as a list of
        arrays of each input's dtype, checked against the input shapes."""
        if not self._is_graph_network:
            raise RuntimeError(f"model {self.name} has no inputs yet: build it (add a "
                               "first layer with an input_shape, or call build())")
        names = self.input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"No data provided for input {missing[0]!r} of model "
                                 f"{self.name}. Need data for each key in: {names}")
            arrays = [x[n] for n in names]
        elif isinstance(x, (list, tuple)):
            arrays = list(x)
        else:
            arrays = [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(
                f"Error when checking model input: the list of Numpy arrays that you "
                f"are passing to your model {self.name} is not the size the model "
                f"expected. Expected to see {len(self.inputs)} array(s) for inputs "
                f"{names}, but instead got {len(arrays)} array(s).")
        out = []
        for t, name, a in zip(self.inputs, names, arrays):
            if type(a) is not np.ndarray or a.dtype != t.dtype:
                a = np.asarray(a, dtype=t.dtype)
            shape = t._keras_shape
            if a.ndim != len(shape):
                raise ValueError(
                    f"Error when checking input: expected {name} to have {len(shape)} "
                    f"dimensions, but got array with shape {a.shape}")
            for want, got in zip(shape[1:], a.shape[1:]):
                if want is not None and want != got:
                    raise ValueError(
                        f"Error when checking input: expected {name} to have shape "
                        f"{shape} but got array with shape {a.shape}")
            if not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
            out.append(a)
        n = {a.shape[0] for a in out}
        if len(n) > 1:
            raise ValueError("All input arrays (x) should have the same number of "
                             f"samples. Got array shapes: {[a.shape for a in out]}")
        return out

    def predict_on_batch(self, x):
        """Outputs for one batch (an array, or a list for several outputs)."""
        xs = self._standardize_inputs(x)
        if _tape.recording:
            with _tape.stop_recording():
                outs = self.run_inference(xs)
        else:
            outs = self.run_inference(xs)
        return outs[0] if len(outs) == 1 else outs

    @_memory.loop
    def predict(self, x, batch_size=32, verbose=0, steps=None):
        """Outputs for x, computed batch_size samples at a time."""
        if batch_size is None:
            batch_size = 32
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        xs = self._standardize_inputs(x)
        n = xs[0].shape[0]
        with _tape.stop_recording(), _memory.pooled_arrays():
            if n <= batch_size:
                outs = [[np.asarray(o)] for o in self.run_inference(xs)]
            else:
                outs = None
                for start in range(0, n, batch_size):
                    batch = [a[start:start + batch_size] for a in xs]
                    res = self.run_inference(batch)
                    if outs is None:
                        outs = [[] for _ in res]
                    for acc, o in zip(outs, res):
                        acc.append(np.asarray(o))
        results = [parts[0] if len(parts) == 1 else np.concatenate(parts)
                   for parts in outs]
        return results[0] if len(results) == 1 else results
