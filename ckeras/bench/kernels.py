"""The native kernel microbenchmark: ``python -m ckeras.bench kernels``.

Each kernel runs at a realistic shape in a timing loop inside C
(``kernels.bench_*``: many back-to-back calls in a nogil loop timed with
CLOCK_MONOTONIC). Its peers run in the same process, interleaved with it
repeat by repeat so that machine noise hits both alike: numpy.matmul for
each GEMM shape, the three bare GEMMs of a Dense step for the fused Dense
kernel, and the numpy references (``ckeras/reference``) for the loss and
optimizer kernels, timed with time.perf_counter. Every time is the median
over the repeats of the mean seconds per call within one repeat.

One entry per kernel (a row of the table, an object of the JSON list):
    kernel, shape       what ran
    seconds             median seconds per call (fma_peak: of the whole
                        median run of the FMA loop)
    gflops              nominal flops / seconds (GEMM: 2*M*N*K; elementwise
                        kernels: the flops of their formula, sqrt and divide
                        counted as one)
    peak_fraction       gflops / the FMA peak measured in the same run
    gbps                bytes the kernel must move / seconds (elementwise)
    vs_numpy            numpy.matmul seconds / ours (GEMM; > 1 is faster)
    vs_reference        numpy reference seconds / ours (> 1 is faster)
    vs_gemms            Dense: ours / its three bare GEMMs (a time ratio;
                        1.0 means bias, activation and db cost nothing)
    vs_torch_cell,      LSTM step: torch nn.LSTMCell (one step) and nn.LSTM
    vs_torch_lstm       (whole sequence / T) seconds / ours (> 1: faster)
    bar, meets_bar      the project's performance bar and whether it holds
    status              "ok", or "not built" while a kernel family has not
                        landed
"""
import os
import statistics
import time

import numpy as np

from ckeras import backend
from ckeras._native import kernels

_MiB = 1 << 20


class Settings:
    """How long and how often to time. quick: small shapes, few calls."""

    def __init__(self, quick):
        self.quick = quick
        self.repeats = 3 if quick else 7
        self.target_seconds = 0.002 if quick else 0.08  # per repeat
        self.fma_iters = 200_000 if quick else 20_000_000
        self.fma_repeats = 3 if quick else 5
        self.settle_seconds = 0.0 if quick else 0.25


def _py_timer(fn):
    """A timer of fn() like the C ones: iters -> mean seconds per call."""

    def timer(iters):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters

    return timer


def _measure(timers, settings):
    """Median seconds per call of each timer, timed interleaved.

    timers: dict name -> (iters -> mean seconds per call). Each timer's
    call count per repeat is calibrated to settings.target_seconds.
    """
    iters = {}
    for name, timer in timers.items():
        timer(1)  # warm-up
        once = max(timer(1), 1e-7)
        iters[name] = int(min(max(settings.target_seconds / once, 1), 1e6))
    samples = {name: [] for name in timers}
    for _ in range(settings.repeats):
        for name, timer in timers.items():
            # let the previous timer's threads go idle first: numpy's OpenBLAS
            # threads spin for up to ~0.1 s after a call and would otherwise
            # take the cores from whatever is timed next
            time.sleep(settings.settle_seconds)
            samples[name].append(timer(iters[name]))
    return {name: statistics.median(s) for name, s in samples.items()}


def _entry(kernel, shape, seconds=None, flops=None, nbytes=None,
           status="ok", **ratios):
    e = {"kernel": kernel, "shape": shape, "status": status,
         "seconds": seconds,
         "gflops": None if seconds is None or flops is None else flops / seconds * 1e-9,
         "gbps": None if seconds is None or nbytes is None else nbytes / seconds * 1e-9,
         "peak_fraction": None, "vs_numpy": None, "vs_reference": None,
         "vs_gemms": None, "bar": None, "meets_bar": None}
    e.update(ratios)
    return e


def _rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


# ---- GEMM -----------------------------------------------------------------

