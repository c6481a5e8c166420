"""UCI handwritten digits: 1,797 8x8 grayscale images of the digits 0-9,
shipped inside ckeras so examples run without a network.

Data: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
Digits", UCI Machine Learning Repository, CC BY 4.0 (exported once from
scikit-learn's copy by ``tools/export_digits.py``).
"""
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")


def load_data(test_split=0.2, seed=113):
    """Loads the digits, shuffled with ``seed`` and split into train and test.

    Args:
        test_split: fraction of the samples kept for the test set, in [0, 1).
        seed: seed of the shuffle; the same seed always gives the same split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 of shape (n, 8, 8)
        with values 0..16, y uint8 of shape (n,) with values 0..9.
    """
    if not 0 <= test_split < 1:
        raise ValueError("test_split must be in [0, 1), got %r." % (test_split,))
    with np.load(_PATH, allow_pickle=False) as f:
        x, y = f["images"], f["labels"]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
