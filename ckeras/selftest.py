"""A quick check that an installed ckeras works: ``python -m ckeras.selftest``.

Used by ``make test-wheel`` on a repaired wheel in a fresh virtual
environment (numpy, h5py and pyyaml only, no compiler): imports the compiled
kernels from site-packages, checks that OpenBLAS is the bundled copy, and
runs a GEMM against numpy at 1 and 2 threads.
"""
import os
import sys

import numpy as np


def main():
    import ckeras
    from ckeras._native import kernels
    from ckeras.backend import set_num_threads

    where = os.path.dirname(kernels.__file__)
    print(f"ckeras {ckeras.__version__} kernels: {kernels.__file__}")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((67, 130), dtype=np.float32)
    B = rng.standard_normal((130, 45), dtype=np.float32)
    want = A.astype(np.float64) @ B.astype(np.float64)
    results = []
    for n in (1, 2):
        set_num_threads(n)
        results.append(kernels.sgemm(A, B))
        err = float(np.abs(results[-1] - want).max())
        if err > 1e-3:
            print(f"FAIL: sgemm differs from numpy by {err} at {n} threads")
            return 1
    if not np.array_equal(results[0], results[1]):
        print("FAIL: sgemm results differ between 1 and 2 threads")
        return 1
    maps = open("/proc/self/maps").read() if os.path.exists("/proc/self/maps") else ""
    blas = sorted({line.split()[-1] for line in maps.splitlines()
                   if "openblas" in line.split()[-1]})
    print("OpenBLAS loaded from:", *blas, sep="\n  ")
    print(f"selftest passed ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
