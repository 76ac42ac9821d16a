"""``detect_anomaly``: NaN/inf produced in backward raises, naming the forward op."""
from __future__ import annotations

import os
import traceback
from typing import Any

from .. import _core


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _capture() -> str:
    """The user's part of the current stack (frames inside autodiff are left out)."""
    frames = [f for f in traceback.extract_stack()
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR + os.sep)]
    return "".join(traceback.format_list(frames))


_core.set_anomaly_capture(_capture)


class detect_anomaly:
    """Context manager (and decorator) that checks every backward result for NaN/inf.

    >>> import autodiff as ad
    >>> w = ad.tensor([1.0, float("nan")])        # a NaN in the data
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> with ad.autograd.detect_anomaly():
    ...     y = (x * w).sum()
    ...     try:
    ...         y.backward()
    ...     except RuntimeError as err:
    ...         print(str(err).splitlines()[0])
    Function 'MulBackward0' returned nan or inf values in its output.
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
    """Turn anomaly detection on or off for this thread.

    >>> import autodiff as ad
    >>> ad.autograd.set_detect_anomaly(True)
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> try:
    ...     (x * ad.tensor([1.0, float("nan")])).sum().backward()
    ... except RuntimeError as err:
    ...     print(str(err).splitlines()[0])
    Function 'MulBackward0' returned nan or inf values in its output.
    >>> ad.autograd.set_detect_anomaly(False)
    """
    _core.thread_state().anomaly = bool(mode)
