"""``python -m benchmarks``: pin threads before NumPy loads its BLAS, then run.

Every library runs on one thread unless ``--threads N`` or ``--default-threads``
says otherwise: OMP/OpenBLAS/MKL thread counts and XLA's intra-op threads are
set in the environment (inherited by the isolated cells' worker processes), and
the runner calls ``torch.set_num_threads(N)``. The process is not pinned to a
CPU: on a shared machine a pinned process cannot move off a busy core. Nothing
else about the process is tuned (no allocator settings): the numbers are what a
user's program gets.
"""
import os
import sys


def _threads(argv: list) -> int | None:
    """The thread count the command line asks for (1 by default; None: the libraries')."""
    if "--default-threads" in argv:
        return None
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


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


if __name__ == "__main__":
    try:
        threads = _threads(sys.argv[1:])
    except ValueError:
        threads = None  # not a number: argparse reports it
    if threads and threads > 0:
        pin_threads(threads)
    from .run import main

    sys.exit(main())
