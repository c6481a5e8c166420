"""References of the recurrent kernels (lstm.c, rnn.c): LSTM, GRU and
SimpleRNN over a whole sequence, Keras 2 math, in float64.

Same contract as the bindings (``ckeras._kernels.lstm_forward`` ...):
x (N, T, C); kernel (C, G*U), recurrent_kernel (U, G*U), bias (G*U,) or
None; h0 (and c0) (N, U) or None for zeros; mask (N, T) of 0/1 or None, a
masked step keeps the previous state and outputs it; go_backwards
processes time reversed and outputs in processed order. Forward returns
the outputs and a cache (a dict); backward returns fresh gradients.

kernel None: x is the input projection x W itself, (N, T, G*U) (the
caller projected it, e.g. with one input dropout mask per gate); the
backward then returns dkernel None and dx (N, T, G*U).

recurrent_mask (G, N, U) or None is Keras 2's recurrent dropout: gate
q's recurrent product reads h_{s-1} * recurrent_mask[q] (the same masks at
every step, h0 included); None: no dropout. GRU's recurrent_mask_carry
(Keras 2.2's GRUCell with implementation=2, which rebinds h_tm1 to the
masked state) makes the update read the masked state too:
h = z * (h_{s-1} * recurrent_mask[0]) + (1 - z) * hh.

Written as plain per-step loops, for clarity: the forward saves each
step's values, the backward undoes the steps in reverse order.
"""
import numpy as np

# name -> (forward, derivative expressed through the forward output y)
ACTIVATIONS = {
    "linear": (lambda x: x, lambda y: np.ones_like(y)),
    "relu": (lambda x: np.maximum(x, 0.0), lambda y: (y > 0).astype(y.dtype)),
    "sigmoid": (lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),  # no overflow
                lambda y: y * (1.0 - y)),
    "hard_sigmoid": (lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
                     lambda y: 0.2 * ((y > 0) & (y < 1)).astype(y.dtype)),
    "tanh": (np.tanh, lambda y: 1.0 - y * y),
}


def _f64(a):
    return None if a is None else np.asarray(a, np.float64)


def _setup(x, recurrent_kernel, h0, mask, go_backwards):
    x = _f64(x)
    N, T, _ = x.shape
    U = recurrent_kernel.shape[0]
    h = np.zeros((N, U)) if h0 is None else _f64(h0).copy()
    keep = (np.ones((N, T)) if mask is None
            else (np.asarray(mask) != 0).astype(np.float64))
    times = list(range(T - 1, -1, -1) if go_backwards else range(T))
    return x, N, T, U, h, keep, times


def _backward_setup(x, kernel, recurrent_kernel, dh_T):
    """What every backward starts from: x, W, R in float64, the sizes, the
    carried dh (dh_T or zeros) and zeroed dx, dW, dR."""
    W, R, x = _kernel(kernel, recurrent_kernel), _f64(recurrent_kernel), _f64(x)
    N, T, _ = x.shape
    U = R.shape[0]
    dh = np.zeros((N, U)) if dh_T is None else _f64(dh_T).copy()
    return x, W, R, N, T, U, dh, np.zeros(x.shape), np.zeros(W.shape), np.zeros(R.shape)


def _kernel(kernel, recurrent_kernel):
    """The input kernel; None (x is the input projection x W itself, made by
    the caller) acts as the identity of size G*U, and dkernel is None."""
    if kernel is None:
        return np.eye(np.shape(recurrent_kernel)[1])
    return _f64(kernel)


def _bias(bias, width):
    return np.zeros(width) if bias is None else _f64(bias)


# ---------------------------------------------------------------- LSTM
def _recurrent_product(h, R, rmask):
    """h R, or with recurrent dropout sum over gates of (h * m_q) R_q."""
    if rmask is None:
        return h @ R
    U = R.shape[0]
    return np.concatenate([(h * rmask[q]) @ R[:, q * U:(q + 1) * U]
                           for q in range(len(rmask))], axis=1)


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 mask=None, go_backwards=False, activation="tanh",
                 recurrent_activation="hard_sigmoid", recurrent_mask=None):
    """Returns (hseq (N, T, U), h_T, c_T, cache)."""
    W, R = _kernel(kernel, recurrent_kernel), _f64(recurrent_kernel)
    x, N, T, U, h, keep, times = _setup(x, R, h0, mask, go_backwards)
    rmask = _f64(recurrent_mask)
    b = _bias(bias, 4 * U)
    act, ract = ACTIVATIONS[activation][0], ACTIVATIONS[recurrent_activation][0]
    c = np.zeros((N, U)) if c0 is None else _f64(c0).copy()
    hseq = np.zeros((N, T, U))
    steps = []
    for s, t in enumerate(times):
        z = x[:, t] @ W + _recurrent_product(h, R, rmask) + b
        i, f = ract(z[:, :U]), ract(z[:, U:2 * U])
        g, o = act(z[:, 2 * U:3 * U]), ract(z[:, 3 * U:])
        c_new = f * c + i * g
        ac = act(c_new)
        h_new = o * ac
        k = keep[:, t:t + 1]
        steps.append(dict(t=t, h_prev=h, c_prev=c, i=i, f=f, g=g, o=o, ac=ac,
                          keep=k))
        h = np.where(k != 0, h_new, h)
        c = np.where(k != 0, c_new, c)
        hseq[:, s] = h
    cache = dict(steps=steps, activation=activation,
                 recurrent_activation=recurrent_activation, recurrent_mask=rmask)
    return hseq, h, c, cache


