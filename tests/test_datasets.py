"""Dataset loaders: the bundled digits, and the downloaded ones served
from fake files by a loopback HTTP server (origins and hashes patched)."""
import gzip
import hashlib
import io
import json
import os
import pickle
import socket
import tarfile

import numpy as np
import pytest

from ckeras.datasets import (boston_housing, cifar, cifar10, digits, fashion_mnist, imdb,
                             mnist)
from ckeras.utils.data_utils import load_npz
from tests.loopback import serve_directory


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """serve(name, data) publishes bytes at a loopback URL and returns
    (url, sha256). Downloads land in a fresh CKERAS_HOME."""
    monkeypatch.setenv("CKERAS_HOME", str(tmp_path / "home"))
    root = tmp_path / "www"
    root.mkdir()
    with serve_directory(root) as base:

        def publish(name, data):
            (root / name).write_bytes(data)
            return base + name, hashlib.sha256(data).hexdigest()

        publish.base = base
        yield publish


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


# digits (bundled)

def test_digits_shapes_types_and_deterministic_split():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() <= 16 and set(np.unique(y_train)) == set(range(10))
    (x_again, _), _ = digits.load_data()
    np.testing.assert_array_equal(x_again, x_train)
    (x_other, _), _ = digits.load_data(seed=1)
    assert not np.array_equal(x_other, x_train)


def test_digits_split_is_a_permutation_of_all_samples():
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=0.5, seed=7)
    assert len(x_train) == 898 and len(x_test) == 899
    with np.load(digits._PATH) as f:
        images, labels = f["images"], f["labels"]
    order = np.random.RandomState(7).permutation(len(images))
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), images[order])
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), labels[order])
    (x_all, _), (x_none, _) = digits.load_data(test_split=0)
    assert len(x_all) == 1797 and len(x_none) == 0
    with pytest.raises(ValueError, match="test_split must be in \\[0, 1\\), got 1.0"):
        digits.load_data(test_split=1.0)


# downloaded datasets

