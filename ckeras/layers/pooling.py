"""Pooling layers (Keras 2's ``keras.layers.pooling``): max and average
pooling in 1-D and 2-D, and their global versions. The 3-D layers are not
implemented yet; GlobalAveragePooling1D ignores masks."""
from ckeras import backend as K
from ckeras.backend import conv_ops, native
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_spec import InputSpec
from ckeras.layers.convolutional import normalize_padding, normalize_tuple


class _Pooling2D(Layer):
    pool_mode = "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid",
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, 2,
                                       "strides")
        self.padding = normalize_padding(padding, ("valid", "same"))
        self.data_format = conv_ops.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs, training=None):
        return conv_ops.pool2d(inputs, self.pool_size, self.strides, self.padding,
                               self.data_format, self.pool_mode)

    def compute_output_shape(self, input_shape):
        return native.pool_output_shape(tuple(input_shape), self.pool_size, self.strides,
                                        self.padding, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "padding": self.padding, "strides": self.strides,
                "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """Max over pool_size windows (strides None means pool_size); padding
    'valid' or 'same'; data_format None means K.image_data_format()."""
    pool_mode = "max"


class AveragePooling2D(_Pooling2D):
    """Mean over pool_size windows; with 'same' padding, over the valid
    cells only (TensorFlow)."""
    pool_mode = "avg"


class _Pooling1D(Layer):
    pool_mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid",
                 data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size")
        self.strides = normalize_tuple(self.pool_size if strides is None else strides, 1,
                                       "strides")
        self.padding = normalize_padding(padding, ("valid", "same"))
        self.data_format = conv_ops.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs, training=None):
        return conv_ops.pool1d(inputs, self.pool_size[0], self.strides[0], self.padding,
                               self.data_format, self.pool_mode)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        axis = 1 if self.data_format == "channels_last" else 2
        out = native.pool_output_shape(shape[:axis] + (1,) + shape[axis:],
                                       (1,) + self.pool_size, (1,) + self.strides,
                                       self.padding, self.data_format)
        return out[:axis] + out[axis + 1:]

    def get_config(self):
        return {**super().get_config(), "strides": self.strides,
                "pool_size": self.pool_size, "padding": self.padding,
                "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """Max over windows of pool_size steps of (batch, steps, channels)."""
    pool_mode = "max"


class AveragePooling1D(_Pooling1D):
    """Mean over windows of pool_size steps of (batch, steps, channels)."""
    pool_mode = "avg"


class _GlobalPooling(Layer):
    rank = 2
    reduce = "max"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format is None and self.rank == 1:
            data_format = "channels_last"
        self.data_format = conv_ops.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs, training=None):
        fn = K.max if self.reduce == "max" else K.mean
        return fn(inputs, axis=self._axes())

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over the spatial axes: (N, H, W, C) -> (N, C)."""
    rank, reduce = 2, "max"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over the spatial axes: (N, H, W, C) -> (N, C)."""
    rank, reduce = 2, "mean"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (N, steps, C) -> (N, C)."""
    rank, reduce = 1, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (N, steps, C) -> (N, C) (masks are ignored)."""
    rank, reduce = 1, "mean"


# Keras 2 aliases
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
