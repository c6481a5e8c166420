"""Recurrent layers (Keras 2's ``keras.layers.recurrent``): SimpleRNN, GRU,
LSTM. Each runs a whole sequence in one fused C kernel (``K.lstm`` ...),
forward and backward through time.

Input (batch, timesteps, input_dim); output (batch, units), or (batch,
timesteps, units) with return_sequences; return_state appends the final
states ([output, h] or, for LSTM, [output, h, c]). A mask (from
Embedding(mask_zero=True) or Masking) makes masked steps keep the
previous state and output.

dropout and recurrent_dropout follow Keras 2.2.4's cells: masks drawn
once per call and fixed over time, only in training; with
implementation=1 each gate gets its own input mask and its own recurrent
mask, with implementation=2 the gates share one of each.
"""
import numpy as np

from ckeras import activations, constraints, initializers, regularizers
from ckeras import backend as K
from ckeras.backend import native
from ckeras.backend.nn_ops import dropout_seed
from ckeras.backend.nn_ops import rng as _rng
from ckeras.backend.recurrent_ops import gate_inputs
from ckeras.engine.base_layer import Layer, to_list


def _unit_forget_bias(bias_initializer, units):
    """Keras 2's LSTM bias: the f quarter (i, f, c, o) is ones."""
    def init(shape, dtype=None):
        return np.concatenate([
            np.asarray(bias_initializer((units,), dtype=dtype)),
            np.ones((units,), dtype=dtype or K.floatx()),
            np.asarray(bias_initializer((units * 2,), dtype=dtype))]).astype(
                dtype or K.floatx())
    return init