def _gemm_entries(rng, settings, peak):
    shapes = [(32, 64, 48), (16, 64, 40), (64, 64, 64)] if settings.quick else \
        [(128, 512, 784), (32, 512, 160), (1024, 1024, 1024)]
    # shapes of a training step's small products (gemm_small.c's
    # micro-kernel): the guide's MLP at batch 128, an LSTM(128) step at 32
    small = [] if settings.quick else [(128, 64, 64), (32, 512, 128)]
    largest = max(shapes, key=lambda s: s[0] * s[1] * s[2])
    out = []
    for M, N, K in shapes + small:
        A, B = _rand(rng, M, K), _rand(rng, K, N)
        C, Cn = np.empty((M, N), np.float32), np.empty((M, N), np.float32)
        t = _measure({
            "ours": lambda it: kernels.bench_sgemm([(A, B, C, False, False, 0.0)], it),
            "numpy": _py_timer(lambda: np.matmul(A, B, out=Cn)),
        }, settings)
        e = _entry("sgemm", f"{M}x{N}x{K}", t["ours"], 2.0 * M * N * K,
                   vs_numpy=t["numpy"] / t["ours"])
        if (M, N, K) in small:
            out.append(e)
            continue
        e["bar"] = "vs_numpy >= 0.95"
        e["meets_bar"] = e["vs_numpy"] >= 0.95
        if (M, N, K) == largest:
            e["bar"] += ", peak_fraction >= 0.75"
            e["meets_bar"] = e["meets_bar"] and e["gflops"] / peak >= 0.75
        out.append(e)
    return out


# ---- Dense forward + backward ----------------------------------------------

def _dense_entries(rng, settings):
    N, C, U = (16, 48, 32) if settings.quick else (128, 784, 512)
    shape = f"{N}x{C}->{U} relu"
    if not hasattr(kernels, "bench_dense"):
        return [_entry("dense_fwd_bwd", shape, status="not built"),
                _entry("dense_gemms", shape, status="not built")]
    x, W, b = _rand(rng, N, C), _rand(rng, C, U, scale=C ** -0.5), _rand(rng, U)
    dy = _rand(rng, N, U)
    y = np.empty((N, U), np.float32)
    dx, dW, db = (np.zeros((N, C), np.float32), np.zeros((C, U), np.float32),
                  np.zeros(U, np.float32))
    ws = np.empty(max(kernels.dense_workspace_size(N, C, U), 1), np.float32)
    # the three bare GEMMs of the same step: x @ W, then accumulating
    # x^T @ dz and dz @ W^T, as ck_dense_backward runs them
    y2, dz = np.empty((N, U), np.float32), _rand(rng, N, U)
    dx2, dW2 = np.zeros((N, C), np.float32), np.zeros((C, U), np.float32)
    gemms = [(x, W, y2, False, False, 0.0), (x, dz, dW2, True, False, 1.0),
             (dz, W, dx2, False, True, 1.0)]
    t = _measure({
        "ours": lambda it: kernels.bench_dense(x, W, b, dy, y, dx, dW, db, ws,
                                               "relu", it),
        "gemms": lambda it: kernels.bench_sgemm(gemms, it),
    }, settings)
    flops = 3 * 2.0 * N * C * U
    ratio = t["ours"] / t["gemms"]
    return [
        _entry("dense_fwd_bwd", shape, t["ours"], flops, vs_gemms=ratio,
               bar="vs_gemms <= 1.10", meets_bar=ratio <= 1.10),
        _entry("dense_gemms", f"{N}x{C}->{U} x@W, x^T@dz, dz@W^T",
               t["gemms"], flops),
    ]


# ---- Conv2D forward + backward -------------------------------------------------

