"""Saving and loading models in Keras 2's HDF5 layout (Keras 2.2.4 / tf.keras).

One file holds (root attributes) ``keras_version``, ``backend``,
``model_config`` (JSON), ``training_config`` (JSON); the group
``model_weights`` (attributes ``layer_names``, ``backend``,
``keras_version``; one group per layer with attribute ``weight_names`` and
one dataset per weight, ``<layer>/<weight>:0``) and the group
``optimizer_weights`` (attribute ``weight_names``). Strings are written
as UTF-8 bytes, as Keras 2 does; both bytes and str are read.

``backend`` says ``'tensorflow'``: ckeras computes TensorFlow's
cross-correlation, and Keras 2.0 flips convolution kernels when a file's
backend differs from its own (DESIGN.md).

Writes are atomic: the file is written beside the target under a
temporary name and renamed over it (``os.replace``), so a crash or kill
of the saving process leaves the previous file intact. With
``"fsync_saves": true`` in ``ckeras.json`` the file is also flushed to
the disk before the rename and the folder after it, so a power loss
cannot lose it either (at the disk's speed; off by default, as in Keras
and h5py). Loading never executes
code from the file: no pickle, JSON and safe YAML only, and a Lambda's
marshalled bytecode is refused unless the caller passes ``safe_mode=False``.
"""
import contextlib
import json
import os
import tempfile
import threading
import warnings

import numpy as np

from ckeras.engine.saving_compat import (normalize_config, normalize_loss,
                                         normalize_optimizer_config,
                                         optimizer_weights_to_ckeras)

KERAS_VERSION = "2.2.4"  # the layout written; ckeras' own version is in `ckeras_version`
FILE_BACKEND = "tensorflow"
HDF5_OBJECT_HEADER_LIMIT = 64512
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class ModelFileError(ValueError):
    """A model or weights file that cannot be loaded: not HDF5, damaged or
    truncated, missing parts, unknown classes, or weights that do not fit
    the model. (A ValueError; a missing or unreadable path raises OSError.)"""


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a dependency
        raise ImportError("saving and loading models requires h5py "
                          "(pip install h5py)") from e
    return h5py


def _decode(value):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf8")
    return str(value)


def get_json_type(obj):
    """JSON for what json.dumps cannot write (Keras 2's ``get_json_type``)."""
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if callable(obj) and hasattr(obj, "__name__"):
        return obj.__name__
    raise TypeError(f"Not JSON Serializable: {obj!r}")


def _bytes(text):
    """A fixed-length bytes attribute value, as h5py 2 wrote Keras 2's."""
    return np.bytes_(text.encode("utf8"))


def _to_bytes_json(obj):
    return _bytes(json.dumps(obj, default=get_json_type))


# ---- attributes (Keras 2 splits lists larger than an object header) ----------
def save_attributes_to_hdf5_group(group, name, data):
    """Writes a list of bytes as ``group.attrs[name]``, split into
    ``name0``, ``name1``... when it exceeds HDF5's 64 KB header limit."""
    too_long = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError("The following attributes cannot be saved to HDF5 file "
                         f"because they are larger than {HDF5_OBJECT_HEADER_LIMIT} "
                         f"bytes: {too_long[:3]}")
    array = np.asarray(data)
    chunks = 1
    parts = np.array_split(array, chunks)
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(array, chunks)
    if chunks > 1:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part
    else:
        group.attrs[name] = array if len(data) else data


def load_attributes_from_hdf5_group(group, name):
    """The list written by save_attributes_to_hdf5_group, as str."""
    if name in group.attrs:
        values = group.attrs[name]
    else:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values.extend(group.attrs[f"{name}{i}"])
            i += 1
        if i == 0:
            raise ModelFileError(f"the HDF5 group {group.name!r} has no {name!r} "
                                 "attribute: not a Keras weights group")
    values = np.atleast_1d(values)
    if values.ndim != 1 or (values.size and values.dtype.kind not in "SUO"):
        raise ModelFileError(f"attribute {name!r} of {group.name!r} is not a list of "
                             f"names (dtype {values.dtype}, shape {values.shape})")
    return [_decode(v) for v in values]


