"""Embedding (Keras 2's ``keras.layers.embeddings``)."""
import numpy as np

from ckeras import constraints, initializers, regularizers
from ckeras import backend as K
from ckeras.engine.base_layer import Layer


class Embedding(Layer):
    """Turns integer indices into dense vectors: ``embeddings[indices]``.

    Args:
        input_dim: vocabulary size (indices are in [0, input_dim)).
        output_dim: size of each vector.
        embeddings_initializer: default 'uniform' (U(-0.05, 0.05)).
        embeddings_regularizer, activity_regularizer, embeddings_constraint.
        mask_zero: index 0 is padding; the output mask is ``indices != 0``
            (so input_dim should be vocabulary size + 1).
        input_length: fixed sequence length, when known.

    Input shape: (batch, sequence_length) integers (floats holding integers
    are accepted). Output shape: (batch, sequence_length, output_dim).
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
                raise ValueError(f"Embedding {self.name}: {arg} must be a positive int, "
                                 f"got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.input_length = input_length
        self.embeddings = None

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint)
        self.built = True

    @property
    def _produces_mask(self):
        return self.mask_zero

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return K.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        if self.input_length is None:
            return tuple(input_shape) + (self.output_dim,)
        lengths = self.input_length if isinstance(self.input_length, (list, tuple)) \
            else [self.input_length]
        if len(lengths) != len(input_shape) - 1:
            raise ValueError(f"Embedding {self.name}: input_length is {self.input_length}"
                             f" but the input has shape {input_shape}")
        known = tuple(s2 if s2 is not None else s1
                      for s1, s2 in zip(lengths, input_shape[1:]))
        return (input_shape[0],) + known + (self.output_dim,)

    def call(self, inputs, training=None):
        return K.embedding_lookup(self.embeddings, inputs)

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
