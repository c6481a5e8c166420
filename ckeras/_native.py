"""Loads the compiled kernels (ckeras._kernels).

A repaired wheel carries its own OpenBLAS next to the extension. A source
build links against the scipy-openblas32 package; if that library cannot
be found through the build's run path (for example after an isolated pip
build), it is loaded from the installed scipy_openblas32 package first.

The pool's threads spin only briefly (GOMP_SPINCOUNT=30000, about
0.1 ms) before they sleep while waiting for work, unless the user set
OMP_WAIT_POLICY or GOMP_SPINCOUNT. With libgomp's default long spin, any
other busy process on a 2-core machine made a 2-thread kernel wait for a
descheduled thread's time slice (a 1M-element SGD step took 12 ms instead
of 0.3 ms); sleeping at once (PASSIVE) fixes that but costs a wake-up per
kernel call (5-25% on small GEMMs on an idle machine). The short spin keeps
the idle-machine speed and, under one competing process, measured 2.5 ms
against ACTIVE's 12 ms. The setting is read once, when the OpenMP
runtime loads with the kernels, and the environment is restored
afterwards so that other libraries loaded later are not affected.
"""
import ctypes
import os


def _load():
    try:
        from ckeras import _kernels
        return _kernels
    except ImportError as first:
        if "scipy_openblas" not in str(first):
            raise ImportError(
                f"ckeras's compiled kernels could not be imported ({first}). "
                "Build them with `make build` (or `pip install .`).") from first
        try:
            import scipy_openblas32
        except ImportError:
            raise ImportError(
                f"ckeras's kernels need OpenBLAS ({first}); install the "
                "package scipy-openblas32 or a ckeras wheel, which bundles "
                "it") from first
        lib = os.path.join(scipy_openblas32.get_lib_dir(),
                           scipy_openblas32.get_library(fullname=True))
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
        from ckeras import _kernels
        return _kernels


def _load_with_wait_policy():
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return _load()
    os.environ["GOMP_SPINCOUNT"] = "30000"
    try:
        return _load()
    finally:
        del os.environ["GOMP_SPINCOUNT"]


kernels = _load_with_wait_policy()
