"""autodiff: PyTorch's autograd, forward and reverse mode, on NumPy arrays.

>>> import autodiff as ad
>>> x = ad.tensor(2.0, requires_grad=True)
>>> (x ** 3).backward()
>>> x.grad
tensor(12.)
"""
from __future__ import annotations

__version__ = "0.1.0"


def _load_core():
    """Import the compiled engine; fail with the build command if missing or stale."""
    import hashlib
    import os

    how = ("Build it with `pip install .` (or, in a source checkout, "
           "`python setup.py build_ext --inplace`).")
    try:
        from . import _core
    except ImportError as exc:
        raise ImportError(f"autodiff's compiled core (autodiff/_core) is missing or was built "
                          f"for another Python/NumPy: {exc}. {how}") from None
    src = os.path.join(os.path.dirname(__file__), "_core.pyx")
    if os.path.exists(src):
        with open(src, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        if digest != _core.SOURCE_HASH:
            raise ImportError("autodiff's compiled core is stale: autodiff/_core.pyx changed "
                              f"since the extension was built. {how}")
    return _core


_core = _load_core()

from . import ops  # noqa: E402  (registers every op)
from .tensor import Tensor  # noqa: E402
from . import _api, _api_array  # noqa: E402
from ._api import *  # noqa: E402,F401,F403
from ._api_array import *  # noqa: E402,F401,F403  (after _api: its shape functions win)
from .creation import (  # noqa: E402
    arange, empty, eye, from_numpy, full, full_like, linspace, manual_seed, ones, ones_like,
    rand, rand_like, randn, randn_like, tensor, zeros, zeros_like,
)
from . import autograd, func, linalg, nn, optim  # noqa: E402
from .autograd.grad_mode import (  # noqa: E402
    enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled,
)
from numpy import float32, float64  # noqa: E402

__all__ = [
    "Tensor", "arange", "empty", "eye", "from_numpy", "full", "full_like", "linspace",
    "manual_seed", "ones", "ones_like", "rand", "rand_like", "randn", "randn_like", "tensor",
    "zeros", "zeros_like", "autograd", "func", "linalg", "nn", "optim", "enable_grad",
    "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled", "float32", "float64",
]
__all__ += _api.__all__
__all__ += _api_array.__all__
