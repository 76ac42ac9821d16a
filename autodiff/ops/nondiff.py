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


def _predicate(name, ufunc, n_in=1):
    if n_in == 1:
        def forward(x):
            return ufunc(x)
        forward.__name__ = name
        inputs = ("x",)
    else:
        def forward(x, y):
            return ufunc(x, y)
        forward.__name__ = name
        inputs = ("x", "y")
    forward.__doc__ = f"Elementwise ``numpy.{ufunc.__name__}``; a boolean tensor, no gradient."
    return defop(nondiff_inputs=inputs, jvp=ZERO)(forward)


isnan = _predicate("isnan", np.isnan)
isfinite = _predicate("isfinite", np.isfinite)
isinf = _predicate("isinf", np.isinf)
logical_not = _predicate("logical_not", np.logical_not)
logical_and = _predicate("logical_and", np.logical_and, 2)
logical_or = _predicate("logical_or", np.logical_or, 2)
logical_xor = _predicate("logical_xor", np.logical_xor, 2)


@defop(nondiff_inputs=("x",), jvp=ZERO)
def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (integer tensor, no gradient)."""
    return np.argmax(x, axis=axis, keepdims=keepdims)


@defop(nondiff_inputs=("x",), jvp=ZERO)
def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value (integer tensor, no gradient)."""
    return np.argmin(x, axis=axis, keepdims=keepdims)


@defop(nondiff_inputs=("x",), jvp=ZERO)
def any(x, axis=None, keepdims=False):
    """Whether any element is true (boolean tensor, no gradient)."""
    return np.any(x, axis=axis, keepdims=keepdims)


@defop(nondiff_inputs=("x",), jvp=ZERO)
def all(x, axis=None, keepdims=False):
    """Whether every element is true (boolean tensor, no gradient)."""
    return np.all(x, axis=axis, keepdims=keepdims)


@defop(nondiff_inputs=("x", "y"), jvp=ZERO)
def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``numpy.isclose`` (boolean tensor, no gradient)."""
    return np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)
