"""Config variants found in real Keras 2.x / tf.keras files, rewritten into
what ckeras' constructors take (used by ``saving.model_from_config`` and
the training config of ``load_model``).

- every ``{'class_name', 'config'}`` dict: ``module``, ``registered_name``
  and ``shared_object_id`` (tf.keras >= 2.13) are dropped;
- tf.keras initializer classes (``GlorotUniform``, ``HeNormal``, ...)
  become Keras 2's ``VarianceScaling`` with the same scale, mode and
  distribution; ``truncated_normal`` is Keras 2's ``normal``; the
  regularizers ``L1`` and ``L2`` become ``L1L2``;
- a ``dtype`` policy dict (``{'class_name': 'Policy', 'config': {'name':
  'float32'}}``) becomes its name;
- InputLayer ``ragged=False``, Flatten ``data_format='channels_last'`` and
  optimizer keys tf.keras writes with their default value (``name``,
  ``centered=False`` ...) are dropped;
- TF2 layer options that have one value in Keras 2 (``groups=1``,
  ``keepdims=False``, ``time_major=False``) are dropped; any other value is
  refused with a ValueError naming it (so is recurrent layers'
  ``zero_output_for_mask=True``; GRU takes ``reset_after`` both ways);
- tf.keras >= 2.11 writes a functional model as ``'Functional'`` (read as
  ``Model``) and its new optimizers as ``'Custom>Adam'`` with
  ``is_legacy_optimizer``, ``use_ema``, ``ema_momentum``, ``jit_compile``
  ... (read as Keras 2's ``Adam``; the new Nadam's schedule is Keras 2's
  with ``schedule_decay=1``); legacy tf.keras' Nadam calls its
  ``schedule_decay`` ``decay``;
- tf.keras loss and metric objects (``CategoricalCrossentropy``,
  ``MeanMetricWrapper``) become Keras 2's function names when they hold
  default settings.
``optimizer_weights_to_ckeras`` reorders the optimizer state of Keras 2.2,
Keras 2.3 / legacy tf.keras ([iterations] + one block per slot) and new
tf.keras optimizers (``iteration`` then the slots interleaved per weight,
named ``Adam/m/<weight>``) into ckeras' order.
Keras 2.0's Sequential config (a list) and 2.2's (a dict with 'layers')
are both read by ``Sequential.from_config``. A ``'theano'`` file has its
convolution kernels flipped on load (``saving._flip_theano_kernels``).
"""
import re

import numpy as np

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
# keys meaningless to ckeras, dropped whatever their value (EMA ones only
# when use_ema is off)
_OPTIMIZER_IGNORED = ("name", "is_legacy_optimizer", "jit_compile")
_EMA_KEYS = ("ema_momentum", "ema_overwrite_frequency")
# TF2 layer options whose only Keras 2 value is the default: (classes, key, default)
_TF2_LAYER_OPTIONS = (
    (("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D"), "groups", 1),
    (("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
      "GlobalAveragePooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D",
      "GlobalAvgPool2D"), "keepdims", False),
    (("SimpleRNN", "GRU", "LSTM"), "time_major", False),
    (("SimpleRNN", "GRU", "LSTM"), "zero_output_for_mask", False),
)
_WHY = {"groups": " (grouped convolution)", "keepdims": "",
        "time_major": " (time-major inputs)",
        "zero_output_for_mask": " (zeros instead of the kept state at masked steps)"}


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
    if name in ("L1", "L2"):  # tf.keras' regularizer classes
        return {"class_name": "L1L2", "config": {"l1": config.get("l1", 0.0),
                                                 "l2": config.get("l2", 0.0)}}
    if name in ("Policy", "DTypePolicy") and "name" in config:
        return config["name"]
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = config["dtype"].get("config", {}).get("name", "float32")
    if name == "InputLayer" and not config.get("ragged", False):
        config.pop("ragged", None)
    if name == "Flatten" and config.get("data_format") in (None, "channels_last"):
        config.pop("data_format", None)
    if name == "Functional":
        out["class_name"] = "Model"
    for classes, key, default in _TF2_LAYER_OPTIONS:
        if name in classes and key in config:
            value = config.pop(key)
            if value != default:
                raise ValueError(
                    f"{name} layer {config.get('name')!r}: {key}={value!r} is not "
                    f"supported by ckeras{_WHY[key]}; only {key}={default!r} (Keras 2's "
                    "behaviour) is.")
    return out


