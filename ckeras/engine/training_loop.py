"""Training for Model: compile, fit, evaluate, *_on_batch and the
generator variants, with Keras 2's semantics (``TrainingMixin``).

A step runs one of two paths, chosen once per compile:
- the lean path (``fast_step.DenseChainStep``) for chains of Dense,
  Dropout and Activation layers with a built-in loss: fused C kernels
  end to end (Dense, softmax/sigmoid cross-entropy on the logits, the
  optimizer), preallocated buffers, no tape;
- the general path: the graph runs under a ``GradientTape``, the losses
  are backend-op functions (built-in or the user's), ``tape.gradient``
  gives the gradients and the optimizer applies them in place.
Both give the same numbers up to float rounding (tests/training).

Keras 2's loss for output i is
``mean(w * mean_extra_axes(loss_i(y, y_pred))) / mean(w != 0)``
(w: sample weights, from sample_weight or class_weight); the total is
``sum_i loss_weight_i * loss_i`` plus the regularization losses.
Evaluation averages each batch's results weighted by its size.
"""
import copy
import warnings

import numpy as np

from ckeras import backend as K
from ckeras import callbacks as cbks
from ckeras import losses as losses_module
from ckeras import metrics as metrics_module
from ckeras import optimizers
from ckeras.backend import memory as _memory
from ckeras.backend import tape as _tape
from ckeras.utils.data_utils import (GeneratorEnqueuer, OrderedEnqueuer, Sequence,
                                     iter_sequence_infinite)

_f32 = np.float32


def _to_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def make_batches(size, batch_size):
    """[(start, end)] of the batches of `size` samples (Keras 2)."""
    n = (size + batch_size - 1) // batch_size
    return [(i * batch_size, min(size, (i + 1) * batch_size)) for i in range(n)]


def _per_output(value, names, what, default):
    """A value per output from a single value, a list or a dict by name."""
    if isinstance(value, dict):
        for key in value:
            if key not in names:
                raise ValueError(f"Unknown entry in {what} dictionary: {key!r}. Only "
                                 f"expected the following keys: {names}")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"When passing a list as {what}, it should have one entry per model "
                f"output. The model has {len(names)} outputs, but you passed "
                f"{what}={value!r}")
        return list(value)
    return [value] * len(names)


