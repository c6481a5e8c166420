"""Layer: the Keras 2 layer contract.

``__init__`` stores configuration; ``build(input_shape)`` creates weights
with ``add_weight`` (kernel, then bias: that order is ``get_weights``'s);
``call(inputs, training=None)`` computes on concrete arrays;
``compute_output_shape`` is arithmetic with no data; ``get_config``
returns the constructor arguments.

Calling a layer on symbolic tensors (``Input``, other layers' outputs)
builds it, infers the output shape, and records a ``Node``; calling it on
concrete arrays computes right away.
"""
import contextlib
import inspect
import re
import threading

import numpy as np

from ckeras import backend as K
from ckeras.backend.tensor import SymbolicTensor, Variable
from ckeras.engine.input_spec import InputSpec, check_input
from ckeras.engine.node import Node

_WEIGHTS_FROM_FILE = threading.local()


@contextlib.contextmanager
def weights_to_be_loaded():
    """Inside this block ``add_weight`` allocates without running the
    initializer: for loaders (``load_model``) that build a model only to
    overwrite its weights from a file. Skipping the random draws saves
    their time and their float64 temporaries, and np.empty's pages are
    first touched when the loaded values are written into them.

    Yields the list of (variable, initializer) so created: the loader must
    call ``initialize_unloaded(pending, loaded)`` afterwards, which runs
    the initializer of every variable the file did not fill (a custom
    layer's untracked weights, which Keras 2 does not save either)."""
    backup = getattr(_WEIGHTS_FROM_FILE, "pending", None)
    _WEIGHTS_FROM_FILE.pending = pending = []
    try:
        yield pending
    finally:
        _WEIGHTS_FROM_FILE.pending = backup


def initialize_unloaded(pending, loaded):
    """Runs the initializer of each pending variable not in `loaded`."""
    loaded = {id(v) for v in loaded}
    for var, init in pending:
        if id(var) not in loaded:
            var.value[...] = init(var.value.shape, dtype=var.value.dtype)


_ALLOWED_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "dtype", "name",
                   "trainable", "weights", "input_dtype"}


def to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


def to_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def unpack(xs):
    return xs[0] if len(xs) == 1 else xs


def _shape_of(x):
    if isinstance(x, SymbolicTensor):
        return x._keras_shape
    return tuple(np.shape(getattr(x, "value", x)))


_CALL_ARGS = {}


def _call_args(cls):
    """Names of the keyword arguments cls.call accepts (cached per class)."""
    args = _CALL_ARGS.get(cls)
    if args is None:
        params = inspect.signature(cls.call).parameters
        args = _CALL_ARGS[cls] = (
            set(params) | ({"training", "mask"} if any(
                p.kind == p.VAR_KEYWORD for p in params.values()) else set()))
    return args


