"""Indexing: ``x[index]`` and its adjoint, a scatter-add (repeated indices accumulate)."""
from __future__ import annotations

import numpy as np

from ._registry import LINEAR, defop


def _items(index) -> tuple:
    return index if isinstance(index, tuple) else (index,)


_BASIC_TYPES = (int, np.integer, slice)


def _is_basic_item(i) -> bool:
    t = type(i)
    if t is int or t is slice or i is None or i is Ellipsis:
        return True
    return isinstance(i, _BASIC_TYPES) and t is not bool and t is not np.bool_


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, Ellipsis) never repeats an element."""
    if type(index) is tuple:
        for i in index:
            if not _is_basic_item(i):
                return False
        return True
    return _is_basic_item(index)


# Declared a view (shared version counter, ``_base``) so that an in-place op on a
# basic slice is seen by autograd; advanced indexing copies and its public
# wrapper gives the result its own counter.
def _getitem_node_name(raw, params):
    # PyTorch's names: SliceBackward0 for a partial slice, SelectBackward0 for an int,
    # UnsqueezeBackward0 for None alone, IndexBackward0 for advanced indexing
    index = params[0]
    if type(index) is int:
        return "SelectBackward0"
    if not _is_basic(index):
        return None
    items = _items(index)
    if any(type(i) is slice and i != slice(None) for i in items):
        return "SliceBackward0"
    if any(i is not None and i is not Ellipsis and type(i) is not slice for i in items):
        return "SelectBackward0"
    if any(i is None for i in items):
        return "UnsqueezeBackward0"
    return "SliceBackward0"


def view_key(index):
    """``index``, with an Ellipsis added to a basic key that has none: x[0] would give a
    NumPy scalar (a copy), x[0, ...] is a 0-d view (and, written, takes a value with
    leading size-1 axes, which ``x[0] = v`` refuses)."""
    if _is_basic(index) and not any(i is Ellipsis for i in _items(index)):
        return _items(index) + (Ellipsis,)
    return index


@defop(vjp={"x": lambda g, x_shape, index: index_add_into_zeros(g, x_shape, index)},
       jvp=LINEAR, view=True, node_name="IndexBackward0", node_names=_getitem_node_name)
def getitem(x, index):
    if type(index) is int:
        return x[index, ...]
    return x[view_key(index)]


# The adjoint of getitem: zeros of ``shape`` with ``g`` added at ``index``.
# Its own VJP is getitem again, so gradients of any order flow through indexing.
@defop(vjp={"values": lambda g, index: getitem(g, index)}, jvp=LINEAR,
       name="index_add_into_zeros", node_name="IndexAddBackward0")
def _index_add_into_zeros(values, shape, index, dtype=None):
    out = np.zeros(shape, dtype=dtype if dtype is not None else np.result_type(values))
    if _is_basic(index):
        out[index] = values
    elif out.ndim <= _ADD_AT_MAX_NDIM and np.ndim(values) <= _ADD_AT_MAX_NDIM:
        np.add.at(out, index, values)
    else:
        # the same sum, by flat position: add.at on one axis
        positions = np.arange(out.size).reshape(out.shape)[index]
        np.add.at(out.reshape(-1), positions.reshape(-1),
                  np.broadcast_to(values, positions.shape).reshape(-1))
    return out


# NumPy's add.at crashes the interpreter on arrays of more dimensions (NumPy 2.4)
_ADD_AT_MAX_NDIM = 32


def index_add_into_zeros(values, shape, index):
    if type(values) is np.ndarray or isinstance(values, np.generic):
        # first-order gradients are raw arrays: no op (and no dispatch) needed
        return _index_add_into_zeros.spec.forward(values, shape, index)
    return _index_add_into_zeros(values, tuple(shape), index)


def _index_put_grad_x(g, index):
    return index_put(g, 0.0, index)


def _index_put_grad_values(g, index, values_shape):
    region = getitem(g, index)
    extra = len(values_shape) - len(region.shape)
    if extra > 0:
        # NumPy dropped the values' leading size-1 axes: give them back (the engine
        # then sums the region down to the values' shape)
        region = np.reshape(region, (1,) * extra + tuple(region.shape))
    return region


# ``x`` with ``values`` written at ``index`` (out of place; ``x[index] = v`` makes it in place).
@defop(vjp={"x": _index_put_grad_x, "values": _index_put_grad_values},
       jvp=LINEAR, node_name="IndexPutBackward0")
def index_put(x, values, index):
    out = np.array(x, copy=True)
    out[view_key(index)] = values
    return out
