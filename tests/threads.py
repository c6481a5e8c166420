"""Bitwise identity across thread counts, the property every kernel keeps."""
import numpy as np

from ckeras.backend import get_num_threads, set_num_threads


def assert_same_bits_at_thread_counts(run, counts=(1, 2, 3)):
    """Calls run() (returning a list of arrays) at each thread count and
    asserts every result is bitwise equal to the first; restores the
    thread count."""
    before = get_num_threads()
    results = []
    try:
        for n in counts:
            set_num_threads(n)
            results.append([np.array(a, copy=True) for a in run()])
    finally:
        set_num_threads(before)
    for other in results[1:]:
        assert len(other) == len(results[0])
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
