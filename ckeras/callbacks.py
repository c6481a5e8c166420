"""Callbacks: hooks called by ``fit`` at the start and end of training,
of every epoch and of every batch, with Keras 2 semantics.

``fit`` drives a ``CallbackList`` of ``[BaseLogger] + user callbacks +
[History]`` (+ ``ProgbarLogger`` when ``verbose``). Before training it
calls ``set_model(model)`` and ``set_params(params)``, with ``params``
holding ``epochs``, ``steps``, ``samples``, ``verbose``,
``do_validation`` and ``metrics`` (the names shown and logged, e.g.
``['loss', 'acc', 'val_loss', 'val_acc']``). Batch logs carry ``batch``,
``size`` and the batch's metrics; epoch logs carry the epoch's metrics,
which callbacks may add to (BaseLogger writes the averages, and
ReduceLROnPlateau the learning rate ``lr``).
"""
import collections
import collections.abc
import csv
import inspect
import numbers
import os
import time
import warnings

import numpy as np

from ckeras.utils.progbar import Progbar


def _optimizer_lr(model, new_value=None):
    """Reads (``new_value`` None) or writes ``model.optimizer.lr``.

    A plain number attribute is read and written directly; anything else
    (a backend variable) goes through ``ckeras.backend.get_value`` /
    ``set_value``.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "lr"):
        raise ValueError('Optimizer must have a "lr" attribute; got optimizer %r.' % (optimizer,))
    lr = optimizer.lr
    if isinstance(lr, numbers.Real):
        if new_value is None:
            return float(lr)
        optimizer.lr = float(new_value)
        return None
    from ckeras import backend as K
    if new_value is None:
        return float(K.get_value(lr))
    K.set_value(lr, new_value)
    return None


def _monitor_op(mode, monitor, who):
    """np.less or np.greater for 'min'/'max'/'auto' ('auto': max for acc-like names)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn("%s mode %s is unknown, fallback to auto mode." % (who, mode), RuntimeWarning)
        mode = "auto"
    if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))):
        return np.greater
    return np.less


class CallbackList(object):
    """A container of callbacks, called in order.

    Args:
        callbacks: list of ``Callback`` instances.
        queue_length: how many recent batches the slow-callback check
            looks at.
    """

    def __init__(self, callbacks=None, queue_length=10):
        self.callbacks = list(callbacks or [])
        self.queue_length = queue_length
        self._reset_batch_timing()

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        for callback in self.callbacks:
            callback.set_model(model)

    def _reset_batch_timing(self):
        self._delta_t_batch = 0.0
        self._delta_ts_batch_begin = collections.deque([], maxlen=self.queue_length)
        self._delta_ts_batch_end = collections.deque([], maxlen=self.queue_length)
        self._t_enter_batch = None

    def _warn_if_slow(self, deltas, hook):
        if self._delta_t_batch <= 0.0 or max(deltas) <= 0.1:
            return  # the median cannot exceed 0.1 s: skip computing it
        median = np.median(deltas)
        if self._delta_t_batch > 0.0 and median > 0.95 * self._delta_t_batch and median > 0.1:
            warnings.warn("Method %s() is slow compared to the batch update (%f). "
                          "Check your callbacks." % (hook, median))

    def on_epoch_begin(self, epoch, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)
        self._reset_batch_timing()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        logs = logs or {}
        t_before = time.time()
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)
        self._delta_ts_batch_begin.append(time.time() - t_before)
        self._warn_if_slow(self._delta_ts_batch_begin, "on_batch_begin")
        self._t_enter_batch = time.time()

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        if self._t_enter_batch is None:
            self._t_enter_batch = time.time()
        self._delta_t_batch = time.time() - self._t_enter_batch
        t_before = time.time()
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)
        self._delta_ts_batch_end.append(time.time() - t_before)
        self._warn_if_slow(self._delta_ts_batch_end, "on_batch_end")

    def on_train_begin(self, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = logs or {}
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def __iter__(self):
        return iter(self.callbacks)


class Callback(object):
    """Base class of callbacks: every hook does nothing.

    Attributes:
        params: dict of training parameters (epochs, steps, samples,
            verbose, do_validation, metrics), set by ``set_params``.
        model: the model being trained, set by ``set_model``.
    """

    def __init__(self):
        self.validation_data = None
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class BaseLogger(Callback):
    """Averages the batch metrics over each epoch, weighted by batch size.

    Added to every model by ``fit``. At the end of an epoch it writes, for
    each name in ``params['metrics']`` seen in the batch logs, the average
    into the epoch logs; names in ``stateful_metrics`` get their last value.
    """

    def __init__(self, stateful_metrics=None):
        super(BaseLogger, self).__init__()
        self.stateful_metrics = set(stateful_metrics or ())

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        batch_size = logs.get("size", 0)
        self.seen += batch_size
        for name, value in logs.items():
            if name in self.stateful_metrics:
                self.totals[name] = value
            else:
                self.totals[name] = self.totals.get(name, 0) + value * batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for name in self.params.get("metrics", ()):
            if name in self.totals:
                if name in self.stateful_metrics:
                    logs[name] = self.totals[name]
                else:
                    logs[name] = self.totals[name] / self.seen


class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            print("Batch %d: Invalid loss, terminating training" % batch)
            self.model.stop_training = True


class ProgbarLogger(Callback):
    """Prints the metrics to stdout with a ``Progbar`` per epoch.

    Args:
        count_mode: 'samples' (the bar counts samples) or 'steps' (batches).
        stateful_metrics: names shown as given rather than averaged.
    """

    def __init__(self, count_mode="samples", stateful_metrics=None):
        super(ProgbarLogger, self).__init__()
        if count_mode == "samples":
            self.use_steps = False
        elif count_mode == "steps":
            self.use_steps = True
        else:
            raise ValueError("Unknown `count_mode`: %r; use 'samples' or 'steps'." % (count_mode,))
        self.stateful_metrics = set(stateful_metrics or ())

    def on_train_begin(self, logs=None):
        self.verbose = self.params["verbose"]
        self.epochs = self.params["epochs"]

    def on_epoch_begin(self, epoch, logs=None):
        self.target = self.params["steps"] if self.use_steps else self.params["samples"]
        if self.verbose:
            print("Epoch %d/%d" % (epoch + 1, self.epochs))
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   stateful_metrics=self.stateful_metrics)
        self.seen = 0
        self.log_values = []

    def on_batch_begin(self, batch, logs=None):
        if self.target is None or self.seen < self.target:
            self.log_values = []

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.seen += 1 if self.use_steps else logs.get("size", 0)
        for name in self.params["metrics"]:
            if name in logs:
                self.log_values.append((name, logs[name]))
        # the last batch is drawn by on_epoch_end, with the validation metrics
        if self.verbose and (self.target is None or self.seen < self.target):
            self.progbar.update(self.seen, self.log_values)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for name in self.params["metrics"]:
            if name in logs:
                self.log_values.append((name, logs[name]))
        if self.verbose:
            if self.target is None:  # unknown length: finish the line now
                self.progbar.target = self.seen
            self.progbar.update(self.seen, self.log_values)


