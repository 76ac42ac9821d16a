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
from .ops import binary, elementwise, index, linalg, nn, nondiff, reduce, shape
from .ops._registry import implements

# Names installed as Tensor methods (``t.sum(dim=0)`` is ``ad.sum(t, dim=0)``).
TENSOR_METHODS = [
    "sum", "mean", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "neg",
    "matmul", "pow",
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
    spec, dispatch = op.spec, _core.dispatch_unary   # straight to the engine: one frame less

    def fn(input: Any) -> Any:
        return dispatch(spec, input, ())
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
    return reduce.sum(x, _reduce_axes("sum", x, dim, axis), _keep(keepdim, keepdims))


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, dtype: Any = None) -> Any:
    """Mean over ``dim`` (all axes by default).

    >>> import autodiff as ad
    >>> ad.mean(ad.tensor([1.0, 3.0]))
    tensor(2.)
    """
    x = input if dtype is None else astype(input, dtype)
    return reduce.mean(x, _reduce_axes("mean", x, dim, axis), _keep(keepdim, keepdims))


# -- casts and copies (reshape, transpose, squeeze ... are _api_array's) -------
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
        out._version_counter = _core.VersionCounter()
        out._base = None
        out._view_of = None
    return out


def setitem(input: Any, idx: Any, value: Any) -> None:
    """``input[idx] = value``, recorded as an in-place op on ``input``."""
    from .tensor import write_item
    write_item(input, _index_arg(idx), _operand(value))


# -- comparisons --------------------------------------------------------------
def _comparison(op: Any, symbol: str, example: str) -> Any:
    def fn(input: Any, other: Any) -> Any:
        return op(_operand(input), _operand(other))
    fn.__name__ = fn.__qualname__ = op.__name__
    fn.__doc__ = (f"Elementwise ``input {symbol} other`` (a boolean tensor, no gradient).\n\n"
                  f">>> import autodiff as ad\n>>> ad.{op.__name__}(ad.tensor([1.0, 2.0]), 2.0)\n"
                  f"{example}\n")
    return fn


eq = _comparison(nondiff.eq, "==", "tensor([False,  True])")
ne = _comparison(nondiff.ne, "!=", "tensor([ True, False])")
lt = _comparison(nondiff.lt, "<", "tensor([ True, False])")
le = _comparison(nondiff.le, "<=", "tensor([ True,  True])")
gt = _comparison(nondiff.gt, ">", "tensor([False, False])")
ge = _comparison(nondiff.ge, ">=", "tensor([False,  True])")


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


_reshape_op = shape.reshape     # np.reshape's parameter ``shape`` hides the module below


@implements(np.reshape)
def _np_reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    return _reshape_op(a, tuple(shape) if isinstance(shape, (tuple, list)) else (shape,))


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


# ===========================================================================
# Elementwise math, piecewise ops, reductions (issue 3). PyTorch's names and
# defaults; NumPy's spellings accepted; NumPy routes keep NumPy's meaning.
# ===========================================================================
def _doc_unary(op: Any, name: str, what: str, example_in: str, example_out: str) -> Any:
    fn = _unary(op, f"""{what}

>>> import autodiff as ad
>>> ad.{name}(ad.tensor({example_in}))
{example_out}
""")
    fn.__name__ = fn.__qualname__ = name
    return fn


abs = _doc_unary(elementwise.abs, "abs", "Elementwise absolute value; its derivative at 0 is 0.",
                 "[-2.0, 0.0]", "tensor([2., 0.])")
absolute = abs
expm1 = _doc_unary(elementwise.expm1, "expm1", "Elementwise e**x - 1, accurate near 0.",
                   "[0.0]", "tensor([0.])")
log1p = _doc_unary(elementwise.log1p, "log1p", "Elementwise log(1 + x), accurate near 0.",
                   "[0.0]", "tensor([0.])")
log2 = _doc_unary(elementwise.log2, "log2", "Elementwise base-2 logarithm.", "[8.0]",
                  "tensor([3.])")
