"""Files and batches for training: ``get_file`` (cached, checksummed
downloads), ``Sequence`` (an indexable source of batches) and, from
``enqueuers.py``, the enqueuers that fetch batches in worker threads or
processes (``OrderedEnqueuer``, ``GeneratorEnqueuer``).

Downloads are cached under ``$CKERAS_HOME/<cache_subdir>`` (default
``~/.ckeras/datasets``). A download is written to a temporary file in the
cache directory, checked against the expected hash, and only then renamed
into place, so an interrupted or corrupted download never leaves a file
that looks valid.
"""
import builtins
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

import numpy as np

from ckeras.utils.progbar import Progbar

_CHUNK_SIZE = 64 * 1024
_TIMEOUT_SECONDS = 60


class Sequence(object):
    """Base class for a sequence of batches, e.g. for ``fit_generator``.

    Subclasses implement ``__getitem__`` (batch ``index`` as a tuple
    ``(x, y)`` or ``(x, y, sample_weight)``) and ``__len__`` (the number of
    batches per epoch), and may implement ``on_epoch_end`` (e.g. to
    reshuffle). Every batch is reachable by index, so a Sequence can be
    read in any order and exactly once per epoch.

    Example:
        ```python
        class ArrayBatches(Sequence):
            def __init__(self, x, y, batch_size):
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return int(np.ceil(len(self.x) / float(self.batch_size)))

            def __getitem__(self, idx):
                s = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
                return self.x[s], self.y[s]
        ```
    """

    def __getitem__(self, index):
        raise NotImplementedError("%s must implement __getitem__(index)." % type(self).__name__)

    def __len__(self):
        raise NotImplementedError("%s must implement __len__()." % type(self).__name__)

    def on_epoch_end(self):
        """Called at the end of every epoch; does nothing by default."""

    def __iter__(self):
        """Yields the batches of one epoch, in order."""
        for index in range(len(self)):
            yield self[index]


def ckeras_home():
    """The cache root: ``$CKERAS_HOME``, else ``~/.ckeras``."""
    return os.path.expanduser(os.environ.get("CKERAS_HOME") or os.path.join("~", ".ckeras"))


def _resolve_hasher(file_hash, algorithm):
    if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64):
        return "sha256", hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return "md5", hashlib.md5()
    raise ValueError("hash_algorithm must be 'auto', 'sha256' or 'md5', got %r." % (algorithm,))


def _hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK_SIZE):
    """Hex digest of a file with 'sha256' or 'md5'."""
    hasher = hashlib.sha256() if algorithm in ("sha256", "auto") else hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK_SIZE):
    """Whether the file's hash equals ``file_hash``.

    Args:
        algorithm: 'sha256', 'md5', or 'auto' (sha256 for a 64-digit hash,
            else md5).
    """
    name, _ = _resolve_hasher(file_hash, algorithm)
    return _hash_file(fpath, name, chunk_size) == str(file_hash).lower()


def _manual_hint(origin, fpath):
    return ("If this machine is offline, download %s on another machine and "
            "copy it to %s, then call again." % (origin, fpath))


