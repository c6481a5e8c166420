"""Models (Keras 2's ``keras.models``): Model, Sequential, and rebuilding
a model from its configuration."""
from ckeras.engine.sequential import Sequential
from ckeras.engine.training import Model


def model_from_config(config, custom_objects=None):
    """A model from {'class_name': 'Model' | 'Sequential', 'config': ...}."""
    from ckeras.layers import deserialize
    if isinstance(config, list):
        raise TypeError("`model_from_config` expects a dictionary, not a list. Maybe "
                        "you meant to use `Sequential.from_config(config)`?")
    return deserialize(config, custom_objects=custom_objects)


__all__ = ["Model", "Sequential", "model_from_config"]
