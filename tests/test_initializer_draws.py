"""Random initializers draw chunk by chunk into the float32 result: the
values (and the generator's state afterwards) are bit for bit those of
one float64 draw of the whole shape cast at the end, as before, and no
float64 array of the whole size is made."""
import tracemalloc

import numpy as np
import pytest

from ckeras import initializers


def _old_truncated(rng, mean, stddev, shape):
    x = rng.normal(0.0, 1.0, shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(x) > 2
    return mean + stddev * x


def _old(init, shape, rng):
    """The whole-array float64 draws the initializers made before."""
    if isinstance(init, initializers.RandomNormal):
        x = rng.normal(init.mean, init.stddev, shape)
    elif isinstance(init, initializers.RandomUniform):
        x = rng.uniform(init.minval, init.maxval, shape)
    elif isinstance(init, initializers.TruncatedNormal):
        x = _old_truncated(rng, init.mean, init.stddev, shape)
    else:
        fan_in, fan_out = initializers._compute_fans(shape)
        scale = init.scale / max(1.0, {"fan_in": fan_in, "fan_out": fan_out,
                                       "fan_avg": (fan_in + fan_out) / 2.0}[init.mode])
        if init.distribution == "normal":
            x = _old_truncated(rng, 0.0, np.sqrt(scale), shape)
        else:
            limit = np.sqrt(3.0 * scale)
            x = rng.uniform(-limit, limit, shape)
    return np.asarray(x, dtype="float32")


INITS = [lambda s: initializers.RandomNormal(0.1, 2.0, seed=s),
         lambda s: initializers.RandomUniform(-1.0, 3.0, seed=s),
         lambda s: initializers.TruncatedNormal(0.0, 1.0, seed=s),
         lambda s: initializers.VarianceScaling(2.0, "fan_in", "normal", seed=s),
         lambda s: initializers.VarianceScaling(1.0, "fan_avg", "uniform", seed=s)]


@pytest.mark.parametrize("make", INITS, ids=["normal", "uniform", "truncated",
                                             "vs_normal", "vs_uniform"])
@pytest.mark.parametrize("shape", [(), (1,), (5, 3), (7, 11), (2, 3, 4, 5)])
@pytest.mark.parametrize("chunk", [1, 4, 7, 1 << 18])
def test_chunked_draws_equal_the_whole_array_draw(monkeypatch, make, shape, chunk):
    monkeypatch.setattr(initializers, "_CHUNK", chunk)
    got = make(3)(shape)  # seeded: its own RandomState
    want = _old(make(3), shape, np.random.RandomState(3))
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)
    np.random.seed(5)  # unseeded: the global generator, left in the same state
    got, after = make(None)(shape), np.random.random_sample()
    np.random.seed(5)
    want = _old(make(None), shape, np.random.mtrand._rand)
    np.testing.assert_array_equal(got, want)
    assert np.random.random_sample() == after


def test_float64_weights_are_drawn_in_float64():
    w = initializers.RandomUniform(seed=1)((4, 5), dtype="float64")
    assert w.dtype == np.float64
    np.testing.assert_array_equal(w, np.random.RandomState(1).uniform(-0.05, 0.05, (4, 5)))


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "random_normal"])
def test_no_float64_copy_of_the_whole_weight(name):
    init = initializers.get(name)
    tracemalloc.start()
    try:
        w = init((2000, 2000))  # 16 MB of float32; a float64 draw would be 32 MB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the result + a few chunk-sized temporaries, whatever the weight's size
    assert peak < w.nbytes + 8e6, (peak, w.nbytes)
