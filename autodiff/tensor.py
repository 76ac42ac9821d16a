"""``Tensor``: a NumPy array with PyTorch's autograd API.

The autograd state (grad, grad_fn, version counter, hooks) lives in the
compiled ``_core.TensorBase``; this class adds operators, methods and the NumPy
protocols, all of which call the ops declared in ``autodiff.ops``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from . import _core
from . import _api as api
from . import _api_array
from .ops import ARRAY_FUNCTIONS, UFUNCS, binary, elementwise, linalg
from .ops.binary import where
from .ops import index as _index
from .ops.index import getitem as _getitem_op
from .ops.shape import alias

_GETITEM = _getitem_op.spec
_ALIAS = alias.spec
_AUTOGRAD = None


def _autograd() -> Any:
    # autodiff.autograd imports this module; an import statement per backward() costs ~1 us
    global _AUTOGRAD
    if _AUTOGRAD is None:
        from . import autograd
        _AUTOGRAD = autograd
    return _AUTOGRAD


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: list) -> None:
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self._hooks = hooks

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks[:] = [h for h in self._hooks if h[0] != self.id]

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _check_float(dtype: np.dtype) -> None:
    """Refuse ``requires_grad`` on a tensor of ``dtype`` unless it is real floating point."""
    if dtype.kind == "c":
        # the engine's rules do not implement the conjugate Wirtinger convention yet
        raise RuntimeError(f"requires_grad on a Tensor of dtype {dtype}: complex autograd is "
                           "not supported yet; use the real and imaginary parts as two real "
                           "tensors")
    if dtype.kind != "f":
        raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                           f"(got dtype {dtype}); cast first, e.g. t.double()")


def _refuse_conversion(what: str) -> None:
    raise RuntimeError(f"can't call {what} on a Tensor that requires grad: a NumPy array "
                       "carries no gradient, so the graph would be cut without a word. Use "
                       "t.detach() (t.detach().numpy()) to drop the gradient on purpose, or "
                       "ad.stack / ad.concatenate to build a tensor from tensors")


def _shape_text(x: Any) -> str:
    return str(tuple(np.shape(x)))


class Tensor(_core.TensorBase):
    """A multi-dimensional array that records operations for differentiation.

    >>> import autodiff as ad
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __array_priority__ = 1000.0

    def __init__(self, data: Any = None, dtype: Any = None, requires_grad: bool = False) -> None:
        if data is None:
            data = np.empty((0,))
        # a new leaf holds a copy of the values: tensors in ``data`` give their arrays
        # (np.array would refuse those that require grad)
        arr = np.array(_unwrap(data), dtype=dtype)
        if dtype is None and arr.dtype.kind in "iub":
            # ad.Tensor(...) makes floating tensors, as torch.Tensor(...) does
            arr = arr.astype(np.float64)
        self._data = arr
        if requires_grad:
            _check_float(arr.dtype)
            self._requires_grad = True

    # -- state -----------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """A detached Tensor sharing this tensor's memory; assigning replaces the values.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> x.data
        tensor([1., 2.])
        >>> x.data = ad.tensor([5.0, 6.0])
        >>> x
        tensor([5., 6.], requires_grad=True)
        """
        return _core.make_tensor(self._array())

    @data.setter
    def data(self, value: Any) -> None:
        arr = value._data if isinstance(value, _core.TensorBase) else np.asarray(value)
        if self._requires_grad:
            _check_float(arr.dtype)
        self._data = arr

    if TYPE_CHECKING:
        # The property is TensorBase's (C: read and cleared on every training step);
        # declared here with its user-facing types.
        @property
        def grad(self) -> "Tensor | None": ...

        @grad.setter
        def grad(self, value: Any) -> None: ...

    def _checked_grad(self, value: Any) -> "Tensor":
        """A value assigned to ``.grad`` (not None) as a Tensor of this one's shape and dtype."""
        if not isinstance(value, _core.TensorBase):
            value = Tensor(value)
        if value.shape != self.shape:
            raise RuntimeError(f"assigned grad has data of a different size: expected shape "
                               f"{self.shape}, got {value.shape}")
        if not _core.same_dtype(value.dtype, self.dtype):
            raise RuntimeError(f"assigned grad has data of a different type: expected "
                               f"{self.dtype}, got {value.dtype}")
        if not value.requires_grad:
            # backward adds into it: in the layout the compiled loops read (byte order...)
            data = _core.native_array(value._data, self.dtype)
            if data is not value._data:
                value = _core.make_tensor(data)
        return value

    @property
    def requires_grad(self) -> bool:
        """Whether gradients are computed for this tensor.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> x.requires_grad, (x * 2).requires_grad, ad.ones(2).requires_grad
        (True, True, False)
        """
        _core.sync_view(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only) and return self.

        >>> import autodiff as ad
        >>> ad.ones(2).requires_grad_().requires_grad
        True
        """
        if self._grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad:
            _check_float(self._data.dtype)
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf on which ``retain_grad()`` was called.

        >>> import autodiff as ad
        >>> h = ad.tensor([1.0], requires_grad=True) * 2
        >>> h.retains_grad
        False
        >>> h.retain_grad()
        >>> h.retains_grad
        True
        """
        return bool(self._retains_grad)

    def retain_grad(self) -> None:
        """Make this non-leaf tensor keep its ``.grad`` after backward.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x * 3; h.retain_grad()
        >>> (h * h).sum().backward()
        >>> h.grad
        tensor([ 6., 12.])
        """
        _core.sync_view(self)
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        import weakref
        node = self._grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """A new tensor sharing memory (and version counter), cut from the graph.

        >>> import autodiff as ad
        >>> y = (ad.ones(2, requires_grad=True) * 2).detach()
        >>> y.requires_grad, y.grad_fn is None
        (False, True)
        """
        t = _core.make_tensor(self._array())
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place, making it a leaf.

        >>> import autodiff as ad
        >>> y = ad.ones(2, requires_grad=True) * 2
        >>> y.detach_().is_leaf
        True
        """
        self._grad_fn = None
        self._requires_grad = False
        return self

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]) -> RemovableHandle:
        """Call ``hook(grad)`` on the gradient flowing into this tensor; a return replaces it.

        The replacement is a Tensor (or an ndarray) of the gradient's shape and dtype,
        as in PyTorch; another shape or dtype raises RuntimeError, another type TypeError.

        >>> import autodiff as ad
        >>> v = ad.tensor([2.0, 2.0], requires_grad=True)
        >>> h = v.register_hook(lambda g: g * 2)
        >>> v.backward(ad.tensor([1.0, 1.0]))
        >>> v.grad
        tensor([2., 2.])
        """
        _core.sync_view(self)
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self._grad_fn
            if node._pre_hooks is None:
                node._pre_hooks = {}
            hooks = node._pre_hooks.setdefault(self._output_nr, [])
        handle = RemovableHandle(hooks)
        hooks.append([handle.id, hook])
        _core.track_hook(self, hook)    # a hook may close a cycle: let the GC see it
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` after a leaf's ``.grad`` has been accumulated.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> h = x.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (x * 4).sum().backward()
        tensor([4.])
        """
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        handle = RemovableHandle(self._post_acc_hooks)
        self._post_acc_hooks.append([handle.id, hook])
        _core.track_hook(self, hook)    # a hook may close a cycle: let the GC see it
        return handle

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf), weighted by ``gradient``, into each leaf's ``.grad``.

        >>> import autodiff as ad
        >>> x = ad.tensor(3.0, requires_grad=True)
        >>> (x ** 2).backward()
        >>> x.grad
        tensor(6.)
        """
        if (gradient is None and retain_graph is None and not create_graph and inputs is None
                and _core.backward_default(self)):
            return      # the common call, without the argument handling below
        # ``gradient`` is one array-like for this one tensor (never a sequence of them)
        _autograd().backward(self, None if gradient is None else (gradient,), retain_graph,
                             create_graph, inputs=inputs)

    # -- array-like ------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, as a tuple of ints.

        >>> import autodiff as ad
        >>> ad.zeros((2, 3)).shape
        (2, 3)
        """
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data (float64 by default, as in NumPy).

        >>> import autodiff as ad
        >>> import numpy as np
        >>> ad.tensor([1.0, 2.0]).dtype
        dtype('float64')
        >>> ad.ones(2, dtype=np.float32).dtype == np.float32
        True
        """
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions.

        >>> import autodiff as ad
        >>> ad.zeros((2, 3)).ndim
        2
        """
        return self._data.ndim

    def dim(self) -> int:
        """Number of dimensions (PyTorch spelling).

        >>> import autodiff as ad
        >>> ad.zeros((2, 3)).dim()
        2
        """
        return self._data.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of dimension ``dim``.

        >>> import autodiff as ad
        >>> t = ad.zeros((2, 3))
        >>> t.size(), t.size(1), t.size(-1)
        ((2, 3), 3, 3)
        """
        if dim is None:
            return self._data.shape
        return self._data.shape[dim]

    def numel(self) -> int:
        """Number of elements.

        >>> import autodiff as ad
        >>> ad.zeros((2, 3)).numel()
        6
        """
        return int(self._data.size)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shares memory; carries no gradient).

        As in PyTorch, a tensor that requires grad raises ``RuntimeError``: call
        ``t.detach().numpy()`` (or pass ``force=True``) to drop the gradient on purpose.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> x.detach().numpy()
        array([1., 2.])
        >>> x.numpy(force=True)
        array([1., 2.])
        """
        if self._requires_grad and not force:
            _refuse_conversion("numpy()")
        return self._array()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number.

        >>> import autodiff as ad
        >>> ad.tensor([2.5]).item()
        2.5
        """
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists.

        >>> import autodiff as ad
        >>> ad.tensor([[1.0, 2.0], [3.0, 4.0]]).tolist()
        [[1.0, 2.0], [3.0, 4.0]]
        """
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype not in (np.float64, np.int64, np.bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self._grad_fn is not None:
            extras.append(f"grad_fn=<{self._grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__

    # -- NumPy protocols -----------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # np.asarray(t), np.array([t, ...]), np.r_, SciPy's input checks all land here:
        # the result is a plain array, so a tensor that requires grad would lose its graph
        if self._requires_grad:
            _refuse_conversion("np.asarray()/np.array()")
        self._array()
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        if copy:
            return self._data.copy()
        return self._data

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.pop("out", None)
        if method != "__call__":
            impl = UFUNCS.get((ufunc, method))
            if impl is None:
                raise TypeError(f"autodiff: numpy.{ufunc.__name__}.{method} has no derivative "
                                "rule; call it on t.detach().numpy() to drop the gradient")
        else:
            impl = UFUNCS.get(ufunc)
            if impl is None:
                raise TypeError(f"autodiff: numpy.{ufunc.__name__} has no derivative rule; "
                                "call it on t.detach().numpy() to drop the gradient")
        if kwargs.get("where", True) is not True or kwargs.get("casting") is not None:
            raise TypeError(f"autodiff: numpy.{ufunc.__name__} with where=/casting= is not "
                            "differentiable")
        dtype = kwargs.pop("dtype", None)
        result = impl(*inputs, **kwargs)
        if dtype is not None:
            result = result.astype(dtype)
        if out is not None:
            (target,) = out
            if np.shape(result) != np.shape(target):
                raise ValueError(f"numpy.{ufunc.__name__}: non-broadcastable output operand "
                                 f"with shape {np.shape(target)} doesn't match the broadcast "
                                 f"shape {np.shape(result)}")
            if not isinstance(target, Tensor):
                if isinstance(result, Tensor) and result._requires_grad:
                    raise RuntimeError(f"numpy.{ufunc.__name__}(..., out=ndarray): an ndarray "
                                       "cannot hold a result that requires grad; pass a "
                                       "Tensor as out=, or detach() the inputs")
                np.copyto(target, _unwrap(result))
                return target
            return apply_inplace(target, result, ufunc.__name__)
        return result

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        impl = ARRAY_FUNCTIONS.get(func)
        if impl is None and func in _VALUE_ONLY_FUNCTIONS:
            # results carry no gradient (booleans, shapes, counts): compute on the arrays
            return func(*_unwrap(args), **_unwrap(kwargs))
        if impl is None:
            raise TypeError(f"autodiff: numpy.{func.__name__} has no derivative rule for "
                            "Tensors; call it on t.detach().numpy() to drop the gradient")
        return impl(*args, **kwargs)

    # -- operators -----------------------------------------------------------
    # + - * / and unary - are C slots of _core.TensorBase (the hottest calls).
    def __pow__(self, other: Any) -> "Tensor":
        return api.pow(self, other)

    def __rpow__(self, other: Any) -> "Tensor":
        return api.pow(other, self)

    def __floordiv__(self, other: Any) -> "Tensor":
        return _late("floor_divide")(self, other)

    def __rfloordiv__(self, other: Any) -> "Tensor":
        return _late("floor_divide")(other, self)

    def __mod__(self, other: Any) -> "Tensor":
        return _late("remainder")(self, other)

    def __rmod__(self, other: Any) -> "Tensor":
        return _late("remainder")(other, self)

    def __abs__(self) -> "Tensor":
        return _late("abs")(self)

    def __invert__(self) -> "Tensor":
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) is only defined for bool and integer tensors, "
                            f"not {self._data.dtype}")
        return _core.make_tensor(np.invert(self._data))

    def __pos__(self) -> "Tensor":
        return self

    if TYPE_CHECKING:
        # TensorBase's (C): an int into a 1-d float64 tensor is built in the core, the
        # rest goes to api.getitem (registered below by set_operator_ops)
        def __getitem__(self, index: Any) -> "Tensor": ...

    def __setitem__(self, index: Any, value: Any) -> None:
        api.setitem(self, index, value)

    def __iadd__(self, other: Any) -> "Tensor":
        return apply_inplace(self, api.add(self, other), "add_")

    def __isub__(self, other: Any) -> "Tensor":
        return apply_inplace(self, api.sub(self, other), "sub_")

    def __imul__(self, other: Any) -> "Tensor":
        return apply_inplace(self, api.mul(self, other), "mul_")

    def __itruediv__(self, other: Any) -> "Tensor":
        return apply_inplace(self, api.div(self, other), "div_")

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return api.eq(self, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return api.ne(self, other)

    def __lt__(self, other: Any) -> "Tensor":
        return api.lt(self, other)

    def __le__(self, other: Any) -> "Tensor":
        return api.le(self, other)

    def __gt__(self, other: Any) -> "Tensor":
        return api.gt(self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return api.ge(self, other)

    # -- in-place methods ----------------------------------------------------
    def add_(self, other: Any, alpha: float = 1) -> "Tensor":
        """In-place ``self += alpha * other``.

        >>> import autodiff as ad
        >>> t = ad.tensor([1.0, 2.0])
        >>> t.add_(ad.tensor([1.0, 1.0]), alpha=10)
        tensor([11., 12.])
        """
        return apply_inplace(self, api.add(self, other if alpha == 1 else api.mul(other, alpha)),
                             "add_")

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """In-place ``self -= alpha * other``.

        >>> import autodiff as ad
        >>> t = ad.tensor([1.0, 2.0])
        >>> t.sub_(0.5)
        tensor([0.5, 1.5])
        """
        return apply_inplace(self, api.sub(self, other if alpha == 1 else api.mul(other, alpha)),
                             "sub_")

    def mul_(self, other: Any) -> "Tensor":
        """In-place ``self *= other``.

        >>> import autodiff as ad
        >>> t = ad.tensor([1.0, 2.0])
        >>> t.mul_(3)
        tensor([3., 6.])
        """
        return apply_inplace(self, api.mul(self, other), "mul_")

    def div_(self, other: Any) -> "Tensor":
        """In-place ``self /= other``.

        >>> import autodiff as ad
        >>> t = ad.tensor([1.0, 2.0])
        >>> t.div_(4)
        tensor([0.25, 0.5 ])
        """
        return apply_inplace(self, api.div(self, other), "div_")

    def zero_(self) -> "Tensor":
        """Fill with zeros in place.

        >>> import autodiff as ad
        >>> ad.ones(3).zero_()
        tensor([0., 0., 0.])
        """
        return self.fill_(0)

    def fill_(self, value: Any) -> "Tensor":
        """Fill with ``value`` in place (a tensor value keeps its gradient).

        >>> import autodiff as ad
        >>> ad.zeros(3).fill_(7.0)
        tensor([7., 7., 7.])
        """
        _check_fits(self, value, "fill_")
        return apply_inplace(self, api.full_like_of(self, value), "fill_", overwrite=True)

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src`` (broadcast) into this tensor in place; gradient flows to ``src``.

        >>> import autodiff as ad
        >>> src = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> t = ad.zeros((2, 2)).copy_(src)
        >>> t
        tensor([[1., 2.],
                [1., 2.]], grad_fn=<CopyBackwards>)
        >>> t.sum().backward()
        >>> src.grad
        tensor([2., 2.])
        """
        _check_fits(self, src, "copy_")
        return apply_inplace(self, api.copy_from(self, src), "copy_", overwrite=True)

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradient flows back to this tensor.

        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> y = x.clone()
        >>> y
        tensor([1., 2.], grad_fn=<CloneBackward0>)
        >>> (y * y).sum().backward()
        >>> x.grad
        tensor([2., 4.])
        """
        return api.clone(self)

    # -- methods shared with the module-level functions ------------------------
    def astype(self, dtype: Any) -> "Tensor":
        """Cast to ``dtype`` (differentiable between float dtypes).

        >>> import autodiff as ad
        >>> import numpy as np
        >>> ad.tensor([1.5, 2.5]).astype(np.float32)
        tensor([1.5, 2.5], dtype=float32)
        """
        return api.astype(self, dtype)

    def double(self) -> "Tensor":
        """Cast to float64.

        >>> import autodiff as ad
        >>> ad.tensor([1, 2]).double()
        tensor([1., 2.])
        """
        return api.astype(self, np.float64)

    def float(self) -> "Tensor":
        """Cast to float32.

        >>> import autodiff as ad
        >>> ad.tensor([1.0, 2.0]).float()
        tensor([1., 2.], dtype=float32)
        """
        return api.astype(self, np.float32)

    @property
    def T(self) -> "Tensor":
        """The tensor with its axes reversed.

        >>> import autodiff as ad
        >>> ad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).T
        tensor([[1., 4.],
                [2., 5.],
                [3., 6.]])
        """
        return _api_array.permute(self, tuple(reversed(range(self._data.ndim))))

    def expand(self, *shape: Any) -> "Tensor":
        """Broadcast to ``shape`` without copying.

        >>> import autodiff as ad
        >>> ad.tensor([[1.0], [2.0]]).expand(2, 3)
        tensor([[1., 1., 1.],
                [2., 2., 2.]])
        """
        return _api_array.expand(self, *shape)

    def view(self, *shape: Any) -> "Tensor":
        """Reshape (alias of ``reshape``); ``-1`` infers one dimension.

        >>> import autodiff as ad
        >>> ad.arange(6.0).view(2, -1)
        tensor([[0., 1., 2.],
                [3., 4., 5.]])
        """
        return _api_array.reshape(self, *shape)

    if TYPE_CHECKING:
        # Installed at import by _install_methods(); declared here for type checkers.
        sum = api.sum
        mean = api.mean
        exp = api.exp
        log = api.log
        sin = api.sin
        cos = api.cos
        tanh = api.tanh
        sigmoid = api.sigmoid
        relu = api.relu
        neg = api.neg
        matmul = api.matmul
        pow = api.pow
        abs = api.abs
        sqrt = api.sqrt
        max = api.max
        min = api.min
        var = api.var
        std = api.std
        norm = api.norm
        reshape = _api_array.reshape
        transpose = _api_array.transpose
        permute = _api_array.permute
        squeeze = _api_array.squeeze
        unsqueeze = _api_array.unsqueeze
        flatten = _api_array.flatten


_VALUE_ONLY_FUNCTIONS = frozenset(
    getattr(np, name) for name in (
        "array_equal", "array_equiv", "allclose", "shape", "ndim", "size", "result_type",
        "may_share_memory", "shares_memory", "iscomplexobj", "isrealobj", "count_nonzero",
        "argwhere", "flatnonzero", "nonzero", "searchsorted", "array_repr", "array_str",
    ) if hasattr(np, name))


def _unwrap(x: Any) -> Any:
    """Replace Tensors by their arrays inside (nested) lists, tuples and dicts."""
    if isinstance(x, _core.TensorBase):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _late(name: str) -> Callable:
    """The public op ``name``, looked up at call time (ops may be registered later)."""
    import autodiff
    fn = getattr(autodiff, name, None)
    if fn is None:
        raise TypeError(f"autodiff.{name} is not implemented yet")
    return fn


def apply_inplace(target: Tensor, result: Any, op_name: str, overwrite: bool = False) -> Tensor:
    """Write ``result`` into ``target``'s memory and make ``target`` its output.

    The version counter is bumped so that a node that saved ``target`` before
    refuses to run backward with the changed values; a node of this very op
    that needs ``target``'s old value gets a copy of it. ``overwrite``: the new
    values do not depend on the old ones (copy_, fill_).
    """
    grad_on = _core.is_grad_enabled()
    if not isinstance(result, _core.TensorBase):
        result = _core.make_tensor(np.asarray(result))
    if result.shape != target.shape:
        _shape_error(target.shape, result.shape, op_name)
    _core.sync_view(target)
    if grad_on and target._grad_fn is None and target._requires_grad:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                           f"operation ({op_name}); wrap it in `with ad.no_grad():` or use "
                           "an out-of-place op")
    _keep_old_value(target, result)
    # a history (reverse mode) or a tangent (forward mode, whatever the grad mode)
    target_grad = grad_on and target._requires_grad
    result_grad = grad_on and result._requires_grad
    target_dual = target._fw_tangent is not None
    result_dual = result._fw_tangent is not None
    if target._base is not None and (target_grad or result_grad or (
            (target_dual or result_dual) and target._view_of[1] is not _ALIAS)):
        # (make_dual's tensor is a view of its primal, not a forward-mode view: as in
        # PyTorch, the primal does not take the tangent of a write)
        return _inplace_through_view(target, result, op_name)
    if ((overwrite and (target_grad or target_dual)) or (target_grad and not result_grad)
            or (target_dual and not result_dual)):
        # the new values do not depend on the old ones: the old history gets a zero
        # gradient (not its old one, nor None: PyTorch's CopyBackwards keeps it), the
        # tangent becomes zero (not the old one)
        result = where(np.ones(target.shape, dtype=bool), result, target)
    arr = _writable(target, op_name)
    try:
        np.copyto(arr, result._data, casting="same_kind")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{op_name}: cannot write a result of shape {result.shape} and dtype "
                        f"{result.dtype} into a tensor of shape {target.shape} and dtype "
                        f"{target.dtype} ({exc})") from None
    counter = target._version_counter
    counter.value += 1
    if result._requires_grad and grad_on:
        target._grad_fn = result._grad_fn
        target._output_nr = result._output_nr
        target._requires_grad = True
        counter.grad_writes += 1     # views made before now derive their history again
    tangent = result._fw_tangent
    if tangent is not None:
        target._fw_tangent = tangent
        counter.grad_writes += 1     # ... and their tangent
    return target


