"""Forward-mode batch rules: the tangent of a linear op when tangents carry a batch axis.

``jacfwd``, ``hessian`` and ``jacobian(strategy="forward-mode", vectorize=True)``
push a whole batch of tangents through a function in one pass: every tangent
then has one leading batch axis. Elementwise ops need nothing more (the engine
aligns the tangents), but a linear op's JVP is the op applied to the tangent,
and an op whose parameters name axes or shapes (``sum(axis=None)``,
``reshape``, a 1-d ``matmul``) would mix the batch axis into its work. A rule
here applies the same op with its parameters rewritten so that the batch axis
stays in front. Ops without a rule are looped over the batch by the engine,
which is always correct, only slower; a rule returns ``NotImplemented`` for a
case it does not cover, with the same effect.

A rule is ``rule(tans, vals, params, out)``: the inputs' batched tangents (None
where an input has none), the inputs' values, the op's parameters and its
output; it returns the batched output tangent.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from ..ops import OPS
from ..ops._util import normalize_axes


def _op(name, *args):
    """Call op ``name``: on raw arrays its forward, on Tensors the recorded op."""
    spec = OPS[name]
    for a in args:
        if isinstance(a, _core.TensorBase) or (
                isinstance(a, (list, tuple)) and any(isinstance(x, _core.TensorBase) for x in a)):
            return spec.module_func(*args)
    return spec.forward(*args)


def _nb(tans) -> int:
    return next(t for t in tans if t is not None).shape[0]


def _filled(tans, vals):
    """Tangents with zeros (batched) in place of the missing ones."""
    nb = _nb(tans)
    return [np.zeros((nb,) + np.shape(v), dtype=np.result_type(v)) if t is None else t
            for t, v in zip(tans, vals)]


def _align(t, nd):
    """Insert singleton axes after the batch axis until ``t`` has ``nd`` + 1 dims."""
    extra = nd - (np.ndim(t) - 1)
    if extra <= 0:
        return t
    shape = np.shape(t)
    return np.reshape(t, shape[:1] + (1,) * extra + tuple(shape[1:]))


def _neg_axis(axis, ndim):
    return normalize_axes((axis,), ndim)[0]


def _reduction(name):
    def rule(tans, vals, params, out):
        axis, keepdims = params
        return _op(name, tans[0], normalize_axes(axis, np.ndim(vals[0])), keepdims)
    return rule


def _same_as_out(tans, vals, params, out):
    # the op only regroups x's elements into out's shape
    return _op("reshape", tans[0], (np.shape(tans[0])[0],) + np.shape(out))


def _permute(tans, vals, params, out):
    (axes,) = params
    nd = np.ndim(vals[0])
    if axes is None:
        axes = tuple(reversed(range(nd)))
    return _op("permute", tans[0], (0,) + tuple(int(a) % nd + 1 for a in axes))


def _swapaxes(tans, vals, params, out):
    a1, a2 = params
    nd = np.ndim(vals[0])
    return _op("swapaxes", tans[0], _neg_axis(a1, nd), _neg_axis(a2, nd))


def _broadcast_to(tans, vals, params, out):
    (shape,) = params
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    t = _align(tans[0], len(shape))
    return _op("broadcast_to", t, (np.shape(t)[0],) + shape)


def _sum_to_shape(tans, vals, params, out):
    shape, batch_ndim = params
    return _op("sum_to_shape", tans[0], tuple(shape), batch_ndim + 1)


def _alias(tans, vals, params, out):
    return tans[0]


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
               for i in items)


def _getitem(tans, vals, params, out):
    (index,) = params
    if not _is_basic(index):
        return NotImplemented
    items = index if isinstance(index, tuple) else (index,)
    return _op("getitem", tans[0], (slice(None),) + items)


def _index_add_into_zeros(tans, vals, params, out):
    shape, index, dtype = params
    t = tans[0]
    if not _is_basic(index) or isinstance(t, _core.TensorBase):
        return NotImplemented
    items = index if isinstance(index, tuple) else (index,)
    res = np.zeros((t.shape[0],) + tuple(shape), dtype=out.dtype)
    view = res[(slice(None),) + items]
    view[...] = _align(t, view.ndim - 1)
    return res


def _matmul_left(t, y):
    """t @ y for a batch t of tangents of x (x's shape is t.shape[1:])."""
    x_nd = np.ndim(t) - 1
    if np.ndim(y) == 1:
        # (B, ..., n, k) @ (k,): y adds no batch dims, the batch axis is safe
        return _op("matmul", t, y)
    if np.ndim(y) == 2:
        # one GEMM: fold the batch (and x's own leading) axes into the rows
        shape = np.shape(t)
        r = _op("matmul", _op("reshape", t, (-1, shape[-1])), y)
        lead = shape[:-1] if x_nd >= 2 else shape[:1]
        return _op("reshape", r, tuple(lead) + (np.shape(y)[-1],))
    if x_nd == 1:
        t = np.expand_dims(t, -2)                      # (B, 1, k)
        r = _op("matmul", _align(t, np.ndim(y)), y)    # (B, ..., 1, m)
        return r[..., 0, :]
    return _op("matmul", _align(t, np.ndim(y)), y)


def _matmul_right(x, t):
    """x @ t for a batch t of tangents of y (y's shape is t.shape[1:])."""
    y_nd = np.ndim(t) - 1
    if np.ndim(x) == 2 and y_nd <= 2:
        # x @ t[b] for every b as one GEMM: (t viewed as rows) @ x^T
        shape = np.shape(t)
        xt = _op("swapaxes", x, -1, -2)
        if y_nd == 1:
            return _op("matmul", t, xt)                             # (B, n)
        tt = _op("swapaxes", t, -1, -2)                             # (B, m, k)
        r = _op("matmul", _op("reshape", tt, (-1, shape[-2])), xt)  # (B*m, n)
        return _op("swapaxes", _op("reshape", r, (shape[0], shape[-1], -1)), -1, -2)
    if y_nd == 1:
        if np.ndim(x) == 1:
            return _op("matmul", t, x)                 # x . t[b] = t[b] . x, one GEMV
        t = np.expand_dims(t, -1)                      # (B, k, 1)
        return _op("matmul", x, _align(t, np.ndim(x)))[..., 0]
    if np.ndim(x) == 1:
        # (k,) @ (B, ..., k, m): x adds no batch dims
        return _op("matmul", x, t)
    return _op("matmul", x, _align(t, np.ndim(x)))


def _matmul(tans, vals, params, out):
    x, y = vals
    total = None
    if tans[0] is not None:
        total = _matmul_left(tans[0], y)
    if tans[1] is not None:
        term = _matmul_right(x, tans[1])
        if term is NotImplemented or total is NotImplemented:
            return NotImplemented
        total = term if total is None else total + term
    return total


def _concatenate(tans, vals, params, out):
    (axis,) = params
    nd = np.ndim(vals[0])
    if axis is None:
        return NotImplemented
    return _op("concatenate", _filled(tans, vals), _neg_axis(axis, nd), )


def _stack(tans, vals, params, out):
    (axis,) = params
    return _op("stack", _filled(tans, vals), _neg_axis(axis, np.ndim(out)))


def _diagonal(tans, vals, params, out):
    offset, a1, a2 = params
    nd = np.ndim(vals[0])
    return _op("diagonal", tans[0], offset, _neg_axis(a1, nd), _neg_axis(a2, nd))


def _last_two_axes(name):
    def rule(tans, vals, params, out):
        return _op(name, tans[0], *params)
    return rule


def _flip(tans, vals, params, out):
    (axes,) = params
    return _op("flip", tans[0], normalize_axes(axes, np.ndim(vals[0])))


def _cumsum(tans, vals, params, out):
    (axis,) = params
    if axis is None:
        return NotImplemented
    if np.ndim(vals[0]) == 0:
        return tans[0]      # a 0-d tensor's cumulative sum is itself
    return _op("cumsum", tans[0], _neg_axis(axis, np.ndim(vals[0])))


RULES = {
    "sum": _reduction("sum"),
    "mean": _reduction("mean"),
    "reshape": _same_as_out,
    "expand_dims": _same_as_out,
    "permute": _permute,
    "swapaxes": _swapaxes,
    "broadcast_to": _broadcast_to,
    "sum_to_shape": _sum_to_shape,
    "alias": _alias,
    "getitem": _getitem,
    "index_add_into_zeros": _index_add_into_zeros,
    "matmul": _matmul,
    "concatenate": _concatenate,
    "stack": _stack,
    "diagonal": _diagonal,
    "tril": _last_two_axes("tril"),
    "triu": _last_two_axes("triu"),
    "flip": _flip,
    "cumsum": _cumsum,
}


def register() -> None:
    """Give the engine the rules above (only those of ops that exist)."""
    _core.set_jvp_batch_rules({k: v for k, v in RULES.items() if k in OPS})
