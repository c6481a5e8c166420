"""OrderedEnqueuer, GeneratorEnqueuer and iter_sequence_infinite: order,
shuffling, on_epoch_end, exceptions, clean stop; threads and processes."""
import time
import warnings

import numpy as np
import pytest

from ckeras.utils import GeneratorEnqueuer, OrderedEnqueuer, Sequence, SequenceEnqueuer
from ckeras.utils.data_utils import iter_sequence_infinite


class Indices(Sequence):
    """Batch i is (epoch, i); sleeps a random tiny time when ``sleepy``;
    raises ValueError at ``fail_at``."""

    def __init__(self, n, sleepy=False, fail_at=None):
        self.n, self.sleepy, self.fail_at = n, sleepy, fail_at
        self.epoch = 0
        self.jitter = np.random.default_rng(0).uniform(0, 0.002, n)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"bad batch {i}")
        if self.sleepy:
            time.sleep(self.jitter[i])
        return self.epoch, i

    def on_epoch_end(self):
        self.epoch += 1


def _take(it, n):
    return [next(it) for _ in range(n)]


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_ordered_enqueuer_keeps_order_and_calls_on_epoch_end_per_pass(
        multiprocessing, no_new_threads):
    seq = Indices(7, sleepy=True)
    enqueuer = OrderedEnqueuer(seq, use_multiprocessing=multiprocessing)
    assert isinstance(enqueuer, SequenceEnqueuer) and not enqueuer.is_running()
    enqueuer.start(workers=4, max_queue_size=3)
    assert enqueuer.is_running()
    try:
        got = _take(enqueuer.get(), 3 * 7)
    finally:
        enqueuer.stop()
    assert not enqueuer.is_running()
    # in order; pass k sees what the k on_epoch_end calls before it changed,
    # also in forked workers (a new pool each pass)
    assert got == [(e, i) for e in range(3) for i in range(7)]
    assert seq.epoch == 3  # once per pass read to the end, not for the started 4th


def test_shuffle_gives_a_permutation_per_pass_as_at_workers_0(no_new_threads):
    seq = Indices(9)
    np.random.seed(1)
    enqueuer = OrderedEnqueuer(seq, shuffle=True)
    enqueuer.start(workers=3, max_queue_size=20)  # room for more than a pass
    try:
        got = _take(enqueuer.get(), 4 * 9)
    finally:
        enqueuer.stop()
    orders = [[i for e, i in got[k * 9:(k + 1) * 9]] for k in range(4)]
    for k, order in enumerate(orders):
        assert sorted(order) == list(range(9))
        assert [e for e, i in got[k * 9:(k + 1) * 9]] == [k] * 9
    assert len({tuple(o) for o in orders}) == 4
    assert seq.epoch == 4
    # same seed, same orders in the calling thread
    seq0 = Indices(9)
    np.random.seed(1)
    got0 = _take(iter_sequence_infinite(seq0, shuffle=True), 4 * 9)
    assert got0 == got and seq0.epoch == 4


def test_iter_sequence_infinite_in_order_and_empty_sequence():
    seq = Indices(3)
    assert _take(iter_sequence_infinite(seq), 7) == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]
    assert seq.epoch == 2
    with pytest.raises(ValueError, match="Indices has length 0; it must have at least one"):
        next(iter_sequence_infinite(Indices(0)))


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_sequence_exception_reaches_get_and_stops(multiprocessing, no_new_threads):
    seq = Indices(6, sleepy=True, fail_at=3)
    enqueuer = OrderedEnqueuer(seq, use_multiprocessing=multiprocessing)
    enqueuer.start(workers=2, max_queue_size=4)
    it = enqueuer.get()
    assert _take(it, 3) == [(0, 0), (0, 1), (0, 2)]
    with pytest.raises(ValueError, match="^bad batch 3$"):
        next(it)
    assert not enqueuer.is_running() and seq.epoch == 0