class Layer:
    """Base class of all layers.

    Args (keyword, any layer): name, trainable, input_shape,
        batch_input_shape, batch_size, dtype, weights (initial weights).
    """

    def __init__(self, **kwargs):
        for kwarg in kwargs:
            if kwarg not in _ALLOWED_KWARGS:
                raise TypeError(f"Keyword argument not understood: {kwarg!r} "
                                f"(layer {type(self).__name__})")
        name = kwargs.get("name")
        if not name:
            prefix = to_snake_case(type(self).__name__)
            name = f"{prefix}_{K.get_uid(prefix)}"
        self.name = name
        self.trainable = kwargs.get("trainable", True)
        self.input_spec = None
        self.supports_masking = False
        self.built = False
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._regularized = []  # (regularizer, variable)
        self._losses = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self.activity_regularizer = getattr(self, "activity_regularizer", None)
        if "input_shape" in kwargs or "batch_input_shape" in kwargs:
            if "batch_input_shape" in kwargs:
                shape = tuple(kwargs["batch_input_shape"])
            else:
                input_shape = kwargs["input_shape"]
                if isinstance(input_shape, int):  # Dense(32, input_shape=784)
                    input_shape = (input_shape,)
                shape = (kwargs.get("batch_size"),) + tuple(input_shape)
            self.batch_input_shape = shape
        self._dtype_given = "dtype" in kwargs or "batch_input_shape" in kwargs or \
            "input_shape" in kwargs
        self.dtype = kwargs.get("dtype") or kwargs.get("input_dtype") or K.floatx()
        self._initial_weights = kwargs.get("weights")

    # ---- the contract subclasses implement --------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, training=None):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """The output mask (Keras 2): the input mask passes through layers
        that support masking; other layers refuse a mask."""
        if self.supports_masking:
            return mask
        if mask is not None and any(m is not None for m in to_list(mask)):
            raise TypeError(f"Layer {self.name} does not support masking, but was "
                            f"passed an input mask (from Embedding(mask_zero=True) or "
                            f"Masking upstream); remove the mask or use a layer that "
                            f"supports it")
        return None

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if hasattr(self, "batch_input_shape"):
            config["batch_input_shape"] = self.batch_input_shape
        if self._dtype_given:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ---- weights ------------------------------------------------------------
    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None,
                   trainable=True, constraint=None):
        """Creates a weight Variable, registers it, and returns it."""
        from ckeras import constraints, initializers, regularizers
        shape = tuple(int(s) for s in shape)
        init = initializers.get(initializer or "glorot_uniform")
        dtype = np.dtype(dtype or K.floatx())
        pending = getattr(_WEIGHTS_FROM_FILE, "pending", None)
        if pending is not None:
            value, owned = np.empty(shape, dtype=dtype), True
        else:
            value = init(shape, dtype=dtype)
            # ckeras' initializers return a fresh array: no second copy
            owned = initializers.returns_fresh_array(init)
        var = Variable(value, dtype=dtype, name=f"{self.name}/{name}:0",
                       trainable=trainable, constraint=constraints.get(constraint),
                       copy=not owned)
        if pending is not None:
            pending.append((var, init))
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularized.append((regularizer, var))
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    def get_weights(self):
        return [w.value.copy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer {self.name!r} with a "
                f"weight list of length {len(weights)}, but the layer was expecting "
                f"{len(params)} weights ({[w.name for w in params]} with shapes "
                f"{[w.value.shape for w in params]}).")
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if p.value.shape != w.shape:
                raise ValueError(
                    f"Layer weight shape {p.value.shape} not compatible with provided "
                    f"weight shape {w.shape} (layer {self.name!r}, weight {p.name!r})")
        for p, w in zip(params, weights):
            p.value[...] = w

    def count_params(self):
        if not self.built:
            raise RuntimeError(f"You tried to call `count_params` on {self.name}, but "
                               "the layer isn't built. Build it first by calling it "
                               "on some data.")
        return int(sum(int(np.prod(w.value.shape)) for w in self.weights))

    # ---- losses -------------------------------------------------------------
    @property
    def losses(self):
        """Weight regularization penalties (computed now, so a recording
        tape differentiates them) and the activity penalties of the last
        forward pass."""
        return [reg(var) for reg, var in self._regularized] + list(self._losses)

    def add_loss(self, losses, inputs=None):
        self._losses.extend(to_list(losses))

    # ---- calling ------------------------------------------------------------
    def __call__(self, inputs, **kwargs):
        inputs_list = to_list(inputs)
        symbolic = [isinstance(x, SymbolicTensor) for x in inputs_list]
        if any(symbolic):
            if not all(symbolic):
                raise TypeError(f"Layer {self.name} was called with a mix of symbolic "
                                "and concrete inputs; pass only Keras tensors (from "
                                "Input or other layers) or only arrays")
            return self._call_symbolic(inputs, inputs_list, kwargs)
        shapes = [(None,) + _shape_of(x)[1:] if _shape_of(x) else () for x in inputs_list]
        self.assert_input_compatibility(inputs_list, shapes)
        self._maybe_build(shapes)
        training = kwargs.pop("training", None)
        if training is None:
            training = K.variables.learning_phase_value()
        outs = self._call_on_values([getattr(x, "value", x) if isinstance(x, Variable)
                                     else x for x in inputs_list], kwargs, training)
        return outs[0] if len(outs) == 1 else outs

    def _maybe_build(self, shapes):
        if not self.built:
            self.build(unpack(shapes))
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def _call_on_values(self, inputs, arguments, training):
        """Runs call() on concrete values; returns the list of outputs."""
        kwargs = dict(arguments)
        accepted = _call_args(type(self))
        if "training" in accepted:
            kwargs["training"] = training
        out = self.call(unpack(inputs), **kwargs)
        if self.activity_regularizer is not None:
            self._losses = [self.activity_regularizer(o) for o in to_list(out)]
        return out if isinstance(out, list) else [out]

    def _call_symbolic(self, inputs, inputs_list, kwargs):
        shapes = [x._keras_shape for x in inputs_list]
        self.assert_input_compatibility(inputs_list, shapes)
        self._maybe_build(shapes)
        output_shape = self.compute_output_shape(unpack(shapes))
        multi = isinstance(output_shape, list)
        out_shapes = output_shape if multi else [output_shape]
        out_dtype = K.floatx() if self.weights else inputs_list[0].dtype
        node_index = len(self._inbound_nodes)
        outputs = []
        for i, shape in enumerate(out_shapes):
            t = SymbolicTensor(tuple(shape), dtype=out_dtype,
                               name=f"{self.name}/output_{node_index}_{i}",
                               history=(self, node_index, i))
            t._uses_learning_phase = getattr(self, "uses_learning_phase", False) or any(
                x._uses_learning_phase for x in inputs_list)
            outputs.append(t)
        in_masks, out_masks = self._symbolic_masks(inputs_list, len(outputs))
        for t, m in zip(outputs, out_masks):
            t._keras_mask = m
        history = [x._keras_history or (None, 0, 0) for x in inputs_list]
        Node(self, inbound_layers=[h[0] for h in history],
             node_indices=[h[1] for h in history], tensor_indices=[h[2] for h in history],
             input_tensors=inputs_list, output_tensors=outputs,
             input_shapes=shapes, output_shapes=[tuple(s) for s in out_shapes],
             input_masks=in_masks, output_masks=out_masks,
             arguments={k: v for k, v in kwargs.items() if k != "training"})
        return outputs if multi else outputs[0]

    def _symbolic_masks(self, inputs_list, n_outputs):
        """(input masks, output masks) of a symbolic call (Keras 2): the
        output masks are compute_mask on the symbolic inputs (deferred
        backend ops), None where a layer's compute_mask is not symbolic.
        A layer that does not support masking refuses a mask here."""
        in_masks = [getattr(x, "_keras_mask", None) for x in inputs_list]
        has = any(m is not None for m in in_masks)
        mask = unpack(in_masks) if has else None
        if type(self).compute_mask is Layer.compute_mask:
            out = self.compute_mask(unpack(inputs_list), mask)
        else:
            try:
                out = self.compute_mask(unpack(inputs_list), mask)
            except Exception:  # noqa: BLE001 (a data-only compute_mask)
                out = None
        out = out if isinstance(out, list) else [out] * (1 if n_outputs == 1 else 0)
        out = [m if isinstance(m, SymbolicTensor) else None for m in out]
        return in_masks, (out + [None] * n_outputs)[:n_outputs]

    def assert_input_compatibility(self, inputs, shapes=None):
        if self.input_spec is None:
            return
        specs = to_list(self.input_spec)
        if len(specs) != len(inputs):
            raise ValueError(f"Layer {self.name} expects {len(specs)} inputs, but it "
                             f"received {len(inputs)} input tensors")
        shapes = shapes or [_shape_of(x) for x in inputs]
        for i, (spec, shape) in enumerate(zip(specs, shapes)):
            check_input(self, spec, shape, i)

    # ---- nodes ----------------------------------------------------------------
    @property
    def inbound_nodes(self):
        return self._inbound_nodes

    @property
    def outbound_nodes(self):
        return self._outbound_nodes

    def _node_attr(self, node_index, attr, attr_name):
        if not self._inbound_nodes:
            raise RuntimeError(f"The layer {self.name} has never been called and thus "
                               f"has no defined {attr_name}.")
        if not -len(self._inbound_nodes) <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Asked to get {attr_name} at node {node_index}, but the "
                             f"layer {self.name} has only {len(self._inbound_nodes)} "
                             "inbound nodes.")
        return unpack(getattr(self._inbound_nodes[node_index], attr))

    def get_input_at(self, node_index):
        return self._node_attr(node_index, "input_tensors", "input")

    def get_output_at(self, node_index):
        return self._node_attr(node_index, "output_tensors", "output")

    def get_input_shape_at(self, node_index):
        return self._node_attr(node_index, "input_shapes", "input shape")

    def get_output_shape_at(self, node_index):
        return self._node_attr(node_index, "output_shapes", "output shape")

    def get_input_mask_at(self, node_index):
        return self._node_attr(node_index, "input_masks", "input mask")

    def get_output_mask_at(self, node_index):
        return self._node_attr(node_index, "output_masks", "output mask")

    def _single_node(self, what, method):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to "
                                 "return.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer {self.name} has multiple inbound nodes, hence the notion of "
                f'"layer {what}" is ill-defined. Use `{method}(node_index)` instead.')

    @property
    def input(self):
        self._single_node("input", "get_input_at")
        return self.get_input_at(0)

    @property
    def output(self):
        self._single_node("output", "get_output_at")
        return self.get_output_at(0)

    def _unique_shape(self, attr, what, method):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus "
                                 f"has no defined {what}.")
        shapes = {str(getattr(n, attr)) for n in self._inbound_nodes}
        if len(shapes) > 1:
            raise AttributeError(
                f'The layer "{self.name}" has multiple inbound nodes, with different '
                f'{what}s. Hence the notion of "{what}" is ill-defined for the layer. '
                f"Use `{method}(node_index)` instead.")
        return unpack(getattr(self._inbound_nodes[0], attr))

    @property
    def input_shape(self):
        return self._unique_shape("input_shapes", "input shape", "get_input_shape_at")

    @property
    def output_shape(self):
        return self._unique_shape("output_shapes", "output shape", "get_output_shape_at")

    @property
    def input_mask(self):
        self._single_node("input mask", "get_input_mask_at")
        return self.get_input_mask_at(0)

    @property
    def output_mask(self):
        self._single_node("output mask", "get_output_mask_at")
        return self.get_output_mask_at(0)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


__all__ = ["Layer", "InputSpec", "Node"]
