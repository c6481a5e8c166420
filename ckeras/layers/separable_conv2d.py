"""SeparableConv2D (Keras 2's ``keras.layers.SeparableConv2D``, alias
``SeparableConvolution2D``): a depthwise convolution, then a pointwise
(1x1) one that mixes the channels, plus bias and activation."""
from ckeras import backend as K
from ckeras import constraints, initializers, regularizers
from ckeras.engine.input_spec import InputSpec
from ckeras.layers.convolutional import Conv2D
from ckeras.layers.depthwise_conv2d import _depth_multiplier, _input_dim


class SeparableConv2D(Conv2D):
    """Depthwise separable 2-D convolution.

    Args:
        filters: positive int, the number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate: as for
            Conv2D (they apply to the depthwise step).
        depth_multiplier: positive int, depthwise filters per input channel.
        activation, use_bias, bias_initializer, bias_regularizer,
        activity_regularizer, bias_constraint: as for Conv2D.
        depthwise_initializer, pointwise_initializer: default glorot_uniform.
        depthwise_regularizer, pointwise_regularizer, depthwise_constraint,
        pointwise_constraint: default None.

    Input shape: (batch, rows, cols, channels) or (batch, channels, rows, cols).
    Output shape: as Conv2D's. Weights, in order: depthwise_kernel
    (kh, kw, channels, depth_multiplier), pointwise_kernel
    (1, 1, channels * depth_multiplier, filters), bias (filters,).

    Example:
        ``SeparableConv2D(64, 3, padding='same', activation='relu')``
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), depth_multiplier=1,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias,
                         bias_initializer=bias_initializer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _depth_multiplier(depth_multiplier, self)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.depthwise_kernel = self.pointwise_kernel = None

    def build(self, input_shape):
        input_dim = _input_dim(self, input_shape)
        self.compute_output_shape(input_shape)  # a too-large kernel fails here
        dm = self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (input_dim, dm),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, input_dim * dm, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: input_dim})
        self.built = True

    def call(self, inputs, training=None):
        y = K.depthwise_conv2d_bias(inputs, self.depthwise_kernel, None, self.strides,
                                    self.padding, self.data_format, self.dilation_rate)
        y = K.pointwise_bias_act(y, self.pointwise_kernel, self.bias, self.data_format,
                                 self._kernel_act or "linear")
        return y if self._kernel_act is not None else self.activation(y)

    def get_config(self):
        config = super().get_config()
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key)
        config.update({
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        })
        return config


SeparableConvolution2D = SeparableConv2D