def test_mnist_downloads_checks_and_loads(serve, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "y_train": np.arange(5, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": np.arange(2, dtype=np.uint8)}
    url, digest = serve("mnist.npz", npz_bytes(**arrays))
    monkeypatch.setattr(mnist, "ORIGIN", url)
    monkeypatch.setattr(mnist, "FILE_HASH", digest)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, name in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                      (y_test, "y_test")):
        np.testing.assert_array_equal(got, arrays[name])
    assert os.path.exists(str(tmp_path / "home" / "datasets" / "mnist.npz"))


def test_mnist_offline_error_names_url_and_where_to_put_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CKERAS_HOME", str(tmp_path / "home"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = "http://127.0.0.1:%d/mnist.npz" % port
    monkeypatch.setattr(mnist, "ORIGIN", url)
    with pytest.raises(OSError, match="URL fetch failure on %s.*copy it to .*mnist.npz" % url):
        mnist.load_data()


def test_mnist_keeps_keras_origin_and_hash():
    assert mnist.ORIGIN == "https://s3.amazonaws.com/img-datasets/mnist.npz"
    assert len(mnist.FILE_HASH) == 32 and len(cifar10.FILE_HASH) == 64


def test_fashion_mnist_reads_idx_files(serve, monkeypatch):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    contents = {"train-labels-idx1-ubyte.gz": b"\0" * 8 + bytes([1, 2, 3]),
                "train-images-idx3-ubyte.gz": b"\0" * 16 + x_train.tobytes(),
                "t10k-labels-idx1-ubyte.gz": b"\0" * 8 + bytes([9, 8]),
                "t10k-images-idx3-ubyte.gz": b"\0" * 16 + x_test.tobytes()}
    files = []
    for name, _ in fashion_mnist.FILES:
        data = gzip.compress(contents[name])
        serve(name, data)
        files.append((name, hashlib.md5(data).hexdigest()))
    monkeypatch.setattr(fashion_mnist, "BASE", serve.base)
    monkeypatch.setattr(fashion_mnist, "FILES", files)
    (xa, ya), (xb, yb) = fashion_mnist.load_data()
    np.testing.assert_array_equal(xa, x_train)
    np.testing.assert_array_equal(xb, x_test)
    assert ya.tolist() == [1, 2, 3] and yb.tolist() == [9, 8]
    assert os.path.exists(os.path.join(os.environ["CKERAS_HOME"], "datasets", "fashion-mnist",
                                       "t10k-labels-idx1-ubyte.gz"))


def _cifar_archive(batches):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, batch in batches.items():
            data = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cifar10_extracts_and_reads_pickled_batches(serve, monkeypatch, data_format):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 3 * 32 * 32), dtype=np.uint8)
    names = ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]
    batches = {name: {b"batch_label": b"batch %d" % i, b"data": images[2 * i:2 * i + 2],
                      b"labels": [i, 9 - i], b"filenames": [b"a.png", b"b.png"]}
               for i, name in enumerate(names)}
    url, digest = serve("cifar-10-python.tar.gz", _cifar_archive(batches))
    monkeypatch.setattr(cifar10, "ORIGIN", url)
    monkeypatch.setattr(cifar10, "FILE_HASH", digest)
    monkeypatch.setattr(cifar10, "BATCH_SIZE", 2)
    monkeypatch.setattr(cifar10, "_image_data_format", lambda: data_format)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    expected = images.reshape(12, 3, 32, 32)
    if data_format == "channels_last":
        expected = expected.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected[:10])
    np.testing.assert_array_equal(x_test, expected[10:])
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1)
    assert y_train.ravel().tolist() == [0, 9, 1, 8, 2, 7, 3, 6, 4, 5]
    assert y_test.dtype == np.uint8 and y_test.ravel().tolist() == [5, 4]