def lstm_backward(dhseq, dh_T, dc_T, cache, x, kernel, recurrent_kernel):
    """Returns (dx, dkernel, drecurrent, dbias, dh0, dc0)."""
    x, W, R, N, T, U, dh, dx, dW, dR = _backward_setup(x, kernel, recurrent_kernel, dh_T)
    dact = ACTIVATIONS[cache["activation"]][1]
    dract = ACTIVATIONS[cache["recurrent_activation"]][1]
    dc = np.zeros((N, U)) if dc_T is None else _f64(dc_T).copy()
    db = np.zeros(4 * U)
    for s in range(T - 1, -1, -1):
        st = cache["steps"][s]
        k = st["keep"]
        if dhseq is not None:
            dh = dh + _f64(dhseq)[:, s]
        # h = o * act(c)
        do = dh * st["ac"]
        dcc = dc + dh * st["o"] * dact(st["ac"])
        # c = f * c_prev + i * g
        di, dg, df = dcc * st["g"], dcc * st["i"], dcc * st["c_prev"]
        dz = np.concatenate([di * dract(st["i"]), df * dract(st["f"]),
                             dg * dact(st["g"]), do * dract(st["o"])], axis=1)
        dz = dz * k  # a masked step computed nothing
        # z = x_t W + sum_q (h_prev * m_q) R_q + b   (m_q = 1: no dropout)
        t = st["t"]
        dW += x[:, t].T @ dz
        db += dz.sum(axis=0)
        dx[:, t] += dz @ W.T
        rmask = cache.get("recurrent_mask")
        if rmask is None:
            dR += st["h_prev"].T @ dz
            dh_prev = dz @ R.T
        else:
            dh_prev = np.zeros((N, U))
            for q in range(4):
                cols = slice(q * U, (q + 1) * U)
                dR[:, cols] += (st["h_prev"] * rmask[q]).T @ dz[:, cols]
                dh_prev += rmask[q] * (dz[:, cols] @ R[:, cols].T)
        # masked rows: the state passed through unchanged
        dh = dh_prev + (1 - k) * dh
        dc = k * dcc * st["f"] + (1 - k) * dc
    return dx, (None if kernel is None else dW), dR, db, dh, dc


# ----------------------------------------------------------------- GRU
def _gru_masks(recurrent_mask, carry, N, U):
    """(m_z, m_r, m_h, m_carry) of GRU's recurrent dropout: ones without
    recurrent_mask; m_carry is m_z with carry, ones otherwise."""
    ones = np.ones((N, U))
    if recurrent_mask is None:
        return ones, ones, ones, ones
    m = _f64(recurrent_mask)
    return m[0], m[1], m[2], (m[0] if carry else ones)


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None,
                go_backwards=False, activation="tanh",
                recurrent_activation="hard_sigmoid", recurrent_mask=None,
                recurrent_mask_carry=False):
    """Keras 2.0 GRU (reset_after=False). Returns (hseq, h_T, cache)."""
    W, R = _kernel(kernel, recurrent_kernel), _f64(recurrent_kernel)
    x, N, T, U, h, keep, times = _setup(x, R, h0, mask, go_backwards)
    b = _bias(bias, 3 * U)
    act, ract = ACTIVATIONS[activation][0], ACTIVATIONS[recurrent_activation][0]
    mz, mr, mh, mc = _gru_masks(recurrent_mask, recurrent_mask_carry, N, U)
    hseq = np.zeros((N, T, U))
    steps = []
    for s, t in enumerate(times):
        xz = x[:, t] @ W + b
        z = ract(xz[:, :U] + (h * mz) @ R[:, :U])
        r = ract(xz[:, U:2 * U] + (h * mr) @ R[:, U:2 * U])
        hh = act(xz[:, 2 * U:] + (r * (h * mh)) @ R[:, 2 * U:])
        h_new = z * (h * mc) + (1 - z) * hh
        k = keep[:, t:t + 1]
        steps.append(dict(t=t, h_prev=h, z=z, r=r, hh=hh, keep=k))
        h = np.where(k != 0, h_new, h)
        hseq[:, s] = h
    cache = dict(steps=steps, activation=activation,
                 recurrent_activation=recurrent_activation,
                 masks=(mz, mr, mh, mc))
    return hseq, h, cache


