"""ckeras.utils: Keras 2 utilities (progress bar, downloads, Sequence)."""
from ckeras.utils.data_utils import Sequence, get_file
from ckeras.utils.progbar import Progbar

__all__ = ["Progbar", "Sequence", "get_file"]