def _shape_error(shape: tuple, broadcast: tuple, op_name: str) -> None:
    raise RuntimeError(f"{op_name}: output with shape {shape} doesn't match the broadcast "
                       f"shape {broadcast}; an in-place op writes into its tensor and cannot "
                       "change its shape (use the out-of-place op)")


def _check_fits(target: Tensor, value: Any, op_name: str) -> None:
    """``value`` must broadcast to ``target``'s shape (copy_, fill_)."""
    broadcast = _broadcast_shape(tuple(np.shape(value)), target.shape)
    if broadcast != target.shape:
        _shape_error(target.shape, broadcast, op_name)


def _broadcast_shape(shape: tuple, other: tuple) -> tuple:
    """NumPy's broadcast of two shapes, or ``shape`` if they do not broadcast
    (np.broadcast_shapes stops at 32 dimensions, tensors go to 64)."""
    n = max(len(shape), len(other))
    out = []
    for a, b in zip((1,) * (n - len(shape)) + shape, (1,) * (n - len(other)) + other):
        if a != b and a != 1 and b != 1:
            return shape
        out.append(b if a == 1 else a)
    return tuple(out)


def _overlaps(arr: np.ndarray) -> bool:
    """Whether two elements of ``arr`` share memory (a broadcast: a stride 0; NumPy makes
    broadcasts read-only, and _writable never lifts that from one that overlaps)."""
    return (not arr.flags.writeable and arr.size > 1
            and any(s == 0 and n > 1 for n, s in zip(arr.shape, arr.strides)))


