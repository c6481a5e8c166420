"""fit/evaluate/predict_generator with workers: the same numbers whatever
the workers, on_epoch_end per epoch, errors reach the caller, no threads left."""
import warnings

import numpy as np
import pytest

from ckeras import backend as K
from ckeras.layers import Dense
from ckeras.models import Sequential
from ckeras.utils import Sequence, to_categorical


class Batches(Sequence):
    """Batches of 8 of fixed data; counts on_epoch_end; raises ValueError
    at batch ``fail_at``."""

    def __init__(self, n=40, fail_at=None):
        rng = np.random.default_rng(0)
        self.x = rng.random((n, 5)).astype(np.float32)
        self.y = to_categorical(rng.integers(0, 3, n), 3)
        self.fail_at = fail_at
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / 8))

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"cannot read batch {i}")
        return self.x[i * 8:(i + 1) * 8], self.y[i * 8:(i + 1) * 8]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _model():
    K.set_random_seed(0)
    model = Sequential([Dense(8, activation="relu", input_dim=5),
                        Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    return model


def _train(workers, shuffle, use_multiprocessing=False, epochs=3):
    np.random.seed(0)
    model, seq, val = _model(), Batches(), Batches(24)
    h = model.fit_generator(seq, epochs=epochs, verbose=0, workers=workers, shuffle=shuffle,
                            use_multiprocessing=use_multiprocessing, max_queue_size=2,
                            validation_data=val)
    assert val.epochs_ended == epochs  # validation_steps = len(val): one pass an epoch
    return model.get_weights(), h.history, seq.epochs_ended


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_generator_same_weights_for_any_workers(shuffle, no_new_threads):
    w0, h0, ended0 = _train(0, shuffle)
    w2, h2, ended2 = _train(2, shuffle)
    for a, b in zip(w0, w2):
        np.testing.assert_array_equal(a, b)
    assert h0 == h2
    assert ended0 == ended2 == 3  # on_epoch_end once per epoch, shuffled or not
    if shuffle:
        w_plain, _, _ = _train(0, False)
        assert not np.array_equal(w0[0], w_plain[0])  # the order really changed


def test_fit_generator_with_processes_matches_workers_0(no_new_threads):
    w0, h0, _ = _train(0, True, epochs=2)
    wp, hp, ended = _train(2, True, use_multiprocessing=True, epochs=2)
    for a, b in zip(w0, wp):
        np.testing.assert_array_equal(a, b)
    assert h0 == hp and ended == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_exception_in_getitem_reaches_fit_generator(workers, no_new_threads):
    model = _model()
    with pytest.raises(ValueError, match="^cannot read batch 3$"):
        model.fit_generator(Batches(fail_at=3), epochs=2, verbose=0, workers=workers)


def test_exception_in_generator_reaches_fit_generator(no_new_threads):
    seq = Batches()

    def batches():
        for i in range(3):
            yield seq[i]
        raise OSError("disk gone")
    with pytest.raises(OSError, match="disk gone"):
        _model().fit_generator(batches(), steps_per_epoch=5, verbose=0)


@pytest.mark.parametrize("workers", [0, 1])
def test_finite_generator_running_out_says_so(workers, no_new_threads):
    seq = Batches()
    model = _model()
    with pytest.raises(RuntimeError, match="fit_generator: the generator ran out of data "
                                           "after 5 batches, but steps_per_epoch \\* "
                                           "epochs = 6 batches were asked for"):
        model.fit_generator((seq[i] for i in range(5)), steps_per_epoch=3, epochs=3,
                            initial_epoch=1, verbose=0, workers=workers)
    with pytest.raises(RuntimeError, match="evaluate_generator: .* after 2 batches, "
                                           "but steps = 3"):
        model.evaluate_generator((seq[i] for i in range(2)), steps=3, workers=workers)


def test_generator_workers_and_validation_generator(no_new_threads):
    seq = Batches()

    def forever(s):
        while True:
            for i in range(len(s)):
                yield s[i]
    runs = []
    for workers in (0, 1, 2):
        np.random.seed(0)
        model = _model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = model.fit_generator(forever(seq), steps_per_epoch=5, epochs=2, verbose=0,
                                    workers=workers, validation_data=forever(Batches(16)),
                                    validation_steps=2)
        # workers=2: training and validation generators each warn once
        assert [str(w.message).startswith("A Python generator is not thread-safe")
                for w in caught] == [True] * (2 if workers == 2 else 0)
        runs.append((model.get_weights(), h.history))
    for run in runs[1:]:  # a generator's batches keep their order with any workers
        for a, b in zip(runs[0][0], run[0]):
            np.testing.assert_array_equal(a, b)
        assert run[1] == runs[0][1] and "val_acc" in run[1]


@pytest.mark.parametrize("use_multiprocessing", [False, True])
def test_evaluate_and_predict_generator_with_workers(use_multiprocessing, no_new_threads):
    model, seq = _model(), Batches()
    ev0 = model.evaluate_generator(seq, workers=0)
    p0 = model.predict_generator(seq, workers=0)
    ev = model.evaluate_generator(seq, workers=3, use_multiprocessing=use_multiprocessing)
    p = model.predict_generator(seq, workers=3, use_multiprocessing=use_multiprocessing)
    assert ev == ev0
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_allclose(p, model.predict(seq.x), rtol=1e-6)
    assert seq.epochs_ended == 4  # each call read one full pass
