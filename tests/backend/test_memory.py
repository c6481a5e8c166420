"""The array pool (src/kernels/arraypool.c) as numpy's memory handler inside
training steps (ckeras.backend.memory)."""
import threading

import numpy as np
import pytest

from ckeras.backend import memory
from ckeras.callbacks import LambdaCallback
from ckeras.layers import LSTM, Dense, Embedding
from ckeras.models import Sequential

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy < 2
    from numpy.core.multiarray import get_handler_name

BIG = 1 << 20  # bytes: pooled (>= 128 KiB)


@pytest.fixture(autouse=True)
def empty_pool():
    memory.release()
    yield
    memory.release()


def test_handler_is_set_only_inside_and_only_in_this_thread():
    assert get_handler_name() == "default_allocator"
    seen = {}
    with memory.pooled_arrays():
        assert get_handler_name() == "ckeras_array_pool"
        t = threading.Thread(target=lambda: seen.update(name=get_handler_name()))
        t.start()
        t.join()
        assert get_handler_name(np.ones(4)) == "ckeras_array_pool"
    assert seen["name"] == "default_allocator"
    assert get_handler_name() == "default_allocator"
    assert get_handler_name(np.ones(4)) == "default_allocator"


def test_freed_block_is_reused_and_zeros_are_zero():
    with memory.pooled_arrays():
        a = np.full(BIG // 4, 7.0, np.float32)
        address = a.ctypes.data
        del a
        assert memory.stats()["cached_bytes"] >= BIG
        hits = memory.stats()["hits"]
        b = np.zeros(BIG // 4, np.float32)
        assert b.ctypes.data == address
        assert memory.stats()["hits"] == hits + 1
        assert not b.any()


def test_arrays_outlive_the_block_and_free_later():
    with memory.pooled_arrays():
        kept = np.arange(BIG // 8, dtype=np.float64)
        small = np.arange(10.0)
    assert kept[-1] == BIG // 8 - 1 and small.sum() == 45.0
    kept.resize(BIG // 4, refcheck=False)  # realloc through the pool
    assert kept[BIG // 8 - 1] == BIG // 8 - 1 and kept[-1] == 0
    del kept, small
    assert memory.stats()["cached_bytes"] >= BIG


def test_release_empties_the_cache():
    with memory.pooled_arrays():
        a = np.empty(BIG, np.uint8)
        del a
    assert memory.stats()["cached_bytes"] > 0
    memory.release()
    assert memory.stats()["cached_bytes"] == 0


def test_fit_uses_the_pool_and_empties_it_at_the_end():
    model = Sequential([Embedding(500, 64, input_length=40), LSTM(64), Dense(1)])
    model.compile("rmsprop", "mse")
    x = np.random.default_rng(0).integers(0, 500, (128, 40))
    y = np.zeros((128, 1), np.float32)
    seen = []
    probe = LambdaCallback(on_batch_end=lambda b, logs: seen.append(memory.stats()))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[probe])
    # the LSTM's cache (over 128 KiB) of batch 2 onwards is what batch 1 freed
    assert seen[-1]["hits"] - seen[0]["hits"] >= 3
    assert seen[-1]["misses"] == seen[0]["misses"]
    assert memory.stats()["cached_bytes"] == 0  # fit emptied the cache
    model.predict(x, batch_size=32)
    assert memory.stats()["cached_bytes"] == 0
