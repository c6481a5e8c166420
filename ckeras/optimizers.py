"""Optimizers (Keras 2's ``keras.optimizers``) with Keras 2's update rules,
defaults and state order.

Each step runs one fused C kernel per weight, in place on the weight's
float32 C-contiguous buffer (``kernels.sgd_update``, ``rmsprop_update``,
``adagrad_update``, ``adadelta_update``, ``adam_update``); Adamax and
Nadam have no kernel and update with numpy, in place. The step's scalar
learning rate (time decay ``lr / (1 + decay * iterations)``, Adam's bias
correction) is computed in Python from the iteration count *before* the
step, as Keras 2 does. Weight constraints apply after the update.

``lr``, ``decay`` and ``iterations`` are backend Variables, so callbacks
read and write them with ``K.get_value``/``K.set_value``. ``weights``
(and get/set_weights) is the state in Keras 2's order: SGD, Adam, Adamax,
Nadam ``[iterations] + accumulators``; RMSprop, Adagrad, Adadelta the
accumulators only. The state is created on the first step (or by
``build(params)``).
"""
import math

import numpy as np

from ckeras import backend as K
from ckeras._native import kernels
from ckeras.backend.row_slices import RowSlices
from ckeras.utils.generic_utils import deserialize_keras_object, serialize_keras_object

_f32 = np.float32


def _grad32(g, p):
    g = getattr(g, "value", g)
    if g is None or type(g) is RowSlices:
        return g
    if g.dtype != _f32 or not g.flags.c_contiguous:
        g = np.ascontiguousarray(g, dtype=_f32)
    if g.shape != p.shape:
        g = np.ascontiguousarray(np.broadcast_to(g, p.shape), dtype=_f32)
    return g


