"""MNIST handwritten digits: 60,000 train and 10,000 test 28x28 images."""
from ckeras.utils.data_utils import get_file, load_npz

ORIGIN = "https://s3.amazonaws.com/img-datasets/mnist.npz"
FILE_HASH = "8a61469f7ea1b51cbae51d4f78837e45"  # md5, as in Keras 2


def load_data(path="mnist.npz"):
    """Loads MNIST, downloading it once.

    Args:
        path: file name in the cache (``$CKERAS_HOME/datasets``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 (n, 28, 28),
        y uint8 (n,) with values 0..9.
    """
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    f = load_npz(path)
    return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
