"""Files written by real tf_keras 2.15 and Keras 2.15 (tests/data/tf_keras/,
made by tools/make_golden_tf_keras.py; TensorFlow is not needed here) load
in ckeras, predict what tf_keras predicted, resume training with the saved
optimizer state (one more step gives tf_keras' weights), and their
weights load into the same models built with ckeras."""
import glob
import os
import shutil
import sys
import warnings

import h5py
import numpy as np
import pytest

from ckeras import backend as K
from ckeras.layers import (ActivityRegularization, Activation, Add, Average, Dense,
                           Dropout, Input, Maximum, Minimum, Multiply, Subtract,
                           concatenate, dot)
from ckeras.models import Model, ModelFileError, Sequential, load_model

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    "tf_keras")
FILES = sorted(p for p in glob.glob(os.path.join(DATA, "*.h5"))
               if not p.endswith("_weights.h5"))
STEPPED = [p for p in FILES if "after00" in np.load(p[:-3] + ".npz")]


def _ids(paths):
    return [os.path.basename(p)[:-3] for p in paths]


def _npz(path):
    return np.load(path[:-3] + ".npz")


def _arrays(d, prefix):
    keys = sorted(k for k in d.files if k.startswith(prefix) and k[len(prefix):].isdigit())
    arrays = [d[k] for k in keys]
    return arrays[0] if len(arrays) == 1 else arrays


def _load(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Error in loading the optimizer state"
        return load_model(path, **kwargs)


def _outputs(model, x):
    y = model.predict(x)
    return y if isinstance(y, list) else [y]


def test_golden_files_present():
    names = {os.path.basename(p) for p in FILES}
    assert len(FILES) >= 15 and "tf_keras_multi_io.h5" in names and \
        "keras_mlp.h5" in names and "tf_keras_opt_legacy_nadam.h5" in names
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(DATA, "*")))
    assert total < 1_000_000


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_loads_and_predicts_like_tf_keras(path):
    d = _npz(path)
    model = _load(path)
    assert model.optimizer is not None  # compiled from the training config
    expected = [d[k] for k in sorted(k for k in d.files if k[0] == "y")]
    got = _outputs(model, _arrays(d, "x"))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", STEPPED, ids=_ids(STEPPED))
def test_optimizer_state_resumes_like_tf_keras(path):
    """One more train_on_batch from the loaded state gives the weights
    tf_keras had after the same step (so the state, its order and the
    iteration count were restored)."""
    d = _npz(path)
    model = _load(path)
    assert int(model.optimizer.iterations.value) == 2
    loss = model.train_on_batch(_arrays(d, "tx"), _arrays(d, "ty"))
    np.testing.assert_allclose(np.ravel(loss)[0], d["step_loss"][0], rtol=1e-5)
    after = [d[k] for k in sorted(k for k in d.files if k.startswith("after"))]
    got = model.get_weights()
    assert len(got) == len(after)
    for g, e in zip(got, after):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_optimizer_weights_match_file(path):
    """Every saved optimizer array is in ckeras' optimizer.get_weights(),
    each used once; the rest are Keras 2's (1,) Adam placeholders."""
    model = _load(path)
    opt = model.optimizer
    with h5py.File(path, "r") as f:
        g = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in g.attrs["weight_names"]]
        saved = [g[n][()] for n in names]
    mine = opt.get_weights()
    n_params = len(model.trainable_weights)
    cls = type(opt).__name__
    slots = {"SGD": 1, "RMSprop": 1, "Adagrad": 1, "Adadelta": 2, "Adam": 3, "Adamax": 2,
             "Nadam": 2}[cls]
    with_iterations = cls not in ("RMSprop", "Adagrad", "Adadelta")
    assert len(mine) == with_iterations + slots * n_params
    assert int(saved[0]) == 2 and saved[0].shape == ()
    assert int(opt.iterations.value) == 2
    if cls == "Nadam" and names[1].endswith("momentum_cache:0"):  # legacy tf.keras
        assert float(opt.m_schedule.value) == float(saved[1])
        names, saved = names[1:], saved[1:]
    unused = list(range(len(mine)))
    for name, a in zip(names[1:], saved[1:]):
        hit = [i for i in unused if mine[i].shape == a.shape and np.array_equal(mine[i], a)]
        assert hit, f"{name} not in the loaded optimizer state"
        unused.remove(hit[0])
    assert all(mine[i].shape in ((), (1,)) for i in unused)


