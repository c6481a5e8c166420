"""ck_dropout_forward against its numpy reference (bit for bit), its
statistics, thread-count independence and bad input."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.reference import dropout as ref
from tests.threads import assert_same_bits_at_thread_counts


@pytest.mark.parametrize("shape", [(1,), (7,), (128, 64), (3, 32768 + 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 12345, 2 ** 64 - 1, 0xDEADBEEF << 32])
def test_matches_reference_exactly(shape, rate, seed):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y, mask = kernels.dropout_forward(x, rate, seed)
    want_y, want_mask = ref.dropout_forward(x, rate, seed)
    assert y.shape == mask.shape == x.shape
    assert np.array_equal(mask, want_mask) and np.array_equal(y, want_y)


def test_mask_statistics_and_values():
    x = np.ones(400000, np.float32)
    for rate in (0.2, 0.5, 0.75):
        y, mask = kernels.dropout_forward(x, rate, 99)
        keep = np.float32(1) - np.float32(rate)
        assert set(np.unique(mask)) == {np.float32(0), np.float32(1) / keep}
        # 400k Bernoulli(keep) draws: 5 sigma is under 0.004
        assert abs((mask > 0).mean() - keep) < 0.004
        # inverted dropout keeps the mean
        assert abs(y.mean() - 1.0) < 0.02
    a = kernels.dropout_forward(x, 0.5, 1)[1]
    b = kernels.dropout_forward(x, 0.5, 2)[1]
    assert 0.4 < (a != b).mean() < 0.6  # different seeds, independent masks
    # neighbouring elements are not correlated
    keep_bits = (a > 0).astype(np.float64)
    assert abs(np.corrcoef(keep_bits[:-1], keep_bits[1:])[0, 1]) < 0.01


def test_in_place_and_buffers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 40)).astype(np.float32)
    y, m = kernels.dropout_forward(x, 0.3, 7)
    x2, m2 = x.copy(), np.empty_like(x)
    y2, m2b = kernels.dropout_forward(x2, 0.3, 7, out=x2, mask=m2)
    assert y2 is x2 and m2b is m2
    assert np.array_equal(y2, y) and np.array_equal(m2, m)


def test_thread_count_does_not_change_bits():
    x = np.random.default_rng(2).standard_normal(3 * 32768 + 11).astype(np.float32)
    assert_same_bits_at_thread_counts(lambda: kernels.dropout_forward(x, 0.4, 5))


def test_bad_input():
    x = np.ones((4, 5), np.float32)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.dropout_forward(x.astype(np.float64), 0.5, 1)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.0"):
        kernels.dropout_forward(x, 1.0, 1)
    with pytest.raises(ValueError, match="rate must be in"):
        kernels.dropout_forward(x, -0.1, 1)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*64\)"):
        kernels.dropout_forward(x, 0.5, -1)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.dropout_forward(np.ones((5, 4), np.float32).T, 0.5, 1)
    with pytest.raises(ValueError, match="must have shape"):
        kernels.dropout_forward(x, 0.5, 1, mask=np.empty((5, 4), np.float32))
    with pytest.raises(ValueError, match="mask must not share memory with x"):
        kernels.dropout_forward(x, 0.5, 1, mask=x)
    out = np.empty_like(x)
    with pytest.raises(ValueError, match="mask must not share memory with out"):
        kernels.dropout_forward(x, 0.5, 1, out=out, mask=out)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.dropout_forward(x, 0.5, 1, out=ro)
