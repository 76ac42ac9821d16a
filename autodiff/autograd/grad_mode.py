"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager and a decorator; the flag is thread-local.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from .. import _core

F = TypeVar("F", bound=Callable[..., Any])


class _GradModeContext:
    """Base: sets the thread-local grad flag on enter and restores it on exit."""

    _flag: bool = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_core.is_grad_enabled())
        _core.set_grad_enabled_flag(self._flag)

    def __exit__(self, *exc: object) -> None:
        _core.set_grad_enabled_flag(self._prev.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__.__new__(self.__class__).__init_copy(self):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def __init_copy(self, other: "_GradModeContext") -> "_GradModeContext":
        _GradModeContext.__init__(self)
        self._flag = other._flag
        return self

    def clone(self) -> "_GradModeContext":
        return self.__class__.__new__(self.__class__).__init_copy(self)


class _NoParamGradMode(_GradModeContext):
    """A grad mode that is also usable bare as a decorator (``@ad.no_grad``), as in PyTorch."""

    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func: Callable[..., Any] | None = None) -> None:
        super().__init__()


class no_grad(_NoParamGradMode):
    """Disable recording: results have ``requires_grad=False`` and no ``grad_fn``.

    >>> import autodiff as ad
    >>> x = ad.ones(2, requires_grad=True)
    >>> with ad.no_grad():
    ...     (x * 2).requires_grad
    False
    """

    _flag = False


class enable_grad(_NoParamGradMode):
    """Enable recording (inside ``no_grad``).

    >>> import autodiff as ad
    >>> x = ad.ones(2, requires_grad=True)
    >>> with ad.no_grad():
    ...     with ad.enable_grad():
    ...         (x * 2).requires_grad
    True
    """

    _flag = True


class set_grad_enabled(_GradModeContext):
    """Set recording on or off; works as a function, a context manager and a decorator.

    >>> import autodiff as ad
    >>> with ad.set_grad_enabled(False):
    ...     ad.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self._flag = bool(mode)
        # Like PyTorch, calling it as a plain function takes effect at once.
        self._prev.append(_core.is_grad_enabled())
        _core.set_grad_enabled_flag(self._flag)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        if self._prev:
            _core.set_grad_enabled_flag(self._prev.pop())

    def __call__(self, fn: F) -> F:  # type: ignore[override]
        # the constructor already switched the mode; undo it and apply per call
        if self._prev:
            _core.set_grad_enabled_flag(self._prev.pop())
        flag = self._flag

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _core.is_grad_enabled()
            _core.set_grad_enabled_flag(flag)
            try:
                return fn(*args, **kwargs)
            finally:
                _core.set_grad_enabled_flag(prev)
        return wrapper  # type: ignore[return-value]


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (autodiff has no separate inference tensors).

    >>> import autodiff as ad
    >>> with ad.inference_mode():
    ...     ad.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self._flag = not mode


def is_grad_enabled() -> bool:
    """True if operations are recorded on this thread.

    >>> import autodiff as ad
    >>> ad.is_grad_enabled()
    True
    """
    return _core.is_grad_enabled()
