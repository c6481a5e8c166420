"""Config variants found in real Keras 2.x / tf.keras files, rewritten into
what ckeras' constructors take (used by ``saving.model_from_config`` and
the training config of ``load_model``).

- every ``{'class_name', 'config'}`` dict: ``module``, ``registered_name``
  and ``shared_object_id`` (tf.keras >= 2.13) are dropped;
- tf.keras initializer classes (``GlorotUniform``, ``HeNormal``, ...)
  become Keras 2's ``VarianceScaling`` with the same scale, mode and
  distribution; ``truncated_normal`` is Keras 2's ``normal``;
- a ``dtype`` policy dict (``{'class_name': 'Policy', 'config': {'name':
  'float32'}}``) becomes its name;
- InputLayer ``ragged=False``, Flatten ``data_format='channels_last'``,
  recurrent layers' ``time_major=False`` and ``zero_output_for_mask=False``
  and optimizer keys tf.keras writes with their default value (``name``,
  ``centered=False`` ...) are dropped (GRU's ``reset_after`` is kept: GRU
  takes it);
- tf.keras loss and metric objects (``CategoricalCrossentropy``,
  ``MeanMetricWrapper``) become Keras 2's function names when they hold
  default settings.
Keras 2.0's Sequential config (a list) and 2.2's (a dict with 'layers')
are both read by ``Sequential.from_config``. A ``'theano'`` file has its
convolution kernels flipped on load (``saving._flip_theano_kernels``).
"""
import re

_DROP = ("module", "registered_name", "shared_object_id", "build_config",
         "compile_config")
_VARIANCE_SCALING = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"), "GlorotNormal": (1.0, "fan_avg", "normal"),
    "HeUniform": (2.0, "fan_in", "uniform"), "HeNormal": (2.0, "fan_in", "normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"), "LecunNormal": (1.0, "fan_in", "normal"),
}
_OPTIMIZER_DEFAULTS = {"name": None, "centered": False, "is_legacy_optimizer": None,
                       "jit_compile": None, "use_ema": False, "ema_momentum": None,
                       "ema_overwrite_frequency": None, "global_clipnorm": None,
                       "weight_decay": None, "clipnorm": None, "clipvalue": None}


def _snake(name):
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def normalize_config(obj):
    """A copy of a model/layer config with tf.keras variants rewritten."""
    if isinstance(obj, list):
        return [normalize_config(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: normalize_config(v) for k, v in obj.items()
           if not ("class_name" in obj and k in _DROP)}
    name, config = out.get("class_name"), out.get("config")
    if not isinstance(name, str) or not isinstance(config, dict):
        if isinstance(out.get("dtype"), dict):  # a layer config's dtype policy
            out["dtype"] = out["dtype"].get("config", {}).get("name", "float32")
        return out
    if name in _VARIANCE_SCALING:
        scale, mode, dist = _VARIANCE_SCALING[name]
        return {"class_name": "VarianceScaling",
                "config": {"scale": scale, "mode": mode, "distribution": dist,
                           "seed": config.get("seed")}}
    if name == "VarianceScaling" and config.get("distribution") in (
            "truncated_normal", "untruncated_normal"):
        config["distribution"] = "normal"
    if name in ("Policy", "DTypePolicy") and "name" in config:
        return config["name"]
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = config["dtype"].get("config", {}).get("name", "float32")
    if name == "InputLayer" and not config.get("ragged", False):
        config.pop("ragged", None)
    if name == "Flatten" and config.get("data_format") in (None, "channels_last"):
        config.pop("data_format", None)
    if name in ("GRU", "LSTM", "SimpleRNN"):
        for key in ("time_major", "zero_output_for_mask"):  # tf.keras, when False
            if key in config and not config[key]:
                del config[key]
    return out


def normalize_optimizer_config(config):
    """{'class_name', 'config'} of an optimizer without tf.keras' extra
    keys (dropped only when they hold their default value)."""
    config = normalize_config(config)
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        inner = config["config"]
        for key, default in _OPTIMIZER_DEFAULTS.items():
            if key in inner and (key == "name" or inner[key] in (default, None, False)):
                del inner[key]
        if inner.get("momentum") in (0, 0.0) and config.get("class_name") == "RMSprop":
            del inner["momentum"]
    return config


def normalize_loss(obj):
    """Loss/metric entries of a training config as Keras 2 names."""
    if isinstance(obj, list):
        return [normalize_loss(x) for x in obj]
    if isinstance(obj, dict) and "class_name" in obj and isinstance(obj.get("config"), dict):
        name, config = obj["class_name"], obj["config"]
        if name == "MeanMetricWrapper":
            return config.get("name") if config.get("name") in ("accuracy", "acc") \
                else config.get("fn", config.get("name"))
        if not config.get("from_logits") and not config.get("label_smoothing"):
            return _snake(name)
        return obj
    if isinstance(obj, dict):
        return {k: normalize_loss(v) for k, v in obj.items()}
    return obj
