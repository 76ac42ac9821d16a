"""Minimise f(x) = x**2 - 2x + 1 with ad.optim.SGD (SPEC section 7, example 11).

The minimum is at x = 1, where f = 0.
"""
import argparse

import autodiff as ad


def f(x: ad.Tensor) -> ad.Tensor:
    return x ** 2 - 2 * x + 1


def main(steps: int) -> float:
    x = ad.tensor(0.0, requires_grad=True)
    optimizer = ad.optim.SGD(params=[x], lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        y = f(x)
        y.backward()
        optimizer.step()
    y = f(x)
    print(f"x = {x.item():.4f}, f(x) = {y.item():.6f}")
    return x.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    x = main(500)
    # Each step multiplies the distance to the minimum by (1 - 2 * lr) = 0.98.
    assert abs(x - (1 - 0.98 ** 500)) < 1e-12
    assert abs(x - 1.0) < 1e-4
