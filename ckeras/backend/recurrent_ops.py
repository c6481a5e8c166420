"""Sequence ops: a whole LSTM / GRU / SimpleRNN sequence and the
embedding lookup, each one C kernel forward and one backward.

float32 runs the kernels (``native``); other dtypes (float64 gradient
checks) run the numpy references of ``ckeras.reference``, which share the
kernels' contract. While a tape records, an RNN's outputs (the sequence
and the final states) are slices of one recorded array, so one backward
through time serves all of them.
"""
import numpy as np

from ckeras.backend import native
from ckeras.backend import tape as _tape
from ckeras.backend.core import record, value
from ckeras.backend.tensor import Tensor
from ckeras.reference import embedding as _ref_embedding
from ckeras.reference import recurrent as _ref_recurrent

KINDS = ("lstm", "gru", "simple_rnn")
_N_STATES = {"lstm": 2, "gru": 1, "simple_rnn": 1}


def _f32(a):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype != np.float32 or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=np.float32)
    return a


def _slice(packed, index):
    """packed[index], recorded with a backward that scatters into zeros."""
    pv = value(packed)
    y = pv[index]

    def backward(dy):
        dp = np.zeros_like(pv)
        dp[index] = dy
        return (dp,)
    return record(y, (packed,), backward)


def rnn(kind, x, kernel, recurrent_kernel, bias=None, initial_states=(), mask=None,
        go_backwards=False, activation="tanh", recurrent_activation="hard_sigmoid"):
    """Runs a recurrent layer over the whole sequence x (N, T, C).

    Args:
        kind: 'lstm', 'gru' or 'simple_rnn'.
        kernel (C, G*U), recurrent_kernel (U, G*U), bias (G*U,) or None.
        initial_states: [] (zeros) or [h0] ([h0, c0] for lstm), each (N, U).
        mask: (N, T) of 0/1 or None; a masked step keeps the previous state.
        go_backwards: process time reversed (outputs in processed order).
        activation, recurrent_activation: kernel activation names.

    Returns:
        [hseq (N, T, U), h_T (N, U)] (+ [c_T] for lstm).
    """
    xv, W, R = value(x), value(kernel), value(recurrent_kernel)
    b = None if bias is None else value(bias)
    states = [value(s) for s in initial_states] or [None] * _N_STATES[kind]
    m = None if mask is None else np.asarray(value(mask))
    if W.dtype == np.float32:
        xv, R, b = _f32(xv), _f32(R), _f32(b)
        states = [_f32(s) for s in states]
        fwd = native.get(f"{kind}_forward")
        bwd = native.get(f"{kind}_backward")
    else:
        fwd = getattr(_ref_recurrent, f"{kind}_forward")
        bwd = getattr(_ref_recurrent, f"{kind}_backward")
    if kind == "simple_rnn":
        *outs, cache = fwd(xv, W, R, b, states[0], m, go_backwards, activation)
    else:
        *outs, cache = fwd(xv, W, R, b, *states, m, go_backwards, activation,
                           recurrent_activation)
    if W.dtype != np.float32:
        outs = [o.astype(W.dtype, copy=False) for o in outs]
    if not _tape.recording:
        return outs
    T = outs[0].shape[1]
    packed = np.concatenate([outs[0]] + [o[:, None] for o in outs[1:]], axis=1)
    n_states = len(outs) - 1

    def backward(dp):
        # packed = [hseq | h_T | c_T] along time: split its gradient
        grads_out = [dp[:, :T]] + [dp[:, T + i] for i in range(n_states)]
        if W.dtype == np.float32:
            grads_out = [_f32(g) for g in grads_out]
        grads = bwd(*grads_out, cache, xv, W, R)
        dx, dW, dR, db, *dstates = grads
        dx = dx if isinstance(x, Tensor) else None
        return (dx, dW, dR, None if bias is None else db, *dstates)
    inputs = (x, kernel, recurrent_kernel, bias, *(list(initial_states) or
                                                   [None] * n_states))
    p = record(packed, inputs, backward)
    if not isinstance(p, Tensor):
        return outs
    return [_slice(p, np.s_[:, :T])] + [_slice(p, np.s_[:, T + i])
                                         for i in range(n_states)]


def _check_indices(idx, input_dim):
    if idx.dtype.kind == "f" and idx.size and not np.all(idx == np.floor(idx)):
        raise ValueError("Embedding indices must hold integers, got non-integer values")
    if idx.size and (idx.min() < 0 or idx.max() >= input_dim):
        bad = (idx < 0) | (idx >= input_dim)
        pos = np.unravel_index(int(np.argmax(bad)), idx.shape)
        raise ValueError(
            f"indices must be in [0, input_dim) = [0, {input_dim}), got "
            f"{idx[pos].item()} at position {tuple(int(p) for p in pos)}; check "
            "the vocabulary size (input_dim) of the Embedding")


def embedding(indices, table):
    """table[indices]: shape indices.shape + (output_dim,). Indices outside
    [0, input_dim) raise ValueError; the table's gradient is a scatter-add
    of the rows used (indices get no gradient)."""
    idx = np.asarray(value(indices))
    tv = value(table)
    V = tv.shape[0]
    if tv.dtype == np.float32:
        y = native.embedding_forward(idx, tv)

        def backward(dy):
            return None, native.embedding_backward(_f32(dy), idx, V)
    else:
        _check_indices(idx, V)
        y = _ref_embedding.embedding_forward(idx, tv).astype(tv.dtype, copy=False)

        def backward(dy):
            return None, _ref_embedding.embedding_backward(dy, idx, V).astype(tv.dtype)
    return record(y, (indices, table), backward)