# ---- weights ------------------------------------------------------------------
def _weight_names(weights, prefix=""):
    names, seen = [], set()
    for i, w in enumerate(weights):
        name = getattr(w, "name", None) or f"param_{i}"
        if name in seen:
            name = f"param_{i}"
        seen.add(name)
        names.append(prefix + name)
    return names


def save_weights_to_hdf5_group(group, layers):
    """Keras 2's layout: attrs layer_names/backend/keras_version, one group
    per layer (attr weight_names), one dataset per weight."""
    save_attributes_to_hdf5_group(group, "layer_names",
                                  [layer.name.encode("utf8") for layer in layers])
    group.attrs["backend"] = _bytes(FILE_BACKEND)
    group.attrs["keras_version"] = _bytes(KERAS_VERSION)
    for layer in layers:
        g = group.create_group(layer.name)
        weights = layer.weights
        names = _weight_names(weights)
        save_attributes_to_hdf5_group(g, "weight_names", [n.encode("utf8") for n in names])
        for name, w in zip(names, weights):
            g.create_dataset(name, data=w.value)


def _dataset(group, name, where):
    try:
        ds = group[name]
    except (KeyError, ValueError) as e:
        raise ModelFileError(f"{where}: weight {name!r} is listed in weight_names but "
                             "is missing from the file") from e
    if not hasattr(ds, "shape") or not hasattr(ds, "read_direct"):
        raise ModelFileError(f"{where}: {name!r} is not a dataset")
    return ds


def _match(owner, variables, datasets, names, what="layer"):
    """Checks counts and shapes; returns [(variable, dataset)]."""
    if len(variables) != len(datasets):
        raise ModelFileError(
            f"{what.capitalize()} {owner!r} expects {len(variables)} weights "
            f"({[tuple(v.value.shape) for v in variables]}), but the saved weights "
            f"have {len(datasets)} elements ({[tuple(d.shape) for d in datasets]}).")
    for v, d, name in zip(variables, datasets, names):
        if tuple(v.value.shape) != tuple(d.shape):
            raise ModelFileError(
                f"Weight shape mismatch in {what} {owner!r}: weight {v.name!r} has "
                f"shape {tuple(v.value.shape)}, but the saved weight {name!r} has "
                f"shape {tuple(d.shape)}.")
        if d.dtype.kind not in "fiub":
            raise ModelFileError(f"{what} {owner!r}: saved weight {name!r} has "
                                 f"non-numeric dtype {d.dtype}")
    return list(zip(variables, datasets))


def _assign(pairs):
    """Reads each dataset straight into its variable's buffer."""
    for var, ds in pairs:
        arr = var.value
        if arr.size == 0:
            continue
        if ds.shape == ():
            arr[...] = ds[()]
        elif arr.flags.c_contiguous and arr.flags.writeable:
            ds.read_direct(arr)
        else:
            arr[...] = ds[...]


def _layer_datasets(f, name):
    try:
        g = f[name]
    except (KeyError, ValueError) as e:
        raise ModelFileError(f"layer {name!r} is listed in layer_names but its group is "
                             "missing from the file") from e
    names = load_attributes_from_hdf5_group(g, "weight_names")
    return names, [_dataset(g, n, f"layer {name!r}") for n in names]