def _conv_entries(rng, settings, peak):
    """The second conv of mnist_cnn: 26x26x32 -> 24x24x64, 3x3, relu."""
    N, H, C, K, k = (8, 10, 8, 16, 3) if settings.quick else (128, 26, 32, 64, 3)
    OH = H - k + 1
    shape = f"{N}x{H}x{H}x{C}->{OH}x{OH}x{K} {k}x{k} relu"
    if not hasattr(kernels, "bench_conv2d"):
        return [_entry("conv2d_fwd_bwd", shape, status="not built")]
    x = _rand(rng, N, H, H, C)
    W, b = _rand(rng, k, k, C, K, scale=(k * k * C) ** -0.5), _rand(rng, K)
    dy = _rand(rng, N, OH, OH, K)
    y = np.empty((N, OH, OH, K), np.float32)
    dx, dW, db = (np.zeros_like(x), np.zeros_like(W), np.zeros_like(b))
    ws = np.empty(max(kernels.conv2d_workspace_size(x.shape, W.shape), 1), np.float32)
    t = _measure({"ours": lambda it: kernels.bench_conv2d(
        x, W, b, dy, y, dx, dW, db, ws, "relu", it)}, settings)
    flops = 3 * 2.0 * N * OH * OH * K * k * k * C
    e = _entry("conv2d_fwd_bwd", shape, t["ours"], flops,
               bar="peak_fraction >= 0.60")
    e["meets_bar"] = e["gflops"] / peak >= 0.60
    return [e]


# ---- softmax cross-entropy ----------------------------------------------------

def _reference(module, name):
    """A function of ckeras.reference.<module>, or None until it lands."""
    try:
        mod = __import__(f"ckeras.reference.{module}", fromlist=[name])
    except ModuleNotFoundError:
        return None
    return getattr(mod, name, None)


def _vs_reference_bar(e):
    e["bar"] = "vs_reference >= 3"
    e["meets_bar"] = e["vs_reference"] >= 3.0
    return e


def _softmax_entries(rng, settings):
    N, C = (64, 100) if settings.quick else (1024, 1024)
    shape = f"{N}x{C}"
    fwd = _reference("losses", "softmax_xent_forward")
    bwd = _reference("losses", "softmax_xent_backward")
    if not hasattr(kernels, "bench_softmax_xent") or fwd is None or bwd is None:
        return [_entry("softmax_xent_fwd_bwd", shape, status="not built")]
    z = _rand(rng, N, C, scale=3.0)
    t = np.zeros((N, C), np.float32)
    t[np.arange(N), rng.integers(0, C, N)] = 1.0
    loss, probs = np.empty(N, np.float32), np.empty((N, C), np.float32)
    dloss = np.full(N, 1.0 / N, np.float32)
    dz = np.zeros((N, C), np.float32)

    def reference():
        _, p = fwd(z, t)
        bwd(dloss, p, t)

    times = _measure({
        "ours": lambda it: kernels.bench_softmax_xent(z, t, loss, probs, dloss,
                                                      dz, it),
        "reference": _py_timer(reference),
    }, settings)
    # forward: max, subtract, exp, sum, normalise, clip, log, times t, sum;
    # backward: mask, p * sum(m t) - m t, times dloss, accumulate
    flops = N * C * (9 + 5)
    nbytes = N * C * 4 * (3 + 4)  # z, t -> probs; probs, t, dz -> dz
    return [_vs_reference_bar(_entry(
        "softmax_xent_fwd_bwd", shape, times["ours"], flops, nbytes,
        vs_reference=times["reference"] / times["ours"]))]


# ---- optimizer updates --------------------------------------------------------

# kernel -> (reference function, state buffers, flops and arrays moved per
# element, keyword arguments of both)
_OPTIMIZERS = {
    "sgd_momentum": ("sgd", ("m",), 4, 5, dict(lr=0.01, momentum=0.9)),
    "sgd_nesterov": ("sgd", ("m",), 7, 5,
                     dict(lr=0.01, momentum=0.9, nesterov=True)),
    "rmsprop": ("rmsprop", ("a",), 9, 5, dict(lr=0.001, rho=0.9, eps=1e-7)),
    "adagrad": ("adagrad", ("a",), 7, 5, dict(lr=0.01, eps=1e-7)),
    "adadelta": ("adadelta", ("a", "d"), 16, 7,
                 dict(lr=1.0, rho=0.95, eps=1e-7)),
    "adam": ("adam", ("m", "v"), 12, 7,
             dict(lr_t=0.001, beta1=0.9, beta2=0.999, eps=1e-7)),
}


