"""Loads the compiled kernels (ckeras._kernels).

A repaired wheel carries its own OpenBLAS next to the extension. A source
build links against the scipy-openblas32 package; if that library cannot
be found through the build's run path (for example after an isolated pip
build), it is loaded from the installed scipy_openblas32 package first.
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


kernels = _load()
