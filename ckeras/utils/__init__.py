"""Utilities (Keras 2's ``keras.utils``): serialization helpers,
to_categorical/normalize, print_summary, progress bar, downloads, Sequence
and its enqueuers."""
from ckeras.utils.data_utils import (GeneratorEnqueuer, OrderedEnqueuer, Sequence,
                                     SequenceEnqueuer, get_file)
from ckeras.utils.generic_utils import (CustomObjectScope, custom_object_scope,
                                        deserialize_keras_object, get_custom_objects,
                                        serialize_keras_object)
from ckeras.utils.layer_utils import print_summary
from ckeras.utils.np_utils import normalize, to_categorical
from ckeras.utils.progbar import Progbar

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "serialize_keras_object", "print_summary",
           "normalize", "to_categorical", "Progbar", "Sequence", "get_file",
           "SequenceEnqueuer", "OrderedEnqueuer", "GeneratorEnqueuer"]
