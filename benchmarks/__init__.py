"""Benchmarks of autodiff against its peers: ``python -m benchmarks --help``.

Nothing is imported here: ``__main__`` must set the thread environment
variables before NumPy (and its BLAS) is first imported.
"""
import os
import sys


def _skip_unbuilt_checkout() -> None:
    """Let ``import autodiff`` find the installed package, not an unbuilt checkout.

    ``python -m benchmarks`` (and each isolated cell's ``-m benchmarks.run``) in a
    source checkout puts the checkout first on sys.path; its ``autodiff/`` has no
    compiled core unless built in place, while ``pip install .`` put a compiled one
    in site-packages. This package's own modules are found through its ``__path__``.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(root, "autodiff")
    if not os.path.isdir(src) or any(f.startswith("_core.") and f.endswith((".so", ".pyd"))
                                     for f in os.listdir(src)):
        return
    # Last, not gone: `benchmarks` itself is still found there, also by the spawned
    # processes of isolated cells, which start from this process's sys.path.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != root] + [root]


_skip_unbuilt_checkout()
