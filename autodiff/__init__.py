"""autodiff: PyTorch's autograd, forward and reverse mode, on NumPy arrays.

>>> import autodiff as ad
>>> x = ad.tensor(2.0, requires_grad=True)
>>> (x ** 3).backward()
>>> x.grad
tensor(12.)
"""
from __future__ import annotations

__version__ = "0.1.0"


def _shadowed_install():
    """The folder of another autodiff on sys.path when this one is a source folder
    without a compiled core (imported first because the current directory is the
    checkout), else None."""
    import importlib.machinery
    import os
    import sys

    here = os.path.dirname(os.path.realpath(__file__))
    if any(os.path.exists(os.path.join(here, "_core" + suffix))
           for suffix in importlib.machinery.EXTENSION_SUFFIXES):
        return None     # built here: a build problem, not a shadowed install
    parent = os.path.dirname(here)
    others = [p for p in sys.path if os.path.realpath(p or os.curdir) != parent]
    spec = importlib.machinery.PathFinder.find_spec(__name__, others)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _load_core():
    """Import the compiled engine; fail with the build command if missing or stale."""
    import hashlib
    import os

    how = ("Build it with `pip install .` (or, in a source checkout, "
           "`python setup.py build_ext --inplace`).")
    try:
        from . import _core
    except ImportError as exc:
        installed = _shadowed_install()
        if installed is not None:
            raise ImportError(
                f"autodiff: Python imported the source folder {os.path.dirname(__file__)}, "
                f"which has no compiled core (autodiff/_core), instead of the autodiff "
                f"installed at {installed}: the current directory comes first on sys.path "
                "and its unbuilt autodiff/ shadows the installed package. Run Python from "
                "another directory to use the installed autodiff, or build this checkout in "
                "place with `python setup.py build_ext --inplace` (or `pip install -e .`)."
            ) from None
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