def _gru_update_backward(dh, hp, z, hh, mc, keep, dact, dract):
    """Both GRU forms' update h = z * (h_prev * m_c) + (1 - z) * hh (a kept
    step): the gradients of z's and hh's pre-activations from dh."""
    return dh * (hp * mc - hh) * dract(z) * keep, dh * (1 - z) * dact(hh) * keep


def gru_backward(dhseq, dh_T, cache, x, kernel, recurrent_kernel):
    """Returns (dx, dkernel, drecurrent, dbias, dh0)."""
    x, W, R, N, T, U, dh, dx, dW, dR = _backward_setup(x, kernel, recurrent_kernel, dh_T)
    dact = ACTIVATIONS[cache["activation"]][1]
    dract = ACTIVATIONS[cache["recurrent_activation"]][1]
    db = np.zeros(3 * U)
    mz, mr, mh, mc = cache["masks"]  # ones where no recurrent dropout
    for s in range(T - 1, -1, -1):
        st = cache["steps"][s]
        k, hp, z, r, hh = st["keep"], st["h_prev"], st["z"], st["r"], st["hh"]
        if dhseq is not None:
            dh = dh + _f64(dhseq)[:, s]
        dzz, dzh = _gru_update_backward(dh, hp, z, hh, mc, k, dact, dract)
        dh_prev = dh * z * mc
        # hh = act(x W_h + b_h + (r * (h_prev * m_h)) R_h)
        drh = dzh @ R[:, 2 * U:].T
        dzr = drh * (hp * mh) * dract(r)
        dh_prev = dh_prev + drh * r * mh
        dz = np.concatenate([dzz, dzr, dzh], axis=1)
        t = st["t"]
        dW += x[:, t].T @ dz
        # z, r = ract(... + (h_prev * m_z) R_z), ract(... + (h_prev * m_r) R_r)
        dR[:, :U] += (hp * mz).T @ dzz
        dR[:, U:2 * U] += (hp * mr).T @ dzr
        dR[:, 2 * U:] += (r * (hp * mh)).T @ dzh
        db += dz.sum(axis=0)
        dx[:, t] += dz @ W.T
        dh_prev = dh_prev + mz * (dzz @ R[:, :U].T) + mr * (dzr @ R[:, U:2 * U].T)
        dh = k * dh_prev + (1 - k) * dh
    return dx, (None if kernel is None else dW), dR, db, dh


# ---------------------------------------------- GRU (reset_after=True)
def _gru_ra_bias(bias, U):
    """(input bias (3U,), recurrent bias (3U,)) from a (2, 3U) bias or None."""
    if bias is None:
        return np.zeros(3 * U), np.zeros(3 * U)
    b = _f64(bias)
    return b[0], b[1]


def gru_reset_after_forward(x, kernel, recurrent_kernel, bias=None, h0=None,
                            mask=None, go_backwards=False, activation="tanh",
                            recurrent_activation="hard_sigmoid",
                            recurrent_mask=None, recurrent_mask_carry=False):
    """Keras 2.2 GRU with reset_after=True (the CuDNN form): the reset gate
    multiplies the recurrent product, and bias is (2, 3U) (row 0 input,
    row 1 recurrent) or None. Per step, gates z, r, h (m_q the recurrent
    dropout masks, ones without them; m_c = m_z with recurrent_mask_carry):

        xg = x_t W + b_in;  inner_q = (h_prev * m_q) R_q + b_rec_q
        z = ract(xg_z + inner_z);  r = ract(xg_r + inner_r)
        hh = act(xg_h + r * inner_h);  h = z * (h_prev * m_c) + (1 - z) * hh

    Returns (hseq, h_T, cache)."""
    W, R = _kernel(kernel, recurrent_kernel), _f64(recurrent_kernel)
    x, N, T, U, h, keep, times = _setup(x, R, h0, mask, go_backwards)
    b_in, b_rec = _gru_ra_bias(bias, U)
    act, ract = ACTIVATIONS[activation][0], ACTIVATIONS[recurrent_activation][0]
    masks = _gru_masks(recurrent_mask, recurrent_mask_carry, N, U)
    mc = masks[3]
    hseq = np.zeros((N, T, U))
    steps = []
    for s, t in enumerate(times):
        xg = x[:, t] @ W + b_in
        inner = np.concatenate([(h * masks[q]) @ R[:, q * U:(q + 1) * U]
                                for q in range(3)], axis=1) + b_rec
        z = ract(xg[:, :U] + inner[:, :U])
        r = ract(xg[:, U:2 * U] + inner[:, U:2 * U])
        hh = act(xg[:, 2 * U:] + r * inner[:, 2 * U:])
        h_new = z * (h * mc) + (1 - z) * hh
        k = keep[:, t:t + 1]
        steps.append(dict(t=t, h_prev=h, z=z, r=r, hh=hh, inner_h=inner[:, 2 * U:],
                          keep=k))
        h = np.where(k != 0, h_new, h)
        hseq[:, s] = h
    cache = dict(steps=steps, activation=activation,
                 recurrent_activation=recurrent_activation, masks=masks)
    return hseq, h, cache


