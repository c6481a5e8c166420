# Embedding lookup and its scatter-add backward (src/kernels/embedding.c).


cdef cnp.ndarray _embedding_indices(object indices, int64_t input_dim):
    """indices (any shape, int or float holding integers, as Keras feeds
    floats) checked against [0, input_dim) and returned as a flat
    C-contiguous int64 array. Raises ValueError naming the first offending
    value and its position."""
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"indices must be a numpy.ndarray of integers, got "
            f"{type(indices).__name__}; convert it with "
            f"numpy.asarray(indices, dtype='int32')")
    cdef object a = indices
    if a.dtype.kind not in "iuf":
        raise TypeError(
            f"indices must have an integer or float dtype, got {a.dtype}")
    if a.size:
        if a.dtype.kind == "f":
            bad = ~np.isfinite(a) | (a != np.floor(a))
            if bad.any():
                pos = np.unravel_index(int(np.argmax(bad)), a.shape)
                raise ValueError(
                    f"indices must hold integers, got {a[pos].item()} at position "
                    f"{tuple(int(p) for p in pos)}")
        lo, hi = a.min(), a.max()
        if lo < 0 or hi >= input_dim:
            bad = (a < 0) | (a >= input_dim)
            pos = np.unravel_index(int(np.argmax(bad)), a.shape)
            value = a[pos].item()
            raise ValueError(
                f"indices must be in [0, input_dim) = [0, {input_dim}), got "
                f"{value} at position {tuple(int(p) for p in pos)}; check "
                f"the vocabulary size (input_dim) of the Embedding")
    return np.ascontiguousarray(a, dtype=np.int64).reshape(-1)


def embedding_forward(indices, table, out=None):
    """out[..., :] = table[indices[...], :].

    indices: any shape, integers in [0, input_dim) (int or float dtype);
    table (input_dim, output_dim) float32. Returns out of shape
    indices.shape + (output_dim,), written in place when given.
    """
    cdef cnp.ndarray t = check_in(table, "table", 2)
    cdef int64_t V = t.shape[0], D = t.shape[1]
    cdef cnp.ndarray idx = _embedding_indices(indices, V)
    cdef cnp.ndarray o = check_out(out, "out", tuple(indices.shape) + (D,))
    check_no_alias(o, "out", t, "table")
    check_no_alias(o, "out", indices, "indices")
    cdef float *po = _fptr(o)
    cdef const float *pt = _fptr(t)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(idx)
    cdef int64_t n = idx.shape[0]
    with nogil:
        ck_embedding_forward(po, pt, pi, n, V, D)
    return o


def embedding_backward(dout, indices, input_dim, dtable=None):
    """dtable[indices[...], :] += dout[..., :], touching only the rows used.

    dout: indices.shape + (output_dim,) float32. dtable (input_dim,
    output_dim): accumulated into when given, else a fresh zeroed array.
    Returns dtable.
    """
    if isinstance(input_dim, bool) or not isinstance(input_dim, (int, np.integer)):
        raise TypeError(f"input_dim must be an int >= 1, got {input_dim!r}")
    check_positive(input_dim, "input_dim")
    cdef int64_t V = input_dim
    cdef cnp.ndarray d = check_in(dout, "dout")
    cdef cnp.ndarray idx = _embedding_indices(indices, V)
    if d.ndim != indices.ndim + 1 or _shp(d)[:d.ndim - 1] != tuple(indices.shape):
        raise ValueError(
            f"dout must have shape indices.shape + (output_dim,) = "
            f"{tuple(indices.shape)} + (output_dim,), got {_shp(d)}")
    cdef int64_t D = d.shape[d.ndim - 1]
    cdef cnp.ndarray dt = check_out(dtable, "dtable", (V, D), zero=True)
    check_no_alias(dt, "dtable", d, "dout")
    check_no_alias(dt, "dtable", indices, "indices")
    cdef float *pdt = _fptr(dt)
    cdef const float *pd = _fptr(d)
    cdef const int64_t *pi = <const int64_t *>cnp.PyArray_DATA(idx)
    cdef int64_t n = idx.shape[0]
    with nogil:
        ck_embedding_backward(pdt, pd, pi, n, V, D)
    return dt
