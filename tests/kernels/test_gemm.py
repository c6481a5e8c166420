"""ck_sgemm and its naive twin against the numpy reference."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import gemm as ref

# (64, 64, 64) and after take gemm_small.c's micro-kernel where the CPU has
# AVX2: full and partial 6x16 tiles, K at its bound (512) and just past it.
SHAPES = [(1, 1, 1), (1, 9, 4), (7, 1, 3), (5, 3, 0), (17, 33, 65),
          (64, 64, 64), (129, 65, 31), (128, 512, 784), (32, 512, 160),
          (300, 7, 70), (6, 16, 1), (13, 80, 512), (11, 48, 513), (7, 96, 200)]


def operands(M, N, K, trans_a, trans_b, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((K, M) if trans_a else (M, K), dtype=np.float32)
    B = rng.standard_normal((N, K) if trans_b else (K, N), dtype=np.float32)
    return A, B


@pytest.mark.parametrize("M,N,K", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("fn", [kernels.sgemm, kernels.sgemm_ref])
def test_sgemm_matches_reference(fn, M, N, K, trans_a, trans_b):
    A, B = operands(M, N, K, trans_a, trans_b)
    C0 = np.random.default_rng(1).standard_normal((M, N), dtype=np.float32)
    want = ref.sgemm(A, B, C0, trans_a, trans_b, alpha=0.5, beta=-1.5)
    got = fn(A, B, C0.copy(), trans_a=trans_a, trans_b=trans_b, alpha=0.5,
             beta=-1.5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * (K + 1) ** 0.5)


@pytest.mark.parametrize("fn", [kernels.sgemm, kernels.sgemm_ref])
def test_beta_zero_never_reads_c(fn):
    A, B = operands(33, 70, 20, False, False)
    C = np.full((33, 70), np.nan, np.float32)
    got = fn(A, B, C)
    assert got is C
    np.testing.assert_allclose(C, ref.sgemm(A, B), rtol=1e-5, atol=1e-5)


def test_leading_dimensions_of_views():
    rng = np.random.default_rng(2)
    big_a = rng.standard_normal((40, 50), dtype=np.float32)
    big_b = rng.standard_normal((60, 45), dtype=np.float32)
    big_c = np.zeros((40, 70), np.float32)
    A, B, C = big_a[:, 3:23], big_b[5:25, 1:31], big_c[:, 10:40]
    kernels.sgemm(A, B, C)
    np.testing.assert_allclose(C, ref.sgemm(A, B), rtol=1e-5, atol=1e-5)
    assert not big_c[:, :10].any() and not big_c[:, 40:].any()


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_small_kernel_reads_views_in_place(trans_a, trans_b):
    # 20 x 64 x 24 goes to the micro-kernel, which reads untransposed B
    # panels in place with B's own row stride
    rng = np.random.default_rng(4)
    big_a = rng.standard_normal((70, 90), dtype=np.float32)
    big_b = rng.standard_normal((90, 100), dtype=np.float32)
    big_c = np.zeros((30, 100), np.float32)
    A = big_a[3:27, 5:25] if trans_a else big_a[5:25, 3:27]
    B = big_b[7:71, 2:26] if trans_b else big_b[2:26, 7:71]
    C = big_c[4:24, 10:74]
    kernels.sgemm(A, B, C, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(C, ref.sgemm(A, B, None, trans_a, trans_b),
                               rtol=1e-5, atol=1e-5)
    assert not big_c[:, :10].any() and not big_c[:, 74:].any()
    assert not big_c[:4].any() and not big_c[24:].any()


@pytest.mark.parametrize("M,N,K", [(128, 512, 784), (32, 512, 160),
                                   (256, 256, 256), (1, 1000, 3), (128, 64, 64),
                                   (32, 512, 128), (129, 65, 31)])
def test_results_do_not_depend_on_thread_count(M, N, K):
    A, B = operands(M, N, K, False, False, seed=3)
    before = get_num_threads()
    try:
        results = []
        for n in (1, 2, 3, 4):
            set_num_threads(n)
            results.append(kernels.sgemm(A, B))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        assert np.array_equal(r, results[0])


def test_bad_inputs_raise_clear_errors():
    A = np.ones((3, 4), np.float32)
    B = np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.sgemm(A.astype(np.float64), B)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.sgemm([[1.0]], B)
    with pytest.raises(ValueError, match="2-D"):
        kernels.sgemm(np.ones(4, np.float32), B)
    with pytest.raises(ValueError, match="inner dimensions"):
        kernels.sgemm(A, np.ones((5, 4), np.float32))
    with pytest.raises(ValueError, match="contiguous rows"):
        kernels.sgemm(np.ones((4, 3), np.float32).T, B)
    with pytest.raises(ValueError, match=r"shape \(3, 5\)"):
        kernels.sgemm(A, B, np.zeros((5, 3), np.float32))
    ro = np.zeros((3, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.sgemm(A, B, ro)
    with pytest.raises(ValueError, match="no C was given"):
        kernels.sgemm(A, B, beta=1.0)
    square = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="share memory"):
        kernels.sgemm(square, square, square)
    with pytest.raises(ValueError, match="backwards"):
        kernels.sgemm(A[::-1], B)


def test_set_num_threads_rejects_bad_values():
    with pytest.raises(ValueError, match=">= 1"):
        set_num_threads(0)
    with pytest.raises(TypeError, match="int"):
        set_num_threads(1.5)
