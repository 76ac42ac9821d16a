"""Reductions. Axes are handled as negative numbers so leading batch axes are safe."""
from __future__ import annotations

import numpy as np

from ._registry import LINEAR, defop
from ._util import expand_reduced, reduced_count


@defop(vjp={"x": lambda g, x_shape, axis, keepdims: expand_reduced(g, x_shape, axis, keepdims)},
       jvp=LINEAR, batch_ok=True)
def sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


@defop(vjp={"x": lambda g, x_shape, axis, keepdims:
            expand_reduced(g, x_shape, axis, keepdims) / reduced_count(x_shape, axis)},
       jvp=LINEAR, batch_ok=True)
def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)
