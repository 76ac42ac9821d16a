"""Optimizer base: parameter groups, ``zero_grad``, ``state_dict``."""
from __future__ import annotations

import copy
from typing import Any, Iterable

import numpy as np

from .. import _core


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with 'params' and hyper-parameters) and ``state``.

    A subclass passes its defaults to ``__init__`` and implements ``step``:

    >>> import autodiff as ad
    >>> class PlainSGD(ad.optim.Optimizer):
    ...     def __init__(self, params, lr):
    ...         super().__init__(params, dict(lr=lr))
    ...     def step(self):
    ...         with ad.no_grad():
    ...             for group in self.param_groups:
    ...                 for p in group["params"]:
    ...                     if p.grad is not None:
    ...                         p -= group["lr"] * p.grad
    >>> w = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = PlainSGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters."""
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, _core.TensorBase) else list(ps)
        for p in group["params"]:
            if not isinstance(p, _core.TensorBase):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)

    @staticmethod
    def _evaluate(closure: Any) -> Any:
        """Run ``step``'s optional closure (which recomputes the loss) with grad enabled."""
        if closure is None:
            return None
        from ..autograd.grad_mode import enable_grad
        with enable_grad():
            return closure()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, else to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    p._grad._grad_fn = None
                    p._grad._requires_grad = False
                    p._grad._data[...] = 0

    def state_dict(self) -> dict:
        """The optimizer's state and hyper-parameters, with parameters as indices."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned (parameters matched by position)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        params_by_index = {}
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
            for i, p in zip(saved["params"], group["params"]):
                params_by_index[i] = p
            for k, v in saved.items():
                if k != "params":
                    group[k] = v
        self.state = {}
        for i, st in state_dict["state"].items():
            self.state[params_by_index[int(i)]] = copy.deepcopy(st)

    def __getstate__(self) -> dict:
        return self.__dict__
