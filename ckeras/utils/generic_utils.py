"""Serialization helpers shared by layers, initializers, regularizers,
constraints and activations (Keras 2's ``keras.utils.generic_utils``)."""
import threading

_GLOBAL_CUSTOM_OBJECTS = {}
_SAFE_MODE = threading.local()


class SafeModeScope:
    """``with SafeModeScope(False):`` lets deserialization inside the block
    load Python bytecode (Lambda layers); the default is safe (refuse)."""

    def __init__(self, safe_mode=True):
        self.safe_mode = bool(safe_mode)

    def __enter__(self):
        self.backup = getattr(_SAFE_MODE, "value", True)
        _SAFE_MODE.value = self.safe_mode
        return self

    def __exit__(self, *args):
        _SAFE_MODE.value = self.backup


def in_safe_mode():
    """Whether deserialization refuses code (True unless in SafeModeScope(False))."""
    return getattr(_SAFE_MODE, "value", True)


class CustomObjectScope:
    """``with CustomObjectScope({'MyLayer': MyLayer}):`` makes names
    deserializable inside the block."""

    def __init__(self, *args):
        self.custom_objects = args
        self.backup = None

    def __enter__(self):
        self.backup = _GLOBAL_CUSTOM_OBJECTS.copy()
        for objects in self.custom_objects:
            _GLOBAL_CUSTOM_OBJECTS.update(objects)
        return self

    def __exit__(self, *args):
        _GLOBAL_CUSTOM_OBJECTS.clear()
        _GLOBAL_CUSTOM_OBJECTS.update(self.backup)


def custom_object_scope(*args):
    return CustomObjectScope(*args)


def get_custom_objects():
    return _GLOBAL_CUSTOM_OBJECTS


def serialize_keras_object(instance):
    """{'class_name', 'config'} for objects with get_config, else the name."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        return {"class_name": type(instance).__name__, "config": instance.get_config()}
    if hasattr(instance, "__name__"):
        return instance.__name__
    raise ValueError(f"Cannot serialize {instance!r}")


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """An object from a config dict or a name, looked up in custom_objects,
    the global custom objects, then module_objects."""
    module_objects = module_objects or {}

    def lookup(name):
        for table in (custom_objects or {}, _GLOBAL_CUSTOM_OBJECTS, module_objects):
            if name in table:
                return table[name]
        raise ValueError(f"Unknown {printable_module_name}: {name}")

    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(f"Improper config format for a {printable_module_name}: "
                             f"{identifier!r} (needs 'class_name' and 'config')")
        cls = lookup(identifier["class_name"])
        config = identifier["config"]
        if hasattr(cls, "from_config"):
            import inspect
            params = inspect.signature(cls.from_config).parameters
            if "custom_objects" in params:
                all_custom = dict(_GLOBAL_CUSTOM_OBJECTS)
                all_custom.update(custom_objects or {})
                return cls.from_config(config, custom_objects=all_custom)
            with CustomObjectScope(custom_objects or {}):
                return cls.from_config(config)
        return cls(**config)
    if isinstance(identifier, str):
        return lookup(identifier)
    raise ValueError(f"Could not interpret serialized {printable_module_name}: "
                     f"{identifier!r}")


def deserialize_loss_like(name, module_objects, custom_objects, kind, valid_names):
    """A loss or metric function f(y_true, y_pred) by name (or config);
    an unknown name raises a ValueError listing `valid_names`."""
    try:
        return deserialize_keras_object(name, module_objects=module_objects,
                                        custom_objects=custom_objects,
                                        printable_module_name=kind)
    except ValueError:
        raise ValueError(f"Unknown {kind}: {name!r}. Valid names: "
                         f"{sorted(valid_names)}, or pass a function "
                         "f(y_true, y_pred)") from None
