"""Elementwise binary arithmetic. Broadcasting is undone by the engine, not here."""
from __future__ import annotations

import operator

import numpy as np

from ._registry import ELEMENTWISE, ZERO, defop, pass_grad


# forward_direct: the same forward, called by the engine without a Python frame
@defop(vjp={"x": pass_grad, "y": pass_grad}, jvp=ELEMENTWISE, batch_ok=True,
       forward_direct=operator.add)
def add(x, y):
    return x + y  # operators: NumPy scalars take a fast path that ufunc calls do not


@defop(vjp={"x": pass_grad, "y": lambda g: -g}, jvp=ELEMENTWISE, batch_ok=True,
       forward_direct=operator.sub)
def sub(x, y):
    return x - y


@defop(vjp={"x": lambda g, y: g * y, "y": lambda g, x: g * x}, jvp=ELEMENTWISE, batch_ok=True,
       forward_direct=operator.mul)
def mul(x, y):
    return x * y


# d(x/y)/dy = -(x/y)/y from the inputs, not the output: as PyTorch, the node saves x and
# y only, so an in-place op on the quotient does not break backward
@defop(vjp={"x": lambda g, y: g / y, "y": lambda g, x, y: -g * (x / y) / y},
       jvp=ELEMENTWISE, batch_ok=True, forward_direct=operator.truediv)
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


def _pow_node_name(raw, params):
    # PyTorch: PowBackward0 for a number exponent, 1 for a tensor one, 2 for a number base.
    # Exact types: a 0-d tensor's value arrives as np.float64, a subclass of float.
    if type(raw[0]) in (int, float):
        return "PowBackward2"
    return None if type(raw[1]) in (int, float) else "PowBackward1"


@defop(vjp={"x": _pow_grad_base, "y": _pow_grad_exponent}, jvp=ELEMENTWISE, batch_ok=True,
       node_names=_pow_node_name, node_variants=("PowBackward1", "PowBackward2"),
       number_inputs=("x", "y"))
def pow(x, y):
    return x ** y


@defop(vjp={"x": lambda g, condition: np.where(condition, g, 0.0),
            "y": lambda g, condition: np.where(condition, 0.0, g)},
       nondiff_inputs=("condition",), jvp=ELEMENTWISE, batch_ok=True,
       node_name="WhereBackward0")
def where(condition, x, y):
    return np.where(condition, x, y)


# -- piecewise: maximum, minimum, clip --------------------------------------------
# At ties the gradient is split evenly between the two inputs, as PyTorch does; where
# either is NaN (so is the result) both get all of it, as in PyTorch.
def _max_share(g, a, b):
    """g where a wins or a NaN is involved, g/2 where a and b tie, 0 where b wins."""
    return np.where(a == b, g * 0.5, np.where(a < b, 0.0, g))


@defop(vjp={"x": lambda g, x, y: _max_share(g, x, y), "y": lambda g, x, y: _max_share(g, y, x)},
       jvp=ELEMENTWISE, batch_ok=True)
def maximum(x, y):
    return np.maximum(x, y)


@defop(vjp={"x": lambda g, x, y: _max_share(g, y, x), "y": lambda g, x, y: _max_share(g, x, y)},
       jvp=ELEMENTWISE, batch_ok=True)
def minimum(x, y):
    return np.minimum(x, y)


# clip(x, lo, hi) = min(max(x, lo), hi), PyTorch's clamp. The gradient goes to x where
# lo <= x <= hi (the boundary included), to lo where x < lo <= hi, to hi where the
# lower-clamped value exceeds hi. A bound may be None (no bound) or a tensor.
def _clip_grad_x(g, x, lo, hi):
    keep = None
    if lo is not None:
        keep = x >= lo
    if hi is not None:
        below = x <= hi
        keep = below if keep is None else np.logical_and(keep, below)
    return g if keep is None else np.where(keep, g, 0.0)


def _clip_grad_lo(g, x, lo, hi):
    take = x < lo
    if hi is not None:
        take = np.logical_and(take, lo <= hi)
    return np.where(take, g, 0.0)


def _clip_grad_hi(g, x, lo, hi):
    low = x if lo is None else np.maximum(x, lo)
    return np.where(low > hi, g, 0.0)


@defop(vjp={"x": _clip_grad_x, "lo": _clip_grad_lo, "hi": _clip_grad_hi},
       jvp=ELEMENTWISE, batch_ok=True, node_name="ClampBackward1", number_inputs=("lo", "hi"))
def clip(x, lo, hi):
    if lo is None and hi is None:
        raise ValueError("at least one of min and max must be given")
    if lo is None:
        return np.minimum(x, hi)
    if hi is None:
        return np.maximum(x, lo)
    return np.minimum(np.maximum(x, lo), hi)


# -- arctan2, floor division, remainder ---------------------------------------------
def _atan2_recip(x, y):
    # 1 / (x**2 + y**2), and 0 at the origin (where the gradient would be 0 * inf):
    # PyTorch's subgradient there
    d = x * x + y * y
    at_origin = d == 0
    return np.where(at_origin, 0.0, 1 / np.where(at_origin, 1.0, d))


def _atan2_grad_y(g, x, y):
    return g * x * _atan2_recip(x, y)


def _atan2_grad_x(g, x, y):
    return g * -y * _atan2_recip(x, y)


@defop(vjp={"y": _atan2_grad_y, "x": _atan2_grad_x}, jvp=ELEMENTWISE, batch_ok=True)
def arctan2(y, x):
    return np.arctan2(y, x)


# piecewise constant: a zero gradient for both inputs, as the spec says (zeros of g's
# shape, as elementwise.floor's: a NaN or inf partial before it gives NaN)
@defop(vjp={"x": lambda g: np.zeros_like(g), "y": lambda g: np.zeros_like(g)}, jvp=ZERO,
       node_name="FloorDivideBackward0", number_inputs=("y",))
def floor_divide(x, y):
    return np.floor_divide(x, y)


# x - y * floor(x / y) (Python's and PyTorch's remainder: the sign of y)
@defop(vjp={"x": pass_grad, "y": lambda g, x, y: -g * np.floor_divide(x, y)},
       jvp=ELEMENTWISE, batch_ok=True, number_inputs=("y",))
def remainder(x, y):
    return np.remainder(x, y)