class _MakesDirectory(object):
    """Unpickling this calls os.mkdir(path): a stand-in for any code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_cifar_batches_that_would_run_code_are_refused(tmp_path):
    victim = str(tmp_path / "pwned")
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _MakesDirectory(victim), b"labels": []}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.mkdir"):
        cifar.load_batch(str(path))
    assert not os.path.exists(victim)
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match="not a CIFAR batch file"):
        cifar.load_batch(str(path))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_cifar_batch_pickles_of_any_protocol_load(tmp_path, protocol):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({b"data": data, b"fine_labels": [3, 4]}, protocol=protocol))
    images, labels = cifar.load_batch(str(path), label_key="fine_labels")
    np.testing.assert_array_equal(images, data.reshape(2, 3, 32, 32))
    assert labels == [3, 4]


def test_npz_object_arrays_that_would_run_code_are_refused(tmp_path):
    victim = str(tmp_path / "pwned")
    path = str(tmp_path / "evil.npz")
    np.savez(path, x_train=object_array([_MakesDirectory(victim)]))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_npz(path)
    assert not os.path.exists(victim)


IMDB_X_TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [1]]
IMDB_X_TEST = [[9, 9], [2, 4, 6]]


@pytest.fixture
def fake_imdb(serve, monkeypatch):
    data = npz_bytes(x_train=object_array(IMDB_X_TRAIN), y_train=np.array([0, 1, 0, 1]),
                     x_test=object_array(IMDB_X_TEST), y_test=np.array([1, 0]))
    url, digest = serve("imdb.npz", data)
    monkeypatch.setattr(imdb, "ORIGIN", url)
    monkeypatch.setattr(imdb, "FILE_HASH", digest)
    rng = np.random.RandomState(113)
    train_order = np.arange(4)
    rng.shuffle(train_order)
    test_order = np.arange(2)
    rng.shuffle(test_order)
    return ([IMDB_X_TRAIN[i] for i in train_order], [[0, 1, 0, 1][i] for i in train_order],
            [IMDB_X_TEST[i] for i in test_order], [[1, 0][i] for i in test_order])


def test_imdb_default_shifts_indices_and_adds_start_char(fake_imdb):
    x_train, y_train, x_test, y_test = fake_imdb
    (xa, ya), (xb, yb) = imdb.load_data()
    assert xa.dtype == object and xa.shape == (4,)
    # as in Keras 2, num_words=None means the largest index, which is itself
    # excluded (w < num_words) and becomes oov_char
    def expected(xs):
        return [[1] + [w + 3 if w + 3 < 12 else 2 for w in x] for x in xs]

    assert list(xa) == expected(x_train)
    assert list(xb) == expected(x_test)
    assert ya.tolist() == y_train and yb.tolist() == y_test


def test_imdb_num_words_skip_top_oov_and_maxlen(fake_imdb):
    x_train, _, _, _ = fake_imdb
    (xa, _), _ = imdb.load_data(num_words=8, skip_top=2, start_char=None, index_from=0)
    assert list(xa) == [[w if 2 <= w < 8 else 2 for w in x] for x in x_train]
    (xa, _), _ = imdb.load_data(num_words=8, oov_char=None, start_char=None, index_from=0)
    assert list(xa) == [[w for w in x if w < 8] for x in x_train]
    x_train, y_train, x_test, y_test = fake_imdb
    (xa, ya), (xb, yb) = imdb.load_data(maxlen=4)  # with start_char: keeps lengths < 4
    assert [len(x) for x in xa] == [len(x) + 1 for x in x_train if len(x) + 1 < 4]
    assert ya.tolist() == [y for x, y in zip(x_train, y_train) if len(x) + 1 < 4]
    assert [len(x) for x in xb] == [3] and yb.tolist() == [y_test[x_test.index([9, 9])]]
    with pytest.raises(ValueError, match="no sequence was kept. Increase maxlen"):
        imdb.load_data(maxlen=2)


def test_imdb_legacy_and_unknown_keywords(fake_imdb):
    x_train, _, _, _ = fake_imdb
    with pytest.warns(UserWarning, match="`nb_words` .* renamed `num_words`"):
        (xa, _), _ = imdb.load_data(nb_words=5, start_char=None, index_from=0)
    assert list(xa) == [[w if w < 5 else 2 for w in x] for x in x_train]
    with pytest.raises(TypeError, match="Unrecognized keyword arguments: {'max_len': 3}"):
        imdb.load_data(max_len=3)


def test_imdb_word_index(serve, monkeypatch):
    data = json.dumps({"the": 1, "and": 2}).encode()
    url, digest = serve("imdb_word_index.json", data)
    monkeypatch.setattr(imdb, "WORD_INDEX_ORIGIN", url)
    monkeypatch.setattr(imdb, "WORD_INDEX_HASH", digest)
    assert imdb.get_word_index() == {"the": 1, "and": 2}


def test_boston_housing_split_like_keras(serve, monkeypatch):
    x = np.arange(10 * 13, dtype=np.float64).reshape(10, 13)
    y = np.arange(10, dtype=np.float64)
    url, digest = serve("boston_housing.npz", npz_bytes(x=x, y=y))
    monkeypatch.setattr(boston_housing, "ORIGIN", url)
    monkeypatch.setattr(boston_housing, "FILE_HASH", digest)
    (xa, ya), (xb, yb) = boston_housing.load_data(test_split=0.3, seed=5)
    order = np.random.RandomState(5).permutation(10)
    assert xa.shape == (7, 13) and xb.shape == (3, 13)
    np.testing.assert_array_equal(np.concatenate([xa, xb]), x[order])
    np.testing.assert_array_equal(np.concatenate([ya, yb]), y[order])
    with pytest.raises(ValueError, match="test_split must be in"):
        boston_housing.load_data(test_split=-0.1)
