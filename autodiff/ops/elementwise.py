"""Elementwise unary ops: forward, VJP and JVP together (JVP = VJP with the tangent as g)."""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import _core
from . import _fast
from ._registry import ELEMENTWISE, ZERO, defop


# forward_direct: the same forward, called by the engine without a Python frame
@defop(vjp={"x": lambda g: -g}, jvp=ELEMENTWISE, batch_ok=True, forward_direct=operator.neg)
def neg(x):
    return -x


@defop(vjp={"x": lambda g, out: g * out}, jvp=ELEMENTWISE, batch_ok=True, forward_direct=np.exp)
def exp(x):
    return np.exp(x)


@defop(vjp={"x": lambda g, x: g / x}, jvp=ELEMENTWISE, batch_ok=True, forward_direct=np.log)
def log(x):
    return np.log(x)


# _fast: compiled kernels for large float64 arrays, else np.sin/np.cos (and on Tensors,
# under create_graph=True, those dispatch to these ops: higher derivatives work)
@defop(vjp={"x": _fast.sin_backward}, jvp=ELEMENTWISE, batch_ok=True, forward_direct=_fast.sin)
def sin(x):
    return _fast.sin(x)


@defop(vjp={"x": _fast.cos_backward}, jvp=ELEMENTWISE, batch_ok=True, forward_direct=_fast.cos)
def cos(x):
    return _fast.cos(x)


@defop(vjp={"x": _fast.tanh_backward}, jvp=ELEMENTWISE, batch_ok=True,
       forward_direct=_fast.tanh, vjp_into=_fast.tanh_backward_into)
def tanh(x):
    return _fast.tanh(x)


def _sigmoid_forward(x):
    # exp of a non-positive number only, so large |x| neither overflows nor warns
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@defop(vjp={"x": lambda g, out: g * (out * (1 - out))}, jvp=ELEMENTWISE, batch_ok=True)
def sigmoid(x):
    return _sigmoid_forward(x)


# relu'(0) = 0, as in PyTorch; the rule reads the output (out <= 0 where x <= 0), which
# is what PyTorch saves
@defop(vjp={"x": _fast.relu_backward}, jvp=ELEMENTWISE, batch_ok=True,
       vjp_into=_fast.relu_backward_into)
def relu(x):
    return np.maximum(x, 0)


def _is_tensor(x):
    return isinstance(x, _core.TensorBase)


# -- logarithms and powers ---------------------------------------------------------
@defop(vjp={"x": lambda g, out: g * (out + 1)}, jvp=ELEMENTWISE, batch_ok=True)
def expm1(x):
    return np.expm1(x)


@defop(vjp={"x": lambda g, x: g / (x + 1)}, jvp=ELEMENTWISE, batch_ok=True)
def log1p(x):
    return np.log1p(x)


_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))


@defop(vjp={"x": lambda g, x: g / (x * _LN2)}, jvp=ELEMENTWISE, batch_ok=True)
def log2(x):
    return np.log2(x)


@defop(vjp={"x": lambda g, x: g / (x * _LN10)}, jvp=ELEMENTWISE, batch_ok=True)
def log10(x):
    return np.log10(x)


# sqrt'(0) = inf, as in PyTorch
@defop(vjp={"x": lambda g, out: g / (out * 2)}, jvp=ELEMENTWISE, batch_ok=True)
def sqrt(x):
    return np.sqrt(x)


# d/dx x**-1/2 = -1/2 x**-3/2 = -out**3 / 2
@defop(vjp={"x": lambda g, out: g * (out * out * out * -0.5)}, jvp=ELEMENTWISE, batch_ok=True)
def rsqrt(x):
    return 1 / np.sqrt(x)


@defop(vjp={"x": lambda g, x: g * (x * 2)}, jvp=ELEMENTWISE, batch_ok=True)
def square(x):
    return np.square(x)


# d(1/x)/dx = -out**2, from the output as PyTorch (an in-place op on x keeps backward valid)
@defop(vjp={"x": lambda g, out: -g * (out * out)}, jvp=ELEMENTWISE, batch_ok=True)
def reciprocal(x):
    return 1 / x


# abs'(0) = 0 (sign(0) = 0), as in PyTorch
@defop(vjp={"x": lambda g, x: g * np.sign(x)}, jvp=ELEMENTWISE, batch_ok=True)
def abs(x):
    return np.abs(x)


# -- trigonometric and hyperbolic --------------------------------------------------
@defop(vjp={"x": lambda g, out: g * (out * out + 1)}, jvp=ELEMENTWISE, batch_ok=True)
def tan(x):
    return np.tan(x)


@defop(vjp={"x": lambda g, x: g / np.sqrt(1 - x * x)}, jvp=ELEMENTWISE, batch_ok=True)
def arcsin(x):
    return np.arcsin(x)


@defop(vjp={"x": lambda g, x: -g / np.sqrt(1 - x * x)}, jvp=ELEMENTWISE, batch_ok=True)
def arccos(x):
    return np.arccos(x)


@defop(vjp={"x": lambda g, x: g / (x * x + 1)}, jvp=ELEMENTWISE, batch_ok=True)
def arctan(x):
    return np.arctan(x)


@defop(vjp={"x": lambda g, x: g * np.cosh(x)}, jvp=ELEMENTWISE, batch_ok=True)
def sinh(x):
    return np.sinh(x)


@defop(vjp={"x": lambda g, x: g * np.sinh(x)}, jvp=ELEMENTWISE, batch_ok=True)
def cosh(x):
    return np.cosh(x)


