"""Ops without a derivative: comparisons and predicates give boolean tensors."""
from __future__ import annotations

import numpy as np

from ._registry import ZERO, defop, implements


def _comparison(name, ufunc):
    def forward(x, y):
        return ufunc(x, y)
    forward.__name__ = name
    forward.__doc__ = f"Elementwise ``numpy.{ufunc.__name__}``; a boolean tensor, no gradient."
    op = defop(nondiff_inputs=("x", "y"), jvp=ZERO)(forward)
    implements(ufunc)(op)
    return op


eq = _comparison("eq", np.equal)
ne = _comparison("ne", np.not_equal)
lt = _comparison("lt", np.less)
le = _comparison("le", np.less_equal)
gt = _comparison("gt", np.greater)
ge = _comparison("ge", np.greater_equal)
