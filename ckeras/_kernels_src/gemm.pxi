# GEMM: C = alpha * op(A) @ op(B) + beta * C (src/kernels/gemm.c).


cdef int64_t _leading_dim(cnp.ndarray a, str name) except -1:
    """Row stride in elements of a 2-D float32 matrix whose rows are
    contiguous (a C-contiguous array or a row-strided view of one)."""
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {_shp(a)} ({a.ndim}-D)")
    cdef int64_t rows = a.shape[0], cols = a.shape[1]
    cdef int64_t s0 = a.strides[0], s1 = a.strides[1]
    if rows == 0 or cols == 0:
        return max(cols, 1)  # never read
    if cols > 1 and s1 != 4:
        raise ValueError(
            f"{name} must have contiguous rows (last-axis stride 4 bytes), "
            f"got strides {(<object>a).strides}; pass numpy.ascontiguousarray({name})")
    if rows <= 1:
        return max(cols, 1)
    if s0 % 4 != 0 or s0 < 4 * cols:
        raise ValueError(
            f"{name} rows must not overlap or run backwards, got strides "
            f"{(<object>a).strides} for shape {_shp(a)}; pass "
            f"numpy.ascontiguousarray({name})")
    return s0 // 4


cdef object _sgemm(bint use_ref, object A, object B, object C, bint trans_a,
                   bint trans_b, float alpha, float beta):
    cdef cnp.ndarray a = _check_array(A, "A")
    cdef cnp.ndarray b = _check_array(B, "B")
    cdef int64_t lda = _leading_dim(a, "A"), ldb = _leading_dim(b, "B")
    cdef int64_t M = a.shape[1] if trans_a else a.shape[0]
    cdef int64_t K = a.shape[0] if trans_a else a.shape[1]
    cdef int64_t Kb = b.shape[1] if trans_b else b.shape[0]
    cdef int64_t N = b.shape[0] if trans_b else b.shape[1]
    if K != Kb:
        raise ValueError(
            f"op(A) is {M}x{K} but op(B) is {Kb}x{N}: inner dimensions must "
            f"match (A shape {_shp(a)}, trans_a={trans_a}; B shape "
            f"{_shp(b)}, trans_b={trans_b})")
    cdef cnp.ndarray c
    if C is None:
        if beta != 0.0:
            raise ValueError(
                f"beta={beta} reads C, but no C was given; pass C or beta=0")
        c = np.empty((M, N), np.float32)
    else:
        c = _check_array(C, "C")
        if not c.flags.writeable:
            raise ValueError("C is read-only; pass a writeable array")
        if c.ndim != 2 or c.shape[0] != M or c.shape[1] != N:
            raise ValueError(f"C must have shape ({M}, {N}), got {_shp(c)}")
        check_no_alias(c, "C", a, "A")
        check_no_alias(c, "C", b, "B")
    cdef int64_t ldc = _leading_dim(c, "C")
    cdef const float *pa = _fptr(a)
    cdef const float *pb = _fptr(b)
    cdef float *pc = _fptr(c)
    with nogil:
        if use_ref:
            ck_sgemm_ref(trans_a, trans_b, M, N, K, alpha, pa, lda, pb, ldb,
                         beta, pc, ldc)
        else:
            ck_sgemm(trans_a, trans_b, M, N, K, alpha, pa, lda, pb, ldb,
                     beta, pc, ldc)
    return c


def sgemm(A, B, C=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """C = alpha * op(A) @ op(B) + beta * C on the ckeras pool (OpenBLAS).

    A, B: 2-D float32 with contiguous rows (row-strided views allowed).
    C: output of shape (M, N), written in place when given; with beta=0 its
    contents are never read. Returns C.
    """
    return _sgemm(False, A, B, C, trans_a, trans_b, alpha, beta)


def sgemm_ref(A, B, C=None, *, trans_a=False, trans_b=False, alpha=1.0,
              beta=0.0):
    """The naive reference twin of sgemm (same contract, float64 sums)."""
    return _sgemm(True, A, B, C, trans_a, trans_b, alpha, beta)
