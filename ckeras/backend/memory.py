"""Training steps take their large arrays from ckeras's pool
(src/kernels/arraypool.c) instead of fresh pages.

A step allocates the same large arrays every batch (an LSTM's cache and
workspace, gradients, numpy temporaries) and frees them at its end; glibc
returns blocks that large to the kernel, so each batch page-faults them in
again (W4: about 3500 faults, some 9 ms, a batch). Inside `pooled_arrays`
numpy takes array data from the pool (its memory handler is per context,
so other threads and code outside are untouched); freed blocks are kept,
up to a cap, for the next step. `loop` marks a whole fit/evaluate/predict:
when the last running one ends, the cache is emptied. `release` empties it
at any time (clear_session does).
"""
import contextlib
import functools
import threading

from ckeras._native import kernels

_lock = threading.Lock()
_running_loops = 0


@contextlib.contextmanager
def pooled_arrays():
    """numpy arrays made inside this block (in this context) take their
    data from the pool; they return it whenever they are freed."""
    previous = kernels.pool_set_handler(kernels.pool_handler())
    try:
        yield
    finally:
        kernels.pool_set_handler(previous)


def loop(method):
    """Decorates a whole training/evaluation/prediction loop: the pool's
    cache is emptied when the last loop running ends."""

    @functools.wraps(method)
    def run(*args, **kwargs):
        global _running_loops
        with _lock:
            _running_loops += 1
        try:
            return method(*args, **kwargs)
        finally:
            with _lock:
                _running_loops -= 1
                last = _running_loops == 0
            if last:
                release()
    return run


def release():
    """Unmaps every cached block (arrays alive keep their memory)."""
    kernels.pool_release()


def stats():
    """dict: cached_bytes, cap_bytes, hits, misses of the pool."""
    return kernels.pool_stats()
