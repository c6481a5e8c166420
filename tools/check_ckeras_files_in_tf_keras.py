"""Do files that ckeras writes load in tf_keras? Two steps, two Pythons:

    # 1. ckeras (the project venv) writes small models, trained 2 steps:
    .venv/bin/python tools/check_ckeras_files_in_tf_keras.py write DIR
    # 2. tf_keras (a venv with TensorFlow, see tools/make_golden_tf_keras.py):
    /work/tfenv/bin/python tools/check_ckeras_files_in_tf_keras.py check DIR

``write`` saves ``<name>.h5`` (model.save), ``<name>_weights.h5``
(save_weights) and ``<name>.npz``: inputs ``x*``, ckeras' predictions
``y*``, a training batch ``tx*``/``ty*`` and ``after*``, ckeras' weights
after one more ``train_on_batch`` on it from the saved state.

``check`` loads each file with ``tf_keras.models.load_model`` (compiling
it from the training config) and reports, per file: predictions equal
ckeras'? optimizer state restored (no "Error in loading the saved
optimizer state", iterations == 2)? one more tf_keras training step gives
ckeras' weights? and ``load_weights`` of the weights file into the loaded
architecture. Exit status 1 if any file fails to load or predicts
differently.
"""
import os
import sys

import numpy as np

FAMILIES = ("mlp", "reshape", "conv2d", "conv1d", "embedding_rnn", "bidirectional",
            "multi_io", "nested", "adagrad", "adadelta", "adamax", "nadam")