def test_stop_mid_pass_leaves_no_threads(no_new_threads):
    enqueuer = OrderedEnqueuer(Indices(50, sleepy=True), shuffle=True)
    enqueuer.start(workers=4, max_queue_size=5)
    _take(enqueuer.get(), 2)
    enqueuer.stop()
    enqueuer.stop()  # twice is fine
    OrderedEnqueuer(Indices(2)).stop()  # never started: nothing to do
    with pytest.raises(ValueError, match="workers >= 1"):
        OrderedEnqueuer(Indices(2)).start(workers=0)


class FailingEpochEnd(Indices):
    def on_epoch_end(self):
        raise RuntimeError("cannot reshuffle")


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_on_epoch_end_exception_reaches_get(multiprocessing, no_new_threads):
    enqueuer = OrderedEnqueuer(FailingEpochEnd(3), use_multiprocessing=multiprocessing)
    enqueuer.start(workers=2)
    it = enqueuer.get()
    assert _take(it, 3) == [(0, 0), (0, 1), (0, 2)]
    with pytest.raises(RuntimeError, match="cannot reshuffle"):
        next(it)
    assert not enqueuer.is_running()


def _countdown(n, fail_at=None):
    for i in range(n):
        if i == fail_at:
            raise KeyError(f"no item {i}")
        yield i


def test_generator_enqueuer_threads_yield_each_item_once_in_order(no_new_threads):
    enqueuer = GeneratorEnqueuer(_countdown(200))
    with pytest.warns(UserWarning, match="not thread-safe, so its 2 worker threads take "
                                         "turns under a lock"):
        enqueuer.start(workers=2, max_queue_size=4)
    assert list(enqueuer.get()) == list(range(200))  # the stream ends with the generator
    assert not enqueuer.is_running()


def test_generator_enqueuer_one_worker_does_not_warn(no_new_threads):
    enqueuer = GeneratorEnqueuer(_countdown(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enqueuer.start(workers=1)
    assert list(enqueuer.get()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_generator_exception_reaches_get_and_stops(multiprocessing, no_new_threads):
    enqueuer = GeneratorEnqueuer(_countdown(10, fail_at=4),
                                 use_multiprocessing=multiprocessing)
    enqueuer.start(workers=1, max_queue_size=2)
    it = enqueuer.get()
    assert _take(it, 4) == [0, 1, 2, 3]
    with pytest.raises(KeyError, match="no item 4"):
        next(it)
    assert not enqueuer.is_running()


def test_generator_enqueuer_processes(no_new_threads):
    enqueuer = GeneratorEnqueuer(_countdown(30), use_multiprocessing=True)
    enqueuer.start(workers=1, max_queue_size=3)
    assert list(enqueuer.get()) == list(range(30))
    # two processes, each with its own copy of the generator: Keras 2 warns
    enqueuer = GeneratorEnqueuer(_countdown(30), use_multiprocessing=True, seed=5)
    with pytest.warns(UserWarning, match="may duplicate your data"):
        enqueuer.start(workers=2, max_queue_size=3)
    assert sorted(enqueuer.get()) == sorted(list(range(30)) * 2)


def test_generator_enqueuer_processes_unpicklable_batch(no_new_threads):
    enqueuer = GeneratorEnqueuer((lambda: i for i in range(3)), use_multiprocessing=True)
    enqueuer.start(workers=1)
    with pytest.raises(RuntimeError, match="cannot be pickled back from its worker process"):
        next(enqueuer.get())


def test_generator_enqueuer_stop_while_workers_wait_on_a_full_queue(no_new_threads):
    def forever():
        while True:
            yield np.zeros(3)
    enqueuer = GeneratorEnqueuer(forever(), wait_time=0.01)
    with pytest.warns(UserWarning):
        enqueuer.start(workers=3, max_queue_size=2)
    _take(enqueuer.get(), 5)
    enqueuer.stop()
    assert not enqueuer.is_running()
