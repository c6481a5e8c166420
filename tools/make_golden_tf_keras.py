"""Writes the golden files of tests/data/tf_keras/ with real tf_keras and
Keras 2 (NOT part of the tests; TensorFlow is not needed to run them).

Run with a Python that has TensorFlow (outside the project venv):

    python3 -m venv /work/tfenv
    /work/tfenv/bin/pip install "tensorflow-cpu==2.15.*" "tf_keras==2.15.*" h5py
    /work/tfenv/bin/python tools/make_golden_tf_keras.py [OUTDIR]

For each small model (fixed seeds, tiny sizes) it compiles, trains two
steps so the optimizer state exists, then writes

- ``<name>.h5``: ``model.save(path, save_format='h5')`` (architecture,
  weights, training config, optimizer state);
- ``<name>_weights.h5`` for some: ``model.save_weights(path, save_format='h5')``;
- ``<name>.npz``: ``x0, x1...`` inputs and ``y0, y1...`` the predictions of
  the saved model on them; for models without dropout also one more
  training batch (``tx*``, ``ty*``) and ``after*``: every weight of the
  model (``model.get_weights()`` order) after one more ``train_on_batch``
  on it, so a loader can check that the optimizer state resumes exactly.

``tf_keras_*`` files come from ``tf_keras`` (the Keras 2 that TF >= 2.16
uses), ``keras_*`` from ``keras`` 2.15 (= ``tf.keras`` in TF 2.15, the
last standalone Keras 2.x). New-style optimizers (``Custom>Adam`` config,
variables ``iteration``, ``Adam/m/...`` interleaved) and legacy ones
(``tf_keras.optimizers.legacy``: ``Adam/iter``, all m then all v) both
appear.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.experimental.enable_op_determinism()


def _rng(seed):
    return np.random.default_rng(seed)


def models(keras):
    """{name: (build() -> compiled model, inputs(rng) -> list, targets(rng) -> list,
    no_step (dropout, or state tf_keras cannot resume)?, save_weights?)} for the
    layers and optimizers ckeras has."""
    L, O = keras.layers, keras.optimizers
    legacy = keras.optimizers.legacy

    def mlp():
        m = keras.Sequential([L.Dense(5, activation="relu", input_shape=(4,)),
                              L.Dropout(0.25), L.ActivityRegularization(l1=0.01),
                              L.Dense(3), L.Activation("softmax")])
        m.compile(O.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                  "categorical_crossentropy", metrics=["accuracy"])
        return m

    def reshape():
        m = keras.Sequential([L.InputLayer(input_shape=(6,)), L.Reshape((2, 3)),
                              L.Permute((2, 1)), L.Flatten(), L.RepeatVector(2),
                              L.Flatten(), L.Dense(3, activation="tanh"), L.Dense(2)])
        m.compile(O.Adam(learning_rate=0.01), "mse", metrics=["mae"])
        return m

    def conv2d():
        x = L.Input((6, 6, 2), name="image")
        h = L.ZeroPadding2D(1)(x)
        h = L.Conv2D(3, 3, activation="relu", name="conv_a")(h)
        h = L.MaxPooling2D(2)(h)
        h = L.UpSampling2D(2)(h)
        h = L.Cropping2D(((1, 0), (0, 1)))(h)
        h = L.Conv2D(2, (2, 3), strides=(1, 1), padding="same",
                     kernel_initializer="he_normal", name="conv_b")(h)
        h = L.AveragePooling2D(2)(h)
        y = L.concatenate([L.GlobalAveragePooling2D()(h), L.GlobalMaxPooling2D()(h),
                           L.Flatten()(h)])
        y = L.Dense(2, activation="softmax")(y)
        m = keras.Model(x, y)
        m.compile(O.RMSprop(learning_rate=0.01), "categorical_crossentropy",
                  metrics=["accuracy"])
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
        y = L.Dense(1)(y)
        m = keras.Model(x, y)
        m.compile(legacy.Adam(learning_rate=0.01), "mse")
        return m

    def embedding_rnn():
        x = L.Input((5,), dtype="int32")
        h = L.Embedding(10, 4, mask_zero=True)(x)
        h = L.LSTM(3, return_sequences=True)(h)
        h = L.GRU(3, reset_after=False, return_sequences=True)(h)
        h = L.SimpleRNN(2)(h)
        y = L.Dense(1, activation="sigmoid")(h)
        m = keras.Model(x, y)
        m.compile(legacy.RMSprop(learning_rate=0.01), "binary_crossentropy",
                  metrics=["accuracy"])
        return m

    def bidirectional():
        m = keras.Sequential([
            L.Masking(0.0, input_shape=(4, 3)),
            L.Bidirectional(L.LSTM(2, return_sequences=True)),
            L.TimeDistributed(L.Dense(2, activation="relu")),
            L.Bidirectional(L.GRU(2, reset_after=False), merge_mode="sum"),
            L.Dense(2)])
        m.compile(O.Adam(learning_rate=0.01), "mse")
        return m

    def multi_io():
        a = L.Input((4,), name="in_a")
        b = L.Input((3,), name="in_b")
        ha = L.Dense(3, activation="relu", name="da")(a)
        hb = L.Dense(3, activation="tanh", name="db")(b)
        merged = L.concatenate([ha, hb, L.add([ha, hb]), L.subtract([ha, hb]),
                                L.multiply([ha, hb]), L.average([ha, hb]),
                                L.maximum([ha, hb]), L.minimum([ha, hb]),
                                L.dot([ha, hb], axes=1, normalize=True)])
        out1 = L.Dense(2, activation="softmax", name="out1")(merged)
        out2 = L.Dense(1, name="out2")(L.add([ha, hb]))
        m = keras.Model([a, b], [out1, out2])
        m.compile(legacy.SGD(learning_rate=0.05, momentum=0.9),
                  loss={"out1": "categorical_crossentropy", "out2": "mse"},
                  loss_weights={"out1": 1.0, "out2": 0.5}, metrics={"out1": "accuracy"})
        return m

    def nested():
        inner = keras.Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                                  L.Dense(3)], name="inner")
        x = L.Input((5,))
        h = L.Dense(3, activation="sigmoid", name="pre",
                    kernel_regularizer=keras.regularizers.L2(0.01),
                    bias_regularizer=keras.regularizers.L1(0.01),
                    kernel_constraint=keras.constraints.MaxNorm(2.0))(x)
        y = L.Dense(2, name="post")(inner(h))
        m = keras.Model(x, y)
        m.compile(O.Adam(learning_rate=0.01), "mse")
        return m

    def gru_reset_after():
        m = keras.Sequential([L.GRU(3, input_shape=(4, 2)), L.Dense(1)])
        m.compile(O.SGD(0.01), "mse")
        return m

    def dense_with(make_optimizer):
        def build():
            m = keras.Sequential([L.Dense(2, input_shape=(3,))])
            m.compile(make_optimizer(), "mse")
            return m
        return build

    def floats(*shape):
        return lambda r: r.standard_normal(shape).astype("float32")

    def onehot(n, k):
        return lambda r: np.eye(k, dtype="float32")[r.integers(0, k, n)]

    def ints(n, t, vocab):
        def make(r):
            x = r.integers(1, vocab, (n, t)).astype("int32")
            for i in range(1, n):  # trailing padding, masked by mask_zero
                x[i, t - i % t:] = 0
            return x
        return make

    def masked(n, t, d):
        def make(r):
            x = r.standard_normal((n, t, d)).astype("float32")
            x[1, 2:] = 0.0
            x[2, 3:] = 0.0
            return x
        return make

    return {
        "mlp": (mlp, [floats(6, 4)], [onehot(6, 3)], True, True),
        "reshape": (reshape, [floats(5, 6)], [floats(5, 2)], False, False),
        "conv2d": (conv2d, [floats(4, 6, 6, 2)], [onehot(4, 2)], False, False),
        "conv1d": (conv1d, [floats(4, 8, 2)], [floats(4, 1)], False, False),
        "embedding_rnn": (embedding_rnn, [ints(5, 5, 10)],
                          [lambda r: r.integers(0, 2, (5, 1)).astype("float32")],
                          False, False),
        "bidirectional": (bidirectional, [masked(4, 4, 3)], [floats(4, 2)], False, False),
        "multi_io": (multi_io, [floats(5, 4), floats(5, 3)],
                     [onehot(5, 2), floats(5, 1)], False, True),
        "nested": (nested, [floats(4, 5)], [floats(4, 2)], False, True),
        "opt_adagrad": (dense_with(lambda: O.Adagrad(0.1)), [floats(4, 3)],
                        [floats(4, 2)], False, False),
        "opt_adadelta": (dense_with(lambda: O.Adadelta(1.0)), [floats(4, 3)],
                         [floats(4, 2)], False, False),
        "opt_adamax": (dense_with(lambda: O.Adamax(0.01)), [floats(4, 3)],
                       [floats(4, 2)], False, False),
        # no step check: the new Nadam does not save its momentum product
        # (u_product), so not even tf_keras resumes it exactly
        "opt_nadam": (dense_with(lambda: O.Nadam(0.01)), [floats(4, 3)],
                      [floats(4, 2)], True, False),
        "opt_legacy_adagrad": (dense_with(lambda: legacy.Adagrad(0.1)), [floats(4, 3)],
                               [floats(4, 2)], False, False),
        "opt_legacy_nadam": (dense_with(lambda: legacy.Nadam(0.01)), [floats(4, 3)],
                             [floats(4, 2)], False, False),
        "gru_reset_after": (gru_reset_after, [floats(3, 4, 2)], [floats(3, 1)], False,
                            False),
    }


def _one(arrays):
    return arrays[0] if len(arrays) == 1 else arrays


def write(keras, prefix, names, outdir):
    for name, (build, make_x, make_y, no_step, save_weights) in models(keras).items():
        if names and name not in names:
            continue
        keras.utils.set_random_seed(0)
        model = build()
        r = _rng(1)
        for _ in range(2):
            model.train_on_batch(_one([f(r) for f in make_x]), _one([f(r) for f in make_y]))
        path = os.path.join(outdir, f"{prefix}{name}.h5")
        model.save(path, save_format="h5")
        if save_weights:
            model.save_weights(os.path.join(outdir, f"{prefix}{name}_weights.h5"),
                               save_format="h5")
        arrays = {}
        xs = [f(r) for f in make_x]
        ys = model.predict(_one(xs), verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        arrays.update({f"x{i}": x for i, x in enumerate(xs)})
        arrays.update({f"y{i}": np.asarray(y, np.float32) for i, y in enumerate(ys)})
        if not no_step:
            txs, tys = [f(r) for f in make_x], [f(r) for f in make_y]
            loss = model.train_on_batch(_one(txs), _one(tys))
            arrays.update({f"tx{i}": x for i, x in enumerate(txs)})
            arrays.update({f"ty{i}": y for i, y in enumerate(tys)})
            arrays.update({f"after{i:02d}": w for i, w in enumerate(model.get_weights())})
            arrays["step_loss"] = np.atleast_1d(np.asarray(loss, np.float32))
        np.savez_compressed(os.path.join(outdir, f"{prefix}{name}.npz"), **arrays)
        print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data",
        "tf_keras")
    os.makedirs(outdir, exist_ok=True)
    import keras as keras2
    import tf_keras
    write(tf_keras, "tf_keras_", None, outdir)
    write(keras2, "keras_", {"mlp"}, outdir)
    with open(os.path.join(outdir, "VERSIONS.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                   "keras": keras2.__version__, "numpy": np.__version__,
                   "h5py": __import__("h5py").__version__}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
