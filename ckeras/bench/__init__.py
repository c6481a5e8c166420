"""Benchmarks: ``python -m ckeras.bench {kernels,engine,models}``.

kernels: the native kernel microbenchmark (ckeras.bench.kernels).
engine, models: ckeras.bench.engine / ckeras.bench.models, when present.
"""
