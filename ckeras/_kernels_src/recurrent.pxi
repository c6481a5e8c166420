# Recurrent layers over a whole sequence: LSTM, GRU, SimpleRNN
# (src/kernels/lstm.c, src/kernels/rnn.c). Keras 2 weight layouts:
# kernel (input_dim, G*units), recurrent_kernel (units, G*units),
# bias (G*units,), G = 4 (LSTM: i, f, c, o), 3 (GRU: z, r, h), 1.

_RNN_ACTIVATIONS = {
    "linear": CK_ACT_LINEAR,
    "relu": CK_ACT_RELU,
    "sigmoid": CK_ACT_SIGMOID,
    "hard_sigmoid": CK_ACT_HARD_SIGMOID,
    "tanh": CK_ACT_TANH,
}
_RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
_RNN_KINDS = {"LSTM": 0, "GRU": 1, "SimpleRNN": 2}


cdef int _rnn_activation(object name, str arg) except -1:
    code = _RNN_ACTIVATIONS.get(name) if isinstance(name, str) else None
    if code is None:
        raise ValueError(
            f"{arg} must be one of {sorted(_RNN_ACTIVATIONS)}, got {name!r}")
    return code


class RecurrentCache:
    """What a recurrent forward saved for its backward (opaque).

    Holds the saved gates and states (``data``) and the call's settings,
    so the backward cannot be run with a different mask or direction.
    """
    __slots__ = ("layer", "data", "mask", "shape", "go_backwards", "act",
                 "ract", "has_bias", "rdmask", "rdcarry", "projected")

    def __init__(self, layer, data, mask, shape, go_backwards, act, ract,
                 has_bias, rdmask=None, rdcarry=False, projected=False):
        self.layer, self.data, self.mask, self.shape = layer, data, mask, shape
        self.go_backwards, self.act, self.ract = go_backwards, act, ract
        self.has_bias, self.rdmask, self.rdcarry = has_bias, rdmask, rdcarry
        self.projected = projected  # kernel None: x was the projection

    def __repr__(self):
        return (f"RecurrentCache({self.layer}, (N, T, C, U)={self.shape}, "
                f"go_backwards={self.go_backwards})")


cdef tuple _rnn_check_weights(str layer, cnp.ndarray x, object kernel,
                              object recurrent_kernel):
    """Checks x (N, T, C), kernel (C, G*U), recurrent_kernel (U, G*U);
    kernel None: x is the input projection, C = G*U. Returns (N, T, C, U,
    kernel or None, recurrent_kernel)."""
    cdef int64_t G = _RNN_GATES[layer]
    if x.ndim != 3:
        raise ValueError(
            f"{layer} input x must be 3-D (batch, time, features), got shape "
            f"{_shp(x)} ({x.ndim}-D); reshape it to (batch, timesteps, "
            f"input_dim)")
    cdef cnp.ndarray w = None if kernel is None else check_in(kernel, "kernel", 2)
    cdef cnp.ndarray r = check_in(recurrent_kernel, "recurrent_kernel", 2)
    cdef int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2]
    cdef int64_t U = r.shape[0]
    if r.shape[1] != G * U:
        raise ValueError(
            f"{layer} recurrent_kernel must have shape (units, {G}*units), "
            f"got {_shp(r)}")
    if U < 1:
        raise ValueError(f"{layer} needs units >= 1, got recurrent_kernel "
                         f"shape {_shp(r)}")
    if w is None:
        if C != G * U:
            raise ValueError(
                f"{layer} with kernel=None takes x as the input projection "
                f"x W, shape (batch, time, {G}*units) = ({N}, {T}, {G * U}), "
                f"got x shape {_shp(x)}; pass the kernel, or project x first")
    elif _shp(w) != (C, G * U):
        raise ValueError(
            f"{layer} kernel has shape {_shp(w)} but x has shape {_shp(x)} and "
            f"recurrent_kernel has shape {_shp(r)}: expected kernel shape "
            f"({C}, {G * U}) (input_dim, {G}*units)")
    return N, T, C, U, w, r


