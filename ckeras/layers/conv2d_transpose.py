"""Conv2DTranspose (Keras 2's ``keras.layers.Conv2DTranspose``, alias
``Deconvolution2D``): the transposed convolution, Conv2D's gradient with
respect to its input run as a forward op."""
import numpy as np

from ckeras import backend as K
from ckeras.layers.convolutional import Conv2D
from ckeras.utils import conv_utils


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution ("deconvolution"), e.g. to upsample.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or 2 ints (height, width) of the window.
        strides: int or 2 ints (default 1), the upsampling factors; > 1
            excludes dilation_rate > 1.
        padding: 'valid' or 'same'.
        output_padding: None (infer the output size) or an int or 2 ints,
            each smaller than its stride: the extra rows/columns at the end
            (Keras 2.2.3+).
        data_format: 'channels_last' (default from the config) or
            'channels_first'.
        dilation_rate: int or 2 ints (default 1).
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as for Conv2D.

    Input shape: (batch, rows, cols, channels) or (batch, channels, rows, cols).
    Output shape: (batch, new_rows, new_cols, filters) or
    (batch, filters, new_rows, new_cols), each new size Keras 2's
    ``conv_utils.deconv_length``. Kernel: (kh, kw, filters, channels).

    Example:
        ``Conv2DTranspose(16, 3, strides=2, padding='same')`` doubles the
        rows and columns of its input.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint,
                         **kwargs)
        self.output_padding = output_padding
        if output_padding is not None:
            self.output_padding = conv_utils.normalize_tuple(output_padding, 2,
                                                             "output_padding", minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"Conv2DTranspose layer {self.name}: strides "
                                 f"{self.strides} must be greater than output_padding "
                                 f"{self.output_padding}")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"Conv2DTranspose layer {self.name} expects inputs of rank "
                             f"4, got shape {tuple(input_shape)}")
        super().build(input_shape)  # its compute_output_shape checks the fit

    def _kernel_shape(self, input_dim):
        return self.kernel_size + (self.filters, input_dim)

    def _space(self, shape):
        first = self.data_format == "channels_first"
        return tuple(shape[2:]) if first else tuple(shape[1:3])

    def _output_space(self, space):
        pads = self.output_padding or (None, None)
        return tuple(conv_utils.deconv_length(n, s, k, self.padding, p, d)
                     for n, s, k, p, d in zip(space, self.strides, self.kernel_size, pads,
                                              self.dilation_rate))

    def _check_fits(self, space):
        """The matching Conv2D must map the output size back to the input's
        (with 'same', an even kernel and output_padding 0 it cannot)."""
        for n, out, k, s, d in zip(space, self._output_space(space), self.kernel_size,
                                   self.strides, self.dilation_rate):
            if n is not None and (out < 1 or conv_utils.conv_output_length(
                    out, k, self.padding, s, d) != n):
                raise ValueError(
                    f"Conv2DTranspose layer {self.name}: an input size {n} gives an output "
                    f"size {out} that a Conv2D with kernel {k}, stride {s} and padding "
                    f"{self.padding!r} does not map back to {n}; change output_padding")

    def call(self, inputs, training=None):
        act = self._kernel_act or "linear"
        space = self._space(np.shape(getattr(inputs, "value", inputs)))
        self._check_fits(space)
        y = K.conv2d_transpose_bias_act(inputs, self.kernel, self.bias,
                                        self._output_space(space), self.strides,
                                        self.padding, self.data_format,
                                        self.dilation_rate, act)
        return y if self._kernel_act is not None else self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(f"Conv2DTranspose layer {self.name} expects inputs of rank "
                             f"4, got shape {input_shape}")
        space = self._space(input_shape)
        self._check_fits(space)
        new_space = self._output_space(space)
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters) + new_space
        return (input_shape[0],) + new_space + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "output_padding": self.output_padding}


Deconvolution2D = Conv2DTranspose
