"""Shape ops: all linear, so each JVP is the op applied to the tangent."""
from __future__ import annotations

import numpy as np

from .. import _core
from ._registry import ELEMENTWISE, LINEAR, defop
from ._util import normalize_axes


def _lead(g, out_ndim):
    return tuple(g.shape[: g.ndim - out_ndim])


@defop(vjp={"x": lambda g, x_shape, shape: np.reshape(g, _lead(g, len(shape)) + x_shape)},
       jvp=LINEAR, batch_ok=True, view=True, node_name="ViewBackward0")
def reshape(x, shape):
    return np.reshape(x, shape)


def _inverse_permutation(g, axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    lead = g.ndim - len(axes)
    return np.transpose(g, tuple(range(lead)) + tuple(lead + a for a in inv))


@defop(vjp={"x": lambda g, axes: _inverse_permutation(g, axes)}, jvp=LINEAR, batch_ok=True,
       view=True, node_name="PermuteBackward0")
def permute(x, axes):
    return np.transpose(x, axes)


@defop(vjp={"x": lambda g, axis1, axis2, x_shape: np.swapaxes(
    g, *normalize_axes((axis1,), len(x_shape)), *normalize_axes((axis2,), len(x_shape)))},
       jvp=LINEAR, batch_ok=True, view=True, node_name="TransposeBackward0")
def swapaxes(x, axis1, axis2):
    return np.swapaxes(x, axis1, axis2)


@defop(vjp={"x": lambda g, x_shape, axis: np.reshape(g, _lead(g, len(x_shape) + len(axis)) + x_shape)},
       jvp=LINEAR, batch_ok=True, view=True, node_name="UnsqueezeBackward0")
def expand_dims(x, axis):
    return np.expand_dims(x, axis)


@defop(vjp={"x": lambda g, x_shape, shape: sum_to_shape(g, x_shape, g.ndim - len(shape))},
       jvp=LINEAR, batch_ok=True, view=True, node_name="ExpandBackward0")
def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


# The engine's "sum a broadcast gradient back to its input's shape", as an op so
# that it is itself differentiable (its VJP broadcasts back).
@defop(vjp={"x": lambda g, x_shape: broadcast_to(g, x_shape)}, jvp=LINEAR,
       node_name="SumToSizeBackward0")
def sum_to_shape(x, shape, batch_ndim=0):
    return _core.sum_to_shape(x, tuple(shape), batch_ndim)


@defop(vjp={"x": lambda g: g}, jvp=ELEMENTWISE, batch_ok=True)
def clone(x):
    return np.array(x, copy=True)


# The engine casts a gradient back to its input's dtype, so the rule is the identity.
@defop(vjp={"x": lambda g: g}, jvp=ELEMENTWISE, batch_ok=True, node_name="ToCopyBackward0")
def astype(x, dtype):
    return np.asarray(x).astype(dtype)


# ``src`` broadcast and cast into a new array of ``shape``/``dtype`` (copy_, fill_).
@defop(vjp={"src": lambda g: g}, jvp=ELEMENTWISE, batch_ok=True, node_name="CopyBackwards")
def expand_copy(src, shape, dtype):
    return np.array(np.broadcast_to(src, shape), dtype=dtype)


# A new tensor object viewing the same memory (make_dual/unpack_dual's views).
@defop(vjp={"x": lambda g: g}, jvp=LINEAR, batch_ok=True, view=True, node_name="AliasBackward0")
def alias(x):
    return x
