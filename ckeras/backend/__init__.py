"""ckeras backend, imported as ``K`` (``from ckeras import backend as K``).

Concrete, differentiable array ops (numpy arrays in, numpy arrays out;
Tensors while a ``GradientTape`` records), fused C kernels for the hot
ops, symbolic tensors for building models, and ``K.function``.
"""
from ckeras.backend import array_ops as _array_ops
from ckeras.backend import math_ops as _math_ops
from ckeras.backend.array_ops import (batch_flatten, cast, concatenate, expand_dims,
                                      flatten, gather, getitem, identity, one_hot,
                                      ones_like, permute_dimensions, repeat,
                                      repeat_elements, reshape, reverse, shape,
                                      squeeze, stack, stop_gradient, tile, transpose,
                                      zeros_like)
from ckeras.backend.config import (backend, epsilon, floatx, image_data_format,
                                   set_epsilon, set_floatx, set_image_data_format)
from ckeras.backend.conv_ops import (conv1d, conv2d, conv2d_bias_act, conv2d_transpose,
                                    conv2d_transpose_bias_act, depthwise_conv2d,
                                    depthwise_conv2d_bias, pointwise_bias_act, pool2d,
                                    resize_images, separable_conv2d, spatial_2d_padding,
                                    spatial_padding)
from ckeras.backend.function import Function, function, gradients
from ckeras.backend.math_ops import (abs, add, all, any, argmax, argmin, batch_dot, clip,
                                     cos, cumsum, divide, dot, equal, exp, greater,
                                     greater_equal, less, less_equal, log, logsumexp, max,
                                     maximum, mean, min, minimum, multiply, negative,
                                     not_equal, pow, prod, round, sign, sin, sqrt, square,
                                     std, subtract, sum, var)
from ckeras.backend.nn_ops import (ACTIVATIONS, activation, bias_add,
                                   binary_crossentropy, categorical_crossentropy, dense,
                                   dropout, elu, hard_sigmoid, in_test_phase,
                                   in_train_phase, l2_normalize, relu, selu,
                                   set_random_seed, sigmoid, softmax, softplus, softsign,
                                   sparse_categorical_crossentropy, tanh)
from ckeras.backend.recurrent_ops import embedding_lookup, gru, lstm, simple_rnn
from ckeras.backend.tape import GradientTape, stop_recording
from ckeras.backend.tensor import SymbolicTensor, Tensor, Variable
from ckeras.backend.threads import get_num_threads, set_num_threads
from ckeras.backend.variables import (batch_get_value, batch_set_value, clear_session,
                                      constant, count_params, dtype, eval, eye, get_uid,
                                      get_value, int_shape, is_keras_tensor,
                                      is_placeholder, is_tensor, learning_phase, ndim,
                                      ones, placeholder, reset_uids, set_learning_phase,
                                      set_value, update, update_add, update_sub, variable,
                                      zeros)


def _install_operators(cls):
    """Python operators of tensors are the backend ops (so they record)."""
    def rev(fn):
        return lambda self, other: fn(other, self)
    cls.__add__ = lambda self, o: add(self, o)
    cls.__radd__ = rev(add)
    cls.__sub__ = lambda self, o: subtract(self, o)
    cls.__rsub__ = rev(subtract)
    cls.__mul__ = lambda self, o: multiply(self, o)
    cls.__rmul__ = rev(multiply)
    cls.__truediv__ = lambda self, o: divide(self, o)
    cls.__rtruediv__ = rev(divide)
    cls.__pow__ = lambda self, o: pow(self, o)
    cls.__rpow__ = rev(pow)
    cls.__matmul__ = lambda self, o: dot(self, o)
    cls.__neg__ = lambda self: negative(self)
    cls.__abs__ = lambda self: abs(self)
    cls.__gt__ = lambda self, o: greater(self, o)
    cls.__ge__ = lambda self, o: greater_equal(self, o)
    cls.__lt__ = lambda self, o: less(self, o)
    cls.__le__ = lambda self, o: less_equal(self, o)
    cls.__getitem__ = lambda self, i: getitem(self, i)


_install_operators(Tensor)
_install_operators(SymbolicTensor)
del _install_operators, _array_ops, _math_ops
