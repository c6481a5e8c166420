"""Reading the CIFAR batch files (Python pickles of dicts of arrays)."""
import numpy as np

from ckeras.utils.data_utils import safe_pickle_load


def load_batch(fpath, label_key="labels"):
    """Reads one CIFAR batch file.

    The file is unpickled with an Unpickler that only rebuilds numpy arrays
    and plain containers, so a tampered file cannot run code.

    Args:
        fpath: path of the batch file.
        label_key: 'labels' (CIFAR-10) or 'fine_labels'/'coarse_labels'.

    Returns:
        ``(data, labels)``: data uint8 (n, 3, 32, 32), labels a list.
    """
    with open(fpath, "rb") as f:
        batch = safe_pickle_load(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError("%s is not a CIFAR batch file (expected a dict, got %s)."
                         % (fpath, type(batch).__name__))
    batch = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]
