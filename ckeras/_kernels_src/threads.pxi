# Threads: one pool (OpenMP) for every kernel; OpenBLAS runs inside it.


def set_num_threads(n):
    """Set the number of threads every ckeras kernel uses (n >= 1)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int >= 1, got {n!r}")
    check_positive(n, "n")
    ck_set_num_threads(<int>n)


def get_num_threads():
    """The number of threads ckeras kernels use (default: available cores)."""
    return ck_get_num_threads()


def available_cores():
    """CPUs this process may run on (its affinity mask)."""
    return ck_available_cores()
