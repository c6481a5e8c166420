"""IMDB movie reviews: 25,000 train and 25,000 test reviews labelled by
sentiment, each a list of word indices (index i = i-th most frequent word).
"""
import json
import warnings

import numpy as np

from ckeras.utils.data_utils import get_file, load_npz

ORIGIN = "https://s3.amazonaws.com/text-datasets/imdb.npz"
FILE_HASH = "599dadb1135973df5b59232a0e9a887c"  # md5, as in Keras 2
WORD_INDEX_ORIGIN = "https://s3.amazonaws.com/text-datasets/imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5


def _object_array(sequences):
    """A 1-D object array of lists (np.array would make ragged lists fail,
    or equal-length lists a 2-D array)."""
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out


def _remove_long_seq(maxlen, seqs, labels):
    kept = [(x, y) for x, y in zip(seqs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB reviews, downloading them once.

    Args:
        path: file name in the cache (``$CKERAS_HOME/datasets``).
        num_words: keep only the ``num_words`` most frequent words; rarer
            ones become ``oov_char`` (or are dropped if it is None).
        skip_top: also replace the ``skip_top`` most frequent words.
        maxlen: drop the reviews with ``maxlen`` or more words.
        seed: seed of the shuffle of each split (Keras 2's order).
        start_char: index put at the start of every review (None: none).
        oov_char: index of the words cut by ``num_words``/``skip_top``.
        index_from: offset added to every word index.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x object arrays of lists
        of int, y int arrays of 0 (negative) and 1 (positive).
    """
    if "nb_words" in kwargs:
        warnings.warn("The `nb_words` argument in `load_data` has been renamed `num_words`.")
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError("Unrecognized keyword arguments: " + str(kwargs))
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    f = load_npz(path)
    x_train, labels_train = f["x_train"], f["y_train"]
    x_test, labels_test = f["x_test"], f["y_test"]

    rng = np.random.RandomState(seed)  # one stream, train then test, as Keras
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    def shift(xs):
        if start_char is not None:
            return [[start_char] + [w + index_from for w in x] for x in xs]
        return [[w + index_from for w in x] for x in xs]

    x_train, x_test = shift(x_train), shift(x_test)
    labels_train, labels_test = list(labels_train), list(labels_test)
    if maxlen:
        x_train, labels_train = _remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = _remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError("After filtering for sequences shorter than maxlen=%s, no "
                             "sequence was kept. Increase maxlen." % maxlen)
    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n_train = len(x_train)
    return ((_object_array(xs[:n_train]), np.array(labels_train)),
            (_object_array(xs[n_train:]), np.array(labels_test)))


def get_word_index(path="imdb_word_index.json"):
    """The dict from word to its index (1 = most frequent), downloaded once."""
    path = get_file(path, origin=WORD_INDEX_ORIGIN, file_hash=WORD_INDEX_HASH)
    with open(path) as f:
        return json.load(f)
