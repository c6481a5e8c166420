"""Engine benchmark: inference latency of the 784-512-512-10 MLP and the
cost of ``import ckeras``; compared with PyTorch when it is installed.

``python -m ckeras.bench engine`` dispatches here; ``run(as_json=False)``
returns one dict per workload with ``workload``, ``seconds`` (median), and
``vs_torch`` (our time / torch's, lower is better) when torch is present.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, repeats, inner):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner)
    return float(np.median(times))


def _import_seconds(statement, repeats=5):
    times = []
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True)
        times.append(float(out.stdout.strip()))
    return float(np.median(times))


def _mlp(seed=0):
    from ckeras.layers import Dense
    from ckeras.models import Sequential
    np.random.seed(seed)
    return Sequential([Dense(512, activation="relu", input_shape=(784,)),
                       Dense(512, activation="relu"),
                       Dense(10, activation="softmax")])


def _torch_mlp(weights):
    import torch
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 10), torch.nn.Softmax(dim=-1))
    with torch.no_grad():
        for i, lin in enumerate([net[0], net[2], net[4]]):
            lin.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
    return net


def run(as_json=False, repeats=21):
    rows = []
    model = _mlp()
    try:
        import torch
        torch_ok = True
    except ImportError:
        torch_ok = False
    for batch in (1, 128):
        x = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
        inner = 200 if batch == 1 else 20
        ours = _median_time(lambda: model.predict_on_batch(x), repeats, inner)
        row = {"workload": f"predict_on_batch mlp 784-512-512-10 batch {batch}",
               "seconds": ours}
        if torch_ok:
            net = _torch_mlp(model.get_weights())
            xt = torch.from_numpy(x)

            def forward():
                with torch.inference_mode():
                    return net(xt)
            theirs = _median_time(forward, repeats, inner)
            np.testing.assert_allclose(forward().numpy(), model.predict_on_batch(x),
                                       rtol=1e-4, atol=1e-5)
            row["torch_seconds"] = theirs
            row["vs_torch"] = ours / theirs
        rows.append(row)
    rows.append({"workload": "import ckeras", "seconds": _import_seconds("import ckeras")})
    rows.append({"workload": "import ckeras + layers + models + backend",
                 "seconds": _import_seconds(
                     "import ckeras; import ckeras.layers, ckeras.models, ckeras.backend")})
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'workload':48} {'ckeras':>10} {'torch':>10} {'vs torch':>9}")
        for r in rows:
            theirs = r.get("torch_seconds")
            print(f"{r['workload']:48} {r['seconds'] * 1e3:8.3f}ms "
                  + (f"{theirs * 1e3:8.3f}ms {r['vs_torch']:8.2f}x" if theirs else ""))
    return rows
