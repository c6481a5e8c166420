"""Saving benchmark: ``python -m ckeras.bench saving [--json] [--quick]``.

A Sequential model of four Dense(2500) layers on a 2500-wide input holds
25M float32 weights (100 MB). Timed, median of `repeats` runs each, in a
temporary directory on the default temp filesystem, the workloads
interleaved round by round so a change of the machine's load hits all,
and ``os.sync()`` (unmeasured) after each so no workload pays for the
write-back of an earlier one's unsynced file:

- ``save_model`` / ``load_model`` (uncompiled model: weights + config)
  and ``save_weights`` / ``load_weights``;
- plain h5py writing the same arrays in the same layout (one group per
  layer, one uncompressed dataset per weight) and reading them back into
  fresh arrays: the baseline of the ``vs_h5py`` ratios. Saves write over
  the file of the previous round, as a user saving again does; the
  "new file" pair writes where no file is (removed unmeasured before),
  which leaves out the price of freeing the replaced file's blocks
  (h5py's truncation, ckeras' rename: saving.py's _replace);
- plain h5py plus one ``os.fdatasync`` (``os.fsync`` where there is
  none) of the written file ("h5py write+fsync"), the baseline of
  ckeras' saves with the ``fsync_saves`` setting on ("fsync_saves"), so
  the price of durability is shown apart from ckeras' own overhead.

Loads are timed in fresh subprocesses, one per repeat (the time of the
load call only): the weights land in new pages as when a user loads a
model, rather than in memory the allocator recycles between repeats.
Their peak memory is measured there too (Linux): tracemalloc's peak
(numpy and h5py-read arrays are traced) and the growth of the peak RSS
(VmHWM, reset before the load), each as a multiple of the weights'
bytes: 1.0 means the weights themselves and nothing more.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

UNITS = 2500
LAYERS = 4
QUICK_UNITS = 256


def _model(units, layers):
    from ckeras.layers import Dense
    from ckeras.models import Sequential
    np.random.seed(0)
    return Sequential([Dense(units, input_shape=(units,))]
                      + [Dense(units) for _ in range(layers - 1)])


def _settle():
    """Waits (unmeasured) for the files replaced by saves to be freed
    and writes back every dirty page, so no workload pays for the
    write-back or the freeing of the file written before it."""
    from ckeras.engine import saving
    saving.wait_for_replaced_files()
    if hasattr(os, "sync"):
        os.sync()


def _interleaved_runs(workloads, repeats):
    """{name: [result of each run]}: one unmeasured warm-up call each, then
    `repeats` rounds that call every workload once, so a change in the
    machine's load during the benchmark hits all of them alike."""
    for fn in workloads.values():
        fn()
        _settle()
    runs = {name: [] for name in workloads}
    for _ in range(repeats):
        for name, fn in workloads.items():
            runs[name].append(fn())
            _settle()
    return runs


def _interleaved_medians(workloads, repeats):
    """{name: median seconds} of interleaved runs (see _interleaved_runs)."""
    def timed(fn):
        setup, fn = fn if isinstance(fn, tuple) else (None, fn)

        def run():
            if setup is not None:
                setup()
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        return run
    runs = _interleaved_runs({n: timed(fn) for n, fn in workloads.items()}, repeats)
    return {name: float(np.median(times)) for name, times in runs.items()}


def _h5py_write(path, model, fsync=False):
    import h5py
    with h5py.File(path, "w") as f:
        for layer in model.layers:
            g = f.create_group(layer.name)
            for w in layer.weights:
                g.create_dataset(w.name, data=w.value)
    if fsync:  # the call ckeras makes: fdatasync where there is one
        fd = os.open(path, os.O_RDONLY)
        try:
            getattr(os, "fdatasync", os.fsync)(fd)
        finally:
            os.close(fd)


def _h5py_read(path):
    import h5py
    out = []

    def read(name, obj):
        if isinstance(obj, h5py.Dataset):
            out.append(obj[()])
    with h5py.File(path, "r") as f:
        f.visititems(read)
    return out


def _new_file(path, fn):
    """(setup, fn) for _interleaved_medians: setup removes `path` and
    settles, unmeasured, so fn writes a new file."""
    def setup():
        if os.path.exists(path):
            os.remove(path)
        _settle()
    return setup, fn


def _fsync_saves(fn, *args):
    """fn(*args) with the ``fsync_saves`` setting on."""
    from ckeras.backend import config
    settings = config.settings()
    before = settings["fsync_saves"]
    settings["fsync_saves"] = True
    try:
        return fn(*args)
    finally:
        settings["fsync_saves"] = before