class History(Callback):
    """Records the epoch logs; ``fit`` returns it.

    Attributes:
        epoch: list of epoch indices trained.
        history: dict from metric name to the list of its epoch values.
    """

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after every ``period`` epochs.

    Args:
        filepath: where to save; may contain ``{epoch:02d}`` (1-based) and
            any epoch log name, e.g. ``'w.{epoch:02d}-{val_loss:.2f}.h5'``.
        monitor: quantity compared when ``save_best_only``.
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improves on the best so far.
        save_weights_only: ``model.save_weights`` rather than ``model.save``.
        mode: 'min', 'max' or 'auto' (max for acc-like names).
        period: epochs between checks.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", period=1):
        super(ModelCheckpoint, self).__init__()
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = filepath
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.period = period
        self.epochs_since_last_save = 0
        self.monitor_op = _monitor_op(mode, monitor, "ModelCheckpoint")
        self.best = np.inf if self.monitor_op is np.less else -np.inf

    def _save(self, filepath):
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs_since_last_save += 1
        if self.epochs_since_last_save < self.period:
            return
        self.epochs_since_last_save = 0
        filepath = self.filepath.format(epoch=epoch + 1, **logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print("\nEpoch %05d: saving model to %s" % (epoch + 1, filepath))
            self._save(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Can save best model only with %s available, skipping." % self.monitor,
                          RuntimeWarning)
        elif self.monitor_op(current, self.best):
            if self.verbose > 0:
                print("\nEpoch %05d: %s improved from %0.5f to %0.5f, saving model to %s"
                      % (epoch + 1, self.monitor, self.best, current, filepath))
            self.best = current
            self._save(filepath)
        elif self.verbose > 0:
            print("\nEpoch %05d: %s did not improve from %0.5f"
                  % (epoch + 1, self.monitor, self.best))


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving.

    Args:
        monitor: quantity to watch.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when it stops.
        mode: 'min', 'max' or 'auto' (max for acc-like names).
        baseline: value the quantity must improve on; training stops after
            ``patience`` epochs that don't beat it.
        restore_best_weights: when stopping, set the weights of the best
            epoch back into the model.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False):
        super(EarlyStopping, self).__init__()
        self.monitor = monitor
        self.baseline = baseline
        self.patience = patience
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = 0
        self.monitor_op = _monitor_op(mode, monitor, "EarlyStopping")
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = np.inf if self.monitor_op is np.less else -np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs or {})
        if current is None:
            return
        if self.monitor_op(current - self.min_delta, self.best):
            self.best = current
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    print("Restoring model weights from the end of the best epoch")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print("Epoch %05d: early stopping" % (self.stopped_epoch + 1))

    def get_monitor_value(self, logs):
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn("Early stopping conditioned on metric `%s` which is not available. "
                          "Available metrics are: %s" % (self.monitor, ",".join(logs.keys())),
                          RuntimeWarning)
        return value