def _overlap_error(arr: np.ndarray, op_name: str) -> None:
    raise RuntimeError(f"{op_name}: more than one element of the written tensor refers to a "
                       f"single memory location (an expand or broadcast view of shape "
                       f"{arr.shape}); clone() it first")


def _writable(target: Tensor, op_name: str) -> np.ndarray:
    arr = target._array()
    if arr.flags.writeable:
        return arr
    if arr.size == 0:
        # nothing is written (NumPy's empty results may be read-only: a broadcast, or the
        # input itself): a stand-in takes the write, with its dtype checks
        return np.empty(arr.shape, arr.dtype)
    if _overlaps(arr):
        _overlap_error(arr, op_name)
    if target._base is not None:
        # NumPy makes every broadcast_to and diagonal read-only; this view writes each
        # element of its memory once (an expand that broadcasts nothing), as in PyTorch.
        # NumPy refuses when the memory itself is read-only.
        try:
            arr.flags.writeable = True
            return arr
        except ValueError:
            pass
    raise RuntimeError(f"{op_name}: the tensor's memory is read-only; clone() it first")


def _keep_old_value(target: Tensor, result: Tensor) -> None:
    """Give the node that computed ``result`` a copy of ``target`` where it saved it:
    the write is about to change the saved values."""
    node = result._grad_fn
    if node is None or not isinstance(node, _core.OpNode) or node.saved_tensors_ is None:
        return
    saved = list(node.saved_tensors_)
    if not any(s is target for s in saved):
        return
    old = _core.make_tensor(target._data.copy())
    old._grad_fn = target._grad_fn
    old._output_nr = target._output_nr
    old._requires_grad = target._requires_grad
    data = list(node.saved_data)
    versions = list(node.saved_versions)
    for i, s in enumerate(saved):
        if s is target:
            saved[i], data[i], versions[i] = old, old._data, 0
    node.saved_tensors_, node.saved_data = tuple(saved), tuple(data)
    node.saved_versions = tuple(versions)