def _optimizer_entries(rng, settings):
    n = 4096 if settings.quick else _MiB
    out = []
    for kernel, (ref_name, states, flops, arrays, kwargs) in _OPTIMIZERS.items():
        ref = _reference("optimizers", ref_name)
        if not hasattr(kernels, "bench_optimizer") or ref is None:
            out.append(_entry(kernel, f"n={n}", status="not built"))
            continue
        p, g = _rand(rng, n), _rand(rng, n, scale=0.01)
        bufs = [np.abs(_rand(rng, n, scale=0.01)) for _ in states]
        ref_bufs = [s.copy() for s in bufs]
        t = _measure({
            "ours": lambda it: kernels.bench_optimizer(ref_name, p, g, bufs,
                                                       kwargs, it),
            "reference": _py_timer(lambda: ref(p, g, *ref_bufs, **kwargs)),
        }, settings)
        out.append(_vs_reference_bar(_entry(
            kernel, f"n={n}", t["ours"], flops * n, arrays * 4 * n,
            vs_reference=t["reference"] / t["ours"])))
    return out


# ---- LSTM step ------------------------------------------------------------------

def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _lstm_entries(rng, settings, threads):
    """One LSTM time step, batch 32, 128 -> 128 units: ck_lstm_forward over
    a sequence of T = 80 steps (zero initial state, no mask, whole hseq
    saved with the backward's cache) divided by T, next to torch's
    nn.LSTMCell forward on one (32, 128) step and nn.LSTM over the same
    sequence / T, both under torch.no_grad() (so torch saves nothing for a
    backward; ours does). vs_torch_cell, vs_torch_lstm: torch's seconds /
    ours (> 1: ours is faster). Bar: ours <= 0.5x LSTMCell's time."""
    N, T, C, U = (4, 6, 8, 8) if settings.quick else (32, 80, 128, 128)
    shape = f"N={N} {C}->{U} per step of T={T}"
    if not hasattr(kernels, "bench_lstm_forward"):
        return [_entry("lstm_step", shape, status="not built")]
    x = _rand(rng, N, T, C)
    W, R = _rand(rng, C, 4 * U, scale=C ** -0.5), _rand(rng, U, 4 * U, scale=U ** -0.5)
    b = _rand(rng, 4 * U, scale=0.1)
    timers = {"ours": lambda it: kernels.bench_lstm_forward(
        x, W, R, b, it, recurrent_activation="sigmoid") / T}
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
        cell, lstm = torch.nn.LSTMCell(C, U), torch.nn.LSTM(C, U, batch_first=True)
        xt, x1 = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(x[:, 0]))
        hc = (torch.zeros(N, U), torch.zeros(N, U))

        def cell_step():
            with torch.no_grad():
                cell(x1, hc)

        def whole():
            with torch.no_grad():
                lstm(xt)
        timers["torch_cell"] = _py_timer(cell_step)
        seq = _py_timer(whole)
        timers["torch_lstm"] = lambda it: seq(it) / T
    t = _measure(timers, settings)
    flops = 2.0 * N * (C + U) * 4 * U
    e = _entry("lstm_step", shape, t["ours"], flops)
    if torch is not None:
        e["vs_torch_cell"] = t["torch_cell"] / t["ours"]
        e["vs_torch_lstm"] = t["torch_lstm"] / t["ours"]
        e["torch_cell_seconds"] = t["torch_cell"]
        e["torch_lstm_seconds"] = t["torch_lstm"]
        e["bar"] = "vs_torch_cell >= 2"
        e["meets_bar"] = e["vs_torch_cell"] >= 2.0
    return [e]


# ---- the run ------------------------------------------------------------------

