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
from ckeras.backend.row_slices import RowSlices
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
        rows = iv.reshape(-1).astype(np.int64, copy=False)
        # the table's gradient as its rows' gradients (row_slices.py)
        backward = lambda dy: (RowSlices(  # noqa: E731
            rows, _f32(dy).reshape(rows.size, tv.shape[1]), tv.shape), None)
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
               go_backwards, activation, recurrent_activation, recurrent_mask=None,
               recurrent_mask_carry=False):
    """Runs one recurrent op; returns [hseq, *final_states] (recorded).
    recurrent_mask: constant (G, N, U) recurrent dropout masks or None;
    recurrent_mask_carry (GRU only): the update reads the masked state."""
    xv, W, R, b = _val(x), _val(kernel), _val(recurrent_kernel), _val(bias)
    sv = [_val(s) for s in states]
    n_states = len(states)
    m = None if mask is None else np.asarray(array(mask))
    acts = {"lstm": (activation, recurrent_activation),
            "gru": (activation, recurrent_activation),
            "simple_rnn": (activation,)}[kind]
    fast = R.dtype == _F32
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
        if recurrent_mask_carry:
            extra["recurrent_mask_carry"] = True
    outs = fwd(xv, W, R, b, *sv, mask=m, go_backwards=go_backwards,
               activation=acts[0], **extra)
    results, cache = list(outs[:-1]), outs[-1]
    if not fast:
        results = [r.astype(R.dtype) for r in results]
    if not _tape.recording:
        return results
    T = xv.shape[1]
    packed = np.concatenate([results[0]] + [r[:, None] for r in results[1:]], axis=1)

    def backward(dy):
        dhseq = dy[:, :T]
        dstates = [dy[:, T + s] for s in range(n_states)]
        if fast:
            # None when only the final states are used (no sequences): no
            # copy, and the kernel reads no dhseq at each step
            dhseq = _f32(dhseq) if dhseq.any() else None
            dstates = [_f32(d) for d in dstates]
        grads = bwd(dhseq, *dstates, cache, xv, W, R)
        if not fast:
            grads = [None if g is None else g.astype(R.dtype) for g in grads]
        dx, dW, dR, db = grads[:4]
        return (dx, dW, dR, db if bias is not None else None) + tuple(grads[4:])
    packed = record(packed, (x, kernel, recurrent_kernel, bias) + tuple(states),
                    backward)
    return _unpack(packed, T, n_states)


def gate_inputs(x, kernel, input_masks):
    """Keras 2's implementation=1 input dropout: the input projection with
    one mask per gate, P[..., q] = (x * m_q) @ kernel[:, q] (N, T, G*U) for
    x (N, T, C), kernel (C, G*U) and input_masks (G, N, C) (a constant, the
    same at every step). Feed P to lstm/gru/simple_rnn with kernel=None; it
    costs the GEMMs of the fused x W."""
    xv, W = array(x), array(kernel)
    mv = np.asarray(array(input_masks), xv.dtype)
    N, T, C = xv.shape
    G = mv.shape[0]
    GU = W.shape[1]
    if W.shape[0] != C or GU % G or mv.shape != (G, N, C):
        raise ValueError(
            f"gate_inputs expects x (N, T, C), kernel (C, G*units) and input_masks "
            f"(G, N, C); got {xv.shape}, {W.shape} and {mv.shape}")
    U = GU // G
    fast = xv.dtype == _F32 and W.dtype == _F32
    if fast:
        xv, W, mv = _f32(xv), _f32(W), _f32(mv)

    def masked(q):  # x * m_q as (N*T, C), m_q fixed over time
        return (xv * mv[q][:, None, :]).reshape(N * T, C)
    P = np.empty((N * T, GU), xv.dtype if fast else np.result_type(xv, W))
    for q in range(G):
        cols = slice(q * U, (q + 1) * U)
        _matmul(masked(q), W[:, cols], P[:, cols])
    P = P.reshape(N, T, GU)
    if not _tape.recording:
        return P

    def backward(dP):
        dP = np.asarray(dP, P.dtype).reshape(N * T, GU)
        if fast:
            dP = _f32(dP)
        dx = np.zeros((N, T, C), P.dtype)
        dW = np.empty((C, GU), P.dtype)
        for q in range(G):
            cols = slice(q * U, (q + 1) * U)
            _matmul(masked(q), dP[:, cols], dW[:, cols], trans_a=True)
            dx += mv[q][:, None, :] * _matmul(dP[:, cols], W[:, cols],
                                              trans_b=True).reshape(N, T, C)
        return dx, dW
    return record(P, (x, kernel), backward)


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
        go_backwards=False, activation="tanh", recurrent_activation="hard_sigmoid",
        reset_after=False, recurrent_mask=None, recurrent_mask_carry=False):
    """Keras 2 GRU (gates z, r, h). Returns (hseq, h_T).

    reset_after=False (Keras 2.0 form, the C kernel): bias (3U,).
    reset_after=True (Keras 2.2 / CuDNN form, ``_gru_reset_after``): bias
    (2, 3U), row 0 for the inputs, row 1 for the recurrent product.
    recurrent_mask (3, N, U) or None: recurrent dropout (a constant: no
    gradient), gate q's recurrent product reads h * recurrent_mask[q]
    (reset_after=False: (r * (h * m_h)) R_h; True: r * ((h * m_h) R_h +
    b_rec_h)). recurrent_mask_carry: the update reads the masked state too,
    h = z * (h * m_z) + (1 - z) * hh (Keras 2.2's implementation=2)."""
    if reset_after:
        return _gru_reset_after(x, kernel, recurrent_kernel, bias, h0, mask,
                                go_backwards, activation, recurrent_activation,
                                recurrent_mask, recurrent_mask_carry)
    return tuple(_recurrent("gru", x, kernel, recurrent_kernel, bias, [h0], mask,
                            go_backwards, activation, recurrent_activation,
                            recurrent_mask, recurrent_mask_carry))


