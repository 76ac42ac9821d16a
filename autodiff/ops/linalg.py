"""Linear algebra. matmul follows NumPy's 1-d and batched rules in both directions."""
from __future__ import annotations

import numpy as np

from ._registry import MULTILINEAR, defop


def _matmul_grad_x(g, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g[..., None] * y
    if y.ndim == 1:
        return g[..., None] * y
    if x.ndim == 1:
        return np.matmul(g[..., None, :], np.swapaxes(y, -1, -2))[..., 0, :]
    return np.matmul(g, np.swapaxes(y, -1, -2))


def _matmul_grad_y(g, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g[..., None] * x
    if x.ndim == 1:
        return x[:, None] * g[..., None, :]
    if y.ndim == 1:
        return np.matmul(np.swapaxes(x, -1, -2), g[..., None])[..., 0]
    return np.matmul(np.swapaxes(x, -1, -2), g)


@defop(vjp={"x": _matmul_grad_x, "y": _matmul_grad_y}, jvp=MULTILINEAR, batch_ok=True,
       node_name="MmBackward0")
def matmul(x, y):
    return np.matmul(x, y)
