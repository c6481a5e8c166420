# Argument checks shared by every binding. Each raises a TypeError (wrong
# type or dtype) or ValueError (rank, shape, layout, writability) that
# says what was received, what was expected and how to fix it.


cdef inline tuple _shp(cnp.ndarray a):
    return tuple((<object>a).shape)


cdef inline float *_fptr(cnp.ndarray a):
    return <float *>cnp.PyArray_DATA(a)


cdef inline float *_fptr_or_null(object a):
    return NULL if a is None else <float *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef cnp.ndarray _check_array(object x, str name):
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray of float32, got "
            f"{type(x).__name__}; convert it with "
            f"numpy.asarray({name}, dtype='float32')")
    if x.dtype != np.float32:
        raise TypeError(
            f"{name} must have dtype float32, got {x.dtype}; convert it "
            f"with {name}.astype('float32')")
    return <cnp.ndarray>x


cdef cnp.ndarray check_in(object x, str name, int ndim=-1):
    """A C-contiguous float32 input of rank ndim (any rank when -1)."""
    cdef cnp.ndarray a = _check_array(x, name)
    if ndim >= 0 and a.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D, got shape {_shp(a)} ({a.ndim}-D)")
    if not a.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous, got strides {(<object>a).strides} for "
            f"shape {_shp(a)}; pass numpy.ascontiguousarray({name})")
    return a


cdef cnp.ndarray check_shape(cnp.ndarray a, str name, tuple shape):
    if _shp(a) != shape:
        raise ValueError(
            f"{name} must have shape {shape}, got {_shp(a)}")
    return a


cdef cnp.ndarray check_out(object out, str name, tuple shape, bint zero=False):
    """An output buffer: a fresh one (zeroed when `zero`) if out is None,
    else a writeable C-contiguous float32 array of exactly `shape`."""
    if out is None:
        return np.zeros(shape, np.float32) if zero else np.empty(shape, np.float32)
    cdef cnp.ndarray a = _check_array(out, name)
    if not a.flags.writeable:
        raise ValueError(
            f"{name} is read-only; pass a writeable array (for example "
            f"{name}.copy())")
    if not a.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous, got strides {(<object>a).strides} for "
            f"shape {_shp(a)}; pass a buffer made by numpy.zeros/empty")
    return check_shape(a, name, shape)


cdef check_no_alias(cnp.ndarray out, str out_name, object other, str other_name):
    if other is None:
        return
    cdef char *a0
    cdef char *b0
    if isinstance(other, np.ndarray) and out.flags.c_contiguous and \
            (<cnp.ndarray>other).flags.c_contiguous:
        # two contiguous extents: overlap is a bounds comparison (numpy's
        # may_share_memory costs a Python call per check, ~100 a step)
        a0 = <char *>cnp.PyArray_DATA(out)
        b0 = <char *>cnp.PyArray_DATA(<cnp.ndarray>other)
        if a0 < b0 + cnp.PyArray_NBYTES(<cnp.ndarray>other) and \
                b0 < a0 + cnp.PyArray_NBYTES(out) and \
                cnp.PyArray_NBYTES(out) > 0 and cnp.PyArray_NBYTES(<cnp.ndarray>other) > 0:
            raise ValueError(
                f"{out_name} must not share memory with {other_name}; pass a "
                f"separate buffer")
        return
    if np.may_share_memory(out, other):
        raise ValueError(
            f"{out_name} must not share memory with {other_name}; pass a "
            f"separate buffer")


cdef int64_t check_positive(object value, str name) except -1:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value
