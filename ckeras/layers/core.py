"""Core layers (Keras 2's ``keras.layers.core``)."""
import marshal
import types

import numpy as np

from ckeras import activations, constraints, initializers, regularizers
from ckeras import backend as K
from ckeras.backend import native
from ckeras.backend.nn_ops import dense as _dense_op
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_spec import InputSpec


_F32 = np.dtype(np.float32)


class Dense(Layer):
    """``output = activation(dot(input, kernel) + bias)`` on the last axis.

    Args:
        units: positive int, output size.
        activation: name or function (None: linear).
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: default glorot_uniform, zeros.
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: optional.

    Input shape: (batch, ..., input_dim). Output shape: (batch, ..., units).

    Example:
        ``Dense(64, activation='relu', input_dim=20)``
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        if "input_shape" not in kwargs and "input_dim" in kwargs:
            kwargs["input_shape"] = (kwargs.pop("input_dim"),)
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense layer {self.name}: units must be a positive int, "
                             f"got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self._kernel_act = activations.kernel_name(self.activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self.kernel = self.bias = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense layer {self.name} needs a known last input "
                             f"dimension, got input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def _infer(self, x):
        """Inference on an array: the C kernel, called directly."""
        if x.ndim == 2 and x.dtype is _F32 and self._kernel_act is not None:
            kernel, bias = self.kernel.value, self.bias
            if kernel.dtype is _F32:
                return native.dense_forward(x, kernel, None if bias is None else bias.value,
                                            self._kernel_act)
        return self.call(x)

    def call(self, inputs, training=None):
        if self._kernel_act is not None:
            return _dense_op(inputs, self.kernel, self.bias, self._kernel_act)
        return self.activation(_dense_op(inputs, self.kernel, self.bias, "linear"))

    def compute_output_shape(self, input_shape):
        if not input_shape or len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense layer {self.name} needs an input of rank >= 2 with "
                             f"a known last dimension, got {input_shape}")
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        return {**super().get_config(), **config}


class Activation(Layer):
    """Applies an activation function (name or function) to its input."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        self._kernel_act = activations.kernel_name(self.activation)

    def call(self, inputs, training=None):
        if self._kernel_act == "linear":
            return inputs
        if self._kernel_act is not None:
            return K.activation(inputs, self._kernel_act)
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Sets a `rate` fraction of inputs to 0 while training (scaling the
    rest by 1 / (1 - rate)); the identity at inference.

    Args:
        rate: float in [0, 1). noise_shape, seed as in Keras 2.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout layer {self.name}: rate must be in [0, 1), got "
                             f"{rate!r}")
        self.rate = min(1.0, max(0.0, rate))
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True
        self.uses_learning_phase = True
        self._inference_identity = True

    def call(self, inputs, training=None):
        if training and 0.0 < self.rate:
            return K.dropout(inputs, self.rate, self.noise_shape, self.seed)
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def call(self, inputs, training=None):
        return K.batch_flatten(inputs)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f'The shape of the input to "Flatten" (layer {self.name}) '
                             f"is not fully defined (got {rest}). Make sure to pass a "
                             "complete input_shape argument to the first layer.")
        return (input_shape[0], int(np.prod(rest)))


