"""The configuration file ``~/.ckeras/ckeras.json`` (``CKERAS_HOME`` moves
the folder), with Keras's keys: ``floatx``, ``epsilon``,
``image_data_format`` and ``backend``, and one of ckeras' own:
``fsync_saves`` (default false): when true, every model or weights save
is flushed to the disk (fdatasync of the file, fsync of its folder) before
and after it is renamed into place, so that it also survives a power
loss or an operating-system crash, at the disk's speed (100 MB took 260 ms
instead of 120 ms on the dev machine). Without it a save is still atomic
against a crash or kill of the saving process (written beside the target,
then renamed), as the saving issue specifies, and as fast as h5py.

The file is read once, on first use, and created with the defaults when it
does not exist (silently skipped when the folder cannot be written). A
malformed file raises a ValueError that names the file and the bad entry.
"""
import json
import os

DEFAULTS = {"floatx": "float32", "epsilon": 1e-7,
            "image_data_format": "channels_last", "backend": "ckeras",
            "fsync_saves": False}
_FLOATX = ("float16", "float32", "float64")
_FORMATS = ("channels_last", "channels_first")

_settings = None


def config_path():
    """Path of the configuration file (``$CKERAS_HOME/ckeras.json``)."""
    home = os.environ.get("CKERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".ckeras")
    return os.path.join(home, "ckeras.json")


def _validate(cfg, path):
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} must hold a JSON object like "
                         f"{json.dumps(DEFAULTS)}, got {type(cfg).__name__}")
    out = dict(DEFAULTS)
    out.update(cfg)
    if out["floatx"] not in _FLOATX:
        raise ValueError(f"{path}: 'floatx' must be one of {_FLOATX}, got "
                         f"{out['floatx']!r}")
    eps = out["epsilon"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ValueError(f"{path}: 'epsilon' must be a positive number, got {eps!r}")
    out["epsilon"] = float(eps)
    if out["image_data_format"] not in _FORMATS:
        raise ValueError(f"{path}: 'image_data_format' must be one of "
                         f"{_FORMATS}, got {out['image_data_format']!r}")
    if not isinstance(out["fsync_saves"], bool):
        raise ValueError(f"{path}: 'fsync_saves' must be true or false, got "
                         f"{out['fsync_saves']!r}")
    return out


def load():
    """Reads (or creates) the configuration file; returns the settings."""
    global _settings
    path = config_path()
    if os.path.exists(path):
        try:
            with open(path) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(
                f"the ckeras configuration file {path} is malformed ({e}); fix "
                f"it or delete it to get the defaults {json.dumps(DEFAULTS)}"
            ) from None
        _settings = _validate(cfg, path)
    else:
        _settings = dict(DEFAULTS)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(DEFAULTS, f, indent=4)
        except OSError:
            pass
    return _settings


def settings():
    """The current settings dict, loading the file on first use."""
    return _settings if _settings is not None else load()


def floatx():
    """The default float type, as a string (``'float32'``)."""
    return settings()["floatx"]


def set_floatx(value):
    if value not in _FLOATX:
        raise ValueError(f"floatx must be one of {_FLOATX}, got {value!r}")
    settings()["floatx"] = str(value)


def epsilon():
    """The fuzz factor used in numeric expressions (1e-7)."""
    return settings()["epsilon"]


def set_epsilon(value):
    settings()["epsilon"] = float(value)


def image_data_format():
    """``'channels_last'`` or ``'channels_first'``."""
    return settings()["image_data_format"]


def set_image_data_format(data_format):
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be one of {_FORMATS}, got {data_format!r}")
    settings()["image_data_format"] = str(data_format)


def backend():
    """The name of the backend: always ``'ckeras'``."""
    return "ckeras"
