"""Layer wrappers (Keras 2's ``keras.layers.wrappers``): TimeDistributed
and Bidirectional. A wrapper owns its inner layer(s): its weights are
theirs, its config holds theirs."""
import numpy as np

from ckeras import backend as K
from ckeras.engine.base_layer import Layer


class Wrapper(Layer):
    """Base of the wrappers: weights, losses and config of `layer`."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__} wraps a Layer instance, got "
                             f"{layer!r}")
        self.layer = layer
        super().__init__(**kwargs)

    def _inner(self):
        return [self.layer]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for l in self._inner() for w in l.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return [w for l in self._inner() for w in l.weights]
        return [w for l in self._inner() for w in l.non_trainable_weights]

    @property
    def losses(self):
        return [loss for l in self._inner() for loss in l.losses] + list(self._losses)

    @property
    def uses_learning_phase(self):
        return any(getattr(l, "uses_learning_phase", False) for l in self._inner())

    def get_config(self):
        from ckeras.layers import serialize
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ckeras.layers import deserialize
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


class TimeDistributed(Wrapper):
    """Applies `layer` (or a model) to every timestep of a (batch, time, ...)
    input: reshapes to (batch * time, ...), applies, reshapes back.

    Example: ``TimeDistributed(Dense(8), input_shape=(10, 16))`` gives
    (batch, 10, 8), with one Dense shared across the 10 steps.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _check(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed {self.name} needs one input of rank >= 3 (batch, "
                f"time, ...), got shape {input_shape}")

    def build(self, input_shape):
        self._check(input_shape)
        if not self.layer.built:
            self.layer._maybe_build((input_shape[0],) + tuple(input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        child = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (child[0], input_shape[1]) + tuple(child[1:])

    def call(self, inputs, training=None):
        shape = np.shape(getattr(inputs, "value", inputs))
        if len(shape) < 3:
            self._check(shape)
        flat = K.reshape(inputs, (-1,) + tuple(shape[2:]))
        y = self.layer._call_on_values([flat], {}, training)
        if len(y) != 1:
            raise ValueError(f"TimeDistributed {self.name} needs a single-output layer")
        out_shape = np.shape(getattr(y[0], "value", y[0]))
        return K.reshape(y[0], (shape[0], shape[1]) + tuple(out_shape[1:]))


class Bidirectional(Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards over the
    sequence and merges the two outputs.

    Args:
        layer: an LSTM, GRU or SimpleRNN instance.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list
            of the two outputs).

    Weights: the forward layer's, then the backward layer's.
    """

    _MODES = ("sum", "mul", "ave", "concat", None)

    def __init__(self, layer, merge_mode="concat", **kwargs):
        if merge_mode not in self._MODES:
            raise ValueError(f"Invalid merge mode {merge_mode!r}; merge mode should be "
                             f"one of {{'sum', 'mul', 'ave', 'concat', None}}")
        if not hasattr(layer, "go_backwards") or getattr(layer, "return_state", False):
            raise ValueError(
                "Bidirectional wraps a recurrent layer (LSTM, GRU, SimpleRNN) without "
                f"return_state, got {layer!r}")
        super().__init__(layer, **kwargs)
        config = layer.get_config()
        self.forward_layer = type(layer).from_config(
            {**config, "name": "forward_" + config["name"]})
        self.backward_layer = type(layer).from_config(
            {**config, "name": "backward_" + config["name"],
             "go_backwards": not config["go_backwards"]})
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.stateful = layer.stateful
        self.supports_masking = True

    def _inner(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = tuple(self.forward_layer.compute_output_shape(input_shape))
        if self.merge_mode == "concat":
            return shape[:-1] + (shape[-1] * 2,)
        if self.merge_mode is None:
            return [shape, shape]
        return shape

    def call(self, inputs, mask=None, training=None):
        y = self.forward_layer.call(inputs, mask=mask, training=training)
        y_rev = self.backward_layer.call(inputs, mask=mask, training=training)
        if self.return_sequences:
            y_rev = K.reverse(y_rev, 1)
        if self.merge_mode == "concat":
            return K.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out, out] if self.merge_mode is None else out

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode}
