"""Forward-mode AD: dual tensors carry a tangent through every op by its JVP rule.

>>> import autodiff as ad
>>> import autodiff.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 0.0]))
...     fwAD.unpack_dual(x * x).tangent
tensor([2., 0.])
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, NamedTuple

import numpy as np

from .. import _core


__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level",
           "exit_dual_level"]


class UnpackedDualTensor(NamedTuple):
    """``(primal, tangent)`` of a dual tensor, as returned by ``unpack_dual``.

    >>> import autodiff as ad
    >>> import autodiff.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     primal, tangent = fwAD.unpack_dual(fwAD.make_dual(ad.ones(1), ad.zeros(1)))
    >>> primal
    tensor([1.])
    """

    primal: Any
    tangent: Any


class dual_level:
    """Context in which dual tensors exist; tangents are dropped on exit.

    >>> import autodiff as ad
    >>> import autodiff.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     fwAD.unpack_dual(fwAD.make_dual(ad.ones(1), ad.ones(1)) * 3).tangent
    tensor([3.])
    """

    def __enter__(self) -> int:
        state = _core.thread_state()
        if state.fw_level != 0:
            raise RuntimeError("Nested forward mode AD is not supported at the moment")
        state.fw_level = 1
        state.fw_gen += 1          # tangents made in earlier levels are dead from now on
        self._made: list = []
        _LIVE.append(self._made)
        return 0

    def __exit__(self, *exc: Any) -> None:
        state = _core.thread_state()
        state.fw_level = 0
        for ref in _LIVE.pop():
            t = ref()
            if t is not None:
                t._fw_tangent = None


_LIVE: list = []


def enter_dual_level() -> int:
    """Open a dual level (prefer ``with dual_level():``); close it with ``exit_dual_level``.

    >>> import autodiff as ad
    >>> import autodiff.autograd.forward_ad as fwAD
    >>> fwAD.enter_dual_level()
    0
    >>> fwAD.unpack_dual(fwAD.make_dual(ad.ones(1), ad.ones(1)) * 2).tangent
    tensor([2.])
    >>> fwAD.exit_dual_level()
    """
    ctx = dual_level()
    _OPEN.append(ctx)
    return ctx.__enter__()


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the level opened by ``enter_dual_level``; tangents made in it are dropped.

    >>> import autodiff.autograd.forward_ad as fwAD
    >>> _ = fwAD.enter_dual_level()
    >>> fwAD.exit_dual_level()
    """
    _OPEN.pop().__exit__(None, None, None)


_OPEN: list = []


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A view of ``tensor`` carrying ``tangent`` (same shape) as its forward gradient.

    >>> import autodiff as ad
    >>> import autodiff.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     fwAD.unpack_dual(fwAD.make_dual(ad.ones(2), ad.zeros(2))).tangent
    tensor([0., 0.])
    """
    import weakref

    if _core.thread_state().fw_level == 0:
        raise RuntimeError("make_dual must be called inside a forward_ad.dual_level() context")
    if not isinstance(tensor, _core.TensorBase):
        tensor = _core.make_tensor(np.asarray(tensor))
    tarr = tangent._data if isinstance(tangent, _core.TensorBase) else np.asarray(tangent)
    batched = _core.thread_state().fw_batch > 0
    tshape = tuple(tarr.shape[1:]) if batched else tuple(tarr.shape)
    if tshape != tuple(np.shape(tensor._data)):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                           f"that of the original Tensor: tangent shape {tarr.shape}, tensor "
                           f"shape {np.shape(tensor._data)}"
                           + (" (a batch of tangents has one more leading axis)" if batched
                              else ""))
    for what, dtype in (("primal", tensor._data.dtype), ("tangent", tarr.dtype)):
        if dtype.kind == "c":
            raise RuntimeError(f"make_dual: the {what} has dtype {dtype}, and complex "
                               "autograd is not supported yet")
    if tensor._data.dtype.kind != "f":
        raise RuntimeError(f"make_dual: expected a floating point primal, got dtype "
                           f"{tensor._data.dtype}")
    # the dual is a view of the primal: same memory, gradients flow back to it
    from ..ops.shape import alias
    dual = alias(tensor)
    if isinstance(tangent, _core.TensorBase) and not tangent._requires_grad:
        tangent = tangent._data
    elif not isinstance(tangent, _core.TensorBase):
        tangent = tarr
    if tarr.dtype != tensor._data.dtype:
        tangent = tangent.astype(tensor._data.dtype)
    dual._fw_tangent = tangent
    _LIVE[-1].append(weakref.ref(dual))
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``; the tangent is None for a tensor without one.

    The primal is a view of ``tensor`` without the tangent; outside a dual
    level every tangent is None.

    >>> import autodiff as ad
    >>> import autodiff.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     y = ad.sin(fwAD.make_dual(ad.tensor(0.0), ad.tensor(2.0)))
    ...     fwAD.unpack_dual(y)
    UnpackedDualTensor(primal=tensor(0.), tangent=tensor(2.))
    """
    if not isinstance(tensor, _core.TensorBase):
        return UnpackedDualTensor(tensor, None)
    _core.sync_view(tensor)     # a view made before an in-place write takes its tangent
    tangent = tensor._fw_tangent if _core.thread_state().fw_level != 0 else None
    if tangent is not None and not isinstance(tangent, _core.TensorBase):
        tangent = _core.make_tensor(tangent)
    from ..ops.shape import alias
    state = _core.thread_state()
    prev, state.fw_suspended = state.fw_suspended, True
    try:
        primal = alias(tensor)
    finally:
        state.fw_suspended = prev
    return UnpackedDualTensor(primal, tangent)


@contextlib.contextmanager
def _batched_dual_level() -> Iterator[None]:
    """A dual level in which every tangent carries one leading batch axis.

    ``make_dual(x, T)`` then takes ``T`` of shape ``(B,) + x.shape`` and every
    result's tangent has shape ``(B,) + result.shape``: B directional
    derivatives in one pass (``jacfwd``, forward-over-reverse ``hessian``).
    """
    global _RULES_REGISTERED
    if not _RULES_REGISTERED:
        from ..func import _batch_rules
        _batch_rules.register()
        _RULES_REGISTERED = True
    state = _core.thread_state()
    with dual_level():
        state.fw_batch = 1
        try:
            yield
        finally:
            state.fw_batch = 0


_RULES_REGISTERED = False
