"""Public shape, indexing and linear-algebra functions (``ad.cat``, ``ad.stack``, ...).

Same conventions as ``_api``: PyTorch's names and defaults, NumPy's accepted
too; NumPy functions called on Tensors are registered here with NumPy's meaning.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import _core
from .ops import index as _index
from .ops import linalg as _linalg
from .ops import shape as _shape
from .ops._registry import implements
from .ops._util import neg_axis

# Names installed as Tensor methods.
TENSOR_METHODS: list[str] = [
    "reshape", "transpose", "permute", "squeeze", "unsqueeze", "flatten", "swapaxes", "swapdims", "moveaxis", "movedim", "ravel", "unflatten", "expand_as",
    "view_as", "reshape_as", "broadcast_to", "split", "tensor_split", "chunk", "unbind",
    "flip", "fliplr", "flipud", "roll", "tile", "repeat", "repeat_interleave", "narrow",
    "select", "diagonal", "diag", "tril", "triu", "t", "mm", "mv", "bmm", "dot", "outer",
    "inner", "trace", "det", "logdet", "slogdet", "inverse",
]
# In-place Tensor methods: name -> out-of-place function (``t.foo_(...)`` writes ``foo(t, ...)`` into t).
INPLACE_METHODS: dict[str, Any] = {}

__all__ = [
    "reshape", "transpose", "permute", "swapaxes", "swapdims", "moveaxis", "movedim",
    "squeeze", "unsqueeze", "expand_dims", "flatten", "ravel", "unflatten", "expand",
    "expand_as", "broadcast_to", "cat", "concat", "concatenate", "stack", "hstack", "vstack",
    "split", "tensor_split", "chunk", "unbind", "flip", "fliplr", "flipud", "roll", "tile",
    "repeat", "repeat_interleave", "pad", "narrow", "select", "diagonal", "diag", "tril",
    "triu", "t", "mm", "mv", "bmm", "dot", "outer", "inner", "einsum", "tensordot", "trace",
    "det", "logdet", "slogdet", "inverse", "linalg",
]


def _data(x: Any) -> Any:
    return x._data if isinstance(x, _core.TensorBase) else x


def _operand(x: Any) -> Any:
    """Tensors and ndarrays pass unchanged; other array-likes become ndarrays."""
    if isinstance(x, (_core.TensorBase, np.ndarray)):
        return x
    return np.asarray(x)


def _shape_of(x: Any) -> tuple:
    d = _data(x)
    # arrays and NumPy scalars know their shape: np.shape would cost a dispatch
    return d.shape if isinstance(d, (np.ndarray, np.generic)) else tuple(np.shape(d))


def _ndim(x: Any) -> int:
    return len(_shape_of(x))


def _dims(args: tuple) -> tuple:
    """``f(1, 2)`` and ``f((1, 2))`` both mean the dims (1, 2)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _one(dim: Any, axis: Any, default: Any = None) -> Any:
    if dim is not None and axis is not None:
        raise TypeError("pass either dim or axis, not both")
    return dim if dim is not None else (axis if axis is not None else default)


def _axis(a: int, ndim: int, op: str) -> int:
    """A non-negative axis, with an error that names the op."""
    try:
        return neg_axis(a, ndim) + ndim
    except np.exceptions.AxisError:
        raise IndexError(f"{op}: dimension {a} is out of range for a tensor with {ndim} "
                         f"dimensions") from None


# -- reshaping ------------------------------------------------------------------
def reshape(input: Any, *shape: Any) -> Any:
    """The same data with a new shape (one entry may be -1).

    >>> import autodiff as ad
    >>> ad.reshape(ad.arange(6.0), (2, 3)).shape
    (2, 3)
    """
    return _shape.reshape(_operand(input), _dims(shape))


def transpose(input: Any, dim0: int = 0, dim1: int = 1) -> Any:
    """Swap two dimensions (PyTorch's meaning; ``np.transpose`` reverses all axes).

    >>> import autodiff as ad
    >>> ad.transpose(ad.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    return _shape.swapaxes(_operand(input), dim0, dim1)


swapdims = transpose


def swapaxes(input: Any, axis0: int, axis1: int) -> Any:
    """Swap two axes (NumPy's and PyTorch's ``swapaxes``).

    >>> import autodiff as ad
    >>> ad.swapaxes(ad.ones((2, 3)), 0, 1).shape
    (3, 2)
    """
    return _shape.swapaxes(_operand(input), axis0, axis1)


def permute(input: Any, *dims: Any) -> Any:
    """Reorder the dimensions: output dimension i is input dimension ``dims[i]``.

    >>> import autodiff as ad
    >>> ad.permute(ad.ones((2, 3, 4)), 2, 0, 1).shape
    (4, 2, 3)
    """
    x = _operand(input)
    nd = _ndim(x)
    axes = tuple(_axis(d, nd, "permute") for d in _dims(dims))
    if sorted(axes) != list(range(nd)):
        raise RuntimeError(f"permute: dims {_dims(dims)} are not a permutation of the "
                           f"{nd} dimensions of a tensor of shape {_shape_of(x)}")
    return _shape.permute(x, axes)


def movedim(input: Any, source: Any, destination: Any) -> Any:
    """Move dimension(s) ``source`` to position(s) ``destination``; the rest keep their order.

    >>> import autodiff as ad
    >>> ad.movedim(ad.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = _operand(input)
    nd = _ndim(x)
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {src} and destination {dst} must have the same "
                         "number of dimensions")
    src = [_axis(s, nd, "movedim") for s in src]
    dst = [_axis(d, nd, "movedim") for d in dst]
    order = [a for a in range(nd) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _shape.permute(x, tuple(order))


moveaxis = movedim


def squeeze(input: Any, dim: Any = None, *, axis: Any = None) -> Any:
    """Remove dimensions of size one (only those in ``dim`` if given; others are kept).

    >>> import autodiff as ad
    >>> ad.squeeze(ad.ones((1, 3, 1))).shape
    (3,)
    >>> ad.squeeze(ad.ones((1, 3, 1)), 0).shape
    (3, 1)
    """
    x = _operand(input)
    shp = _shape_of(x)
    d = _one(dim, axis)
    if d is None:
        dims = set(range(len(shp)))
    else:
        d = (d,) if isinstance(d, (int, np.integer)) else tuple(d)
        dims = {_axis(a, max(len(shp), 1), "squeeze") for a in d}
    return _shape.reshape(x, tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1)))