def _fma_peak(settings):
    """Median GFLOP/s of a few runs of the C FMA loop, and its seconds."""
    kernels.fma_peak_gflops(settings.fma_iters // 10)  # wakes the pool
    runs = []
    for _ in range(settings.fma_repeats):
        t0 = time.perf_counter()
        g = kernels.fma_peak_gflops(settings.fma_iters)
        runs.append((g, time.perf_counter() - t0))
    return sorted(runs)[len(runs) // 2]


def default_threads():
    return min(2, kernels.available_cores())


def collect(threads=None, quick=False):
    """Runs every kernel benchmark; returns (header lines, entries)."""
    threads = default_threads() if threads is None else threads
    backend.set_num_threads(threads)
    load_before = os.getloadavg()[0]
    settings = Settings(quick)
    rng = np.random.default_rng(0)
    peak, peak_seconds = _fma_peak(settings)
    entries = [_entry("fma_peak", f"{threads} threads", peak_seconds,
                      status="ok")]
    entries[0]["gflops"] = peak
    entries += _gemm_entries(rng, settings, peak)
    entries += _dense_entries(rng, settings)
    entries += _conv_entries(rng, settings, peak)
    entries += _softmax_entries(rng, settings)
    entries += _optimizer_entries(rng, settings)
    entries += _lstm_entries(rng, settings, threads)
    for e in entries:
        e["threads"] = threads
        if quick:  # the bars are set for the full shapes
            e["bar"] = e["meets_bar"] = None
        if e["gflops"] is not None:
            e["peak_fraction"] = e["gflops"] / peak if peak > 0 else None
    header = [f"ckeras kernels: {threads} thread(s), FMA peak {peak:.1f} GFLOP/s "
              f"(median of {settings.fma_repeats}), numpy {np.__version__}; "
              f"times are medians of {settings.repeats} repeats"
              + (" (--quick)" if quick else "")]
    load = max(load_before, os.getloadavg()[0])
    if load > 0.5 + kernels.available_cores() - threads:
        header.append(f"load average {load:.1f} on {kernels.available_cores()} "
                      "cores: other processes share the cores, times are slower "
                      "and noisier than on an idle machine")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype is not None:
        header.append(f"OPENBLAS_CORETYPE={coretype} is set: OpenBLAS "
                      "(numpy's and ours) runs that core's kernels")
    return header, entries


def _fmt(value, spec, suffix=""):
    return "-" if value is None else format(value, spec) + suffix


def _time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _torch_ratios(e):
    if e.get("vs_torch_cell") is None:
        return "-"
    return (f"cell {e['vs_torch_cell']:.2f}x, "
            f"nn.LSTM {e['vs_torch_lstm']:.2f}x")


def format_table(header, entries):
    cols = ["kernel", "shape", "time", "GFLOP/s", "peak", "GB/s",
            "vs numpy", "vs ref", "vs 3 GEMMs", "vs torch", "bar"]
    rows = []
    for e in entries:
        if e["status"] != "ok":
            rows.append([e["kernel"], e["shape"], e["status"]] + [""] * 8)
            continue
        bar = "" if e["bar"] is None else \
            f"{e['bar']}: {'ok' if e['meets_bar'] else 'MISSED'}"
        rows.append([e["kernel"], e["shape"], _time(e["seconds"]),
                     _fmt(e["gflops"], ".1f"),
                     _fmt(e["peak_fraction"], ".0%"), _fmt(e["gbps"], ".1f"),
                     _fmt(e["vs_numpy"], ".2f", suffix="x"),
                     _fmt(e["vs_reference"], ".1f", suffix="x"),
                     _fmt(e["vs_gemms"], ".3f", suffix="x"),
                     _torch_ratios(e), bar])
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    lines = list(header)
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def run(as_json=False, threads=None, quick=False):
    """Runs the benchmark and prints the table (or the JSON list)."""
    import json

    header, entries = collect(threads, quick)
    if as_json:
        print(json.dumps(entries, indent=1))
    else:
        print(format_table(header, entries))
    return entries
