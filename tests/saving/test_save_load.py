"""model.save / load_model, save_weights / load_weights, JSON and YAML:
Keras 2's HDF5 layout, exact resumption of training, custom objects,
safe mode and clear errors."""
import json

import h5py
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import optimizers
from ckeras.layers import Dense, Dropout, Input, Lambda, concatenate
from ckeras.models import (Model, ModelFileError, Sequential, load_model,
                           model_from_config, model_from_json, model_from_yaml,
                           save_model)

pytestmark = pytest.mark.filterwarnings("ignore:No training configuration")


def _data(n=32, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]
    return x, y


def _mlp(d=6, classes=3):
    K.set_random_seed(0)
    return Sequential([Dense(16, activation="relu", input_shape=(d,)), Dropout(0.0),
                       Dense(classes, activation="softmax")])


def _functional():
    K.set_random_seed(0)
    a, b = Input(shape=(6,), name="a"), Input(shape=(4,), name="b")
    h = concatenate([Dense(8, activation="tanh", name="da")(a),
                     Dense(8, activation="relu", name="db")(b)])
    out = Dense(3, activation="softmax", name="out")(h)
    return Model(inputs=[a, b], outputs=out)


def _same(m1, m2):
    w1, w2 = m1.get_weights(), m2.get_weights()
    return len(w1) == len(w2) and all(np.array_equal(a, b) for a, b in zip(w1, w2))


