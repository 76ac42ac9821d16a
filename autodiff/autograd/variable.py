"""``Variable``: the pre-0.4 PyTorch spelling, kept so old tutorials run."""
from __future__ import annotations

from typing import Any


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
    """Return a Tensor (a new leaf sharing ``data``'s memory) with ``requires_grad``.

    >>> import autodiff as ad
    >>> v = ad.autograd.Variable(ad.ones(2), requires_grad=True)
    >>> v.requires_grad, v.is_leaf
    (True, True)
    """
    from .. import _core
    from ..creation import tensor
    if isinstance(data, _core.TensorBase):
        t = _core.make_tensor(data._data)
        if requires_grad:
            t.requires_grad_(True)
        return t
    return tensor(data, requires_grad=requires_grad)
