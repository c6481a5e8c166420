"""The lean training step for chains of Dense, Dropout and Activation.

Most Keras 2 models in the guide are such chains (an MLP ending in
softmax or sigmoid). For them one step is a fixed list of fused C kernel
calls with no tape and no Tensor wrappers:

    forward   dense_forward per Dense (bias + activation fused), dropout
              masks, activation_forward per Activation layer;
    loss      categorical_crossentropy on a softmax output becomes
              softmax_xent_forward on the logits (the last Dense runs
              linear), binary_crossentropy on a sigmoid output
              sigmoid_bce_forward, mse mse_forward;
    backward  the loss kernel's backward with dloss = Keras 2's sample
              weighting, then dense_backward / activation_backward and the
              dropout masks in reverse;
    update    the optimizer's fused kernels.

``DenseChainStep.build(model)`` returns None for anything else
(regularizers, several inputs or outputs, custom losses, other layers,
non-trainable layers), and the general tape path runs instead.
"""
import numpy as np

from ckeras import losses as L
from ckeras._native import kernels
from ckeras.backend import nn_ops

_f32 = np.float32
_DENSE, _DROPOUT, _ACT = 0, 1, 2


class DenseChainStep:
    """One compiled model's lean step (see the module docstring)."""

    @classmethod
    def build(cls, model):
        from ckeras.layers.core import Activation, Dense, Dropout
        if len(model.inputs) != 1 or len(model.outputs) != 1 or not model.trainable:
            return None
        if model.inputs[0].dtype != "float32" or len(model.inputs[0]._keras_shape) != 2:
            return None
        loss = model.loss_functions[0]
        if loss not in (L.categorical_crossentropy, L.sparse_categorical_crossentropy,
                        L.binary_crossentropy, L.mean_squared_error):
            return None
        if model.sample_weight_modes[0] is not None or getattr(model, "_losses", None):
            return None
        ops = []
        prev = model._input_ids[0]
        for layer, in_ids, out_ids, kwargs, _ in model._plan:
            if len(in_ids) != 1 or in_ids[0] != prev or len(out_ids) != 1 or kwargs:
                return None
            prev = out_ids[0]
            if getattr(layer, "_regularized", None) or layer.activity_regularizer \
                    is not None or getattr(layer, "_losses", None) or not layer.trainable:
                return None
            kind = type(layer)
            if kind is Dense and layer._kernel_act is not None:
                ops.append([_DENSE, layer, layer._kernel_act])
            elif kind is Dropout and layer.noise_shape is None:
                ops.append([_DROPOUT, layer, None])
            elif kind is Activation and layer._kernel_act is not None:
                ops.append([_ACT, layer, layer._kernel_act])
            else:
                return None
        if prev != model._output_ids[0] or not any(op[0] == _DENSE for op in ops):
            return None
        last = ops[-1]
        if loss in (L.categorical_crossentropy, L.sparse_categorical_crossentropy):
            if last[2] != "softmax":
                return None
            tail = "softmax_xent"
        elif loss is L.binary_crossentropy:
            if last[2] != "sigmoid":
                return None
            tail = "sigmoid_bce"
        else:
            tail = "mse"
        if tail != "mse":
            if last[0] == _ACT:
                ops.pop()  # the loss kernel applies the activation
            else:
                last[2] = "linear"  # the last Dense yields logits
        return cls(model, ops, tail, loss is L.sparse_categorical_crossentropy)

    def __init__(self, model, ops, tail, sparse):
        self.model = model
        self.ops = ops
        self.tail = tail
        self.sparse = sparse
        self.n_classes = model.outputs[0]._keras_shape[-1]
        first_dense = next(i for i, op in enumerate(ops) if op[0] == _DENSE)
        # dx is only needed below the first Dense
        self.need_dx = [i > first_dense for i in range(len(ops))]
        self.params = model._trainable_params()
        self.eps = float(nn_ops.config.epsilon())
        self._buffers = {}  # batch size -> per-op buffers, reused every step

    def _make_buffers(self, n):
        """Per Dense op: (y, dx, dW, db, workspace) for batches of n rows;
        the gradients handed to the optimizer live here too (it reads them
        before the next step overwrites them)."""
        bufs = []
        for i, (kind, layer, act) in enumerate(self.ops):
            if kind != _DENSE:
                bufs.append(None)
                continue
            c, u = layer.kernel.value.shape
            bufs.append((np.empty((n, u), _f32),
                         np.empty((n, c), _f32) if self.need_dx[i] else None,
                         np.empty((c, u), _f32),
                         np.empty(u, _f32) if layer.bias is not None else None,
                         np.empty(max(1, kernels.dense_workspace_size(n, c, u)), _f32)))
        return bufs

    def step(self, xs, ys, sws, training):
        h = xs[0]
        if h.dtype != _f32 or not h.flags.c_contiguous:
            h = np.ascontiguousarray(h, dtype=_f32)
        t = ys[0]
        w = sws[0]
        n = h.shape[0]
        saved = []
        bufs = self._buffers.get(n)
        if bufs is None:
            bufs = self._buffers[n] = self._make_buffers(n)
        for i, (kind, layer, act) in enumerate(self.ops):
            if kind == _DENSE:
                b = layer.bias
                y = kernels.dense_forward(h, layer.kernel.value,
                                          None if b is None else b.value, act,
                                          out=bufs[i][0])
                saved.append((h, y))
            elif kind == _DROPOUT:
                if training and layer.rate > 0:
                    y, mask = kernels.dropout_forward(
                        h, layer.rate, nn_ops.dropout_seed(layer.seed))
                    saved.append(mask)
                else:
                    y = h
                    saved.append(None)
            else:
                y = kernels.activation_forward(h, act)
                saved.append(y)
            h = y
        eps = self.eps
        t_in = t
        if self.tail == "softmax_xent":
            if self.sparse:
                t_in = np.zeros((n, self.n_classes), _f32)
                t_in[np.arange(n), t.reshape(n).astype(np.int64)] = 1.0
            loss, y_pred = kernels.softmax_xent_forward(h, t_in, eps)
        elif self.tail == "sigmoid_bce":
            loss, y_pred = kernels.sigmoid_bce_forward(h, t, eps)
        else:
            loss = kernels.mse_forward(h, t)
            y_pred = h
        lw = self.model._loss_weights[0]
        if w is None:
            value = float(loss.mean(dtype=np.float64))
            dloss = np.full(n, lw / n, _f32)
        else:
            nonzero = float(np.mean(w != 0)) or 1.0
            value = float(np.mean(loss * w, dtype=np.float64)) / nonzero
            dloss = (w * _f32(lw / (n * nonzero))).astype(_f32)
        result = [value * lw] + self.model._metric_values(ys, [y_pred])
        if not training:
            return result
        if self.tail == "softmax_xent":
            g = kernels.softmax_xent_backward(dloss, y_pred, t_in, eps)
        elif self.tail == "sigmoid_bce":
            g = kernels.sigmoid_bce_backward(dloss, y_pred, t, eps)
        else:
            g = kernels.mse_backward(dloss, h, t)
        grads = {}
        for i in range(len(self.ops) - 1, -1, -1):
            kind, layer, act = self.ops[i]
            s = saved[i]
            if kind == _DENSE:
                hin, y = s
                b = layer.bias
                _, dx, dW, db, ws = bufs[i]
                dW.fill(0)
                if db is not None:
                    db.fill(0)
                if dx is not None:
                    dx.fill(0)
                dx, dW, db = kernels.dense_backward(g, hin, layer.kernel.value, y, act,
                                                    has_bias=b is not None,
                                                    need_dx=self.need_dx[i], dx=dx,
                                                    dW=dW, db=db, workspace=ws)
                grads[id(layer.kernel)] = dW
                if b is not None:
                    grads[id(b)] = db
                g = dx
            elif kind == _DROPOUT:
                if s is not None:
                    g = np.multiply(g, s)
            elif self.need_dx[i]:
                g = kernels.activation_backward(g, s, act)
            if g is None:
                break
        params = self.params
        self.model.optimizer.apply_gradients(params, [grads.get(id(p)) for p in params])
        return result
