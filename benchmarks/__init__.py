"""Benchmarks of autodiff against its peers: ``python -m benchmarks --help``.

Nothing is imported here: ``__main__`` must set the thread environment
variables before NumPy (and its BLAS) is first imported.
"""
