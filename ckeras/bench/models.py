"""Model training benchmark: ``python -m ckeras.bench models [--json]``.

Each workload trains as a Keras user trains it (``model.fit``, verbose=0)
and as the equivalent PyTorch model with a plain training loop (when
torch is importable), on synthetic data with fixed seeds, 2 threads.
Every run happens in a fresh subprocess, so its peak RSS (max resident
set size) is its own.

W1: the guide's MLP, 20 -> 64 relu -> Dropout(0.5) -> 64 relu ->
    Dropout(0.5) -> 10 softmax, SGD(lr=0.01, decay=1e-6, momentum=0.9,
    nesterov=True), 1,000 samples, batch 128.
W2: Keras's mnist_mlp, 784 -> 512 relu -> Dropout(0.2) -> 512 relu ->
    Dropout(0.2) -> 10 softmax, RMSprop, batch 128, 60,000 samples.
W3: Keras's mnist_cnn, 28x28x1 -> Conv2D(32, 3x3, relu) -> Conv2D(64,
    3x3, relu) -> MaxPooling2D(2x2) -> Dropout(0.25) -> Flatten ->
    Dense(128, relu) -> Dropout(0.5) -> 10 softmax, SGD(lr=0.01,
    momentum=0.9), batch 128, 1,024 samples (small, to keep the run short).
W4: Keras's imdb_lstm, 80 word ids from 20,000 -> Embedding(20000, 128) ->
    LSTM(128) -> Dense(1, sigmoid), RMSprop, binary cross-entropy, batch
    32, 512 samples (torch: nn.Embedding + nn.LSTM + nn.Linear with
    BCEWithLogitsLoss).
W5: the functional guide's two-input model: 100 word ids from 10,000 ->
    Embedding(10000, 512) -> LSTM(32) -> aux_output Dense(1, sigmoid);
    concatenate(LSTM out, 5-float aux input) -> 3x Dense(64, relu) ->
    main_output Dense(1, sigmoid); RMSprop, binary cross-entropy with
    loss_weights [1, 0.2], batch 32, 512 samples.

Rows: workload, framework, samples_per_s (median epoch), epoch_s, vs_torch
(ckeras rows: ckeras samples/s over torch's, same run; bar: the project's
bar for it, where there is one), gflops
(6 FLOPs per weight per sample for the MLPs: forward, input-gradient and
weight-gradient GEMMs; 3x the forward multiply-adds x 2 for the CNN and
the LSTM models, embedding lookups and optimizer updates not counted),
peak_rss_mb.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

WORKLOADS = {
    "W1": dict(din=20, hidden=64, drop=0.5, n=1000, batch=128, opt="sgd", epochs=30),
    "W2": dict(din=784, hidden=512, drop=0.2, n=60000, batch=128, opt="rmsprop",
               epochs=3),
    "W3": dict(cnn=True, din=784, n=1024, batch=128, opt="sgd_momentum", epochs=2),
    "W4": dict(seq="imdb", vocab=20000, T=80, emb=128, units=128, n=512, batch=32,
               opt="rmsprop", epochs=3),
    "W5": dict(seq="two_input", vocab=10000, T=100, emb=512, units=32, n=512,
               batch=32, opt="rmsprop", epochs=3),
}


# workload -> minimum ckeras samples/s over torch's (the project's bars)
BARS = {"W4": 1.5, "W5": 2.0}


def _flops_per_sample(w):
    """Training FLOPs per sample: 3 x (2 x forward multiply-adds)."""
    if w.get("seq"):
        T, E, U = w["T"], w["emb"], w["units"]
        forward = T * (E + U) * 4 * U + U
        if w["seq"] == "two_input":
            forward += (U + 5) * 64 + 2 * 64 * 64 + 64
        return 6.0 * forward
    if w.get("cnn"):
        forward = (26 * 26 * 32 * 9 * 1 + 24 * 24 * 64 * 9 * 32 + 12 * 12 * 64 * 128
                   + 128 * 10)
        return 6.0 * forward
    return 6.0 * _n_weights(w)


def _n_weights(w):
    h = w["hidden"]
    return w["din"] * h + h + h * h + h + h * 10 + 10


def _data(w):
    rng = np.random.default_rng(0)
    if w.get("seq"):  # word ids; targets 0/1 (two_input: main, aux input)
        x = rng.integers(0, w["vocab"], (w["n"], w["T"])).astype(np.int32)
        y = rng.integers(0, 2, (w["n"], 1)).astype(np.float32)
        if w["seq"] == "two_input":
            return (x, rng.random((w["n"], 5), dtype=np.float32)), y
        return x, y
    x = rng.random((w["n"], w["din"]), dtype=np.float32)
    y = rng.integers(0, 10, w["n"])
    if w.get("cnn"):
        x = x.reshape(w["n"], 28, 28, 1)
    return x, y


def _ckeras_cnn():
    from ckeras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from ckeras.models import Sequential
    return Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                       Conv2D(64, (3, 3), activation="relu"),
                       MaxPooling2D(pool_size=(2, 2)), Dropout(0.25), Flatten(),
                       Dense(128, activation="relu"), Dropout(0.5),
                       Dense(10, activation="softmax")])


def _torch_cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                         nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(128, 10))


def _ckeras_seq(w):
    from ckeras.layers import LSTM, Dense, Embedding, Input, concatenate
    from ckeras.models import Model, Sequential
    if w["seq"] == "imdb":
        return Sequential([Embedding(w["vocab"], w["emb"], input_length=w["T"]),
                           LSTM(w["units"]), Dense(1, activation="sigmoid")])
    main_input = Input(shape=(w["T"],), dtype="int32", name="main_input")
    x = Embedding(output_dim=w["emb"], input_dim=w["vocab"],
                  input_length=w["T"])(main_input)
    lstm_out = LSTM(w["units"])(x)
    aux_output = Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    aux_input = Input(shape=(5,), name="aux_input")
    x = concatenate([lstm_out, aux_input])
    for _ in range(3):
        x = Dense(64, activation="relu")(x)
    main_output = Dense(1, activation="sigmoid", name="main_output")(x)
    return Model(inputs=[main_input, aux_input], outputs=[main_output, aux_output])


def _fit_epochs(model, w, x, y):
    """Seconds of each model.fit epoch after the first (warm-up) one."""
    times = []
    for _ in range(w["epochs"] + 1):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=w["batch"], epochs=1, verbose=0)
        times.append(time.perf_counter() - t0)
    return times[1:]


def _torch_epochs(torch, model, opt, w, batch_loss):
    """The plain PyTorch loop: shuffled batches, batch_loss(indices) then
    backward and step; seconds of each epoch after the first."""
    n, bs = w["n"], w["batch"]
    times = []
    model.train()
    for _ in range(w["epochs"] + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            opt.zero_grad()
            batch_loss(perm[i:i + bs]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times[1:]


def _run_ckeras_seq(w):
    from ckeras import backend as K
    from ckeras.optimizers import RMSprop

    K.set_num_threads(2)
    K.set_random_seed(0)
    np.random.seed(0)
    x, y = _data(w)
    model = _ckeras_seq(w)
    if w["seq"] == "imdb":
        model.compile(loss="binary_crossentropy", optimizer=RMSprop(),
                      metrics=["accuracy"])
        inputs, targets = x, y
    else:
        model.compile(optimizer=RMSprop(), loss="binary_crossentropy",
                      loss_weights=[1.0, 0.2])
        inputs, targets = list(x), [y, y]
    return _fit_epochs(model, w, inputs, targets)


def _torch_seq(w, torch):
    nn = torch.nn

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(w["vocab"], w["emb"])
            self.lstm = nn.LSTM(w["emb"], w["units"], batch_first=True)
            self.out = nn.Linear(w["units"], 1)
            if w["seq"] == "two_input":
                self.dense = nn.Sequential(
                    nn.Linear(w["units"] + 5, 64), nn.ReLU(), nn.Linear(64, 64),
                    nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, ids, aux=None):
            _, (h, _) = self.lstm(self.emb(ids))
            h = h[0]
            if aux is None:
                return self.out(h)
            return self.dense(torch.cat([h, aux], dim=1)), self.out(h)

    return Seq()


def _run_torch_seq(w):
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    x, y = _data(w)
    model = _torch_seq(w, torch)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ids = torch.from_numpy((x[0] if w["seq"] == "two_input" else x).astype(np.int64))
    aux = torch.from_numpy(x[1]) if w["seq"] == "two_input" else None
    y = torch.from_numpy(y)

    def batch_loss(idx):
        if aux is None:
            return loss_fn(model(ids[idx]), y[idx])
        main, aux_out = model(ids[idx], aux[idx])
        return loss_fn(main, y[idx]) + 0.2 * loss_fn(aux_out, y[idx])
    return _torch_epochs(torch, model, opt, w, batch_loss)


def _run_ckeras(w):
    from ckeras import backend as K
    from ckeras.layers import Dense, Dropout
    from ckeras.models import Sequential
    from ckeras.optimizers import SGD, RMSprop
    from ckeras.utils import to_categorical

    K.set_num_threads(2)
    K.set_random_seed(0)
    np.random.seed(0)
    x, y = _data(w)
    y = to_categorical(y, 10)
    if w.get("cnn"):
        model = _ckeras_cnn()
    else:
        h = w["hidden"]
        model = Sequential([Dense(h, activation="relu", input_dim=w["din"]),
                            Dropout(w["drop"]), Dense(h, activation="relu"),
                            Dropout(w["drop"]), Dense(10, activation="softmax")])
    opt = (SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True) if w["opt"] == "sgd"
           else SGD(lr=0.01, momentum=0.9) if w["opt"] == "sgd_momentum"
           else RMSprop())
    model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    return _fit_epochs(model, w, x, y)


def _run_torch(w):
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    x, y = _data(w)
    nn = torch.nn
    if w.get("cnn"):  # torch is channels-first
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        model = _torch_cnn(nn)
    else:
        h = w["hidden"]
        model = nn.Sequential(nn.Linear(w["din"], h), nn.ReLU(), nn.Dropout(w["drop"]),
                              nn.Linear(h, h), nn.ReLU(), nn.Dropout(w["drop"]),
                              nn.Linear(h, 10))
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    if w["opt"] == "sgd_momentum":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    elif w["opt"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    return _torch_epochs(torch, model, opt, w, lambda idx: loss_fn(model(x[idx]), y[idx]))


def _child(framework, name):
    import resource
    w = WORKLOADS[name]
    if w.get("seq"):
        run = _run_ckeras_seq if framework == "ckeras" else _run_torch_seq
    else:
        run = _run_ckeras if framework == "ckeras" else _run_torch
    times = run(w)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"times": times, "peak_rss_mb": rss_mb}))


def _measure(framework, name):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-c",
                           f"from ckeras.bench.models import _child; "
                           f"_child({framework!r}, {name!r})"],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{framework} {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fma_peak():
    """The machine's FMA peak, measured as the kernel benchmark does."""
    from ckeras.bench.kernels import Settings, _fma_peak as measure
    return measure(Settings(quick=False))[0]