# ---- ckeras side ----------------------------------------------------------------
def _ckeras_models():
    from ckeras import constraints, regularizers
    from ckeras import layers as L
    from ckeras import optimizers as O
    from ckeras.models import Model, Sequential

    def mlp():
        m = Sequential([L.Dense(5, activation="relu", input_shape=(4,)), L.Dropout(0.25),
                        L.Dense(3), L.Activation("softmax")])
        m.compile(O.SGD(lr=0.05, momentum=0.9, nesterov=True),
                  "categorical_crossentropy", metrics=["accuracy"])
        return m

    def reshape():
        m = Sequential([L.Reshape((2, 3), input_shape=(6,)), L.Permute((2, 1)),
                        L.Flatten(), L.RepeatVector(2), L.Flatten(),
                        L.Dense(3, activation="tanh"), L.Dense(2)])
        m.compile(O.Adam(lr=0.01), "mse", metrics=["mae"])
        return m

    def conv2d():
        x = L.Input((6, 6, 2))
        h = L.ZeroPadding2D(1)(x)
        h = L.Conv2D(3, 3, activation="relu")(h)
        h = L.MaxPooling2D(2)(h)
        h = L.UpSampling2D(2)(h)
        h = L.Cropping2D(((1, 0), (0, 1)))(h)
        h = L.Conv2D(2, (2, 3), padding="same")(h)
        h = L.AveragePooling2D(2)(h)
        y = L.concatenate([L.GlobalAveragePooling2D()(h), L.GlobalMaxPooling2D()(h),
                           L.Flatten()(h)])
        m = Model(x, L.Dense(2, activation="softmax")(y))
        m.compile(O.RMSprop(lr=0.01), "categorical_crossentropy", metrics=["accuracy"])
        return m

    def conv1d():
        x = L.Input((8, 2))
        h = L.Conv1D(3, 3, padding="same", activation="tanh")(x)
        h = L.ZeroPadding1D(1)(h)
        h = L.Cropping1D((1, 0))(h)
        h = L.MaxPooling1D(2)(h)
        h = L.UpSampling1D(2)(h)
        h = L.Conv1D(2, 2, padding="causal", dilation_rate=2)(h)
        h = L.AveragePooling1D(2)(h)
        y = L.add([L.GlobalMaxPooling1D()(h), L.GlobalAveragePooling1D()(h)])
        m = Model(x, L.Dense(1)(y))
        m.compile(O.Adam(lr=0.01), "mse")
        return m

    def embedding_rnn():
        x = L.Input((5,), dtype="int32")
        h = L.Embedding(10, 4, mask_zero=True)(x)
        h = L.LSTM(3, return_sequences=True)(h)
        h = L.GRU(3, return_sequences=True)(h)
        h = L.SimpleRNN(2)(h)
        m = Model(x, L.Dense(1, activation="sigmoid")(h))
        m.compile(O.RMSprop(lr=0.01), "binary_crossentropy", metrics=["accuracy"])
        return m

    def bidirectional():
        m = Sequential([L.Masking(0.0, input_shape=(4, 3)),
                        L.Bidirectional(L.LSTM(2, return_sequences=True)),
                        L.TimeDistributed(L.Dense(2, activation="relu")),
                        L.Bidirectional(L.GRU(2), merge_mode="sum"), L.Dense(2)])
        m.compile(O.Adam(lr=0.01), "mse")
        return m

    def multi_io():
        a, b = L.Input((4,), name="in_a"), L.Input((3,), name="in_b")
        ha = L.Dense(3, activation="relu", name="da")(a)
        hb = L.Dense(3, activation="tanh", name="db")(b)
        merged = L.concatenate([ha, hb, L.add([ha, hb]), L.subtract([ha, hb]),
                                L.multiply([ha, hb]), L.average([ha, hb]),
                                L.maximum([ha, hb]), L.minimum([ha, hb]),
                                L.dot([ha, hb], axes=1, normalize=True)])
        out1 = L.Dense(2, activation="softmax", name="out1")(merged)
        out2 = L.Dense(1, name="out2")(L.add([ha, hb]))
        m = Model([a, b], [out1, out2])
        m.compile(O.SGD(lr=0.05, momentum=0.9),
                  loss={"out1": "categorical_crossentropy", "out2": "mse"},
                  loss_weights={"out1": 1.0, "out2": 0.5}, metrics={"out1": "accuracy"})
        return m

    def nested():
        inner = Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(3)],
                           name="inner")
        x = L.Input((5,))
        pre = L.Dense(3, activation="sigmoid", name="pre",
                      kernel_regularizer=regularizers.l2(0.01),
                      bias_regularizer=regularizers.l1(0.01),
                      kernel_constraint=constraints.MaxNorm(2.0))
        y = L.Dense(2, name="post")(inner(pre(x)))
        m = Model(x, y)
        m.compile(O.Adam(lr=0.01), "mse")
        return m

    def dense_with(opt):
        def build():
            m = Sequential([L.Dense(3, activation="tanh", input_shape=(4,)), L.Dense(2)])
            m.compile(opt(), "mse")
            return m
        return build

    def floats(*shape):
        return lambda r: r.standard_normal(shape).astype("float32")

    def onehot(n, k):
        return lambda r: np.eye(k, dtype="float32")[r.integers(0, k, n)]

    def ints(r):
        x = r.integers(1, 10, (5, 5)).astype("int32")
        for i in range(1, 5):
            x[i, 5 - i:] = 0
        return x

    def masked(r):
        x = r.standard_normal((4, 4, 3)).astype("float32")
        x[1, 2:] = 0.0
        return x

    dense_data = ([floats(5, 4)], [floats(5, 2)], False)
    return {
        "mlp": (mlp, [floats(6, 4)], [onehot(6, 3)], True),
        "reshape": (reshape, [floats(5, 6)], [floats(5, 2)], False),
        "conv2d": (conv2d, [floats(4, 6, 6, 2)], [onehot(4, 2)], False),
        "conv1d": (conv1d, [floats(4, 8, 2)], [floats(4, 1)], False),
        "embedding_rnn": (embedding_rnn, [ints],
                          [lambda r: r.integers(0, 2, (5, 1)).astype("float32")], False),
        "bidirectional": (bidirectional, [masked], [floats(4, 2)], False),
        "multi_io": (multi_io, [floats(5, 4), floats(5, 3)],
                     [onehot(5, 2), floats(5, 1)], False),
        "nested": (nested, [floats(4, 5)], [floats(4, 2)], False),
        "adagrad": (dense_with(lambda: O.Adagrad(lr=0.05)),) + dense_data,
        "adadelta": (dense_with(lambda: O.Adadelta()),) + dense_data,
        "adamax": (dense_with(lambda: O.Adamax()),) + dense_data,
        "nadam": (dense_with(lambda: O.Nadam()),) + dense_data,
    }


def _one(arrays):
    return arrays[0] if len(arrays) == 1 else arrays


