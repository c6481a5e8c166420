"""Convolution layers (Keras 2's ``keras.layers.convolutional``): Conv1D,
Conv2D, and the spatial reshuffles ZeroPadding2D, Cropping2D,
UpSampling2D. SeparableConv2D, Conv2DTranspose, Conv3D and the 1-D/3-D
padding/cropping/upsampling layers are not implemented yet."""
import numpy as np

from ckeras import activations, constraints, initializers, regularizers
from ckeras.backend import conv_ops, native
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_spec import InputSpec


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def normalize_tuple(value, n, name, minimum=1):
    """A tuple of n ints >= minimum from an int or an n-sequence (Keras 2's
    conv_utils.normalize_tuple)."""
    if _is_int(value):
        out = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
            _is_int(v) for v in value):
        out = tuple(int(v) for v in value)
    else:
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} ints, "
                         f"got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"The `{name}` argument must be >= {minimum}, got {value!r}")
    return out


def normalize_padding(value, allowed):
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of "
                         f"{', '.join(repr(a) for a in allowed)}, got {value!r}")
    return padding


class _Conv(Layer):
    """Shared body of Conv1D and Conv2D (rank 1 or 2)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if not _is_int(filters) or filters <= 0:
            raise ValueError(f"{cls} layer {self.name}: filters must be a positive int, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.padding = normalize_padding(
            padding, ("valid", "same", "causal") if self.rank == 1 else ("valid", "same"))
        self.data_format = conv_ops.normalize_data_format(data_format)
        if self.padding == "causal" and self.data_format != "channels_last":
            raise ValueError("padding='causal' needs data_format='channels_last', got "
                             f"{self.data_format!r}")
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.dilation_rate) > 1 and max(self.strides) > 1:
            raise ValueError(f"{cls} layer {self.name}: dilation_rate "
                             f"{self.dilation_rate} > 1 together with strides "
                             f"{self.strides} > 1 is not supported (as in Keras 2 with "
                             "TensorFlow); use strides=1 or dilation_rate=1")
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
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.kernel = self.bias = None

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        axis = self._channel_axis()
        input_dim = input_shape[axis]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} layer {self.name}: the channel "
                             f"dimension of the inputs should be defined, got input "
                             f"shape {input_shape}")
        self.kernel = self.add_weight("kernel", self.kernel_size + (input_dim, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: input_dim})
        self.built = True

    def _op(self, inputs, activation):
        if self.rank == 2:
            return conv_ops.conv2d_bias_act(inputs, self.kernel, self.bias, self.strides,
                                            self.padding, self.data_format,
                                            self.dilation_rate, activation)
        return conv_ops.conv1d_bias_act(inputs, self.kernel, self.bias, self.strides,
                                        self.padding, self.data_format,
                                        self.dilation_rate, activation)

    def call(self, inputs, training=None):
        if self._kernel_act is not None:
            return self._op(inputs, self._kernel_act)
        return self.activation(self._op(inputs, "linear"))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} layer {self.name} expects inputs of "
                             f"rank {self.rank + 2}, got shape {shape}")
        if self.rank == 2:
            return native.conv_output_shape(shape, self.kernel_size, self.filters,
                                            self.strides, self.padding,
                                            self.dilation_rate, self.data_format)
        axis = 1 if self.data_format == "channels_last" else 2
        shape4 = shape[:axis] + (1,) + shape[axis:]
        out = native.conv_output_shape(shape4, (1,) + self.kernel_size, self.filters,
                                       (1,) + self.strides, self.padding,
                                       (1,) + self.dilation_rate, self.data_format)
        return out[:axis] + out[axis + 1:]

    def get_config(self):
        config = {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
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


class Conv2D(_Conv):
    """2-D convolution (TensorFlow's cross-correlation):
    ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: positive int, output channels.
        kernel_size, strides, dilation_rate: int or 2 ints.
        padding: 'valid' or 'same'.
        data_format: 'channels_last' (N, H, W, C) or 'channels_first'
            (N, C, H, W); None means K.image_data_format().
        activation, use_bias, initializers, regularizers, constraints: as
            Dense. Weights: kernel (kh, kw, in_channels, filters), bias.
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint,
                         **kwargs)


class Conv1D(_Conv):
    """1-D convolution over the steps of (batch, steps, channels) inputs;
    padding 'valid', 'same' or 'causal' (all the padding before the first
    step, channels_last only). Kernel (kernel_size, in_channels, filters)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        if "input_shape" not in kwargs and "input_dim" in kwargs:
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim"))
        super().__init__(filters, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint,
                         **kwargs)


def _normalize_pairs(value, name):
    """((a, b), (c, d)) from an int, 2 ints or 2 pairs of ints >= 0."""
    if _is_int(value):
        pairs = ((int(value),) * 2,) * 2
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        if all(_is_int(v) for v in value):
            pairs = ((int(value[0]),) * 2, (int(value[1]),) * 2)
        else:
            pairs = tuple(normalize_tuple(v, 2, name, minimum=0) for v in value)
    else:
        raise ValueError(f"`{name}` should be an int, a tuple of 2 ints or a tuple of 2 "
                         f"tuples of 2 ints, got {value!r}")
    if any(v < 0 for p in pairs for v in p):
        raise ValueError(f"`{name}` must be >= 0, got {value!r}")
    return pairs


def _spatial(data_format):
    return (1, 2) if data_format == "channels_last" else (2, 3)


class ZeroPadding2D(Layer):
    """Pads rows and columns of zeros around an image: padding an int, 2
    ints (symmetric height, width padding) or ((top, bottom), (left,
    right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _normalize_pairs(padding, "padding")
        self.data_format = conv_ops.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs, training=None):
        return conv_ops.spatial_2d_padding(inputs, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for ax, (a, b) in zip(_spatial(self.data_format), self.padding):
            if shape[ax] is not None:
                shape[ax] += a + b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class Cropping2D(Layer):
    """Crops ((top, bottom), (left, right)) cells off an image (an int or
    2 ints mean symmetric cropping)."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _normalize_pairs(cropping, "cropping")
        self.data_format = conv_ops.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs, training=None):
        return conv_ops.cropping_2d(inputs, self.cropping, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for ax, (a, b) in zip(_spatial(self.data_format), self.cropping):
            if shape[ax] is not None:
                if a + b >= shape[ax]:
                    raise ValueError(f"Cropping2D layer {self.name}: cropping "
                                     f"{self.cropping} removes every cell of an axis of "
                                     f"size {shape[ax]} (input shape {input_shape})")
                shape[ax] -= a + b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


class UpSampling2D(Layer):
    """Repeats rows size[0] times and columns size[1] times (nearest
    neighbour; interpolation='bilinear' is not implemented)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size")
        self.data_format = conv_ops.normalize_data_format(data_format)
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: interpolation {interpolation!r} is not "
                             "supported; only 'nearest'")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs, training=None):
        return conv_ops.resize_images(inputs, self.size[0], self.size[1],
                                      self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for ax, f in zip(_spatial(self.data_format), self.size):
            if shape[ax] is not None:
                shape[ax] *= f
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size,
                "data_format": self.data_format, "interpolation": self.interpolation}


# Keras 2 aliases
Convolution2D = Conv2D
Convolution1D = Conv1D
