"""The one place the backend reaches the compiled kernels.

Fused ops call these names; they resolve to ``ckeras._native.kernels`` (the
Cython bindings of src/kernels/). Nothing here falls back to numpy: a
missing kernel is an error that says how to get it.
"""
from ckeras._native import kernels


def _missing(name):
    def fail(*args, **kwargs):
        raise RuntimeError(
            f"the compiled kernel {name!r} is missing from ckeras._kernels; "
            "rebuild the extension (`make build`) from a checkout that has it")
    return fail


def get(name):
    """The kernel binding called `name` (looked up on every use, cheap)."""
    fn = getattr(kernels, name, None)
    return fn if fn is not None else _missing(name)


def __getattr__(name):
    """``native.dense_forward`` etc.: the binding, or a clear error."""
    fn = getattr(kernels, name, None)
    if fn is None:
        return _missing(name)
    return fn


sgemm = kernels.sgemm
