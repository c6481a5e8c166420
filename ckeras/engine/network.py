"""Network: a directed acyclic graph of layer nodes (Keras 2's Container).

Built from input and output tensors: walks the nodes back from the
outputs, orders them by depth, checks that every output is reachable
from the inputs and that layer names are unique, and caches an execution
plan (one step per node, in topological order). Running the model walks
the plan on concrete arrays; a network is itself a layer and can be
called on new tensors (weights shared).
"""
import copy
import json

from ckeras.backend import tape as _tape
from ckeras.backend.tensor import SymbolicTensor
from ckeras.engine.base_layer import Layer, _call_args, to_list, unpack
from ckeras.engine.node import Node


class GraphError(ValueError, RuntimeError):
    """A model graph that cannot be built (ValueError; RuntimeError for
    code written against Keras 2, which raised that)."""


class Network(Layer):
    """A functional model: ``Model(inputs=..., outputs=...)``.

    Args:
        inputs: an Input tensor or a list of them (legacy name: input).
        outputs: the output tensor(s) (legacy name: output).
        name: model name (default model_1, model_2, ...).
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if inputs is None and "input" in kwargs:
            inputs = kwargs.pop("input")
        if outputs is None and "output" in kwargs:
            outputs = kwargs.pop("output")
        if kwargs:
            raise TypeError(f"Model got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__(name=name)
        self._is_graph_network = False
        self.inputs, self.outputs = [], []
        self._layers = []
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model needs both `inputs` and `outputs`")
            self._init_graph(inputs, outputs)

    # ---- graph construction ---------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._output_was_list = isinstance(outputs, (list, tuple))
        self._input_was_list = isinstance(inputs, (list, tuple))
        self.inputs = to_list(inputs)
        self.outputs = to_list(outputs)
        for kind, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            for x in tensors:
                if not isinstance(x, SymbolicTensor) or x._keras_history is None:
                    raise TypeError(
                        f"{kind.capitalize()} to a Model must be Keras tensors (made by "
                        f"Input or by calling a layer); found {x!r} (missing Keras "
                        f"metadata) in the {kind} of model {self.name}")
        self.input_layers = [x._keras_history[0] for x in self.inputs]
        self.input_layers_node_indices = [x._keras_history[1] for x in self.inputs]
        self.input_layers_tensor_indices = [x._keras_history[2] for x in self.inputs]
        self.output_layers = [x._keras_history[0] for x in self.outputs]
        self.output_layers_node_indices = [x._keras_history[1] for x in self.outputs]
        self.output_layers_tensor_indices = [x._keras_history[2] for x in self.outputs]

        nodes_in_order, layer_indices, network_nodes = self._map_graph()
        node_depth, layer_depth = {}, {}
        for node in reversed(nodes_in_order):
            depth = node_depth.setdefault(node, 0)
            depth = max(depth, layer_depth.get(node.outbound_layer, 0))
            layer_depth[node.outbound_layer] = depth
            node_depth[node] = depth
            for layer, ni in zip(node.inbound_layers, node.node_indices):
                inbound = layer._inbound_nodes[ni]
                node_depth[inbound] = max(depth + 1, node_depth.get(inbound, 0))
        self.nodes_by_depth = {}
        for node, d in node_depth.items():
            self.nodes_by_depth.setdefault(d, []).append(node)
        layers_by_depth = {}
        for layer, d in layer_depth.items():
            layers_by_depth.setdefault(d, []).append(layer)
        depth_keys = sorted(self.nodes_by_depth, reverse=True)
        self._layers = []
        for d in sorted(layers_by_depth, reverse=True):
            self._layers.extend(sorted(layers_by_depth[d], key=layer_indices.get))
        self._network_nodes = network_nodes

        # every node's inputs must be computable from the model's inputs
        computable = {id(x) for x in self.inputs}
        done = []
        order = []
        for d in depth_keys:
            for node in sorted(self.nodes_by_depth[d],
                               key=lambda n: nodes_in_order.index(n)):
                layer = node.outbound_layer
                is_input = all(id(x) in computable for x in node.output_tensors) and \
                    getattr(layer, "is_input_layer", False)
                for x in node.input_tensors:
                    if id(x) not in computable:
                        raise GraphError(
                            f'Graph disconnected: cannot obtain value for tensor {x!r} '
                            f'at layer "{layer.name}". The following previous layers '
                            f"were accessed without issue: {done}")
                for x in node.output_tensors:
                    computable.add(id(x))
                done.append(layer.name)
                if not is_input:
                    order.append(node)
        names = [layer.name for layer in self.layers]
        for name in names:
            if names.count(name) != 1:
                raise GraphError(
                    f'The name "{name}" is used {names.count(name)} times in the model '
                    f"{self.name}. All layer names should be unique.")
        self._plan = [self._plan_step(node) for node in order]
        # masks (Keras 2): tracked only when some layer can produce one
        self._mask_plan = [("mask" in _call_args(type(step[0])), _may_mask(step[0]))
                           for step in self._plan]
        self._uses_masks = any(may for _, may in self._mask_plan)
        self._inference = None  # built on first predict
        self._input_ids = [id(x) for x in self.inputs]
        self._output_ids = [id(x) for x in self.outputs]
        self.input_names = [layer.name for layer in self.input_layers]
        self.output_names = [layer.name for layer in self.output_layers]
        self._is_graph_network = True
        self.built = True
        # the network's own node 0 links its inputs to its outputs (Keras 2)
        if self._inbound_nodes:
            node = self._inbound_nodes[0]
            node.input_tensors, node.output_tensors = self.inputs, self.outputs
            node.input_shapes = [x._keras_shape for x in self.inputs]
            node.output_shapes = [x._keras_shape for x in self.outputs]
        else:
            Node(self, inbound_layers=[], node_indices=[], tensor_indices=[],
                 input_tensors=self.inputs, output_tensors=self.outputs,
                 input_shapes=[x._keras_shape for x in self.inputs],
                 output_shapes=[x._keras_shape for x in self.outputs])

    def _map_graph(self):
        """Nodes reachable from the outputs (inputs before users), the
        order layers were first seen, and the keys of the network's nodes."""
        nodes_in_order, layer_indices, network_nodes = [], {}, set()
        finished, in_progress = set(), set()

        def visit(tensor, layer, node_index):
            node = layer._inbound_nodes[node_index]
            if node in in_progress:
                raise GraphError(f"The tensor {tensor!r} at layer {layer.name!r} is "
                                 "part of a cycle.")
            if node in finished:
                return
            network_nodes.add(f"{layer.name}_ib-{node_index}")
            layer_indices.setdefault(layer, len(layer_indices))
            in_progress.add(node)
            for x, inbound, ni in zip(node.input_tensors, node.inbound_layers,
                                      node.node_indices):
                if inbound is None:
                    raise TypeError(
                        f"Layer {layer.name} was called on {x!r}, which is not a Keras "
                        "tensor (it was not made by Input or a layer); a Model can "
                        "only be built from Keras tensors")
                visit(x, inbound, ni)
            finished.add(node)
            in_progress.discard(node)
            nodes_in_order.append(node)

        for x in self.outputs:
            layer, node_index, _ = x._keras_history
            visit(x, layer, node_index)
        return nodes_in_order, layer_indices, network_nodes

    @staticmethod
    def _plan_step(node):
        layer = node.outbound_layer
        has_training = "training" in _call_args(type(layer))
        kwargs = {k: v for k, v in node.arguments.items() if k != "training"}
        return (layer, [id(x) for x in node.input_tensors],
                [id(x) for x in node.output_tensors], kwargs, has_training)

    # ---- running ----------------------------------------------------------------
    def run_graph(self, values, training=0, input_masks=None):
        """Runs the plan on concrete input values; returns output values.
        input_masks: one mask (or None) per input, from the layer that
        called this network as a layer (Keras 2 passes masks inward)."""
        vals = dict(zip(self._input_ids, values))
        recording = bool(_tape.recording)
        given = [m for m in (input_masks or []) if m is not None]
        masks = {} if getattr(self, "_uses_masks", False) or given else None
        for i, m in zip(self._input_ids, input_masks or []):
            if m is not None:
                masks[i] = getattr(m, "value", m)
        for step, (layer, in_ids, out_ids, kwargs, has_training) in enumerate(self._plan):
            x = vals[in_ids[0]] if len(in_ids) == 1 else [vals[i] for i in in_ids]
            if masks is not None:
                kwargs = self._apply_masks(step, layer, x, in_ids, out_ids, kwargs, masks)
            if has_training:
                out = layer.call(x, training=training, **kwargs)
            else:
                out = layer.call(x, **kwargs)
            if masks is not None and isinstance(layer, Network):
                # a nested network's output masks come from its own run
                for i, m in zip(out_ids, getattr(layer, "_output_masks", None) or []):
                    if m is not None:
                        masks[i] = m
            if recording and layer.activity_regularizer is not None:
                layer._losses = [layer.activity_regularizer(o) for o in to_list(out)]
            if len(out_ids) == 1:
                vals[out_ids[0]] = out
            else:
                for i, o in zip(out_ids, out):
                    vals[i] = o
        # the outputs' masks, for the loss (Keras 2 masks the objective)
        self._output_masks = None if masks is None else [
            masks.get(i) for i in self._output_ids]
        return [vals[i] for i in self._output_ids]

    @property
    def _produces_mask(self):
        """A nested network yields masks when one of its layers can."""
        return getattr(self, "_uses_masks", False)

    def compute_mask(self, inputs, mask=None):
        """None here: a nested network's output masks are those of its run
        (run_graph sets _output_masks; the calling network reads them)."""
        return None

    def reset_states(self):
        """Resets the carried states of every stateful layer (Keras 2)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def _apply_masks(self, step, layer, x, in_ids, out_ids, kwargs, masks):
        """Keras 2 mask propagation for one step: passes the input mask(s)
        to call (when it takes mask=) and stores the output mask(s) from
        layer.compute_mask. Returns the call's keyword arguments."""
        accepts, may_mask = self._mask_plan[step]
        in_masks = [masks.get(i) for i in in_ids]
        in_mask = in_masks[0] if len(in_masks) == 1 else in_masks
        has_mask = any(m is not None for m in in_masks)
        if (has_mask or may_mask) and not isinstance(layer, Network):
            out_masks = layer.compute_mask(x, in_mask if has_mask else None)
            out_masks = out_masks if isinstance(out_masks, list) else [out_masks]
            for i, m in zip(out_ids, out_masks):
                if m is not None:
                    masks[i] = getattr(m, "value", m)
        if accepts and has_mask:
            kwargs = {**kwargs, "mask": in_mask}
        return kwargs

    def _inference_plan(self):
        """(chain, steps): the plan as plain callables for inference.

        A layer may offer ``_infer(x)``, a lean call for inference on a
        float32 array (Dense calls its C kernel directly); identity layers
        (``_inference_identity``) are dropped. When the graph is a chain
        with one input and one output, ``chain`` is the list of callables.
        """
        steps = []
        for layer, in_ids, out_ids, kwargs, _ in self._plan:
            fn = None if kwargs else getattr(layer, "_infer", None)
            if fn is None:
                fn = (lambda x, _c=layer.call, _k=kwargs: _c(x, **_k)) if kwargs else \
                    layer.call
            steps.append((fn, in_ids, out_ids, getattr(layer, "_inference_identity", False)))
        chain = None
        if len(self._input_ids) == 1 and len(self._output_ids) == 1:
            prev = self._input_ids[0]
            ok = True
            for _, in_ids, out_ids, _ in steps:
                if len(in_ids) != 1 or len(out_ids) != 1 or in_ids[0] != prev:
                    ok = False
                    break
                prev = out_ids[0]
            if ok and prev == self._output_ids[0]:
                chain = [fn for fn, _, _, identity in steps if not identity]
        self._inference = (chain, steps)
        return self._inference

    def run_inference(self, values):
        """Runs the graph for prediction (training off, no tape)."""
        if getattr(self, "_uses_masks", False):
            return self.run_graph(values, 0)
        chain, steps = self._inference or self._inference_plan()
        if chain is not None:
            x = values[0]
            for fn in chain:
                x = fn(x)
            return [x]
        vals = dict(zip(self._input_ids, values))
        for fn, in_ids, out_ids, identity in steps:
            x = vals[in_ids[0]] if len(in_ids) == 1 else [vals[i] for i in in_ids]
            out = x if identity else fn(x)
            if len(out_ids) == 1:
                vals[out_ids[0]] = out
            else:
                for i, o in zip(out_ids, out):
                    vals[i] = o
        return [vals[i] for i in self._output_ids]

    def call(self, inputs, training=None, mask=None):
        masks = None if mask is None else to_list(mask)
        outs = self.run_graph(to_list(inputs), training or 0, masks)
        return unpack(outs)

    def _call_on_values(self, inputs, arguments, training):
        return self.run_graph(list(inputs), training)

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Model {self.name} expects {len(self.inputs)} inputs, got "
                             f"{len(shapes)} input shapes")
        known = dict(zip(self._input_ids, [tuple(s) for s in shapes]))
        for layer, in_ids, out_ids, kwargs, _ in self._plan:
            s = [known[i] for i in in_ids]
            out = layer.compute_output_shape(unpack(s))
            out = out if isinstance(out, list) else [out]
            for i, o in zip(out_ids, out):
                known[i] = tuple(o)
        out = [known[i] for i in self._output_ids]
        return out if len(out) > 1 else out[0]

    def build(self, input_shape):
        self.built = True

    def assert_input_compatibility(self, inputs, shapes=None):
        shapes = shapes or [getattr(x, "_keras_shape", None) for x in inputs]
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Model {self.name} expects {len(self.inputs)} inputs, but "
                             f"it received {len(shapes)} input tensors")
        for i, (x, shape) in enumerate(zip(self.inputs, shapes)):
            want = x._keras_shape
            if shape is None or want is None:
                continue
            if len(shape) != len(want) or any(
                    a is not None and b is not None and a != b for a, b in zip(want, shape)):
                raise ValueError(f"Input {i} is incompatible with model {self.name}: "
                                 f"expected shape={want}, found shape={shape}")

    # ---- properties ---------------------------------------------------------------
    @property
    def layers(self):
        return self._layers

    @property
    def input(self):
        return unpack(self.inputs)

    @property
    def output(self):
        return unpack(self.outputs)

    @property
    def input_shape(self):
        return unpack([x._keras_shape for x in self.inputs])

    @property
    def output_shape(self):
        return unpack([x._keras_shape for x in self.outputs])

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return _unique(w for layer in self.layers for w in layer.trainable_weights)

    @property
    def non_trainable_weights(self):
        weights = _unique(w for layer in self.layers for w in layer.non_trainable_weights)
        if not self.trainable:
            return _unique(
                [w for layer in self.layers for w in layer.trainable_weights] + weights)
        return weights

    @property
    def weights(self):
        return _unique(w for layer in self.layers for w in layer.weights)

    def get_weights(self):
        return [w.value.copy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on model {self.name!r} with a "
                f"list of {len(weights)} arrays, but the model has {len(params)} "
                f"weights with shapes {[w.value.shape for w in params]}")
        for p, w in zip(params, weights):
            if p.value.shape != getattr(w, "shape", None):
                raise ValueError(f"Weight {p.name!r} of model {self.name!r} has shape "
                                 f"{p.value.shape}, but the array given has shape "
                                 f"{getattr(w, 'shape', None)}")
        for p, w in zip(params, weights):
            p.value[...] = w

    @property
    def losses(self):
        return [loss for layer in self.layers for loss in layer.losses] + list(self._losses)

    @property
    def uses_learning_phase(self):
        return any(x._uses_learning_phase for x in self.outputs)

    def count_params(self):
        return int(sum(w.value.size for w in self.weights))

    def get_layer(self, name=None, index=None):
        """A layer by index (first) or by name."""
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but "
                                 f"model only has {len(self.layers)} layers.")
            return self.layers[index]
        if not name:
            raise ValueError("Provide either a layer name or layer index.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name} (model {self.name} has layers "
                         f"{[l.name for l in self.layers]})")

    def summary(self, line_length=None, positions=None, print_fn=None):
        from ckeras.utils.layer_utils import print_summary
        print_summary(self, line_length=line_length, positions=positions,
                      print_fn=print_fn)

    # ---- saving (ckeras/engine/saving.py) -------------------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Saves architecture, weights, training config and optimizer state to
        one HDF5 file (Keras 2's layout); see ``saving.save_model``."""
        from ckeras.engine import saving
        saving.save_model(self, filepath, overwrite, include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Saves the weights to HDF5 (raises FileExistsError if the file exists
        and overwrite=False)."""
        from ckeras.engine import saving
        saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Loads HDF5 weights; by_name=True loads only layers with matching names."""
        from ckeras.engine import saving
        saving.load_weights(self, filepath, by_name, skip_mismatch)

    def to_json(self, **kwargs):
        """The architecture as Keras 2's JSON (kwargs go to json.dumps)."""
        from ckeras.engine import saving
        return saving.to_json(self, **kwargs)

    def to_yaml(self, **kwargs):
        """The architecture as YAML (kwargs go to yaml.safe_dump)."""
        from ckeras.engine import saving
        return saving.to_yaml(self, **kwargs)

    # ---- configuration --------------------------------------------------------------
    def get_config(self):
        conversion = {}
        for layer in self.layers:
            kept = 1 if isinstance(layer, Network) else 0
            for i, _ in enumerate(layer._inbound_nodes):
                key = f"{layer.name}_ib-{i}"
                if key in self._network_nodes:
                    conversion[key] = kept
                    kept += 1
        layer_configs = []
        for layer in self.layers:
            inbound = []
            for i, node in enumerate(layer._inbound_nodes):
                if f"{layer.name}_ib-{i}" not in self._network_nodes or \
                        not node.inbound_layers:
                    continue
                kwargs = node.arguments
                try:
                    json.dumps(kwargs)
                except TypeError:
                    kwargs = {}
                inbound.append([[l.name, conversion.get(f"{l.name}_ib-{ni}", 0), ti, kwargs]
                                for l, ni, ti in zip(node.inbound_layers,
                                                     node.node_indices,
                                                     node.tensor_indices)])
            layer_configs.append({"name": layer.name, "class_name": type(layer).__name__,
                                  "config": layer.get_config(), "inbound_nodes": inbound})

        def ends(layers, node_indices, tensor_indices):
            return [[l.name, conversion[f"{l.name}_ib-{ni}"], ti]
                    for l, ni, ti in zip(layers, node_indices, tensor_indices)]
        return copy.deepcopy({
            "name": self.name, "layers": layer_configs,
            "input_layers": ends(self.input_layers, self.input_layers_node_indices,
                                 self.input_layers_tensor_indices),
            "output_layers": ends(self.output_layers, self.output_layers_node_indices,
                                  self.output_layers_tensor_indices)})

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ckeras.layers import deserialize as deserialize_layer
        created = {}
        pending = {}

        def process_node(layer, node_data):
            tensors = []
            kwargs = {}
            for entry in node_data:
                name, node_index, tensor_index = entry[:3]
                kwargs = entry[3] if len(entry) > 3 else {}
                inbound = created[name]
                if len(inbound._inbound_nodes) <= node_index:
                    pending.setdefault(layer, []).append(node_data)
                    return False
                tensors.append(inbound._inbound_nodes[node_index].output_tensors[tensor_index])
            layer(unpack(tensors), **kwargs)
            return True

        for layer_data in config["layers"]:
            layer = deserialize_layer(layer_data, custom_objects=custom_objects)
            created[layer_data["name"]] = layer
            for node_data in layer_data["inbound_nodes"]:
                pending.setdefault(layer, []).append(node_data)
        while pending:
            progress = False
            for layer_data in config["layers"]:
                layer = created[layer_data["name"]]
                for node_data in pending.pop(layer, []):
                    progress |= process_node(layer, node_data)
            if not progress and pending:
                raise ValueError("the model config has nodes whose inputs never appear: "
                                 f"{[l.name for l in pending]}")

        def ends(entries):
            return [created[name]._inbound_nodes[ni].output_tensors[ti]
                    for name, ni, ti in entries]
        return cls(inputs=ends(config["input_layers"]),
                   outputs=ends(config["output_layers"]), name=config.get("name"))


def _may_mask(layer):
    """Whether layer.compute_mask can return a mask from no input mask
    (Embedding(mask_zero=True), Masking, a Lambda given mask=)."""
    flag = getattr(layer, "_produces_mask", None)
    if flag is not None:
        return bool(flag)
    return type(layer).compute_mask is not Layer.compute_mask


def _unique(weights):
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out
