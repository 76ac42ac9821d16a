"""Elementwise unary ops: forward, VJP and JVP together (JVP = VJP with the tangent as g)."""
from __future__ import annotations

import numpy as np

from ._registry import ELEMENTWISE, defop


@defop(vjp={"x": lambda g: -g}, jvp=ELEMENTWISE, batch_ok=True)
def neg(x):
    return -x


@defop(vjp={"x": lambda g, out: g * out}, jvp=ELEMENTWISE, batch_ok=True)
def exp(x):
    return np.exp(x)


@defop(vjp={"x": lambda g, x: g / x}, jvp=ELEMENTWISE, batch_ok=True)
def log(x):
    return np.log(x)


@defop(vjp={"x": lambda g, x: g * np.cos(x)}, jvp=ELEMENTWISE, batch_ok=True)
def sin(x):
    return np.sin(x)


@defop(vjp={"x": lambda g, x: -g * np.sin(x)}, jvp=ELEMENTWISE, batch_ok=True)
def cos(x):
    return np.cos(x)


@defop(vjp={"x": lambda g, out: g * (1 - out * out)}, jvp=ELEMENTWISE, batch_ok=True)
def tanh(x):
    return np.tanh(x)


def _sigmoid_forward(x):
    # exp of a non-positive number only, so large |x| neither overflows nor warns
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@defop(vjp={"x": lambda g, out: g * (out * (1 - out))}, jvp=ELEMENTWISE, batch_ok=True)
def sigmoid(x):
    return _sigmoid_forward(x)


# relu'(0) = 0, as in PyTorch
@defop(vjp={"x": lambda g, x: g * (x > 0)}, jvp=ELEMENTWISE, batch_ok=True)
def relu(x):
    return np.maximum(x, 0)