def normalize_optimizer_config(config):
    """{'class_name', 'config'} of an optimizer without tf.keras' extra
    keys (dropped only when they hold their default value)."""
    config = normalize_config(config)
    new_style = False
    if isinstance(config, dict) and isinstance(config.get("class_name"), str) and \
            config["class_name"].startswith("Custom>"):  # tf.keras >= 2.11's new optimizers
        config["class_name"] = config["class_name"][len("Custom>"):]
        new_style = True
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        inner = config["config"]
        new_style = new_style or inner.get("is_legacy_optimizer") is False
        if new_style and config.get("class_name") == "Nadam":
            # the new Nadam's momentum schedule is b1 (1 - 0.5 * 0.96^t): Keras 2's
            # b1 (1 - 0.5 * 0.96^(t * schedule_decay)) with schedule_decay=1
            inner.setdefault("schedule_decay", 1.0)
        for key in _OPTIMIZER_IGNORED:
            inner.pop(key, None)
        if not inner.get("use_ema"):
            for key in _EMA_KEYS:
                inner.pop(key, None)
        for key, default in _OPTIMIZER_DEFAULTS.items():
            if key in inner and (key == "name" or inner[key] in (default, None, False)):
                del inner[key]
        if inner.get("momentum") in (0, 0.0) and config.get("class_name") == "RMSprop":
            del inner["momentum"]
        if "decay" in inner and "schedule_decay" not in inner and \
                config.get("class_name") == "Nadam":  # legacy tf.keras' name for it
            inner["schedule_decay"] = inner.pop("decay")
        if inner.get("initial_accumulator_value") in (0, 0.0):
            del inner["initial_accumulator_value"]
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


# ---- optimizer state ----------------------------------------------------------
# ckeras' state per optimizer: (iterations first in `weights`?, slots per weight)
_CKERAS_LAYOUT = {"SGD": (True, 1), "RMSprop": (False, 1), "Adagrad": (False, 1),
                  "Adadelta": (False, 2), "Adam": (True, 3), "Adamax": (True, 2),
                  "Nadam": (True, 2)}
_NEW_STYLE_SLOT = re.compile(r"^[^/]+/([^/]+)/.+$")


def optimizer_weights_to_ckeras(optimizer, n_params, names, arrays):
    """The saved optimizer state ``arrays`` (with their ``names``) in the
    order of ckeras' ``optimizer.weights``, and {'iterations': saved count,
    'm_schedule': Nadam's momentum cache} (those found): a tuple, or None
    when the layout is not recognised.

    Layouts read: Keras 2.2 (SGD/Adam/Adamax/Nadam ``[iterations] +``
    slot blocks, RMSprop/Adagrad/Adadelta slot blocks only, Adam with
    ``vhat`` placeholders), Keras 2.3 and legacy tf.keras (``iterations``
    first for all, Adam without ``vhat`` unless amsgrad) and the new
    tf.keras optimizers (``iteration`` then per weight its slots,
    ``Adam/m/<w>``, ``Adam/v/<w>``, grouped here by slot name). (Legacy
    tf.keras' Nadam has its ``momentum_cache`` after ``iterations``; other
    Nadam files get it recomputed from the iteration count.)"""
    cls = type(optimizer).__name__
    if cls not in _CKERAS_LAYOUT or n_params <= 0:
        return None
    with_iterations, n_slots = _CKERAS_LAYOUT[cls]
    arrays = [np.asarray(a) for a in arrays]
    iterations = None
    new_style = bool(names) and names[0].split("/")[-1] == "iteration:0"
    if arrays and arrays[0].shape == () and arrays[0].dtype.kind in "iu":
        iterations = int(arrays[0])
        names, arrays = names[1:], arrays[1:]
    m_schedule = None
    if cls == "Nadam" and arrays and arrays[0].shape == ():  # tf.keras' momentum_cache
        m_schedule = float(arrays[0])
        names, arrays = names[1:], arrays[1:]
    slot_names = [_NEW_STYLE_SLOT.match(n) for n in names]
    if new_style and arrays and all(slot_names):
        groups = {}
        for m, a in zip(slot_names, arrays):  # new tf.keras: interleaved per weight
            groups.setdefault(m.group(1), []).append(a)
        slots = list(groups.values())
    else:
        if len(arrays) % n_params:
            return None
        slots = [arrays[i:i + n_params] for i in range(0, len(arrays), n_params)]
    if cls == "SGD" and not slots:  # momentum=0: tf.keras keeps no moments
        slots = [[np.zeros_like(np.asarray(v.value)) for v in optimizer.weights[1:]]]
    if cls == "Adam" and len(slots) == 2 and not getattr(optimizer, "amsgrad", False):
        slots.append([np.zeros(1, np.float32) for _ in range(n_params)])  # Keras 2's vhat
    if len(slots) != n_slots or any(len(s) != n_params for s in slots):
        return None
    values = [a for s in slots for a in s]
    if with_iterations:
        values.insert(0, np.asarray(iterations or 0, np.int64))
    if cls == "Nadam" and m_schedule is None and iterations:
        # Keras 2.2 and new tf.keras files do not save it: the product of
        # the momentum schedule over the steps taken
        b1, decay = float(np.asarray(optimizer.beta_1.value)), optimizer.schedule_decay
        m_schedule = np.float32(1.0)
        for t in range(1, iterations + 1):
            m_schedule = np.float32(float(m_schedule) * b1 * (1. - 0.5 * 0.96 ** (t * decay)))
        m_schedule = float(m_schedule)
    extra = {"iterations": iterations, "m_schedule": m_schedule}
    return values, {k: v for k, v in extra.items() if v is not None}
