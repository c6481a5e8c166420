"""Recurrent layers (Keras 2's ``keras.layers.recurrent``): SimpleRNN, GRU,
LSTM over the whole sequence in one C kernel call each way.

Weights are Keras 2's: kernel (input_dim, G*units), recurrent_kernel
(units, G*units), bias (G*units,), gates in Keras 2 order (LSTM i, f, c, o;
GRU z, r, h). Masked steps keep the previous state and output it.

Dropout: one input mask per sequence, fixed across time steps, only while
training (Keras 2's ``implementation=2`` form: one mask shared by the
gates). recurrent_dropout is not supported by the kernels: a layer with
recurrent_dropout > 0 predicts normally (it is inactive at inference) and
raises NotImplementedError when called in training.
"""
import numpy as np

from ckeras import activations, constraints, initializers, regularizers
from ckeras import backend as K
from ckeras.backend.recurrent_ops import rnn as _rnn_op
from ckeras.backend.tensor import Variable
from ckeras.engine.base_layer import Layer, to_list
from ckeras.engine.input_spec import InputSpec

_KERNEL_ACTS = ("linear", "relu", "sigmoid", "hard_sigmoid", "tanh")


def _kernel_activation(layer, fn, arg):
    name = activations.kernel_name(fn)
    if name not in _KERNEL_ACTS:
        raise ValueError(f"{type(layer).__name__} layer {layer.name}: {arg} must be one "
                         f"of {list(_KERNEL_ACTS)} (what the recurrent kernel computes), "
                         f"got {getattr(fn, '__name__', fn)!r}")
    return name


