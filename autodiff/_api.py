"""Public functions (``ad.sum``, ``ad.exp``, ...), also installed as Tensor methods.

They take PyTorch's names and defaults (``dim``/``keepdim``) and NumPy's
(``axis``/``keepdims``), normalise them and call the ops of ``autodiff.ops``.
The NumPy protocol tables route ``np.sum(t, axis=0)`` etc. here with NumPy's
own meaning.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .ops import binary, elementwise, index, linalg, nondiff, reduce, shape
from .ops._registry import implements

# Names installed as Tensor methods (``t.sum(dim=0)`` is ``ad.sum(t, dim=0)``).
TENSOR_METHODS = [
    "sum", "mean", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "neg",
    "matmul", "pow", "transpose", "permute", "squeeze", "unsqueeze", "flatten",
]
# In-place Tensor methods: name -> out-of-place function (``t.foo_(...)`` writes ``foo(t, ...)`` into t).
INPLACE_METHODS: dict[str, Any] = {}


def _axis(dim: Any, axis: Any) -> Any:
    if dim is not None and axis is not None:
        raise TypeError("pass either dim or axis, not both")
    a = dim if dim is not None else axis
    if isinstance(a, list):
        a = tuple(a)
    return a


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdims) if keepdims is not None else bool(keepdim)


def _operand(x: Any) -> Any:
    """Array-likes become ndarrays; Tensors and Python scalars pass unchanged."""
    if isinstance(x, (_core.TensorBase, np.ndarray, int, float, complex, bool, np.generic)):
        return x
    return np.asarray(x)


# -- arithmetic -------------------------------------------------------------
def add(input: Any, other: Any, *, alpha: float = 1) -> Any:
    """Elementwise ``input + alpha * other`` with broadcasting.

    >>> import autodiff as ad
    >>> ad.add(ad.tensor([1.0, 2.0]), 1.0)
    tensor([2., 3.])
    """
    if alpha != 1:
        other = mul(other, alpha)
    return binary.add(_operand(input), _operand(other))


def sub(input: Any, other: Any, *, alpha: float = 1) -> Any:
    """Elementwise ``input - alpha * other``.

    >>> import autodiff as ad
    >>> ad.sub(ad.tensor([1.0, 2.0]), 1.0)
    tensor([0., 1.])
    """
    if alpha != 1:
        other = mul(other, alpha)
    return binary.sub(_operand(input), _operand(other))


def mul(input: Any, other: Any) -> Any:
    """Elementwise product.

    >>> import autodiff as ad
    >>> ad.mul(ad.tensor([1.0, 2.0]), 3.0)
    tensor([3., 6.])
    """
    return binary.mul(_operand(input), _operand(other))


def div(input: Any, other: Any) -> Any:
    """Elementwise true division.

    >>> import autodiff as ad
    >>> ad.div(ad.tensor([1.0, 2.0]), 2.0)
    tensor([0.5, 1. ])
    """
    return binary.div(_operand(input), _operand(other))


def pow(input: Any, exponent: Any) -> Any:
    """Elementwise power (the exponent may be a tensor).

    >>> import autodiff as ad
    >>> ad.pow(ad.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    return binary.pow(_operand(input), _operand(exponent))


def neg(input: Any) -> Any:
    """Elementwise negation.

    >>> import autodiff as ad
    >>> ad.neg(ad.tensor([1.0]))
    tensor([-1.])
    """
    return elementwise.neg(input)


def matmul(input: Any, other: Any) -> Any:
    """Matrix product with NumPy's 1-d and batched rules.

    >>> import autodiff as ad
    >>> ad.matmul(ad.ones((2, 3)), ad.ones(3))
    tensor([3., 3.])
    """
    return linalg.matmul(_operand(input), _operand(other))


def _unary(op: Any, doc: str) -> Any:
    def fn(input: Any) -> Any:
        return op(input)
    fn.__name__ = fn.__qualname__ = op.__name__
    fn.__doc__ = doc
    return fn


exp = _unary(elementwise.exp, """Elementwise e**x.

>>> import autodiff as ad
>>> ad.exp(ad.tensor([0.0]))
tensor([1.])
""")
log = _unary(elementwise.log, """Elementwise natural logarithm.

>>> import autodiff as ad
>>> ad.log(ad.tensor([1.0]))
tensor([0.])
""")
sin = _unary(elementwise.sin, """Elementwise sine.

>>> import autodiff as ad
>>> ad.sin(ad.tensor([0.0]))
tensor([0.])
""")
cos = _unary(elementwise.cos, """Elementwise cosine.

>>> import autodiff as ad
>>> ad.cos(ad.tensor([0.0]))
tensor([1.])
""")
tanh = _unary(elementwise.tanh, """Elementwise hyperbolic tangent.

>>> import autodiff as ad
>>> ad.tanh(ad.tensor([0.0]))
tensor([0.])
""")
sigmoid = _unary(elementwise.sigmoid, """Elementwise logistic function 1 / (1 + e**-x).

>>> import autodiff as ad
>>> ad.sigmoid(ad.tensor([0.0]))
tensor([0.5])
""")
relu = _unary(elementwise.relu, """Elementwise max(x, 0); its derivative at 0 is 0.

>>> import autodiff as ad
>>> ad.relu(ad.tensor([-1.0, 2.0]))
tensor([0., 2.])
""")


# -- reductions -------------------------------------------------------------
def sum(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None, dtype: Any = None) -> Any:
    """Sum over ``dim`` (all axes by default).

    >>> import autodiff as ad
    >>> ad.sum(ad.ones((2, 3)), dim=0)
    tensor([2., 2., 2.])
    """
    x = input if dtype is None else astype(input, dtype)
    return reduce.sum(x, _axis(dim, axis), _keep(keepdim, keepdims))


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, dtype: Any = None) -> Any:
    """Mean over ``dim`` (all axes by default).

    >>> import autodiff as ad
    >>> ad.mean(ad.tensor([1.0, 3.0]))
    tensor(2.)
    """
    x = input if dtype is None else astype(input, dtype)
    return reduce.mean(x, _axis(dim, axis), _keep(keepdim, keepdims))