cdef cnp.ndarray _rnn_state(object s, str name, int64_t N, int64_t U):
    if s is None:
        return None
    cdef cnp.ndarray a = check_in(s, name, 2)
    if _shp(a) != (N, U):
        raise ValueError(
            f"initial state {name} must have shape (batch, units) = "
            f"({N}, {U}), got {_shp(a)}")
    return a


cdef cnp.ndarray _rnn_mask(object mask, int64_t N, int64_t T):
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != (N, T):
        raise ValueError(
            f"mask must have shape (batch, timesteps) = ({N}, {T}), got "
            f"{m.shape}")
    if m.dtype.kind not in "biuf":
        raise TypeError(f"mask must hold 0/1 (bool or numbers), got dtype "
                        f"{m.dtype}")
    return np.ascontiguousarray(m != 0, dtype=np.float32)


cdef cnp.ndarray _rnn_recurrent_mask(object m, str layer, int64_t G,
                                     int64_t N, int64_t U):
    if m is None:
        return None
    cdef cnp.ndarray a = check_in(m, "recurrent_mask", 3)
    if _shp(a) != (G, N, U):
        raise ValueError(
            f"{layer} recurrent_mask must have shape (gates, batch, units) = "
            f"({G}, {N}, {U}), got {_shp(a)}")
    return a


cdef object _rnn_forward(str layer, object x, object kernel,
                         object recurrent_kernel, object bias, object h0,
                         object c0, object mask, bint go_backwards,
                         object activation, object recurrent_activation,
                         object recurrent_mask=None,
                         bint recurrent_mask_carry=False):
    cdef cnp.ndarray xa = check_in(x, "x")
    N, T, C, U, w, r = _rnn_check_weights(layer, xa, kernel, recurrent_kernel)
    cdef int64_t n = N, t = T, c = C, u = U, G = _RNN_GATES[layer]
    cdef cnp.ndarray b = None
    if bias is not None:
        b = check_in(bias, "bias", 1)
        if _shp(b) != (G * u,):
            raise ValueError(
                f"{layer} bias has shape {_shp(b)} but recurrent_kernel has "
                f"shape {_shp(r)}: expected bias shape ({G * u},)")
    cdef cnp.ndarray h0a = _rnn_state(h0, "h0", n, u)
    cdef cnp.ndarray c0a = _rnn_state(c0, "c0", n, u)
    cdef cnp.ndarray m = _rnn_mask(mask, n, t)
    cdef cnp.ndarray rd = _rnn_recurrent_mask(recurrent_mask, layer, G, n, u)
    cdef int act = _rnn_activation(activation, "activation")
    cdef int ract = CK_ACT_LINEAR
    if layer != "SimpleRNN":
        ract = _rnn_activation(recurrent_activation, "recurrent_activation")
    cdef int64_t size
    if layer == "LSTM":
        size = ck_lstm_cache_size(n, t, u)
    elif layer == "GRU":
        size = ck_gru_cache_size(n, t, u)
    else:
        size = ck_simple_rnn_cache_size(n, t, u)
    cdef cnp.ndarray cache = np.empty(size, np.float32)
    cdef cnp.ndarray hseq = np.empty((n, t, u), np.float32)
    cdef cnp.ndarray hT = np.empty((n, u), np.float32)
    cdef cnp.ndarray cT = np.empty((n, u), np.float32) if layer == "LSTM" else None
    cdef float *p_hseq = _fptr(hseq)
    cdef float *p_hT = _fptr(hT)
    cdef float *p_cT = _fptr_or_null(cT)
    cdef float *p_cache = _fptr(cache)
    cdef const float *p_x = _fptr(xa)
    cdef const float *p_w = _fptr_or_null(w)
    cdef const float *p_r = _fptr(<cnp.ndarray>r)
    cdef const float *p_b = _fptr_or_null(b)
    cdef const float *p_h0 = _fptr_or_null(h0a)
    cdef const float *p_c0 = _fptr_or_null(c0a)
    cdef const float *p_m = _fptr_or_null(m)
    cdef const float *p_rd = _fptr_or_null(rd)
    cdef int gb = go_backwards, kind = _RNN_KINDS[layer]
    cdef int carry = recurrent_mask_carry
    with nogil:  # no Python object may be touched in here
        if kind == 0:
            ck_lstm_forward(p_hseq, p_hT, p_cT, p_cache, p_x, p_w, p_r, p_b,
                            p_h0, p_c0, p_m, p_rd, n, t, c, u, gb, act, ract)
        elif kind == 1:
            ck_gru_forward(p_hseq, p_hT, p_cache, p_x, p_w, p_r, p_b, p_h0,
                           p_m, p_rd, n, t, c, u, gb, act, ract, carry)
        else:
            ck_simple_rnn_forward(p_hseq, p_hT, p_cache, p_x, p_w, p_r, p_b,
                                  p_h0, p_m, p_rd, n, t, c, u, gb, act)
    saved = RecurrentCache(layer, cache, m, (N, T, C, U), bool(go_backwards),
                           act, ract, b is not None, rd, bool(carry), w is None)
    if layer == "LSTM":
        return hseq, hT, cT, saved
    return hseq, hT, saved