def _inplace_through_view(view: Tensor, result: Any, op_name: str) -> Tensor:
    """In-place on a view of ``source``: record ``source[index] = result`` on the source
    (PyTorch's CopySlices), ``index`` picking the view's elements; the view then derives
    its history from the source's new one."""
    _writable(view, op_name)
    source, spec, params = view._view_of
    if spec is _GETITEM:
        api.setitem(source, params[0], result)  # writes the shared memory, bumps the version
    else:
        _write_at(source, _source_positions(view), result)
    _core.sync_view(view)
    return view


def write_item(target: Tensor, index: Any, value: Any) -> None:
    """``target[index] = value`` (``index`` in NumPy's form), in place."""
    if target._base is not None and _overlaps(target._array()):
        # an expand written at some of its elements (PyTorch slices it, then copies):
        # allowed if no two of them share memory, written through the expand's source
        positions = _source_positions(target)[_index.view_key(index)]
        if np.unique(positions).size != positions.size:
            _overlap_error(target._array(), "index_put_")
        _write_at(target._view_of[0], positions, value)
        _core.sync_view(target)
        return
    apply_inplace(target, _index.index_put(target, value, index), "index_put_")


def _source_positions(view: Tensor) -> np.ndarray:
    """The flat position in the view's source of each of the view's elements: the view
    op applied to the positions."""
    source, spec, params = view._view_of
    return spec.forward(np.arange(source.numel()).reshape(source.shape), *params)