log10 = _doc_unary(elementwise.log10, "log10", "Elementwise base-10 logarithm.", "[100.0]",
                   "tensor([2.])")
sqrt = _doc_unary(elementwise.sqrt, "sqrt", "Elementwise square root.", "[4.0]", "tensor([2.])")
rsqrt = _doc_unary(elementwise.rsqrt, "rsqrt", "Elementwise 1 / sqrt(x).", "[4.0]",
                   "tensor([0.5])")
square = _doc_unary(elementwise.square, "square", "Elementwise x * x.", "[3.0]", "tensor([9.])")
tan = _doc_unary(elementwise.tan, "tan", "Elementwise tangent.", "[0.0]", "tensor([0.])")
arcsin = _doc_unary(elementwise.arcsin, "arcsin", "Elementwise inverse sine (alias ``asin``).",
                    "[0.0]", "tensor([0.])")
arccos = _doc_unary(elementwise.arccos, "arccos", "Elementwise inverse cosine (alias ``acos``).",
                    "[1.0]", "tensor([0.])")
arctan = _doc_unary(elementwise.arctan, "arctan", "Elementwise inverse tangent (alias ``atan``).",
                    "[0.0]", "tensor([0.])")
sinh = _doc_unary(elementwise.sinh, "sinh", "Elementwise hyperbolic sine.", "[0.0]",
                  "tensor([0.])")
cosh = _doc_unary(elementwise.cosh, "cosh", "Elementwise hyperbolic cosine.", "[0.0]",
                  "tensor([1.])")
arcsinh = _doc_unary(elementwise.arcsinh, "arcsinh",
                     "Elementwise inverse hyperbolic sine (alias ``asinh``).", "[0.0]",
                     "tensor([0.])")
arccosh = _doc_unary(elementwise.arccosh, "arccosh",
                     "Elementwise inverse hyperbolic cosine (alias ``acosh``).", "[1.0]",
                     "tensor([0.])")
arctanh = _doc_unary(elementwise.arctanh, "arctanh",
                     "Elementwise inverse hyperbolic tangent (alias ``atanh``).", "[0.0]",
                     "tensor([0.])")
erf = _doc_unary(elementwise.erf, "erf", "Elementwise error function 2/sqrt(pi) int_0^x e**-t**2 dt.",
                 "[0.0]", "tensor([0.])")
sign = _doc_unary(elementwise.sign, "sign", "Elementwise sign (-1, 0 or 1); zero gradient.",
                  "[-2.0, 0.0, 3.0]", "tensor([-1.,  0.,  1.])")
floor = _doc_unary(elementwise.floor, "floor", "Elementwise floor; zero gradient.", "[1.5]",
                   "tensor([1.])")
ceil = _doc_unary(elementwise.ceil, "ceil", "Elementwise ceiling; zero gradient.", "[1.5]",
                  "tensor([2.])")
trunc = _doc_unary(elementwise.trunc, "trunc", "Elementwise rounding toward zero; zero gradient.",
                   "[-1.5]", "tensor([-1.])")
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh
fix = trunc


def round(input: Any, decimals: int = 0) -> Any:
    """Round half to even to ``decimals`` places (as NumPy and PyTorch); zero gradient.

    >>> import autodiff as ad
    >>> ad.round(ad.tensor([0.5, 1.5, 2.25]))
    tensor([0., 2., 2.])
    """
    return elementwise.round(input, int(decimals))


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """log(1 + e**(beta x)) / beta, computed without overflow; linear where beta x > threshold.

    >>> import autodiff as ad
    >>> ad.softplus(ad.tensor([0.0])).item() == float(ad.log(ad.tensor(2.0)))
    True
    """
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    # straight to the engine (the op's own wrapper would be one more Python frame)
    if beta == 1.0 and threshold == 20.0:
        return _core.dispatch_unary(_SOFTPLUS, input, _SOFTPLUS_DEFAULTS)
    return _core.dispatch_unary(_SOFTPLUS, input, (float(beta), float(threshold)))


