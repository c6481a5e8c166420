"""Enqueuers: batches from a Sequence or a generator, fetched ahead of the
training loop by worker threads or processes (Keras 2's
``SequenceEnqueuer``, ``OrderedEnqueuer`` and ``GeneratorEnqueuer``;
imported into ``ckeras.utils.data_utils`` and ``ckeras.utils``).

``OrderedEnqueuer`` reads a Sequence: each pass over its indices
(shuffled per pass with ``shuffle=True``) is submitted to a pool of
threads, or of forked processes with ``use_multiprocessing=True``, and
``get()`` yields the batches in the pass's order. When ``get()`` has
yielded every batch of a pass the pool is closed and ``sequence.on_epoch_end()``
runs once, then the next pass starts with a new pool (so forked workers
see what ``on_epoch_end`` changed). The stream never ends.

``GeneratorEnqueuer`` reads a Python generator, which is not
thread-safe: worker threads take turns under a lock, so the batches keep
the generator's order but the generator itself never runs in parallel.
With ``use_multiprocessing=True`` each forked process runs its own copy
of the generator (so with several workers the data is duplicated, as in
Keras 2). The stream ends when the generator is exhausted.

An exception raised by the sequence or the generator in a worker is
re-raised, with its type and message, by the ``get()`` of the caller,
which first stops the enqueuer. Threads are daemons and every blocking
wait wakes up every ``_POLL`` seconds to check for ``stop()``, so a
forgotten enqueuer never holds up interpreter exit.

Example:
    ```python
    enqueuer = OrderedEnqueuer(sequence, shuffle=True)
    enqueuer.start(workers=4, max_queue_size=10)
    try:
        batches = enqueuer.get()
        for _ in range(steps):
            x, y = next(batches)
    finally:
        enqueuer.stop()
    ```
"""
import itertools
import multiprocessing
import pickle
import queue
import random
import threading
import warnings
from multiprocessing.pool import ThreadPool

import numpy as np

_POLL = 0.05  # seconds a blocking wait sleeps between checks for stop()

# uid -> Sequence, for pool processes: set before the pool forks, so each
# forked worker reads the sequence as it was after the last on_epoch_end.
_SHARED_SEQUENCES = {}
_UIDS = itertools.count()


def _init_pool(seqs):
    global _SHARED_SEQUENCES
    _SHARED_SEQUENCES = seqs


def get_index(uid, i):
    """Batch ``i`` of the shared Sequence ``uid`` (runs in a pool process)."""
    return _SHARED_SEQUENCES[uid][i]


def _check_fork(what):
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(f"{what} with use_multiprocessing=True needs the 'fork' start "
                         "method, which this platform does not have. Use "
                         "use_multiprocessing=False (threads) instead.")


def _order_rng(shuffle):
    """A private RNG for the pass orders, seeded from numpy's global one
    (so np.random.seed makes shuffling reproducible whatever the workers)."""
    return np.random.RandomState(np.random.randint(2 ** 31 - 1)) if shuffle else None


def _pass_order(sequence, rng):
    """The indices of one pass, shuffled if ``rng`` is given."""
    n = len(sequence)
    if n <= 0:
        raise ValueError(f"The Sequence {type(sequence).__name__} has length {n}; it "
                         "must have at least one batch (check its __len__).")
    order = np.arange(n)
    if rng is not None:
        rng.shuffle(order)
    return order.tolist()


def iter_sequence_infinite(sequence, shuffle=False):
    """The batches of ``sequence`` pass after pass in the calling thread
    (``workers=0``), in the same orders an ``OrderedEnqueuer`` would give,
    calling ``sequence.on_epoch_end()`` once each pass has been read."""
    rng = _order_rng(shuffle)

    def batches():
        while True:
            order = _pass_order(sequence, rng)
            for k, i in enumerate(order):
                item = sequence[i]
                if k == len(order) - 1:
                    sequence.on_epoch_end()
                yield item
    return batches()


class _Raise:
    """A queue entry that re-raises an exception in the consumer."""

    def __init__(self, exc):
        self.exc = exc

    def ready(self):
        return True

    def get(self):
        raise self.exc


class SequenceEnqueuer(object):
    """Base class of the enqueuers: ``start`` the workers, read batches
    from the generator ``get()`` returns, ``stop`` the workers."""

    def is_running(self):
        raise NotImplementedError

    def start(self, workers=1, max_queue_size=10):
        """Starts ``workers`` workers that keep up to ``max_queue_size``
        batches ready."""
        raise NotImplementedError

    def stop(self, timeout=None):
        """Stops the workers, waiting up to ``timeout`` seconds for each."""
        raise NotImplementedError

    def get(self):
        """A generator yielding the batches."""
        raise NotImplementedError