def _write_at(source: Tensor, positions: np.ndarray, value: Any) -> None:
    """``source``'s elements at flat ``positions`` set to ``value``, in place."""
    if source.ndim == 0:
        # unravel_index has no 0-d form: a 0-d bool key selects the one element (or none)
        api.setitem(source, np.array(positions.size > 0), _api_array.reshape(value, -1))
    else:
        api.setitem(source, np.unravel_index(positions, source.shape), value)


# The docstring example of each generated in-place method: (input, arguments, printed
# result). The results are written out, not computed, so that the doctests check them;
# a new in-place method without an entry fails tests/test_api_docstrings.py.
_INPLACE_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "abs_": ("[-1.5, 2.0]", "", 'tensor([1.5, 2. ])'),
    "acos_": ("[0.0, 1.0]", "", 'tensor([1.57079633, 0.        ])'),
    "acosh_": ("[1.0, 2.0]", "", 'tensor([0.       , 1.3169579])'),
    "arccos_": ("[0.0, 1.0]", "", 'tensor([1.57079633, 0.        ])'),
    "arccosh_": ("[1.0, 2.0]", "", 'tensor([0.       , 1.3169579])'),
    "arcsin_": ("[0.0, 1.0]", "", 'tensor([0.        , 1.57079633])'),
    "arcsinh_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.88137359])'),
    "arctan_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.78539816])'),
    "arctanh_": ("[0.0, 0.5]", "", 'tensor([0.        , 0.54930614])'),
    "asin_": ("[0.0, 1.0]", "", 'tensor([0.        , 1.57079633])'),
    "asinh_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.88137359])'),
    "atan_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.78539816])'),
    "atanh_": ("[0.0, 0.5]", "", 'tensor([0.        , 0.54930614])'),
    "ceil_": ("[-1.5, 2.5]", "", 'tensor([-1.,  3.])'),
    "clamp_": ("[-1.5, 0.5, 2.5]", "0.0, 1.0", 'tensor([0. , 0.5, 1. ])'),
    "clamp_max_": ("[0.5, 2.5]", "1.0", 'tensor([0.5, 1. ])'),
    "clamp_min_": ("[-1.5, 0.5]", "0.0", 'tensor([0. , 0.5])'),
    "clip_": ("[-1.5, 0.5, 2.5]", "0.0, 1.0", 'tensor([0. , 0.5, 1. ])'),
    "cos_": ("[0.0, 1.0]", "", 'tensor([1.        , 0.54030231])'),
    "cosh_": ("[0.0, 1.0]", "", 'tensor([1.        , 1.54308063])'),
    "cumprod_": ("[1.0, 2.0, 3.0]", "0", 'tensor([1., 2., 6.])'),
    "cumsum_": ("[1.0, 2.0, 3.0]", "0", 'tensor([1., 3., 6.])'),
    "erf_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.84270079])'),
    "exp_": ("[0.0, 1.0]", "", 'tensor([1.        , 2.71828183])'),
    "expm1_": ("[0.0, 1.0]", "", 'tensor([0.        , 1.71828183])'),
    "floor_": ("[-1.5, 2.5]", "", 'tensor([-2.,  2.])'),
    "floor_divide_": ("[-1.5, 2.5]", "2.0", 'tensor([-1.,  1.])'),
    "log10_": ("[1.0, 100.0]", "", 'tensor([0., 2.])'),
    "log1p_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.69314718])'),
    "log2_": ("[1.0, 8.0]", "", 'tensor([0., 3.])'),
    "log_": ("[1.0, 2.0]", "", 'tensor([0.        , 0.69314718])'),
    "neg_": ("[-1.5, 2.0]", "", 'tensor([ 1.5, -2. ])'),
    "pow_": ("[2.0, 3.0]", "2", 'tensor([4., 9.])'),
    "reciprocal_": ("[2.0, 4.0]", "", 'tensor([0.5 , 0.25])'),
    "relu_": ("[-1.5, 2.0]", "", 'tensor([0., 2.])'),
    "remainder_": ("[-1.5, 2.5]", "2.0", 'tensor([0.5, 0.5])'),
    "round_": ("[-1.5, 2.5]", "", 'tensor([-2.,  2.])'),
    "rsqrt_": ("[4.0, 0.25]", "", 'tensor([0.5, 2. ])'),
    "sigmoid_": ("[0.0, 1.0]", "", 'tensor([0.5       , 0.73105858])'),
    "sign_": ("[-1.5, 0.0, 2.0]", "", 'tensor([-1.,  0.,  1.])'),
    "sin_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.84147098])'),
    "sinh_": ("[0.0, 1.0]", "", 'tensor([0.        , 1.17520119])'),
    "sqrt_": ("[4.0, 9.0]", "", 'tensor([2., 3.])'),
    "square_": ("[2.0, 3.0]", "", 'tensor([4., 9.])'),
    "tan_": ("[0.0, 1.0]", "", 'tensor([0.        , 1.55740772])'),
    "tanh_": ("[0.0, 1.0]", "", 'tensor([0.        , 0.76159416])'),
    "tril_": ("[[1.0, 2.0], [3.0, 4.0]]", "", 'tensor([[1., 0.],\n        [3., 4.]])'),
    "triu_": ("[[1.0, 2.0], [3.0, 4.0]]", "", 'tensor([[1., 2.],\n        [0., 4.]])'),
    "trunc_": ("[-1.5, 2.5]", "", 'tensor([-1.,  2.])'),
}


