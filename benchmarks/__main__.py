"""``python -m benchmarks``: pin threads before NumPy loads its BLAS, then run.

``--threads N`` sets OMP/OpenBLAS/MKL thread counts and XLA's intra-op
threads in the environment (inherited by isolated cell subprocesses); the
runner then calls ``torch.set_num_threads(N)``. The process is not pinned to
a CPU: on a shared machine a pinned process cannot move off a busy core.
"""
import os
import sys


def _threads(argv: list) -> int | None:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return None


def pin_threads(n: int) -> None:
    """Limit every library to n threads (must run before numpy is imported)."""
    if "numpy" in sys.modules:
        print("warning: numpy already imported; BLAS thread count may not change", file=sys.stderr)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(n)
    xla = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (f"{xla} --xla_cpu_multi_thread_eigen={'false' if n == 1 else 'true'}"
                               f" intra_op_parallelism_threads={n}").strip()


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    Every implementation in the run allocates and frees arrays of a few hundred KB per
    op; by default glibc unmaps them and each new one page-faults afresh, which
    doubles the time of small-array workloads (W5) for NumPy and autodiff alike. The
    setting is process-wide, so every peer in the run gets it.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    libc.mallopt(M_MMAP_THRESHOLD, 64 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
    libc.mallopt(M_TOP_PAD, 64 << 20)


if __name__ == "__main__":
    keep_freed_memory()
    threads = _threads(sys.argv[1:])
    if threads:
        pin_threads(threads)
    from .run import main

    sys.exit(main())