cdef cnp.ndarray _rnn_grad_in(object g, str name, tuple shape):
    if g is None:
        return None
    cdef cnp.ndarray a = check_in(g, name)
    return check_shape(a, name, shape)


cdef object _rnn_backward(str layer, object dhseq, object dh_T, object dc_T,
                          object cache, object x, object kernel,
                          object recurrent_kernel, object dx, object dkernel,
                          object drecurrent, object dbias, object dh0,
                          object dc0):
    if not isinstance(cache, RecurrentCache) or cache.layer != layer:
        raise TypeError(
            f"cache must be the RecurrentCache returned by the {layer} "
            f"forward, got {cache!r}")
    cdef cnp.ndarray xa = check_in(x, "x")
    N, T, C, U, w, r = _rnn_check_weights(layer, xa, kernel, recurrent_kernel)
    if (N, T, C, U) != cache.shape:
        raise ValueError(
            f"x, kernel and recurrent_kernel give (batch, time, input_dim, "
            f"units) = {(N, T, C, U)}, but the forward that made this cache "
            f"ran with {cache.shape}")
    if (w is None) != cache.projected:
        raise ValueError(
            f"kernel is {'None' if w is None else 'given'} but the forward "
            f"that made this cache ran with "
            f"{'kernel=None' if cache.projected else 'a kernel'}; pass the "
            f"same kernel to the backward")
    cdef int64_t n = N, t = T, c = C, u = U, G = _RNN_GATES[layer]
    cdef cnp.ndarray dhs = _rnn_grad_in(dhseq, "dhseq", (N, T, U))
    cdef cnp.ndarray dhT = _rnn_grad_in(dh_T, "dh_T", (N, U))
    cdef cnp.ndarray dcT = None
    if layer == "LSTM":
        dcT = _rnn_grad_in(dc_T, "dc_T", (N, U))
    cdef cnp.ndarray dxa = check_out(dx, "dx", (N, T, C), zero=True)
    cdef cnp.ndarray dwa = None
    if w is not None:
        dwa = check_out(dkernel, "dkernel", (C, G * U), zero=True)
    cdef cnp.ndarray dra = check_out(drecurrent, "drecurrent", (U, G * U),
                                     zero=True)
    cdef cnp.ndarray dba = None
    if cache.has_bias:
        dba = check_out(dbias, "dbias", (G * U,), zero=True)
    cdef cnp.ndarray dh0a = check_out(dh0, "dh0", (N, U), zero=True)
    cdef cnp.ndarray dc0a = None
    if layer == "LSTM":
        dc0a = check_out(dc0, "dc0", (N, U), zero=True)
    given = [dx, dkernel, drecurrent, dbias, dh0, dc0]
    outs = [("dx", dxa), ("dkernel", dwa), ("drecurrent", dra),
            ("dbias", dba), ("dh0", dh0a), ("dc0", dc0a)]
    ins = [("dhseq", dhs), ("dh_T", dhT), ("dc_T", dcT), ("x", xa),
           ("kernel", w), ("recurrent_kernel", r)]
    for i, (oname, o) in enumerate(outs):
        if o is None or given[i] is None:  # a fresh buffer aliases nothing
            continue
        for iname, a in ins:
            check_no_alias(o, oname, a, iname)
        for oname2, o2 in outs[:i] + outs[i + 1:]:
            check_no_alias(o, oname, o2, oname2)
    cdef int64_t wsize
    if layer == "LSTM":
        wsize = ck_lstm_workspace_size(n, t, c, u)
    elif layer == "GRU":
        wsize = ck_gru_workspace_size(n, t, c, u)
    else:
        wsize = ck_simple_rnn_workspace_size(n, t, c, u)
    cdef cnp.ndarray ws = np.empty(wsize, np.float32)
    cdef float *p_dx = _fptr(dxa)
    cdef float *p_dw = _fptr_or_null(dwa)
    cdef float *p_dr = _fptr(dra)
    cdef float *p_db = _fptr_or_null(dba)
    cdef float *p_dh0 = _fptr(dh0a)
    cdef float *p_dc0 = _fptr_or_null(dc0a)
    cdef const float *p_dhs = _fptr_or_null(dhs)
    cdef const float *p_dhT = _fptr_or_null(dhT)
    cdef const float *p_dcT = _fptr_or_null(dcT)
    cdef const float *p_x = _fptr(xa)
    cdef const float *p_w = _fptr_or_null(w)
    cdef const float *p_r = _fptr(<cnp.ndarray>r)
    cdef const float *p_m = _fptr_or_null(cache.mask)
    cdef const float *p_rd = _fptr_or_null(cache.rdmask)
    cdef const float *p_cache = _fptr(<cnp.ndarray>cache.data)
    cdef float *p_ws = _fptr(ws)
    cdef int gb = cache.go_backwards, act = cache.act, ract = cache.ract
    cdef int kind = _RNN_KINDS[layer], carry = cache.rdcarry
    with nogil:  # no Python object may be touched in here
        if kind == 0:
            ck_lstm_backward(p_dx, p_dw, p_dr, p_db, p_dh0, p_dc0, p_dhs,
                             p_dhT, p_dcT, p_x, p_w, p_r, p_m, p_rd, p_cache,
                             n, t, c, u, gb, act, ract, p_ws)
        elif kind == 1:
            ck_gru_backward(p_dx, p_dw, p_dr, p_db, p_dh0, p_dhs, p_dhT, p_x,
                            p_w, p_r, p_m, p_rd, p_cache, n, t, c, u, gb, act,
                            ract, carry, p_ws)
        else:
            ck_simple_rnn_backward(p_dx, p_dw, p_dr, p_db, p_dh0, p_dhs,
                                   p_dhT, p_x, p_w, p_r, p_m, p_rd, p_cache,
                                   n, t, c, u, gb, act, p_ws)
    if layer == "LSTM":
        return dxa, dwa, dra, dba, dh0a, dc0a
    return dxa, dwa, dra, dba, dh0a


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 mask=None, go_backwards=False, activation="tanh",
                 recurrent_activation="hard_sigmoid", recurrent_mask=None):
    """Keras 2 LSTM over a whole sequence.

    x (N, T, C); kernel (C, 4U), recurrent_kernel (U, 4U), bias (4U,) or
    None, gate order i, f, c, o; h0, c0 (N, U) or None (zeros); mask
    (N, T) of 0/1 or None: a masked step keeps the previous state and
    outputs it. go_backwards processes time reversed; outputs are in
    processed order (Keras 2). recurrent_mask (4, N, U) float32 or None:
    recurrent dropout, gate q's recurrent product reads h * recurrent_mask[q]
    (the backward uses the same masks, kept in the cache). Returns (hseq
    (N, T, U), h_T (N, U), c_T (N, U), cache) with cache for lstm_backward.
    kernel None: x is the input projection x W itself, (N, T, 4U), made by
    the caller (Keras 2's implementation=1 input dropout, one mask per
    gate); the backward then returns dkernel None and dx (N, T, 4U).
    """
    return _rnn_forward("LSTM", x, kernel, recurrent_kernel, bias, h0, c0,
                        mask, go_backwards, activation, recurrent_activation,
                        recurrent_mask)