def load_weights_from_hdf5_group(f, layers):
    """Topological loading: the i-th layer with weights in the file goes to
    the i-th layer with weights of the model. Checks everything before
    assigning anything."""
    layers_with_weights = [layer for layer in layers if layer.weights]
    saved = []
    for name in load_attributes_from_hdf5_group(f, "layer_names"):
        names, datasets = _layer_datasets(f, name)
        if datasets:
            saved.append((name, names, datasets))
    if len(saved) != len(layers_with_weights):
        raise ModelFileError(
            f"You are trying to load a weight file containing {len(saved)} layers "
            f"({[s[0] for s in saved]}) into a model with {len(layers_with_weights)} "
            f"layers ({[layer.name for layer in layers_with_weights]}).")
    pairs = []
    for layer, (name, names, datasets) in zip(layers_with_weights, saved):
        pairs += _match(layer.name, layer.weights, datasets, names)
    _assign(pairs)
    _flip_theano_kernels(f, layers_with_weights)


_CONV_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


def _flip_theano_kernels(f, layers):
    """Keras 2's convert_kernel for files whose backend is 'theano' (which
    convolves): flips the kernels' spatial axes, in place."""
    if "backend" not in f.attrs or _decode(f.attrs["backend"]) != "theano":
        return
    for layer in layers:
        if type(layer).__name__ in _CONV_LAYERS:
            kernel = layer.weights[0].value
            spatial = (slice(None, None, -1),) * (kernel.ndim - 2)
            kernel[...] = kernel[spatial].copy()


def load_weights_from_hdf5_group_by_name(f, layers, skip_mismatch=False):
    """Loads the layers whose names are in the file; others are untouched."""
    by_name = {}
    for layer in layers:
        by_name.setdefault(layer.name, []).append(layer)
    pairs = []
    for name in load_attributes_from_hdf5_group(f, "layer_names"):
        if name not in by_name:
            continue
        names, datasets = _layer_datasets(f, name)
        for layer in by_name[name]:
            try:
                pairs += _match(layer.name, layer.weights, datasets, names)
            except ModelFileError as e:
                if not skip_mismatch:
                    raise
                warnings.warn(f"Skipping loading of weights for layer {layer.name!r}: {e}")
    _assign(pairs)