_SOFTPLUS = elementwise.softplus.spec
_SOFTPLUS_DEFAULTS = (1.0, 20.0)


def gelu(input: Any, approximate: str = "none") -> Any:
    """Gaussian error linear unit x * Phi(x); ``approximate='tanh'`` uses the tanh formula.

    >>> import autodiff as ad
    >>> ad.gelu(ad.tensor([0.0]))
    tensor([0.])
    """
    return elementwise.gelu(input, approximate)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Any:
    """x where x > 0, else negative_slope * x (the slope also applies at 0, as PyTorch).

    >>> import autodiff as ad
    >>> ad.leaky_relu(ad.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return elementwise.leaky_relu(input, float(negative_slope))


def _bound(b: Any) -> Any:
    return None if b is None else _operand(b)


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:
    """Limit values to [min, max] (alias ``clip``); the gradient passes where min <= x <= max.

    Bounds may be numbers or tensors (which then receive gradients where they bind).

    >>> import autodiff as ad
    >>> ad.clamp(ad.tensor([-1.0, 0.5, 2.0]), 0.0, 1.0)
    tensor([0. , 0.5, 1. ])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    return binary.clip(input, _bound(min), _bound(max))


clip = clamp


def clamp_min(input: Any, min: Any) -> Any:
    """``clamp(input, min=min)``.

    >>> import autodiff as ad
    >>> ad.clamp_min(ad.tensor([-1.0, 2.0]), 0.0)
    tensor([0., 2.])
    """
    return clamp(input, min, None)


def clamp_max(input: Any, max: Any) -> Any:
    """``clamp(input, max=max)``.

    >>> import autodiff as ad
    >>> ad.clamp_max(ad.tensor([-1.0, 2.0]), 0.0)
    tensor([-1.,  0.])
    """
    return clamp(input, None, max)


def maximum(input: Any, other: Any) -> Any:
    """Elementwise larger value; at ties each input receives half the gradient.

    >>> import autodiff as ad
    >>> ad.maximum(ad.tensor([1.0, 5.0]), ad.tensor([3.0, 2.0]))
    tensor([3., 5.])
    """
    return binary.maximum(_operand(input), _operand(other))


