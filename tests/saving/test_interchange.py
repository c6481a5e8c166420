"""Files in the layouts Keras 2.2.4 and tf.keras write load and predict.

The golden files in tests/data/ are hand-written with h5py by
tools/make_golden_keras_files.py (TensorFlow is not available here); they
follow those versions' layout attribute by attribute."""
import json
import os
import sys

import h5py
import numpy as np
import pytest

from ckeras.models import load_model, model_from_config, model_from_json

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
KERAS224 = os.path.join(DATA, "keras224_sequential_dense.h5")
TFKERAS = os.path.join(DATA, "tfkeras_sequential_dense.h5")


def _expected(path, x):
    """relu(x W1 + b1) then softmax(h W2 + b2), from the stored weights."""
    with h5py.File(path, "r") as f:
        g = f["model_weights"]
        w1, b1 = g["dense_1/dense_1/kernel:0"][()], g["dense_1/dense_1/bias:0"][()]
        w2, b2 = g["dense_2/dense_2/kernel:0"][()], g["dense_2/dense_2/bias:0"][()]
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("path", [KERAS224, TFKERAS], ids=["keras224", "tfkeras"])
def test_golden_file_loads_and_predicts(path):
    x = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    model = load_model(path)
    assert [layer.name for layer in model.layers] == ["dense_1", "dense_2"]
    np.testing.assert_allclose(model.predict(x), _expected(path, x), rtol=1e-5,
                               atol=1e-6)
    assert model.metrics_names == ["loss", "acc"]
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2, 0]]
    assert np.isfinite(model.train_on_batch(x, y)).all()


def test_keras224_training_state_restored():
    model = load_model(KERAS224)
    opt = model.optimizer
    assert type(opt).__name__ == "SGD"
    assert np.isclose(float(opt.momentum.value), 0.9) and np.isclose(float(opt.lr.value),
                                                                     0.01)
    assert int(opt.iterations.value) == 7
    with h5py.File(KERAS224, "r") as f:
        m0 = f["optimizer_weights"]["training/SGD/Variable:0"][()]
    np.testing.assert_array_equal(opt.get_weights()[1], m0)


def test_tfkeras_config_variants():
    model = load_model(TFKERAS)
    assert type(model.optimizer).__name__ == "Adam"
    assert model.layers[0].get_config()["kernel_initializer"]["class_name"] == \
        "VarianceScaling"


def test_keras20_list_config_and_theano_dense(tmp_path):
    """Keras 2.0's Sequential config is a list; a 'theano' file with only
    Dense layers loads unchanged (conv kernel flipping: no conv layers yet)."""
    path = str(tmp_path / "k20.h5")
    with h5py.File(KERAS224, "r") as src, h5py.File(path, "w") as dst:
        for key in ("model_weights",):
            src.copy(key, dst)
        config = json.loads(src.attrs["model_config"])
        dst.attrs["model_config"] = np.bytes_(json.dumps(
            {"class_name": "Sequential", "config": config["config"]["layers"]}).encode())
        dst.attrs["keras_version"] = np.bytes_(b"2.0.9")
        dst.attrs["backend"] = np.bytes_(b"theano")
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(load_model(path, compile=False).predict(x),
                               _expected(KERAS224, x),
                               rtol=1e-5, atol=1e-6)


def test_json_from_keras2():
    text = json.dumps({"class_name": "Model", "keras_version": b"2.1.6".decode(),
                       "backend": "tensorflow", "config": {
                           "name": "model_1",
                           "layers": [
                               {"name": "input_1", "class_name": "InputLayer",
                                "config": {"batch_input_shape": [None, 3],
                                           "dtype": "float32", "sparse": False,
                                           "name": "input_1"}, "inbound_nodes": []},
                               {"name": "d", "class_name": "Dense",
                                "config": {"name": "d", "units": 2, "trainable": True},
                                "inbound_nodes": [[["input_1", 0, 0, {}]]]}],
                           "input_layers": [["input_1", 0, 0]],
                           "output_layers": [["d", 0, 0]]}})
    model = model_from_json(text)
    assert model.output_shape == (None, 2)
    assert model_from_config(json.loads(text)).count_params() == 8


def test_generator_reproduces_committed_files(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(DATA), "..", "tools"))
    try:
        import make_golden_keras_files as gen
    finally:
        sys.path.pop(0)
    gen.main(str(tmp_path))
    for name in ("keras224_sequential_dense.h5", "tfkeras_sequential_dense.h5"):
        with h5py.File(os.path.join(DATA, name), "r") as a, \
                h5py.File(tmp_path / name, "r") as b:
            assert dict(a.attrs) == dict(b.attrs)
            items = []
            a.visititems(lambda n, o: items.append(n))
            for n in items:
                if isinstance(a[n], h5py.Dataset):
                    np.testing.assert_array_equal(a[n][()], b[n][()])
                else:
                    assert {k: str(v) for k, v in a[n].attrs.items()} == \
                        {k: str(v) for k, v in b[n].attrs.items()}


def test_theano_file_flips_conv_kernels(tmp_path):
    from ckeras.layers import Conv2D, Flatten
    from ckeras.models import Sequential
    model = Sequential([Conv2D(2, (3, 2), input_shape=(5, 5, 1)), Flatten()])
    path = tmp_path / "conv.h5"
    model.save(path)
    kernel = model.layers[0].get_weights()[0]
    assert load_model(path, compile=False).layers[0].get_weights()[0].tolist() == \
        kernel.tolist()
    with h5py.File(path, "a") as f:
        f["model_weights"].attrs["backend"] = np.bytes_(b"theano")
    flipped = load_model(path, compile=False).layers[0].get_weights()[0]
    np.testing.assert_array_equal(flipped, kernel[::-1, ::-1])
