"""Boston housing prices: 506 samples of 13 attributes, target in k$."""
import numpy as np

from ckeras.utils.data_utils import get_file, load_npz

ORIGIN = "https://s3.amazonaws.com/keras-datasets/boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"  # sha256


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston housing data, shuffled with ``seed`` and split.

    Args:
        path: file name in the cache (``$CKERAS_HOME/datasets``).
        test_split: fraction of the samples kept for the test set, in [0, 1).
        seed: seed of the shuffle (same split as Keras 2 for the same seed).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x float (n, 13), y float (n,).
    """
    if not 0 <= test_split < 1:
        raise ValueError("test_split must be in [0, 1), got %r." % (test_split,))
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    f = load_npz(path)
    x, y = f["x"], f["y"]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (np.array(x[:n_train]), np.array(y[:n_train])), \
        (np.array(x[n_train:]), np.array(y[n_train:]))