def write(outdir):
    from ckeras import backend as K
    os.makedirs(outdir, exist_ok=True)
    for name, (build, make_x, make_y, dropout) in _ckeras_models().items():
        K.set_random_seed(0)  # dropout
        np.random.seed(0)  # initializers (Keras 2 style)
        model = build()
        r = np.random.default_rng(1)
        for _ in range(2):
            model.train_on_batch(_one([f(r) for f in make_x]), _one([f(r) for f in make_y]))
        model.save(os.path.join(outdir, f"{name}.h5"))
        model.save_weights(os.path.join(outdir, f"{name}_weights.h5"))
        xs = [f(r) for f in make_x]
        ys = model.predict(_one(xs))
        ys = ys if isinstance(ys, list) else [ys]
        arrays = {f"x{i}": x for i, x in enumerate(xs)}
        arrays.update({f"y{i}": y for i, y in enumerate(ys)})
        if not dropout:
            txs, tys = [f(r) for f in make_x], [f(r) for f in make_y]
            loss = model.train_on_batch(_one(txs), _one(tys))
            arrays.update({f"tx{i}": x for i, x in enumerate(txs)})
            arrays.update({f"ty{i}": y for i, y in enumerate(tys)})
            arrays.update({f"after{i:02d}": w for i, w in enumerate(model.get_weights())})
            arrays["step_loss"] = np.atleast_1d(np.asarray(loss, np.float32))
        np.savez_compressed(os.path.join(outdir, f"{name}.npz"), **arrays)
        print("wrote", name)


# ---- tf_keras side --------------------------------------------------------------
def _arrays(d, prefix):
    keys = sorted(k for k in d.files if k.startswith(prefix) and k[len(prefix):].isdigit())
    return _one([d[k] for k in keys])


def check(outdir):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import logging

    import tf_keras
    messages = []

    class Grab(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logging.getLogger("tensorflow").addHandler(Grab())
    failed = False
    for name in FAMILIES:
        path = os.path.join(outdir, f"{name}.h5")
        if not os.path.exists(path):
            continue
        d = np.load(os.path.join(outdir, f"{name}.npz"))
        messages.clear()
        try:
            model = tf_keras.models.load_model(path)
        except Exception as e:  # noqa: BLE001 - a report, not a library
            print(f"{name:14s} LOAD FAILED: {type(e).__name__}: {str(e)[:300]}")
            failed = True
            continue
        opt_warn = [m for m in messages if "optimizer" in m.lower()]
        ys = model.predict(_arrays(d, "x"), verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        expected = [d[k] for k in sorted(k for k in d.files if k[0] == "y")]
        pred_err = max(float(np.max(np.abs(np.asarray(a) - b)))
                       for a, b in zip(ys, expected))
        pred_ok = len(ys) == len(expected) and pred_err <= 1e-5
        failed |= not pred_ok
        opt = model.optimizer
        kind = "legacy" if "legacy" in type(opt).__module__ else "new"
        state = (f"{kind} {type(opt).__name__} iterations={int(opt.iterations.numpy())}"
                 + (" STATE NOT RESTORED" if opt_warn else " state restored"))
        step = ""
        if "after00" in d.files:
            loss = model.train_on_batch(_arrays(d, "tx"), _arrays(d, "ty"))
            after = [d[k] for k in sorted(k for k in d.files if k.startswith("after"))]
            w = model.get_weights()
            rel = max(float(np.max(np.abs(a - b) / (np.abs(b) + 1e-3)))
                      for a, b in zip(w, after))
            step = (f"; one more step: max rel diff {rel:.1e}"
                    f" (loss {float(np.ravel(loss)[0]):.6f} vs ckeras "
                    f"{float(d['step_loss'][0]):.6f})")
        fresh = tf_keras.models.load_model(path, compile=False)
        fresh.load_weights(os.path.join(outdir, f"{name}_weights.h5"))
        wy = fresh.predict(_arrays(d, "x"), verbose=0)
        wy = wy if isinstance(wy, list) else [wy]
        w_ok = all(np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(wy, expected))
        failed |= not w_ok
        print(f"{name:14s} loads; predictions {'equal' if pred_ok else 'DIFFER'} "
              f"(max abs diff {pred_err:.1e}); {state}{step}; save_weights file "
              f"{'loads' if w_ok else 'DIFFERS'}"
              + (f"; tf_keras said: {opt_warn[0][:120]}" if opt_warn else ""))
    return 1 if failed else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        write(sys.argv[2])
        return 0
    return check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