@defop(vjp={"x": lambda g, x: g / np.sqrt(x * x + 1)}, jvp=ELEMENTWISE, batch_ok=True)
def arcsinh(x):
    return np.arcsinh(x)


# (x-1)(x+1) rather than x*x-1: no cancellation near x = 1
@defop(vjp={"x": lambda g, x: g / np.sqrt((x - 1) * (x + 1))}, jvp=ELEMENTWISE, batch_ok=True)
def arccosh(x):
    return np.arccosh(x)


@defop(vjp={"x": lambda g, x: g / ((1 - x) * (1 + x))}, jvp=ELEMENTWISE, batch_ok=True)
def arctanh(x):
    return np.arctanh(x)


# -- activations ------------------------------------------------------------------
def _softplus_forward(x, beta, threshold):
    if type(x) is np.float64:
        # float64 scalars: the math module is ~10x faster than NumPy's ufunc machinery
        z = float(x) * beta
        if z > threshold:
            return x
        return np.float64((max(z, 0.0) + math.log1p(math.exp(-abs(z)))) / beta)
    z = x * beta
    # max(z, 0) + log1p(exp(-|z|)): exp of a non-positive number only, so no overflow
    out = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta
    if threshold != np.inf:
        # PyTorch's convention: linear above the threshold
        out = np.where(z > threshold, x, out)
    return out


def _softplus_grad(g, x, beta, threshold):
    # softplus' = sigmoid(beta x), from x alone: PyTorch saves x, not the output, so an
    # in-place op on the output does not break backward
    if type(x) is np.float64:
        z = float(x) * beta
        e = math.exp(-abs(z))
        return g * (1.0 if z > threshold else (1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)))
    if _is_tensor(x):
        # recorded as exp(-softplus(-beta x)): its derivative sigmoid(z) sigmoid(-z) stays
        # accurate in both tails (sigmoid's own out * (1 - out) cancels for large z)
        d = np.exp(-softplus(x * -beta, 1.0, np.inf))
    else:
        with np.errstate(over="ignore"):
            d = 1 / (1 + np.exp(x * -beta))    # exp's overflow to inf gives 0, as it should
    if threshold != np.inf:
        d = np.where(x * beta > threshold, 1.0, d)
    return g * d


@defop(vjp={"x": _softplus_grad}, jvp=ELEMENTWISE, batch_ok=True)
def softplus(x, beta=1.0, threshold=20.0):
    return _softplus_forward(x, beta, threshold)


# relu-like with slope ``negative_slope`` for x <= 0 (PyTorch: the slope applies at 0 too)
@defop(vjp={"x": lambda g, x, negative_slope: np.where(x > 0, g, g * negative_slope)},
       jvp=ELEMENTWISE, batch_ok=True)
def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def erf_array(x):
    """erf on arrays with the C library's ``math.erf`` (exact to rounding), NumPy only."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.asarray(_erf_scalar(x), dtype=dtype)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@defop(vjp={"x": lambda g, x: g * (np.exp(-(x * x)) * _TWO_OVER_SQRT_PI)}, jvp=ELEMENTWISE,
       batch_ok=True)
def erf(x):
    return erf_array(x)


def erf_any(x):
    """erf of an array (raw NumPy) or of a Tensor (recorded), for use inside rules."""
    return erf(x) if _is_tensor(x) else erf_array(x)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _gelu_forward(x, approximate):
    if approximate == "tanh":
        return x * 0.5 * (1 + np.tanh((x + x * x * x * _GELU_C) * _GELU_K))
    return x * 0.5 * (1 + erf_any(x * _SQRT_HALF))


def _gelu_grad(g, x, approximate):
    if approximate == "tanh":
        x2 = x * x
        t = np.tanh((x + x2 * x * _GELU_C) * _GELU_K)
        d = (1 + t) * 0.5 + x * 0.5 * (1 - t * t) * ((x2 * (3 * _GELU_C) + 1) * _GELU_K)
        return g * d
    # d/dx x Phi(x) = Phi(x) + x phi(x)
    cdf = (1 + erf_any(x * _SQRT_HALF)) * 0.5
    pdf = np.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


@defop(vjp={"x": _gelu_grad}, jvp=ELEMENTWISE, batch_ok=True)
def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu_forward(x, approximate)


# -- piecewise constant: zero derivative (PyTorch gives zeros, not an error) ----------
# The VJP is zeros of g's shape, PyTorch's zeros_like(grad), not the engine's None: an
# op before this one whose partial derivative is inf or NaN (var without degrees of
# freedom, a NaN input) then gives NaN (0 * inf), as in PyTorch, instead of being
# skipped. A NaN in g itself still gives 0.
def _zero_grad(g):
    return np.zeros_like(g)


@defop(vjp={"x": _zero_grad}, jvp=ZERO)
def sign(x):
    return np.sign(x)


@defop(vjp={"x": _zero_grad}, jvp=ZERO)
def floor(x):
    return np.floor(x)


@defop(vjp={"x": _zero_grad}, jvp=ZERO)
def ceil(x):
    return np.ceil(x)


@defop(vjp={"x": _zero_grad}, jvp=ZERO)
def trunc(x):
    return np.trunc(x)


# halves round to even, as in NumPy and PyTorch
@defop(vjp={"x": _zero_grad}, jvp=ZERO)
def round(x, decimals=0):
    return np.round(x, decimals)
