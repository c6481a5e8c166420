"""Numpy reference of src/kernels/dropout.c: the same counter-based mask,
bit for bit (uint32 arithmetic wraps as C's does)."""
import numpy as np


def _lowbias32(x):
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def dropout_mask(n, rate, seed):
    """The flat [n] float32 mask: 1/(1-rate) where kept, 0 where dropped."""
    i = np.arange(n, dtype=np.uint64)
    lo = (i & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (i >> np.uint64(32)).astype(np.uint32)
    s0 = np.uint32(seed & 0xFFFFFFFF)
    s1 = np.uint32(seed >> 32)
    h = _lowbias32(_lowbias32(lo ^ s0) ^ (s1 ^ hi))
    u = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)
    keep = np.float32(1.0) - np.float32(rate)
    scale = np.float32(1.0) / keep
    return np.where(u < keep, scale, np.float32(0.0)).astype(np.float32)


def dropout_forward(x, rate, seed):
    """(y, mask) for float32 x of any shape."""
    x = np.asarray(x, np.float32)
    mask = dropout_mask(x.size, rate, seed).reshape(x.shape)
    return x * mask, mask


def dropout_backward(dy, mask):
    return np.asarray(dy, np.float32) * mask
