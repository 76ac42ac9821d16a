"""Creating tensors. Dtypes follow NumPy: float data is float64 unless given as float32."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .tensor import Tensor, _check_float, _unwrap

_rng = np.random.default_rng()


def _wrap(arr: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad:
        _check_float(arr.dtype)
    return _core.make_tensor(arr, requires_grad)


def _shape(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    >>> import autodiff as ad
    >>> ad.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    # tensors in ``data`` give their arrays: the new leaf holds a copy of the values
    # (np.array would refuse tensors that require grad)
    return _wrap(np.array(_unwrap(data), dtype=dtype), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``.

    >>> import autodiff as ad, numpy as np
    >>> a = np.zeros(2); t = ad.from_numpy(a); a[0] = 1; t
    tensor([1., 0.])
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return _core.make_tensor(array)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float64 by default).

    >>> import autodiff as ad
    >>> ad.zeros(2, 3).shape
    (2, 3)
    """
    return _wrap(np.zeros(_shape(size), dtype=dtype or np.float64), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float64 by default).

    >>> import autodiff as ad
    >>> ad.ones(2)
    tensor([1., 1.])
    """
    return _wrap(np.ones(_shape(size), dtype=dtype or np.float64), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``.

    >>> import autodiff as ad
    >>> ad.full((2,), 7.0)
    tensor([7., 7.])
    """
    size = (size,) if isinstance(size, int) else tuple(size)
    return _wrap(np.full(size, fill_value, dtype=dtype), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor.

    >>> import autodiff as ad
    >>> ad.empty(2, 2).shape
    (2, 2)
    """
    return _wrap(np.empty(_shape(size), dtype=dtype or np.float64), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix.

    >>> import autodiff as ad
    >>> ad.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _wrap(np.eye(n, m, dtype=dtype or np.float64), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in ``[start, end)``.

    >>> import autodiff as ad
    >>> ad.arange(3)
    tensor([0, 1, 2])
    """
    arr = np.arange(start, end, step, dtype=dtype) if end is not None else np.arange(start, dtype=dtype)
    return _wrap(arr, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> import autodiff as ad
    >>> ad.linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ])
    """
    return _wrap(np.linspace(start, end, steps, dtype=dtype), requires_grad)


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``rand``/``randn``.

    >>> import autodiff as ad
    >>> import numpy as np
    >>> ad.manual_seed(0); a = ad.rand(2); ad.manual_seed(0); np.array_equal(a, ad.rand(2))
    True
    """
    global _rng
    _rng = np.random.default_rng(seed)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1).

    >>> import autodiff as ad
    >>> ad.rand(2, 3).shape
    (2, 3)
    """
    return _wrap(_rng.random(_shape(size)).astype(dtype or np.float64), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples.

    >>> import autodiff as ad
    >>> ad.randn(4).shape
    (4,)
    """
    return _wrap(_rng.standard_normal(_shape(size)).astype(dtype or np.float64), requires_grad)


def _like(input: Any) -> np.ndarray:
    return input._data if isinstance(input, _core.TensorBase) else np.asarray(input)


def zeros_like(input: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``input``'s shape and dtype.

    >>> import autodiff as ad
    >>> ad.zeros_like(ad.ones(2))
    tensor([0., 0.])
    """
    return _wrap(np.zeros_like(_like(input), dtype=dtype), requires_grad)


def ones_like(input: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``input``'s shape and dtype.

    >>> import autodiff as ad
    >>> ad.ones_like(ad.zeros(2))
    tensor([1., 1.])
    """
    return _wrap(np.ones_like(_like(input), dtype=dtype), requires_grad)


def full_like(input: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape and dtype.

    >>> import autodiff as ad
    >>> ad.full_like(ad.zeros(2), 3.0)
    tensor([3., 3.])
    """
    return _wrap(np.full_like(_like(input), fill_value, dtype=dtype), requires_grad)


def rand_like(input: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples with ``input``'s shape.

    >>> import autodiff as ad
    >>> ad.rand_like(ad.zeros(3)).shape
    (3,)
    """
    arr = _like(input)
    return _wrap(_rng.random(arr.shape).astype(dtype or arr.dtype), requires_grad)


def randn_like(input: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples with ``input``'s shape.

    >>> import autodiff as ad
    >>> ad.randn_like(ad.zeros(3)).shape
    (3,)
    """
    arr = _like(input)
    return _wrap(_rng.standard_normal(arr.shape).astype(dtype or arr.dtype), requires_grad)