def _ckeras_mlp():
    return Sequential([Dense(5, activation="relu", input_shape=(4,)), Dropout(0.25),
                       ActivityRegularization(l1=0.01), Dense(3),
                       Activation("softmax")])


def _ckeras_multi_io():
    a, b = Input((4,), name="in_a"), Input((3,), name="in_b")
    ha = Dense(3, activation="relu", name="da")(a)
    hb = Dense(3, activation="tanh", name="db")(b)
    merged = concatenate([ha, hb, Add()([ha, hb]), Subtract()([ha, hb]),
                          Multiply()([ha, hb]), Average()([ha, hb]),
                          Maximum()([ha, hb]), Minimum()([ha, hb]),
                          dot([ha, hb], axes=1, normalize=True)])
    out1 = Dense(2, activation="softmax", name="out1")(merged)
    out2 = Dense(1, name="out2")(Add()([ha, hb]))
    return Model([a, b], [out1, out2])


def _ckeras_nested():
    inner = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(3)],
                       name="inner")
    x = Input((5,))
    y = Dense(2, name="post")(inner(Dense(3, activation="sigmoid", name="pre")(x)))
    return Model(x, y)


BUILDERS = {"tf_keras_mlp": _ckeras_mlp, "keras_mlp": _ckeras_mlp,
            "tf_keras_multi_io": _ckeras_multi_io, "tf_keras_nested": _ckeras_nested}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("which", ["weights", "model"])
