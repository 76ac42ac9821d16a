"""Adam and AdamW (decoupled weight decay), as PyTorch defines them."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam: bias-corrected first and second moment estimates.

    >>> import autodiff as ad
    >>> x = ad.tensor(1.0, requires_grad=True)
    >>> opt = ad.optim.Adam([x], lr=0.1)
    >>> (x * x).backward(); opt.step(); round(float(x), 6)
    0.9
    """

    _decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False) -> None:
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Invalid Adam hyper-parameter: lr={lr}, betas={betas}, eps={eps}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = p._grad._data
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    if self._decoupled:
                        p._data *= 1 - lr * wd
                    else:
                        g = g + wd * p._data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p._data)
                    state["exp_avg_sq"] = np.zeros_like(p._data)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = np.zeros_like(p._data)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                if group["amsgrad"]:
                    np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v_hat = state["max_exp_avg_sq"]
                else:
                    v_hat = v
                bc1 = 1 - b1 ** t
                bc2 = 1 - b2 ** t
                denom = np.sqrt(v_hat) / math.sqrt(bc2) + eps
                p._data -= (lr / bc1) * m / denom
                p._version_counter.value += 1
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the step).

    >>> import autodiff as ad
    >>> x = ad.tensor(1.0, requires_grad=True)
    >>> opt = ad.optim.AdamW([x], lr=0.1, weight_decay=0.0)
    >>> (x * x).backward(); opt.step(); round(float(x), 6)
    0.9
    """

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
