"""Embedding kernels (src/kernels/embedding.c) against the numpy reference."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import embedding as ref
from tests.gradcheck import assert_grads_match

# (index shape, input_dim V, output_dim D)
SHAPES = [((1,), 1, 1), ((3, 4), 5, 1), ((2, 7), 10, 63), ((4, 9), 3, 64),
          ((5, 3, 2), 50, 65), ((32, 80), 20000, 128), ((0, 4), 6, 3)]


def make(shape, V, D, seed=0, dtype=np.int32):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, V, size=shape).astype(dtype)
    table = rng.standard_normal((V, D), dtype=np.float32)
    dout = rng.standard_normal(shape + (D,), dtype=np.float32)
    return idx, table, dout


@pytest.mark.parametrize("shape,V,D", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32,
                                   np.float64])
def test_matches_reference(shape, V, D, dtype):
    idx, table, dout = make(shape, V, D, dtype=dtype)
    out = kernels.embedding_forward(idx, table)
    assert out.shape == shape + (D,) and out.dtype == np.float32
    np.testing.assert_array_equal(out, ref.embedding_forward(idx, table))
    dtable = kernels.embedding_backward(dout, idx, V)
    np.testing.assert_allclose(dtable, ref.embedding_backward(dout, idx, V),
                               rtol=1e-6, atol=1e-6)


def test_backward_touches_only_used_rows_and_accumulates():
    idx = np.array([[2, 2, 5], [2, 0, 5]], np.int64)
    dout = np.random.default_rng(1).standard_normal((2, 3, 4), dtype=np.float32)
    start = np.full((7, 4), 3.0, np.float32)
    dtable = kernels.embedding_backward(dout, idx, 7, dtable=start)
    assert dtable is start
    untouched = [1, 3, 4, 6]
    np.testing.assert_array_equal(dtable[untouched], 3.0)
    np.testing.assert_allclose(dtable, 3.0 + ref.embedding_backward(dout, idx, 7),
                               rtol=1e-6)


def test_out_buffer_is_written_in_place():
    idx, table, _ = make((3, 5), 8, 6)
    out = np.full((3, 5, 6), np.nan, np.float32)
    assert kernels.embedding_forward(idx, table, out=out) is out
    np.testing.assert_array_equal(out, table[idx])


def test_reference_gradient():
    idx = np.array([[1, 0, 1], [3, 1, 1]])

    def forward(table):
        return ref.embedding_forward(idx, table)

    def backward(dy, table):
        return ref.embedding_backward(dy, idx, table.shape[0])

    table = np.random.default_rng(2).standard_normal((4, 3))
    assert_grads_match(forward, backward, [table])


def test_results_do_not_depend_on_thread_count():
    idx, table, dout = make((64, 80), 300, 200, seed=3)  # many repeats
    before = get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            set_num_threads(n)
            results.append((kernels.embedding_forward(idx, table),
                            kernels.embedding_backward(dout, idx, 300)))
    finally:
        set_num_threads(before)
    for out, dt in results[1:]:
        assert np.array_equal(out, results[0][0])
        assert np.array_equal(dt, results[0][1])


@pytest.mark.parametrize("bad,pos", [(20000, (1, 2)), (-1, (0, 0))])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
def test_out_of_range_indices_raise(bad, pos, dtype):
    idx = np.zeros((2, 4), dtype)
    idx[pos] = bad
    table = np.zeros((20000, 3), np.float32)
    msg = rf"\[0, 20000\), got {bad}(\.0)? at position \({pos[0]}, {pos[1]}\)"
    with pytest.raises(ValueError, match=msg):
        kernels.embedding_forward(idx, table)
    with pytest.raises(ValueError, match=msg):
        kernels.embedding_backward(np.zeros((2, 4, 3), np.float32), idx, 20000)


def test_bad_inputs_raise_clear_errors():
    idx = np.array([[1, 2]], np.int32)
    table = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"hold integers, got 1.5 at position "
                       r"\(0, 1\)"):
        kernels.embedding_forward(np.array([[1.0, 1.5]]), table)
    with pytest.raises(ValueError, match="hold integers, got nan"):
        kernels.embedding_forward(np.array([np.nan]), table)
    with pytest.raises(TypeError, match="integer or float dtype, got bool"):
        kernels.embedding_forward(np.array([True]), table)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.embedding_forward([1, 2], table)
    with pytest.raises(TypeError, match="float32, got float64"):
        kernels.embedding_forward(idx, table.astype(np.float64))
    with pytest.raises(ValueError, match="2-D"):
        kernels.embedding_forward(idx, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"out must have shape \(1, 2, 3\)"):
        kernels.embedding_forward(idx, table, out=np.zeros((2, 3), np.float32))
    ro = np.zeros((1, 2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.embedding_forward(idx, table, out=ro)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.embedding_forward(idx, np.asfortranarray(table))
    with pytest.raises(ValueError, match=r"dout must have shape"):
        kernels.embedding_backward(np.ones((2, 3), np.float32), idx, 4)
    with pytest.raises(ValueError, match="input_dim must be >= 1"):
        kernels.embedding_backward(np.ones((1, 2, 3), np.float32), idx, 0)
    with pytest.raises(TypeError, match="input_dim must be an int"):
        kernels.embedding_backward(np.ones((1, 2, 3), np.float32), idx, 4.0)
    with pytest.raises(ValueError, match=r"dtable must have shape \(4, 3\)"):
        kernels.embedding_backward(np.ones((1, 2, 3), np.float32), idx, 4,
                                   dtable=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="share memory with table"):
        kernels.embedding_forward(idx, table, out=table[:2].reshape(1, 2, 3))
    big = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="share memory with dout"):
        kernels.embedding_backward(big[:2].reshape(1, 2, 3), idx, 4, dtable=big)