def test_load_weights_into_ckeras_model(name, which):
    """save_weights files and the model_weights of model.save files load into
    the same architecture built with ckeras, topologically; by_name too
    when the layer names agree (multi_io and nested name their layers)."""
    d = _npz(os.path.join(DATA, name + ".h5"))
    path = os.path.join(DATA, name + ("_weights.h5" if which == "weights" else ".h5"))
    K.set_random_seed(1)
    model = BUILDERS[name]()
    model.load_weights(path)
    for g, e in zip(_outputs(model, _arrays(d, "x")),
                    [d[k] for k in sorted(k for k in d.files if k[0] == "y")]):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    if name in ("tf_keras_multi_io", "tf_keras_nested"):
        fresh = BUILDERS[name]()
        fresh.load_weights(path, by_name=True)
        for a, b in zip(fresh.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_gru_reset_after_file_loads_as_reset_after_gru():
    """tf.keras 2's GRU default (reset_after=True, bias (2, 3U)); the
    generic tests above check its predictions and training step."""
    model = _load(os.path.join(DATA, "tf_keras_gru_reset_after.h5"))
    grus = [layer for layer in model.layers if type(layer).__name__ == "GRU"]
    assert grus and all(g.reset_after for g in grus)
    assert all(g.bias.value.shape == (2, 3 * g.units) for g in grus)


def test_bytes_attributes_and_keras_version(tmp_path):
    """tf.keras writes str attributes, older Keras bytes: both read."""
    path = str(tmp_path / "m.h5")
    shutil.copy(os.path.join(DATA, "tf_keras_nested.h5"), path)
    with h5py.File(path, "r+") as f:
        assert isinstance(f.attrs["keras_version"], str)
        for key in ("keras_version", "backend", "model_config", "training_config"):
            f.attrs[key] = np.bytes_(f.attrs[key].encode())
    d = _npz(os.path.join(DATA, "tf_keras_nested.h5"))
    np.testing.assert_allclose(_load(path).predict(d["x0"]), d["y0"], rtol=1e-5,
                               atol=1e-6)


def test_no_tensorflow_needed():
    assert "tensorflow" not in sys.modules and "tf_keras" not in sys.modules


# ---- layouts and config variants without a golden file of their own ----------------
def _dense_model(opt):
    K.set_random_seed(0)
    m = Sequential([Dense(3, activation="tanh", input_shape=(4,)), Dense(2)])
    m.compile(opt, "mse")
    return m


def _batch(seed):
    r = np.random.default_rng(seed)
    return r.standard_normal((5, 4)).astype("float32"), \
        r.standard_normal((5, 2)).astype("float32")


def test_nadam_file_has_tf_keras_momentum_cache_and_old_layout_loads(tmp_path):
    """ckeras writes Nadam as legacy tf.keras does ([iterations,
    momentum_cache, m..., v...]); a Keras 2.2 file ([iterations, m..., v...],
    no cache) still restores the slots."""
    from ckeras import optimizers
    model = _dense_model(optimizers.Nadam())
    for s in range(2):
        model.train_on_batch(*_batch(s))
    path = str(tmp_path / "nadam.h5")
    model.save(path)
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
    assert names[:2] == ["Nadam/iterations:0", "Nadam/momentum_cache:0"]
    assert len(names) == 2 + 2 * 4
    reference = load_model(path)
    reference.train_on_batch(*_batch(5))
    with h5py.File(path, "r+") as f:  # the Keras 2.2 layout
        g = f["optimizer_weights"]
        del g[names[1]]
        g.attrs["weight_names"] = [n.encode() for n in names[:1] + names[2:]]
    old = _load(path)
    assert int(old.optimizer.iterations.value) == 2
    old.train_on_batch(*_batch(5))
    for a, b in zip(old.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)  # m_schedule from ckeras_extra_state


def test_gru_config_says_reset_after_false():
    from ckeras.layers import GRU
    assert GRU(2).get_config()["reset_after"] is False
    assert GRU.from_config(GRU(2).get_config()).reset_after is False
    assert GRU.from_config(GRU(2, reset_after=True).get_config()).reset_after is True


def test_adagrad_initial_accumulator_value():
    from ckeras import optimizers
    opt = optimizers.Adagrad(initial_accumulator_value=0.1)
    model = _dense_model(opt)
    model.train_on_batch(*_batch(0))
    assert opt.get_config()["initial_accumulator_value"] == 0.1
    assert all(np.all(a >= 0.1) for a in opt.get_weights())
    assert "initial_accumulator_value" not in optimizers.Adagrad().get_config()


@pytest.mark.parametrize("cls,key,value", [("Conv2D", "groups", 2),
                                           ("GlobalMaxPooling1D", "keepdims", True),
                                           ("LSTM", "time_major", True)])
def test_tf2_only_options_refused_unless_default(cls, key, value):
    from ckeras.engine.saving_compat import normalize_config
    config = {"class_name": cls, "config": {"name": "x", key: value}}
    with pytest.raises(ValueError, match=f"{key}={value!r} is not supported"):
        normalize_config(config)
    default = {"groups": 1, "keepdims": False, "time_major": False}[key]
    assert key not in normalize_config(
        {"class_name": cls, "config": {"name": "x", key: default}})["config"]


def test_new_optimizer_config_read_as_keras2():
    from ckeras.engine.saving_compat import normalize_optimizer_config
    config = normalize_optimizer_config({"class_name": "Custom>RMSprop", "config": {
        "name": "RMSprop", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": 100, "jit_compile": True, "is_legacy_optimizer": False,
        "learning_rate": 0.01, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07,
        "centered": False}})
    assert config == {"class_name": "RMSprop", "config": {
        "learning_rate": 0.01, "rho": 0.9, "epsilon": 1e-07}}
