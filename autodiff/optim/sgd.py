"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD: ``buf = momentum * buf + (1 - dampening) * g``; ``p -= lr * step``.

    >>> import autodiff as ad
    >>> x = ad.tensor(0.0, requires_grad=True)
    >>> opt = ad.optim.SGD([x], lr=0.1)
    >>> (x - 1.0).pow(2).backward(); opt.step(); float(x)
    0.2
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"Invalid SGD hyper-parameter: lr={lr}, momentum={momentum}, "
                             f"weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = p._grad._data
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + wd * p._data
                if mom != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(g, copy=True)
                    else:
                        buf *= mom
                        buf += (1 - damp) * g
                    state["momentum_buffer"] = buf
                    g = g + mom * buf if nesterov else buf
                p._data -= lr * g
                p._version_counter.value += 1
        return loss