def _has_torch():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except Exception:
        return False


def run(as_json=False, workloads=("W1", "W2", "W3", "W4", "W5"), frameworks=None):
    """Runs the workloads; prints a table (or JSON); returns the rows."""
    if frameworks is None:
        frameworks = ["ckeras"] + (["torch"] if _has_torch() else [])
    rows = []
    for name in workloads:
        w = WORKLOADS[name]
        for fw in frameworks:
            r = _measure(fw, name)
            epoch = float(np.median(r["times"]))
            sps = w["n"] / epoch
            rows.append({"workload": name, "framework": fw,
                         "samples_per_s": round(sps, 1), "epoch_s": round(epoch, 4),
                         "gflops": round(_flops_per_sample(w) * sps / 1e9, 2),
                         "peak_rss_mb": round(r["peak_rss_mb"], 1)})
        by_fw = {row["framework"]: row for row in rows if row["workload"] == name}
        if "ckeras" in by_fw and "torch" in by_fw:
            ratio = by_fw["ckeras"]["samples_per_s"] / by_fw["torch"]["samples_per_s"]
            by_fw["ckeras"]["vs_torch"] = round(ratio, 2)
            if name in BARS:
                by_fw["ckeras"]["bar"] = f"vs_torch >= {BARS[name]}"
                by_fw["ckeras"]["meets_bar"] = ratio >= BARS[name]
    load = os.getloadavg()
    peak = _fma_peak()
    for row in rows:
        row["fma_peak_gflops"] = round(peak, 1)
        row["load_average"] = round(load[0], 2)
    if as_json:
        print(json.dumps(rows))
    else:
        print(f"{'workload':8} {'framework':9} {'samples/s':>12} {'epoch s':>9} "
              f"{'GFLOP/s':>8} {'peak RSS MB':>12} {'vs torch':>9}   (FMA peak "
              f"{peak:.0f} GFLOP/s, load average {load[0]:.2f})")
        for r in rows:
            ratio = f"{r['vs_torch']:.2f}x" if "vs_torch" in r else "-"
            bar = "" if "bar" not in r else \
                f"  {r['bar']}: {'ok' if r['meets_bar'] else 'MISSED'}"
            print(f"{r['workload']:8} {r['framework']:9} {r['samples_per_s']:12.0f} "
                  f"{r['epoch_s']:9.4f} {r['gflops']:8.2f} {r['peak_rss_mb']:12.1f} "
                  f"{ratio:>9}{bar}")
    return rows


if __name__ == "__main__":
    run(as_json="--json" in sys.argv)