def _inplace_doc(name: str, fn: Callable) -> str:
    doc = f"In-place version of ``{fn.__name__}``: writes the result into self and returns self."
    example = _INPLACE_EXAMPLES.get(name)
    if example is None:
        return doc
    data, args, result = example
    return (f"{doc}\n\n>>> import autodiff as ad\n>>> t = ad.tensor({data})\n"
            f">>> t.{name}({args})\n{result}\n")


def _inplace_method(name: str, fn: Callable) -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace(self, fn(self, *args, **kwargs), name)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = _inplace_doc(name, fn)
    return method


def _install_methods() -> None:
    """Tensor methods that are the module-level functions with ``self`` first."""
    from . import _api_array
    for module in (api, _api_array):
        for name in module.TENSOR_METHODS:
            if name not in Tensor.__dict__:
                setattr(Tensor, name, getattr(module, name))
        for name, fn in module.INPLACE_METHODS.items():
            if name not in Tensor.__dict__:
                setattr(Tensor, name, _inplace_method(name, fn))


def _rebuild_tensor(data: np.ndarray, requires_grad: bool) -> "Tensor":
    return _core.make_tensor(data, requires_grad)


def _reduce(self: Tensor) -> tuple:
    if self._grad_fn is not None:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                           "the deepcopy/pickle protocol; detach() it first")
    return (_rebuild_tensor, (self._array(), bool(self._requires_grad)))


