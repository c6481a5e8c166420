"""Merge layers and their functional forms (Keras 2's ``keras.layers.merge``):
Add, Subtract, Multiply, Average, Maximum, Concatenate, Dot."""
import numpy as np

from ckeras import backend as K
from ckeras.engine.base_layer import Layer


class _Merge(Layer):
    """Elementwise merge of a list of inputs (numpy-style broadcasting)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    _produces_mask = False  # only combines input masks

    def compute_mask(self, inputs, mask=None):
        """Keras 2: a step is kept when every input's mask keeps it."""
        masks = [K.expand_dims(m, 0) for m in (mask or []) if m is not None]
        return K.all(K.concatenate(masks, axis=0), axis=0) if masks else None

    def _check_list(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of "
                             f"at least 2 inputs. Got {input_shape!r}")

    @staticmethod
    def _broadcast(shape1, shape2, name):
        if shape1 is None or shape2 is None:
            return None
        if len(shape1) < len(shape2):
            return _Merge._broadcast(shape2, shape1, name)
        out = list(shape1[:len(shape1) - len(shape2)])
        for a, b in zip(shape1[len(shape1) - len(shape2):], shape2):
            if a is None or b is None:
                out.append(None)
            elif a == 1:
                out.append(b)
            elif b == 1 or a == b:
                out.append(a)
            else:
                raise ValueError(f"Operands could not be broadcast together with shapes "
                                 f"{shape1} {shape2} (layer {name})")
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shape = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            shape = self._broadcast(shape, tuple(s[1:]), self.name)
        batch = {s[0] for s in input_shape if s[0] is not None}
        return ((batch.pop() if len(batch) == 1 else None),) + shape

    def call(self, inputs, training=None):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out


class Add(_Merge):
    _merge = staticmethod(K.add)


class Subtract(_Merge):
    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer ({self.name}) should be called on "
                             f"exactly 2 inputs, got {len(input_shape)}")

    def call(self, inputs, training=None):
        return K.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    _merge = staticmethod(K.multiply)


class Maximum(_Merge):
    _merge = staticmethod(K.maximum)


class Minimum(_Merge):
    _merge = staticmethod(K.minimum)


class Average(_Merge):
    def call(self, inputs, training=None):
        out = inputs[0]
        for x in inputs[1:]:
            out = K.add(out, x)
        return K.divide(out, float(len(inputs)))


class Concatenate(_Merge):
    """Concatenates a list of inputs along `axis` (default last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def compute_mask(self, inputs, mask=None):
        """Keras 2: the input masks (all-True for unmasked inputs) joined
        along the axis, then reduced over the last axis."""
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = K.not_equal(K.ones_like(x), 0)
            elif K.ndim(m) < K.ndim(x):
                m = K.expand_dims(m)
            full.append(m)
        return K.all(K.concatenate(full, axis=self.axis), axis=-1)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        axis = self.axis % rank
        for s in shapes[1:]:
            if len(s) != rank or any(a is not None and b is not None and a != b
                                     for i, (a, b) in enumerate(zip(shapes[0], s))
                                     if i != axis):
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except "
                    f"for the concat axis. Got inputs shapes: {shapes} (layer "
                    f"{self.name}, axis {self.axis})")
        out = list(shapes[0])
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def call(self, inputs, training=None):
        return K.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two samples-batches along `axes` (optionally of the
    l2-normalized inputs, i.e. cosine proximity)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
        self.normalize = normalize

    def _axes(self, shape1, shape2):
        axes = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        return axes[0] % len(shape1), axes[1] % len(shape2)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer ({self.name}) should be called on a list "
                             f"of 2 inputs, got {input_shape!r}")
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes(s1, s2)
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Dimension incompatibility {s1[a1]} != {s2[a2]}. Layer "
                             f"shapes: {s1}, {s2} (layer {self.name})")
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def call(self, inputs, training=None):
        x1, x2 = inputs
        a1, a2 = self._axes(np.shape(getattr(x1, "value", x1)),
                            np.shape(getattr(x2, "value", x2)))
        if self.normalize:
            x1 = K.l2_normalize(x1, axis=a1)
            x2 = K.l2_normalize(x2, axis=a2)
        return K.batch_dot(x1, x2, axes=(a1, a2))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
