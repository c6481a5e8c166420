"""A killed save leaves the previous file intact; mutated files make
load_model raise ModelFileError only (no other exception, crash or hang)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

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