def _deepcopy(self: Tensor, memo: dict) -> Tensor:
    if self._grad_fn is not None:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                           "the deepcopy protocol at the moment; detach() it first")
    t = _core.make_tensor(self._array().copy(), bool(self._requires_grad))
    if self._grad is not None:
        t._grad = _core.make_tensor(self._grad._array().copy())
    memo[id(self)] = t
    return t


Tensor.__reduce__ = _reduce  # type: ignore[assignment]
Tensor.__deepcopy__ = _deepcopy  # type: ignore[attr-defined]
# The same class, re-created so that its instances start untracked by the cyclic GC
# (a live graph of 1e5 tensors made every GC pass walk them all); the core tracks
# a tensor once a hook, a ctx or a .grad may close a cycle through it. Subclasses
# (nn.Parameter) are ordinary classes: tracked, with a __dict__.
Tensor = _core.untracked_subclass("autodiff.Tensor", _core.TensorBase,  # type: ignore[misc]
                                  dict(Tensor.__dict__))
_install_methods()
_core.set_tensor_class(Tensor)
_core.set_operator_ops(binary.add.spec, binary.sub.spec, binary.mul.spec, binary.div.spec,
                       elementwise.neg.spec, linalg.matmul.spec, api.getitem)

# doctest skips classes whose __module__ is not the module it scans (Tensor's is "autodiff")
# and, scanning ``autodiff``, skips methods defined here: name the class so that the
# examples of Tensor's own methods and properties run. doctest never looks inside the
# compiled core's properties (getset descriptors): their docstrings are listed here too.
__test__ = {"Tensor": Tensor}
__test__.update({f"TensorBase.{name}": getattr(_core.TensorBase, name).__doc__ or ""
                 for name in ("grad", "grad_fn", "is_leaf")})
