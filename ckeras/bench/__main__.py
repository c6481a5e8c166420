"""``python -m ckeras.bench {kernels,engine,models,saving} [--json] [--quick]
[--threads N]``.

kernels runs the native kernel microbenchmark (ckeras.bench.kernels);
engine, models and saving run ckeras.bench.<suite>.run(as_json) (saving
also takes --quick), imported only when asked for. --json
prints nothing but the JSON list of entries on stdout.
"""
import argparse
import importlib
import sys


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m ckeras.bench",
        description="ckeras benchmarks, measured in one run on this machine.")
    p.add_argument("suite", choices=["kernels", "engine", "models", "saving"],
                   help="kernels: native kernel microbenchmark; engine, "
                        "models: layer and model benchmarks; saving: "
                        "save/load of a 100 MB model against plain h5py")
    p.add_argument("--json", action="store_true",
                   help="print only a JSON list of entries")
    p.add_argument("--quick", action="store_true",
                   help="(kernels, saving) small shapes and few calls, for tests")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for ckeras and numpy's BLAS (default: 2, "
                        "or the available cores if fewer)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.threads is not None and args.threads < 1:
        _parser().error(f"--threads must be >= 1, got {args.threads}")
    from ckeras.bench import kernels

    threads = kernels.default_threads() if args.threads is None else args.threads
    if args.suite == "kernels":
        kernels.run(as_json=args.json, threads=threads, quick=args.quick)
        return 0
    name = f"ckeras.bench.{args.suite}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        print(f"python -m ckeras.bench {args.suite}: {name} is not part of "
              f"this build yet; available: kernels", file=sys.stderr)
        return 2
    from ckeras import backend

    backend.set_num_threads(threads)
    if args.suite == "saving":
        module.run(args.json, quick=args.quick)
    else:
        module.run(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
