"""User code calling the common public API; CI type-checks it with `mypy --strict`.

Not a test module (pytest does not collect it); it is also run as a script.
"""
from __future__ import annotations

import numpy as np
from typing_extensions import assert_type

import autodiff as ad


def loss(w: ad.Tensor, x: np.ndarray, y: np.ndarray) -> ad.Tensor:
    residual = x @ w - y
    out: ad.Tensor = ad.mean(residual ** 2)
    return out


def fit(steps: int) -> ad.Tensor:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    w = ad.zeros(3, requires_grad=True)
    opt = ad.optim.SGD([w], lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        value = loss(w, x, y)
        value.backward()
        opt.step()
    return w


def derivatives() -> tuple[float, float]:
    x = ad.tensor(2.0, requires_grad=True)
    assert_type(x, ad.Tensor)
    y = x ** 3 + ad.sin(x) * 0.0
    grads = ad.autograd.grad(y, x, create_graph=True)
    (g,) = grads
    (h,) = ad.autograd.grad(g, x)
    return float(g.item()), float(h.item())


def accumulate() -> np.ndarray:
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    grad = x.grad
    assert_type(grad, "ad.Tensor | None")
    assert grad is not None
    with ad.no_grad():
        z = x * 2
    assert not z.requires_grad
    return grad.numpy()


if __name__ == "__main__":
    w = fit(300)
    np.testing.assert_allclose(w.detach().numpy(), [1.0, -2.0, 0.5], atol=1e-6)
    assert derivatives() == (12.0, 12.0)
    np.testing.assert_array_equal(accumulate(), [2.0, 4.0])
    print("ok")
