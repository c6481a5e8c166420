"""Layer wrappers (Keras 2's ``keras.layers.wrappers``): TimeDistributed
and Bidirectional."""
import numpy as np

from ckeras import backend as K
from ckeras.engine.base_layer import Layer, _call_args
from ckeras.engine.input_spec import InputSpec


def _value_shape(x):
    return np.shape(getattr(x, "value", x))


class Wrapper(Layer):
    """Base of the wrappers: the wrapped layer's weights are the wrapper's.

    Args:
        layer: a Layer (or a Model) instance.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__} wraps a Layer or Model instance, got "
                            f"{layer!r}")
        self.layer = layer
        super().__init__(**kwargs)

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return self.layer.non_trainable_weights
        return self.layer.weights

    @property
    def losses(self):
        return self.layer.losses + list(self._losses)

    def get_config(self):
        return {**super().get_config(), "layer": {"class_name": type(self.layer).__name__,
                                                  "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ckeras.layers import deserialize
        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)


class TimeDistributed(Wrapper):
    """Applies a layer (or model) to every temporal slice of its input.

    The input's first two axes (batch, time) are merged, the layer runs
    once on the (batch * time, ...) array, and the result is split back.
    A mask passes through unchanged (and reaches the inner layer's call,
    reshaped, when that accepts ``mask``).

    Input shape: (batch, time, ...). Output shape: (batch, time) + the
    layer's output shape without its batch axis.

    Example:
        ``TimeDistributed(Dense(8), input_shape=(10, 16))``
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)

    def _child_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed layer {self.name} needs an input of rank "
                             f">= 3 (batch, time, ...), got shape {input_shape}")
        self.input_spec = InputSpec(shape=(None,) + tuple(input_shape[1:]))
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))
            self.layer.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(child[1:])

    def call(self, inputs, training=None, mask=None):
        shape = _value_shape(inputs)
        n, t = shape[0], shape[1]
        x = K.reshape(inputs, (n * t,) + tuple(shape[2:]))
        kwargs = {}
        if mask is not None and "mask" in _call_args(type(self.layer)):
            kwargs["mask"] = np.reshape(np.asarray(mask), (n * t,) + np.shape(mask)[2:])
        y = self.layer._call_on_values([x], kwargs, training)[0]
        return K.reshape(y, (n, t) + tuple(_value_shape(y)[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask


class Bidirectional(Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards, and
    merges the two outputs.

    Args:
        layer: a recurrent layer instance (SimpleRNN, GRU, LSTM).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a
            list of the two outputs).

    Weights: the forward layer's, then the backward layer's. With
    return_sequences the backward output is reversed back into time
    order before merging (Keras 2).

    Example:
        ``Bidirectional(LSTM(10, return_sequences=True), input_shape=(5, 10))``
    """

    _MODES = ("sum", "mul", "ave", "concat", None)

    def __init__(self, layer, merge_mode="concat", weights=None, **kwargs):
        super().__init__(layer, **kwargs)
        if merge_mode not in self._MODES:
            raise ValueError(f"Invalid merge mode {merge_mode!r}. Merge mode should be "
                             "one of {'sum', 'mul', 'ave', 'concat', None}")
        if getattr(layer, "return_state", False):
            raise NotImplementedError(
                f"Bidirectional layer {self.name}: return_state=True on the wrapped "
                "layer is not supported (Keras 2.0 does not support it either); use "
                "two recurrent layers, one with go_backwards=True")
        config = layer.get_config()
        self.forward_layer = type(layer).from_config(
            {**config, "name": "forward_" + config["name"]})
        self.backward_layer = type(layer).from_config(
            {**config, "name": "backward_" + config["name"],
             "go_backwards": not config["go_backwards"]})
        self.merge_mode = merge_mode
        if weights is not None:
            half = len(weights) // 2
            self.forward_layer._initial_weights = weights[:half]
            self.backward_layer._initial_weights = weights[half:]
        self.return_sequences = layer.return_sequences
        self.supports_masking = True
        self.uses_learning_phase = getattr(layer, "uses_learning_phase", False)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.forward_layer.weights + self.backward_layer.weights
        return (self.forward_layer.non_trainable_weights +
                self.backward_layer.non_trainable_weights)

    @property
    def losses(self):
        return self.forward_layer.losses + self.backward_layer.losses + list(self._losses)

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            sub._maybe_build([input_shape])
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            return tuple(shape[:-1]) + (shape[-1] * 2,)
        if self.merge_mode is None:
            return [shape, shape]
        return shape

    def call(self, inputs, training=None, mask=None):
        args = {"mask": mask} if mask is not None else {}
        y = self.forward_layer._call_on_values([inputs], args, training)[0]
        y_rev = self.backward_layer._call_on_values([inputs], args, training)[0]
        if self.return_sequences:
            y_rev = K.reverse(y_rev, 1)
        if self.merge_mode == "concat":
            return K.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return K.add(y, y_rev)
        if self.merge_mode == "ave":
            return K.multiply(K.add(y, y_rev), 0.5)
        if self.merge_mode == "mul":
            return K.multiply(y, y_rev)
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out, out] if self.merge_mode is None else out

    def reset_states(self):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode}
