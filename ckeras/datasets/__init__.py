"""Keras 2 datasets. Each module's ``load_data()`` returns
``(x_train, y_train), (x_test, y_test)`` as numpy arrays.

``digits`` ships inside the package (no network); the others download once
to ``$CKERAS_HOME/datasets`` (default ``~/.ckeras/datasets``) from Keras 2's
origins and are checked against known hashes.
"""
from ckeras.datasets import (boston_housing, cifar10, digits, fashion_mnist, imdb,
                             mnist)

__all__ = ["boston_housing", "cifar10", "digits", "fashion_mnist", "imdb", "mnist"]
