"""A killed save leaves the previous file intact; the fsync_saves setting
flushes the file before its rename and the folder after; mutated files make
load_model raise ModelFileError only (no other exception, crash or hang)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ckeras.backend import config
from ckeras.engine import saving
from ckeras.layers import Dense, Dropout
from ckeras.models import Sequential, load_model

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# saves a 8 MB model over and over (about 30 ms a save); save i holds
# weights all equal to i; prints "start" before each save
SAVER = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
from ckeras.layers import Dense
from ckeras.models import Sequential
model = Sequential([Dense(1000, input_shape=(2000,))])
print("ready", flush=True)
i = 0
while True:
    i += 1
    model.set_weights([np.full((2000, 1000), i, np.float32), np.full(1000, i, np.float32)])
    print("start", flush=True)
    model.save({target!r})
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_leaves_a_complete_file(tmp_path):
    target = str(tmp_path / "big.h5")
    code = SAVER.format(root=ROOT, target=target)
    rng = np.random.default_rng(0)
    seen = []
    for _round in range(6):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            for _ in range(int(rng.integers(1, 4))):  # kill inside the k-th save
                assert proc.stdout.readline().strip() == "start"
            time.sleep(rng.uniform(0.0, 0.03))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        seen.append(os.path.exists(target))
        if seen[-1]:
            model = load_model(target, compile=False)
            kernel, bias = model.get_weights()
            value = kernel.flat[0]
            assert value >= 1 and (kernel == value).all() and (bias == value).all()
    assert any(seen)  # some saves completed before the kills that followed
    leftovers = [p for p in os.listdir(tmp_path) if p != "big.h5"]
    for name in leftovers:  # a killed save can leave only its own temporary
        assert name.startswith(".big.h5.") and name.endswith(".tmp")


@pytest.mark.parametrize("save", ["save", "save_weights"])
def test_fsync_saves_setting_flushes_file_then_folder(tmp_path, monkeypatch, save):
    target = str(tmp_path / "m.h5")
    calls = []

    def fake_fsync(path, directory=False):
        # the file is flushed under its temporary name, before the rename
        calls.append((os.path.basename(path), directory, os.path.exists(target)))
    monkeypatch.setattr(saving, "_fsync", fake_fsync)
    model = Sequential([Dense(3, input_shape=(4,))])
    getattr(model, save)(target)
    assert calls == [] and os.path.exists(target)  # default: Keras' speed
    monkeypatch.setitem(config.settings(), "fsync_saves", True)
    os.remove(target)
    getattr(model, save)(target)
    (tmp_name, tmp_dir, existed), (folder, is_dir, after) = calls
    assert tmp_name.startswith(".m.h5.") and not tmp_dir and not existed
    assert folder == os.path.basename(str(tmp_path)) and is_dir and after
    if save == "save":
        loaded = load_model(target, compile=False)
    else:
        loaded = Sequential([Dense(3, input_shape=(4,))])
        loaded.load_weights(target)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_replacing_save_frees_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "m.h5"
    model = Sequential([Dense(3, input_shape=(4,))])
    model.save(str(target))
    old_inode = os.stat(target).st_ino
    with open(target, "rb") as held:  # a reader of the old file keeps it
        model.set_weights([w + 1 for w in model.get_weights()])
        model.save(str(target))
        assert os.listdir(tmp_path) == ["m.h5"]  # nothing new, even at once
        saving.wait_for_replaced_files()
        assert os.fstat(held.fileno()).st_nlink == 0  # old file: no name left
        assert os.stat(target).st_ino != old_inode
    assert os.listdir(tmp_path) == ["m.h5"]
    for got, want in zip(load_model(str(target), compile=False).get_weights(),
                         model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.h5"
    model = Sequential([Dense(3, input_shape=(4,))])
    model.save(str(target))
    before = target.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk on fire")
    monkeypatch.setattr(saving.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        model.save(str(target))
    assert os.listdir(tmp_path) == ["m.h5"] and target.read_bytes() == before


def test_fuzzed_files_raise_only_model_file_error(tmp_path):
    model = Sequential([Dense(16, activation="relu", input_shape=(6,)), Dropout(0.1),
                        Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["acc"])
    model.train_on_batch(np.ones((4, 6), np.float32),
                         np.eye(3, dtype=np.float32)[[0, 1, 2, 0]])
    valid = str(tmp_path / "valid.h5")
    model.save(valid)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "fuzz_loader.py"), valid,
                           str(tmp_path), "200", "0"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"the loader crashed: {proc.returncode} {proc.stderr}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["bad"] == [], report
    assert sum(report["outcomes"].values()) == 200
    assert report["outcomes"].get("ModelFileError", 0) > 50  # the mutations do bite
