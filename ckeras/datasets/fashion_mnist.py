"""Fashion-MNIST: 60,000 train and 10,000 test 28x28 images of clothing."""
import gzip
import os

import numpy as np

from ckeras.utils.data_utils import get_file

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# (file, md5) as published by Zalando Research
FILES = [("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
         ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
         ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
         ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79")]


def _read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data():
    """Loads Fashion-MNIST, downloading its four files once.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 (n, 28, 28),
        y uint8 (n,) with values 0..9.
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=BASE + name, file_hash=md5, cache_subdir=subdir)
             for name, md5 in FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
