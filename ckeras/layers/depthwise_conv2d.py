"""DepthwiseConv2D (Keras 2.1.5+'s ``keras.layers.DepthwiseConv2D``): each
input channel convolved with its own depth_multiplier filters."""
import numpy as np

from ckeras import backend as K
from ckeras import constraints, initializers, regularizers
from ckeras.engine.input_spec import InputSpec
from ckeras.layers.convolutional import Conv2D


def _depth_multiplier(value, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{type(layer).__name__} layer {layer.name}: depth_multiplier "
                         f"must be a positive int, got {value!r}")
    return int(value)


def _input_dim(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} layer {layer.name} expects inputs of "
                         f"rank 4, got shape {tuple(input_shape)}")
    input_dim = input_shape[layer._channel_axis]
    if input_dim is None:
        raise ValueError(f"{type(layer).__name__} layer {layer.name}: the channel "
                         "dimension of the inputs should be defined, found None (input "
                         f"shape {tuple(input_shape)})")
    return input_dim


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution: output channel ``c * depth_multiplier + m``
    is input channel c convolved with ``depthwise_kernel[:, :, c, m]``, plus
    a bias, then the activation.

    Args:
        kernel_size: int or 2 ints (height, width) of the window.
        strides: int or 2 ints (default 1); > 1 excludes dilation_rate > 1.
        padding: 'valid' or 'same'.
        depth_multiplier: positive int, filters per input channel.
        data_format: 'channels_last' (default from the config) or
            'channels_first'.
        dilation_rate: int or 2 ints (default 1; Keras 2.3's argument).
        activation, use_bias, bias_initializer, bias_regularizer,
        activity_regularizer, bias_constraint: as for Conv2D.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint:
            for the depthwise kernel (default glorot_uniform, None, None).

    Input shape: (batch, rows, cols, channels) or (batch, channels, rows, cols).
    Output shape: (batch, new_rows, new_cols, channels * depth_multiplier) or
    (batch, channels * depth_multiplier, new_rows, new_cols). Weights:
    depthwise_kernel (kh, kw, channels, depth_multiplier), bias
    (channels * depth_multiplier,).

    Example:
        ``DepthwiseConv2D(3, padding='same', depth_multiplier=2)``
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        # Conv2D's kernel_* slots hold the depthwise kernel's settings;
        # filters is a placeholder (the output has channels * multiplier)
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = _depth_multiplier(depth_multiplier, self)
        self.depthwise_initializer = self.kernel_initializer
        self.depthwise_regularizer = self.kernel_regularizer
        self.depthwise_constraint = self.kernel_constraint
        self.depthwise_kernel = None

    def build(self, input_shape):
        input_dim = _input_dim(self, input_shape)
        self.filters = input_dim * self.depth_multiplier
        self.compute_output_shape(input_shape)  # a too-large kernel fails here
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (input_dim, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: input_dim})
        self.built = True

    def call(self, inputs, training=None):
        y = K.depthwise_conv2d_bias(inputs, self.depthwise_kernel, self.bias,
                                    self.strides, self.padding, self.data_format,
                                    self.dilation_rate)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        channels = tuple(input_shape)[self._channel_axis] if len(input_shape) == 4 else None
        shape = list(super().compute_output_shape(input_shape))
        shape[self._channel_axis] = None if channels is None else (
            channels * self.depth_multiplier)
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_initializer", "kernel_regularizer",
                    "kernel_constraint"):
            config.pop(key)
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = initializers.serialize(self.depthwise_initializer)
        config["depthwise_regularizer"] = regularizers.serialize(self.depthwise_regularizer)
        config["depthwise_constraint"] = constraints.serialize(self.depthwise_constraint)
        return config
