"""Weight initializers (Keras 2's ``keras.initializers``), by name,
object or config. Random ones draw from numpy's global generator unless
given a seed, so ``np.random.seed`` makes models reproducible."""
import numpy as np

from ckeras.utils.generic_utils import deserialize_keras_object, serialize_keras_object


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _rng(seed):
    return np.random.RandomState(seed) if seed is not None else np.random


def _out(x, dtype):
    return np.asarray(x, dtype=dtype or "float32")


_CHUNK = 1 << 18  # float64 draws made at a time (2 MB)


def _drawn(shape, dtype, draw):
    """An array of `shape` and `dtype` filled with draw(n) (float64 values)
    chunk by chunk, in order: the values, and the generator's state after,
    are those of a single draw of the whole size, without a float64 array
    of the whole size (twice the float32 weight) on the way."""
    out = np.empty(shape, dtype=dtype or "float32")
    flat = out.reshape(-1)
    for start in range(0, flat.size, _CHUNK):
        stop = min(flat.size, start + _CHUNK)
        flat[start:stop] = draw(stop - start)
    return out


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or "float32")


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=dtype or "float32")


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or "float32")

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        rng = _rng(self.seed)
        return _drawn(shape, dtype, lambda n: rng.normal(self.mean, self.stddev, n))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        rng = _rng(self.seed)
        return _drawn(shape, dtype, lambda n: rng.uniform(self.minval, self.maxval, n))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, mean, stddev, shape, dtype):
    """mean + stddev * x with x normal draws, those beyond two standard
    deviations redrawn (all of them, in index order, until none is left).
    The first draw is made chunk by chunk (see _drawn)."""
    bad = []

    def draw(n):
        x = rng.normal(0.0, 1.0, n)
        bad.append(np.flatnonzero(np.abs(x) > 2) + len(bad) * _CHUNK)
        return mean + stddev * x
    out = _drawn(shape, dtype, draw)
    flat = out.reshape(-1)
    idx = np.concatenate(bad) if bad else np.zeros(0, np.intp)
    while idx.size:
        x = rng.normal(0.0, 1.0, idx.size)
        flat[idx] = mean + stddev * x
        idx = idx[np.abs(x) > 2]
    return out


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _truncated_normal(_rng(self.seed), self.mean, self.stddev, shape, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _compute_fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) in (3, 4, 5):
        field = int(np.prod(shape[:-2]))
        return shape[-2] * field, shape[-1] * field
    n = np.sqrt(np.prod(shape)) if shape else 1
    return n, n


class VarianceScaling(Initializer):
    """Draws with variance scale / fan (fan_in, fan_out or their mean)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be a positive float. Got: {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Invalid `mode` argument: expected one of ('fan_in', "
                             f"'fan_out', 'fan_avg') but got {mode!r}")
        if distribution not in ("normal", "uniform"):
            raise ValueError("Invalid `distribution` argument: expected one of "
                             f"('normal', 'uniform') but got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = (
            scale, mode, distribution, seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _compute_fans(shape)
        scale = self.scale / max(1.0, {"fan_in": fan_in, "fan_out": fan_out,
                                       "fan_avg": (fan_in + fan_out) / 2.0}[self.mode])
        rng = _rng(self.seed)
        if self.distribution == "normal":
            return _truncated_normal(rng, 0.0, np.sqrt(scale), shape, dtype)
        limit = np.sqrt(3.0 * scale)
        return _drawn(shape, dtype, lambda n: rng.uniform(-limit, limit, n))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        flat = (int(np.prod(shape[:-1])), shape[-1])
        a = _rng(self.seed).normal(0.0, 1.0, flat)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat else v
        return _out(self.gain * q.reshape(shape), dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D "
                             f"matrices, got shape {shape}")
        return _out(self.gain * np.eye(shape[0], shape[1]), dtype)

    def get_config(self):
        return {"gain": self.gain}


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "normal", seed)


def glorot_normal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "normal", seed)


def glorot_uniform(seed=None):
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


zero = zeros = Zeros
one = ones = Ones
constant = Constant
uniform = random_uniform = RandomUniform
normal = random_normal = RandomNormal
truncated_normal = TruncatedNormal
identity = Identity
orthogonal = Orthogonal

_OBJECTS = {k: v for k, v in globals().items()
            if isinstance(v, type) and issubclass(v, Initializer) or k in (
                "lecun_uniform", "lecun_normal", "glorot_normal", "glorot_uniform",
                "he_normal", "he_uniform")}


def returns_fresh_array(initializer):
    """Whether `initializer` is one of ckeras' own, which return a new array
    on every call (so a Variable may take it without copying)."""
    return type(initializer) in _BUILTIN


def serialize(initializer):
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, module_objects=_OBJECTS,
                                    custom_objects=custom_objects,
                                    printable_module_name="initializer")


_BUILTIN = frozenset(v for v in _OBJECTS.values() if isinstance(v, type))


def get(identifier):
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = deserialize(identifier)
        return obj() if isinstance(obj, type) or not isinstance(obj, Initializer) else obj
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