def minimum(input: Any, other: Any) -> Any:
    """Elementwise smaller value; at ties each input receives half the gradient.

    >>> import autodiff as ad
    >>> ad.minimum(ad.tensor([1.0, 5.0]), ad.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return binary.minimum(_operand(input), _operand(other))


def arctan2(input: Any, other: Any) -> Any:
    """Elementwise angle of the point (other, input), i.e. atan(input / other) by quadrant.

    >>> import autodiff as ad
    >>> ad.arctan2(ad.tensor([0.0]), ad.tensor([1.0]))
    tensor([0.])
    """
    return binary.arctan2(_operand(input), _operand(other))


atan2 = arctan2


def floor_divide(input: Any, other: Any) -> Any:
    """Elementwise floor(input / other) (the ``//`` operator); zero gradient.

    >>> import autodiff as ad
    >>> ad.floor_divide(ad.tensor([5.0, -5.0]), 3.0)
    tensor([ 1., -2.])
    """
    return binary.floor_divide(_operand(input), _operand(other))


def remainder(input: Any, other: Any) -> Any:
    """Elementwise input - other * floor(input / other) (the ``%`` operator, sign of ``other``).

    >>> import autodiff as ad
    >>> ad.remainder(ad.tensor([5.0, -5.0]), 3.0)
    tensor([2., 1.])
    """
    return binary.remainder(_operand(input), _operand(other))


def reciprocal(input: Any) -> Any:
    """Elementwise 1 / x.

    >>> import autodiff as ad
    >>> ad.reciprocal(ad.tensor([2.0]))
    tensor([0.5])
    """
    return elementwise.reciprocal(input)


# -- predicates and logical ops: boolean tensors, no gradient -----------------------------
def isnan(input: Any) -> Any:
    """Elementwise test for NaN (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.isnan(ad.tensor([1.0, float("nan")]))
    tensor([False,  True])
    """
    return nondiff.isnan(_operand(input))


def isfinite(input: Any) -> Any:
    """Elementwise test for a finite value (not inf, -inf or NaN); no gradient.

    >>> import autodiff as ad
    >>> ad.isfinite(ad.tensor([1.0, float("inf")]))
    tensor([ True, False])
    """
    return nondiff.isfinite(_operand(input))


def isinf(input: Any) -> Any:
    """Elementwise test for inf or -inf (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.isinf(ad.tensor([1.0, float("-inf")]))
    tensor([False,  True])
    """
    return nondiff.isinf(_operand(input))


def logical_not(input: Any) -> Any:
    """Elementwise logical not (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.logical_not(ad.tensor([True, False]))
    tensor([False,  True])
    """
    return nondiff.logical_not(_operand(input))


def logical_and(input: Any, other: Any) -> Any:
    """Elementwise logical and (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.logical_and(ad.tensor([True, True]), ad.tensor([True, False]))
    tensor([ True, False])
    """
    return nondiff.logical_and(_operand(input), _operand(other))


def logical_or(input: Any, other: Any) -> Any:
    """Elementwise logical or (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.logical_or(ad.tensor([False, True]), ad.tensor([False, False]))
    tensor([False,  True])
    """
    return nondiff.logical_or(_operand(input), _operand(other))


def logical_xor(input: Any, other: Any) -> Any:
    """Elementwise logical exclusive or (a boolean tensor, no gradient).

    >>> import autodiff as ad
    >>> ad.logical_xor(ad.tensor([True, True]), ad.tensor([True, False]))
    tensor([False,  True])
    """
    return nondiff.logical_xor(_operand(input), _operand(other))


# -- reductions ---------------------------------------------------------------------
def _ndim(x: Any) -> int:
    return np.ndim(x._data if isinstance(x, _core.TensorBase) else x)


def _one_axis(op: str, dim: Any, ndim: int) -> int:
    if isinstance(dim, (tuple, list)):
        if len(dim) != 1:
            raise TypeError(f"{op}: dim must be a single int, got {dim!r}")
        dim = dim[0]
    d = int(dim)
    n = ndim if ndim > 0 else 1
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions")
    return d


def _reduce_axes(op: str, input: Any, dim: Any, axis: Any) -> Any:
    """The axes a reduction runs over (None: all).

    PyTorch gives a 0-d tensor one element along dim 0 (or -1): reducing over it is
    reducing over no axis at all, ``()``, which every reduction, rule and mode takes.
    """
    a = _axis(dim, axis)
    if a is None or _ndim(input) != 0:
        return a
    dims = a if isinstance(a, tuple) else (a,)
    for d in dims:
        _one_axis(op, d, 0)
    if len(dims) > 1:       # 0 and -1 are the same dim
        raise ValueError(f"{op}: duplicate value in 'axis'")
    return ()


def prod(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None, dtype: Any = None) -> Any:
    """Product over ``dim`` (all axes by default); exact gradients with zeros in the input.

    >>> import autodiff as ad
    >>> ad.prod(ad.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=1)
    tensor([ 2., 12.])
    """
    x = input if dtype is None else astype(input, dtype)
    return reduce.prod(x, _reduce_axes("prod", x, dim, axis), _keep(keepdim, keepdims))


def amax(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Any:
    """Largest value over ``dim`` (all by default); ties share the gradient evenly.

    >>> import autodiff as ad
    >>> ad.amax(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=0)
    tensor([3., 5.])
    """
    return reduce.amax(input, _reduce_axes("amax", input, dim, axis), _keep(keepdim, keepdims))


def amin(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Any:
    """Smallest value over ``dim`` (all by default); ties share the gradient evenly.

    >>> import autodiff as ad
    >>> ad.amin(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=0)
    tensor([1., 2.])
    """
    return reduce.amin(input, _reduce_axes("amin", input, dim, axis), _keep(keepdim, keepdims))


class _ValuesIndices(tuple):
    """A ``(values, indices)`` pair with names, as ``torch.return_types.max``."""

    __slots__ = ()
    _name = "max"

    def __new__(cls, values: Any, indices: Any) -> "_ValuesIndices":
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self) -> Any:
        return self[0]

    @property
    def indices(self) -> Any:
        return self[1]

    def __repr__(self) -> str:
        return f"{self._name}(values={self[0]!r}, indices={self[1]!r})"


class MaxResult(_ValuesIndices):
    """Result of ``ad.max(t, dim)``: a tuple with fields ``values`` and ``indices``.

    >>> import autodiff as ad
    >>> values, indices = ad.max(ad.tensor([[1.0, 4.0]]), dim=1)
    >>> indices
    tensor([1])
    """
    __slots__ = ()
    _name = "max"


class MinResult(_ValuesIndices):
    """Result of ``ad.min(t, dim)``: a tuple with fields ``values`` and ``indices``.

    >>> import autodiff as ad
    >>> ad.min(ad.tensor([[1.0, 4.0]]), dim=1).values
    tensor([1.])
    """
    __slots__ = ()
    _name = "min"


def _max_min(name: str, input: Any, dim: Any, keepdim: bool, axis: Any, keepdims: Any,
             other: Any) -> Any:
    if isinstance(dim, (_core.TensorBase, np.ndarray)) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(input, other) if name == "max" else minimum(input, other)
    d = _axis(dim, axis)
    keep = _keep(keepdim, keepdims)
    if d is None:
        # no dim: the single extreme value; ties share the gradient evenly (as PyTorch)
        return (reduce.amax if name == "max" else reduce.amin)(input, None, False)
    d = _one_axis(name, d, _ndim(input))
    if name == "max":
        indices = nondiff.argmax(input, d, keep)
        return MaxResult(reduce.max_dim(input, indices, d, keep), indices)
    indices = nondiff.argmin(input, d, keep)
    return MinResult(reduce.min_dim(input, indices, d, keep), indices)


def max(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The largest value, or with ``dim`` the pair ``(values, indices)`` along it.

    Without ``dim`` ties share the gradient evenly; with ``dim`` the gradient goes
    to the returned index only (PyTorch's rules). ``max(a, b)`` is ``maximum``.

    >>> import autodiff as ad
    >>> t = ad.tensor([[1.0, 5.0], [3.0, 2.0]])
    >>> ad.max(t)
    tensor(5.)
    >>> ad.max(t, dim=1).indices
    tensor([1, 0])
    """
    return _max_min("max", input, dim, keepdim, axis, keepdims, other)


def min(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The smallest value, or with ``dim`` the pair ``(values, indices)`` along it.

    >>> import autodiff as ad
    >>> t = ad.tensor([[1.0, 5.0], [3.0, 2.0]])
    >>> ad.min(t)
    tensor(1.)
    >>> ad.min(t, dim=0).values
    tensor([1., 2.])
    """
    return _max_min("min", input, dim, keepdim, axis, keepdims, other)


def argmax(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Any:
    """Index of the largest value (over the flattened tensor without ``dim``); no gradient.

    >>> import autodiff as ad
    >>> ad.argmax(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=1)
    tensor([1, 0])
    """
    d = _axis(dim, axis)
    if d is not None:
        d = _one_axis("argmax", d, _ndim(input))
    return nondiff.argmax(input, d, _keep(keepdim, keepdims))


def argmin(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Any:
    """Index of the smallest value (over the flattened tensor without ``dim``); no gradient.

    >>> import autodiff as ad
    >>> ad.argmin(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=1)
    tensor([0, 1])
    """
    d = _axis(dim, axis)
    if d is not None:
        d = _one_axis("argmin", d, _ndim(input))
    return nondiff.argmin(input, d, _keep(keepdim, keepdims))


def _correction(op: str, dim: Any, unbiased: Any, correction: Any, ddof: Any) -> tuple:
    # torch.var(x, True) and torch.var(x, dim, True) are the old "unbiased" spellings
    if isinstance(dim, (bool, np.bool_)):
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased given twice")
        dim, unbiased = None, bool(dim)
    given = [c for c in (unbiased, correction, ddof) if c is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: pass only one of unbiased, correction and ddof")
    if unbiased is not None:
        return dim, 1 if unbiased else 0
    if correction is not None:
        return dim, correction
    if ddof is not None:
        return dim, ddof
    return dim, 1


def var(input: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None,
        ddof: Any = None) -> Any:
    """Variance over ``dim``; unbiased by default (``correction=1``), as PyTorch.

    ``np.var(t)`` keeps NumPy's ``ddof=0``.

    >>> import autodiff as ad
    >>> ad.var(ad.tensor([1.0, 2.0, 3.0]))
    tensor(1.)
    >>> ad.var(ad.tensor([1.0, 2.0, 3.0]), correction=0).item()
    0.6666666666666666
    """
    dim, c = _correction("var", dim, unbiased, correction, ddof)
    return reduce.var(input, _reduce_axes("var", input, dim, axis), _keep(keepdim, keepdims), c)


def std(input: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, keepdims: bool | None = None,
        ddof: Any = None) -> Any:
    """Standard deviation over ``dim``; unbiased by default; gradient 0 where it is 0.

    >>> import autodiff as ad
    >>> ad.std(ad.tensor([1.0, 2.0, 3.0]))
    tensor(1.)
    """
    dim, c = _correction("std", dim, unbiased, correction, ddof)
    return reduce.std(input, _reduce_axes("std", input, dim, axis), _keep(keepdim, keepdims), c)


def _norm_order(p: Any) -> float:
    if p is None or p == "fro":
        return 2.0
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r} (use a number, inf or 'fro'; matrix "
                         "norms are in ad.linalg.norm)")
    return float(p)


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None,
         *, axis: Any = None, keepdims: bool | None = None) -> Any:
    """Vector p-norm over ``dim`` (all elements by default); gradient 0 at a zero norm.

    ``p`` may be any number, ``inf``, ``-inf`` or ``'fro'`` (the 2-norm of all entries).

    >>> import autodiff as ad
    >>> ad.norm(ad.tensor([3.0, 4.0]))
    tensor(5.)
    >>> ad.norm(ad.tensor([3.0, -4.0]), p=1)
    tensor(7.)
    """
    x = input if dtype is None else astype(input, dtype)
    return reduce.norm(x, _reduce_axes("norm", x, dim, axis), _keep(keepdim, keepdims),
                       _norm_order(p))


def logsumexp(input: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Any:
    """log(sum(exp(x))) over ``dim``, computed without overflow.

    >>> import autodiff as ad
    >>> ad.logsumexp(ad.tensor([0.0, 0.0]), dim=0).exp()
    tensor(2.)
    >>> bool(ad.isfinite(ad.logsumexp(ad.tensor([1000.0, 1000.0]), dim=0)))
    True
    """
    return reduce.logsumexp(input, _reduce_axes("logsumexp", input, dim, axis),
                            _keep(keepdim, keepdims))


def _cumulative(op: Any, name: str, input: Any, dim: Any, axis: Any, dtype: Any) -> Any:
    x = input if dtype is None else astype(input, dtype)
    d = _axis(dim, axis)
    if d is None:
        # NumPy's meaning without an axis: over the flattened array
        x = shape.reshape(x, (-1,))
        d = 0
    return op(x, _one_axis(name, d, _ndim(x)))


def cumsum(input: Any, dim: Any = None, *, axis: Any = None, dtype: Any = None) -> Any:
    """Cumulative sum along ``dim`` (over the flattened tensor if no dim is given).

    >>> import autodiff as ad
    >>> ad.cumsum(ad.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 3., 6.])
    """
    return _cumulative(reduce.cumsum, "cumsum", input, dim, axis, dtype)


def cumprod(input: Any, dim: Any = None, *, axis: Any = None, dtype: Any = None) -> Any:
    """Cumulative product along ``dim``; exact gradients with zeros in the input.

    >>> import autodiff as ad
    >>> ad.cumprod(ad.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 2., 6.])
    """
    return _cumulative(reduce.cumprod, "cumprod", input, dim, axis, dtype)


def _softmax_dim(name: str, input: Any, dim: Any) -> int:
    nd = _ndim(input)
    if dim is None:
        import warnings
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if nd in (0, 1, 3) else 1
    d = _one_axis(name, dim, nd)
    return d - nd if d >= 0 else d


def softmax(input: Any, dim: Any = None, dtype: Any = None) -> Any:
    """exp(x) / sum(exp(x)) along ``dim``, computed without overflow.

    >>> import autodiff as ad
    >>> ad.softmax(ad.tensor([0.0, 0.0]), dim=0)
    tensor([0.5, 0.5])
    """
    if dtype is None:
        fast = _core.softmax_vector(input, dim)     # short 1-d float64, built in the core
        if fast is not None:
            return fast
    from .ops import nn as nn_ops
    x = input if dtype is None else astype(input, dtype)
    return nn_ops.softmax(x, _softmax_dim("softmax", x, dim))


def log_softmax(input: Any, dim: Any = None, dtype: Any = None) -> Any:
    """x - logsumexp(x) along ``dim``, computed without overflow.

    >>> import autodiff as ad
    >>> ad.log_softmax(ad.tensor([0.0, 0.0]), dim=0).exp()
    tensor([0.5, 0.5])
    """
    from .ops import nn as nn_ops
    x = input if dtype is None else astype(input, dtype)
    return nn_ops.log_softmax(x, _softmax_dim("log_softmax", x, dim))


TENSOR_METHODS += [
    "abs", "absolute", "expm1", "log1p", "log2", "log10", "sqrt", "rsqrt", "square", "tan",
    "arcsin", "arccos", "arctan", "asin", "acos", "atan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "asinh", "acosh", "atanh", "erf", "sign", "floor", "ceil", "trunc", "fix",
    "round", "softplus", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum",
    "arctan2", "atan2", "floor_divide", "remainder", "reciprocal", "isnan", "isfinite", "isinf",
    "logical_and", "logical_or", "logical_xor", "logical_not", "prod", "amax", "amin", "max",
    "min", "argmax", "argmin", "var", "std", "norm", "logsumexp", "cumsum", "cumprod",
    "softmax", "log_softmax", "add", "sub", "mul", "div",
]
for _name in ("abs", "expm1", "log1p", "log2", "log10", "sqrt", "rsqrt", "square", "tan",
              "arcsin", "arccos", "arctan", "asin", "acos", "atan", "sinh", "cosh", "arcsinh",
              "arccosh", "arctanh", "asinh", "acosh", "atanh", "erf", "sign", "floor", "ceil",
              "trunc", "round", "clamp", "clip", "clamp_min", "clamp_max", "floor_divide",
              "remainder", "reciprocal", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu",
              "neg", "pow", "cumsum", "cumprod"):
    INPLACE_METHODS[_name + "_"] = globals()[_name]


# -- NumPy ufuncs and functions on Tensors (NumPy's meaning) --------------------------
for _ufunc, _fn in [(np.absolute, abs), (np.expm1, expm1), (np.log1p, log1p), (np.log2, log2),
                    (np.log10, log10), (np.sqrt, sqrt), (np.square, square), (np.tan, tan),
                    (np.arcsin, arcsin), (np.arccos, arccos), (np.arctan, arctan),
                    (np.sinh, sinh), (np.cosh, cosh), (np.arcsinh, arcsinh),
                    (np.arccosh, arccosh), (np.arctanh, arctanh), (np.sign, sign),
                    (np.floor, floor), (np.ceil, ceil), (np.trunc, trunc), (np.rint, round),
                    (np.maximum, maximum), (np.minimum, minimum), (np.arctan2, arctan2),
                    (np.floor_divide, floor_divide), (np.remainder, remainder),
                    (np.reciprocal, reciprocal), (np.isnan, isnan), (np.isfinite, isfinite),
                    (np.isinf, isinf), (np.logical_and, logical_and),
                    (np.logical_or, logical_or), (np.logical_xor, logical_xor),
                    (np.logical_not, logical_not)]:
    implements(_ufunc)(_fn)


@implements(np.positive)
def _np_positive(x: Any) -> Any:
    return x


@implements(np.prod)
def _np_prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **kwargs: Any) -> Any:
    return prod(a, axis=axis, keepdims=keepdims, dtype=dtype)


@implements(np.max, np.amax)
def _np_max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
    return amax(a, axis=axis, keepdims=keepdims)


@implements(np.min, np.amin)
def _np_min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
    return amin(a, axis=axis, keepdims=keepdims)


@implements(np.argmax)
def _np_argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    return nondiff.argmax(a, axis, keepdims)


@implements(np.argmin)
def _np_argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    return nondiff.argmin(a, axis, keepdims)


@implements(np.var)
def _np_var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, **kwargs: Any) -> Any:
    x = a if dtype is None else astype(a, dtype)
    return reduce.var(x, _axis(None, axis), bool(keepdims), kwargs.get("correction", ddof))


@implements(np.std)
def _np_std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, **kwargs: Any) -> Any:
    x = a if dtype is None else astype(a, dtype)
    return reduce.std(x, _axis(None, axis), bool(keepdims), kwargs.get("correction", ddof))


@implements(np.cumsum)
def _np_cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumsum(a, axis=axis, dtype=dtype)


@implements(np.cumprod)
def _np_cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumprod(a, axis=axis, dtype=dtype)


@implements(np.clip)
def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
             min: Any = None, max: Any = None, **kwargs: Any) -> Any:
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return clamp(a, lo, hi)


@implements(np.round, np.around)
def _np_round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    return round(a, decimals)


@implements(np.fix)
def _np_fix(x: Any, out: Any = None) -> Any:
    return trunc(x)


@implements(np.any)
def _np_any(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
    return nondiff.any(a, axis, keepdims)


@implements(np.all)
def _np_all(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
    return nondiff.all(a, axis, keepdims)


@implements(np.isclose)
def _np_isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Any:
    return nondiff.isclose(_operand(a), _operand(b), rtol, atol, equal_nan)


# The public names (``from ._api import *`` in autodiff/__init__ takes exactly these).
__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "sum", "mean", "astype", "clone", "where",
    "round", "softplus", "gelu", "leaky_relu", "clamp", "clamp_min", "clamp_max", "maximum",
    "minimum", "arctan2", "floor_divide", "remainder", "reciprocal", "isnan", "isfinite",
    "isinf", "logical_not", "logical_and", "logical_or", "logical_xor", "prod", "amax", "amin",
    "max", "min", "argmax", "argmin", "var", "std", "norm", "logsumexp", "cumsum", "cumprod",
    "softmax", "log_softmax", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "eq",
    "ne", "lt", "le", "gt", "ge", "abs", "absolute", "expm1", "log1p", "log2", "log10", "sqrt",
    "rsqrt", "square", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "erf", "sign", "floor", "ceil", "trunc", "asin", "acos", "atan",
    "asinh", "acosh", "atanh", "fix", "clip", "atan2", "MaxResult", "MinResult",
]


_core.set_sum_to_function(lambda g, shp, batch_ndim: shape.sum_to_shape(g, shp, batch_ndim))
_core.set_vector_ops(shape.stack.spec, nn.softmax.spec, index.getitem.spec)
