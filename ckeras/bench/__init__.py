"""Benchmarks: ``python -m ckeras.bench {kernels,engine,models,saving}``.

kernels: the native kernel microbenchmark (ckeras.bench.kernels).
engine, models, saving: ckeras.bench.engine / .models / .saving, when present.
"""
