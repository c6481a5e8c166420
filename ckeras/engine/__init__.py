"""The model engine: layers, nodes, graphs, models (Keras 2 ``keras.engine``)."""
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_layer import Input, InputLayer
from ckeras.engine.input_spec import InputSpec
from ckeras.engine.network import Network
from ckeras.engine.topology import get_source_inputs
from ckeras.engine.training import Model

__all__ = ["Layer", "Input", "InputLayer", "InputSpec", "Network", "Model",
           "get_source_inputs"]