def unsqueeze(input: Any, dim: int) -> Any:
    """Insert a dimension of size one at position ``dim`` (``-1`` appends).

    >>> import autodiff as ad
    >>> ad.unsqueeze(ad.ones(3), -1).shape
    (3, 1)
    """
    x = _operand(input)
    return _shape.expand_dims(x, (_axis(dim, _ndim(x) + 1, "unsqueeze"),))


def expand_dims(input: Any, axis: Any) -> Any:
    """NumPy's ``expand_dims``: insert size-one axes at the positions ``axis``.

    >>> import autodiff as ad
    >>> ad.expand_dims(ad.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    return _shape.expand_dims(_operand(input), tuple(axis) if isinstance(axis, (tuple, list))
                              else (axis,))


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge the dimensions ``start_dim`` .. ``end_dim`` into one.

    >>> import autodiff as ad
    >>> ad.flatten(ad.ones((2, 3, 4)), 1).shape
    (2, 12)
    """
    x = _operand(input)
    shp = _shape_of(x)
    if not shp:
        return _shape.reshape(x, (1,))
    s, e = _axis(start_dim, len(shp), "flatten"), _axis(end_dim, len(shp), "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    if s == e:
        return x        # nothing to merge: the tensor itself, as PyTorch
    return _shape.reshape(x, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def ravel(input: Any) -> Any:
    """All elements in a 1-d tensor.

    >>> import autodiff as ad
    >>> ad.ravel(ad.ones((2, 3))).shape
    (6,)
    """
    return _shape.reshape(_operand(input), (-1,))


def unflatten(input: Any, dim: int, sizes: Sequence[int]) -> Any:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1).

    >>> import autodiff as ad
    >>> ad.unflatten(ad.ones((2, 6)), 1, (2, 3)).shape
    (2, 2, 3)
    """
    x = _operand(input)
    shp = _shape_of(x)
    d = _axis(dim, len(shp), "unflatten")
    return _shape.reshape(x, shp[:d] + tuple(sizes) + shp[d + 1:])


def broadcast_to(input: Any, shape: Any) -> Any:
    """Broadcast to ``shape`` without copying (the result is read-only).

    >>> import autodiff as ad
    >>> ad.broadcast_to(ad.ones(3), (2, 3)).shape
    (2, 3)
    """
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return _shape.broadcast_to(_operand(input), tuple(int(s) for s in shape))


def expand(input: Any, *sizes: Any) -> Any:
    """PyTorch's ``Tensor.expand``: broadcast to ``sizes``; ``-1`` keeps a dimension.

    >>> import autodiff as ad
    >>> ad.expand(ad.ones((3, 1)), -1, 4).shape
    (3, 4)
    """
    x = _operand(input)
    shp = _shape_of(x)
    sizes = _dims(sizes)
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be at "
                           f"least the number of dimensions of the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    new = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: the expanded size {s} is not allowed for the new "
                                   f"leading dimension {i} (sizes {list(sizes)})")
        elif s == -1:
            s = shp[i - lead]
        elif s != shp[i - lead] and shp[i - lead] != 1:
            raise RuntimeError(f"expand: the expanded size {s} must match the existing size "
                               f"{shp[i - lead]} at non-singleton dimension {i} (sizes "
                               f"{list(sizes)}, tensor shape {list(shp)})")
        new.append(s)
    if min(new, default=0) < 0:
        raise RuntimeError(f"expand: sizes must be non-negative or -1, got {list(sizes)}")
    return _shape.broadcast_to(x, tuple(new))


def expand_as(input: Any, other: Any) -> Any:
    """Broadcast ``input`` to ``other``'s shape.

    >>> import autodiff as ad
    >>> ad.expand_as(ad.ones(3), ad.zeros((2, 3))).shape
    (2, 3)
    """
    return _shape.broadcast_to(_operand(input), _shape_of(other))


def view_as(input: Any, other: Any) -> Any:
    """``input`` with ``other``'s shape.

    >>> import autodiff as ad
    >>> ad.ones(6).view_as(ad.zeros((2, 3))).shape
    (2, 3)
    """
    return _shape.reshape(_operand(input), _shape_of(other))


reshape_as = view_as


# -- joining and splitting --------------------------------------------------------
def _seq(tensors: Any, op: str) -> list:
    if isinstance(tensors, (_core.TensorBase, np.ndarray)):
        raise TypeError(f"{op}: expected a sequence of tensors, got a single "
                        f"{type(tensors).__name__}")
    xs = [_operand(t) for t in tensors]
    if not xs:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    return xs


def cat(tensors: Sequence[Any], dim: int | None = None, *, axis: int | None = None) -> Any:
    """Join tensors along an existing dimension (``dim``/``axis``, default 0).

    >>> import autodiff as ad
    >>> ad.cat([ad.ones((2, 3)), ad.zeros((1, 3))]).shape
    (3, 3)
    """
    xs = _seq(tensors, "cat")
    d = _one(dim, axis, 0)
    if d is None:
        # NumPy's axis=None: flatten first
        return _shape.concatenate([ravel(x) for x in xs], 0)
    shapes = [_shape_of(x) for x in xs]
    nd = len(shapes[0])
    if nd == 0 or any(len(s) != nd for s in shapes):
        raise ValueError(f"cat: all tensors must have the same number of dimensions (at least "
                         f"one), got shapes {shapes}")
    return _shape.concatenate(xs, _axis(d, nd, "cat"))


concat = cat


def concatenate(tensors: Sequence[Any], axis: int | None = 0, *, dim: int | None = None,
                **kwargs: Any) -> Any:
    """NumPy's spelling of ``cat`` (``axis=None`` flattens first).

    >>> import autodiff as ad
    >>> ad.concatenate([ad.ones(2), ad.zeros(1)]).shape
    (3,)
    """
    if dim is not None:
        axis = dim
    if axis is None:
        joined = _shape.concatenate([ravel(x) for x in _seq(tensors, "concatenate")], 0)
    else:
        joined = cat(tensors, axis)
    return _join_keywords(joined, tensors, kwargs, "concatenate")


def _join_keywords(joined: Any, parts: Any, kwargs: dict, name: str) -> Any:
    """NumPy's keywords of a join (np.stack, np.concatenate, ...): ``dtype=`` casts the
    result, each part being castable under ``casting=`` (default 'same_kind') as NumPy
    requires; ``out=`` and any other keyword are errors."""
    unknown = sorted(set(kwargs) - {"out", "dtype", "casting"})
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}")
    if kwargs.get("out") is not None:
        raise TypeError(f"{name}: out= is not supported for Tensors")
    dtype, casting = kwargs.get("dtype"), kwargs.get("casting", "same_kind")
    if dtype is None:
        return joined
    dtype = np.dtype(dtype)
    for part in _seq(parts, name):
        have = np.result_type(_data(part))
        if not np.can_cast(have, dtype, casting=casting):
            raise TypeError(f"{name}: cannot cast a {have} part to {dtype} with "
                            f"casting={casting!r}")
    return _shape.astype(joined, dtype)


def stack(tensors: Sequence[Any], dim: int | None = None, *, axis: int | None = None,
          **kwargs: Any) -> Any:
    """Join tensors of the same shape along a new dimension.

    >>> import autodiff as ad
    >>> ad.stack([ad.ones(3), ad.zeros(3)], dim=1).shape
    (3, 2)
    """
    if axis is None and not kwargs:
        fast = _core.stack_scalars(tensors, dim)    # 0-d float64 tensors, built in the core
        if fast is not None:
            return fast
    xs = _seq(tensors, "stack")
    shape = _shape_of(xs[0])
    for x in xs:
        if _shape_of(x) != shape:
            raise ValueError(f"stack: expects each tensor to be equal size, got shapes "
                             f"{[_shape_of(x) for x in xs]}")
    d = _one(dim, axis, 0)
    return _join_keywords(_shape.stack(xs, _axis(d, len(shape) + 1, "stack")), xs, kwargs,
                          "stack")


def hstack(tensors: Sequence[Any], **kwargs: Any) -> Any:
    """Join along the second axis (the first for 1-d tensors).

    >>> import autodiff as ad
    >>> ad.hstack([ad.ones(2), ad.zeros(3)]).shape
    (5,)
    """
    xs = [x if _ndim(x) else reshape(x, (1,)) for x in _seq(tensors, "hstack")]
    return _join_keywords(cat(xs, 0 if _ndim(xs[0]) == 1 else 1), xs, kwargs, "hstack")


def vstack(tensors: Sequence[Any], **kwargs: Any) -> Any:
    """Join along the first axis, 1-d tensors becoming rows.

    >>> import autodiff as ad
    >>> ad.vstack([ad.ones(3), ad.zeros(3)]).shape
    (2, 3)
    """
    xs = [x if _ndim(x) >= 2 else reshape(x, (1, -1)) for x in _seq(tensors, "vstack")]
    return _join_keywords(cat(xs, 0), xs, kwargs, "vstack")


def _pieces(x: Any, d: int, bounds: Sequence[int]) -> tuple:
    """Slices of ``x`` along ``d`` between consecutive ``bounds`` (each a differentiable view)."""
    lead = (slice(None),) * d
    return tuple(_index.getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:]))


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """PyTorch's split: pieces of size ``split_size`` (the last may be smaller), or of the
    given sizes. (``np.split`` on a Tensor keeps NumPy's meaning: sections or split points.)

    >>> import autodiff as ad
    >>> [p.shape for p in ad.split(ad.ones(5), 2)]
    [(2,), (2,), (1,)]
    >>> [p.shape for p in ad.split(ad.ones(5), [1, 4])]
    [(1,), (4,)]
    """
    x = _operand(tensor)
    shp = _shape_of(x)
    d = _axis(dim, len(shp), "split")
    n = shp[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        bounds = list(range(0, n, size)) + [n] if n else [0, 0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} must be non-negative and sum to the size "
                             f"{n} of dimension {dim} (tensor of shape {shp})")
        bounds = [0] + list(np.cumsum(sizes))
    return _pieces(x, d, bounds)


def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal pieces (the first ones one larger), or at indices.

    >>> import autodiff as ad
    >>> [p.shape for p in ad.tensor_split(ad.ones(5), 3)]
    [(2,), (2,), (1,)]
    """
    x = _operand(input)
    shp = _shape_of(x)
    d = _axis(dim, len(shp), "tensor_split")
    n = shp[d]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"tensor_split: number of sections must be positive, got {k}")
        q, r = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    else:
        pts = [min(max(int(i) if i >= 0 else n + int(i), 0), n) for i in indices_or_sections]
        bounds = [0] + pts + [n]
        bounds = [bounds[0]] + [max(b, a) for a, b in zip(bounds[:-1], bounds[1:])]
    return _pieces(x, d, bounds)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple:
    """Split into at most ``chunks`` pieces of size ``ceil(n / chunks)``.

    >>> import autodiff as ad
    >>> [p.shape for p in ad.chunk(ad.ones(5), 3)]
    [(2,), (2,), (1,)]
    """
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = _shape_of(input)[_axis(dim, _ndim(input), "chunk")]
    return split(input, max(-(-n // chunks), 1), dim)


def unbind(input: Any, dim: int = 0) -> tuple:
    """The slices along ``dim``, with that dimension removed.

    >>> import autodiff as ad
    >>> [p.shape for p in ad.unbind(ad.ones((2, 3)), 1)]
    [(2,), (2,), (2,)]
    """
    x = _operand(input)
    if _ndim(x) == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    d = _axis(dim, _ndim(x), "unbind")
    lead = (slice(None),) * d
    return tuple(_index.getitem(x, lead + (i,)) for i in range(_shape_of(x)[d]))


def narrow(input: Any, dim: int, start: int, length: int) -> Any:
    """The slice ``start:start+length`` along ``dim`` (a view).

    >>> import autodiff as ad
    >>> ad.narrow(ad.arange(5.0), 0, 1, 2)
    tensor([1., 2.])
    """
    x = _operand(input)
    shp = _shape_of(x)
    d = _axis(dim, len(shp), "narrow")
    start = start + shp[d] if start < 0 else start
    if not (0 <= start and start + length <= shp[d] and length >= 0):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {dim} "
                         f"of size {shp[d]}")
    return _index.getitem(x, (slice(None),) * d + (slice(start, start + length),))


def select(input: Any, dim: int, index: int) -> Any:
    """The slice at ``index`` along ``dim``, that dimension removed.

    >>> import autodiff as ad
    >>> ad.select(ad.ones((2, 3)), 1, 0).shape
    (2,)
    """
    x = _operand(input)
    d = _axis(dim, _ndim(x), "select")
    return _index.getitem(x, (slice(None),) * d + (int(index),))


# -- reordering, tiling, padding ----------------------------------------------------
def flip(input: Any, dims: Any = None, *, axis: Any = None) -> Any:
    """Reverse the order of elements along ``dims`` (all dimensions if None).

    >>> import autodiff as ad
    >>> ad.flip(ad.tensor([1.0, 2.0, 3.0]), 0)
    tensor([3., 2., 1.])
    """
    x = _operand(input)
    nd = _ndim(x)
    d = _one(dims, axis)
    d = range(nd) if d is None else ((d,) if isinstance(d, (int, np.integer)) else d)
    return _shape.flip(x, tuple(_axis(a, nd, "flip") for a in d))


def fliplr(input: Any) -> Any:
    """Reverse the columns (dimension 1).

    >>> import autodiff as ad
    >>> ad.fliplr(ad.tensor([[1.0, 2.0]]))
    tensor([[2., 1.]])
    """
    return flip(input, 1)


def flipud(input: Any) -> Any:
    """Reverse the rows (dimension 0).

    >>> import autodiff as ad
    >>> ad.flipud(ad.tensor([1.0, 2.0]))
    tensor([2., 1.])
    """
    return flip(input, 0)


def roll(input: Any, shifts: Any, dims: Any = None, *, axis: Any = None) -> Any:
    """Shift elements cyclically along ``dims`` (over the flattened tensor if None).

    >>> import autodiff as ad
    >>> ad.roll(ad.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    x = _operand(input)
    d = _one(dims, axis)
    if d is None:
        return reshape(_shape.roll(ravel(x), (int(np.sum(shifts)),), (0,)), _shape_of(x))
    d = (d,) if isinstance(d, (int, np.integer)) else tuple(d)
    s = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(s) != len(d):
        if len(s) == 1:
            s = s * len(d)
        elif len(d) == 1:
            d = d * len(s)
        else:
            raise ValueError(f"roll: shifts {s} and dims {d} must have the same length")
    nd = _ndim(x)
    return _shape.roll(x, tuple(int(v) for v in s), tuple(_axis(a, nd, "roll") for a in d))


def tile(input: Any, dims: Any = None, *, reps: Any = None) -> Any:
    """Repeat the whole tensor ``dims`` times along each dimension (NumPy's ``tile``).

    >>> import autodiff as ad
    >>> ad.tile(ad.tensor([1.0, 2.0]), (2,))
    tensor([1., 2., 1., 2.])
    """
    r = dims if dims is not None else reps
    r = (r,) if isinstance(r, (int, np.integer)) else tuple(r)
    return _shape.tile(_operand(input), tuple(int(v) for v in r))


def repeat(input: Any, *sizes: Any) -> Any:
    """PyTorch's ``Tensor.repeat``: tile, with at least one size per dimension.

    >>> import autodiff as ad
    >>> ad.ones((2, 3)).repeat(2, 1, 1).shape
    (2, 2, 3)
    """
    x = _operand(input)
    sizes = _dims(sizes)
    if len(sizes) < _ndim(x):
        raise RuntimeError(f"repeat: the number of repeat dims ({len(sizes)}) can not be "
                           f"smaller than the number of dimensions of the tensor ({_ndim(x)})")
    return _shape.tile(x, sizes)


def repeat_interleave(input: Any, repeats: Any, dim: int | None = None, *,
                      output_size: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``dim`` (flattened if None), like ``np.repeat``.

    >>> import autodiff as ad
    >>> ad.repeat_interleave(ad.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    """
    x = _operand(input)
    if dim is None:
        x, dim = ravel(x), 0
    d = _axis(dim, _ndim(x), "repeat_interleave")
    idx = np.repeat(np.arange(_shape_of(x)[d]), np.asarray(_data(repeats)))
    # an integer-array index: the VJP scatter-adds the copies back
    return _index.getitem(x, (slice(None),) * d + (idx,))


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap", "edge": "edge",
              "symmetric": "symmetric", "wrap": "wrap"}


def _pad_widths(x: Any, pad: Sequence[int]) -> tuple:
    """PyTorch's flat ``pad`` (last dimension first) as NumPy's per-axis pairs."""
    nd = _ndim(x)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(f"pad: padding length {len(pad)} must be even and cover at most the "
                         f"{nd} dimensions of a tensor of shape {_shape_of(x)}")
    widths = [(0, 0)] * nd
    for k in range(len(pad) // 2):
        widths[nd - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return tuple(widths)


def _pad_np(x: Any, widths: tuple, mode: str, value: float) -> Any:
    if any(a < 0 or b < 0 for a, b in widths):
        # negative padding crops
        x = _index.getitem(x, tuple(slice(max(-a, 0), n - max(-b, 0))
                                    for (a, b), n in zip(widths, _shape_of(x))))
        widths = tuple((max(a, 0), max(b, 0)) for a, b in widths)
    if mode == "constant":
        return _shape.pad(x, widths, value)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: unsupported mode {mode!r}; use constant, reflect, replicate, "
                         "circular, edge, symmetric or wrap")
    # Non-constant modes only pick existing elements: an integer-array index,
    # so repeated picks accumulate in the VJP.
    idx = [np.pad(np.arange(n), w, mode=_PAD_MODES[mode]) for w, n in zip(widths, _shape_of(x))]
    return _index.getitem(x, np.ix_(*idx) if idx else ())


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Any:
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs from the last dimension back.

    Modes: constant (with ``value``), reflect, replicate, circular.

    >>> import autodiff as ad
    >>> ad.pad(ad.ones(2), (1, 2))
    tensor([0., 1., 1., 0., 0.])
    """
    x = _operand(input)
    return _pad_np(x, _pad_widths(x, pad), mode, 0.0 if value is None else value)


# -- diagonals and triangles -----------------------------------------------------------
def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1, *,
             axis1: int | None = None, axis2: int | None = None) -> Any:
    """The diagonal(s) of ``input`` over ``dim1``/``dim2``, appended as the last dimension.

    >>> import autodiff as ad
    >>> ad.diagonal(ad.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    x = _operand(input)
    nd = _ndim(x)
    a1 = _axis(axis1 if axis1 is not None else dim1, nd, "diagonal")
    a2 = _axis(axis2 if axis2 is not None else dim2, nd, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: dim1 and dim2 cannot be the same ({dim1})")
    return _linalg_diagonal(x, offset, a1 - nd, a2 - nd)


def _linalg_diagonal(x: Any, offset: int, a1: int, a2: int) -> Any:
    return _shape.diagonal(x, int(offset), a1, a2)


def diag(input: Any, diagonal: int = 0) -> Any:
    """A 1-d tensor becomes a matrix with it on the ``diagonal``-th diagonal; a matrix
    gives that diagonal.

    >>> import autodiff as ad
    >>> ad.diag(ad.tensor([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    x = _operand(input)
    nd = _ndim(x)
    if nd == 1:
        n = _shape_of(x)[0] + abs(int(diagonal))
        return _shape.diagonal_scatter_zeros(x, (n, n), int(diagonal), -2, -1)
    if nd == 2:
        return _shape.diagonal(x, int(diagonal), -2, -1)
    raise ValueError(f"diag: expected a 1-d or 2-d tensor, got shape {_shape_of(x)}")


def tril(input: Any, diagonal: int = 0, *, k: int | None = None) -> Any:
    """Lower triangle of the last two dimensions (entries above ``diagonal`` zeroed).

    >>> import autodiff as ad
    >>> ad.tril(ad.ones((2, 2)))
    tensor([[1., 0.],
            [1., 1.]])
    """
    _check_matrix("tril", input)
    return _shape.tril(_operand(input), int(diagonal if k is None else k))


def triu(input: Any, diagonal: int = 0, *, k: int | None = None) -> Any:
    """Upper triangle of the last two dimensions (entries below ``diagonal`` zeroed).

    >>> import autodiff as ad
    >>> ad.triu(ad.ones((2, 2)))
    tensor([[1., 1.],
            [0., 1.]])
    """
    _check_matrix("triu", input)
    return _shape.triu(_operand(input), int(diagonal if k is None else k))


def _check_matrix(name: str, input: Any) -> None:
    # PyTorch's rule (NumPy's np.tril would treat a vector as the rows of a square matrix)
    if _ndim(input) < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                           f"{_shape_of(input)}")


def t(input: Any) -> Any:
    """Transpose a matrix (tensors with fewer than two dimensions are returned as is).

    >>> import autodiff as ad
    >>> ad.t(ad.ones((2, 3))).shape
    (3, 2)
    """
    x = _operand(input)
    nd = _ndim(x)
    if nd > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got shape {_shape_of(x)}")
    return x if nd < 2 else _shape.swapaxes(x, 0, 1)


# -- products ------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_parse(subscripts: str, shapes: list) -> tuple:
    """Explicit terms (ellipses spelled out, the implicit output made explicit)."""
    s = subscripts.replace(" ", "")
    ins, out = s.split("->") if "->" in s else (s, None)
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} has {len(terms)} operand terms but "
                         f"{len(shapes)} operands were given")
    named = set(c for c in s if c.isalpha())
    free = [c for c in _LETTERS if c not in named]
    ell_len = 0
    for term, shp in zip(terms, shapes):
        bad = set(term.replace("...", "")) - set(_LETTERS)
        if bad:
            raise ValueError(f"einsum: invalid subscript characters {sorted(bad)} in "
                             f"{subscripts!r}")
        if "..." in term:
            ell_len = max(ell_len, len(shp) - (len(term) - 3))
    ell = "".join(free[:ell_len])
    full = []
    for term, shp in zip(terms, shapes):
        if "..." in term:
            k = len(shp) - (len(term) - 3)
            if k < 0:
                raise ValueError(f"einsum: term {term!r} has more labels than operand "
                                 f"dimensions (shape {shp})")
            term = term.replace("...", ell[ell_len - k:] if k else "")
        if len(term) != len(shp):
            raise ValueError(f"einsum: term {term!r} has {len(term)} labels for an operand "
                             f"of shape {shp}")
        full.append(term)
    if out is None:
        joined = "".join(full)
        out = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1
                                   and c not in ell))
    else:
        out = out.replace("...", ell)
        if len(set(out)) != len(out) or not set(out) <= set("".join(full)):
            raise ValueError(f"einsum: output subscripts of {subscripts!r} must be distinct "
                             "labels that appear in the inputs")
    return full, out


def _einsum_sublists(args: tuple) -> tuple:
    """The interleaved form ``(a, [0, 1], b, [1, 2], [0, 2])`` as ``("Ab,bC->AC", a, b)``:
    label k is NumPy's letter (0-25 'A'-'Z', 26-51 'a'-'z'), ``...`` an ellipsis."""
    def term(sublist: Any) -> str:
        if not isinstance(sublist, (list, tuple)):
            raise TypeError(f"einsum: expected a sublist of ints after each operand, got "
                            f"{type(sublist).__name__}")
        out = []
        for k in sublist:
            if k is Ellipsis:
                out.append("...")
            elif isinstance(k, (int, np.integer)) and 0 <= k < 52:
                out.append(chr(ord("A") + k) if k < 26 else chr(ord("a") + k - 26))
            else:
                raise ValueError(f"einsum: a sublist holds ints in [0, 52) or Ellipsis, "
                                 f"got {k!r}")
        return "".join(out)
    ops, sublists = list(args[0::2]), list(args[1::2])
    out = ""
    if len(args) % 2:
        out = "->" + term(ops.pop())
    return (",".join(term(t) for t in sublists) + out, *ops)


def einsum(*args: Any, **kwargs: Any) -> Any:
    """Einstein summation, ``ad.einsum("ij,jk->ik", a, b)`` (operands may also be one list,
    or interleaved with sublists of ints: ``ad.einsum(a, [0, 1], b, [1, 2], [0, 2])``).

    Ellipses, the implicit output, traces and diagonals ("ii->i") are supported;
    more than two operands are contracted pairwise from the left.

    >>> import autodiff as ad
    >>> ad.einsum("ij,j->i", ad.ones((2, 3)), ad.ones(3))
    tensor([3., 3.])
    >>> ad.einsum(ad.ones((2, 3)), [0, 1], ad.ones(3), [1], [0])
    tensor([3., 3.])
    """
    if kwargs.get("out") is not None:
        raise TypeError("einsum: out= is not supported for Tensors")
    if not args:
        raise TypeError("einsum: expected subscripts and operands")
    if not isinstance(args[0], str):
        args = _einsum_sublists(args)
    subscripts, ops = args[0], list(args[1:])
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = list(ops[0])
    ops = [_operand(o) for o in ops]
    if not ops:
        raise ValueError("einsum: at least one operand is required")
    terms, out = _einsum_parse(subscripts, [_shape_of(o) for o in ops])
    if len(ops) == 1:
        one = np.ones((), dtype=np.result_type(_data(ops[0])))
        return _linalg.einsum(ops[0], one, f"{terms[0]},->{out}")
    acc, acc_t = ops[0], terms[0]
    for i in range(1, len(ops)):
        if i == len(ops) - 1:
            res = out
        else:
            later = set("".join(terms[i + 1:])) | set(out)
            res = "".join(dict.fromkeys(c for c in acc_t + terms[i] if c in later))
        acc = _linalg.einsum(acc, ops[i], f"{acc_t},{terms[i]}->{res}")
        acc_t = res
    return acc


def tensordot(a: Any, b: Any, dims: Any = 2, *, axes: Any = None) -> Any:
    """Sum products over the last ``dims`` axes of ``a`` and the first of ``b``, or over
    the axis lists ``dims = (axes_a, axes_b)``.

    >>> import autodiff as ad
    >>> ad.tensordot(ad.ones((2, 3)), ad.ones((3, 4)), dims=1).shape
    (2, 4)
    """
    a, b = _operand(a), _operand(b)
    d = dims if axes is None else axes
    na, nb = _ndim(a), _ndim(b)
    if isinstance(d, (int, np.integer)):
        ax_a, ax_b = list(range(na - int(d), na)), list(range(int(d)))
    else:
        ax_a, ax_b = d
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: contracted axes {ax_a} and {ax_b} differ in number")
    ax_a = [_axis(x, na, "tensordot") for x in ax_a]
    ax_b = [_axis(x, nb, "tensordot") for x in ax_b]
    for x, y in zip(ax_a, ax_b):
        if _shape_of(a)[x] != _shape_of(b)[y]:
            raise ValueError(f"tensordot: shape mismatch for the contracted dimensions: "
                             f"{_shape_of(a)} axis {x} vs {_shape_of(b)} axis {y}")
    la = _LETTERS[:na]
    lb = list(_LETTERS[na:na + nb])
    for x, y in zip(ax_a, ax_b):
        lb[y] = la[x]
    lb = "".join(lb)
    out = "".join(c for i, c in enumerate(la) if i not in ax_a) + \
        "".join(c for i, c in enumerate(lb) if i not in ax_b)
    return _linalg.einsum(a, b, f"{la},{lb}->{out}")


def dot(input: Any, other: Any) -> Any:
    """Inner product of two 1-d tensors (PyTorch's ``dot``; ``np.dot`` keeps NumPy's rules).

    >>> import autodiff as ad
    >>> ad.dot(ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = _operand(input), _operand(other)
    if _ndim(a) != 1 or _ndim(b) != 1 or _shape_of(a) != _shape_of(b):
        raise RuntimeError(f"dot: expects two 1-d tensors of the same size, got shapes "
                           f"{_shape_of(a)} and {_shape_of(b)}")
    return _linalg.einsum(a, b, "i,i->")


def outer(input: Any, vec2: Any) -> Any:
    """Outer product of two vectors (other shapes are flattened, as ``np.outer`` does).

    >>> import autodiff as ad
    >>> ad.outer(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 0.0, 1.0])).shape
    (2, 3)
    """
    a, b = _operand(input), _operand(vec2)
    if _ndim(a) != 1:
        a = ravel(a)
    if _ndim(b) != 1:
        b = ravel(b)
    return _linalg.einsum(a, b, "i,j->ij")


ger = outer


def inner(input: Any, other: Any) -> Any:
    """Sum of products over the last dimensions (a product if either is a scalar).

    >>> import autodiff as ad
    >>> ad.inner(ad.ones((2, 3)), ad.ones((4, 3))).shape
    (2, 4)
    """
    a, b = _operand(input), _operand(other)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return _mul(a, b)
    return tensordot(a, b, ([-1], [-1]))


def _mul(a: Any, b: Any) -> Any:
    from . import _api
    return _api.mul(a, b)


def mm(input: Any, mat2: Any) -> Any:
    """Product of two matrices.

    >>> import autodiff as ad
    >>> ad.mm(ad.ones((2, 3)), ad.ones((3, 4))).shape
    (2, 4)
    """
    if _ndim(input) != 2 or _ndim(mat2) != 2:
        raise RuntimeError(f"mm: expects two matrices, got shapes {_shape_of(input)} and "
                           f"{_shape_of(mat2)}")
    return _linalg.matmul(_operand(input), _operand(mat2))


def mv(input: Any, vec: Any) -> Any:
    """Product of a matrix and a vector.

    >>> import autodiff as ad
    >>> ad.mv(ad.ones((2, 3)), ad.ones(3))
    tensor([3., 3.])
    """
    if _ndim(input) != 2 or _ndim(vec) != 1:
        raise RuntimeError(f"mv: expects a matrix and a vector, got shapes {_shape_of(input)} "
                           f"and {_shape_of(vec)}")
    return _linalg.matmul(_operand(input), _operand(vec))


def bmm(input: Any, mat2: Any) -> Any:
    """Batched matrix product of two 3-d tensors with the same batch size.

    >>> import autodiff as ad
    >>> ad.bmm(ad.ones((5, 2, 3)), ad.ones((5, 3, 4))).shape
    (5, 2, 4)
    """
    sa, sb = _shape_of(input), _shape_of(mat2)
    if len(sa) != 3 or len(sb) != 3 or sa[0] != sb[0]:
        raise RuntimeError(f"bmm: expects two 3-d tensors with the same batch size, got "
                           f"shapes {sa} and {sb}")
    return _linalg.matmul(_operand(input), _operand(mat2))


def trace(input: Any) -> Any:
    """Sum of the main diagonal of a matrix (square or not).

    >>> import autodiff as ad
    >>> ad.trace(ad.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    >>> ad.trace(ad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    tensor(6.)
    """
    x = _operand(input)
    if _ndim(x) != 2:
        raise RuntimeError(f"trace: expects a matrix, got shape {_shape_of(x)}")
    return _linalg.trace(x)


def det(input: Any) -> Any:
    """Determinant of a (batch of) square matrices; see ``ad.linalg.det``.

    >>> import autodiff as ad
    >>> ad.det(ad.tensor([[2.0, 0.0], [0.0, 3.0]]))
    tensor(6.)
    """
    return linalg.det(input)


def logdet(input: Any) -> Any:
    """Log-determinant (nan for a negative determinant, as PyTorch's ``logdet``).

    >>> import autodiff as ad
    >>> float(ad.logdet(ad.eye(2) * 2.0))
    1.3862943611198906
    """
    sign, logabs = linalg.slogdet(input)
    from . import _api
    return _api.add(logabs, np.where(np.asarray(_data(sign)) < 0, np.nan,
                                     np.where(np.asarray(_data(sign)) == 0, -np.inf, 0.0)))


def slogdet(input: Any) -> Any:
    """``(sign, logabsdet)`` of the determinant; see ``ad.linalg.slogdet``.

    >>> import autodiff as ad
    >>> ad.slogdet(ad.eye(2) * -1.0).sign
    tensor(1.)
    """
    return linalg.slogdet(input)


def inverse(input: Any) -> Any:
    """Inverse of a (batch of) square matrices; see ``ad.linalg.inv``.

    >>> import autodiff as ad
    >>> ad.inverse(ad.eye(2) * 2.0)
    tensor([[0.5, 0. ],
            [0. , 0.5]])
    """
    return linalg.inv(input)


# -- in-place methods ---------------------------------------------------------------
def _clamp(input: Any, min: Any = None, max: Any = None) -> Any:
    from . import _api
    fn = getattr(_api, "clamp", None) or getattr(_api, "clip", None)
    if fn is None:
        raise NotImplementedError("clamp_ needs ad.clamp, which is not available yet")
    return fn(input, min, max)


INPLACE_METHODS.update({"tril_": tril, "triu_": triu, "clamp_": _clamp, "clip_": _clamp})


# -- NumPy functions on Tensors (NumPy's meaning) --------------------------------------
def _numpy_join(join: Any) -> Any:
    """``join`` as NumPy's: one array stands for the sequence of its rows (np.vstack(a))."""
    def numpy_join(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(tensors, _core.TensorBase):
            tensors = tuple(tensors)        # a 0-d tensor raises TypeError, as in NumPy
        return join(tensors, *args, **kwargs)
    return numpy_join


# (np.row_stack, deprecated, calls np.vstack)
for _np_join, _join in [(np.concatenate, concatenate), (np.stack, stack), (np.hstack, hstack),
                        (np.vstack, vstack)]:
    implements(_np_join)(_numpy_join(_join))
implements(np.fliplr)(fliplr)
implements(np.flipud)(flipud)
# NumPy's meaning: a 1-d input is the row of a square matrix
implements(np.tril)(lambda m, k=0: _shape.tril(_operand(m), int(k)))
implements(np.triu)(lambda m, k=0: _shape.triu(_operand(m), int(k)))
implements(np.einsum)(einsum)
implements(np.ravel)(lambda a, order="C": ravel(a))


@implements(np.squeeze)
def _np_squeeze(a: Any, axis: Any = None) -> Any:
    if axis is not None:
        shp = _shape_of(a)
        for ax in (axis,) if isinstance(axis, (int, np.integer)) else axis:
            if shp[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has "
                                 f"size not equal to one (axis {ax} of shape {shp})")
    return squeeze(a, axis)


@implements(np.moveaxis)
def _np_moveaxis(a: Any, source: Any, destination: Any) -> Any:
    return movedim(a, source, destination)


@implements(np.flip)
def _np_flip(m: Any, axis: Any = None) -> Any:
    return flip(m, axis)


@implements(np.roll)
def _np_roll(a: Any, shift: Any, axis: Any = None) -> Any:
    return roll(a, shift, axis)


@implements(np.tile)
def _np_tile(A: Any, reps: Any) -> Any:
    return tile(A, reps)


@implements(np.repeat)
def _np_repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    return repeat_interleave(a, repeats, axis)


@implements(np.split)
def _np_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    if isinstance(indices_or_sections, (int, np.integer)):
        n = _shape_of(ary)[axis]
        if n % int(indices_or_sections):
            raise ValueError(f"split: array split does not result in an equal division "
                             f"({n} into {indices_or_sections})")
    return list(tensor_split(ary, indices_or_sections, axis))


@implements(np.array_split)
def _np_array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    return list(tensor_split(ary, indices_or_sections, axis))


@implements(np.pad)
def _np_pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    x = _operand(array)
    nd = _ndim(x)
    w = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    value = kwargs.pop("constant_values", 0)
    if kwargs or np.ndim(value) != 0:
        raise TypeError(f"np.pad on a Tensor: unsupported arguments {sorted(kwargs)} or a "
                        "non-scalar constant_values")
    if mode != "constant" and mode not in _PAD_MODES:
        raise ValueError(f"np.pad on a Tensor: unsupported mode {mode!r}")
    return _pad_np(x, tuple((int(a), int(b)) for a, b in w), mode, value)


@implements(np.diagonal)
def _np_diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return diagonal(a, offset, axis1, axis2)


@implements(np.diag)
def _np_diag(v: Any, k: int = 0) -> Any:
    return diag(v, k)


@implements(np.trace)
def _np_trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
              out: Any = None) -> Any:
    from .ops import reduce
    return reduce.sum(diagonal(a, offset, axis1, axis2), -1, False)


@implements(np.tensordot)
def _np_tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    return tensordot(a, b, axes)


@implements(np.dot)
def _np_dot(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("np.dot on Tensors: out= is not supported")
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return _mul(a, b)
    if nb == 1:
        return tensordot(a, b, ([-1], [0]))
    return tensordot(a, b, ([-1], [-2]))


@implements(np.inner)
def _np_inner(a: Any, b: Any) -> Any:
    return inner(a, b)


@implements(np.outer)
def _np_outer(a: Any, b: Any, out: Any = None) -> Any:
    return outer(a, b)


_core.set_stack_function(lambda parts: _shape.stack(parts, 0))

from . import linalg  # noqa: E402  (the ad.linalg namespace; it uses the functions above)
