"""Elementwise binary arithmetic. Broadcasting is undone by the engine, not here."""
from __future__ import annotations

import numpy as np

from ._registry import ELEMENTWISE, defop


@defop(vjp={"x": lambda g: g, "y": lambda g: g}, jvp=ELEMENTWISE, batch_ok=True)
def add(x, y):
    return x + y  # operators: NumPy scalars take a fast path that ufunc calls do not


@defop(vjp={"x": lambda g: g, "y": lambda g: -g}, jvp=ELEMENTWISE, batch_ok=True)
def sub(x, y):
    return x - y


@defop(vjp={"x": lambda g, y: g * y, "y": lambda g, x: g * x}, jvp=ELEMENTWISE, batch_ok=True)
def mul(x, y):
    return x * y


@defop(vjp={"x": lambda g, y: g / y, "y": lambda g, out, y: -g * out / y},
       jvp=ELEMENTWISE, batch_ok=True)
def div(x, y):
    return x / y


def _pow_grad_base(g, x, y):
    if isinstance(y, (int, float)):
        if y == 0:
            return g * 0.0
        if y == 2:
            return g * (2 * x)
        return g * (y * x ** (y - 1))
    # d/dx x**0 is 0 even at x = 0 (where y * x**(y-1) would be 0 * inf)
    return np.where(y == 0, 0.0, g * (y * x ** (y - 1)))


def _pow_grad_exponent(g, x, y, out):
    # x = 0 contributes 0 (not 0 * log 0 = nan), as PyTorch does for y >= 0
    safe_x = np.where(x == 0, 1.0, x)
    return g * (out * np.log(safe_x))


@defop(vjp={"x": _pow_grad_base, "y": _pow_grad_exponent}, jvp=ELEMENTWISE, batch_ok=True)
def pow(x, y):
    return x ** y


@defop(vjp={"x": lambda g, condition: np.where(condition, g, 0.0),
            "y": lambda g, condition: np.where(condition, 0.0, g)},
       nondiff_inputs=("condition",), jvp=ELEMENTWISE, batch_ok=True,
       node_name="WhereBackward0")
def where(condition, x, y):
    return np.where(condition, x, y)
