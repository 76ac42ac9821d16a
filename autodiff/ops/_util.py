"""Helpers shared by op rules. Written with np.* so they work on arrays and Tensors."""
from __future__ import annotations

import numpy as np

from .. import _core


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of negative ints (so leading batch axes do not shift them)."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a - ndim if a >= 0 else a)
    return tuple(sorted(out))


def expand_reduced(g, x_shape: tuple, axis, keepdims: bool):
    """Broadcast the gradient of a reduction back over the reduced axes of ``x``."""
    if not isinstance(g, (np.ndarray, np.generic, _core.TensorBase)):
        g = np.asarray(g)
    ndim = len(x_shape)
    x_shape = tuple(x_shape)
    g_shape = g.shape
    if keepdims or not ndim:
        lead = g_shape[: len(g_shape) - ndim]
    else:
        # g lacks the reduced axes: put them back as size 1 (a reshape, no copy)
        axes = normalize_axes(axis, ndim)
        lead = g_shape[: len(g_shape) - (ndim - len(axes))]
        kept = list(x_shape)
        for a in axes:
            kept[a] = 1
        g = g.reshape(lead + tuple(kept))
    if isinstance(g, _core.TensorBase):
        return np.broadcast_to(g, lead + x_shape)
    return _core.broadcast_view(g, lead + x_shape)


def reduced_count(x_shape: tuple, axis) -> int:
    """How many elements each reduction result averages over."""
    axes = normalize_axes(axis, len(x_shape))
    n = 1
    for a in axes:
        n *= x_shape[a]
    return n


def neg_axis(axis: int, ndim: int) -> int:
    """``axis`` as a negative int (rules see leading batch axes, so count from the end)."""
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise np.exceptions.AxisError(axis, ndim)
    return axis - ndim if axis >= 0 else axis


def call_op(op, first, *args):
    """``op(first, *args)``: the recorded op on Tensors, its bare forward on arrays.

    Rules call other ops' forwards this way so that the first-order path stays on
    ndarrays while a recorded (create_graph) backward is differentiated again.
    """
    from .. import _core
    if isinstance(first, _core.TensorBase):
        return op(first, *args)
    return op.__wrapped__(first, *args)


def is_tensor(x) -> bool:
    from .. import _core
    return isinstance(x, _core.TensorBase)