# ---- GRU, reset_after=True: numpy steps, GEMMs on ckeras's sgemm -----------------
def _matmul(a, b, out=None, trans_a=False, trans_b=False, beta=0.0):
    """out = op(a) @ op(b) + beta * out, on ckeras's sgemm for float32."""
    if a.dtype == _F32:
        return native.sgemm(a, b, out, trans_a=trans_a, trans_b=trans_b, beta=beta)
    y = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if out is None:
        return y
    out[...] = y + beta * out if beta else y
    return out


def _gru_reset_after(x, kernel, recurrent_kernel, bias, h0, mask, go_backwards,
                     activation, recurrent_activation, recurrent_mask=None,
                     recurrent_mask_carry=False):
    """The reset_after=True GRU over a whole sequence, one recorded op.

    Forward (per step t, gates z, r, h; xg for all t in one GEMM first):
        xg = x_t W + b_in                  (N, 3U)
        inner = h_prev R + b_rec           (N, 3U)
        z = ract(xg_z + inner_z);  r = ract(xg_r + inner_r)
        hh = act(xg_h + r * inner_h);  h = z * h_prev + (1 - z) * hh
    With recurrent dropout masks m (3, N, U): inner_q = (h_prev * m_q) R_q +
    b_rec_q, one GEMM per gate; with recurrent_mask_carry the update reads
    h_prev * m_z. A masked step keeps h. float32 runs its GEMMs on ckeras's
    sgemm, other dtypes in float64 with numpy (the gradient checks run this
    same code); ``reference.recurrent.gru_reset_after_*`` is the per-step
    oracle.
    """
    from ckeras.reference.recurrent import ACTIVATIONS
    xv, W, R, b, hv = (_val(v) for v in (x, kernel, recurrent_kernel, bias, h0))
    if np.ndim(xv) != 3:
        raise ValueError(f"gru input must be 3-D (batch, timesteps, features), got "
                         f"shape {np.shape(xv)}")
    out_dtype = R.dtype
    dt = _F32 if R.dtype == _F32 else np.dtype(np.float64)

    def cast(a):
        return None if a is None else np.ascontiguousarray(a, dtype=dt)
    xv, W, R, b, hv = cast(xv), cast(W), cast(R), cast(b), cast(hv)
    N, T, C = xv.shape
    U = R.shape[0]
    w_shape = (3 * U,) * 2 if W is None else W.shape  # None: x is x W
    if w_shape != (C, 3 * U) or R.shape != (U, 3 * U) or (
            b is not None and b.shape != (2, 3 * U)):
        raise ValueError(
            f"gru(reset_after=True) expects kernel ({C}, {3 * U}) (or None with x "
            f"(batch, time, {3 * U}), the projection), recurrent_kernel ({U}, "
            f"{3 * U}) and bias (2, {3 * U}); got {None if W is None else W.shape}, "
            f"{R.shape} and {None if b is None else b.shape}, x {xv.shape}")
    act, dact = ACTIVATIONS[activation]
    ract, dract = ACTIVATIONS[recurrent_activation]
    keep = None if mask is None else np.asarray(array(mask)) != 0  # (N, T)
    times = range(T - 1, -1, -1) if go_backwards else range(T)
    rd = None
    if recurrent_mask is not None:
        rd = np.ascontiguousarray(array(recurrent_mask), dtype=dt)
        if rd.shape != (3, N, U):
            raise ValueError(f"gru(reset_after=True) recurrent_mask must have shape "
                             f"(gates, batch, units) = (3, {N}, {U}), got {rd.shape}")
    mc = rd[0] if rd is not None and recurrent_mask_carry else None  # carry mask
    beta = 1.0 if b is not None else 0.0

    xg = xv.copy() if W is None else \
        _matmul(xv.reshape(N * T, C), W).reshape(N, T, 3 * U)  # x W, all steps
    if b is not None:
        xg += b[0]
    h = np.zeros((N, U), dt) if hv is None else hv.copy()
    hseq = np.empty((N, T, U), dt)
    # saved per processed step s, for the backward
    h_prev, zs, rs, hhs, inner_hs = (np.empty((T, N, U), dt) for _ in range(5))
    inner = np.empty((N, 3 * U), dt)
    for s, t in enumerate(times):
        if b is not None:
            inner[...] = b[1]
        if rd is None:
            _matmul(h, R, inner, beta=beta)  # h R + b_rec
        else:  # (h * m_q) R_q + b_rec_q, gate by gate
            for q in range(3):
                cols = slice(q * U, (q + 1) * U)
                _matmul(h * rd[q], R[:, cols], inner[:, cols], beta=beta)
        zr = ract(xg[:, t, :2 * U] + inner[:, :2 * U])  # z and r at once
        z, r = zr[:, :U], zr[:, U:]
        hh = act(xg[:, t, 2 * U:] + r * inner[:, 2 * U:])
        h_prev[s], zs[s], rs[s], hhs[s], inner_hs[s] = h, z, r, hh, inner[:, 2 * U:]
        h_new = hh + z * ((h if mc is None else h * mc) - hh)
        h = h_new if keep is None else np.where(keep[:, t:t + 1], h_new, h)
        hseq[:, s] = h
    results = [hseq.astype(out_dtype, copy=False), h.astype(out_dtype, copy=False)]
    if not _tape.recording:
        return tuple(results)

    def backward(dy):
        dy = np.asarray(dy, dt)
        dh = dy[:, T].copy()  # dh_T
        dxg = np.empty((N, T, 3 * U), dt)  # d(x_t W + b_in), by input time t
        dinner = np.empty((T, N, 3 * U), dt)  # d(h_prev R + b_rec), by step s
        for s in range(T - 1, -1, -1):
            t = times[s]
            dh += dy[:, s]
            z, r, hh = zs[s], rs[s], hhs[s]
            hc = h_prev[s] if mc is None else h_prev[s] * mc  # what the carry read
            # h = z * hc + (1 - z) * hh  (a masked row computed nothing)
            dzz = dh * (hc - hh) * dract(z)
            dzh = dh * (1 - z) * dact(hh)
            if keep is not None:
                k = keep[:, t:t + 1]
                dzz, dzh = np.where(k, dzz, 0), np.where(k, dzh, 0)
            # hh = act(xg_h + r * inner_h)
            dzr = dzh * inner_hs[s] * dract(r)
            dxg[:, t, :U], dxg[:, t, U:2 * U], dxg[:, t, 2 * U:] = dzz, dzr, dzh
            dinner[s, :, :U], dinner[s, :, U:2 * U] = dzz, dzr
            dinner[s, :, 2 * U:] = dzh * r
            # dh_prev: through the carry (all of dh on a masked row) and the
            # products, inner_q = (h_prev * m_q) R_q + b_rec_q
            zc = z if mc is None else z * mc
            dh = dh * (zc if keep is None else np.where(k, zc, 1))
            if rd is None:
                _matmul(dinner[s], R, dh, trans_b=True, beta=1.0)
            else:
                for q in range(3):
                    cols = slice(q * U, (q + 1) * U)
                    dh += rd[q] * _matmul(dinner[s][:, cols], R[:, cols], trans_b=True)
        dxg2, dinner2 = dxg.reshape(N * T, 3 * U), dinner.reshape(T * N, 3 * U)
        if W is None:  # x was the projection itself
            dx, dW = dxg, None
        else:
            dx = _matmul(dxg2, W, trans_b=True).reshape(N, T, C)
            dW = _matmul(xv.reshape(N * T, C), dxg2, trans_a=True)
        if rd is None:
            dR = _matmul(h_prev.reshape(T * N, U), dinner2, trans_a=True)
        else:  # dR_q = sum over steps of (h_prev * m_q)^T dinner_q
            dR = np.empty((U, 3 * U), dt)
            for q in range(3):
                cols = slice(q * U, (q + 1) * U)
                _matmul((h_prev * rd[q]).reshape(T * N, U), dinner2[:, cols],
                        dR[:, cols], trans_a=True)
        db = None if b is None else np.stack([dxg2.sum(axis=0), dinner2.sum(axis=0)])
        return tuple(None if g is None else g.astype(out_dtype, copy=False)
                     for g in (dx, dW, dR, db, dh))
    packed = np.concatenate([results[0], results[1][:, None]], axis=1)
    packed = record(packed, (x, kernel, recurrent_kernel, bias, h0), backward)
    return tuple(_unpack(packed, T, 1))


def simple_rnn(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
               go_backwards=False, activation="tanh", recurrent_mask=None):
    """h_t = act(x_t W + h_{t-1} R + b). Returns (hseq, h_T).
    recurrent_mask (1, N, U) or None: recurrent dropout, the product reads
    h_{t-1} * recurrent_mask[0] (a constant: no gradient)."""
    return tuple(_recurrent("simple_rnn", x, kernel, recurrent_kernel, bias, [h0],
                            mask, go_backwards, activation, None, recurrent_mask))