def _takes_two_args(fn):
    """Whether ``fn(epoch, lr)`` is a valid call (else ``fn(epoch)``)."""
    try:
        inspect.signature(fn).bind(0, 0.0)
        return True
    except TypeError:
        return False
    except ValueError:  # no signature (some builtins): try the new API
        return True


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch.

    Args:
        schedule: ``schedule(epoch)`` or ``schedule(epoch, lr)`` (epoch is
            0-based, lr the current rate) returning the new rate as a float.
        verbose: 1 prints the new rate.
    """

    def __init__(self, schedule, verbose=0):
        super(LearningRateScheduler, self).__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _optimizer_lr(self.model)
        if _takes_two_args(self.schedule):
            lr = self.schedule(epoch, lr)
        else:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.floating)):
            raise ValueError('The output of the "schedule" function should be float, got %r '
                             '(%s).' % (lr, type(lr).__name__))
        _optimizer_lr(self.model, lr)
        if self.verbose > 0:
            print("\nEpoch %05d: LearningRateScheduler setting learning rate to %s."
                  % (epoch + 1, lr))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _optimizer_lr(self.model)


class ReduceLROnPlateau(Callback):
    """Reduces the learning rate when a metric has stopped improving.

    Args:
        monitor: quantity to watch.
        factor: new_lr = lr * factor; must be < 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints each reduction.
        mode: 'min', 'max' or 'auto' (max for acc-like names).
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.
        epsilon: deprecated name of ``min_delta``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0, **kwargs):
        super(ReduceLROnPlateau, self).__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0 (got %r): the "
                             "new rate is lr * factor, so use e.g. factor=0.1." % (factor,))
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use "
                          "`min_delta` instead.")
        if kwargs:
            raise TypeError("ReduceLROnPlateau got unexpected keyword arguments: %s"
                            % sorted(kwargs))
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.mode = mode
        self._reset()

    def _reset(self):
        """Resets the wait and cooldown counters and the best value."""
        op = _monitor_op(self.mode, self.monitor, "Learning Rate Plateau Reducing")
        if self.mode not in ("auto", "min", "max"):
            self.mode = "auto"
        if op is np.less:
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = _optimizer_lr(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Reduce LR on plateau conditioned on metric `%s` which is not "
                          "available. Available metrics are: %s"
                          % (self.monitor, ",".join(logs.keys())), RuntimeWarning)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _optimizer_lr(self.model)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _optimizer_lr(self.model, new_lr)
                    if self.verbose > 0:
                        print("\nEpoch %05d: ReduceLROnPlateau reducing learning rate to %s."
                              % (epoch + 1, new_lr))
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Streams the epoch logs to a CSV file, one row per epoch.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: append to an existing file (writing the header only if the
            file is empty) instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super(CSVLogger, self).__init__()
        self.sep = separator
        self.filename = filename
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")

    @staticmethod
    def _cell(value):
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (
                isinstance(value, np.ndarray) and value.ndim == 0):
            return '"[%s]"' % ", ".join(map(str, value))
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
        if getattr(self.model, "stop_training", False):
            # the last epoch may lack some values: write NA so CSV parsers don't fail
            logs = {k: logs.get(k, "NA") for k in self.keys}
        if self.writer is None:
            separator = self.sep

            class _Dialect(csv.excel):
                delimiter = separator
                lineterminator = "\n"

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict([("epoch", epoch)])
        row.update((k, self._cell(logs[k])) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """A callback built from functions, one per hook.

    Args:
        on_epoch_begin, on_epoch_end: ``f(epoch, logs)``.
        on_batch_begin, on_batch_end: ``f(batch, logs)``.
        on_train_begin, on_train_end: ``f(logs)``.
        **kwargs: extra attributes set on the callback.

    Example:
        ```python
        print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs))
        ```
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super(LambdaCallback, self).__init__()
        self.__dict__.update(kwargs)
        two_args = lambda a, b: None  # noqa: E731
        one_arg = lambda logs: None  # noqa: E731
        self.on_epoch_begin = on_epoch_begin if on_epoch_begin is not None else two_args
        self.on_epoch_end = on_epoch_end if on_epoch_end is not None else two_args
        self.on_batch_begin = on_batch_begin if on_batch_begin is not None else two_args
        self.on_batch_end = on_batch_end if on_batch_end is not None else two_args
        self.on_train_begin = on_train_begin if on_train_begin is not None else one_arg
        self.on_train_end = on_train_end if on_train_end is not None else one_arg
