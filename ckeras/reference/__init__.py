"""Pure-numpy references of the C kernels: the test oracles.

Each module mirrors one kernel family with the same contract as the C
kernel (same arguments, same math), written for clarity, not speed. Unlike
the C backward kernels, which accumulate (+=) into caller buffers, the
references return fresh gradients. Each reference's backward is checked
against central finite differences in float64 (tests/kernels/).
"""