class Recurrent(Layer):
    """Base of the recurrent layers: sequence handling, states, masks.

    Args (every recurrent layer):
        return_sequences: return the whole output sequence (batch, T, units)
            instead of the last output (batch, units).
        return_state: also return the final states (a list of tensors).
        go_backwards: process the sequence in reverse (outputs in the
            processed order, as Keras 2).
        stateful: the final states of a batch are the initial states of
            the next one (needs a fixed batch size); ``reset_states()``.
        unroll, implementation: accepted for Keras 2 compatibility; they do
            not change the result.
        input_dim, input_length: shorthand for input_shape=(length, dim).

    Call arguments: ``initial_state`` (a tensor or list, one per state,
    each (batch, units)), ``mask``, ``training``.
    """

    _kind = None  # 'lstm', 'gru' or 'simple_rnn'
    _gates = 1
    _n_states = 1

    def __init__(self, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, implementation=1, **kwargs):
        input_dim = kwargs.pop("input_dim", None)
        input_length = kwargs.pop("input_length", None)
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and \
                input_dim is not None:
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(**kwargs)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.implementation = implementation
        self.supports_masking = True
        self.input_spec = [InputSpec(ndim=3)]
        self.state_spec = None
        self.states = [None] * self._n_states
        self.uses_learning_phase = False

    def _common_weights_init(self, units, use_bias, kernel_initializer,
                             recurrent_initializer, bias_initializer, kernel_regularizer,
                             recurrent_regularizer, bias_regularizer,
                             activity_regularizer, kernel_constraint,
                             recurrent_constraint, bias_constraint, dropout,
                             recurrent_dropout):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or \
                units <= 0:
            raise ValueError(f"{type(self).__name__} layer {self.name}: units must be a "
                             f"positive int, got {units!r}")
        self.units = int(units)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{type(self).__name__} layer {self.name}: {arg} must "
                                 f"be in [0, 1), got {rate!r}")
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.uses_learning_phase = self.dropout > 0 or self.recurrent_dropout > 0

    # ---- calling with initial states ------------------------------------------
    def __call__(self, inputs, initial_state=None, **kwargs):
        """``layer(x)``, ``layer(x, initial_state=[h, c])`` or
        ``layer([x, h, c])``: initial states become extra inputs (Keras 2)."""
        if initial_state is None and isinstance(inputs, (list, tuple)) and len(inputs) > 1:
            inputs, initial_state = inputs[0], list(inputs[1:])
        elif isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]
        if initial_state is None:
            return super().__call__(inputs, **kwargs)
        states = to_list(initial_state)
        if len(states) != self._n_states:
            raise ValueError(
                f"{type(self).__name__} layer {self.name} has {self._n_states} state(s) "
                f"but was passed an initial_state list of {len(states)} tensor(s); pass "
                f"{self._n_states} tensor(s) of shape (batch, units={self.units})")
        self.input_spec = [InputSpec(ndim=3)] + [InputSpec(ndim=2)] * len(states)
        try:
            return super().__call__([inputs] + states, **kwargs)
        finally:
            self.input_spec = [InputSpec(ndim=3)]

    def assert_input_compatibility(self, inputs, shapes=None):
        shapes = shapes or [np.shape(getattr(x, "value", x)) for x in inputs]
        if shapes and shapes[0] is not None and len(shapes[0]) != 3:
            raise ValueError(
                f"Input 0 is incompatible with layer {self.name}: expected ndim=3 "
                f"(batch, timesteps, input_dim), found ndim={len(shapes[0])} (input "
                f"shape {shapes[0]}); a {type(self).__name__} reads sequences: reshape "
                "the input or add input_length/input_shape=(timesteps, input_dim)")
        for i, s in enumerate(shapes[1:]):
            want = (shapes[0][0], self.units)
            if s is None or len(s) != 2 or s[1] != self.units or (
                    s[0] is not None and want[0] is not None and s[0] != want[0]):
                raise ValueError(
                    f"{type(self).__name__} layer {self.name}: initial_state {i} must "
                    f"have shape (batch, units) = {want}, got {tuple(s)}")

    # ---- the layer contract ------------------------------------------------------
    def build(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        x_shape = shapes[0]
        input_dim = x_shape[-1]
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} layer {self.name} needs a known "
                             f"input_dim (last axis), got input shape {x_shape}")
        self.input_dim = int(input_dim)
        G, U = self._gates, self.units
        self.kernel = self.add_weight("kernel", (input_dim, G * U),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (U, G * U), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (G * U,),
                                        initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        if self.stateful:
            batch = x_shape[0] or getattr(self, "batch_input_shape", (None,))[0]
            if batch is None:
                raise ValueError(
                    f"If a RNN is stateful, it needs to know its batch size. Specify "
                    f"the batch size of your input tensors (layer {self.name}): pass "
                    "`batch_input_shape=(batch, timesteps, input_dim)` (or "
                    "`batch_size=`) to the first layer, or `batch_shape=` to Input")
            self._state_batch = int(batch)
            self.reset_states()
        self.built = True

    def _bias_initializer(self):
        return self.bias_initializer

    def reset_states(self, states=None):
        """Zeroes the states of a stateful layer, or sets them to `states`
        (a list of (batch, units) arrays)."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name} must be stateful to reset states")
        shape = (self._state_batch, self.units)
        if states is None:
            if self.states[0] is None:
                self.states = [Variable(np.zeros(shape), name=f"{self.name}/state_{i}",
                                        trainable=False) for i in range(self._n_states)]
            else:
                for s in self.states:
                    s.value[...] = 0
            return
        states = to_list(states)
        if len(states) != self._n_states:
            raise ValueError(f"Layer {self.name} expects {self._n_states} states, but it "
                             f"received {len(states)} state values")
        for i, (var, v) in enumerate(zip(self.states, states)):
            v = np.asarray(v)
            if v.shape != shape:
                raise ValueError(f"State {i} is incompatible with layer {self.name}: "
                                 f"expected shape={shape}, found shape={v.shape}")
            var.value[...] = v

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        out = (shape[0], shape[1], self.units) if self.return_sequences else \
            (shape[0], self.units)
        if self.return_state:
            return [out] + [(shape[0], self.units)] * self._n_states
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * self._n_states
        return out

    def _activations(self):
        """(activation, recurrent_activation) kernel names."""
        raise NotImplementedError

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if isinstance(inputs, list):
            inputs, initial_state = inputs[0], inputs[1:]
        if isinstance(mask, list):
            mask = mask[0]
        xv = np.asarray(getattr(inputs, "value", inputs))
        if xv.ndim != 3:
            raise ValueError(f"{type(self).__name__} layer {self.name} expects a 3-D "
                             f"input (batch, timesteps, input_dim), got shape {xv.shape}")
        n = xv.shape[0]
        if initial_state:
            states = list(initial_state)
            for i, s in enumerate(states):
                if np.shape(getattr(s, "value", s)) != (n, self.units):
                    raise ValueError(
                        f"{type(self).__name__} layer {self.name}: initial_state {i} "
                        f"must have shape (batch, units) = {(n, self.units)}, got "
                        f"{np.shape(getattr(s, 'value', s))}")
        elif self.stateful:
            if n != self._state_batch:
                raise ValueError(
                    f"Layer {self.name} is stateful with batch size {self._state_batch}, "
                    f"but was called on a batch of {n} samples; feed batches of exactly "
                    f"{self._state_batch} (e.g. predict(x, batch_size="
                    f"{self._state_batch}) with len(x) a multiple of it)")
            states = [s.value.copy() for s in self.states]
        else:
            states = []
        if training and self.recurrent_dropout > 0:
            raise NotImplementedError(
                f"{type(self).__name__} layer {self.name}: recurrent_dropout="
                f"{self.recurrent_dropout} is not supported in training (the recurrent "
                "kernel takes no recurrent dropout mask); use recurrent_dropout=0. "
                "(dropout on the inputs is supported)")
        if training and self.dropout > 0:
            inputs = K.dropout(inputs, self.dropout, noise_shape=(n, 1, xv.shape[2]))
        act, ract = self._activations()
        outs = _rnn_op(self._kind, inputs, self.kernel, self.recurrent_kernel, self.bias,
                       states, mask, self.go_backwards, act, ract)
        if self.stateful:
            for var, s in zip(self.states, outs[1:]):
                var.value[...] = getattr(s, "value", s)
        output = outs[0] if self.return_sequences else outs[1]
        if self.return_state:
            return [output] + list(outs[1:])
        return output

    def get_config(self):
        config = {"return_sequences": self.return_sequences,
                  "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "implementation": self.implementation}
        return {**super().get_config(), **config}

    def _weights_config(self):
        return {
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
        }


class _KernelRNN(Recurrent):
    """A recurrent layer run by one C kernel: the arguments all three share."""

    def __init__(self, units, activation="tanh", recurrent_activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._act = _kernel_activation(self, self.activation, "activation")
        self.recurrent_activation = None
        self._ract = None
        if recurrent_activation is not None:
            self.recurrent_activation = activations.get(recurrent_activation)
            self._ract = _kernel_activation(self, self.recurrent_activation,
                                            "recurrent_activation")
        self._common_weights_init(
            units, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, recurrent_constraint,
            bias_constraint, dropout, recurrent_dropout)

    def _activations(self):
        return self._act, self._ract

    def get_config(self):
        config = {**super().get_config(), "activation":
                  activations.serialize(self.activation), **self._weights_config()}
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(
                self.recurrent_activation)
        return config


class SimpleRNN(_KernelRNN):
    """Fully connected RNN: ``h_t = activation(x_t W + h_{t-1} R + b)``.

    Args:
        units: positive int, output size.
        activation: default 'tanh' (one of linear, relu, sigmoid,
            hard_sigmoid, tanh).
        use_bias, kernel_initializer ('glorot_uniform'),
        recurrent_initializer ('orthogonal'), bias_initializer ('zeros'),
        kernel/recurrent/bias/activity regularizers, kernel/recurrent/bias
        constraints, dropout, recurrent_dropout; plus Recurrent's
        arguments (return_sequences, return_state, go_backwards, stateful).

    Input shape: (batch, timesteps, input_dim). Output shape: (batch,
    units), or (batch, timesteps, units) with return_sequences.
    """

    _kind, _gates, _n_states = "simple_rnn", 1, 1

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)


class GRU(_KernelRNN):
    """Gated Recurrent Unit, Keras 2.0 form (the reset gate multiplies the
    state before the recurrent product). Gates z, r, h: kernel
    (input_dim, 3 units), recurrent_kernel (units, 3 units), bias (3 units,).

    Args: as SimpleRNN, plus recurrent_activation (default 'hard_sigmoid').
    """

    _kind, _gates, _n_states = "gru", 3, 1

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid",
                 **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)


class LSTM(_KernelRNN):
    """Long Short-Term Memory, Keras 2 form. Gates i, f, c, o: kernel
    (input_dim, 4 units), recurrent_kernel (units, 4 units), bias
    (4 units,). States: [h, c].

    Args: as GRU, plus unit_forget_bias (default True: the forget-gate
    quarter of the bias starts at 1).

    Example:
        ``LSTM(32, return_sequences=True)(Embedding(1000, 64)(ids))``
    """

    _kind, _gates, _n_states = "lstm", 4, 2

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        U, init = self.units, self.bias_initializer

        def bias_init(shape, dtype=None):
            b = np.array(init((U * 4,), dtype=dtype))
            b[U:2 * U] = 1.0
            return b
        return bias_init

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