# ---- files --------------------------------------------------------------------
def _fsync(path, directory=False):
    """Flushes a file's data (fdatasync where the OS has it: the size and
    blocks, not the timestamps) or a directory's entries to the disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some platforms cannot open directories
        raise
    try:
        if directory or not hasattr(os, "fdatasync"):
            os.fsync(fd)
        else:
            os.fdatasync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _replace(tmp, path):
    """os.replace(tmp, path), with the replaced file's blocks freed
    afterwards, off the caller's thread.

    Renaming over a file frees the replaced file's blocks inside the
    rename call: on the dev machine's ext4 (mounted with ``discard``) that
    took 56 ms for a 100 MB file, half of a whole save. So the old file is
    opened first: the rename then only drops its name (an open file lives
    on, nameless), and a background thread closes it, which frees the
    blocks (a non-daemon thread: the interpreter waits for it at exit; a
    killed process's files are closed by the OS). Nothing new appears in
    the folder. Without a readable regular old file, a plain os.replace."""
    fd = None
    if os.path.isfile(path) and not os.path.islink(path):
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    if fd is not None:
        t = threading.Thread(target=_close_replaced, args=(fd,),
                             name="ckeras-free-replaced")
        _closing.add(t)
        t.start()


_closing = set()  # threads of _replace still closing a replaced file


def _close_replaced(fd):
    with contextlib.suppress(OSError):
        os.close(fd)
    _closing.discard(threading.current_thread())


def wait_for_replaced_files():
    """Returns once every file replaced by a save so far is freed."""
    for t in list(_closing):
        t.join()


@contextlib.contextmanager
def atomic_hdf5(filepath, overwrite=True):
    """An h5py.File open for writing at a temporary path beside `filepath`,
    renamed over it once complete (and flushed to disk before and after
    the rename with the ``fsync_saves`` setting)."""
    from ckeras.backend import config
    h5py = _h5py()
    durable = config.settings()["fsync_saves"]
    path = os.fspath(filepath)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path!r} already exists and overwrite=False; pass "
                              "overwrite=True to replace it.")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        if os.path.exists(path):
            mode = os.stat(path).st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with h5py.File(tmp, "w") as f:
            yield f
        if durable:
            _fsync(tmp)
        if overwrite:
            _replace(tmp, path)
        else:  # never clobbers a file created meanwhile
            os.link(tmp, path)
            os.unlink(tmp)
        if durable:
            _fsync(directory, directory=True)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def open_hdf5_for_reading(filepath):
    """An h5py File/Group for `filepath` (a path or an open h5py object),
    with ModelFileError for files that are not HDF5 or are damaged."""
    h5py = _h5py()
    if isinstance(filepath, (h5py.File, h5py.Group)):
        yield filepath
        return
    path = os.fspath(filepath)
    with open(path, "rb") as fh:  # FileNotFoundError / PermissionError as they are
        head = fh.read(8)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        if head != _HDF5_SIGNATURE and not h5py.is_hdf5(path):
            raise ModelFileError(f"{path!r} is not an HDF5 file (Keras model and weight "
                                 "files are HDF5, usually *.h5)") from e
        raise ModelFileError(f"cannot read {path!r}: the HDF5 file is damaged or "
                             f"truncated ({e})") from e
    with f:
        yield f


def _wrap_errors(path, what):
    """Turns anything a damaged file makes h5py/json/numpy raise into
    ModelFileError (FileNotFoundError/PermissionError pass through)."""
    @contextlib.contextmanager
    def ctx():
        try:
            yield
        except (ModelFileError, FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except Exception as e:
            raise ModelFileError(f"cannot {what} {path!r}: {type(e).__name__}: {e}") from e
    return ctx()


def _describe(filepath):
    if hasattr(filepath, "attrs"):  # an open h5py object
        return getattr(getattr(filepath, "file", None), "filename", "<h5py object>")
    return os.fspath(filepath)


# ---- whole models -------------------------------------------------------------
def _optimizer_state(optimizer):
    """(variables, names, extra): the optimizer's weights in Keras 2's
    order (Nadam: tf.keras' [iterations, momentum_cache, m..., v...], which
    Keras 2.2 has no slot for), Keras-2-style names, and state outside
    `weights` (iterations for RMSprop/Adagrad/Adadelta, Nadam's
    m_schedule) for exact resuming."""
    cls = type(optimizer).__name__
    variables = list(getattr(optimizer, "weights", []) or [])
    iterations = getattr(optimizer, "iterations", None)
    m_schedule = getattr(optimizer, "m_schedule", None)
    if m_schedule is not None and variables and variables[0] is iterations:
        variables.insert(1, m_schedule)  # tf.keras' Nadam layout (momentum_cache)
    names, k = [], 0
    for v in variables:
        if v is iterations:
            names.append(f"{cls}/iterations:0")
        elif v is m_schedule:
            names.append(f"{cls}/momentum_cache:0")
        else:
            names.append(f"training/{cls}/Variable{'_' + str(k) if k else ''}:0")
            k += 1
    extra = {}
    if iterations is not None and all(v is not iterations for v in variables):
        extra["iterations"] = int(np.asarray(iterations.value))
    if hasattr(optimizer, "m_schedule"):
        extra["m_schedule"] = float(np.asarray(optimizer.m_schedule.value))
    return variables, names, extra


def _write_model(model, f, include_optimizer):
    import ckeras
    model_config = _to_bytes_json({"class_name": type(model).__name__,
                                   "config": model.get_config()})
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    training_config = None
    if optimizer is not None and getattr(model, "_compiled", False):
        training_config = _to_bytes_json({
            "optimizer_config": {"class_name": type(optimizer).__name__,
                                 "config": optimizer.get_config()},
            "loss": model.loss, "metrics": model.metrics, "weighted_metrics": None,
            "sample_weight_mode": model.sample_weight_mode,
            "loss_weights": model.loss_weights})
    f.attrs["keras_version"] = _bytes(KERAS_VERSION)
    f.attrs["backend"] = _bytes(FILE_BACKEND)
    f.attrs["ckeras_version"] = _bytes(ckeras.__version__)
    f.attrs["model_config"] = model_config
    save_weights_to_hdf5_group(f.create_group("model_weights"), model.layers)
    if training_config is None:
        return
    f.attrs["training_config"] = training_config
    variables, names, extra = _optimizer_state(optimizer)
    if variables:
        g = f.create_group("optimizer_weights")
        save_attributes_to_hdf5_group(g, "weight_names", [n.encode("utf8") for n in names])
        for name, v in zip(names, variables):
            g.create_dataset(name, data=v.value)
        if extra:
            g.attrs["ckeras_extra_state"] = _to_bytes_json(extra)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Saves a model to one HDF5 file: architecture, weights, training
    configuration and optimizer state (Keras 2's layout).

    Args:
        model: the model.
        filepath: a path (str or os.PathLike) or an open ``h5py.File``.
        overwrite: when False and `filepath` exists, raises
            FileExistsError (Keras 2 asked interactively instead).
        include_optimizer: also save the training configuration and the
            optimizer state, so ``load_model`` resumes training exactly.

    The file is written atomically (a temporary file beside the target,
    then renamed over it; flushed to the disk first with
    ``"fsync_saves": true`` in ckeras.json): an interrupted save leaves
    the previous file intact. An open h5py object is written in place.
    """
    h5py = _h5py()
    if isinstance(filepath, (h5py.File, h5py.Group)):
        _write_model(model, filepath, include_optimizer)
        return
    with atomic_hdf5(filepath, overwrite) as f:
        _write_model(model, f, include_optimizer)


def _convert_custom_objects(obj, custom_objects):
    if isinstance(obj, list):
        return [_convert_custom_objects(x, custom_objects) for x in obj]
    if isinstance(obj, dict):
        return {k: _convert_custom_objects(v, custom_objects) for k, v in obj.items()}
    if isinstance(obj, str) and obj in custom_objects:
        return custom_objects[obj]
    return obj


def _attr_json(f, name):
    if name not in f.attrs:
        return None
    text = _decode(f.attrs[name])
    try:
        return json.loads(text)
    except ValueError as e:
        raise ModelFileError(f"the {name!r} attribute is not valid JSON: {e}") from e


def _per_output_metrics(metrics, output_names):
    """tf.keras writes metrics as one list per output ([[...], [None]]):
    a dict {output name: [metrics]}, Keras 2's form."""
    if isinstance(metrics, list) and output_names and len(metrics) == len(output_names) \
            and metrics and all(isinstance(m, list) or m is None for m in metrics):
        return {name: [x for x in (m or []) if x is not None]
                for name, m in zip(output_names, metrics)}
    if isinstance(metrics, list):
        return [m for m in metrics if m is not None]
    return metrics


def _compile_from_file(model, f, training_config, custom_objects):
    from ckeras import optimizers
    from ckeras.utils.generic_utils import get_custom_objects
    if not isinstance(training_config, dict) or "optimizer_config" not in training_config:
        raise ModelFileError("the training_config attribute has no optimizer_config")
    objects = dict(get_custom_objects())
    objects.update(custom_objects or {})
    try:
        optimizer = optimizers.deserialize(
            normalize_optimizer_config(training_config["optimizer_config"]),
            custom_objects=objects)
        loss = _convert_custom_objects(normalize_loss(training_config.get("loss")), objects)
        metrics = _convert_custom_objects(normalize_loss(training_config.get("metrics")),
                                          objects)
        metrics = _per_output_metrics(metrics, getattr(model, "output_names", None))
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                      loss_weights=training_config.get("loss_weights"),
                      sample_weight_mode=training_config.get("sample_weight_mode"))
    except (ValueError, TypeError) as e:
        raise ModelFileError(
            f"cannot compile the loaded model from its training configuration: {e}. "
            "Pass custom losses, metrics or optimizers in custom_objects, or call "
            "load_model(..., compile=False) and compile it yourself.") from e
    if "optimizer_weights" not in f:
        return
    g = f["optimizer_weights"]
    model._make_train_function()
    variables, _, _ = _optimizer_state(model.optimizer)
    names = load_attributes_from_hdf5_group(g, "weight_names")
    datasets = [_dataset(g, n, "optimizer_weights") for n in names]
    try:
        pairs = _match(type(model.optimizer).__name__, variables, datasets, names,
                       what="optimizer")
        _assign(pairs)
    except ModelFileError as e:
        if not _assign_foreign_optimizer_state(model.optimizer, names, datasets):
            warnings.warn("Error in loading the saved optimizer state. As a result, "
                          "your model is starting with a freshly initialized "
                          f"optimizer. ({e})")
            return
    extra = _attr_json(g, "ckeras_extra_state") or {}
    if "iterations" in extra:
        model.optimizer.iterations.value[...] = int(extra["iterations"])
    if "m_schedule" in extra and hasattr(model.optimizer, "m_schedule"):
        model.optimizer.m_schedule.value[...] = float(extra["m_schedule"])


