"""Custom ops: subclass ``Function`` with static ``forward(ctx, ...)`` and ``backward(ctx, ...)``."""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .. import _core


class FunctionCtx:
    """The ``ctx`` passed to a custom Function's forward, backward and jvp.

    >>> import autodiff as ad
    >>> class Square(ad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         print(type(ctx).__name__, ctx.needs_input_grad)
    ...         return 2 * x * grad
    >>> x = ad.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    FunctionCtx (True,)
    >>> x.grad
    tensor([6.])
    """

    def __init__(self) -> None:
        self.to_save: tuple = ()
        self._saved: tuple | None = None
        self._saved_versions: tuple = ()
        self._freed = False
        self.needs_input_grad: tuple = ()
        self.non_differentiable: set = set()
        self.materialize_grads = True
        self.dirty: tuple = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward`` (read back as ``ctx.saved_tensors``)."""
        self.to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep tensors for ``jvp``."""
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked for in-place changes."""
        if self._freed:
            raise RuntimeError("Trying to backward through the graph a second time (or "
                               "directly access saved tensors after they have already been "
                               "freed). Specify retain_graph=True if you need to backward "
                               "through the graph a second time.")
        if self._saved is None:
            return ()
        for t, v in zip(self._saved, self._saved_versions):
            if isinstance(t, _core.TensorBase) and t._version != v:
                raise RuntimeError("one of the variables needed for gradient computation has "
                                   "been modified by an inplace operation: [Tensor of shape "
                                   f"{t.shape}] is at version {t._version}; expected "
                                   f"version {v} instead.")
        return self._saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that get no gradient (e.g. indices)."""
        self.non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors: Any) -> None:
        """Inputs modified in place by forward."""
        self.dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """If False, undefined output gradients reach backward as None instead of zeros."""
        self.materialize_grads = bool(value)

    def _free_saved(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True

    def _has_saved(self) -> bool:
        return self._freed


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(f"{name}Backward", (_core.FunctionNode,),
                                 {"__module__": "autodiff.graph"})


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable ops.

    >>> import autodiff as ad
    >>> class MulConstant(ad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, tensor, constant):
    ...         ctx.constant = constant
    ...         return tensor * constant
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         return grad_output * ctx.constant, None
    >>> a = ad.ones(2, requires_grad=True)
    >>> MulConstant.apply(a, 5).sum().backward()
    >>> a.grad
    tensor([5., 5.])
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording, then attach a node that calls ``backward``."""
        from ..tensor import Tensor
        ctx = FunctionCtx()
        tensor_args = [a if isinstance(a, _core.TensorBase) else None for a in args]
        for t in tensor_args:
            if t is not None:
                _core.sync_view(t)    # a view made before an in-place write follows it
        grad_on = _core.is_grad_enabled()
        needs = tuple(bool(t is not None and t._requires_grad) for t in tensor_args)
        ctx.needs_input_grad = needs
        record = grad_on and any(needs)
        state = _core.thread_state()
        tangents = [t._fw_tangent if t is not None else None for t in tensor_args]
        fw = state.fw_level != 0 and any(x is not None for x in tangents)
        prev = _core.is_grad_enabled()
        _core.set_grad_enabled_flag(False)
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            _core.set_grad_enabled_flag(prev)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        results = []
        for o in outs:
            if isinstance(o, _core.TensorBase):
                # a fresh Tensor object: inputs returned as-is must not be rebased
                r = _core.make_tensor(o._data)
                r._version_counter = o._version_counter
            elif isinstance(o, np.ndarray) or np.isscalar(o):
                r = _core.make_tensor(np.asarray(o))
            else:
                r = o
            results.append(r)
        saved = ctx.to_save
        ctx._saved = tuple(saved) if saved else None
        ctx._saved_versions = tuple(t._version if isinstance(t, _core.TensorBase) else 0
                                    for t in saved)
        if record:
            node = cls._backward_cls.__new__(cls._backward_cls)
            nodes, idx = [], []
            for t, need in zip(tensor_args, needs):
                if need:
                    node_t, k = (t._grad_fn, t._output_nr) if t._grad_fn is not None else (
                        _core.grad_accumulator(t), 0)
                    nodes.append(node_t)
                    idx.append(k)
                else:
                    nodes.append(None)
                    idx.append(0)
            node.next_nodes = tuple(nodes)
            node.next_indices = tuple(idx)
            node.ctx = ctx
            node.function_cls = cls
            node.in_shapes = tuple(tuple(np.shape(a._data if isinstance(a, _core.TensorBase) else a))
                                   for a in args)
            node.in_dtypes = tuple(a._data.dtype if isinstance(a, _core.TensorBase) else None
                                   for a in args)
            tensor_results = [r for r in results if isinstance(r, _core.TensorBase)]
            node.num_outputs = len(results)
            node.out_shapes = tuple(tuple(r.shape) if isinstance(r, _core.TensorBase) else ()
                                    for r in results)
            node.out_dtypes = tuple(r.dtype if isinstance(r, _core.TensorBase) else np.float64
                                    for r in results)
            for k, (r, o) in enumerate(zip(results, outs)):
                if not isinstance(r, _core.TensorBase) or id(o) in ctx.non_differentiable:
                    continue
                if r._data.dtype.kind == "c":
                    raise RuntimeError(f"{cls.__name__}.forward returned a result of dtype "
                                       f"{r._data.dtype}, and complex autograd is not "
                                       "supported yet; mark it non-differentiable or keep "
                                       "the outputs real")
                if r._data.dtype.kind == "f":
                    r._grad_fn = node
                    r._output_nr = k
                    r._requires_grad = True
                    _core.track(r)      # its node (a GC object) holds ctx, which may hold r
            del tensor_results
        if fw:
            # the user's jvp sees Tensors, as in PyTorch
            tans = cls.jvp(ctx, *[t if t is None or isinstance(t, _core.TensorBase)
                                  else _core.make_tensor(np.asarray(t)) for t in tangents])
            tans = (tans,) if not isinstance(tans, tuple) else tans
            if len(tans) != len(results):
                raise RuntimeError(f"{cls.__name__}.jvp returned an invalid number of forward "
                                   f"gradients (expected {len(results)} but got {len(tans)})")
            for k, (r, tg) in enumerate(zip(results, tans)):
                if isinstance(r, _core.TensorBase) and tg is not None:
                    r._fw_tangent = _checked_tangent(cls, k, r, tg, state.fw_batch)
        return results[0] if single else tuple(results)


def _checked_tangent(cls: type, k: int, out: Any, tangent: Any, batch: int) -> Any:
    """What ``cls.jvp`` returned for output ``k``: a Tensor (or ndarray) of the output's
    shape (after ``batch`` leading batch axes), cast to its dtype, in the layout the
    compiled loops read."""
    if isinstance(tangent, _core.TensorBase):
        data = tangent._data
    elif isinstance(tangent, (np.ndarray, np.generic)):
        data = tangent
    else:
        raise TypeError(f"{cls.__name__}.jvp returned a {type(tangent).__name__} for output "
                        f"{k}: jvp returns a Tensor (or an ndarray) or None per output")
    dtype = out._data.dtype
    if data.dtype.kind not in "biufc" or (data.dtype.kind == "c" and dtype.kind != "c"):
        raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of dtype {data.dtype} for "
                           f"output {k} of dtype {dtype}")
    if tuple(np.shape(data))[batch:] != tuple(out.shape) or np.ndim(data) < batch:
        raise RuntimeError(f"{cls.__name__}.jvp returned a tangent of shape "
                           f"{tuple(np.shape(data))} for output {k} of shape {tuple(out.shape)}")
    if isinstance(tangent, _core.TensorBase) and tangent._requires_grad:
        # a tangent with a graph of its own stays a Tensor (differentiable cast)
        return tangent if _core.same_dtype(data.dtype, dtype) else tangent.astype(dtype)
    return _core.native_array(data, dtype)


def once_differentiable(fn: Callable) -> Callable:
    """Mark a ``backward`` as not differentiable again: it runs without recording.

    >>> import autodiff as ad
    >>> from autodiff.autograd.function import once_differentiable
    >>> class Exp(ad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = ad.exp(x)
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     @once_differentiable
    ...     def backward(ctx, grad):
    ...         (y,) = ctx.saved_tensors
    ...         return grad * y
    >>> x = ad.tensor([0.0, 1.0], requires_grad=True)
    >>> Exp.apply(x).sum().backward()
    >>> x.grad
    tensor([1.        , 2.71828183])
    """
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        from .grad_mode import no_grad
        with no_grad():
            return fn(ctx, *args)
    return wrapper
