"""Callbacks driven by hand the way ``fit`` drives them, on a fake model."""
import csv
import warnings

import numpy as np
import pytest

from ckeras import callbacks as cbks


class FakeOptimizer(object):
    def __init__(self, lr=0.1):
        self.lr = lr


class FakeModel(object):
    """What callbacks touch: stop_training, optimizer.lr, weights, saving."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self.weights = [np.zeros(2)]
        self.saved = []  # (kind, filepath)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("model", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("weights", filepath))


def drive(model, callbacks, epochs, batch_logs=None, epoch_logs=None, verbose=0,
          metrics=("loss", "val_loss"), samples=80):
    """Runs the fit loop's callback calls and returns the History.

    batch_logs(epoch) -> list of (size, {metric: value}); epoch_logs(epoch)
    -> the validation logs; before each epoch the weights are set to
    [epoch, epoch] so restored weights show which epoch they came from.
    """
    batch_logs = batch_logs or (lambda epoch: [(32, {"loss": 1.0}), (32, {"loss": 2.0}),
                                               (16, {"loss": 4.0})])
    epoch_logs = epoch_logs or (lambda epoch: {})
    history = cbks.History()
    callback_list = cbks.CallbackList([cbks.BaseLogger()] + list(callbacks) + [history])
    if verbose:
        callback_list.append(cbks.ProgbarLogger())
    callback_list.set_model(model)
    callback_list.set_params({"epochs": epochs, "steps": None, "samples": samples,
                              "verbose": verbose, "do_validation": True,
                              "metrics": list(metrics)})
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        model.weights = [np.full(2, float(epoch))]
        callback_list.on_epoch_begin(epoch)
        for index, (size, values) in enumerate(batch_logs(epoch)):
            logs = {"batch": index, "size": size}
            callback_list.on_batch_begin(index, logs)
            logs.update(values)
            callback_list.on_batch_end(index, logs)
            if model.stop_training:
                break
        logs = dict(epoch_logs(epoch))
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return history


def val_losses(values):
    return lambda epoch: {"val_loss": values[epoch]}


class Recorder(cbks.Callback):
    def __init__(self):
        super(Recorder, self).__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append("epoch_begin %d" % epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append("epoch_end %d" % epoch)

    def on_batch_begin(self, batch, logs=None):
        self.calls.append("batch_begin %d" % batch)

    def on_batch_end(self, batch, logs=None):
        self.calls.append("batch_end %d" % batch)


def test_callback_list_calls_every_hook_in_order_with_model_and_params():
    model = FakeModel()
    recorder = Recorder()
    drive(model, [recorder], epochs=2, batch_logs=lambda e: [(8, {"loss": 1.0})] * 2)
    assert recorder.model is model
    assert recorder.params["epochs"] == 2 and recorder.params["samples"] == 80
    assert set(recorder.params) == {"epochs", "steps", "samples", "verbose", "do_validation",
                                    "metrics"}
    epoch = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1"]
    assert recorder.calls == (["train_begin", "epoch_begin 0"] + epoch + ["epoch_end 0",
                              "epoch_begin 1"] + epoch + ["epoch_end 1", "train_end"])
    assert list(cbks.CallbackList([recorder])) == [recorder]


def test_base_callback_hooks_do_nothing():
    callback = cbks.Callback()
    for hook in ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end"):
        getattr(callback, hook)(0, {})
    callback.on_train_begin({})
    callback.on_train_end({})
    assert callback.model is None and callback.validation_data is None


def test_history_and_base_logger_average_weighted_by_batch_size():
    history = drive(FakeModel(), [], epochs=2, epoch_logs=val_losses([0.5, 0.25]))
    assert history.epoch == [0, 1]
    # (32 * 1 + 32 * 2 + 16 * 4) / 80
    assert history.history["loss"] == [2.0, 2.0]
    assert history.history["val_loss"] == [0.5, 0.25]


def test_base_logger_keeps_last_value_of_stateful_metrics_and_only_listed_metrics():
    logger = cbks.BaseLogger(stateful_metrics=["auc"])
    logger.set_params({"metrics": ["loss", "auc"]})
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"size": 10, "loss": 1.0, "auc": 0.2, "other": 5.0})
    logger.on_batch_end(1, {"size": 30, "loss": 3.0, "auc": 0.7, "other": 5.0})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": 2.5, "auc": 0.7}


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    model = FakeModel()
    batches = lambda epoch: [(8, {"loss": 1.0}), (8, {"loss": float("nan")}),
                             (8, {"loss": 1.0})]  # noqa: E731
    recorder = Recorder()
    drive(model, [cbks.TerminateOnNaN(), recorder], epochs=3, batch_logs=batches)
    assert model.stop_training
    assert "batch_begin 2" not in recorder.calls and "epoch_begin 1" not in recorder.calls
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    model = FakeModel()
    drive(model, [cbks.TerminateOnNaN()], epochs=1,
          batch_logs=lambda e: [(8, {"loss": float("inf")})])
    assert model.stop_training


def test_early_stopping_waits_patience_epochs_then_stops(capsys):
    model = FakeModel()
    stopper = cbks.EarlyStopping(patience=2, verbose=1)
    history = drive(model, [stopper], epochs=10,
                    epoch_logs=val_losses([1.0, 0.9, 0.95, 0.92, 0.5, 0.1]))
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best == 0.9
    assert "Epoch 00004: early stopping" in capsys.readouterr().out


def test_early_stopping_min_delta_auto_mode_and_baseline():
    # improvements smaller than min_delta don't count
    stopper = cbks.EarlyStopping(min_delta=0.1, patience=1)
    history = drive(FakeModel(), [stopper], epochs=5,
                    epoch_logs=val_losses([1.0, 0.95, 0.5, 0.3]))
    assert history.epoch == [0, 1]
    # 'acc' in the name: higher is better
    stopper = cbks.EarlyStopping(monitor="val_acc", patience=1)
    history = drive(FakeModel(), [stopper], epochs=5,
                    epoch_logs=lambda e: {"val_acc": [0.5, 0.6, 0.55, 0.7][e]})
    assert history.epoch == [0, 1, 2]
    assert cbks.EarlyStopping(monitor="val_loss", mode="max").monitor_op is np.greater
    # a baseline must be beaten
    stopper = cbks.EarlyStopping(patience=2, baseline=0.5)
    history = drive(FakeModel(), [stopper], epochs=5,
                    epoch_logs=val_losses([0.9, 0.8, 0.7, 0.1]))
    assert history.epoch == [0, 1]


def test_early_stopping_restores_best_weights():
    model = FakeModel()
    stopper = cbks.EarlyStopping(patience=2, restore_best_weights=True)
    drive(model, [stopper], epochs=10, epoch_logs=val_losses([1.0, 0.5, 0.7, 0.8, 0.1]))
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    # never improved on the baseline: nothing to restore, the weights stay
    model = FakeModel()
    stopper = cbks.EarlyStopping(patience=1, baseline=0.0, restore_best_weights=True)
    drive(model, [stopper], epochs=10, epoch_logs=val_losses([1.0, 0.5]))
    np.testing.assert_array_equal(model.weights[0], [0.0, 0.0])


def test_early_stopping_unknown_mode_and_missing_metric_warn():
    with pytest.warns(RuntimeWarning, match="EarlyStopping mode bogus is unknown"):
        stopper = cbks.EarlyStopping(mode="bogus")
    assert stopper.monitor_op is np.less
    with pytest.warns(RuntimeWarning, match="`val_loss` which is not available. Available "
                                            "metrics are: loss"):
        history = drive(FakeModel(), [stopper], epochs=2)
    assert history.epoch == [0, 1]


def test_model_checkpoint_formats_path_and_saves_every_epoch(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.h5")
    drive(model, [cbks.ModelCheckpoint(path, verbose=1)], epochs=2,
          epoch_logs=val_losses([0.5, 0.25]))
    assert model.saved == [("model", str(tmp_path / "w.01-0.50.h5")),
                           ("model", str(tmp_path / "w.02-0.25.h5"))]
    assert "Epoch 00002: saving model to %s" % (tmp_path / "w.02-0.25.h5") in \
        capsys.readouterr().out


def test_model_checkpoint_save_best_only_weights_only_and_period(capsys):
    model = FakeModel()
    checkpoint = cbks.ModelCheckpoint("best.h5", save_best_only=True, save_weights_only=True,
                                      verbose=1)
    drive(model, [checkpoint], epochs=4, epoch_logs=val_losses([0.5, 0.6, 0.4, 0.4]))
    assert model.saved == [("weights", "best.h5")] * 2
    out = capsys.readouterr().out
    assert "val_loss improved from inf to 0.50000, saving model to best.h5" in out
    assert "Epoch 00002: val_loss did not improve from 0.50000" in out
    model = FakeModel()
    drive(model, [cbks.ModelCheckpoint("m{epoch}.h5", period=2)], epochs=5)
    assert model.saved == [("model", "m2.h5"), ("model", "m4.h5")]
    model = FakeModel()
    checkpoint = cbks.ModelCheckpoint("m.h5", monitor="acc", save_best_only=True)
    drive(model, [checkpoint], epochs=3, batch_logs=lambda e: [(1, {"acc": [0.5, 0.4, 0.6][e]})],
          metrics=["acc"])
    assert len(model.saved) == 2 and checkpoint.best == 0.6


def test_model_checkpoint_warns_on_missing_monitor_and_unknown_mode():
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint mode nope is unknown"):
        checkpoint = cbks.ModelCheckpoint("m.h5", mode="nope", save_best_only=True)
    model = FakeModel()
    with pytest.warns(RuntimeWarning, match="Can save best model only with val_loss available"):
        drive(model, [checkpoint], epochs=1)
    assert model.saved == []


def test_learning_rate_scheduler_old_and_new_schedule_signatures(capsys):
    model = FakeModel(lr=0.1)
    history = drive(model, [cbks.LearningRateScheduler(lambda epoch: 0.5 ** epoch, verbose=1)],
                    epochs=3)
    assert model.optimizer.lr == 0.25
    assert history.history["lr"] == [1.0, 0.5, 0.25]
    assert "Epoch 00003: LearningRateScheduler setting learning rate to 0.25." in \
        capsys.readouterr().out
    model = FakeModel(lr=0.1)
    drive(model, [cbks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)], epochs=3)
    assert model.optimizer.lr == pytest.approx(0.0125)


def test_learning_rate_scheduler_errors():
    with pytest.raises(ValueError, match="should be float"):
        drive(FakeModel(), [cbks.LearningRateScheduler(lambda epoch: "fast")], epochs=1)
    model = FakeModel()
    del model.optimizer.lr
    with pytest.raises(ValueError, match='must have a "lr" attribute'):
        drive(model, [cbks.LearningRateScheduler(lambda epoch: 0.1)], epochs=1)

    def broken(epoch, lr):
        raise TypeError("bug inside the schedule")

    # a TypeError raised by the schedule itself is not mistaken for the old API
    with pytest.raises(TypeError, match="bug inside the schedule"):
        drive(FakeModel(), [cbks.LearningRateScheduler(broken)], epochs=1)


def test_learning_rate_goes_through_backend_for_variables(monkeypatch):
    from ckeras import backend as K

    class Variable(object):
        def __init__(self, value):
            self.value = value

    monkeypatch.setattr(K, "get_value", lambda v: v.value, raising=False)
    monkeypatch.setattr(K, "set_value", lambda v, x: setattr(v, "value", x), raising=False)
    model = FakeModel(lr=Variable(0.2))
    drive(model, [cbks.LearningRateScheduler(lambda epoch, lr: lr / 2)], epochs=2)
    assert isinstance(model.optimizer.lr, Variable)
    assert model.optimizer.lr.value == pytest.approx(0.05)


def test_reduce_lr_on_plateau_patience_cooldown_and_min_lr(capsys):
    model = FakeModel(lr=1.0)
    reducer = cbks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2, verbose=1)
    losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    history = drive(model, [reducer], epochs=7, epoch_logs=val_losses(losses))
    # Keras counts the cooldown down before checking it, so cooldown=2 pauses
    # one epoch: reduce at epoch 1, pause 2, reduce at 3, pause 4, reduce (to min_lr) at 5
    assert history.history["lr"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]
    assert model.optimizer.lr == 0.2
    assert "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.5." in \
        capsys.readouterr().out


def test_reduce_lr_on_plateau_min_delta_and_acc_mode():
    model = FakeModel(lr=1.0)
    reducer = cbks.ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.1)
    drive(model, [reducer], epochs=4, epoch_logs=val_losses([1.0, 0.95, 0.91, 0.3]))
    assert model.optimizer.lr == pytest.approx(0.1)
    model = FakeModel(lr=1.0)
    reducer = cbks.ReduceLROnPlateau(monitor="val_acc", factor=0.1, patience=1)
    drive(model, [reducer], epochs=3, epoch_logs=lambda e: {"val_acc": [0.5, 0.6, 0.7][e]})
    assert model.optimizer.lr == 1.0


def test_reduce_lr_on_plateau_bad_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        cbks.ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="`epsilon` argument is deprecated"):
        reducer = cbks.ReduceLROnPlateau(epsilon=0.5)
    assert reducer.min_delta == 0.5
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['patiense'\\]"):
        cbks.ReduceLROnPlateau(patiense=3)
    with pytest.warns(RuntimeWarning, match="mode sideways is unknown, fallback to auto"):
        reducer = cbks.ReduceLROnPlateau(mode="sideways")
    assert reducer.mode == "auto"
    with pytest.warns(RuntimeWarning, match="conditioned on metric `val_loss`"):
        drive(FakeModel(), [reducer], epochs=1)


def test_csv_logger_writes_header_once_and_appends(tmp_path):
    path = str(tmp_path / "log.csv")
    drive(FakeModel(), [cbks.CSVLogger(path)], epochs=2, epoch_logs=val_losses([0.5, 0.25]))
    drive(FakeModel(), [cbks.CSVLogger(path, append=True)], epochs=1,
          epoch_logs=val_losses([0.125]))
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "loss", "val_loss"], ["0", "2.0", "0.5"], ["1", "2.0", "0.25"],
                    ["0", "2.0", "0.125"]]
    drive(FakeModel(), [cbks.CSVLogger(path, separator=";")], epochs=1,
          epoch_logs=val_losses([0.5]))
    with open(path) as f:
        assert f.read() == "epoch;loss;val_loss\n0;2.0;0.5\n"


def test_csv_logger_writes_na_when_training_stops_and_lists_quoted(tmp_path):
    path = str(tmp_path / "log.csv")
    logger = cbks.CSVLogger(path)
    model = FakeModel()
    logger.set_model(model)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "val_loss": np.array([1, 2])})
    model.stop_training = True
    logger.on_epoch_end(1, {"loss": 0.5})
    logger.on_train_end()
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows == [["epoch", "loss", "val_loss"], ["0", "1.0", '"[1, 2]"'], ["1", "0.5", "NA"]]


def test_lambda_callback_calls_given_functions_and_sets_attributes():
    seen = []
    callback = cbks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(("epoch_begin", epoch)),
        on_batch_end=lambda batch, logs: seen.append(("batch_end", batch, logs["loss"])),
        on_train_end=lambda logs: seen.append("train_end"),
        note="extra")
    drive(FakeModel(), [callback], epochs=1, batch_logs=lambda e: [(4, {"loss": 3.0})])
    assert seen == [("epoch_begin", 0), ("batch_end", 0, 3.0), "train_end"]
    assert callback.note == "extra"


def test_progbar_logger_verbose_1_and_2(capsys):
    drive(FakeModel(), [], epochs=2, verbose=1, epoch_logs=val_losses([0.5, 0.25]))
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2\n") == 1 and out.count("Epoch 2/2\n") == 1
    final_lines = [line for line in out.splitlines() if line.startswith("80/80 [====")]
    assert len(final_lines) == 2
    assert final_lines[1].endswith(" - loss: 2.0000 - val_loss: 0.2500")
    logger = cbks.ProgbarLogger(count_mode="steps")
    model = FakeModel()
    callback_list = cbks.CallbackList([logger])
    callback_list.set_model(model)
    callback_list.set_params({"epochs": 1, "steps": 3, "samples": None, "verbose": 2,
                              "metrics": ["loss"]})
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    for index in range(3):
        callback_list.on_batch_begin(index, {})
        callback_list.on_batch_end(index, {"size": 5, "loss": float(index)})
    callback_list.on_epoch_end(0, {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/1"
    assert len(out) == 2 and out[1].startswith(" - ") and out[1].endswith(" - loss: 1.0000")
    with pytest.raises(ValueError, match="Unknown `count_mode`: 'batches'"):
        cbks.ProgbarLogger(count_mode="batches")


def test_slow_callbacks_warn_and_fast_ones_do_not(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(cbks.time, "time", lambda: now[0])

    class Slow(cbks.Callback):
        def __init__(self, seconds):
            super(Slow, self).__init__()
            self.seconds = seconds

        def on_batch_begin(self, batch, logs=None):
            now[0] += self.seconds

    for seconds, slow in ((0.0, False), (1.0, True)):
        callback_list = cbks.CallbackList([Slow(seconds)])
        callback_list.on_epoch_begin(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for batch in range(3):
                callback_list.on_batch_begin(batch, {})
                now[0] += 0.2  # the batch update itself
                callback_list.on_batch_end(batch, {})
        messages = [str(w.message) for w in caught]
        assert any("on_batch_begin() is slow" in m for m in messages) == slow, messages
        assert callback_list._delta_t_batch == pytest.approx(0.2)
