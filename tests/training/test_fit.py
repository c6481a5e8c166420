"""compile/fit/evaluate/*_on_batch/generators with Keras 2 semantics."""
import numpy as np
import pytest

import ckeras
from ckeras import backend as K
from ckeras import callbacks, losses
from ckeras.layers import Dense, Dropout, Input, concatenate
from ckeras.models import Model, Sequential
from ckeras.utils import Sequence, to_categorical


def _data(n=64, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype(np.float32)
    y = to_categorical(rng.integers(0, classes, n), classes)
    return x, y


def _mlp(d=5, classes=3, act="softmax", dropout=0.0):
    K.set_random_seed(0)
    layers = [Dense(8, activation="relu", input_dim=d)]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(classes, activation=act, name="out"))
    return Sequential(layers)


def _two_output_model():
    K.set_random_seed(0)
    a = Input(shape=(4,), name="main_input")
    b = Input(shape=(3,), name="aux_input")
    h = Dense(6, activation="relu")(a)
    aux = Dense(1, activation="sigmoid", name="aux_output")(h)
    main = Dense(1, activation="sigmoid", name="main_output")(
        Dense(5, activation="relu")(concatenate([h, b])))
    return Model(inputs=[a, b], outputs=[main, aux])


def test_fit_returns_history_with_keras_keys_and_reduces_loss():
    np.random.seed(0)
    x, y = _data(200)
    model = _mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    assert model.metrics_names == ["loss", "acc"]
    h = model.fit(x, y, epochs=8, batch_size=32, verbose=0, validation_split=0.25)
    assert set(h.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert h.epoch == list(range(8))
    assert h.history["loss"][-1] < h.history["loss"][0]
    # val = the last 25 %, evaluated after each epoch
    assert h.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[150:], y[150:], verbose=0)[0], rel=1e-5)


def test_evaluate_weights_batches_by_size():
    x, y = _data(50)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    full = model.evaluate(x, y, batch_size=50, verbose=0)
    small = model.evaluate(x, y, batch_size=16, verbose=0)  # 16, 16, 16, 2
    np.testing.assert_allclose(small, full, rtol=1e-5)
    p = model.predict(x)
    want = np.mean(-np.log(np.clip((p * y).sum(-1), 1e-7, 1)))
    assert full[0] == pytest.approx(want, rel=1e-5)
    assert full[1] == pytest.approx(np.mean(p.argmax(1) == y.argmax(1)))


@pytest.mark.parametrize("loss,act,metric,fn_name", [
    ("categorical_crossentropy", "softmax", "accuracy", "categorical_accuracy"),
    ("sparse_categorical_crossentropy", "softmax", "acc", "sparse_categorical_accuracy"),
    ("binary_crossentropy", "sigmoid", "accuracy", "binary_accuracy"),
    ("mse", "linear", "acc", "binary_accuracy"),
])
def test_accuracy_resolution(loss, act, metric, fn_name):
    classes = 1 if loss == "mse" else 3
    model = _mlp(classes=classes, act=act)
    model.compile("rmsprop", loss, metrics=[metric])
    assert model._metric_fns[0][1].__name__ == fn_name
    assert model.metrics_names == ["loss", "acc"]


def test_metric_names_functions_and_strings():
    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)
    model = _mlp()
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy", mean_pred, "mae"])
    assert model.metrics_names == ["loss", "acc", "mean_pred", "mean_absolute_error"]
    x, y = _data(32)
    loss, acc, mp, mae = model.evaluate(x, y, verbose=0)
    p = model.predict(x)
    assert mp == pytest.approx(p.mean(), rel=1e-5)
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-5)


def test_multi_output_names_and_weighted_sum():
    model = _two_output_model()
    model.compile(optimizer="rmsprop",
                  loss={"main_output": "binary_crossentropy", "aux_output": "mse"},
                  loss_weights={"main_output": 1., "aux_output": 0.2},
                  metrics={"main_output": ["acc"], "aux_output": "acc"})
    assert model.metrics_names == ["loss", "main_output_loss", "aux_output_loss",
                                   "main_output_acc", "aux_output_acc"]
    rng = np.random.default_rng(0)
    xa, xb = rng.random((20, 4)), rng.random((20, 3))
    y = rng.integers(0, 2, (20, 1)).astype(np.float32)
    total, main_l, aux_l, _, _ = model.evaluate({"main_input": xa, "aux_input": xb},
                                                {"main_output": y, "aux_output": y},
                                                verbose=0)
    assert total == pytest.approx(main_l + 0.2 * aux_l, rel=1e-5)
    pm, pa = model.predict([xa, xb])
    assert aux_l == pytest.approx(np.mean((pa - y) ** 2), rel=1e-5)
    # list form: same numbers
    model.compile("rmsprop", ["binary_crossentropy", "mse"], loss_weights=[1., 0.2])
    assert model.evaluate([xa, xb], [y, y], verbose=0)[0] == pytest.approx(total, rel=1e-6)
    h = model.fit([xa, xb], [y, y], epochs=3, batch_size=8, verbose=0)
    assert set(h.history) == {"loss", "main_output_loss", "aux_output_loss"}


def test_sample_weight_and_class_weight_change_the_loss_like_keras():
    x, y = _data(12)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    per = np.asarray(losses.categorical_crossentropy(y, model.predict(x)))
    w = np.arange(12, dtype=np.float32) % 3  # zeros count in Keras's normalisation
    got = model.evaluate(x, y, sample_weight=w, batch_size=12, verbose=0)
    assert got == pytest.approx(np.mean(per * w) / np.mean(w != 0), rel=1e-5)
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    wc = np.array([cw[c] for c in y.argmax(1)], np.float32)
    before = [v.copy() for v in model.get_weights()]
    a = model.train_on_batch(x, y, class_weight=cw)
    assert a == pytest.approx(np.mean(per * wc), rel=1e-5)
    model.set_weights(before)
    assert model.train_on_batch(x, y, sample_weight=wc) == pytest.approx(a, rel=1e-6)


