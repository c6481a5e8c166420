"""Mutation fuzzing of load_model (run as a subprocess by test_robustness.py,
so a crash or a hang of the HDF5 library fails the test instead of pytest).

Usage: python fuzz_loader.py VALID_FILE WORKDIR CASES SEED
Prints one JSON line: {"outcomes": {name: count}, "bad": [[case, type, msg]]}.
"""
import json
import os
import sys
import warnings

import numpy as np


def mutate(data, rng):
    kind = rng.integers(0, 3)
    buf = bytearray(data)
    if kind == 0:  # truncate
        return bytes(buf[:int(rng.integers(0, len(buf)))])
    if kind == 1:  # flip a few random bits
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(buf)))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(buf)
    # overwrite a run of bytes in the first 4 KB (HDF5 metadata, attributes)
    start = int(rng.integers(0, min(len(buf), 4096)))
    n = int(rng.integers(1, 33))
    buf[start:start + n] = rng.integers(0, 256, min(n, len(buf) - start),
                                        dtype=np.uint8).tobytes()
    return bytes(buf)


def main(valid, workdir, cases, seed):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    from ckeras.models import ModelFileError, load_model
    warnings.simplefilter("ignore")
    data = open(valid, "rb").read()
    rng = np.random.default_rng(seed)
    outcomes, bad = {}, []
    path = os.path.join(workdir, "mutant.h5")
    for case in range(cases):
        with open(path, "wb") as f:
            f.write(mutate(data, rng))
        try:
            load_model(path)
            name = "loaded"
        except ModelFileError:
            name = "ModelFileError"
        except Exception as e:  # anything else is a bug
            name = type(e).__name__
            bad.append([case, name, str(e)[:300]])
        outcomes[name] = outcomes.get(name, 0) + 1
    print(json.dumps({"outcomes": outcomes, "bad": bad}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
