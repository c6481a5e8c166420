"""Activation functions, by name or function (Keras 2's
``keras.activations``). Each takes and returns a tensor; the named ones
run the fused C activation kernel for float32."""
from ckeras import backend as K
from ckeras.utils.generic_utils import deserialize_keras_object


def softmax(x, axis=-1):
    return K.softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return K.elu(x, alpha)


def selu(x):
    return K.selu(x)


def softplus(x):
    return K.softplus(x)


def softsign(x):
    return K.softsign(x)


def relu(x, alpha=0.0, max_value=None):
    return K.relu(x, alpha=alpha, max_value=max_value)


def tanh(x):
    return K.tanh(x)


def sigmoid(x):
    return K.sigmoid(x)


def hard_sigmoid(x):
    return K.hard_sigmoid(x)


def linear(x):
    return x


_BY_NAME = {f.__name__: f for f in (softmax, elu, selu, softplus, softsign, relu, tanh,
                                    sigmoid, hard_sigmoid, linear)}


def kernel_name(fn):
    """The C kernel's name for a built-in activation function, else None."""
    name = getattr(fn, "__name__", None)
    return name if _BY_NAME.get(name) is fn else None


def serialize(activation):
    return activation.__name__


def deserialize(name, custom_objects=None):
    return deserialize_keras_object(name, module_objects=_BY_NAME,
                                    custom_objects=custom_objects,
                                    printable_module_name="activation function")


def get(identifier):
    """An activation function from a name, a function or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: "
                     f"{identifier!r}")