def lstm_backward(dhseq, dh_T, dc_T, cache, x, kernel, recurrent_kernel,
                  dx=None, dkernel=None, drecurrent=None, dbias=None,
                  dh0=None, dc0=None):
    """Backward through time of lstm_forward.

    dhseq (N, T, U), dh_T, dc_T (N, U): gradients of the outputs (None:
    zero). Accumulates into dx, dkernel, drecurrent, dbias, dh0, dc0 when
    given (fresh zeroed buffers otherwise) and returns them (dbias None
    when the forward had no bias, dkernel None when it had kernel None).
    """
    return _rnn_backward("LSTM", dhseq, dh_T, dc_T, cache, x, kernel,
                         recurrent_kernel, dx, dkernel, drecurrent, dbias,
                         dh0, dc0)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
                go_backwards=False, activation="tanh",
                recurrent_activation="hard_sigmoid", recurrent_mask=None,
                recurrent_mask_carry=False):
    """Keras 2 GRU (reset_after=False) over a whole sequence.

    Same contract as lstm_forward with 3 gates (z, r, h) and no cell
    state. recurrent_mask (3, N, U) float32 or None: recurrent dropout,
    z = ract(.. + (h * m[0]) R_z), r = ract(.. + (h * m[1]) R_r),
    hh = act(.. + (r * (h * m[2])) R_h). recurrent_mask_carry (Keras 2.2's
    GRUCell with implementation=2) makes the update read the masked state
    too: h = z * (h * m[0]) + (1 - z) * hh. Returns (hseq (N, T, U), h_T
    (N, U), cache).
    """
    return _rnn_forward("GRU", x, kernel, recurrent_kernel, bias, h0, None,
                        mask, go_backwards, activation, recurrent_activation,
                        recurrent_mask, recurrent_mask_carry)


