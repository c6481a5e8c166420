# Dropout: y = x * mask with mask = u < 1-rate ? 1/(1-rate) : 0, u from a
# counter-based stream of (seed, element index) (src/kernels/dropout.c).


def dropout_forward(x, rate, seed, out=None, mask=None):
    """Inverted dropout of x (float32, any shape, C-contiguous).

    rate: the fraction dropped, 0 <= rate < 1. seed: an int in [0, 2**64)
    naming the random stream (draw a fresh one per call). out: optional
    output of x's shape, may be x itself (in place). mask: optional buffer
    of x's shape for the mask (0 or 1/(1-rate)); it must not overlap x or
    out. Returns (y, mask); the backward pass is dx = dy * mask.
    """
    cdef cnp.ndarray a = check_in(x, "x")
    if not 0.0 <= rate < 1.0:
        raise ValueError(
            f"rate must be in [0, 1), got {rate!r}; it is the fraction of "
            f"inputs dropped")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
    cdef uint64_t s = seed
    cdef float r = rate
    cdef cnp.ndarray y = check_out(out, "out", _shp(a))
    if out is not None and _fptr(y) != _fptr(a):
        check_no_alias(y, "out", a, "x")
    cdef cnp.ndarray m = check_out(mask, "mask", _shp(a))
    check_no_alias(m, "mask", a, "x")
    if out is not None:
        check_no_alias(m, "mask", y, "out")
    cdef float *py = _fptr(y)
    cdef float *pm = _fptr(m)
    cdef const float *px = _fptr(a)
    cdef int64_t n = a.size
    with nogil:
        ck_dropout_forward(py, pm, px, n, r, s)
    return y, m
