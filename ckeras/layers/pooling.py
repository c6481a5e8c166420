"""Pooling layers (Keras 2's ``keras.layers.pooling``): max and average
pooling in 1-D and 2-D, and their global forms. 1-D pooling runs the 2-D
kernels with a height of 1."""
from ckeras import backend as K
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_spec import InputSpec
from ckeras.utils import conv_utils


class _Pooling(Layer):
    """Shared by the 1-D and 2-D pooling layers: windows of `pool_size`
    moved by `strides` (None: pool_size), padding 'valid' or 'same'."""

    pool_mode = None

    def __init__(self, rank, pool_size, strides, padding, data_format, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size = conv_utils.normalize_tuple(pool_size, rank, "pool_size")
        self.strides = conv_utils.normalize_tuple(
            pool_size if strides is None else strides, rank, "strides")
        self.padding = conv_utils.normalize_padding(padding)
        self.data_format = (conv_utils.normalize_data_format(data_format) if rank == 2
                            else "channels_last")
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs, training=None):
        if self.rank == 2:
            return K.pool2d(inputs, self.pool_size, self.strides, self.padding,
                            self.data_format, self.pool_mode)
        return K.squeeze(K.pool2d(K.expand_dims(inputs, 1), (1,) + self.pool_size,
                                  (1,) + self.strides, self.padding, "channels_last",
                                  self.pool_mode), 1)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} layer {self.name} expects inputs "
                             f"of rank {self.rank + 2}, got shape {input_shape}")
        first = self.data_format == "channels_first"
        space = input_shape[2:] if first else input_shape[1:-1]
        new = tuple(conv_utils.conv_output_length(n, p, self.padding, s, what="pool_size")
                    for n, p, s in zip(space, self.pool_size, self.strides))
        if first:
            return tuple(input_shape[:2]) + new
        return (input_shape[0],) + new + (input_shape[-1],)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # a too-large window fails here
        self.built = True

    def get_config(self):
        config = {"pool_size": self.pool_size, "padding": self.padding,
                  "strides": self.strides}
        if self.rank == 2:
            config["data_format"] = self.data_format
        return {**super().get_config(), **config}


class MaxPooling2D(_Pooling):
    """Max pooling over spatial windows.

    Args:
        pool_size: int or 2 ints, default (2, 2).
        strides: int, 2 ints or None (then pool_size).
        padding: 'valid' or 'same'.
        data_format: 'channels_last' (default from the config) or 'channels_first'.

    Input shape: 4-D; output shape: (batch, pooled_rows, pooled_cols,
    channels) or (batch, channels, pooled_rows, pooled_cols).
    """

    pool_mode = "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid",
                 data_format=None, **kwargs):
        super().__init__(2, pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(MaxPooling2D):
    """Average pooling over spatial windows ('same' padding averages the
    valid cells only). Args as MaxPooling2D."""

    pool_mode = "avg"


class MaxPooling1D(_Pooling):
    """Max pooling over steps of (batch, steps, features) inputs.

    Args: pool_size (default 2), strides (None: pool_size), padding.
    """

    pool_mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid",
                 data_format="channels_last", **kwargs):
        conv_utils.normalize_data_format_1d(data_format, type(self).__name__)
        super().__init__(1, pool_size, strides, padding, None, **kwargs)


class AveragePooling1D(MaxPooling1D):
    """Average pooling over steps. Args as MaxPooling1D."""

    pool_mode = "avg"


class _GlobalPooling(Layer):
    """Max or mean over every spatial axis: output (batch, channels)."""

    reduce = None

    def __init__(self, rank, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = (conv_utils.normalize_data_format(data_format) if rank == 2
                            else "channels_last")
        self.input_spec = InputSpec(ndim=rank + 2)

    def _axes(self):
        start = 2 if self.data_format == "channels_first" else 1
        return tuple(range(start, start + self.rank))

    def call(self, inputs, training=None):
        fn = K.max if self.reduce == "max" else K.mean
        return fn(inputs, axis=self._axes())

    def compute_output_shape(self, input_shape):
        channel = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        return (input_shape[0], channel)

    def get_config(self):
        config = super().get_config()
        if self.rank == 2:
            config["data_format"] = self.data_format
        return config


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over rows and columns: (batch, channels). Args: data_format."""

    reduce = "max"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(2, data_format, **kwargs)


class GlobalAveragePooling2D(GlobalMaxPooling2D):
    """Mean over rows and columns: (batch, channels). Args: data_format."""

    reduce = "mean"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, features)."""

    reduce = "max"

    def __init__(self, data_format="channels_last", **kwargs):
        conv_utils.normalize_data_format_1d(data_format, type(self).__name__)
        super().__init__(1, **kwargs)


class GlobalAveragePooling1D(GlobalMaxPooling1D):
    """Mean over steps: (batch, features)."""

    reduce = "mean"


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