class Recurrent(Layer):
    """The shared base: weights kernel (input_dim, G*units),
    recurrent_kernel (units, G*units), bias (G*units,), in that order."""

    _GATES = 1
    _STATES = 1
    _OP = None  # the backend op: K.simple_rnn, K.gru or K.lstm
    _produces_mask = False  # it only passes an input mask through

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0.,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, implementation=1, **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and (
                "input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None),
                                     kwargs.pop("input_dim", None))
        super().__init__(**kwargs)
        kind = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{kind} layer {self.name}: units must be a positive int, "
                             f"got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        for what, given, fn in (
                ("activation", activation, self.activation),
                ("recurrent_activation", recurrent_activation, self.recurrent_activation)):
            if activations.kernel_name(fn) not in (
                    "linear", "relu", "sigmoid", "hard_sigmoid", "tanh"):
                raise ValueError(
                    f"{kind} layer {self.name}: {what} must be one of 'tanh', "
                    f"'sigmoid', 'hard_sigmoid', 'relu', 'linear' (the recurrent "
                    f"kernel's activations), got {given!r}")
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
        if not 0. <= dropout < 1.:
            raise ValueError(f"{kind} layer {self.name}: dropout must be in [0, 1), "
                             f"got {dropout!r}")
        if not 0. <= recurrent_dropout < 1.:
            raise ValueError(f"{kind} layer {self.name}: recurrent_dropout must be in "
                             f"[0, 1), got {recurrent_dropout!r}")
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll  # same math either way: the kernel loops in C
        self.implementation = implementation
        self.supports_masking = True
        self.uses_learning_phase = self.dropout > 0 or self.recurrent_dropout > 0
        self.states = None
        self.kernel = self.recurrent_kernel = self.bias = None

    # ---- building -------------------------------------------------------------
    def _seq_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} layer {self.name} expects a 3-D input (batch, "
                f"timesteps, input_dim), got shape {shape}; for a single feature per "
                "step reshape to (batch, timesteps, 1), e.g. with Reshape((-1, 1))")
        return tuple(shape)

    def _bias_initializer(self):
        return self.bias_initializer

    def _bias_shape(self):
        return (self._GATES * self.units,)

    def build(self, input_shape):
        shape = self._seq_shape(input_shape)
        if shape[0] is None and self.stateful:
            # called on arrays, the engine drops the batch axis; the layer's own
            # batch_input_shape (Keras 2 asks for it on stateful layers) has it
            shape = (getattr(self, "batch_input_shape", None) or (None,))[:1] + shape[1:]
        input_dim, u, g = shape[-1], self.units, self._GATES
        if input_dim is None:
            raise ValueError(f"{type(self).__name__} layer {self.name} needs a known "
                             f"input_dim (last axis), got input shape {shape}")
        if self.stateful and shape[0] is None:
            raise ValueError(
                f"{type(self).__name__} layer {self.name} is stateful, so it needs a "
                "fixed batch size: pass batch_input_shape=(batch, timesteps, input_dim) "
                "(or batch_size=) to the first layer, or batch_shape= to Input")
        self.kernel = self.add_weight("kernel", (input_dim, g * u),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (u, g * u), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(),
                                        initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True
        if self.stateful:
            self._batch_size = shape[0]
            self.reset_states()

    def reset_states(self, states=None):
        """Zeroes the carried states (stateful layers), or sets them."""
        if not self.stateful:
            raise AttributeError(f"Layer {self.name} must be stateful to reset_states")
        if not self.built:
            raise RuntimeError(f"Layer {self.name} is not built yet; call it first")
        shape = (self._batch_size, self.units)
        if states is None:
            self.states = [np.zeros(shape, K.floatx()) for _ in range(self._STATES)]
            return
        states = to_list(states)
        if len(states) != self._STATES:
            raise ValueError(f"Layer {self.name} expects {self._STATES} states, got "
                             f"{len(states)}")
        for s in states:
            if np.shape(s) != shape:
                raise ValueError(f"Layer {self.name}: each state must have shape "
                                 f"{shape}, got {np.shape(s)}")
        self.states = [np.array(s, K.floatx()) for s in states]

    # ---- calling ----------------------------------------------------------------
    def __call__(self, inputs, initial_state=None, **kwargs):
        if initial_state is not None:
            inputs = to_list(inputs) + to_list(initial_state)
        if isinstance(inputs, (list, tuple)) and len(inputs) > 1:
            self._check_initial_state(inputs[0], inputs[1:])
        return super().__call__(inputs, **kwargs)

    def _check_initial_state(self, x, states):
        """Count and (batch, units) shapes of initial states, checked when
        the layer is called (on Input tensors as on arrays), as Keras 2."""
        def shape_of(t):
            shape = getattr(t, "_keras_shape", None)
            return tuple(shape) if shape is not None else np.shape(getattr(t, "value", t))
        name = f"{type(self).__name__} layer {self.name}"
        if len(states) != self._STATES:
            raise ValueError(
                f"{name} has {self._STATES} state(s) but was given {len(states)} "
                f"initial state tensor(s); pass initial_state as a list of "
                f"{self._STATES} tensor(s) of shape (batch, units={self.units})")
        batch = shape_of(x)[0] if len(shape_of(x)) else None
        for i, s in enumerate(states):
            got = shape_of(s)
            if len(got) != 2 or got[1] != self.units or (
                    None not in (batch, got[0]) and got[0] != batch):
                raise ValueError(
                    f"{name}: initial_state {i} must have shape (batch, units) = "
                    f"{(batch, self.units)}, got {got}")

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if isinstance(inputs, list):
            inputs, initial_state = inputs[0], inputs[1:] or initial_state
        if isinstance(mask, list):
            mask = mask[0]
        x = inputs
        shape = np.shape(getattr(x, "value", x))
        if len(shape) != 3:
            self._seq_shape(shape)  # raises the clear error
        if initial_state is not None:
            states = to_list(initial_state)
            if len(states) != self._STATES:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name} expects "
                    f"{self._STATES} initial state(s), got {len(states)}")
        elif self.stateful:
            if shape[0] != self._batch_size:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name} is stateful with batch "
                    f"size {self._batch_size}, got a batch of {shape[0]}; feed batches "
                    f"of exactly {self._batch_size} samples (batch_size= in fit/predict)")
            states = self.states
        else:
            states = [None] * self._STATES
        kernel = self.kernel
        if self.dropout > 0 and training and self._GATES > 1 and self.implementation == 1:
            # Keras 2.2.4's implementation=1: one input mask per gate, each
            # fixed across time; the layer projects x gate by gate and the
            # sequence op takes that projection (kernel None)
            x = gate_inputs(x, self.kernel, self._input_masks(shape[0], shape[2]))
            kernel = None
        elif self.dropout > 0 and training:
            # one input mask per sample shared by the gates, fixed across time
            x = K.dropout(x, self.dropout, noise_shape=(shape[0], 1, shape[2]))
        outs = self._run(x, states, mask, training, kernel)
        if self.stateful:
            self.states = [np.array(getattr(s, "value", s), copy=True) for s in outs[1:]]
        output = outs[0] if self.return_sequences else outs[1]
        if self.return_state:
            return [output] + list(outs[1:])
        return output

    def _input_masks(self, batch, input_dim):
        """Keras 2.2.4's implementation=1 input dropout masks, one per gate,
        drawn once per call (fixed over time): (G, batch, input_dim) of 0
        and 1 / (1 - rate), from the dropout kernel's stream."""
        ones = np.ones((self._GATES, batch, input_dim), np.float32)
        mask = native.dropout_forward(ones, self.dropout, dropout_seed())[1]
        return mask.astype(K.floatx(), copy=False)

    def _recurrent_masks(self, batch):
        """Keras 2's recurrent dropout masks, drawn once per call (fixed over
        time): (G, batch, units) of 0 and 1 / (1 - rate); one independent
        mask per gate with implementation=1, one shared by the gates
        otherwise."""
        keep = 1.0 - self.recurrent_dropout
        count = self._GATES if self.implementation == 1 else 1
        draw = _rng().random((count, batch, self.units)) < keep
        masks = draw.astype(K.floatx()) / np.asarray(keep, K.floatx())
        return np.ascontiguousarray(np.broadcast_to(
            masks, (self._GATES, batch, self.units)))

    def _run(self, x, states, mask, training, kernel):
        """The sequence op on x; kernel None: x is the input projection
        (gate_inputs)."""
        kw = dict(mask=mask, go_backwards=self.go_backwards,
                  activation=activations.kernel_name(self.activation))
        if self._GATES > 1:
            kw["recurrent_activation"] = activations.kernel_name(self.recurrent_activation)
        if self.recurrent_dropout > 0 and training:
            batch = np.shape(getattr(x, "value", x))[0]
            kw.update(self._recurrent_dropout_kwargs(batch))
        kw.update(self._op_kwargs())
        return type(self)._OP(x, kernel, self.recurrent_kernel, self.bias, *states,
                              **kw)

    def _recurrent_dropout_kwargs(self, batch):
        """The sequence op's recurrent dropout keywords for one call."""
        return {"recurrent_mask": self._recurrent_masks(batch)}

    def _op_kwargs(self):
        """Layer-specific keywords of the sequence op (GRU's reset_after)."""
        return {}

    def compute_output_shape(self, input_shape):
        shape = self._seq_shape(input_shape)
        out = (shape[0], shape[1], self.units) if self.return_sequences else \
            (shape[0], self.units)
        if self.return_state:
            return [out] + [(shape[0], self.units)] * self._STATES
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * self._STATES
        return out

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
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
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}