class TrainingMixin:
    """compile/fit/evaluate/train_on_batch/... for ``Model``."""

    # ---- compile --------------------------------------------------------------
    def compile(self, optimizer, loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, target_tensors=None,
                **kwargs):
        """Configures the model for training.

        Args:
            optimizer: name ('sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam',
                'adamax', 'nadam') or an Optimizer instance.
            loss: name or function f(y_true, y_pred); one for all outputs,
                a list (one per output) or a dict by output layer name.
            metrics: names ('accuracy'/'acc' picks the accuracy matching the
                loss and output shape) or functions; a list for every output,
                a list of lists or a dict by output name.
            loss_weights: list or dict of scalar weights of the output losses.
            sample_weight_mode: None (per-sample weights) or 'temporal'.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(kwargs)}")
        if not getattr(self, "_is_graph_network", False) or not self.outputs:
            raise RuntimeError(f"model {self.name} has no layers with a known input "
                               "shape yet; add layers (the first with input_shape) "
                               "before compile()")
        if loss is None:
            raise ValueError("compile() needs a loss (a name such as "
                             "'categorical_crossentropy', or a function)")
        names = self.output_names
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self.metrics = metrics or []
        self.loss_weights = loss_weights
        self.sample_weight_mode = sample_weight_mode
        self.loss_functions = [losses_module.get(f) for f in
                               _per_output(loss, names, "loss", None)]
        if isinstance(loss, dict):
            for n in names:
                if n not in loss:
                    warnings.warn(f"Output {n!r} missing from loss dictionary. We assume "
                                  "this was done on purpose: it will not be trained.")
        weights = _per_output(1.0 if loss_weights is None else loss_weights, names,
                              "loss_weights", 1.0)
        self._loss_weights = [float(w) for w in weights]
        modes = _per_output(sample_weight_mode, names, "sample_weight_mode", None)
        for m in modes:
            if m not in (None, "temporal"):
                raise ValueError(f"sample_weight_mode must be None or 'temporal', got {m!r}")
        self.sample_weight_modes = modes

        # metrics: per output, (name, fn)
        if isinstance(metrics, dict):
            per_out = [_to_list(m) for m in _per_output(metrics, names, "metrics", [])]
        elif (isinstance(metrics, (list, tuple)) and len(metrics) == len(names) and
              metrics and all(isinstance(m, (list, tuple)) for m in metrics)):
            per_out = [list(m) for m in metrics]
        else:
            per_out = [copy.copy(_to_list(metrics)) for _ in names]
        self._metric_fns = []
        metric_names = []
        for i, (name, ms) in enumerate(zip(names, per_out)):
            for m in ms:
                fn, mname = self._resolve_metric(m, i)
                full = f"{name}_{mname}" if len(names) > 1 else mname
                self._metric_fns.append((i, fn))
                metric_names.append(full)
        self.metrics_names = ["loss"]
        if len(names) > 1:
            self.metrics_names += [f"{n}_loss" for n, f in zip(names, self.loss_functions)
                                   if f is not None]
        self.metrics_names += metric_names
        self._trained_outputs = [i for i, f in enumerate(self.loss_functions)
                                 if f is not None]
        if not self._trained_outputs:
            raise ValueError("The model cannot be compiled because it has no loss to "
                             "optimize.")
        self._feed_shapes = []
        for i, f in enumerate(self.loss_functions):
            shape = self.outputs[i]._keras_shape
            if f is losses_module.sparse_categorical_crossentropy:
                shape = tuple(shape[:-1]) + (1,)
            elif f is not None and losses_module._ALL.get(f.__name__) is not f:
                shape = None  # custom loss: any target shape
            self._feed_shapes.append(shape)
        self._compiled = True
        self._lean = None
        self._lean_checked = False
        self.stop_training = False

    def _resolve_metric(self, m, i):
        if m in ("accuracy", "acc"):
            shape = self.outputs[i]._keras_shape
            f = self.loss_functions[i]
            if shape[-1] == 1 or f is losses_module.binary_crossentropy:
                fn = metrics_module.binary_accuracy
            elif f is losses_module.sparse_categorical_crossentropy:
                fn = metrics_module.sparse_categorical_accuracy
            else:
                fn = metrics_module.categorical_accuracy
            return fn, "acc"
        fn = metrics_module.get(m)
        return fn, getattr(fn, "__name__", "metric")

    def _check_compiled(self, what):
        if not getattr(self, "_compiled", False):
            raise RuntimeError(f"You must compile your model before using it "
                               f"(call model.compile(optimizer, loss) before {what}).")

    # Keras 2 names used by saving and user code
    def _make_train_function(self):
        self._check_compiled("training")
        params = self._trainable_params()
        if self.optimizer._params is None:
            self.optimizer.build(params)

    def _make_test_function(self):
        self._check_compiled("evaluate")

    def _make_predict_function(self):
        pass

    def _trainable_params(self):
        return self.trainable_weights

    # ---- data standardization ----------------------------------------------------
    def _named_arrays(self, data, names, what):
        """data (array, list, dict by name) as a list in `names` order."""
        if isinstance(data, dict):
            unknown = [k for k in data if k not in names]
            if unknown:
                raise ValueError(f"Unknown entries in {what} dictionary: {unknown}. Only "
                                 f"expected the following keys: {names}")
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"No data provided for {missing[0]!r}. Need data for each "
                                 f"key in: {names}")
            return [data[n] for n in names]
        if isinstance(data, (list, tuple)):
            if len(data) != len(names):
                raise ValueError(
                    f"Error when checking model {what}: the list of Numpy arrays that "
                    f"you are passing to your model is not the size the model expected. "
                    f"Expected to see {len(names)} array(s) for {names}, but instead got "
                    f"{len(data)} array(s).")
            return list(data)
        if len(names) != 1:
            raise ValueError(
                f"Error when checking model {what}: the model expects {len(names)} "
                f"arrays for {names}, but only received one array; pass a list or a "
                f"dict by name.")
        return [data]

    def _standardize_x(self, x):
        arrays = self._named_arrays(x, self.input_names, "input")
        out = []
        for a, t in zip(arrays, self.inputs):
            a = np.asarray(a)
            if a.ndim == 1 and len(t._keras_shape) == 2:
                a = a[:, None]
            out.append(a)
        return self._standardize_inputs(out)

    def _standardize_y(self, y):
        arrays = self._named_arrays(y, self.output_names, "target")
        out = []
        for i, a in enumerate(arrays):
            if self.loss_functions[i] is None:
                out.append(None)
                continue
            a = np.asarray(a)
            if a.ndim == 1:
                a = a[:, None]
            if a.dtype != _f32 or not a.flags.c_contiguous:
                a = np.ascontiguousarray(a, dtype=_f32)
            self._check_target(i, a)
            out.append(a)
        return out

    def _check_target(self, i, a):
        shape = self._feed_shapes[i]
        name = self.output_names[i]
        f = self.loss_functions[i]
        if shape is None:
            return
        bad = a.ndim != len(shape) or any(
            want is not None and want != got for want, got in zip(shape[1:], a.shape[1:]))
        if not bad:
            return
        msg = (f"Error when checking target: expected {name} to have "
               f"{'shape ' + str(shape) if a.ndim == len(shape) else str(len(shape)) + ' dimensions'}"
               f" but got array with shape {a.shape}")
        if f is losses_module.categorical_crossentropy and a.shape[-1] == 1:
            msg += (f". You are passing a target array of shape {a.shape} while using "
                    "as loss `categorical_crossentropy`. `categorical_crossentropy` "
                    "expects targets to be binary matrices (1s and 0s) of shape "
                    "(samples, classes). If your targets are integer classes, you can "
                    "convert them to the expected format via:\n"
                    "```\nfrom ckeras.utils import to_categorical\n"
                    "y_binary = to_categorical(y_int)\n```\n"
                    "Alternatively, you can use the loss function "
                    "`sparse_categorical_crossentropy` instead, which does expect "
                    "integer targets.")
        raise ValueError(msg)

    def _standardize_weights(self, ys, sample_weight, class_weight):
        """One weight array per output ((N,) or (N, T) when temporal)."""
        sws = self._named_arrays(sample_weight, self.output_names, "sample_weight") \
            if sample_weight is not None else [None] * len(ys)
        cws = _per_output(class_weight, self.output_names, "class_weight", None) \
            if isinstance(class_weight, dict) and all(
                k in self.output_names for k in class_weight) and class_weight else \
            [class_weight] * len(ys)
        out = []
        for i, (y, sw, cw) in enumerate(zip(ys, sws, cws)):
            if y is None:
                out.append(None)
                continue
            temporal = self.sample_weight_modes[i] == "temporal"
            if sw is not None:
                sw = np.asarray(sw, dtype=_f32)
                if temporal and sw.ndim != 2:
                    raise ValueError(f"Found a sample_weight array with shape {sw.shape}. "
                                     "In order to use timestep-wise sample weighting, "
                                     "you should pass a 2D sample_weight array.")
                if not temporal and sw.ndim != 1:
                    raise ValueError(
                        f"Found a sample_weight array with shape {sw.shape}. In order to "
                        "use timestep-wise sample weights, you should specify "
                        'sample_weight_mode="temporal" in compile(). If you just mean to '
                        "use sample-wise weights, make sure your sample_weight array is 1D.")
                if sw.shape[0] != y.shape[0]:
                    raise ValueError(f"Found a sample_weight array with {sw.shape[0]} "
                                     f"samples for a target with {y.shape[0]} samples")
                out.append(np.ascontiguousarray(sw))
            elif cw is not None and not temporal:
                if y.ndim == 2 and y.shape[1] > 1:
                    classes = y.argmax(axis=1)
                else:
                    classes = y.reshape(y.shape[0], -1)[:, 0].astype(np.int64)
                missing = set(np.unique(classes).tolist()) - set(int(k) for k in cw)
                if missing:
                    raise ValueError(f"class_weight must contain all classes in the data; "
                                     f"the classes {sorted(missing)} exist in the data "
                                     "but not in class_weight")
                table = {int(k): float(v) for k, v in cw.items()}
                out.append(np.asarray([table[int(c)] for c in classes], dtype=_f32))
            elif temporal:
                out.append(np.ones(y.shape[:2], dtype=_f32))
            else:
                out.append(None)  # all ones
        return out

    def _standardize_user_data(self, x, y, sample_weight=None, class_weight=None):
        xs = self._standardize_x(x)
        ys = self._standardize_y(y)
        sws = self._standardize_weights(ys, sample_weight, class_weight)
        nx = {a.shape[0] for a in xs}
        ny = {a.shape[0] for a in ys if a is not None}
        if len(ny) > 1:
            raise ValueError("All target arrays (y) should have the same number of "
                             f"samples. Got array shapes: "
                             f"{[a.shape for a in ys if a is not None]}")
        if nx and ny and nx != ny:
            raise ValueError(f"Input arrays should have the same number of samples as "
                             f"target arrays. Found {nx.pop()} input samples and "
                             f"{ny.pop()} target samples.")
        return xs, ys, sws

    # ---- one step -----------------------------------------------------------------
    def _weighted_loss(self, i, y_true, y_pred, sw):
        """Keras 2's weighted objective of output i (a backend scalar)."""
        score = self.loss_functions[i](y_true, y_pred)
        masks = getattr(self, "_output_masks", None)
        if masks is not None and masks[i] is not None:
            # Keras 2: masked steps count zero, the rest are rescaled
            m = np.asarray(masks[i]).astype(K.floatx())
            if m.ndim == np.ndim(getattr(score, "value", score)) and m.mean() > 0:
                score = score * (m / m.mean())
        if sw is None:
            return K.mean(score)
        nd = np.ndim(getattr(score, "value", score))
        if nd > sw.ndim:
            score = K.mean(score, axis=list(range(sw.ndim, nd)))
        score = score * sw
        nonzero = float(np.mean(sw != 0))
        if nonzero == 0:
            return K.mean(score * 0.0)
        return K.mean(score / nonzero)

    def _metric_values(self, ys, outs):
        vals = []
        for i, fn in self._metric_fns:
            y_pred = outs[i]
            y_pred = getattr(y_pred, "value", y_pred)
            r = fn(ys[i], y_pred)
            vals.append(float(np.mean(getattr(r, "value", r))))
        return vals

    def _generic_step(self, xs, ys, sws, training):
        if training:
            params = self._trainable_params()
            with K.GradientTape() as tape:
                outs = self.run_graph(xs, 1)
                total, per_out = self._total_loss(ys, outs, sws)
            if params:
                grads = tape.gradient(total, params, row_slices=True)
                self.optimizer.apply_gradients(params, grads)
        else:
            with _tape.stop_recording():
                outs = self.run_graph(xs, 0)
                total, per_out = self._total_loss(ys, outs, sws)
        result = [float(getattr(total, "value", total))]
        if len(self.outputs) > 1:
            result += [float(getattr(v, "value", v)) for v in per_out]
        return result + self._metric_values(ys, outs)

    def _total_loss(self, ys, outs, sws):
        total = None
        per_out = []
        for i in self._trained_outputs:
            v = self._weighted_loss(i, ys[i], outs[i], sws[i])
            per_out.append(v)
            term = v if self._loss_weights[i] == 1.0 else v * self._loss_weights[i]
            total = term if total is None else total + term
        for reg in self.losses:
            total = total + K.sum(reg)
        return total, per_out

    def _lean_step(self):
        if not self._lean_checked:
            from ckeras.engine.fast_step import DenseChainStep
            self._lean = DenseChainStep.build(self)
            self._lean_checked = True
        return self._lean

    def _run_step(self, xs, ys, sws, training):
        lean = self._lean_step()
        with _memory.pooled_arrays():
            if lean is not None:
                return lean.step(xs, ys, sws, training)
            return self._generic_step(xs, ys, sws, training)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One gradient update on one batch; returns the loss, or
        [loss, metrics...] (see metrics_names)."""
        self._check_compiled("train_on_batch")
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, class_weight)
        out = self._run_step(xs, ys, sws, True)
        return out[0] if len(out) == 1 else out

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (and metrics) on one batch, in test mode."""
        self._check_compiled("test_on_batch")
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight)
        out = self._run_step(xs, ys, sws, False)
        return out[0] if len(out) == 1 else out

    # ---- loops --------------------------------------------------------------------
    @staticmethod
    def _slice(arrays, idx):
        return [None if a is None else a[idx] for a in arrays]

    def _test_loop(self, xs, ys, sws, batch_size, verbose=0, steps=None):
        n = xs[0].shape[0]
        totals = None
        if steps is not None:
            for _ in range(steps):
                out = self._run_step(xs, ys, sws, False)
                totals = out if totals is None else [a + b for a, b in zip(totals, out)]
            return [t / steps for t in totals]
        progbar = None
        if verbose == 1:
            from ckeras.utils.progbar import Progbar
            progbar = Progbar(target=n)
        for start, end in make_batches(n, batch_size):
            sl = slice(start, end)
            out = self._run_step(self._slice(xs, sl), self._slice(ys, sl),
                                 self._slice(sws, sl), False)
            w = end - start
            totals = [o * w for o in out] if totals is None else \
                [a + o * w for a, o in zip(totals, out)]
            if progbar is not None:
                progbar.update(end)
        return [t / n for t in totals]

    @_memory.loop
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0., validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None,
            validation_steps=None, **kwargs):
        """Trains for `epochs` epochs; returns a History (history.history
        maps 'loss', metrics and 'val_*' to their per-epoch values)."""
        if "nb_epoch" in kwargs:
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.")
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        self._check_compiled("fit")
        if batch_size is None and steps_per_epoch is None:
            batch_size = 32
        if x is None or y is None:
            raise ValueError("fit() needs training data x and targets y")
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            if len(validation_data) == 2:
                vx, vy = validation_data
                vsw = None
            elif len(validation_data) == 3:
                vx, vy, vsw = validation_data
            else:
                raise ValueError("When passing validation_data, it must contain 2 (x_val, "
                                 "y_val) or 3 (x_val, y_val, val_sample_weights) items, "
                                 f"however it contains {len(validation_data)} items")
            val = self._standardize_user_data(vx, vy, vsw)
        elif validation_split and 0. < validation_split < 1.:
            n = xs[0].shape[0]
            split_at = int(n * (1. - validation_split))
            val = (self._slice(xs, slice(split_at, None)), self._slice(ys, slice(split_at, None)),
                   self._slice(sws, slice(split_at, None)))
            xs, ys, sws = (self._slice(xs, slice(0, split_at)),
                           self._slice(ys, slice(0, split_at)),
                           self._slice(sws, slice(0, split_at)))
        return self._fit_loop(xs, ys, sws, batch_size, epochs, verbose, callbacks, val,
                              shuffle, initial_epoch, steps_per_epoch, validation_steps)

    def _callbacks(self, callbacks, verbose, count_mode, params):
        self.history = cbks.History()
        cb = [cbks.BaseLogger()] + list(callbacks or []) + [self.history]
        if verbose:
            cb.append(cbks.ProgbarLogger(count_mode=count_mode))
        cl = cbks.CallbackList(cb)
        cl.set_model(self)
        cl.set_params(params)
        return cl

    def _fit_loop(self, xs, ys, sws, batch_size, epochs, verbose, callbacks, val,
                  shuffle, initial_epoch, steps_per_epoch, validation_steps):
        n = xs[0].shape[0]
        out_labels = list(self.metrics_names)
        do_val = val is not None
        cb_metrics = out_labels + (["val_" + m for m in out_labels] if do_val else [])
        cl = self._callbacks(callbacks, verbose,
                             "steps" if steps_per_epoch else "samples",
                             {"batch_size": batch_size, "epochs": epochs,
                              "steps": steps_per_epoch, "samples": n, "verbose": verbose,
                              "do_validation": do_val, "metrics": cb_metrics})
        self.stop_training = False
        cl.on_train_begin()
        run = self._run_step
        for epoch in range(initial_epoch, epochs):
            cl.on_epoch_begin(epoch)
            epoch_logs = {}
            if steps_per_epoch is not None:
                for step in range(steps_per_epoch):
                    logs = {"batch": step, "size": 1}
                    cl.on_batch_begin(step, logs)
                    outs = run(xs, ys, sws, True)
                    for label, o in zip(out_labels, outs):
                        logs[label] = o
                    cl.on_batch_end(step, logs)
                    if self.stop_training:
                        break
                if do_val:
                    for label, o in zip(out_labels, self._test_loop(
                            *val, batch_size or 32, steps=validation_steps)):
                        epoch_logs["val_" + label] = o
            else:
                if shuffle == "batch":
                    index = _batch_shuffle(np.arange(n), batch_size)
                elif shuffle:
                    index = np.arange(n)
                    np.random.shuffle(index)
                else:
                    index = None
                batches = make_batches(n, batch_size)
                for b, (start, end) in enumerate(batches):
                    ids = slice(start, end) if index is None else index[start:end]
                    logs = {"batch": b, "size": end - start}
                    cl.on_batch_begin(b, logs)
                    outs = run(self._slice(xs, ids), self._slice(ys, ids),
                               self._slice(sws, ids), True)
                    for label, o in zip(out_labels, outs):
                        logs[label] = o
                    cl.on_batch_end(b, logs)
                    if self.stop_training:
                        break
                    if b == len(batches) - 1 and do_val:
                        for label, o in zip(out_labels,
                                            self._test_loop(*val, batch_size)):
                            epoch_logs["val_" + label] = o
            cl.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cl.on_train_end()
        return self.history

    @_memory.loop
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None):
        """The loss (and metrics) on x, y in test mode, averaged over
        samples; a scalar, or a list matching metrics_names."""
        self._check_compiled("evaluate")
        if batch_size is None and steps is None:
            batch_size = 32
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight)
        out = self._test_loop(xs, ys, sws, batch_size, verbose, steps)
        return out[0] if len(out) == 1 else out

    # ---- generators ---------------------------------------------------------------
    @staticmethod
    def _unpack_generator_output(item, with_targets=True):
        if not isinstance(item, tuple):
            if with_targets:
                raise ValueError("Output of generator should be a tuple (x, y, "
                                 f"sample_weight) or (x, y). Found: {item!r}")
            return item, None, None
        if len(item) == 2:
            return item[0], item[1], None
        if len(item) == 3:
            return item
        if not with_targets and len(item) == 1:
            return item[0], None, None
        raise ValueError("Output of generator should be a tuple (x, y, sample_weight) "
                         f"or (x, y). Found a tuple of {len(item)} items")

    @_memory.loop
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Trains on batches from a Python generator or a Sequence.

        Args:
            generator: a ``ckeras.utils.Sequence``, or a generator yielding
                ``(x, y)`` or ``(x, y, sample_weight)`` forever.
            steps_per_epoch: batches per epoch; default ``len(generator)``
                for a Sequence.
            validation_data: a Sequence, a generator (with
                ``validation_steps``), or ``(x, y[, sample_weight])``.
            max_queue_size: batches the workers keep ready.
            workers: 0 reads the batches in this thread; n > 0 fetches them
                ahead with an enqueuer (``OrderedEnqueuer`` for a Sequence,
                ``GeneratorEnqueuer`` for a generator) with n workers. The
                validation generator gets its own, read on from where the
                previous epoch left off.
            use_multiprocessing: the workers are forked processes, not threads.
            shuffle: a Sequence's batches in a new random order each pass
                (from numpy's global RNG, so ``np.random.seed`` repeats it,
                for any ``workers``).

        A Sequence's ``on_epoch_end()`` runs once after each full pass.
        """
        self._check_compiled("fit_generator")
        is_seq = isinstance(generator, Sequence)
        if steps_per_epoch is None:
            if not is_seq:
                raise ValueError("`steps_per_epoch=None` is only valid for a generator "
                                 "based on the `ckeras.utils.Sequence` class. Please "
                                 "specify `steps_per_epoch` or use a Sequence.")
            steps_per_epoch = len(generator)
        val_gen = validation_data is not None and (
            isinstance(validation_data, Sequence) or hasattr(validation_data, "__next__"))
        if val_gen and validation_steps is None:
            if not isinstance(validation_data, Sequence):
                raise ValueError("`validation_steps=None` is only valid for a generator "
                                 "based on the `ckeras.utils.Sequence` class. Please "
                                 "specify `validation_steps` or use a Sequence for "
                                 "validation_data.")
            validation_steps = len(validation_data)
        val = None
        if validation_data is not None and not val_gen:
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = self._standardize_user_data(vx, vy, vsw)
        out_labels = list(self.metrics_names)
        do_val = validation_data is not None
        cb_metrics = out_labels + (["val_" + m for m in out_labels] if do_val else [])
        cl = self._callbacks(callbacks, verbose, "steps",
                             {"epochs": epochs, "steps": steps_per_epoch,
                              "verbose": verbose, "do_validation": do_val,
                              "metrics": cb_metrics, "samples": None})
        self.stop_training = False
        needed = steps_per_epoch * max(epochs - initial_epoch, 0)
        enqueuer = val_enqueuer = None
        try:
            if val_gen:
                val_it, val_enqueuer = _batch_stream(validation_data, workers,
                                                     use_multiprocessing, max_queue_size)
            it, enqueuer = _batch_stream(generator, workers, use_multiprocessing,
                                         max_queue_size, shuffle=shuffle)
            drawn = 0
            cl.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                cl.on_epoch_begin(epoch)
                epoch_logs = {}
                for step in range(steps_per_epoch):
                    item = _next_batch(it, "fit_generator", drawn, needed,
                                       "steps_per_epoch * epochs")
                    drawn += 1
                    x, y, sw = self._unpack_generator_output(item)
                    xs, ys, sws = self._standardize_user_data(x, y, sw, class_weight)
                    logs = {"batch": step, "size": xs[0].shape[0]}
                    cl.on_batch_begin(step, logs)
                    outs = self._run_step(xs, ys, sws, True)
                    for label, o in zip(out_labels, outs):
                        logs[label] = o
                    cl.on_batch_end(step, logs)
                    if self.stop_training:
                        break
                if do_val and not self.stop_training:
                    if val_gen:
                        vouts = self.evaluate_generator(val_it, validation_steps, workers=0)
                    else:
                        vouts = self._test_loop(*val, 32)
                    for label, o in zip(out_labels, _to_list(vouts)):
                        epoch_logs["val_" + label] = o
                cl.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            try:
                if enqueuer is not None:
                    enqueuer.stop()
            finally:
                if val_enqueuer is not None:
                    val_enqueuer.stop()
        cl.on_train_end()
        return self.history

    @_memory.loop
    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False):
        """Loss and metrics over `steps` batches of a generator or Sequence,
        averaged with the batch sizes as weights (batches fetched as in
        fit_generator, never shuffled)."""
        self._check_compiled("evaluate_generator")
        if steps is None:
            if not isinstance(generator, Sequence):
                raise ValueError("`steps=None` is only valid for a generator based on the "
                                 "`ckeras.utils.Sequence` class. Please specify `steps`.")
            steps = len(generator)
        all_outs, sizes = [], []
        it, enqueuer = _batch_stream(generator, workers, use_multiprocessing, max_queue_size)
        try:
            for step in range(steps):
                item = _next_batch(it, "evaluate_generator", step, steps, "steps")
                x, y, sw = self._unpack_generator_output(item)
                xs, ys, sws = self._standardize_user_data(x, y, sw)
                all_outs.append(self._run_step(xs, ys, sws, False))
                sizes.append(xs[0].shape[0])
        finally:
            if enqueuer is not None:
                enqueuer.stop()
        avg = np.average(np.asarray(all_outs, dtype=np.float64), axis=0, weights=sizes)
        out = [float(v) for v in avg]
        return out[0] if len(out) == 1 else out

    @_memory.loop
    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Predictions for `steps` batches of inputs from a generator or
        Sequence (items may be x, (x,), (x, y) or (x, y, w)), fetched as in
        fit_generator, never shuffled."""
        if steps is None:
            if not isinstance(generator, Sequence):
                raise ValueError("`steps=None` is only valid for a generator based on the "
                                 "`ckeras.utils.Sequence` class. Please specify `steps`.")
            steps = len(generator)
        outs = None
        it, enqueuer = _batch_stream(generator, workers, use_multiprocessing, max_queue_size)
        try:
            for step in range(steps):
                item = _next_batch(it, "predict_generator", step, steps, "steps")
                x, _, _ = self._unpack_generator_output(item, with_targets=False)
                res = _to_list(self.predict_on_batch(x))
                if outs is None:
                    outs = [[] for _ in res]
                for acc, r in zip(outs, res):
                    acc.append(np.asarray(r))
        finally:
            if enqueuer is not None:
                enqueuer.stop()
        results = [np.concatenate(o) for o in outs]
        return results[0] if len(results) == 1 else results


