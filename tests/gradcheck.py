"""Central finite differences in float64, the check of every reference
backward, and a one-call helper to test an op against its reference.

Usage: for a forward f(*inputs) -> array and a backward that, given the
output gradient dy, returns the gradient of sum(dy * f(...)) for each
input, ``assert_grads_match(f, backward, inputs)`` checks every input's
gradient against central differences.
"""
import numpy as np


def numeric_grad(scalar_fn, x, eps=1e-6):
    """d scalar_fn(x) / dx by central differences; x is float64 and is
    perturbed in place (and restored)."""
    g = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = scalar_fn()
        flat[i] = old - eps
        down = scalar_fn()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


def assert_match_finite_differences(grads, objective, targets, rtol=1e-5, atol=1e-7):
    """Each of grads (e.g. a tape's) equals the central differences of the
    scalar objective() with respect to its float64 target array, which is
    perturbed in place (a layer's weight values, an input)."""
    assert len(grads) == len(targets)
    for i, (got, target) in enumerate(zip(grads, targets)):
        np.testing.assert_allclose(got, numeric_grad(objective, target), rtol=rtol,
                                   atol=atol, err_msg=f"target {i}")


def assert_grads_match(forward, backward, inputs, wrt=None, seed=0,
                       rtol=1e-5, atol=1e-7, eps=1e-6):
    """Checks backward(dy, *inputs) against finite differences of forward.

    forward(*inputs) returns an array y; backward(dy, *inputs) returns a
    tuple with the gradient of sum(dy * y) for each input in `wrt`
    (indices into inputs; default all). Everything is float64.
    """
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    wrt = list(range(len(inputs))) if wrt is None else list(wrt)
    y = np.asarray(forward(*inputs), dtype=np.float64)
    dy = np.random.default_rng(seed).standard_normal(y.shape)
    analytic = backward(dy, *inputs)
    if not isinstance(analytic, (tuple, list)):
        analytic = (analytic,)
    assert len(analytic) == len(wrt), (
        f"backward returned {len(analytic)} gradients for {len(wrt)} inputs")
    for got, i in zip(analytic, wrt):
        def objective():
            return float(np.sum(dy * forward(*inputs)))
        want = numeric_grad(objective, inputs[i], eps)
        np.testing.assert_allclose(
            np.asarray(got, np.float64), want, rtol=rtol, atol=atol,
            err_msg=f"gradient of input {i} disagrees with finite differences")
