"""CIFAR-10: 50,000 train and 10,000 test 32x32 colour images, 10 classes."""
import os

import numpy as np

from ckeras.datasets.cifar import load_batch
from ckeras.utils.data_utils import get_file

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"  # sha256
DIRNAME = "cifar-10-batches-py"
BATCH_SIZE = 10000


def _image_data_format():
    from ckeras import backend as K
    get_format = getattr(K, "image_data_format", None)
    return get_format() if get_format is not None else "channels_last"


def load_data():
    """Loads CIFAR-10, downloading and extracting it once.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 (n, 32, 32, 3)
        (or (n, 3, 32, 32) when the image data format is
        'channels_first'), y uint8 (n, 1) with values 0..9.
    """
    path = get_file(DIRNAME, origin=ORIGIN, untar=True, file_hash=FILE_HASH)
    x_train = np.empty((5 * BATCH_SIZE, 3, 32, 32), dtype="uint8")
    y_train = np.empty((5 * BATCH_SIZE,), dtype="uint8")
    for i in range(5):
        rows = slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE)
        x_train[rows], y_train[rows] = load_batch(os.path.join(path, "data_batch_%d" % (i + 1)))
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = y_train.reshape(-1, 1)
    y_test = np.asarray(y_test, dtype="uint8").reshape(-1, 1)
    if _image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
