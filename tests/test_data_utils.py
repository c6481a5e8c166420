"""get_file against a local HTTP server on 127.0.0.1, and Sequence."""
import hashlib
import io
import os
import socket
import tarfile
import zipfile

import numpy as np
import pytest

from ckeras.utils import data_utils
from tests.loopback import serve_directory
from ckeras.utils.data_utils import Sequence, get_file, validate_file


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/'www' on 127.0.0.1; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    with serve_directory(root) as base:
        yield root, base


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh cache root, as CKERAS_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("CKERAS_HOME", str(path))
    return path


PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes: more than one chunk
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_download_with_sha256_lands_in_ckeras_home(server, home, capsys):
    root, url = server
    (root / "data.bin").write_bytes(PAYLOAD)
    path = get_file("data.bin", url + "data.bin", file_hash=SHA256)
    assert path == str(home / "datasets" / "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    assert os.listdir(home / "datasets") == ["data.bin"]  # no temporary file left
    assert "Downloading data from " + url + "data.bin" in capsys.readouterr().out
    # cached: no second download even with the server's copy gone
    os.remove(root / "data.bin")
    assert get_file("data.bin", url + "data.bin", file_hash=SHA256) == path
    assert "Downloading" not in capsys.readouterr().out


def test_md5_hash_cache_subdir_and_cache_dir(server, tmp_path):
    root, url = server
    (root / "data.bin").write_bytes(PAYLOAD)
    path = get_file("d.bin", url + "data.bin", md5_hash=MD5, cache_subdir="sub",
                    cache_dir=str(tmp_path / "cache"))
    assert path == str(tmp_path / "cache" / "sub" / "d.bin")
    assert validate_file(path, MD5) and validate_file(path, SHA256)
    assert validate_file(path, MD5, algorithm="md5") and not validate_file(path, "0" * 32)
    path = get_file("e.bin", url + "data.bin", file_hash=MD5, hash_algorithm="md5",
                    cache_dir=str(tmp_path / "cache"))
    assert open(path, "rb").read() == PAYLOAD


def test_checksum_mismatch_removes_the_download_and_says_so(server, home):
    root, url = server
    (root / "data.bin").write_bytes(PAYLOAD)
    with pytest.raises(ValueError, match="Incomplete or corrupted download from .*data.bin: "
                                         "its sha256 hash is %s, expected f+\\. The bad file "
                                         "was removed" % SHA256):
        get_file("data.bin", url + "data.bin", file_hash="f" * 64)
    assert os.listdir(home / "datasets") == []


def test_stale_cached_file_is_downloaded_again(server, home, capsys):
    root, url = server
    (root / "data.bin").write_bytes(PAYLOAD)
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "data.bin").write_bytes(b"truncated")
    path = get_file("data.bin", url + "data.bin", file_hash=SHA256)
    assert open(path, "rb").read() == PAYLOAD
    assert "does not match the expected" in capsys.readouterr().out


def test_http_404_names_the_url_and_the_manual_fix(server, home):
    _, url = server
    with pytest.raises(OSError) as info:
        get_file("missing.npz", url + "missing.npz", file_hash=SHA256)
    message = str(info.value)
    assert "URL fetch failure on %smissing.npz: HTTP error 404" % url in message
    assert "copy it to %s" % (home / "datasets" / "missing.npz") in message
    assert os.listdir(home / "datasets") == []


def test_connection_refused_names_the_url_and_the_manual_fix(home):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = "http://127.0.0.1:%d/mnist.npz" % port
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "mnist.npz").write_bytes(b"old")
    with pytest.raises(OSError, match="URL fetch failure on %s: .*refused.*If this machine is "
                                      "offline, download %s on another machine and copy it "
                                      "to .*mnist.npz.*does not match the expected hash"
                       % (url, url)):
        get_file("mnist.npz", url, file_hash=SHA256)


def test_bad_hash_algorithm():
    with pytest.raises(ValueError, match="hash_algorithm must be 'auto', 'sha256' or 'md5', "
                                         "got 'sha1'"):
        get_file("x", "http://127.0.0.1:1/x", file_hash="ab", hash_algorithm="sha1")


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_untar_extracts_next_to_the_archive_once(server, home):
    root, url = server
    archive = _tar_gz({"batches/a.txt": b"A", "batches/b.txt": b"B"})
    (root / "b.tar.gz").write_bytes(archive)
    digest = hashlib.sha256(archive).hexdigest()
    path = get_file("batches", url + "b.tar.gz", untar=True, file_hash=digest)
    assert path == str(home / "datasets" / "batches")
    assert sorted(os.listdir(path)) == ["a.txt", "b.txt"]
    assert os.path.exists(str(home / "datasets" / "batches.tar.gz"))


@pytest.mark.parametrize("python_has_data_filter", [True, False])
def test_extract_zip_and_tar(server, home, monkeypatch, python_has_data_filter):
    root, url = server
    if not python_has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("z/inside.txt", "zipped")
    (root / "z.zip").write_bytes(buffer.getvalue())
    get_file("z.zip", url + "z.zip", extract=True)
    assert (home / "datasets" / "z" / "inside.txt").read_text() == "zipped"
    (root / "t.tar.gz").write_bytes(_tar_gz({"t/inside.txt": b"tarred"}))
    get_file("t.tar.gz", url + "t.tar.gz", extract=True)
    assert (home / "datasets" / "t" / "inside.txt").read_text() == "tarred"


@pytest.mark.parametrize("python_has_data_filter", [True, False])
def test_tar_members_escaping_the_directory_are_refused(server, home, monkeypatch,
                                                        python_has_data_filter):
    root, url = server
    if not python_has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    (root / "evil.tar.gz").write_bytes(_tar_gz({"../escaped.txt": b"x"}))
    with pytest.raises(tarfile.TarError):
        get_file("evil", url + "evil.tar.gz", untar=True)
    assert not (home / "escaped.txt").exists()
    assert not (home / "datasets" / "evil").exists()


def test_unwritable_home_falls_back_to_the_temp_dir(server, tmp_path, monkeypatch):
    root, url = server
    (root / "data.bin").write_bytes(PAYLOAD)
    monkeypatch.setattr(data_utils.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    monkeypatch.setattr(data_utils, "_parent_writable", lambda path: False)
    path = get_file("data.bin", url + "data.bin", file_hash=SHA256)
    assert path == str(tmp_path / "tmp" / ".ckeras" / "datasets" / "data.bin")


def test_ckeras_home_defaults_to_dot_ckeras(monkeypatch):
    monkeypatch.delenv("CKERAS_HOME", raising=False)
    assert data_utils.ckeras_home() == os.path.expanduser(os.path.join("~", ".ckeras"))


class Batches(Sequence):
    def __init__(self, x, batch_size):
        self.x, self.batch_size = x, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, index):
        return self.x[index * self.batch_size:(index + 1) * self.batch_size]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_sequence_indexing_iteration_and_epoch_end():
    batches = Batches(np.arange(10), 4)
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[2], [8, 9])
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    batches.on_epoch_end()
    assert batches.epochs_ended == 1
    Sequence().on_epoch_end()
    with pytest.raises(NotImplementedError, match="must implement __len__"):
        len(Sequence())
    with pytest.raises(NotImplementedError, match="must implement __getitem__"):
        Sequence()[0]
