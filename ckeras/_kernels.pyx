# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin Python bindings of the ckeras C kernels (src/kernels/).

One ``def`` per C function, in header order. Each checks dtype, rank,
shape, contiguity and writability with a Keras-style error, then calls C
with the GIL released. No math and no graph logic live here: the C trusts
these checks, so every pointer handed to it has been validated.

Backward functions accumulate into their gradient outputs: pass zeroed
buffers (or none, and fresh zeroed ones are returned).
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint64_t
from ckeras._kernels cimport *

cnp.import_array()
ck_init()

include "_kernels_src/checks.pxi"
include "_kernels_src/threads.pxi"
include "_kernels_src/gemm.pxi"
include "_kernels_src/arraypool.pxi"
# kernel families: one .pxi each, in header order
include "_kernels_src/activations.pxi"
include "_kernels_src/dropout.pxi"
include "_kernels_src/dense.pxi"
include "_kernels_src/losses.pxi"
include "_kernels_src/optimizers.pxi"
include "_kernels_src/recurrent.pxi"
include "_kernels_src/embedding.pxi"
include "_kernels_src/bench.pxi"
include "_kernels_src/conv.pxi"
include "_kernels_src/depthwise.pxi"
include "_kernels_src/pool.pxi"
