"""Argument normalisation and shape arithmetic shared by the convolution and
pooling layers (Keras 2's ``keras.utils.conv_utils``)."""
import numpy as np

from ckeras import backend as K


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def normalize_tuple(value, n, name, minimum=1):
    """An n-tuple of ints >= minimum from an int or an n-sequence."""
    if _is_int(value):
        value = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
            _is_int(v) for v in value):
        value = tuple(int(v) for v in value)
    else:
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} "
                         f"ints, got {value!r}")
    if any(v < minimum for v in value):
        raise ValueError(f"The `{name}` argument must hold ints >= {minimum}, got "
                         f"{value!r}")
    return value


def normalize_data_format(value):
    """'channels_last' or 'channels_first'; None reads K.image_data_format()."""
    if value is None:
        value = K.image_data_format()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of "
                         f"'channels_first', 'channels_last', got {value!r}")
    return value


def normalize_padding(value, allowed=("valid", "same")):
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError("The `padding` argument must be one of "
                         f"{', '.join(repr(a) for a in allowed)}, got {value!r}")
    return padding


def conv_output_length(input_length, filter_size, padding, stride, dilation=1,
                       what="kernel"):
    """Keras 2's output length of one spatial axis (None stays None); a
    window larger than the padded input is a ValueError."""
    if input_length is None:
        return None
    span = filter_size + (filter_size - 1) * (dilation - 1)
    if padding in ("same", "causal"):
        length = input_length
    elif padding == "valid":
        length = input_length - span + 1
    else:  # 'full'
        length = input_length + span - 1
    if length < 1:
        raise ValueError(
            f"The {what} (size {filter_size}, dilation {dilation}: spans {span}) is "
            f"larger than the input along a spatial axis (size {input_length}, "
            f"padding={padding!r}); use padding='same', a smaller {what}, or a "
            "larger input")
    return (length + stride - 1) // stride


def normalize_data_format_1d(data_format, what):
    """A 1-D layer's data_format: Keras 2.2 accepts the argument (and writes
    it in configs); ckeras runs 1-D layers channels_last only, so
    'channels_first' is refused instead of being silently ignored."""
    fmt = normalize_data_format(data_format)
    if fmt != "channels_last":
        raise ValueError(f"{what}: only data_format='channels_last' is supported for "
                         f"1-D layers, got {data_format!r}")
    return fmt


def deconv_length(dim_size, stride_size, kernel_size, padding, output_padding,
                  dilation=1):
    """Keras 2's output length of one axis of a transposed convolution
    (None stays None): output_padding None infers it, an int fixes it."""
    if dim_size is None:
        return None
    if padding not in ("valid", "same", "full"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same', "
                         f"'full', got {padding!r}")
    kernel_size = kernel_size + (kernel_size - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return dim_size * stride_size + max(kernel_size - stride_size, 0)
        if padding == "full":
            return dim_size * stride_size - (stride_size + kernel_size - 2)
        return dim_size * stride_size
    pad = {"same": kernel_size // 2, "valid": 0, "full": kernel_size - 1}[padding]
    return (dim_size - 1) * stride_size + kernel_size - 2 * pad + output_padding
