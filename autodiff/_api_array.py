"""Public shape, indexing and linear-algebra functions (``ad.cat``, ``ad.stack``, ...).

Same conventions as ``_api``: PyTorch's names and defaults, NumPy's accepted
too; NumPy functions called on Tensors are registered here with NumPy's meaning.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .ops import index, linalg, shape
from .ops._registry import implements

# Names installed as Tensor methods.
TENSOR_METHODS: list[str] = []
# In-place Tensor methods: name -> out-of-place function (``t.foo_(...)`` writes ``foo(t, ...)`` into t).
INPLACE_METHODS: dict[str, Any] = {}