# -- shape ------------------------------------------------------------------
def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(input: Any, *shape: Any) -> Any:
    """The same data with a new shape (one entry may be -1).

    >>> import autodiff as ad
    >>> ad.reshape(ad.arange(6.0), (2, 3)).shape
    (2, 3)
    """
    return shape_mod_reshape(input, _shape_arg(shape))


shape_mod_reshape = shape.reshape


def transpose(input: Any, dim0: int = 0, dim1: int = 1) -> Any:
    """Swap two axes (PyTorch's meaning).

    >>> import autodiff as ad
    >>> ad.transpose(ad.ones((2, 3)), 0, 1).shape
    (3, 2)
    """
    return shape.swapaxes(input, dim0, dim1)


def permute(input: Any, *dims: Any) -> Any:
    """Reorder the axes.

    >>> import autodiff as ad
    >>> ad.permute(ad.ones((2, 3, 4)), 2, 0, 1).shape
    (4, 2, 3)
    """
    return shape.permute(input, _shape_arg(dims))


def broadcast_to(input: Any, shape_: Any) -> Any:
    """Broadcast to a shape without copying.

    >>> import autodiff as ad
    >>> ad.broadcast_to(ad.ones(3), (2, 3)).shape
    (2, 3)
    """
    return shape.broadcast_to(input, tuple(shape_))


def unsqueeze(input: Any, dim: int) -> Any:
    """Insert an axis of length one at ``dim``.

    >>> import autodiff as ad
    >>> ad.unsqueeze(ad.ones(3), 0).shape
    (1, 3)
    """
    return shape.expand_dims(input, (dim,))


def squeeze(input: Any, dim: Any = None) -> Any:
    """Remove axes of length one (only ``dim`` if given and of length one).

    >>> import autodiff as ad
    >>> ad.squeeze(ad.ones((1, 3, 1))).shape
    (3,)
    """
    shp = np.shape(input._data if isinstance(input, _core.TensorBase) else input)
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(d % len(shp) for d in dims) if shp else ()
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    return shape.reshape(input, new)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge the axes from ``start_dim`` to ``end_dim`` into one.

    >>> import autodiff as ad
    >>> ad.flatten(ad.ones((2, 3, 4)), 1).shape
    (2, 12)
    """
    shp = input.shape
    if len(shp) == 0:
        return shape.reshape(input, (1,))
    s, e = start_dim % len(shp), end_dim % len(shp)
    n = 1
    for d in shp[s:e + 1]:
        n *= d
    return shape.reshape(input, tuple(shp[:s]) + (n,) + tuple(shp[e + 1:]))


def astype(input: Any, dtype: Any) -> Any:
    """Cast to ``dtype``; gradients flow between floating dtypes.

    >>> import autodiff as ad
    >>> ad.astype(ad.ones(2), "float32").dtype
    dtype('float32')
    """
    return shape.astype(input, np.dtype(dtype))


def clone(input: Any) -> Any:
    """A copy with its own memory; gradients flow back to ``input``.

    >>> import autodiff as ad
    >>> ad.clone(ad.ones(2))
    tensor([1., 1.])
    """
    return shape.clone(input)


def full_like_of(target: Any, value: Any) -> Any:
    """``value`` broadcast to ``target``'s shape and dtype (used by ``fill_``)."""
    return shape.expand_copy(_operand(value), target.shape, target.dtype)