def _assign_foreign_optimizer_state(optimizer, names, datasets):
    """Loads optimizer state in another layout (Keras 2.3, legacy or new
    tf.keras: see saving_compat.optimizer_weights_to_ckeras); False when
    the layout is not recognised or the shapes do not fit."""
    n_params = len(getattr(optimizer, "_params", None) or [])
    converted = optimizer_weights_to_ckeras(optimizer, n_params, names,
                                            [d[()] for d in datasets])
    if converted is None:
        return False
    values, extra = converted
    variables = list(optimizer.weights)
    if len(values) != len(variables) or any(
            np.shape(v.value) != np.shape(a) for v, a in zip(variables, values)):
        return False
    for v, a in zip(variables, values):
        v.value[...] = a
    if "iterations" in extra:
        optimizer.iterations.value[...] = extra["iterations"]
    if "m_schedule" in extra and hasattr(optimizer, "m_schedule"):
        optimizer.m_schedule.value[...] = extra["m_schedule"]
    return True


def _load_model(f, custom_objects, compile, safe_mode):
    config = _attr_json(f, "model_config")
    if config is None:
        raise ModelFileError("No model found in config file.")
    if "model_weights" not in f:
        raise ModelFileError("the file has a model_config but no model_weights group")
    from ckeras.engine.base_layer import initialize_unloaded, weights_to_be_loaded
    with weights_to_be_loaded() as pending:  # no initializer runs for weights
        model = model_from_config(config, custom_objects=custom_objects,
                                  safe_mode=safe_mode)
    load_weights_from_hdf5_group(f["model_weights"], model.layers)  # all or nothing
    initialize_unloaded(pending, [w for layer in model.layers for w in layer.weights])
    if not compile:
        return model
    training_config = _attr_json(f, "training_config")
    if training_config is None:
        warnings.warn("No training configuration found in save file: the model was "
                      "*not* compiled. Compile it manually.")
        return model
    _compile_from_file(model, f, training_config, custom_objects)
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``save_model`` / ``model.save`` (or by Keras 2 /
    tf.keras for the layers ckeras has).

    Args:
        filepath: a path or an open ``h5py.File`` (or group).
        custom_objects: {name: class or function} for custom layers,
            losses, metrics, activations, optimizers.
        compile: compile the model when the file has a training
            configuration (restoring the optimizer state).
        safe_mode: when True (default), a Lambda layer whose function is
            stored as Python bytecode is refused (loading it would run
            code from the file); pass the function in custom_objects
            under the Lambda layer's name, or safe_mode=False if you trust
            the file.

    Raises:
        ModelFileError (a ValueError): not an HDF5 file, a damaged or
            truncated file, no model in it, unknown classes, weights that
            do not fit. OSError: the path cannot be opened.
    """
    where = _describe(filepath)
    with _wrap_errors(where, "load a model from"):
        with open_hdf5_for_reading(filepath) as f:
            return _load_model(f, custom_objects, compile, safe_mode)


def save_weights(model, filepath, overwrite=True):
    """Saves the layers' weights (Keras 2's layout, at the file's root)."""
    h5py = _h5py()
    if isinstance(filepath, (h5py.File, h5py.Group)):
        save_weights_to_hdf5_group(filepath, model.layers)
        return
    with atomic_hdf5(filepath, overwrite) as f:
        save_weights_to_hdf5_group(f, model.layers)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Loads weights saved by save_weights or save_model (Keras 2 files too).

    Topological by default (the i-th layer with weights in the file goes to
    the i-th layer with weights); by_name=True loads only the layers whose
    names match, leaving the others untouched. Shapes are checked before
    anything is assigned."""
    where = _describe(filepath)
    with _wrap_errors(where, "load weights from"):
        with open_hdf5_for_reading(filepath) as f:
            if "layer_names" not in f.attrs and "layer_names0" not in f.attrs \
                    and "model_weights" in f:
                f = f["model_weights"]
            if by_name:
                load_weights_from_hdf5_group_by_name(f, model.layers, skip_mismatch)
            else:
                load_weights_from_hdf5_group(f, model.layers)


# ---- architecture only: config, JSON, YAML ------------------------------------
def model_from_config(config, custom_objects=None, safe_mode=True):
    """A model from {'class_name': 'Model' | 'Sequential', 'config': ...}
    (Keras 2.x and tf.keras variants accepted; see saving_compat)."""
    from ckeras.layers import deserialize
    from ckeras.utils.generic_utils import SafeModeScope
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Maybe "
                        "you meant to use `Sequential.from_config(config)`?")
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ModelFileError("a model config must be a dict with 'class_name' and "
                             f"'config', got {type(config).__name__}")
    config = normalize_config({"class_name": config["class_name"],
                               "config": config["config"]})
    try:
        with SafeModeScope(safe_mode):
            return deserialize(config, custom_objects=custom_objects)
    except ValueError as e:
        message = str(e)
        if message.startswith("Unknown layer: "):
            name = message[len("Unknown layer: "):]
            raise ModelFileError(
                f"Unknown layer: {name}. If it is a custom layer, pass its class to "
                f"the loading function: custom_objects={{{name!r}: {name}}}.") from e
        raise


def _model_dict(model):
    return {"class_name": type(model).__name__, "config": model.get_config(),
            "keras_version": KERAS_VERSION, "backend": FILE_BACKEND}


def to_json(model, **kwargs):
    """Keras 2's JSON: {"class_name", "config", "keras_version", "backend"}."""
    return json.dumps(_model_dict(model), default=get_json_type, **kwargs)


def to_yaml(model, **kwargs):
    """The same as YAML, with plain lists (no ``!!python/tuple`` tags)."""
    import yaml
    return yaml.safe_dump(json.loads(to_json(model)), **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model (architecture only, fresh weights) from to_json's string."""
    try:
        config = json.loads(json_string)
    except ValueError as e:
        raise ModelFileError(f"cannot read the model JSON: not valid JSON ({e})") from e
    return model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)


def _safe_yaml_loader():
    import yaml

    class KerasSafeLoader(yaml.SafeLoader):
        """yaml.SafeLoader plus Keras 2.0's ``!!python/tuple``: no other
        Python tags, so nothing from the file is imported or called."""

    KerasSafeLoader.add_constructor(
        "tag:yaml.org,2002:python/tuple",
        lambda loader, node: tuple(loader.construct_sequence(node)))
    return KerasSafeLoader


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=True):
    """A model from to_yaml's string (or Keras 2's, with tuple tags)."""
    import yaml
    try:
        config = yaml.load(yaml_string, Loader=_safe_yaml_loader())
    except yaml.YAMLError as e:
        raise ModelFileError(f"cannot read the model YAML: {e} (only plain YAML and "
                             "Keras 2.0's !!python/tuple tags are accepted)") from e
    return model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
