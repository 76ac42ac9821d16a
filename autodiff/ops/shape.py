"""Shape ops: all linear, so each JVP is the op applied to the tangent."""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from ._registry import ELEMENTWISE, LINEAR, defop, pass_grad
from ._util import call_op, neg_axis, normalize_axes


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


@defop(vjp={"x": pass_grad}, jvp=ELEMENTWISE, batch_ok=True)
def clone(x):
    return np.array(x, copy=True)


# The engine casts a gradient back to its input's dtype, so the rule is the identity.
@defop(vjp={"x": pass_grad}, jvp=ELEMENTWISE, batch_ok=True, node_name="ToCopyBackward0")
def astype(x, dtype):
    return np.asarray(x).astype(dtype)


# ``src`` broadcast and cast into a new array of ``shape``/``dtype`` (copy_, fill_).
@defop(vjp={"src": pass_grad}, jvp=ELEMENTWISE, batch_ok=True, node_name="CopyBackwards")
def expand_copy(src, shape, dtype):
    return np.array(np.broadcast_to(src, shape), dtype=dtype)


# A new tensor object viewing the same memory (make_dual/unpack_dual's views).
@defop(vjp={"x": pass_grad}, jvp=LINEAR, batch_ok=True, view=True, node_name="AliasBackward0")
def alias(x):
    return x



# -- sequences of tensors ------------------------------------------------------
def _cat_grad(g, index, xs_shapes, axis):
    shapes = xs_shapes
    a = neg_axis(axis, len(shapes[index]))
    start = 0
    for s in shapes[:index]:
        start += s[a]
    return g[(Ellipsis, slice(start, start + shapes[index][a])) + (slice(None),) * (-a - 1)]


@defop(vjp={"xs": _cat_grad}, jvp=LINEAR, variadic=True, batch_ok=True, node_name="CatBackward0")
def concatenate(xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _stack_grad(g, index, xs_shapes, axis):
    a = neg_axis(axis, len(xs_shapes[index]) + 1)
    return g[(Ellipsis, index) + (slice(None),) * (-a - 1)]


@defop(vjp={"xs": _stack_grad}, jvp=LINEAR, variadic=True, batch_ok=True,
       node_name="StackBackward0")
def stack(xs, axis=0):
    if axis == 0 and _same_scalar_type(xs):
        # NumPy scalars of one type (0-d results): np.array is the same vector, ~5x faster
        return np.array(xs)
    return np.stack(xs, axis=axis)


def _same_scalar_type(xs) -> bool:
    t = type(xs[0])
    if not issubclass(t, np.generic):
        return False
    for x in xs:
        if type(x) is not t:
            return False
    return True


# -- reordering ----------------------------------------------------------------
# Forwards copy where NumPy would return an undeclared view, so that an in-place
# op on the result can never change the input's memory behind autograd's back.
@defop(vjp={"x": lambda g, x_shape, axes: np.flip(g, tuple(neg_axis(a, len(x_shape)) for a in axes))},
       jvp=LINEAR, batch_ok=True, node_name="FlipBackward0")
def flip(x, axes):
    return np.flip(x, axes).copy()


@defop(vjp={"x": lambda g, x_shape, shifts, axes: np.roll(
    g, tuple(-s for s in shifts), tuple(neg_axis(a, len(x_shape)) for a in axes))},
       jvp=LINEAR, batch_ok=True, node_name="RollBackward0")
def roll(x, shifts, axes):
    return np.roll(x, shifts, axes)


def _tile_grad(g, x_shape, reps):
    # Sum the repetitions of each repeated axis, one axis at a time, in a 4-d view
    # (before, repetition, original, after): splitting every axis at once would need
    # twice the dims, past NumPy's 64 for a large rank.
    n = max(len(x_shape), len(reps))
    xs = (1,) * (n - len(x_shape)) + tuple(x_shape)
    rs = (1,) * (n - len(reps)) + tuple(reps)
    lead = len(g.shape) - n
    for k in range(n):
        if rs[k] != 1:
            shp = tuple(g.shape)
            before, after = shp[:lead + k], shp[lead + k + 1:]
            g = np.reshape(g, (math.prod(before), rs[k], xs[k], math.prod(after)))
            g = np.reshape(np.sum(g, axis=1), before + (xs[k],) + after)
    return np.reshape(g, tuple(g.shape[:lead]) + tuple(x_shape))


@defop(vjp={"x": _tile_grad}, jvp=LINEAR, batch_ok=True, node_name="RepeatBackward0")
def tile(x, reps):
    return np.tile(x, reps)


# -- padding ---------------------------------------------------------------------
def _pad_grad(g, x_shape, pad_width):
    return g[(Ellipsis,) + tuple(slice(b, b + s) for (b, _), s in zip(pad_width, x_shape))]


def _pad_jvp(t_x, pad_width):
    # padding with a constant is affine: the tangent is padded with zeros
    lead = ((0, 0),) * (len(t_x.shape) - len(pad_width))
    return np.pad(t_x, lead + tuple(pad_width), mode="constant")


@defop(vjp={"x": _pad_grad}, jvp=_pad_jvp, batch_ok=True, node_name="ConstantPadNdBackward0")
def pad(x, pad_width, value=0.0):
    return np.pad(x, pad_width, mode="constant", constant_values=value)


# -- diagonals and triangles ---------------------------------------------------
@defop(vjp={"x": lambda g, x_shape, offset, axis1, axis2: call_op(
    diagonal_scatter_zeros, g, tuple(x_shape), offset, axis1, axis2)},
       jvp=LINEAR, batch_ok=True, view=True, node_name="DiagonalBackward0")
def diagonal(x, offset=0, axis1=-2, axis2=-1):
    """``axis1``/``axis2`` must be negative (the public functions normalise them)."""
    return np.diagonal(x, offset, axis1, axis2)


# The adjoint of diagonal: zeros of ``shape`` (plus g's extra leading axes) with
# ``g``'s last axis written on the diagonal. Its VJP is diagonal again.
@defop(vjp={"values": lambda g, offset, axis1, axis2: np.diagonal(g, offset, axis1, axis2)},
       jvp=LINEAR, batch_ok=True, node_name="DiagonalBackwardBackward0")
def diagonal_scatter_zeros(values, shape, offset=0, axis1=-2, axis2=-1):
    lead = tuple(values.shape[: values.ndim - (len(shape) - 1)])
    out = np.zeros(lead + tuple(shape), dtype=values.dtype)
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))   # a view: writes land in out
    n = values.shape[-1]
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    moved[..., rows, cols] = values
    return out


@defop(vjp={"x": lambda g, k: np.tril(g, k)}, jvp=LINEAR, batch_ok=True, node_name="TrilBackward0")
def tril(x, k=0):
    return np.tril(x, k)


@defop(vjp={"x": lambda g, k: np.triu(g, k)}, jvp=LINEAR, batch_ok=True, node_name="TriuBackward0")
def triu(x, k=0):
    return np.triu(x, k)