def gru_reset_after_backward(dhseq, dh_T, cache, x, kernel, recurrent_kernel):
    """Returns (dx, dkernel, drecurrent, dbias (2, 3U), dh0)."""
    x, W, R, N, T, U, dh, dx, dW, dR = _backward_setup(x, kernel, recurrent_kernel, dh_T)
    dact = ACTIVATIONS[cache["activation"]][1]
    dract = ACTIVATIONS[cache["recurrent_activation"]][1]
    db = np.zeros((2, 3 * U))
    masks = cache["masks"]  # (m_z, m_r, m_h, m_c), ones without dropout
    mc = masks[3]
    for s in range(T - 1, -1, -1):
        st = cache["steps"][s]
        k, hp, z, r, hh = st["keep"], st["h_prev"], st["z"], st["r"], st["hh"]
        if dhseq is not None:
            dh = dh + _f64(dhseq)[:, s]
        dzz, dzh = _gru_update_backward(dh, hp, z, hh, mc, k, dact, dract)
        # hh = act(xg_h + r * inner_h)
        dzr = dzh * st["inner_h"] * dract(r)
        dxg = np.concatenate([dzz, dzr, dzh], axis=1)  # d(x W + b_in)
        dinner = np.concatenate([dzz, dzr, dzh * r], axis=1)  # d(inner)
        t = st["t"]
        dW += x[:, t].T @ dxg
        dx[:, t] += dxg @ W.T
        db[0] += dxg.sum(axis=0)
        db[1] += dinner.sum(axis=0)
        # inner_q = (h_prev * m_q) R_q + b_rec_q
        dh_prev = dh * z * mc
        for q in range(3):
            cols = slice(q * U, (q + 1) * U)
            dR[:, cols] += (hp * masks[q]).T @ dinner[:, cols]
            dh_prev = dh_prev + masks[q] * (dinner[:, cols] @ R[:, cols].T)
        # masked rows: the state passed through unchanged
        dh = k * dh_prev + (1 - k) * dh
    return dx, (None if kernel is None else dW), dR, db, dh


# ----------------------------------------------------------- SimpleRNN
def simple_rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None,
                       mask=None, go_backwards=False, activation="tanh",
                       recurrent_mask=None):
    """h = act(x W + (h * m) R + b), m = recurrent_mask[0] (ones without).
    Returns (hseq, h_T, cache)."""
    W, R = _kernel(kernel, recurrent_kernel), _f64(recurrent_kernel)
    x, N, T, U, h, keep, times = _setup(x, R, h0, mask, go_backwards)
    b = _bias(bias, U)
    act = ACTIVATIONS[activation][0]
    m = np.ones((N, U)) if recurrent_mask is None else _f64(recurrent_mask)[0]
    hseq = np.zeros((N, T, U))
    steps = []
    for s, t in enumerate(times):
        y = act(x[:, t] @ W + (h * m) @ R + b)
        k = keep[:, t:t + 1]
        steps.append(dict(t=t, h_prev=h, y=y, keep=k))
        h = np.where(k != 0, y, h)
        hseq[:, s] = h
    return hseq, h, dict(steps=steps, activation=activation, recurrent_mask=m)


def simple_rnn_backward(dhseq, dh_T, cache, x, kernel, recurrent_kernel):
    """Returns (dx, dkernel, drecurrent, dbias, dh0)."""
    x, W, R, N, T, U, dh, dx, dW, dR = _backward_setup(x, kernel, recurrent_kernel, dh_T)
    dact = ACTIVATIONS[cache["activation"]][1]
    db = np.zeros(U)
    m = cache["recurrent_mask"]  # ones without recurrent dropout
    for s in range(T - 1, -1, -1):
        st = cache["steps"][s]
        k = st["keep"]
        if dhseq is not None:
            dh = dh + _f64(dhseq)[:, s]
        dz = dh * dact(st["y"]) * k
        t = st["t"]
        dW += x[:, t].T @ dz
        # y = act(x W + (h_prev * m) R + b)
        dR += (st["h_prev"] * m).T @ dz
        db += dz.sum(axis=0)
        dx[:, t] += dz @ W.T
        dh = m * (dz @ R.T) + (1 - k) * dh
    return dx, (None if kernel is None else dW), dR, db, dh
