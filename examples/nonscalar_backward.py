"""Backward from a non-scalar output: the gradient argument is the vector v in v^T J.

f(x) = x**2 - 2x + 1 elementwise, so J is diagonal with entries 2x - 2, and
y.backward(gradient=ones) gives 2x - 2 (SPEC section 7, example 2).
"""
import argparse

import numpy as np

import autodiff as ad


def main() -> None:
    a, b, c = ad.tensor(1.0), ad.tensor(-2.0), ad.tensor(1.0)
    x = ad.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
    y = a * ad.pow(x, 2) + b * x + c

    try:
        y.backward()
    except RuntimeError as err:
        print("backward() without gradient on a 2x2 output:", err)
    else:
        raise AssertionError("a non-scalar backward without gradient must raise")

    v = ad.ones_like(y)
    y.backward(gradient=v, retain_graph=True)
    print("y.backward(gradient=ones):\n", x.grad)
    np.testing.assert_array_equal(x.grad.numpy(), [[-2.0, -2.0], [0.0, 2.0]])

    # The same vector-Jacobian product as the gradient of the scalar sum(y * v).
    x.grad = None
    z = ad.sum(y * v)
    z.backward()
    print("sum(y * v).backward():\n", x.grad)
    np.testing.assert_array_equal(x.grad.numpy(), [[-2.0, -2.0], [0.0, 2.0]])

    # A weighted vector picks a weighted combination of rows of J.
    x.grad = None
    y2 = a * ad.pow(x, 2) + b * x + c
    y2.backward(gradient=ad.tensor([[1.0, 0.0], [0.5, 3.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[-2.0, 0.0], [0.0, 6.0]])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main()