class OrderedEnqueuer(SequenceEnqueuer):
    """Fetches a Sequence's batches in parallel and yields them in order.

    Args:
        sequence: a ``ckeras.utils.Sequence``.
        use_multiprocessing: fetch in forked processes (a
            ``multiprocessing`` pool) instead of threads; batches are
            pickled back to this process.
        shuffle: a new random order of the batches for every pass.
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        if use_multiprocessing:
            _check_fork("OrderedEnqueuer")
        self.sequence = sequence
        self.use_multiprocessing = use_multiprocessing
        self.shuffle = shuffle
        self.uid = next(_UIDS)
        self.workers = 0
        self.queue = None
        self.run_thread = None
        self.stop_signal = None
        self._rng = None

    def is_running(self):
        return self.stop_signal is not None and not self.stop_signal.is_set()

    def start(self, workers=1, max_queue_size=10):
        if workers < 1:
            raise ValueError(f"OrderedEnqueuer.start needs workers >= 1, got {workers}. "
                             "(workers=0 means reading in the calling thread: use "
                             "iter_sequence_infinite.)")
        if self.is_running():
            raise RuntimeError("This OrderedEnqueuer is already running; stop() it first.")
        self.workers = workers
        self.queue = queue.Queue(max_queue_size)
        self.stop_signal = threading.Event()
        self._rng = _order_rng(self.shuffle)
        self.run_thread = threading.Thread(target=self._run, daemon=True,
                                           name=f"ckeras-OrderedEnqueuer-{self.uid}")
        self.run_thread.start()

    def _make_pool(self):
        if self.use_multiprocessing:
            _SHARED_SEQUENCES[self.uid] = self.sequence
            return multiprocessing.get_context("fork").Pool(
                self.workers, initializer=_init_pool, initargs=(_SHARED_SEQUENCES,))
        return ThreadPool(self.workers)

    def _put(self, entry):
        """Puts into the queue, giving up (False) once stop() is called."""
        while not self.stop_signal.is_set():
            try:
                self.queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                pass
        return False

    def _run(self):
        """Submits the passes to pools and queues their pending results."""
        try:
            while not self.stop_signal.is_set():
                order = _pass_order(self.sequence, self._rng)
                pool = self._make_pool()
                results, clean = [], False
                try:
                    for i in order:
                        if self.use_multiprocessing:
                            r = pool.apply_async(get_index, (self.uid, i))
                        else:
                            r = pool.apply_async(self.sequence.__getitem__, (i,))
                        results.append(r)
                        if not self._put(r):
                            return
                    # wait until get() has yielded every batch of the pass (it
                    # calls task_done() for each); stop() drops what is left, so
                    # on_epoch_end runs exactly for the passes read to the end
                    with self.queue.all_tasks_done:
                        while self.queue.unfinished_tasks and not self.stop_signal.is_set():
                            self.queue.all_tasks_done.wait(_POLL)
                        clean = self.queue.unfinished_tasks == 0
                finally:
                    if clean:
                        pool.close()
                    else:
                        pool.terminate()  # a ThreadPool's busy threads finish their batch
                    pool.join()
                if not clean:
                    return
                self.sequence.on_epoch_end()
        except BaseException as e:  # len() or on_epoch_end failed: hand it over
            self._put(_Raise(e))

    def get(self):
        """Yields the batches, forever, in each pass's order."""
        try:
            while self.is_running():
                try:
                    r = self.queue.get(timeout=_POLL)
                except queue.Empty:
                    continue
                while not r.ready():
                    if not self.is_running():
                        return
                    r.wait(_POLL)
                item = r.get()  # re-raises the worker's exception
                self.queue.task_done()
                yield item
        except Exception:
            self.stop()
            raise

    def stop(self, timeout=None):
        """Stops the workers (the current pass's pending batches are
        dropped) and waits up to ``timeout`` seconds for them."""
        if self.stop_signal is None:
            return
        self.stop_signal.set()
        with self.queue.mutex:
            self.queue.queue.clear()
        self.run_thread.join(timeout)
        _SHARED_SEQUENCES.pop(self.uid, None)


