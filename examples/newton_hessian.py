"""Newton's method with an exact Hessian from nested reverse mode.

minimise the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, whose
minimum is at (1, 1). Each step solves H d = -g with H built row by row from
ad.autograd.grad(..., create_graph=True).
"""
import argparse

import numpy as np

import autodiff as ad


def rosenbrock(p: ad.Tensor) -> ad.Tensor:
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def gradient_and_hessian(f, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = ad.tensor(p, requires_grad=True)
    (g,) = ad.autograd.grad(f(x), x, create_graph=True)
    rows = []
    for i in range(len(p)):
        (row,) = ad.autograd.grad(g[i], x, retain_graph=True)
        rows.append(row.numpy())
    return g.detach().numpy().copy(), np.stack(rows)


def main(max_steps: int) -> np.ndarray:
    p = np.array([-1.2, 1.0])
    g, H = gradient_and_hessian(rosenbrock, p)
    # Exact first and second derivatives at the start point.
    x, y = p
    np.testing.assert_allclose(g, [-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])
    np.testing.assert_allclose(H, [[2 - 400 * (y - x ** 2) + 800 * x ** 2, -400 * x],
                                   [-400 * x, 200]])
    for step in range(max_steps):
        g, H = gradient_and_hessian(rosenbrock, p)
        if np.linalg.norm(g) < 1e-10:
            break
        p = p - np.linalg.solve(H, g)
    print(f"Newton: {step} steps to {p}")
    np.testing.assert_allclose(p, [1.0, 1.0], atol=1e-10)
    return p


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main(max_steps=50)
