"""Writes the hand-made golden files of tests/data/ with h5py alone.

TensorFlow is not installed where ckeras is developed, so these files are
NOT produced by Keras 2 / tf.keras: they reproduce, attribute by
attribute, the layout those versions write for a Sequential Dense model
(checked against Keras 2.2.4's ``engine/saving.py`` and tf.keras 2.x's
``hdf5_format.py``):

- ``keras224_sequential_dense.h5``: Keras 2.2.4 on TensorFlow, every string
  attribute fixed-length bytes (h5py 2 from Python 2-era Keras), the 2.2
  Sequential config (a dict with 'layers'), SGD with momentum and its
  state ([iterations] + moments, TF variable names).
- ``tfkeras_sequential_dense.h5``: tf.keras 2.13-style config (an
  InputLayer with ``ragged``, ``GlorotUniform`` initializers with
  ``module``/``registered_name``, the optimizer's ``name`` and
  ``learning_rate``, a loss object, ``MeanMetricWrapper``), string
  attributes as str (variable length), no optimizer weights.

Usage: python tools/make_golden_keras_files.py [OUTDIR]  (default tests/data)
"""
import json
import os
import sys

import h5py
import numpy as np

DENSE_DEFAULTS = {
    "use_bias": True,
    "bias_initializer": {"class_name": "Zeros", "config": {}},
    "kernel_regularizer": None, "bias_regularizer": None,
    "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
}
GLOROT_224 = {"class_name": "VarianceScaling",
              "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                         "seed": None}}


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"dense_1": [rng.standard_normal((4, 5)).astype("float32"),
                        rng.standard_normal(5).astype("float32")],
            "dense_2": [rng.standard_normal((5, 3)).astype("float32"),
                        rng.standard_normal(3).astype("float32")]}


def _b(text):
    return np.bytes_(text.encode("utf8"))


def write_keras224(path):
    layers = [
        {"class_name": "Dense", "config": {
            "name": "dense_1", "trainable": True, "batch_input_shape": [None, 4],
            "dtype": "float32", "units": 5, "activation": "relu",
            "kernel_initializer": GLOROT_224, **DENSE_DEFAULTS}},
        {"class_name": "Dense", "config": {
            "name": "dense_2", "trainable": True, "units": 3, "activation": "softmax",
            "kernel_initializer": GLOROT_224, **DENSE_DEFAULTS}},
    ]
    model_config = {"class_name": "Sequential",
                    "config": {"name": "sequential_1", "layers": layers}}
    training_config = {
        "optimizer_config": {"class_name": "SGD", "config": {
            "lr": 0.009999999776482582, "momentum": 0.8999999761581421, "decay": 0.0,
            "nesterov": False}},
        "loss": "categorical_crossentropy", "metrics": ["accuracy"],
        "weighted_metrics": None, "sample_weight_mode": None, "loss_weights": None}
    ws = weights()
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = _b("2.2.4")
        f.attrs["backend"] = _b("tensorflow")
        f.attrs["model_config"] = _b(json.dumps(model_config))
        f.attrs["training_config"] = _b(json.dumps(training_config))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense_1", b"dense_2"])
        g.attrs["backend"] = _b("tensorflow")
        g.attrs["keras_version"] = _b("2.2.4")
        for name, (kernel, bias) in ws.items():
            lg = g.create_group(name)
            lg.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(),
                                                 f"{name}/bias:0".encode()])
            lg.create_dataset(f"{name}/kernel:0", data=kernel)
            lg.create_dataset(f"{name}/bias:0", data=bias)
        og = f.create_group("optimizer_weights")
        rng = np.random.default_rng(1)
        moments = [rng.standard_normal(w.shape).astype("float32") * 0.01
                   for pair in ws.values() for w in pair]
        names = [b"SGD/iterations:0"] + [
            f"training/SGD/Variable{'_' + str(i) if i else ''}:0".encode()
            for i in range(len(moments))]
        og.attrs["weight_names"] = np.array(names)
        og.create_dataset(names[0].decode(), data=np.int64(7))
        for name, m in zip(names[1:], moments):
            og.create_dataset(name.decode(), data=m)


def write_tfkeras(path):
    def glorot():
        return {"module": "keras.initializers", "class_name": "GlorotUniform",
                "config": {"seed": None}, "registered_name": None}

    def dense(name, units, activation):
        return {"module": "keras.layers", "class_name": "Dense", "config": {
            "name": name, "trainable": True, "dtype": "float32", "units": units,
            "activation": activation, "use_bias": True,
            "kernel_initializer": glorot(),
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}, "registered_name": None,
            "build_config": {"input_shape": [None, 4 if name == "dense_1" else 5]}}
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {
            "batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
            "ragged": False, "name": "dense_1_input"}, "registered_name": None},
        dense("dense_1", 5, "relu"), dense("dense_2", 3, "softmax")]}}
    training_config = {
        "loss": {"class_name": "CategoricalCrossentropy", "config": {
            "reduction": "auto", "name": "categorical_crossentropy",
            "from_logits": False, "label_smoothing": 0.0, "axis": -1}},
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.0010000000474974513, "decay": 0.0,
            "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033,
            "epsilon": 1e-07, "amsgrad": False, "is_legacy_optimizer": False}}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config)
        f.attrs["training_config"] = json.dumps(training_config)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense_1", b"dense_2"])
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = "2.13.1"
        for name, (kernel, bias) in weights().items():
            lg = g.create_group(name)
            lg.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(),
                                                 f"{name}/bias:0".encode()])
            lg.create_dataset(f"{name}/kernel:0", data=kernel)
            lg.create_dataset(f"{name}/bias:0", data=bias)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    write_keras224(os.path.join(outdir, "keras224_sequential_dense.h5"))
    write_tfkeras(os.path.join(outdir, "tfkeras_sequential_dense.h5"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data"))
