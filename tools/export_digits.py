"""Exports the UCI handwritten digits (8x8, 1,797 samples) bundled with
ckeras, once, from scikit-learn's copy.

Run in any environment that has scikit-learn (not a ckeras dependency):

    python tools/export_digits.py ckeras/datasets/data/digits.npz

Data: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
Digits", UCI Machine Learning Repository, CC BY 4.0.
"""
import sys

import numpy as np
from sklearn.datasets import load_digits


def main(path):
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # (1797, 8, 8), values 0..16
    labels = digits.target.astype(np.uint8)  # (1797,), 0..9
    assert images.max() <= 16 and images.shape == (1797, 8, 8)
    np.savez_compressed(path, images=images, labels=labels)
    print(f"wrote {path}: images {images.shape}, labels {labels.shape}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ckeras/datasets/data/digits.npz")
