"""ckeras backend, imported as ``K`` (``from ckeras import backend as K``)."""
from ckeras.backend.threads import get_num_threads, set_num_threads

__all__ = ["get_num_threads", "set_num_threads"]