def _download(origin, fpath, file_hash, hash_algorithm, stale_note):
    """Fetches ``origin`` into ``fpath`` atomically, checking the hash."""
    print("Downloading data from", origin)
    fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(fpath) + ".", suffix=".part",
                                    dir=os.path.dirname(fpath))
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(origin, timeout=_TIMEOUT_SECONDS)
            except urllib.error.HTTPError as e:
                raise OSError("URL fetch failure on %s: HTTP error %s %s. %s%s"
                              % (origin, e.code, e.reason, _manual_hint(origin, fpath),
                                 stale_note)) from None
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise OSError("URL fetch failure on %s: %s. %s%s"
                              % (origin, reason, _manual_hint(origin, fpath), stale_note)) from None
            with response:
                total = response.headers.get("Content-Length")
                bar = Progbar(int(total)) if total and int(total) > 0 else None
                done = 0
                for chunk in iter(lambda: response.read(_CHUNK_SIZE), b""):
                    out.write(chunk)
                    done += len(chunk)
                    if bar is not None:
                        bar.update(min(done, bar.target))
        if file_hash is not None:
            name, _ = _resolve_hasher(file_hash, hash_algorithm)
            actual = _hash_file(tmp_path, name)
            if actual != str(file_hash).lower():
                raise ValueError(
                    "Incomplete or corrupted download from %s: its %s hash is %s, expected %s. "
                    "The bad file was removed. Try again, or download the file by hand and "
                    "place it at %s." % (origin, name, actual, file_hash, fpath))
        os.replace(tmp_path, fpath)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar or zip archive into ``path``; returns whether it did.

    Tar members are filtered with tarfile's 'data' filter (no absolute
    paths, no escaping ``path``, no device files). On failure, whatever
    was extracted is removed.
    """
    if archive_format is None:
        return False
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    for kind in archive_format:
        if kind == "tar":
            is_match, opener = tarfile.is_tarfile, tarfile.open
        elif kind == "zip":
            is_match, opener = zipfile.is_zipfile, zipfile.ZipFile
        else:
            raise ValueError("archive_format must be 'auto', 'tar', 'zip', a list of them or "
                             "None, got %r." % (kind,))
        if not is_match(file_path):
            continue
        with opener(file_path) as archive:
            names = archive.getnames() if kind == "tar" else archive.namelist()
            try:
                if kind == "tar":
                    _safe_extract_tar(archive, path)
                else:
                    archive.extractall(path)
            except BaseException:
                for name in {n.split("/")[0] for n in names if n}:
                    target = os.path.join(path, name)
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target, ignore_errors=True)
                    elif os.path.exists(target):
                        os.remove(target)
                raise
        return True
    return False


def _safe_extract_tar(archive, path):
    """extractall refusing members that would escape ``path`` or aren't
    plain files and directories."""
    if hasattr(tarfile, "data_filter"):  # Python 3.9.17+, 3.10.12+, 3.11.4+
        archive.extractall(path, filter="data")
        return
    root = os.path.realpath(path)
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(root, member.name))
        if not (member.isfile() or member.isdir()) or os.path.isabs(member.name) or \
                os.path.commonpath([root, target]) != root:
            raise tarfile.TarError("refusing to extract %r: it is not a plain file or "
                                   "directory inside %s" % (member.name, path))
    archive.extractall(path)


def get_file(fname, origin, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None):
    """Downloads a file from a URL unless it is already in the cache.

    Args:
        fname: name of the file. An absolute path is used as is.
        origin: URL of the file.
        untar: deprecated in favour of ``extract``; the file is the archive
            ``fname + '.tar.gz'``, extracted next to it, and the path
            ``cache_dir/cache_subdir/fname`` is returned.
        md5_hash: deprecated in favour of ``file_hash``: an md5 hex digest.
        file_hash: expected sha256 or md5 hex digest of the file. A cached
            file that does not match is downloaded again; a download that
            does not match is removed and raises ValueError.
        cache_subdir: subdirectory of the cache root.
        hash_algorithm: 'md5', 'sha256' or 'auto' (by the hash's length).
        extract: extract the file as an archive (tar, tar.gz, tar.bz2, zip).
        archive_format: 'auto', 'tar', 'zip', a list of those, or None.
        cache_dir: cache root; default ``$CKERAS_HOME`` or ``~/.ckeras``.

    Returns:
        Path to the downloaded (or extracted, with ``untar``) file.

    Raises:
        OSError: the file could not be fetched (offline, HTTP error); the
            message names the URL and where to place the file by hand.
        ValueError: the downloaded file's hash does not match.
    """
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if file_hash is not None:
        _resolve_hasher(file_hash, hash_algorithm)  # reject a bad algorithm early
    cache_root = os.path.expanduser(cache_dir) if cache_dir is not None else ckeras_home()
    if not _parent_writable(cache_root):
        cache_root = os.path.join(tempfile.gettempdir(), ".ckeras")
    datadir = os.path.join(cache_root, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    if untar:
        untar_fpath = os.path.join(datadir, fname)
        fpath = untar_fpath + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)

    stale_note = ""
    download = not os.path.exists(fpath)
    if not download and file_hash is not None:
        if not validate_file(fpath, file_hash, algorithm=hash_algorithm):
            name, _ = _resolve_hasher(file_hash, hash_algorithm)
            print("A local file was found at %s, but its %s hash does not match the "
                  "expected %s, so it will be downloaded again." % (fpath, name, file_hash))
            stale_note = (" (The file already at %s does not match the expected hash %s.)"
                          % (fpath, file_hash))
            download = True
    if download:
        _download(origin, fpath, file_hash, hash_algorithm, stale_note)

    if untar:
        if not os.path.exists(untar_fpath):
            _extract_archive(fpath, datadir, archive_format="tar")
        return untar_fpath
    if extract:
        _extract_archive(fpath, datadir, archive_format)
    return fpath


def _parent_writable(path):
    """Whether ``path`` exists or could be created under its nearest existing parent."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.access(path, os.W_OK)


def _reconstructors():
    """The numpy functions pickles use to rebuild arrays and scalars,
    keyed by every module path numpy has used for them (1.x and 2.x)."""
    reconstruct = np.ndarray((0,)).__reduce__()[0]
    scalar = np.int64(0).__reduce__()[0]
    frombuffer = np.arange(1).__reduce_ex__(5)[0]
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = frombuffer
    for name in ("dict", "list", "bytes", "str", "bytearray"):
        allowed[("builtins", name)] = allowed[("__builtin__", name)] = getattr(builtins, name)
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


def _latin1_encode(text, encoding="latin1"):
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refusing _codecs.encode with encoding %r" % (encoding,))
    return text.encode("latin1")


class _ArrayUnpickler(pickle.Unpickler):
    """An Unpickler for data files: numpy arrays, numpy scalars, dicts,
    lists, bytes and str only. Any other global (the way a pickle runs
    code) raises UnpicklingError instead of being imported."""

    _allowed = None

    def find_class(self, module, name):
        if _ArrayUnpickler._allowed is None:
            _ArrayUnpickler._allowed = _reconstructors()
        try:
            return _ArrayUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                "refusing to load %s.%s from a data file: only numpy arrays, dicts, lists, "
                "bytes and str are allowed (the file may be corrupted or malicious)"
                % (module, name)) from None


def safe_pickle_load(file, encoding="ASCII"):
    """``pickle.load`` restricted to numpy arrays and plain containers."""
    return _ArrayUnpickler(file, encoding=encoding).load()


def load_npz(path):
    """Reads every array of an .npz file into a dict, unpickling object
    arrays (e.g. ragged lists of word indices) with ``safe_pickle_load``."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            data = io.BytesIO(archive.read(member))
            version = np.lib.format.read_magic(data)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(data)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(data)
            key = member[:-4] if member.endswith(".npy") else member
            if dtype.hasobject:
                array = safe_pickle_load(data, encoding="latin1")
                if not isinstance(array, np.ndarray) or array.shape != shape:
                    raise ValueError("%s in %s: expected an array of shape %s"
                                     % (key, path, shape))
            else:
                data.seek(0)
                array = np.lib.format.read_array(data, allow_pickle=False)
            arrays[key] = array
    return arrays


# at the end: enqueuers.py is its own file, re-exported at Keras 2's path
from ckeras.utils.enqueuers import (GeneratorEnqueuer, OrderedEnqueuer,  # noqa: E402
                                    SequenceEnqueuer, get_index, iter_sequence_infinite)
