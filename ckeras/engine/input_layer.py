"""InputLayer and Input(): the entry points of a model graph."""
from ckeras import backend as K
from ckeras.backend.tensor import SymbolicTensor
from ckeras.engine.base_layer import Layer
from ckeras.engine.node import Node


class InputLayer(Layer):
    """The layer behind an ``Input`` tensor: it holds the tensor and does
    nothing when the model runs.

    Args:
        input_shape: shape without the batch axis, or
        batch_input_shape: full shape (batch first; None = any size).
        batch_size, dtype, name, sparse, input_tensor as in Keras 2.
    """

    is_input_layer = True

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None,
                 dtype=None, input_tensor=None, sparse=False, name=None):
        if not name:
            name = f"input_{K.get_uid('input')}"
        super().__init__(name=name, dtype=dtype)
        self.trainable = False
        self.built = True
        self.sparse = sparse
        if input_shape is not None and batch_input_shape is not None:
            raise ValueError("Only provide the input_shape OR batch_input_shape "
                             "argument to InputLayer, not both at the same time.")
        if input_tensor is not None and batch_input_shape is None:
            batch_input_shape = input_tensor._keras_shape
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("An Input layer should be passed either a "
                                 "`batch_input_shape` or an `input_shape`.")
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self.batch_input_shape = tuple(batch_input_shape)
        self.dtype = dtype or K.floatx()
        if input_tensor is None:
            input_tensor = SymbolicTensor(self.batch_input_shape, dtype=self.dtype,
                                          name=name)
        input_tensor._keras_history = (self, 0, 0)
        input_tensor._keras_shape = self.batch_input_shape
        Node(self, inbound_layers=[], node_indices=[], tensor_indices=[],
             input_tensors=[input_tensor], output_tensors=[input_tensor],
             input_shapes=[self.batch_input_shape],
             output_shapes=[self.batch_input_shape])

    def get_config(self):
        return {"batch_input_shape": self.batch_input_shape, "dtype": self.dtype,
                "sparse": self.sparse, "name": self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False,  # noqa: N802
          tensor=None):
    """A symbolic input tensor of a model.

    Args:
        shape: shape tuple without the batch axis (None = any size).
        batch_shape: full shape including the batch axis.
        name, dtype (default floatx), sparse, tensor as in Keras 2.

    Example:
        ``inputs = Input(shape=(784,))``
    """
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` "
                         "argument. Note that `shape` does not include the batch "
                         "dimension.")
    if shape is not None and batch_shape is None:
        if isinstance(shape, int):
            shape = (shape,)
        batch_shape = (None,) + tuple(shape)
    layer = InputLayer(batch_input_shape=batch_shape, name=name, dtype=dtype,
                       sparse=sparse, input_tensor=tensor)
    return layer._inbound_nodes[0].output_tensors[0]