class Optimizer:
    """Base class: gradient clipping, decay, state, config.

    Args:
        clipnorm: rescale all gradients when their global L2 norm exceeds it.
        clipvalue: clip every gradient element to [-clipvalue, clipvalue].
    """

    _HYPER = ()  # (name, default) of hyperparameters kept as Variables

    # takes RowSlices gradients (an embedding table's, from the training
    # step) in _apply; other optimizers get them as dense arrays
    _ROW_SLICES = False

    def __init__(self, **kwargs):
        allowed = {"clipnorm", "clipvalue"}
        for k in kwargs:
            if k not in allowed:
                raise TypeError(f"Unexpected keyword argument passed to optimizer: "
                                f"{k}. Allowed: {sorted(allowed)}")
        self.__dict__.update(kwargs)
        self.updates = []
        self.weights = []
        self._params = None
        self._params_list = None
        self.iterations = K.variable(0, dtype="int64", name="iterations")

    def _hyper(self, lr, learning_rate, **values):
        if learning_rate is not None:
            lr = learning_rate
        self.lr = K.variable(lr, name="lr")
        for name, v in values.items():
            setattr(self, name, K.variable(v, name=name))
        self.initial_decay = float(values.get("decay", 0.0))

    # ---- the step -----------------------------------------------------------
    def build(self, params):
        """Creates the state for `params` (a list of weight Variables)."""
        self._params = list(params)
        self._slots = self._create_slots([p.value for p in self._params])

    def _create_slots(self, values):
        raise NotImplementedError

    def _clip(self, grads):
        clipnorm = getattr(self, "clipnorm", None)
        if clipnorm is not None and clipnorm > 0:
            norm = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads
                                 if g is not None))
            if norm >= clipnorm:
                scale = _f32(clipnorm / norm)
                grads = [None if g is None else g * scale for g in grads]
        clipvalue = getattr(self, "clipvalue", None)
        if clipvalue is not None and clipvalue > 0:
            grads = [None if g is None else np.clip(g, -clipvalue, clipvalue).astype(_f32)
                     for g in grads]
        return grads

    def _step_lr(self):
        lr = float(self.lr.value)
        if self.initial_decay > 0:
            lr *= 1.0 / (1.0 + float(self.decay.value) * float(self.iterations.value))
        return lr

    def apply_gradients(self, params, grads):
        """One step: params (Variables) -= update(grads), in place."""
        if params is not self._params_list:
            if self._params is None or len(self._params) != len(params) or any(
                    a is not b for a, b in zip(self._params, params)):
                self.build(params)
            self._params_list = params
        grads = [_grad32(g, p.value) for g, p in zip(grads, params)]
        clip = getattr(self, "clipnorm", None) or getattr(self, "clipvalue", None)
        if clip or not self._ROW_SLICES:
            grads = [g.dense() if type(g) is RowSlices else g for g in grads]
        if clip:
            grads = self._clip(grads)
        self._apply(params, grads, self._step_lr())
        self.iterations.value += 1
        for p in params:
            if p.constraint is not None:
                p.value[...] = np.asarray(getattr(c := p.constraint(p.value), "value", c))

    def _apply(self, params, grads, lr):
        raise NotImplementedError

    # ---- state and config ---------------------------------------------------
    def get_weights(self):
        return [np.array(w.value) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"Length of the specified weight list ({len(weights)}) does not match "
                f"the number of weights of the optimizer ({len(params)})")
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if p.value.shape != w.shape:
                raise ValueError(f"Optimizer weight shape {p.value.shape} not "
                                 f"compatible with provided weight shape {w.shape}")
        for p, w in zip(params, weights):
            p.value[...] = w

    def get_config(self):
        config = {}
        for k in ("clipnorm", "clipvalue"):
            if hasattr(self, k):
                config[k] = getattr(self, k)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _state(self, values, n):
        """n lists of zero state Variables shaped like values."""
        return [[K.variable(np.zeros_like(v), dtype=v.dtype) for v in values]
                for _ in range(n)]


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and
    time decay: v = momentum * m - lr * g; p += v (or momentum * v - lr * g
    with nesterov)."""

    def __init__(self, lr=0.01, momentum=0., decay=0., nesterov=False,
                 learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, momentum=momentum, decay=decay)
        self.nesterov = bool(nesterov)

    def _create_slots(self, values):
        (self.moments,) = self._state(values, 1)
        self.weights = [self.iterations] + self.moments
        return [m.value for m in self.moments]

    def _apply(self, params, grads, lr):
        momentum = float(self.momentum.value)
        for p, g, m in zip(params, grads, self._slots):
            if g is not None:
                kernels.sgd_update(p.value, g, m, lr, momentum, self.nesterov)

    def get_config(self):
        return {"lr": float(self.lr.value), "momentum": float(self.momentum.value),
                "decay": float(self.decay.value), "nesterov": self.nesterov,
                **super().get_config()}


class RMSprop(Optimizer):
    """RMSprop: a = rho * a + (1 - rho) * g^2; p -= lr * g / (sqrt(a) + eps)."""

    def __init__(self, lr=0.001, rho=0.9, epsilon=None, decay=0., learning_rate=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, rho=rho, decay=decay)
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def _create_slots(self, values):
        (self.accumulators,) = self._state(values, 1)
        self.weights = list(self.accumulators)
        return [a.value for a in self.accumulators]

    _ROW_SLICES = True

    def _apply(self, params, grads, lr):
        rho = float(self.rho.value)
        for p, g, a in zip(params, grads, self._slots):
            if type(g) is RowSlices:  # the dense update's bits, used rows only
                kernels.rmsprop_update_rows(p.value, g.indices, g.values, a, lr,
                                            rho, self.epsilon)
            elif g is not None:
                kernels.rmsprop_update(p.value, g, a, lr, rho, self.epsilon)

    def get_config(self):
        return {"lr": float(self.lr.value), "rho": float(self.rho.value),
                "decay": float(self.decay.value), "epsilon": self.epsilon,
                **super().get_config()}


class Adagrad(Optimizer):
    """Adagrad: a += g^2; p -= lr * g / (sqrt(a) + eps). The accumulators
    start at initial_accumulator_value (0 in Keras 2; tf.keras' default
    0.1, which its files carry)."""

    def __init__(self, lr=0.01, epsilon=None, decay=0., learning_rate=None,
                 initial_accumulator_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, decay=decay)
        self.epsilon = K.epsilon() if epsilon is None else epsilon
        self.initial_accumulator_value = float(initial_accumulator_value)

    def _create_slots(self, values):
        (self.accumulators,) = self._state(values, 1)
        for a in self.accumulators:
            a.value[...] = self.initial_accumulator_value
        self.weights = list(self.accumulators)
        return [a.value for a in self.accumulators]

    def _apply(self, params, grads, lr):
        for p, g, a in zip(params, grads, self._slots):
            if g is not None:
                kernels.adagrad_update(p.value, g, a, lr, self.epsilon)

    def get_config(self):
        config = {"lr": float(self.lr.value), "decay": float(self.decay.value),
                  "epsilon": self.epsilon, **super().get_config()}
        if self.initial_accumulator_value:
            config["initial_accumulator_value"] = self.initial_accumulator_value
        return config


class Adadelta(Optimizer):
    """Adadelta: a = rho a + (1-rho) g^2; u = g sqrt(d + eps) / sqrt(a + eps);
    p -= lr u; d = rho d + (1-rho) u^2."""

    def __init__(self, lr=1.0, rho=0.95, epsilon=None, decay=0., learning_rate=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, decay=decay)
        self.rho = rho
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def _create_slots(self, values):
        self.accumulators, self.delta_accumulators = self._state(values, 2)
        self.weights = self.accumulators + self.delta_accumulators
        return list(zip([a.value for a in self.accumulators],
                        [d.value for d in self.delta_accumulators]))

    def _apply(self, params, grads, lr):
        for p, g, (a, d) in zip(params, grads, self._slots):
            if g is not None:
                kernels.adadelta_update(p.value, g, a, d, lr, self.rho, self.epsilon)

    def get_config(self):
        return {"lr": float(self.lr.value), "rho": self.rho,
                "decay": float(self.decay.value), "epsilon": self.epsilon,
                **super().get_config()}


class Adam(Optimizer):
    """Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr_t m / (sqrt(v) + eps), lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)."""

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.,
                 amsgrad=False, learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, beta_1=beta_1, beta_2=beta_2, decay=decay)
        self.epsilon = K.epsilon() if epsilon is None else epsilon
        self.amsgrad = bool(amsgrad)

    def _create_slots(self, values):
        self.ms, self.vs = self._state(values, 2)
        if self.amsgrad:
            (self.vhats,) = self._state(values, 1)
        else:  # Keras 2 keeps a (1,) placeholder per weight
            self.vhats = [K.variable(np.zeros(1, _f32)) for _ in values]
        self.weights = [self.iterations] + self.ms + self.vs + self.vhats
        return list(zip([m.value for m in self.ms], [v.value for v in self.vs],
                        [h.value if self.amsgrad else None for h in self.vhats]))

    def _apply(self, params, grads, lr):
        b1, b2 = float(self.beta_1.value), float(self.beta_2.value)
        t = float(self.iterations.value) + 1
        lr_t = lr * (math.sqrt(1. - b2 ** t) / (1. - b1 ** t))
        for p, g, (m, v, vhat) in zip(params, grads, self._slots):
            if g is not None:
                kernels.adam_update(p.value, g, m, v, lr_t, b1, b2, self.epsilon, vhat)

    def get_config(self):
        return {"lr": float(self.lr.value), "beta_1": float(self.beta_1.value),
                "beta_2": float(self.beta_2.value), "decay": float(self.decay.value),
                "epsilon": self.epsilon, "amsgrad": self.amsgrad,
                **super().get_config()}


class Adamax(Optimizer):
    """Adamax (numpy, no kernel): m = b1 m + (1-b1) g; u = max(b2 u, |g|);
    p -= lr / (1 - b1^t) * m / (u + eps)."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.,
                 learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, beta_1=beta_1, beta_2=beta_2, decay=decay)
        self.epsilon = K.epsilon() if epsilon is None else epsilon

    def _create_slots(self, values):
        self.ms, self.us = self._state(values, 2)
        self.weights = [self.iterations] + self.ms + self.us
        return list(zip([m.value for m in self.ms], [u.value for u in self.us]))

    def _apply(self, params, grads, lr):
        b1, b2 = float(self.beta_1.value), float(self.beta_2.value)
        t = float(self.iterations.value) + 1
        lr_t = _f32(lr / (1. - b1 ** t))
        for p, g, (m, u) in zip(params, grads, self._slots):
            if g is None:
                continue
            m *= _f32(b1)
            m += _f32(1. - b1) * g
            np.maximum(_f32(b2) * u, np.abs(g), out=u)
            p.value -= lr_t * m / (u + _f32(self.epsilon))

    def get_config(self):
        return {"lr": float(self.lr.value), "beta_1": float(self.beta_1.value),
                "beta_2": float(self.beta_2.value), "decay": float(self.decay.value),
                "epsilon": self.epsilon, **super().get_config()}


