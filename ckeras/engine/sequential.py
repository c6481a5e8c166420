"""Sequential: a Model that grows one layer at a time with ``add``."""
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_layer import Input, InputLayer
from ckeras.engine.network import Network
from ckeras.engine.training import Model


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: optional list of layers to add.
        name: model name (default sequential_1, ...).

    Example:
        ``model = Sequential([Dense(32, input_shape=(784,)), Activation('relu')])``
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._stack = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._stack)

    def add(self, layer):
        """Appends a layer on top of the stack."""
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Found: {layer!r}")
        if not self.outputs:
            if isinstance(layer, InputLayer):
                self._input_layer = layer
                x = layer._inbound_nodes[0].output_tensors[0]
                self._set_graph(x, x)
                return
            shape = getattr(layer, "batch_input_shape", None)
            if shape is None and isinstance(layer, Network) and layer.inputs:
                shape = layer.inputs[0]._keras_shape
            self._stack.append(layer)
            if shape is not None:
                self.build(shape, dtype=getattr(layer, "dtype", None),
                           name=layer.name + "_input")
            return
        self._stack.append(layer)
        try:
            self._set_graph(self.inputs[0], self._apply(layer, self.outputs[0]))
        except Exception:
            self._stack.pop()
            raise

    @staticmethod
    def _apply(layer, x):
        y = layer(x)
        if isinstance(y, list):
            raise TypeError("All layers in a Sequential model should have a single "
                            f"output tensor; layer {layer.name} has {len(y)}. For "
                            "multi-output layers, use the functional API.")
        return y

    def build(self, input_shape=None, dtype=None, name=None):
        """Connects the stack to an input of `input_shape` (batch first)."""
        if self.outputs and self._is_graph_network:
            return
        if input_shape is None:
            raise ValueError(f"model {self.name} needs an input shape: give its first "
                             "layer an `input_shape` argument or call build(shape)")
        x = Input(batch_shape=tuple(input_shape), dtype=dtype, name=name)
        self._input_layer = x._keras_history[0]
        y = x
        for layer in self._stack:
            y = self._apply(layer, y)
        self._set_graph(x, y)

    def _set_graph(self, x, y):
        self._init_graph([x], [y])

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        if layer._inbound_nodes and layer._inbound_nodes[-1].input_tensors:
            for inbound in layer._inbound_nodes[-1].inbound_layers:
                if inbound is not None and inbound._outbound_nodes:
                    inbound._outbound_nodes.pop()
        if not self._stack:
            if self._input_layer is not None and self.inputs:
                x = self.inputs[0]
                self._set_graph(x, x)
            else:
                self.inputs, self.outputs, self._is_graph_network = [], [], False
            return
        last = self._stack[-1]
        out = None
        for node in reversed(last._inbound_nodes):
            if f"{last.name}_ib-{last._inbound_nodes.index(node)}" in self._network_nodes:
                out = node.output_tensors[0]
                break
        self._set_graph(self.inputs[0], out)

    def _predict_ready(self, x):
        if not self._is_graph_network and self._stack:
            first = x[0] if isinstance(x, (list, tuple)) else x
            self.build((None,) + tuple(getattr(first, "shape", ())[1:]))

    def predict_on_batch(self, x):
        self._predict_ready(x)
        return super().predict_on_batch(x)

    def predict(self, x, batch_size=32, verbose=0, steps=None):
        self._predict_ready(x)
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps)

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size)

    def predict_classes(self, x, batch_size=32, verbose=0):
        proba = self.predict(x, batch_size=batch_size)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    @property
    def weights(self):
        seen, out = set(), []
        for layer in self._stack:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for layer in self._stack for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        ws = [w for layer in self._stack for w in layer.non_trainable_weights]
        if not self.trainable:
            return [w for layer in self._stack for w in layer.trainable_weights] + ws
        return ws

    def get_config(self):
        """Keras 2.0's format: a list of {'class_name', 'config'}."""
        configs = []
        for i, layer in enumerate(self._stack):
            config = layer.get_config()
            if i == 0 and "batch_input_shape" not in config and self.inputs:
                config["batch_input_shape"] = self.inputs[0]._keras_shape
                if self.inputs[0].dtype != "float32":
                    config["dtype"] = self.inputs[0].dtype
            configs.append({"class_name": type(layer).__name__, "config": config})
        return configs

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Accepts Keras 2.0's list and Keras 2.2's {'name', 'layers'}."""
        from ckeras.layers import deserialize
        name = None
        if isinstance(config, dict):
            name = config.get("name")
            config = config["layers"]
        model = cls(name=name)
        for conf in config:
            model.add(deserialize(conf, custom_objects=custom_objects))
        return model
