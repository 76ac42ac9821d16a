"""Fit a model with scipy.optimize.minimize(fun, x0, jac=True), gradients from autodiff.

The model is y = a * exp(-k t) + c fitted by least squares to noisy samples.
SciPy works on flat float64 arrays; autodiff supplies (value, gradient) in one call.
"""
import argparse

import numpy as np
from scipy.optimize import minimize

import autodiff as ad


def value_and_grad(params: np.ndarray, t: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    p = ad.tensor(params, requires_grad=True)
    a, k, c = p[0], p[1], p[2]
    residual = a * ad.exp(-k * t) + c - y
    loss = 0.5 * ad.sum(residual ** 2)
    loss.backward()
    return loss.item(), p.grad.numpy()


def main(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    true = np.array([2.0, 1.3, 0.5])
    t = np.linspace(0.0, 4.0, n)
    y = true[0] * np.exp(-true[1] * t) + true[2] + 0.01 * rng.normal(size=n)

    x0 = np.array([1.0, 1.0, 0.0])
    # The autodiff gradient matches central finite differences at the start.
    _, g = value_and_grad(x0, t, y)
    eps = 1e-6
    fd = np.array([(value_and_grad(x0 + eps * e, t, y)[0] - value_and_grad(x0 - eps * e, t, y)[0])
                   / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(g, fd, rtol=1e-6)

    result = minimize(value_and_grad, x0, args=(t, y), jac=True, method="BFGS")
    print(f"converged={result.success} in {result.nit} iterations: a, k, c = {result.x.round(3)}")
    assert result.success
    np.testing.assert_allclose(result.x, true, atol=0.05)
    # At the optimum the gradient vanishes.
    assert np.linalg.norm(value_and_grad(result.x, t, y)[1]) < 1e-4
    return result.x


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    main(n=50 if args.quick else 2000)