def _batch_stream(data, workers, use_multiprocessing, max_queue_size, shuffle=False):
    """(iterator over the batches of a Sequence or generator, its started
    enqueuer or None): Keras 2's choice of source for the *_generator loops."""
    is_seq = isinstance(data, Sequence)
    if workers > 0:
        if is_seq:
            enqueuer = OrderedEnqueuer(data, use_multiprocessing=use_multiprocessing,
                                       shuffle=shuffle)
        else:
            enqueuer = GeneratorEnqueuer(data, use_multiprocessing=use_multiprocessing)
        enqueuer.start(workers=workers, max_queue_size=max_queue_size)
        return enqueuer.get(), enqueuer
    if is_seq:
        return iter_sequence_infinite(data, shuffle=shuffle), None
    return data, None


def _next_batch(it, where, drawn, needed, what):
    """next(it), with a clear error when a finite generator runs out."""
    try:
        return next(it)
    except StopIteration:
        raise RuntimeError(
            f"{where}: the generator ran out of data after {drawn} batches, but "
            f"{what} = {needed} batches were asked for. Make the generator loop over "
            "its data forever (e.g. `while True:`), or ask for fewer steps.") from None


def _batch_shuffle(index_array, batch_size):
    """Shuffles whole batches of the index array (shuffle='batch')."""
    batch_count = len(index_array) // batch_size
    last = index_array[batch_count * batch_size:]
    index_array = index_array[:batch_count * batch_size]
    index_array = index_array.reshape((batch_count, batch_size))
    np.random.shuffle(index_array)
    return np.append(index_array.flatten(), last)
