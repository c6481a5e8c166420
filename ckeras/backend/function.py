"""``K.function(inputs, outputs)``: a callable evaluating symbolic tensors.

The graph is whatever built the outputs: layer calls (each output knows
its layer and node through ``_keras_history``) and deferred backend ops
(``_op`` on ``_parents``). Evaluation runs each node once per call on the
fed arrays, records no tape, and uses the learning phase fed as an input
(``K.learning_phase()``), else the fixed one (0 by default).
"""
import numpy as np

from ckeras.backend import variables
from ckeras.backend.tape import stop_recording
from ckeras.backend.tensor import SymbolicTensor, Variable


def _call_args(layer):
    from ckeras.engine.base_layer import _call_args as args
    return args(type(layer))


def _needs_training_arg(layer):
    return getattr(layer, "_call_has_training", True)


def evaluate(outputs, feed, training=0):
    """Values of symbolic `outputs` given feed {id(tensor): array}."""
    cache = dict(feed)

    def ev(t):
        if not isinstance(t, SymbolicTensor):
            return t.value if isinstance(t, Variable) else t
        key = id(t)
        if key in cache:
            return cache[key]
        if t._op is not None:
            cache[key] = val = t._op([ev(p) for p in t._parents])
            return val
        if t._keras_history is not None:
            layer, node_index, _ = t._keras_history
            node = layer._inbound_nodes[node_index]
            if node.inbound_layers:
                ins = [ev(x) for x in node.input_tensors]
                args = node.arguments
                masks = getattr(node, "input_masks", None) or []
                if any(m is not None for m in masks) and "mask" in _call_args(layer):
                    ms = [None if m is None else ev(m) for m in masks]
                    args = {**args, "mask": ms[0] if len(ms) == 1 else ms}
                outs = layer._call_on_values(ins, args, training)
                for o, v in zip(node.output_tensors, outs):
                    cache[id(o)] = v
                if key in cache:
                    return cache[key]
        if t is variables._LEARNING_PHASE:
            return training
        raise ValueError(
            f"the value of {t.name!r} (shape {t._keras_shape}) is needed but was "
            "not given: add that input tensor to the function's inputs")
    return [ev(t) for t in outputs]


class Function:
    """Callable made by K.function; call it with a list of arrays."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, (SymbolicTensor, Variable)):
                raise TypeError(
                    f"K.function takes symbolic tensors (Input, placeholder, layer "
                    f"outputs), got {type(t).__name__}")

    def __call__(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self.inputs):
            raise ValueError(f"this function takes {len(self.inputs)} inputs "
                             f"({[t.name for t in self.inputs]}), got {len(inputs)}")
        feed = {}
        training = variables.learning_phase_value()
        for t, v in zip(self.inputs, inputs):
            if t is variables._LEARNING_PHASE:
                training = int(np.asarray(v))
                continue
            arr = np.asarray(v, dtype=t.dtype)
            shape = t._keras_shape
            if shape is not None and (arr.ndim != len(shape) or any(
                    s is not None and s != d for s, d in zip(shape, arr.shape))):
                raise ValueError(f"input {t.name!r} expects shape {shape}, got "
                                 f"an array of shape {arr.shape}")
            feed[id(t)] = arr
        feed[id(variables._LEARNING_PHASE)] = training
        with stop_recording():
            out = evaluate(self.outputs, feed, training)
        out = [np.asarray(o.value if hasattr(o, "value") else o) for o in out]
        return out[0] if self.single else out


def function(inputs, outputs, updates=None, **kwargs):
    return Function(inputs, outputs, updates=updates, **kwargs)


def gradients(loss, variables_):
    raise NotImplementedError(
        "symbolic K.gradients is not supported: use K.GradientTape on concrete "
        "values (with K.GradientTape() as tape: ...; tape.gradient(loss, vars))")