def test_lean_and_tape_paths_agree():
    """The fused-kernel step (softmax cross-entropy on the logits) and the
    tape step (K ops: normalise, clip, log) train to the same weights."""
    x, y = _data(40)
    w = np.random.default_rng(3).random(40).astype(np.float32)
    for loss, act, yy in [("categorical_crossentropy", "softmax", y),
                          ("binary_crossentropy", "sigmoid", y),
                          ("mse", "tanh", y),
                          ("sparse_categorical_crossentropy", "softmax",
                           y.argmax(1)[:, None].astype(np.float32))]:
        models = []
        for lean in (True, False):
            m = _mlp(act=act)
            m.compile(ckeras.optimizers.SGD(lr=0.5, momentum=0.9), loss, metrics=["acc"])
            if not lean:
                m._lean_checked, m._lean = True, None
            else:
                assert m._lean_step() is not None
            models.append(m)
        models[1].set_weights(models[0].get_weights())
        for _ in range(4):
            ra = models[0].train_on_batch(x, yy, sample_weight=w)
            rb = models[1].train_on_batch(x, yy, sample_weight=w)
            np.testing.assert_allclose(ra, rb, rtol=1e-5, atol=1e-6)
        for a, b in zip(models[0].get_weights(), models[1].get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_custom_loss_trains_through_the_tape():
    def my_mse(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true), axis=-1)
    x, y = _data(64)
    model = _mlp(act="linear")
    model.compile("adam", my_mse)
    assert model._lean_step() is None
    h = model.fit(x, y, epochs=10, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_regularizers_add_to_the_loss():
    x, y = _data(16)
    K.set_random_seed(0)
    model = Sequential([Dense(3, activation="softmax", input_dim=5,
                              kernel_regularizer=ckeras.regularizers.l2(0.1))])
    model.compile("sgd", "categorical_crossentropy")
    base = np.mean(np.asarray(losses.categorical_crossentropy(y, model.predict(x))))
    reg = 0.1 * np.sum(model.get_weights()[0] ** 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(base + reg, rel=1e-5)


def test_train_test_predict_on_batch_and_dicts():
    a = Input(shape=(5,), name="inp")
    out = Dense(3, activation="softmax", name="probs")(a)
    model = Model(inputs=a, outputs=out)
    model.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    x, y = _data(10)
    r = model.train_on_batch({"inp": x}, {"probs": y})
    assert len(r) == 2
    assert model.test_on_batch(x, y)[0] == pytest.approx(
        model.evaluate(x, y, batch_size=10, verbose=0)[0], rel=1e-6)
    assert model.predict_on_batch(x).shape == (10, 3)


def test_shuffle_false_and_initial_epoch_and_verbose_output(capsys):
    x, y = _data(40)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, shuffle=False, verbose=1)
    assert h.epoch == [1, 2]
    out = capsys.readouterr().out
    assert "Epoch 2/3" in out and "40/40" in out and "acc:" in out
    model.fit(x, y, epochs=1, verbose=2, validation_data=(x, y))
    assert "val_loss" in capsys.readouterr().out


def test_nan_loss_terminate_on_nan_and_history_without_it():
    x, y = _data(32)
    x[5] = np.nan
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    h = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert np.isnan(h.history["loss"]).all()
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    h = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[callbacks.TerminateOnNaN()])
    assert len(h.epoch) == 1


def test_callbacks_see_lr_and_early_stopping():
    x, y = _data(32)
    model = _mlp()
    model.compile(ckeras.optimizers.SGD(lr=0.1), "categorical_crossentropy")
    seen = []
    sched = callbacks.LearningRateScheduler(lambda e: 0.1 / (e + 1))
    log = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(float(K.get_value(model.optimizer.lr))))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, log])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    es = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100)
    h = model.fit(x, y, epochs=10, verbose=0, callbacks=[es])
    assert len(h.epoch) == 2


class _Batches(Sequence):
    def __init__(self, x, y, bs):
        self.x, self.y, self.bs = x, y, bs

    def __len__(self):
        return int(np.ceil(len(self.x) / self.bs))

    def __getitem__(self, i):
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


def test_generators_and_sequences():
    x, y = _data(40)
    model = _mlp()
    model.compile("adam", "categorical_crossentropy", metrics=["acc"])

    def gen():
        while True:
            for i in range(0, 40, 10):
                yield x[i:i + 10], y[i:i + 10]
    h = model.fit_generator(gen(), steps_per_epoch=4, epochs=3, verbose=0,
                            validation_data=_Batches(x, y, 16))
    assert set(h.history) == {"loss", "acc", "val_loss", "val_acc"}
    h = model.fit_generator(_Batches(x, y, 16), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    ev = model.evaluate_generator(_Batches(x, y, 16))  # batches 16, 16, 8
    np.testing.assert_allclose(ev, model.evaluate(x, y, verbose=0), rtol=1e-5)
    p = model.predict_generator(((x[i:i + 10],) for i in range(0, 40, 10)), steps=4)
    np.testing.assert_allclose(p, model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit_generator(gen(), epochs=1)


def test_fit_with_steps_per_epoch():
    x, y = _data(20)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    h = model.fit(x, y, steps_per_epoch=3, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
