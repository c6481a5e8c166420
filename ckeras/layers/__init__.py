"""Layers (Keras 2's ``keras.layers``), serialize and deserialize."""
from ckeras.engine.base_layer import Layer
from ckeras.engine.input_layer import Input, InputLayer
from ckeras.engine.input_spec import InputSpec
from ckeras.layers.core import (Activation, ActivityRegularization, Dense, Dropout,
                                Flatten, Lambda, Masking, Permute, RepeatVector, Reshape)
from ckeras.layers.embeddings import Embedding
from ckeras.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                 Multiply, Subtract, add, average, concatenate, dot,
                                 maximum, minimum, multiply, subtract)
from ckeras.layers.recurrent import GRU, LSTM, SimpleRNN
from ckeras.layers.wrappers import Bidirectional, TimeDistributed
from ckeras.utils.generic_utils import deserialize_keras_object


def serialize(layer):
    """{'class_name': ..., 'config': ...} of a layer."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """A layer (or model) from {'class_name': ..., 'config': ...}."""
    from ckeras.engine.network import Network
    from ckeras.engine.sequential import Sequential
    from ckeras.engine.training import Model
    objects = {k: v for k, v in globals().items() if isinstance(v, type)}
    objects.update({"Model": Model, "Sequential": Sequential, "Network": Network,
                    "Container": Network})
    return deserialize_keras_object(config, module_objects=objects,
                                    custom_objects=custom_objects,
                                    printable_module_name="layer")
from ckeras.layers.convolutional import (Conv1D, Conv2D, Conv2DTranspose,  # noqa: E402
                                         Convolution1D, Convolution2D, Cropping1D,
                                         Cropping2D, Deconvolution2D, DepthwiseConv2D,
                                         SeparableConv2D, SeparableConvolution2D,
                                         UpSampling1D, UpSampling2D, ZeroPadding1D,
                                         ZeroPadding2D)
from ckeras.layers.pooling import (AveragePooling1D, AveragePooling2D,  # noqa: E402
                                   AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                                   GlobalAveragePooling2D, GlobalAvgPool1D,
                                   GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                                   GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D,
                                   MaxPool2D, MaxPooling1D, MaxPooling2D)