class SimpleRNN(Recurrent):
    """Fully-connected RNN: ``h_t = activation(x_t W + h_{t-1} U + b)``."""

    _GATES, _STATES, _OP = 1, 1, staticmethod(K.simple_rnn)

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["recurrent_activation"]
        return config


class GRU(Recurrent):
    """Gated Recurrent Unit (Cho et al. 2014); gates z, r, h in the weight
    layout.

    reset_after=False (the Keras 2 default) applies the reset gate to the
    state before the recurrent product, on the fused C kernel; bias (3U,).
    reset_after=True (Keras 2.2's CuDNN-compatible form, tf.keras 2's
    default: every GRU of a tf.keras file has it) applies it after, with
    separate input and recurrent biases: bias (2, 3U), row 0 for the
    inputs, row 1 for the recurrent product:
    ``hh = act(x W_h + b_in_h + r * (h R_h + b_rec_h))``; it runs as a
    numpy op (``K.gru(..., reset_after=True)``).

    recurrent_dropout follows Keras 2.2.4's GRUCell: implementation=1 draws
    one mask per gate (z, r, h), each applied to the state before that
    gate's recurrent product; implementation=2 shares one mask, and (as
    its ``h_tm1 *= rec_dp_mask[0]`` rebinds the state) the update
    ``h = z * h_tm1 + (1 - z) * hh`` reads the masked state too.
    """

    _GATES, _STATES, _OP = 3, 1, staticmethod(K.gru)

    def __init__(self, units, reset_after=False, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _op_kwargs(self):
        return {"reset_after": True} if self.reset_after else {}

    def _recurrent_dropout_kwargs(self, batch):
        kw = super()._recurrent_dropout_kwargs(batch)
        if self.implementation != 1:
            kw["recurrent_mask_carry"] = True
        return kw

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


class LSTM(Recurrent):
    """Long Short-Term Memory (Hochreiter 1997); gates i, f, c, o in the
    weight layout. unit_forget_bias adds 1 to the forget gate's bias at
    initialization (Jozefowicz et al.)."""

    _GATES, _STATES, _OP = 4, 2, staticmethod(K.lstm)

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if self.unit_forget_bias:
            return _unit_forget_bias(self.bias_initializer, self.units)
        return self.bias_initializer

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config
