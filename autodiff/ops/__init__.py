"""Every op of autodiff, one module per family. Importing this registers them all."""
from . import binary, elementwise, index, linalg, nn, nondiff, reduce, shape  # noqa: F401
from ._registry import ARRAY_FUNCTIONS, OPS, UFUNCS, defop, implements  # noqa: F401