def copy_from(target: Any, src: Any) -> Any:
    """``src`` broadcast to ``target``'s shape and dtype (used by ``copy_``)."""
    return shape.expand_copy(_operand(src), target.shape, target.dtype)


# -- indexing ---------------------------------------------------------------
def _index_arg(idx: Any) -> Any:
    if isinstance(idx, _core.TensorBase):
        return idx._data
    if isinstance(idx, list):
        return np.asarray(idx)
    if isinstance(idx, tuple):
        return tuple(_index_arg(i) for i in idx)
    return idx


def getitem(input: Any, idx: Any) -> Any:
    """``input[idx]``: slices, ints, None, Ellipsis, integer and boolean arrays."""
    idx = _index_arg(idx)
    out = index.getitem(input, idx)
    if not index._is_basic(idx):
        # advanced indexing copies: the result is not a view of ``input``
        out._version = _core.VersionCounter()
        out._base = None
    return out


def setitem(input: Any, idx: Any, value: Any) -> None:
    """``input[idx] = value``, recorded as an in-place op on ``input``."""
    from .tensor import apply_inplace
    idx = _index_arg(idx)
    apply_inplace(input, index.index_put(input, _operand(value), idx), "index_put_")


# -- comparisons --------------------------------------------------------------
eq, ne, lt, le, gt, ge = nondiff.eq, nondiff.ne, nondiff.lt, nondiff.le, nondiff.gt, nondiff.ge


def where(condition: Any, input: Any, other: Any) -> Any:
    """Elementwise choice: ``input`` where ``condition`` holds, else ``other``.

    >>> import autodiff as ad
    >>> ad.where(ad.tensor([True, False]), ad.ones(2), ad.zeros(2))
    tensor([1., 0.])
    """
    return binary.where(_operand(condition), _operand(input), _operand(other))


# -- NumPy functions and ufuncs on Tensors (NumPy's meaning) ---------------------
implements(np.add)(add)
implements(np.subtract)(sub)
implements(np.multiply)(mul)
implements(np.true_divide, np.divide)(div)
implements(np.power)(pow)
implements(np.negative)(neg)
implements(np.matmul)(matmul)
for _name in ("exp", "log", "sin", "cos", "tanh"):
    implements(getattr(np, _name))(globals()[_name])
implements(np.where)(where)


@implements(np.sum)
def _np_sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, **kwargs: Any) -> Any:
    return sum(a, axis=axis, keepdims=keepdims, dtype=dtype)


@implements(np.mean)
def _np_mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **kwargs: Any) -> Any:
    return mean(a, axis=axis, keepdims=keepdims, dtype=dtype)


@implements(np.reshape)
def _np_reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    return reshape(a, shape if isinstance(shape, (tuple, list)) else (shape,))


@implements(np.transpose)
def _np_transpose(a: Any, axes: Any = None) -> Any:
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    return shape.permute(a, tuple(axes))


@implements(np.swapaxes)
def _np_swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return shape.swapaxes(a, axis1, axis2)


@implements(np.expand_dims)
def _np_expand_dims(a: Any, axis: Any) -> Any:
    return shape.expand_dims(a, tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))


@implements(np.broadcast_to)
def _np_broadcast_to(array: Any, shape_: Any, subok: bool = False) -> Any:
    return shape.broadcast_to(array, tuple(shape_) if isinstance(shape_, (tuple, list)) else (shape_,))


@implements(np.shape)
def _np_shape(a: Any) -> tuple:
    return a.shape


@implements(np.ndim)
def _np_ndim(a: Any) -> int:
    return a.ndim


@implements(np.zeros_like)
def _np_zeros_like(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    return _core.make_tensor(np.zeros_like(a._data, dtype=dtype))


@implements(np.ones_like)
def _np_ones_like(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    return _core.make_tensor(np.ones_like(a._data, dtype=dtype))


@implements(np.result_type)
def _np_result_type(*args: Any) -> Any:
    return np.result_type(*[a._data if isinstance(a, _core.TensorBase) else a for a in args])


_core.set_sum_to_function(lambda g, shp, batch_ndim: shape.sum_to_shape(g, shp, batch_ndim))
