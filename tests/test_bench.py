"""python -m ckeras.bench kernels --quick --json: keys, types, every kernel.

No timing thresholds: the numbers depend on the machine and its load.
"""
import json
import math
import os
import subprocess
import sys

import pytest

from ckeras._native import kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# kernel -> the binding whose family it benchmarks: once that binding is
# built, its entry must be measured, never "not built"
EXPECTED = {
    "fma_peak": "fma_peak_gflops",
    "sgemm": "sgemm",
    "dense_fwd_bwd": "dense_forward",
    "dense_gemms": "dense_forward",
    "conv2d_fwd_bwd": "conv2d_forward",
    "softmax_xent_fwd_bwd": "softmax_xent_forward",
    "sgd_momentum": "sgd_update",
    "sgd_nesterov": "sgd_update",
    "rmsprop": "rmsprop_update",
    "adagrad": "adagrad_update",
    "adadelta": "adadelta_update",
    "adam": "adam_update",
    "lstm_step": "lstm_forward",
}
RATIOS = ("peak_fraction", "vs_numpy", "vs_reference", "vs_gemms", "gbps")


def run_bench(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "ckeras.bench", *args], cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def entries():
    return json.loads(run_bench("kernels", "--quick", "--json", "--threads", "2").stdout)


def test_json_is_a_list_of_entries_with_the_keys(entries):
    assert isinstance(entries, list) and entries
    for e in entries:
        for key in ("kernel", "shape", "seconds", "gflops", "peak_fraction",
                    "vs_numpy", "vs_reference", "status", "threads"):
            assert key in e, (key, e)
        assert isinstance(e["kernel"], str) and isinstance(e["shape"], str)
        assert e["threads"] == 2
        assert e["status"] in ("ok", "not built")


def test_every_built_kernel_is_measured(entries):
    by_kernel = {}
    for e in entries:
        by_kernel.setdefault(e["kernel"], []).append(e)
    assert set(by_kernel) == set(EXPECTED)
    assert len(by_kernel["sgemm"]) == 3
    for name, binding in EXPECTED.items():
        for e in by_kernel[name]:
            if not hasattr(kernels, binding):
                assert e["status"] == "not built" and e["seconds"] is None
                continue
            assert e["status"] == "ok", e
            assert isinstance(e["seconds"], float) and e["seconds"] > 0, e
            assert math.isfinite(e["gflops"]) and e["gflops"] > 0, e
            for key in RATIOS:
                assert e[key] is None or (math.isfinite(e[key]) and e[key] > 0), e


def test_peers_are_reported(entries):
    for e in entries:
        if e["status"] != "ok":
            continue
        if e["kernel"] == "sgemm":
            assert e["vs_numpy"] is not None
        if e["kernel"] == "dense_fwd_bwd":
            assert e["vs_gemms"] is not None
        if e["kernel"] in ("softmax_xent_fwd_bwd", "sgd_momentum", "sgd_nesterov",
                           "rmsprop", "adagrad", "adadelta", "adam"):
            assert e["vs_reference"] is not None


def test_table_and_missing_suite():
    table = run_bench("kernels", "--quick", "--threads", "1").stdout
    assert "FMA peak" in table and "sgemm" in table
    proc = subprocess.run(
        [sys.executable, "-m", "ckeras.bench", "kernels", "--threads", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--threads must be >= 1" in proc.stderr


def test_saving_suite_quick_json():
    rows = json.loads(run_bench("saving", "--quick", "--json").stdout)
    by_name = {r["workload"]: r for r in rows}
    for name in ("h5py write", "h5py write+fsync", "h5py read", "save_model",
                 "save_weights", "save_model fsync_saves", "save_weights fsync_saves",
                 "h5py write new file", "save_model new file",
                 "load_model", "load_weights"):
        r = by_name[name]
        assert r["seconds"] > 0 and math.isfinite(r["vs_h5py"]) and r["vs_h5py"] > 0, r
        assert r["baseline"] in by_name
    assert by_name["save_model"]["baseline"] == "h5py write"
    assert by_name["save_model fsync_saves"]["baseline"] == "h5py write+fsync"
    assert by_name["save_model new file"]["baseline"] == "h5py write new file"
    for name in ("h5py read", "load_model", "load_weights"):
        r = by_name[name]
        assert r["peak_traced_x_weights"] >= 0 and r["peak_rss_growth_x_weights"] >= 0
    # the plain h5py read allocates the arrays once: its traced peak is ~1x
    assert 0.9 < by_name["h5py read"]["peak_traced_x_weights"] < 1.5