def gru_backward(dhseq, dh_T, cache, x, kernel, recurrent_kernel, dx=None,
                 dkernel=None, drecurrent=None, dbias=None, dh0=None):
    """Backward through time of gru_forward; returns (dx, dkernel,
    drecurrent, dbias, dh0), accumulated into the given buffers."""
    return _rnn_backward("GRU", dhseq, dh_T, None, cache, x, kernel,
                         recurrent_kernel, dx, dkernel, drecurrent, dbias,
                         dh0, None)


def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None,
                       mask=None, go_backwards=False, activation="tanh",
                       recurrent_mask=None):
    """Keras 2 SimpleRNN over a whole sequence: h = act(x W + h R + b).
    recurrent_mask (1, N, U) float32 or None: recurrent dropout, the
    product reads h * recurrent_mask[0]. Returns (hseq (N, T, U), h_T
    (N, U), cache)."""
    return _rnn_forward("SimpleRNN", x, kernel, recurrent_kernel, bias, h0,
                        None, mask, go_backwards, activation, None,
                        recurrent_mask)


def simple_rnn_backward(dhseq, dh_T, cache, x, kernel, recurrent_kernel,
                        dx=None, dkernel=None, drecurrent=None, dbias=None,
                        dh0=None):
    """Backward through time of simple_rnn_forward; returns (dx, dkernel,
    drecurrent, dbias, dh0), accumulated into the given buffers."""
    return _rnn_backward("SimpleRNN", dhseq, dh_T, None, cache, x, kernel,
                         recurrent_kernel, dx, dkernel, drecurrent, dbias,
                         dh0, None)
