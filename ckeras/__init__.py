"""ckeras: Keras 2 compatible deep learning on the CPU, with C kernels.

Write Keras 2 code with ``keras`` replaced by ``ckeras``. The hot paths
(GEMM-backed Dense, activations, fused losses and optimizer updates) are
plain C kernels in ``src/kernels/``, bound by Cython in
``ckeras._kernels``.

Submodules (``ckeras.layers``, ``ckeras.models``, ``ckeras.backend`` ...)
load on first access, so ``import ckeras`` stays fast.
"""
import importlib

__version__ = "0.1.0"

_SUBMODULES = ("activations", "backend", "constraints", "engine", "initializers",
               "layers", "models", "regularizers", "utils", "callbacks", "losses",
               "metrics", "optimizers", "datasets", "preprocessing", "applications",
               "wrappers")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"ckeras.{name}")
    raise AttributeError(f"module 'ckeras' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
