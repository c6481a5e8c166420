"""The kernel thread pool (src/kernels/parallel.c): blocks claimed from a
shared counter, callers from several Python threads at once, forked
children, more threads than cores."""
import multiprocessing
import threading

import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import gemm as ref


def _product(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((256, 300), dtype=np.float32)
    B = rng.standard_normal((300, 200), dtype=np.float32)
    return A, B


@pytest.fixture
def threads():
    before = get_num_threads()
    yield set_num_threads
    set_num_threads(before)


def test_concurrent_callers_each_get_their_own_result(threads):
    # two Python threads calling parallel kernels at once: one uses the
    # pool, the other runs its blocks itself; both results are exact
    threads(2)
    A, B = _product(0)
    want = kernels.sgemm(A, B)
    results, errors = [], []

    def work():
        try:
            for _ in range(30):
                results.append(kernels.sgemm(A, B))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors and len(results) == 90
    for r in results:
        assert np.array_equal(r, want)


def _child(conn):
    A, B = _product(1)
    conn.send(kernels.sgemm(A, B))
    conn.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs fork")
def test_forked_child_runs_parallel_kernels(threads):
    threads(2)
    A, B = _product(1)
    want = kernels.sgemm(A, B)  # the parent's workers exist now
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child,))
    p.start()
    assert parent.poll(120), "the forked child hung in a parallel kernel"
    got = parent.recv()
    p.join(30)
    assert p.exitcode == 0
    assert np.array_equal(got, want)


def test_more_threads_than_cores_and_back(threads):
    A, B = _product(2)
    results = []
    for n in (1, 8, 2, 3, 1):
        threads(n)
        results.append(kernels.sgemm(A, B))
    for r in results:
        assert np.array_equal(r, results[0])
    np.testing.assert_allclose(results[0], ref.sgemm(A, B), rtol=1e-4, atol=1e-3)


def test_fma_peak_is_measured(threads):
    threads(2)
    assert kernels.fma_peak_gflops(200000) > 0.5