_CHILD = """
import sys, time, tracemalloc
import h5py, numpy as np
import ckeras.layers, ckeras.models
from ckeras.bench.saving import _h5py_read, _model
from ckeras.engine import saving
what, path, units, layers, traced = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
    int(sys.argv[4]), sys.argv[5] == "1"
model = _model(units, layers) if what == "load_weights" else None
def status_kb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # resets VmHWM (the peak RSS) to the current RSS
before = status_kb("VmRSS")
if traced:
    tracemalloc.start()
start = time.perf_counter()
if what == "load_weights":
    saving.load_weights(model, path)
elif what == "load_model":
    model = saving.load_model(path, compile=False)
else:
    arrays = _h5py_read(path)
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1] if traced else 0
print(seconds, peak, status_kb("VmHWM") - before)
"""


def _load_in_child(what, path, units, layers, traced):
    """(seconds, tracemalloc peak bytes, peak-RSS growth bytes) of one load
    in a fresh process: the weights land in new pages, as when a user
    loads a model, not in memory the allocator recycles between repeats."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _CHILD, what, path, str(units),
                          str(layers), "1" if traced else "0"],
                         capture_output=True, text=True, env=env, check=True)
    seconds, peak, rss_kb = out.stdout.split()
    return float(seconds), int(peak), int(rss_kb) * 1024


def measure(quick=False, repeats=None, directory=None):
    from ckeras.engine import saving
    units, layers = (QUICK_UNITS, 2) if quick else (UNITS, LAYERS)
    repeats = repeats or (1 if quick else 7)
    model = _model(units, layers)
    nbytes = sum(w.value.nbytes for w in model.weights)
    tmp = tempfile.mkdtemp(prefix="ckeras-bench-saving-", dir=directory)
    try:
        plain, mfile, wfile = (os.path.join(tmp, n) for n in ("plain.h5", "m.h5", "w.h5"))
        saves = {
            "h5py write": lambda: _h5py_write(plain, model),
            "h5py write+fsync": lambda: _h5py_write(plain, model, True),
            "save_model": lambda: saving.save_model(model, mfile),
            "save_weights": lambda: saving.save_weights(model, wfile),
            "h5py write new file": _new_file(plain, lambda: _h5py_write(plain, model)),
            "save_model new file": _new_file(mfile, lambda: saving.save_model(model, mfile)),
            "save_model fsync_saves": lambda: _fsync_saves(saving.save_model, model, mfile),
            "save_weights fsync_saves": lambda: _fsync_saves(saving.save_weights, model,
                                                             wfile),
        }
        t = _interleaved_medians(saves, repeats)
        loads = {what: (lambda what=what, path=path: _load_in_child(
                     what, path, units, layers, traced=False))
                 for what, path in (("h5py read", plain), ("load_model", mfile),
                                    ("load_weights", wfile))}
        runs = _interleaved_runs(loads, repeats)
        memory = {}
        for what, results in runs.items():
            t[what] = float(np.median([r[0] for r in results]))
            path = {"h5py read": plain, "load_model": mfile, "load_weights": wfile}[what]
            peak = _load_in_child(what, path, units, layers, traced=True)[1]
            memory[what] = (peak / nbytes, max(r[2] for r in results) / nbytes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for name, seconds in t.items():
        base = "h5py read" if "load" in name or "read" in name else (
            "h5py write+fsync" if name.endswith("fsync_saves") else
            "h5py write new file" if name.endswith("new file") else "h5py write")
        row = {"workload": name, "seconds": seconds, "baseline": base,
               "vs_h5py": seconds / t[base], "weights_mb": nbytes / 1e6}
        if name.endswith("fsync_saves"):
            row["vs_h5py_without_fsync"] = seconds / t["h5py write"]
        if name in memory:
            row["peak_traced_x_weights"], row["peak_rss_growth_x_weights"] = memory[name]
        rows.append(row)
    rows.append({"workload": "fsync of the written file (h5py write+fsync - h5py write)",
                 "seconds": t["h5py write+fsync"] - t["h5py write"],
                 "weights_mb": nbytes / 1e6})
    return rows


def run(as_json=False, quick=False):
    rows = measure(quick=quick)
    if as_json:
        print(json.dumps(rows, indent=2))
        return rows
    print(f"model: {rows[0]['weights_mb']:.1f} MB of float32 weights; medians; "
          "vs_h5py = ckeras / baseline (lower is better); memory as multiples of "
          "the weights' bytes")
    print(f"{'workload':24} {'time':>10} {'baseline':>18} {'vs_h5py':>8} "
          f"{'no-fsync base':>13} {'traced peak':>11} {'rss growth':>10}")
    for r in rows:
        if "baseline" not in r:
            print(f"{r['workload']}: {r['seconds'] * 1e3:.1f}ms")
            continue
        nf = r.get("vs_h5py_without_fsync")
        mem = r.get("peak_traced_x_weights")
        print(f"{r['workload']:24} {r['seconds'] * 1e3:8.1f}ms {r['baseline']:>18} "
              f"{r['vs_h5py']:7.2f}x "
              + (f"{nf:12.2f}x " if nf is not None else " " * 14)
              + (f"{mem:10.2f}x {r['peak_rss_growth_x_weights']:9.2f}x"
                 if mem is not None else ""))
    return rows
