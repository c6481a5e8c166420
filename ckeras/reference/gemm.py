"""Reference of ck_sgemm: C = alpha * op(A) @ op(B) + beta * C."""
import numpy as np


def sgemm(A, B, C=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """Returns alpha * op(A) @ op(B) + beta * C, computed in float64.

    With beta == 0, C is not read (NaN in C does not propagate).
    """
    a = np.asarray(A, np.float64)
    b = np.asarray(B, np.float64)
    out = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if beta != 0.0:
        out = out + beta * np.asarray(C, np.float64)
    return out