class Nadam(Optimizer):
    """Nesterov Adam (numpy, no kernel), Keras 2's schedule: momentum
    cache mu_t = b1 (1 - 0.5 * 0.96^(t * schedule_decay))."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=None,
                 schedule_decay=0.004, learning_rate=None, **kwargs):
        super().__init__(**kwargs)
        self._hyper(lr, learning_rate, beta_1=beta_1, beta_2=beta_2)
        self.epsilon = K.epsilon() if epsilon is None else epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = K.variable(1.0, name="m_schedule")

    def _create_slots(self, values):
        self.ms, self.vs = self._state(values, 2)
        self.weights = [self.iterations] + self.ms + self.vs
        return list(zip([m.value for m in self.ms], [v.value for v in self.vs]))

    def _apply(self, params, grads, lr):
        b1, b2 = float(self.beta_1.value), float(self.beta_2.value)
        t = float(self.iterations.value) + 1
        cache_t = b1 * (1. - 0.5 * 0.96 ** (t * self.schedule_decay))
        cache_t_1 = b1 * (1. - 0.5 * 0.96 ** ((t + 1) * self.schedule_decay))
        m_schedule_new = float(self.m_schedule.value) * cache_t
        m_schedule_next = m_schedule_new * cache_t_1
        self.m_schedule.value[...] = m_schedule_new
        for p, g, (m, v) in zip(params, grads, self._slots):
            if g is None:
                continue
            g_prime = g / _f32(1. - m_schedule_new)
            m *= _f32(b1)
            m += _f32(1. - b1) * g
            m_prime = m / _f32(1. - m_schedule_next)
            v *= _f32(b2)
            v += _f32(1. - b2) * np.square(g)
            v_prime = v / _f32(1. - b2 ** t)
            m_bar = _f32(1. - cache_t) * g_prime + _f32(cache_t_1) * m_prime
            p.value -= _f32(lr) * m_bar / (np.sqrt(v_prime) + _f32(self.epsilon))

    def get_config(self):
        return {"lr": float(self.lr.value), "beta_1": float(self.beta_1.value),
                "beta_2": float(self.beta_2.value), "epsilon": self.epsilon,
                "schedule_decay": self.schedule_decay, **super().get_config()}


# Aliases (Keras 2's lowercase names).
sgd = SGD
rmsprop = RMSprop
adagrad = Adagrad
adadelta = Adadelta
adam = Adam
adamax = Adamax
nadam = Nadam

_ALL = {c.__name__.lower(): c for c in (SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax,
                                        Nadam)}


def serialize(optimizer):
    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from {'class_name': ..., 'config': ...} (names are
    matched case-insensitively, as Keras 2 does)."""
    objects = dict(_ALL)
    objects.update({c.__name__: c for c in _ALL.values()})
    if isinstance(config, dict) and "class_name" in config:
        config = dict(config, class_name=config["class_name"].lower()
                      if config["class_name"].lower() in _ALL else config["class_name"])
    return deserialize_keras_object(config, module_objects=objects,
                                    custom_objects=custom_objects,
                                    printable_module_name="optimizer")


def get(identifier):
    """An Optimizer from an instance, a name ('sgd', 'rmsprop', ...) or a
    serialized config."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _ALL.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier!r}. Valid names: "
                             f"{sorted(_ALL)}, or pass an Optimizer instance")
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