class GeneratorEnqueuer(SequenceEnqueuer):
    """Fetches batches from a Python generator ahead of the consumer.

    Args:
        generator: an iterator yielding batches.
        use_multiprocessing: run the generator in forked processes, each on
            its own copy of it (with several workers, the batches repeat).
        wait_time: seconds between checks for stop() in blocking waits
            (default 0.05).
        seed: with use_multiprocessing, process k seeds numpy's and
            Python's global RNGs with ``seed + k`` (fresh entropy if None).
    """

    def __init__(self, generator, use_multiprocessing=False, wait_time=None, seed=None):
        if use_multiprocessing:
            _check_fork("GeneratorEnqueuer")
        self._generator = generator
        self._use_multiprocessing = use_multiprocessing
        self.wait_time = _POLL if wait_time is None else wait_time
        self.seed = seed
        self._workers = []
        self._stop_event = None
        self._lock = None
        self._finished = False
        self.queue = None

    def is_running(self):
        return self._stop_event is not None and not self._stop_event.is_set()

    def start(self, workers=1, max_queue_size=10):
        if workers < 1:
            raise ValueError(f"GeneratorEnqueuer.start needs workers >= 1, got {workers}.")
        if self.is_running():
            raise RuntimeError("This GeneratorEnqueuer is already running; stop() it first.")
        if workers > 1 and self._use_multiprocessing:
            warnings.warn("Using a generator with `use_multiprocessing=True` and multiple "
                          "workers may duplicate your data: every process runs its own copy "
                          "of the generator. Please consider using the "
                          "`ckeras.utils.Sequence` class.", UserWarning, stacklevel=2)
        elif workers > 1:
            warnings.warn(f"A Python generator is not thread-safe, so its {workers} worker "
                          "threads take turns under a lock and only one runs the generator "
                          "at a time. Use a `ckeras.utils.Sequence` to load batches in "
                          "parallel.", UserWarning, stacklevel=2)
        self._finished = False
        self._n_workers = workers
        try:
            if self._use_multiprocessing:
                ctx = multiprocessing.get_context("fork")
                self.queue = ctx.Queue(max_queue_size)
                self._stop_event = ctx.Event()
                for k in range(workers):
                    seed = None if self.seed is None else self.seed + k
                    p = ctx.Process(target=self._process_task, args=(seed,), daemon=True)
                    self._workers.append(p)
                    p.start()
            else:
                self.queue = queue.Queue(max_queue_size)
                self._stop_event = threading.Event()
                self._lock = threading.Lock()
                for k in range(workers):
                    t = threading.Thread(target=self._thread_task, daemon=True,
                                         name=f"ckeras-GeneratorEnqueuer-{k}")
                    self._workers.append(t)
                    t.start()
        except BaseException:
            self.stop()
            raise

    def _put(self, entry):
        while not self._stop_event.is_set():
            try:
                self.queue.put(entry, timeout=self.wait_time)
                return True
            except queue.Full:
                pass
        return False

    def _next_entry(self):
        """(kind, value): ('item', batch), ('done', None) or ('error', exc)."""
        try:
            return "item", next(self._generator)
        except StopIteration:
            return "done", None
        except BaseException as e:
            return "error", e

    def _thread_task(self):
        # under the lock from next() to put(), so batches keep the generator's order
        while not self._stop_event.is_set():
            with self._lock:
                if self._finished or self._stop_event.is_set():
                    return
                entry = self._next_entry()
                self._finished = entry[0] != "item"
                if not self._put(entry):
                    return

    def _process_task(self, seed):
        np.random.seed(seed)
        random.seed(seed)
        while not self._stop_event.is_set():
            entry = self._next_entry()
            try:
                data = pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)
            except Exception as e:
                what = "exception" if entry[0] == "error" else "batch"
                data = pickle.dumps(("error", RuntimeError(
                    f"GeneratorEnqueuer: the generator's {what} {entry[1]!r:.200} cannot be "
                    f"pickled back from its worker process ({e}). Use "
                    "use_multiprocessing=False.")))
            if not self._put(data) or entry[0] != "item":
                return

    def get(self):
        """Yields the batches until the generator is exhausted."""
        done = 0
        expected = self._n_workers if self._use_multiprocessing else 1
        try:
            while self.is_running():
                try:
                    entry = self.queue.get(timeout=self.wait_time)
                except queue.Empty:
                    if any(w.is_alive() for w in self._workers) or not self.is_running():
                        continue
                    try:  # a worker may have put its last entry just before exiting
                        entry = self.queue.get(timeout=self.wait_time)
                    except queue.Empty:
                        raise RuntimeError(
                            "GeneratorEnqueuer: every worker exited without finishing the "
                            "stream (exit codes %s)."
                            % [getattr(w, "exitcode", None) for w in self._workers]) from None
                kind, value = pickle.loads(entry) if self._use_multiprocessing else entry
                if kind == "error":
                    raise value
                if kind == "done":
                    done += 1
                    if done == expected:
                        self.stop()
                        return
                    continue
                yield value
        except Exception:
            self.stop()
            raise

    def stop(self, timeout=None):
        """Stops the workers (processes are terminated) and waits up to
        ``timeout`` seconds for each."""
        if self._stop_event is None:
            return
        self._stop_event.set()
        for w in self._workers:
            if self._use_multiprocessing and w.is_alive():
                w.terminate()
            w.join(timeout)
        if self._use_multiprocessing and self.queue is not None:
            self.queue.close()
            self.queue.join_thread()
        self._workers = []
