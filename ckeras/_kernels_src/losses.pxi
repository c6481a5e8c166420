# Losses: per-sample loss forward, dloss-scaled backward (src/kernels/losses.c).
# Inputs are (N, C) float32, loss and dloss (N,).


cdef float _check_eps(object eps) except -1:
    cdef float e = eps
    # checked as the float32 the kernel sees (1e-50 would become 0)
    if not (0.0 < eps < 0.5 and 0.0 < e < 0.5):
        raise ValueError(
            f"eps must be in (0, 0.5) as a float32, got {eps!r}; Keras's "
            f"default is 1e-7")
    return e


cdef cnp.ndarray _check_rows(object x, str name, tuple shape=None):
    """A C-contiguous (N, C) float32 input with C >= 1 (of `shape` when
    given)."""
    cdef cnp.ndarray a = check_in(x, name, 2)
    if shape is not None:
        check_shape(a, name, shape)
    elif a.shape[1] < 1:
        raise ValueError(
            f"{name} must have at least one column (class), got shape {_shp(a)}")
    return a


cdef cnp.ndarray _check_dloss(object dloss, int64_t N):
    cdef cnp.ndarray d = check_in(dloss, "dloss", 1)
    return check_shape(d, "dloss", (N,))


cdef _no_alias(cnp.ndarray out, str out_name, list inputs):
    for other, other_name in inputs:
        check_no_alias(out, out_name, other, other_name)


def softmax_xent_forward(z, t, eps=1e-7, loss=None, probs=None):
    """Fused softmax + categorical cross-entropy, Keras 2's clipped way.

    z: logits (N, C); t: targets (N, C). Returns (loss (N,), probs (N, C))
    with loss[n] = -sum_c t log(clip(softmax(z), eps, 1 - eps)); probs is
    kept for the backward. loss and probs may be given (written in place).
    """
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray zz = _check_rows(z, "z")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(zz))
    cdef int64_t N = zz.shape[0], C = zz.shape[1]
    cdef cnp.ndarray l = check_out(loss, "loss", (N,))
    cdef cnp.ndarray p = check_out(probs, "probs", (N, C))
    _no_alias(l, "loss", [(zz, "z"), (tt, "t"), (p, "probs")])
    _no_alias(p, "probs", [(zz, "z"), (tt, "t")])
    cdef float *pl = _fptr(l)
    cdef float *pp = _fptr(p)
    cdef const float *pz = _fptr(zz)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_softmax_xent_forward(pl, pp, pz, pt, N, C, e)
    return l, p


def softmax_xent_backward(dloss, probs, t, eps=1e-7, dz=None):
    """dz += dloss[n] * (p * sum_c(m t) - m t), m = (eps <= p <= 1 - eps).

    The exact gradient of softmax_xent_forward's clipped loss (p - t when
    nothing clips and t sums to one). dz: accumulated into (fresh zeros
    when None); must not share memory with the inputs. Returns dz.
    """
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray p = _check_rows(probs, "probs")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(p))
    cdef int64_t N = p.shape[0], C = p.shape[1]
    cdef cnp.ndarray dl = _check_dloss(dloss, N)
    cdef cnp.ndarray d = check_out(dz, "dz", (N, C), zero=True)
    _no_alias(d, "dz", [(dl, "dloss"), (p, "probs"), (tt, "t")])
    cdef float *pd = _fptr(d)
    cdef const float *pdl = _fptr(dl)
    cdef const float *pp = _fptr(p)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_softmax_xent_backward(pd, pdl, pp, pt, N, C, e)
    return d


def bce_forward(p, t, eps=1e-7, loss=None):
    """Binary cross-entropy on probabilities, Keras 2's way: clip p to
    [eps, 1 - eps], take the logit, sigmoid cross-entropy; loss[n] is the
    mean over the C columns. Returns loss (N,)."""
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray pp = _check_rows(p, "p")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(pp))
    cdef int64_t N = pp.shape[0], C = pp.shape[1]
    cdef cnp.ndarray l = check_out(loss, "loss", (N,))
    _no_alias(l, "loss", [(pp, "p"), (tt, "t")])
    cdef float *pl = _fptr(l)
    cdef const float *ppp = _fptr(pp)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_bce_forward(pl, ppp, pt, N, C, e)
    return l


