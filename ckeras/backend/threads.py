"""One public way to set threads: ``set_num_threads(n)``.

ckeras runs every kernel on one pool (src/kernels/parallel.c); OpenBLAS is pinned to one
thread and called from inside that pool, so two pools never spin against
each other. ``set_num_threads`` also sets numpy's own OpenBLAS, when numpy
has one, so that numpy work in the same process follows the same count.
"""
import ctypes
import glob
import os

import numpy as np

from ckeras._native import kernels


def _numpy_blas_setter():
    """The thread setter of the OpenBLAS that numpy loaded, or None."""
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                return setter
    return None


def set_num_threads(n):
    """Sets how many threads ckeras's kernels (and numpy's BLAS) use.

    Args:
        n: int >= 1. The default is the number of cores this process may
            run on. Results do not depend on it: a model trained with 1 or
            with 8 threads ends with bitwise-identical weights.
    """
    kernels.set_num_threads(n)
    setter = _numpy_blas_setter()
    if setter is not None:
        setter(int(n))


def get_num_threads():
    """The number of threads ckeras's kernels use."""
    return kernels.get_num_threads()
