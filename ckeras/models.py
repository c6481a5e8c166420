"""Models (Keras 2's ``keras.models``): Model, Sequential, saving and
loading (``ckeras/engine/saving.py``), and rebuilding a model from its
configuration."""
from ckeras.engine.saving import (ModelFileError, load_model, model_from_config,
                                  model_from_json, model_from_yaml, save_model)
from ckeras.engine.sequential import Sequential
from ckeras.engine.training import Model

__all__ = ["Model", "Sequential", "ModelFileError", "save_model", "load_model",
           "model_from_config", "model_from_json", "model_from_yaml"]