@pytest.mark.parametrize("make_opt", [
    lambda: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True, decay=1e-3),
    lambda: optimizers.RMSprop(decay=1e-2),
    lambda: optimizers.Adam(lr=0.01),
    lambda: optimizers.Adagrad(decay=1e-2),
    lambda: optimizers.Nadam(),
], ids=["sgd_momentum", "rmsprop", "adam", "adagrad", "nadam"])
def test_resume_training_exactly(tmp_path, make_opt):
    x, y = _data()
    model = _mlp()
    model.compile(make_opt(), "categorical_crossentropy", metrics=["acc"])
    for _ in range(3):
        model.train_on_batch(x, y)
    path = tmp_path / "m.h5"
    model.save(path)
    again = load_model(path)
    assert type(again.optimizer) is type(model.optimizer)
    assert again.metrics_names == model.metrics_names
    assert _same(model, again)
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    for _ in range(2):
        assert model.train_on_batch(x, y) == again.train_on_batch(x, y)
    assert _same(model, again)
    for a, b in zip(model.optimizer.get_weights(), again.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_functional_generic_path(tmp_path):
    """Two inputs and a custom loss: the taped (non-lean) training path."""
    def my_loss(y_true, y_pred):
        return K.mean(K.square(y_true - y_pred), axis=-1)
    x, y = _data()
    xb = np.random.default_rng(1).standard_normal((32, 4)).astype(np.float32)
    model = _functional()
    model.compile(optimizers.Adam(lr=0.01), my_loss, metrics=["mae"], loss_weights=[0.5])
    model.train_on_batch([x, xb], y)
    save_model(model, str(tmp_path / "f.h5"))
    with pytest.raises(ModelFileError, match="my_loss.*custom_objects|custom_objects"):
        load_model(tmp_path / "f.h5")
    again = load_model(tmp_path / "f.h5", custom_objects={"my_loss": my_loss})
    assert again.loss is my_loss and again.loss_weights == [0.5]
    assert model.train_on_batch([x, xb], y) == again.train_on_batch([x, xb], y)
    assert _same(model, again)
    assert again.input_names == ["a", "b"]


def test_hdf5_layout_is_keras2s(tmp_path):
    x, y = _data()
    model = _mlp()
    model.compile(optimizers.SGD(momentum=0.9), "categorical_crossentropy")
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert f.attrs["keras_version"] == b"2.2.4"
        assert f.attrs["backend"] == b"tensorflow"
        config = json.loads(f.attrs["model_config"].decode("utf8"))
        assert config["class_name"] == "Sequential"
        training = json.loads(f.attrs["training_config"].decode("utf8"))
        assert training["optimizer_config"]["class_name"] == "SGD"
        assert training["loss"] == "categorical_crossentropy"
        assert set(training) >= {"metrics", "loss_weights", "sample_weight_mode"}
        g = f["model_weights"]
        names = [layer.name for layer in model.layers]
        assert [n.decode() for n in g.attrs["layer_names"]] == names
        assert g.attrs["backend"] == b"tensorflow" and "keras_version" in g.attrs
        dense = model.layers[0].name
        wn = [n.decode() for n in g[dense].attrs["weight_names"]]
        assert wn == [f"{dense}/kernel:0", f"{dense}/bias:0"]
        np.testing.assert_array_equal(g[dense][wn[0]][()], model.layers[0].get_weights()[0])
        assert len(g[model.layers[1].name].attrs["weight_names"]) == 0
        ow = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert ow[0] == "SGD/iterations:0" and len(ow) == 5
        assert f["optimizer_weights"][ow[0]][()] == 1


def test_uncompiled_and_without_optimizer(tmp_path):
    x, _ = _data()
    model = _mlp()
    model.save(tmp_path / "a.h5")
    with pytest.warns(UserWarning, match="No training configuration"):
        again = load_model(tmp_path / "a.h5")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    model.compile("rmsprop", "mse")
    model.save(tmp_path / "b.h5", include_optimizer=False)
    with h5py.File(tmp_path / "b.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    model.save(tmp_path / "c.h5")
    assert not getattr(load_model(tmp_path / "c.h5", compile=False), "_compiled", False)


def test_open_h5py_file_and_group(tmp_path):
    x, _ = _data()
    model = _mlp()
    with h5py.File(tmp_path / "m.h5", "w") as f:
        model.save(f)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        np.testing.assert_array_equal(load_model(f, compile=False).predict(x),
                                      model.predict(x))
    with h5py.File(tmp_path / "g.h5", "w") as f:
        save_model(model, f.create_group("inner"))
    with h5py.File(tmp_path / "g.h5", "r") as f:
        assert load_model(f["inner"]).count_params() == model.count_params()


def test_custom_layer_and_activation(tmp_path):
    def scaled_tanh(x):
        return K.tanh(x) * 2.0

    class Scale(Dense):
        pass

    K.set_random_seed(0)
    model = Sequential([Scale(4, activation=scaled_tanh, input_shape=(6,))])
    model.save(tmp_path / "m.h5")
    with pytest.raises(ModelFileError, match=r"Unknown layer: Scale.*custom_objects"):
        load_model(tmp_path / "m.h5")
    again = load_model(tmp_path / "m.h5", custom_objects={"Scale": Scale,
                                                          "scaled_tanh": scaled_tanh})
    x, _ = _data()
    np.testing.assert_allclose(again.predict(x), model.predict(x))


def test_lambda_refused_unless_opted_in(tmp_path):
    K.set_random_seed(0)
    model = Sequential([Dense(4, input_shape=(6,)), Lambda(lambda t: t * 3.0, name="tri")])
    x, _ = _data()
    model.save(tmp_path / "m.h5")
    with pytest.raises(ModelFileError, match="bytecode.*safe_mode=False"):
        load_model(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="bytecode"):
        model_from_json(model.to_json())
    for again in (load_model(tmp_path / "m.h5", safe_mode=False),
                  load_model(tmp_path / "m.h5", custom_objects={"tri": lambda t: t * 3.0})):
        np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert model_from_json(model.to_json(), safe_mode=False).count_params() == 28


def test_json_and_yaml(tmp_path):
    model = _functional()
    text = model.to_json()
    config = json.loads(text)
    assert set(config) == {"class_name", "config", "keras_version", "backend"}
    assert json.loads(model.to_json(indent=2)) == config
    for again in (model_from_json(text), model_from_yaml(model.to_yaml()),
                  model_from_config(config)):
        assert again.get_config() == model.get_config()
    seq = _mlp()
    assert model_from_yaml(seq.to_yaml()).get_config() == seq.get_config()


KERAS20_YAML = """\
backend: tensorflow
class_name: Sequential
config:
- class_name: Dense
  config:
    activation: relu
    batch_input_shape: !!python/tuple [null, 6]
    dtype: float32
    name: dense_1
    units: 5
    use_bias: true
keras_version: 2.0.9
"""


def test_yaml_accepts_python_tuple_and_nothing_dangerous():
    model = model_from_yaml(KERAS20_YAML)
    assert model.layers[0].get_weights()[0].shape == (6, 5)
    evil = "!!python/object/apply:os.system ['echo pwned']"
    with pytest.raises(ModelFileError, match="python/tuple"):
        model_from_yaml(evil)
    with pytest.raises(ModelFileError, match="YAML"):
        model_from_yaml("!!python/name:os.system")


def test_save_and_load_weights(tmp_path):
    x, _ = _data()
    model, other = _mlp(), _mlp()
    other.set_weights([w + 1 for w in model.get_weights()])
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:  # at the root, as Keras 2 writes
        assert "layer_names" in f.attrs and "model_weights" not in f
    other.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    model.save(tmp_path / "full.h5")  # load_weights reads whole-model files too
    other.set_weights([w + 1 for w in model.get_weights()])
    other.load_weights(tmp_path / "full.h5")
    assert _same(model, other)


def test_load_weights_by_name(tmp_path):
    K.set_random_seed(0)
    source = Sequential([Dense(5, input_shape=(6,), name="shared"),
                         Dense(2, name="head_a")])
    source.save_weights(tmp_path / "w.h5")
    K.set_random_seed(1)
    target = Sequential([Dense(5, input_shape=(6,), name="shared"),
                         Dense(3, name="head_b")])
    head = target.layers[1].get_weights()
    target.load_weights(tmp_path / "w.h5", by_name=True)
    for a, b in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(target.layers[1].get_weights(), head):
        np.testing.assert_array_equal(a, b)  # untouched
    clash = Sequential([Dense(4, input_shape=(6,), name="shared")])
    with pytest.raises(ModelFileError, match=r"'shared'.*\(6, 4\).*\(6, 5\)"):
        clash.load_weights(tmp_path / "w.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping"):
        clash.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)


def test_topological_load_errors(tmp_path):
    _mlp().save_weights(tmp_path / "w.h5")
    K.set_random_seed(0)
    three = Sequential([Dense(16, input_shape=(6,)), Dense(3), Dense(3)])
    before = three.get_weights()
    with pytest.raises(ModelFileError, match=r"containing 2 layers .* into a model with 3"):
        three.load_weights(tmp_path / "w.h5")
    wide = Sequential([Dense(17, input_shape=(6,)), Dense(3)])
    with pytest.raises(ModelFileError, match=r"dense_\d+.*\(6, 17\).*\(6, 16\)"):
        wide.load_weights(tmp_path / "w.h5")
    nobias = Sequential([Dense(16, input_shape=(6,), use_bias=False), Dense(3)])
    with pytest.raises(ModelFileError, match="expects 1 weights.*2 elements"):
        nobias.load_weights(tmp_path / "w.h5")
    assert all(np.array_equal(a, b) for a, b in zip(three.get_weights(), before))


def test_overwrite_false_raises(tmp_path):
    model = _mlp()
    path = tmp_path / "m.h5"
    model.save(path, overwrite=False)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(path, overwrite=False)
    assert path.read_bytes() == before
    model.save(path)  # overwrite=True replaces it
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]  # no temporary left


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello, not HDF5\n" * 10)
    with pytest.raises(ModelFileError, match="not an HDF5 file"):
        load_model(tmp_path / "text.h5")
    _mlp().save(tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged or truncated|cannot load"):
        load_model(tmp_path / "cut.h5")
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(ModelFileError, match="No model found in config file"):
        load_model(tmp_path / "empty.h5")
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.attrs["model_config"] = b"{not json"
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(tmp_path / "bad.h5")


def test_unserializable_model_leaves_target_intact(tmp_path):
    model = _mlp()
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()
    model.layers[0].activation = object()  # get_config now fails midway
    with pytest.raises(Exception):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def test_large_attribute_lists_are_chunked(tmp_path):
    from ckeras.engine import saving
    names = [(f"layer_{i:05d}_" + "x" * 40).encode() for i in range(3000)]
    with h5py.File(tmp_path / "a.h5", "w") as f:
        saving.save_attributes_to_hdf5_group(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert saving.load_attributes_from_hdf5_group(f, "layer_names") == \
            [n.decode() for n in names]


# ---- ported from the saving2 branch ----------------------------------------------
def test_saved_file_has_the_usual_permissions(tmp_path):
    """mkstemp makes 0600 files: a new file gets 0666 & ~umask, and
    overwriting keeps the existing file's mode."""
    import os
    model = _mlp()
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "m.h5")
        model.save_weights(tmp_path / "w.h5")
    finally:
        os.umask(old)
    assert (tmp_path / "m.h5").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "w.h5").stat().st_mode & 0o777 == 0o644
    os.chmod(tmp_path / "m.h5", 0o600)
    model.save(tmp_path / "m.h5")
    assert (tmp_path / "m.h5").stat().st_mode & 0o777 == 0o600


