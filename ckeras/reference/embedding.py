"""Reference of the Embedding kernels (embedding.c), in float64."""
import numpy as np


def embedding_forward(indices, table):
    """out[..., :] = table[indices[...], :]; shape indices.shape + (D,)."""
    idx = np.asarray(indices).astype(np.int64)
    return np.asarray(table, np.float64)[idx]


def embedding_backward(dout, indices, input_dim):
    """The gradient of the table: dtable[indices[...]] += dout[...], a
    fresh (input_dim, D) array."""
    idx = np.asarray(indices).astype(np.int64).reshape(-1)
    dout = np.asarray(dout, np.float64)
    d = dout.reshape(idx.size, dout.shape[-1])
    dtable = np.zeros((input_dim, d.shape[1]))
    np.add.at(dtable, idx, d)
    return dtable