class Reshape(Layer):
    """Reshapes to `target_shape` (batch axis excluded; one -1 allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def _fix_unknown_dimension(self, input_shape, output_shape):
        output_shape = list(output_shape)
        msg = (f"Reshape layer {self.name}: total size of new array must be unchanged "
               f"(input shape {input_shape}, target shape {self.target_shape})")
        known, unknown = 1, None
        for i, d in enumerate(output_shape):
            if d < 0:
                if unknown is not None:
                    raise ValueError(f"Reshape layer {self.name}: can only specify one "
                                     f"unknown dimension, got {self.target_shape}")
                unknown = i
            else:
                known *= d
        original = int(np.prod(input_shape))
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(msg)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(msg)
        return tuple(output_shape)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d
                                             for d in self.target_shape)
        return (input_shape[0],) + self._fix_unknown_dimension(rest, self.target_shape)

    def call(self, inputs, training=None):
        n = np.shape(getattr(inputs, "value", inputs))[0]
        return K.reshape(inputs, (n,) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes; `dims` counts from 1 (Keras 2)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute layer {self.name}: dims must be a permutation of "
                             f"1..{len(self.dims)}, got {self.dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs, training=None):
        return K.permute_dimensions(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs, training=None):
        return K.repeat(inputs, self.n)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wraps an arbitrary function of tensors (written with K ops).

    Args:
        function: f(inputs) (or f(inputs, **arguments)).
        output_shape: tuple (without batch axis) or function of the input
            shape; when None it is inferred by running `function` on small
            dummy batches.
        mask, arguments as in Keras 2.

    Serializing stores the function's bytecode; deserializing runs it, so
    ``from_config`` of a Lambda only accepts that when the caller opts in
    with ``safe_mode=False`` (or passes the function in custom_objects).
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            from ckeras.backend.core import infer_shape
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            dtypes = [K.floatx()] * len(shapes)

            def run(vals):
                return self.function(vals[0] if len(vals) == 1 else vals, **self.arguments)
            out = infer_shape(run, shapes, dtypes)

            def fix(entry):
                shape = entry[0]
                if shape is None:
                    raise ValueError(f"Lambda layer {self.name}: cannot infer the "
                                     "output shape; pass output_shape")
                if shape and shapes[0] and shapes[0][0] is None:
                    shape = (None,) + tuple(shape[1:])
                return shape
            return [fix(e) for e in out] if isinstance(out, list) else fix(out)
        if callable(self._output_shape):
            out = self._output_shape(input_shape)
            return tuple(out) if not isinstance(out, list) else out
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0],) + tuple(self._output_shape)

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    @property
    def _produces_mask(self):
        return self.mask is not None

    def get_config(self):
        def dump(fn):
            if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>" or \
                    getattr(fn, "__closure__", None):
                return marshal.dumps(fn.__code__).hex(), "lambda"
            return fn.__name__, "function"
        function, function_type = dump(self.function)
        if callable(self._output_shape):
            output_shape, output_shape_type = dump(self._output_shape)
        else:
            output_shape, output_shape_type = self._output_shape, "raw"
        return {**super().get_config(), "function": function,
                "function_type": function_type, "output_shape": output_shape,
                "output_shape_type": output_shape_type, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from ckeras.utils.generic_utils import get_custom_objects
        config = dict(config)
        objects = dict(get_custom_objects())
        objects.update(custom_objects or {})

        def load(value, kind):
            if kind == "function":
                if value not in objects:
                    raise ValueError(f"Unknown function {value!r} in a Lambda config: "
                                     "pass it in custom_objects")
                return objects[value]
            if kind == "lambda":
                if safe_mode:
                    raise ValueError(
                        "This Lambda layer config holds Python bytecode; loading it "
                        "would run code from the config. Pass the function in "
                        "custom_objects, or call Lambda.from_config(config, "
                        "safe_mode=False) if you trust the source.")
                code = marshal.loads(bytes.fromhex(value))
                return types.FunctionType(code, {**globals(), "K": K, "np": np})
            return value
        function = load(config.pop("function"), config.pop("function_type", "function"))
        output_shape = load(config.pop("output_shape", None),
                            config.pop("output_shape_type", "raw"))
        if isinstance(output_shape, list):
            output_shape = tuple(output_shape)
        return cls(function, output_shape=output_shape, **config)


class Masking(Layer):
    """Masks timesteps whose features all equal `mask_value`: their output
    is zero and compute_mask marks them False."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return K.any(K.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs, training=None):
        x = getattr(inputs, "value", inputs)
        keep = np.any(np.asarray(x) != self.mask_value, axis=-1, keepdims=True)
        return K.multiply(inputs, keep.astype(np.asarray(x).dtype))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class ActivityRegularization(Layer):
    """Identity that adds an activity penalty (l1, l2) to the losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.l1, self.l2 = l1, l2
        self.activity_regularizer = regularizers.L1L2(l1=l1, l2=l2)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
