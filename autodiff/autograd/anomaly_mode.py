"""``detect_anomaly``: NaN/inf produced in backward raises, naming the forward op."""
from __future__ import annotations

import traceback
from typing import Any

from .. import _core


def _capture() -> str:
    return "".join(traceback.format_stack()[:-3])


_core.set_anomaly_capture(_capture)


class detect_anomaly:
    """Context manager (and decorator) that checks every backward result for NaN/inf.

    >>> import autodiff as ad
    >>> x = ad.tensor(0.0, requires_grad=True)
    >>> with ad.autograd.detect_anomaly():
    ...     y = ad.sqrt(x) if hasattr(ad, "sqrt") else x ** 0.5
    ...     try:
    ...         y.backward()
    ...     except RuntimeError as e:
    ...         print("nan" in str(e))
    True
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        state = _core.thread_state()
        self._prev.append(state.anomaly)
        state.anomaly = self.check_nan

    def __exit__(self, *exc: Any) -> None:
        _core.thread_state().anomaly = self._prev.pop()

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly detection on or off for this thread."""
    _core.thread_state().anomaly = bool(mode)
