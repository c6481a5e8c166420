"""Convolution layers (Keras 2's ``keras.layers.convolutional``): Conv1D,
Conv2D, and the spatial layers ZeroPadding, Cropping and UpSampling in 1-D
and 2-D. Conv1D runs the 2-D kernels with a height of 1."""
import numpy as np

from ckeras import activations, constraints, initializers, regularizers
from ckeras import backend as K
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_spec import InputSpec
from ckeras.layers.core import kernel_bias_config
from ckeras.utils import conv_utils


class _Conv(Layer):
    """Shared by Conv1D and Conv2D: ``activation(conv(inputs, kernel) + bias)``.

    The kernel has shape ``kernel_size + (input_channels, filters)``; weights
    are created kernel then bias (the ``get_weights`` and HDF5 order).
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(filters, bool) or not isinstance(filters, (int, np.integer))
                or filters <= 0):
            raise ValueError(f"{type(self).__name__} layer {self.name}: filters must be "
                             f"a positive int, got {filters!r}")
        self.rank = rank
        self.filters = int(filters)
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = conv_utils.normalize_padding(padding, allowed)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, rank,
                                                        "dilation_rate")
        if max(self.dilation_rate) > 1 and max(self.strides) > 1:
            raise ValueError(
                f"{type(self).__name__} layer {self.name}: dilation_rate "
                f"{self.dilation_rate} > 1 together with strides {self.strides} > 1 is "
                "not supported (as in Keras 2); use strides=1 or dilation_rate=1")
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
        self.input_spec = InputSpec(ndim=rank + 2)
        self.kernel = self.bias = None

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def build(self, input_shape):
        input_dim = input_shape[self._channel_axis]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} layer {self.name}: the channel "
                             "dimension of the inputs should be defined, found None "
                             f"(input shape {input_shape})")
        self.compute_output_shape(input_shape)  # a too-large kernel fails here
        self.kernel = self.add_weight("kernel", self._kernel_shape(input_dim),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    axes={self._channel_axis: input_dim})
        self.built = True

    def _kernel_shape(self, input_dim):
        return self.kernel_size + (input_dim, self.filters)

    def call(self, inputs, training=None):
        act = self._kernel_act or "linear"
        if self.rank == 2:
            y = K.conv2d_bias_act(inputs, self.kernel, self.bias, self.strides,
                                  self.padding, self.data_format, self.dilation_rate, act)
        else:  # (N, T, C) as (N, 1, T, C) through the 2-D kernel
            y = K.squeeze(K.conv2d_bias_act(
                K.expand_dims(inputs, 1), K.expand_dims(self.kernel, 0), self.bias,
                (1,) + self.strides, self.padding, "channels_last",
                (1,) + self.dilation_rate, act), 1)
        return y if self._kernel_act is not None else self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} layer {self.name} expects inputs "
                             f"of rank {self.rank + 2}, got shape {input_shape}")
        first = self.data_format == "channels_first"
        space = input_shape[2:] if first else input_shape[1:-1]
        new_space = tuple(conv_utils.conv_output_length(
            n, k, self.padding, s, d) for n, k, s, d in zip(
                space, self.kernel_size, self.strides, self.dilation_rate))
        if first:
            return (input_shape[0], self.filters) + new_space
        return (input_shape[0],) + new_space + (self.filters,)

    def get_config(self):
        config = {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            **kernel_bias_config(self),
        }
        return {**super().get_config(), **config}


class Conv2D(_Conv):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or 2 ints (height, width) of the window.
        strides: int or 2 ints (default 1); > 1 excludes dilation_rate > 1.
        padding: 'valid' (no padding) or 'same' (output size
            ceil(input / stride), TensorFlow's split of the padding).
        data_format: 'channels_last' (default from ~/.keras/keras.json) or
            'channels_first'.
        dilation_rate: int or 2 ints (default 1).
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as for Dense.

    Input shape: (batch, rows, cols, channels) or (batch, channels, rows, cols).
    Output shape: (batch, new_rows, new_cols, filters) or
    (batch, filters, new_rows, new_cols). Kernel: (kh, kw, channels, filters).

    Example:
        ``Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1))``
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint,
                         **kwargs)


class Conv1D(_Conv):
    """1-D (temporal) convolution over (batch, steps, channels) inputs.

    Args as Conv2D with single ints; padding may also be 'causal' (output
    step t sees inputs up to t only). Kernel: (kernel_size, channels,
    filters). Output shape: (batch, new_steps, filters).

    Example:
        ``Conv1D(64, 3, activation='relu', input_shape=(100, 16))``
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, activation=None,
                 use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        if "input_shape" not in kwargs and "input_dim" in kwargs:
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim"))
        conv_utils.normalize_data_format_1d(data_format, "Conv1D")
        super().__init__(1, filters, kernel_size, strides, padding, "channels_last",
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        return config


def _normalize_pairs(value, rank, name):
    """((before, after),) * rank from an int, rank ints, or rank pairs."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pairs = ((int(value), int(value)),) * rank
    elif isinstance(value, (tuple, list)) and len(value) == rank and all(
            isinstance(v, (int, np.integer)) for v in value):
        pairs = tuple((int(v), int(v)) for v in value)
    elif isinstance(value, (tuple, list)) and len(value) == rank:
        pairs = tuple(conv_utils.normalize_tuple(v, 2, name, minimum=0) for v in value)
    elif rank == 1 and isinstance(value, (tuple, list)) and len(value) == 2:
        pairs = (conv_utils.normalize_tuple(tuple(value), 2, name, minimum=0),)
    else:
        raise ValueError(f"`{name}` must be an int, a tuple of {rank} ints or a tuple "
                         f"of {rank} tuples of 2 ints, got {value!r}")
    if any(v < 0 for p in pairs for v in p):
        raise ValueError(f"`{name}` must be >= 0, got {value!r}")
    return pairs


class _Spatial(Layer):
    """Shared by the padding, cropping and upsampling layers."""

    def __init__(self, rank, data_format, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = (conv_utils.normalize_data_format(data_format) if rank == 2
                            else "channels_last")
        self.input_spec = InputSpec(ndim=rank + 2)

    def _space(self, shape):
        return (tuple(shape[2:]) if self.data_format == "channels_first"
                else tuple(shape[1:-1]))

    def _with_space(self, shape, space):
        if self.data_format == "channels_first":
            return tuple(shape[:2]) + tuple(space)
        return (shape[0],) + tuple(space) + (shape[-1],)

    def get_config(self):
        config = super().get_config()
        if self.rank == 2:
            config["data_format"] = self.data_format
        return config


class _ZeroPadding(_Spatial):
    def __init__(self, rank, padding, data_format=None, **kwargs):
        super().__init__(rank, data_format, **kwargs)
        self.padding = _normalize_pairs(padding, rank, "padding")

    def call(self, inputs, training=None):
        return K.spatial_padding(inputs, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        return self._with_space(input_shape, tuple(
            None if n is None else n + p[0] + p[1]
            for n, p in zip(self._space(input_shape), self.padding)))

    def get_config(self):
        pad = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": pad}


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros around an image.

    Args:
        padding: int (same on all sides), (rows, cols) symmetric, or
            ((top, bottom), (left, right)).
        data_format: 'channels_last' (default from the config) or 'channels_first'.
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(2, padding, data_format, **kwargs)


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros at the start and end of a sequence: padding int or (start, end)."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(1, padding, **kwargs)


class _Cropping(_Spatial):
    def __init__(self, rank, cropping, data_format=None, **kwargs):
        super().__init__(rank, data_format, **kwargs)
        self.cropping = _normalize_pairs(cropping, rank, "cropping")

    def call(self, inputs, training=None):
        shape = np.shape(getattr(inputs, "value", inputs))
        index = [slice(None)] * len(shape)
        first = 2 if self.data_format == "channels_first" else 1
        for i, (n, (a, b)) in enumerate(zip(self._space(shape), self.cropping)):
            if n - a - b < 1:
                raise ValueError(f"{type(self).__name__} layer {self.name}: cropping "
                                 f"{self.cropping} leaves nothing of input shape {shape}")
            index[first + i] = slice(a, n - b)
        return K.getitem(inputs, tuple(index))

    def compute_output_shape(self, input_shape):
        space = []
        for n, (a, b) in zip(self._space(input_shape), self.cropping):
            if n is not None and n - a - b < 1:
                raise ValueError(f"{type(self).__name__} layer {self.name}: cropping "
                                 f"{self.cropping} leaves nothing of input shape "
                                 f"{input_shape}")
            space.append(None if n is None else n - a - b)
        return self._with_space(input_shape, space)

    def get_config(self):
        crop = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": crop}


class Cropping2D(_Cropping):
    """Crops rows and columns off an image.

    Args:
        cropping: int, (rows, cols) symmetric, or ((top, bottom), (left, right)).
        data_format: 'channels_last' (default from the config) or 'channels_first'.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(2, cropping, data_format, **kwargs)


class Cropping1D(_Cropping):
    """Crops steps off the start and end of a sequence: cropping (start, end)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, cropping, **kwargs)


class _UpSampling(_Spatial):
    def __init__(self, rank, size, data_format=None, **kwargs):
        super().__init__(rank, data_format, **kwargs)
        self.size = conv_utils.normalize_tuple(size, rank, "size")

    def call(self, inputs, training=None):
        first = 2 if self.data_format == "channels_first" else 1
        for i, s in enumerate(self.size):
            if s > 1:
                inputs = K.repeat_elements(inputs, s, first + i)
        return inputs

    def compute_output_shape(self, input_shape):
        return self._with_space(input_shape, tuple(
            None if n is None else n * s
            for n, s in zip(self._space(input_shape), self.size)))

    def get_config(self):
        size = self.size[0] if self.rank == 1 else self.size
        return {**super().get_config(), "size": size}


class UpSampling2D(_UpSampling):
    """Repeats rows and columns: size (rows, cols) factors, default (2, 2)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest",
                 **kwargs):
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: interpolation={interpolation!r} is not "
                             "supported; only 'nearest'")
        super().__init__(2, size, data_format, **kwargs)


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times (default 2)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(1, size, **kwargs)


Convolution1D = Conv1D
Convolution2D = Conv2D

# Defined in their own files (they build on Conv2D above); Keras 2 exports
# them from keras.layers.convolutional.
from ckeras.layers.conv2d_transpose import Conv2DTranspose, Deconvolution2D  # noqa: E402,F401
from ckeras.layers.depthwise_conv2d import DepthwiseConv2D  # noqa: E402,F401
from ckeras.layers.separable_conv2d import (SeparableConv2D,  # noqa: E402,F401
                                            SeparableConvolution2D)
