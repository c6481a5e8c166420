"""Embedding (Keras 2's ``keras.layers.embeddings``)."""
import numpy as np

from ckeras import constraints, initializers, regularizers
from ckeras.backend.recurrent_ops import embedding as _embedding_op
from ckeras.engine.base_layer import Layer


class Embedding(Layer):
    """Turns integer indices into dense vectors: ``out = embeddings[ids]``.

    Args:
        input_dim: vocabulary size; indices must be in [0, input_dim)
            (others raise ValueError, never read out of bounds).
        output_dim: size of each vector.
        embeddings_initializer: default 'uniform' (+-0.05).
        embeddings_regularizer, activity_regularizer, embeddings_constraint.
        mask_zero: index 0 is padding: the output mask is ``ids != 0``
            (so input_dim should be vocabulary + 1).
        input_length: fixed sequence length, when known (needed before
            Flatten then Dense).

    Input shape: (batch, sequence_length) of integers (any dtype holding
    integers). Output shape: (batch, sequence_length, output_dim).

    Example:
        ``Embedding(10000, 512, input_length=100)``
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None,
                 **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,) if input_length else (None,)
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding layer {self.name}: {arg} must be a positive "
                                 f"int, got {v!r}")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return np.asarray(getattr(inputs, "value", inputs)) != 0

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.input_length is not None and len(shape) == 2:
            if shape[1] not in (None, self.input_length):
                raise ValueError(
                    f'"input_length" is {self.input_length}, but received input has '
                    f"shape {shape} (Embedding layer {self.name})")
            shape = (shape[0], self.input_length)
        return shape + (self.output_dim,)

    def call(self, inputs, training=None):
        return _embedding_op(inputs, self.embeddings)

    def get_config(self):
        config = {
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        }
        return {**super().get_config(), **config}
