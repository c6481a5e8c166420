"""Embedding lookup and the whole-sequence recurrent ops (LSTM, GRU,
SimpleRNN), recorded on the tape.

float32 runs the C kernels (``embedding_forward``, ``lstm_forward`` ...);
other dtypes (float64 for gradient checks) run the numpy references of
``ckeras.reference``, which have the same contract. The backward of each
op is the kernel's backward, accumulating into fresh zeroed buffers.

A recurrent op has several outputs (the sequence and the last states)
whose backward is one pass through time. While a tape records, the op
records ONE packed tensor (N, T + S, U) (the sequence, then the S final
states as extra steps) and returns recorded slices of it, so the backward
runs once with all the output gradients.
"""
import numpy as np

from ckeras.backend import native
from ckeras.backend import tape as _tape
from ckeras.backend.core import array, op, record
from ckeras.reference import embedding as _ref_emb
from ckeras.reference import recurrent as _ref_rnn

_F32 = np.dtype(np.float32)


def _val(x):
    return None if x is None else array(x)


def _f32(a):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype != _F32:
        a = a.astype(_F32)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


@op
def embedding_lookup(table, indices):
    """table[indices] (indices of any shape, integers in [0, input_dim));
    the gradient of the table is a scatter-add of the output gradient.
    Out-of-range or non-integer indices raise ValueError."""
    tv = array(table)
    iv = np.asarray(array(indices))
    if tv.dtype == _F32:
        y = native.get("embedding_forward")(iv, _f32(tv))
        backward = lambda dy: (native.get("embedding_backward")(  # noqa: E731
            _f32(dy), iv, tv.shape[0]), None)
    else:
        if iv.size and (iv.min() < 0 or iv.max() >= tv.shape[0]):
            raise ValueError(f"indices must be in [0, input_dim) = [0, {tv.shape[0]}), "
                             f"got values in [{iv.min()}, {iv.max()}]")
        y = _ref_emb.embedding_forward(iv, tv).astype(tv.dtype)
        backward = lambda dy: (_ref_emb.embedding_backward(  # noqa: E731
            dy, iv, tv.shape[0]).astype(tv.dtype), None)
    if not _tape.recording:
        return y
    return record(y, (table, indices), backward)


def _unpack(packed, T, n_states):
    """The recorded slices (hseq, state_1, ...) of a packed (N, T + S, U)."""
    from ckeras.backend.tensor import Tensor
    if not isinstance(packed, Tensor):
        return [packed[:, :T]] + [packed[:, T + s] for s in range(n_states)]
    return [_time_slice(packed, slice(0, T))] + [
        _time_slice(packed, T + s) for s in range(n_states)]


def _time_slice(x, index):
    xv = x.value
    y = xv[:, index]

    def backward(dy):
        dx = np.zeros_like(xv)
        dx[:, index] = dy
        return (dx,)
    return record(y, (x,), backward)


def _recurrent(kind, x, kernel, recurrent_kernel, bias, states, mask,
               go_backwards, activation, recurrent_activation, recurrent_mask=None):
    """Runs one recurrent op; returns [hseq, *final_states] (recorded).
    recurrent_mask (LSTM only): constant (4, N, U) recurrent dropout masks."""
    xv, W, R, b = _val(x), _val(kernel), _val(recurrent_kernel), _val(bias)
    sv = [_val(s) for s in states]
    n_states = len(states)
    m = None if mask is None else np.asarray(array(mask))
    acts = {"lstm": (activation, recurrent_activation),
            "gru": (activation, recurrent_activation),
            "simple_rnn": (activation,)}[kind]
    fast = W.dtype == _F32
    if fast:
        fwd = native.get(kind + "_forward")
        bwd = native.get(kind + "_backward")
        xv, W, R, b = _f32(xv), _f32(W), _f32(R), _f32(b)
        sv = [_f32(s) for s in sv]
    else:
        fwd = getattr(_ref_rnn, kind + "_forward")
        bwd = getattr(_ref_rnn, kind + "_backward")
    if np.ndim(xv) != 3:
        raise ValueError(
            f"{kind} input must be 3-D (batch, timesteps, features), got shape "
            f"{np.shape(xv)}")
    extra = {"recurrent_activation": acts[1]} if len(acts) > 1 else {}
    if recurrent_mask is not None:
        rd = np.asarray(array(recurrent_mask))
        extra["recurrent_mask"] = _f32(rd) if fast else rd
    outs = fwd(xv, W, R, b, *sv, mask=m, go_backwards=go_backwards,
               activation=acts[0], **extra)
    results, cache = list(outs[:-1]), outs[-1]
    if not fast:
        results = [r.astype(W.dtype) for r in results]
    if not _tape.recording:
        return results
    T = xv.shape[1]
    packed = np.concatenate([results[0]] + [r[:, None] for r in results[1:]], axis=1)

    def backward(dy):
        dhseq = dy[:, :T]
        dstates = [dy[:, T + s] for s in range(n_states)]
        if fast:
            dhseq = _f32(dhseq)
            dstates = [_f32(d) for d in dstates]
        grads = bwd(dhseq, *dstates, cache, xv, W, R)
        if not fast:
            grads = [None if g is None else g.astype(W.dtype) for g in grads]
        dx, dW, dR, db = grads[:4]
        return (dx, dW, dR, db if bias is not None else None) + tuple(grads[4:])
    packed = record(packed, (x, kernel, recurrent_kernel, bias) + tuple(states),
                    backward)
    return _unpack(packed, T, n_states)


def lstm(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None,
         go_backwards=False, activation="tanh", recurrent_activation="hard_sigmoid",
         recurrent_mask=None):
    """Keras 2 LSTM over a sequence x (N, T, C); gates i, f, c, o.
    Returns (hseq (N, T, U), h_T, c_T); a masked step keeps the previous
    state; go_backwards outputs in processed (reversed) order.
    recurrent_mask (4, N, U) or None: recurrent dropout, gate q's recurrent
    product reads h * recurrent_mask[q] (a constant: no gradient)."""
    return tuple(_recurrent("lstm", x, kernel, recurrent_kernel, bias, [h0, c0],
                            mask, go_backwards, activation, recurrent_activation,
                            recurrent_mask))


def gru(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
        go_backwards=False, activation="tanh", recurrent_activation="hard_sigmoid"):
    """Keras 2.0 GRU (gates z, r, h). Returns (hseq, h_T)."""
    return tuple(_recurrent("gru", x, kernel, recurrent_kernel, bias, [h0], mask,
                            go_backwards, activation, recurrent_activation))


def simple_rnn(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
               go_backwards=False, activation="tanh"):
    """h_t = act(x_t W + h_{t-1} R + b). Returns (hseq, h_T)."""
    return tuple(_recurrent("simple_rnn", x, kernel, recurrent_kernel, bias, [h0],
                            mask, go_backwards, activation, None))
