"""``ad.linalg``: linear algebra with PyTorch's ``torch.linalg`` names and defaults.

Functions accept batches of matrices (leading dimensions) and differentiate in
both modes. ``np.linalg.inv`` etc. called on Tensors route here with NumPy's
meaning.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from . import _core
from .ops import linalg as _ops

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "eigh", "eigvalsh", "norm",
           "vector_norm", "matrix_norm", "matmul", "multi_dot", "diagonal"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def _operand(x: Any) -> Any:
    return x if isinstance(x, (_core.TensorBase, np.ndarray)) else np.asarray(x)


def _shape(x: Any) -> tuple:
    return tuple(np.shape(x._data if isinstance(x, _core.TensorBase) else x))


def _square(x: Any, op: str) -> Any:
    x = _operand(x)
    s = _shape(x)
    if len(s) < 2 or s[-1] != s[-2]:
        raise RuntimeError(f"linalg.{op}: expects a (batch of) square matrices, got shape {s}")
    return x


def inv(A: Any) -> Any:
    """Inverse of a (batch of) square matrices; a singular matrix raises ``LinAlgError``.

    >>> import autodiff as ad
    >>> ad.linalg.inv(ad.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return _ops.inv(_square(A, "inv"))


def det(A: Any) -> Any:
    """Determinant of a (batch of) square matrices. The gradient assumes ``A`` invertible.

    >>> import autodiff as ad
    >>> ad.linalg.det(ad.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    return _ops.det(_square(A, "det"))


def slogdet(A: Any) -> SlogdetResult:
    """Sign and log of the absolute value of the determinant, a named tuple
    ``(sign, logabsdet)``; only ``logabsdet`` carries a gradient.

    >>> import autodiff as ad
    >>> r = ad.linalg.slogdet(ad.tensor([[-2.0, 0.0], [0.0, 3.0]]))
    >>> r.sign, r.logabsdet
    (tensor(-1.), tensor(1.79175947))
    """
    return SlogdetResult(*_ops.slogdet(_square(A, "slogdet")))


def solve(A: Any, B: Any, *, left: bool = True) -> Any:
    """The solution ``X`` of ``A X = B``. ``B`` is a (batch of) vectors when it is 1-d or
    its shape is ``A.shape[:-1]``, else a (batch of) matrices (PyTorch's rule).

    >>> import autodiff as ad
    >>> ad.linalg.solve(ad.tensor([[2.0, 0.0], [0.0, 4.0]]), ad.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    A, B = _square(A, "solve"), _operand(B)
    if not left:
        raise NotImplementedError("linalg.solve: left=False is not supported; solve the "
                                  "transposed system instead")
    sa, sb = _shape(A), _shape(B)
    # PyTorch's rule: a batch of vectors when B's shape is A's without the last dimension
    vector = len(sb) == 1 or (len(sb) == len(sa) - 1 and sb == sa[:-1])
    if (sb[-1] if vector else sb[-2] if len(sb) >= 2 else None) != sa[-1]:
        raise RuntimeError(f"linalg.solve: incompatible shapes A {sa} and B {sb}")
    if vector:
        from ._api_array import unsqueeze, squeeze
        return squeeze(_ops.solve(A, unsqueeze(B, -1)), -1)
    return _ops.solve(A, B)


def cholesky(A: Any, *, upper: bool = False) -> Any:
    """Cholesky factor ``L`` (lower) of a symmetric positive-definite ``A = L L^T``
    (``upper=True`` gives ``L^T``). Only the lower triangle of ``A`` is read; the
    gradient is the symmetric one.

    >>> import autodiff as ad
    >>> ad.linalg.cholesky(ad.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    L = _ops.cholesky(_square(A, "cholesky"))
    if upper:
        from ._api_array import swapaxes
        return swapaxes(L, -1, -2)
    return L


def eigh(A: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, a named
    tuple ``(eigenvalues, eigenvectors)``. Gradients assume ``A`` symmetric with distinct
    eigenvalues, and are meaningful only for functions that do not depend on the
    eigenvectors' signs.

    >>> import autodiff as ad
    >>> ad.linalg.eigh(ad.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    tensor([1., 2.])
    """
    A = _square(A, "eigh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if UPLO == "U":
        from ._api_array import swapaxes
        A = swapaxes(A, -1, -2)   # LAPACK reads the lower triangle of A^T = upper of A
    return EighResult(*_ops.eigh(A))


def eigvalsh(A: Any, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) of a symmetric matrix.

    >>> import autodiff as ad
    >>> ad.linalg.eigvalsh(ad.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([1., 2.])
    """
    return eigh(A, UPLO).eigenvalues


def _dims(dim: Any, ndim: int) -> tuple:
    d = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for a in d:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"linalg.norm: dimension {a} out of range for {ndim} dimensions")
        out.append(int(a) - ndim if a >= 0 else int(a))
    if len(set(out)) != len(out) or (ndim == 0 and len(out) > 1):
        raise RuntimeError(f"linalg.norm: repeated dimension in dim={dim}")
    # a 0-d tensor has one element along dim 0 (or -1), as in PyTorch: no axis to reduce
    return () if ndim == 0 else tuple(out)


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Any:
    """The vector ``ord``-norm over ``dim`` (all elements if None): ord 2, 1, inf, -inf,
    0 (number of non-zeros) or any real p. At kinks the gradient is a subgradient
    (0 at a zero vector for ord 2; split evenly between tied extremes for inf).

    >>> import autodiff as ad
    >>> ad.linalg.vector_norm(ad.tensor([3.0, 4.0]))
    tensor(5.)
    """
    x = _operand(x)
    if dtype is not None:
        from ._api import astype
        x = astype(x, dtype)
    nd = len(_shape(x))
    axis = tuple(range(-nd, 0)) if dim is None else _dims(dim, nd)
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return _ops.vector_norm(x, float(ord), axis, bool(keepdim))


def matrix_norm(A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Any:
    """Matrix norm over the two dimensions ``dim``: 'fro', 1, -1, inf, -inf (max/min
    absolute column/row sum). 'nuc' and 2/-2 (singular values) are not supported yet.

    >>> import autodiff as ad
    >>> ad.linalg.matrix_norm(ad.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1)
    tensor(6.)
    """
    A = _operand(A)
    nd = len(_shape(A))
    if nd < 2:
        raise RuntimeError(f"linalg.matrix_norm: expects at least 2 dimensions, got shape "
                           f"{_shape(A)}")
    r, c = _dims(dim, nd)
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim, dtype=dtype)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, "
                                  "which are not supported yet")
    if ord not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"linalg.matrix_norm: unsupported ord {ord!r}")
    # ord 1: max over columns of the absolute column sums (sum over rows); inf: rows.
    summed, reduced = (r, c) if ord in (1, -1) else (c, r)
    sums = vector_norm(A, 1, summed, True, dtype=dtype)
    out = vector_norm(sums, np.inf if ord > 0 else -np.inf, reduced, True)
    if not keepdim:
        from ._api_array import squeeze
        out = squeeze(out, (r, c))
    return out


def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Any:
    """A vector norm (``dim`` an int, or a 1-d input) or a matrix norm (``dim`` a pair, or a
    2-d input); with ``ord=None`` and ``dim=None`` the 2-norm of all elements.

    >>> import autodiff as ad
    >>> ad.linalg.norm(ad.tensor([[3.0, 0.0], [0.0, 4.0]]))
    tensor(5.)
    """
    nd = len(_shape(A))
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if dim is None:
        if nd not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must "
                               f"be 1-d or 2-d, got shape {_shape(A)}")
        dim = (0,) if nd == 1 else (0, 1)
    d = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(d) == 1:
        return vector_norm(A, 2 if ord is None else ord, d, keepdim, dtype=dtype)
    if len(d) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, d, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: dim must have one or two entries, got {dim!r}")


def matmul(input: Any, other: Any) -> Any:
    """Matrix product (the same as ``ad.matmul``).

    >>> import autodiff as ad
    >>> ad.linalg.matmul(ad.ones((2, 3)), ad.ones(3))
    tensor([3., 3.])
    """
    return _ops.matmul(_operand(input), _operand(other))


def multi_dot(tensors: Any) -> Any:
    """Product of a chain of matrices (first and last may be vectors), left to right.

    >>> import autodiff as ad
    >>> ad.linalg.multi_dot([ad.ones(2), ad.ones((2, 3)), ad.ones(3)])
    tensor(6.)
    """
    ts = [_operand(t) for t in tensors]
    if len(ts) < 2:
        raise RuntimeError("linalg.multi_dot: expected at least two tensors")
    out = ts[0]
    for t in ts[1:]:
        out = _ops.matmul(out, t)
    return out


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    """The diagonal over ``dim1``/``dim2`` (by default of the last two dimensions).

    >>> import autodiff as ad
    >>> ad.linalg.diagonal(ad.eye(2))
    tensor([1., 1.])
    """
    from ._api_array import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)


# -- NumPy's linalg functions on Tensors (NumPy's meaning) -------------------------------
def _register() -> None:
    from .ops._registry import implements

    implements(np.linalg.inv)(lambda a: inv(a))
    implements(np.linalg.det)(lambda a: det(a))
    implements(np.linalg.slogdet)(lambda a: slogdet(a))
    implements(np.linalg.cholesky)(lambda a, upper=False: cholesky(a, upper=upper))
    implements(np.linalg.eigh)(lambda a, UPLO="L": eigh(a, UPLO))
    implements(np.linalg.eigvalsh)(lambda a, UPLO="L": eigvalsh(a, UPLO))
    implements(np.linalg.multi_dot)(lambda arrays, out=None: multi_dot(arrays))

    @implements(np.linalg.solve)
    def _np_solve(a: Any, b: Any) -> Any:
        # NumPy 2: b is a vector only when it is 1-d
        if len(_shape(b)) == 1:
            return solve(a, b)
        return _ops.solve(_square(a, "solve"), _operand(b))

    @implements(np.linalg.norm)
    def _np_norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
        return norm(x, ord, axis, keepdims)


_register()
