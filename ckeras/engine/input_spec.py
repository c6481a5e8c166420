"""InputSpec: what a layer accepts, checked on every call."""


class InputSpec:
    """Specifies the ndim, dtype and shape of every input to a layer.

    Args:
        dtype: expected dtype, or None.
        shape: expected shape (None entries match anything), or None.
        ndim: expected rank, or None.
        max_ndim, min_ndim: bounds on the rank, or None.
        axes: dict mapping axis -> expected size.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None,
                 min_ndim=None, axes=None):
        self.dtype = dtype
        self.shape = shape
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = axes or {}

    def __repr__(self):
        return (f"InputSpec(dtype={self.dtype}, shape={self.shape}, ndim={self.ndim}, "
                f"max_ndim={self.max_ndim}, min_ndim={self.min_ndim}, axes={self.axes})")


def check_input(layer, spec, shape, index):
    """Raises a ValueError naming the layer when `shape` violates spec."""
    if spec is None or shape is None:
        return
    where = f"Input {index} is incompatible with layer {layer.name}"
    nd = len(shape)
    if spec.ndim is not None and nd != spec.ndim:
        raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={nd} "
                         f"(input shape {shape})")
    if spec.max_ndim is not None and nd > spec.max_ndim:
        raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found "
                         f"ndim={nd} (input shape {shape})")
    if spec.min_ndim is not None and nd < spec.min_ndim:
        raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found "
                         f"ndim={nd} (input shape {shape})")
    for axis, size in spec.axes.items():
        got = shape[axis] if -nd <= axis < nd else None
        if size is not None and got not in (size, None):
            raise ValueError(f"{where}: expected axis {axis} of input shape to have "
                             f"value {size} but got shape {shape}")
    if spec.shape is not None:
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                raise ValueError(f"{where}: expected shape={spec.shape}, found "
                                 f"shape={shape}")