def bce_backward(dloss, p, t, eps=1e-7, dp=None):
    """dp += dloss[n] / C * m (p - t) / (p (1 - p)), m = (eps <= p <= 1 - eps).
    Returns dp (accumulated; fresh zeros when None)."""
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray pp = _check_rows(p, "p")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(pp))
    cdef int64_t N = pp.shape[0], C = pp.shape[1]
    cdef cnp.ndarray dl = _check_dloss(dloss, N)
    cdef cnp.ndarray d = check_out(dp, "dp", (N, C), zero=True)
    _no_alias(d, "dp", [(dl, "dloss"), (pp, "p"), (tt, "t")])
    cdef float *pd = _fptr(d)
    cdef const float *pdl = _fptr(dl)
    cdef const float *ppp = _fptr(pp)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_bce_backward(pd, pdl, ppp, pt, N, C, e)
    return d


def sigmoid_bce_forward(z, t, eps=1e-7, loss=None, probs=None):
    """Fused sigmoid + binary cross-entropy on logits z (N, C): the numbers
    of sigmoid then bce_forward. Returns (loss (N,), probs = sigmoid(z))."""
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray zz = _check_rows(z, "z")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(zz))
    cdef int64_t N = zz.shape[0], C = zz.shape[1]
    cdef cnp.ndarray l = check_out(loss, "loss", (N,))
    cdef cnp.ndarray p = check_out(probs, "probs", (N, C))
    _no_alias(l, "loss", [(zz, "z"), (tt, "t"), (p, "probs")])
    _no_alias(p, "probs", [(zz, "z"), (tt, "t")])
    cdef float *pl = _fptr(l)
    cdef float *pp = _fptr(p)
    cdef const float *pz = _fptr(zz)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_sigmoid_bce_forward(pl, pp, pz, pt, N, C, e)
    return l, p


def sigmoid_bce_backward(dloss, probs, t, eps=1e-7, dz=None):
    """dz += dloss[n] / C * m (probs - t), m = (eps <= probs <= 1 - eps).
    Returns dz (accumulated; fresh zeros when None)."""
    cdef float e = _check_eps(eps)
    cdef cnp.ndarray p = _check_rows(probs, "probs")
    cdef cnp.ndarray tt = _check_rows(t, "t", _shp(p))
    cdef int64_t N = p.shape[0], C = p.shape[1]
    cdef cnp.ndarray dl = _check_dloss(dloss, N)
    cdef cnp.ndarray d = check_out(dz, "dz", (N, C), zero=True)
    _no_alias(d, "dz", [(dl, "dloss"), (p, "probs"), (tt, "t")])
    cdef float *pd = _fptr(d)
    cdef const float *pdl = _fptr(dl)
    cdef const float *pp = _fptr(p)
    cdef const float *pt = _fptr(tt)
    with nogil:
        ck_sigmoid_bce_backward(pd, pdl, pp, pt, N, C, e)
    return d


def mse_forward(yp, yt, loss=None):
    """loss[n] = mean_c (yp - yt)^2 for (N, C) inputs. Returns loss (N,)."""
    cdef cnp.ndarray a = _check_rows(yp, "yp")
    cdef cnp.ndarray b = _check_rows(yt, "yt", _shp(a))
    cdef int64_t N = a.shape[0], C = a.shape[1]
    cdef cnp.ndarray l = check_out(loss, "loss", (N,))
    _no_alias(l, "loss", [(a, "yp"), (b, "yt")])
    cdef float *pl = _fptr(l)
    cdef const float *pa = _fptr(a)
    cdef const float *pb = _fptr(b)
    with nogil:
        ck_mse_forward(pl, pa, pb, N, C)
    return l


def mse_backward(dloss, yp, yt, dyp=None):
    """dyp += dloss[n] * 2 (yp - yt) / C. Returns dyp (accumulated; fresh
    zeros when None)."""
    cdef cnp.ndarray a = _check_rows(yp, "yp")
    cdef cnp.ndarray b = _check_rows(yt, "yt", _shp(a))
    cdef int64_t N = a.shape[0], C = a.shape[1]
    cdef cnp.ndarray dl = _check_dloss(dloss, N)
    cdef cnp.ndarray d = check_out(dyp, "dyp", (N, C), zero=True)
    _no_alias(d, "dyp", [(dl, "dloss"), (a, "yp"), (b, "yt")])
    cdef float *pd = _fptr(d)
    cdef const float *pdl = _fptr(dl)
    cdef const float *pa = _fptr(a)
    cdef const float *pb = _fptr(b)
    with nogil:
        ck_mse_backward(pd, pdl, pa, pb, N, C)
    return d