def test_missing_weight_dataset_is_reported_before_anything_is_assigned(tmp_path):
    model = _mlp()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        name = model.layers[-1].name
        del f["model_weights"][name][name]["bias:0"]
    with pytest.raises(ModelFileError, match=r"bias:0.*missing"):
        load_model(tmp_path / "m.h5")
    other = _mlp()
    other.set_weights([w + 1 for w in model.get_weights()])
    before = other.get_weights()
    with pytest.raises(ModelFileError, match=r"bias:0.*missing"):
        other.load_weights(tmp_path / "m.h5")
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), before))


def test_reads_h5py2_fixed_length_byte_attributes(tmp_path):
    """Keras 2 under h5py 2 wrote its string attributes as np.bytes_ and
    its name lists as fixed-length 'S' arrays; h5py 3 may give str."""
    x, y = _data()
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    model.train_on_batch(x, y)
    for kind in (np.bytes_, str):
        model.save(tmp_path / "m.h5")
        with h5py.File(tmp_path / "m.h5", "a") as f:
            for k in ("model_config", "training_config", "keras_version", "backend"):
                v = f.attrs[k]
                v = v if isinstance(v, str) else bytes(v).decode()
                f.attrs[k] = np.bytes_(v.encode()) if kind is np.bytes_ else v
            g = f["model_weights"]
            names = [bytes(n) for n in g.attrs["layer_names"]]
            g.attrs["layer_names"] = np.array(names, dtype=f"S{max(map(len, names))}") \
                if kind is np.bytes_ else np.array([n.decode() for n in names], dtype=object)
        loaded = load_model(tmp_path / "m.h5")
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)


def test_model_from_json_errors():
    with pytest.raises(ValueError, match="Nope.*custom_objects"):
        model_from_json('{"class_name": "Nope", "config": {}}')
    with pytest.raises(ModelFileError, match="not valid JSON"):
        model_from_json("{not json")
    with pytest.raises(TypeError, match="dictionary"):
        model_from_config([])
