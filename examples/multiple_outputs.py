"""autograd.grad with several inputs and several outputs (SPEC section 7, examples 4 and 5)."""
import argparse

import numpy as np

import autodiff as ad


def main() -> None:
    x1 = ad.tensor(1.0, requires_grad=True)
    x2 = ad.tensor(2.0, requires_grad=True)
    y1 = x1 * x2
    y2 = x1 + x2

    # One output, two inputs: (dy1/dx1, dy1/dx2) = (x2, x1).
    g = ad.autograd.grad(y1, [x1, x2], retain_graph=True)
    print("grad(y1, [x1, x2]) =", tuple(t.item() for t in g))
    assert tuple(t.item() for t in g) == (2.0, 1.0)

    # Two outputs are summed: d(y1 + y2)/dx = (x2 + 1, x1 + 1).
    g = ad.autograd.grad([y1, y2], [x1, x2])
    print("grad([y1, y2], [x1, x2]) =", tuple(t.item() for t in g))
    assert tuple(t.item() for t in g) == (3.0, 2.0)
    assert x1.grad is None and x2.grad is None  # autograd.grad never touches .grad

    # grad_outputs weights each output element: the v of v^T J.
    x = ad.rand(3, 4).requires_grad_()
    (g,) = ad.autograd.grad(ad.sum(x), x)
    np.testing.assert_array_equal(g.numpy(), np.ones((3, 4)))
    y = x[:, 0] + x[:, 1]
    (g,) = ad.autograd.grad(y, x, grad_outputs=ad.ones_like(y), retain_graph=True)
    expected = np.zeros((3, 4))
    expected[:, :2] = 1.0
    np.testing.assert_array_equal(g.numpy(), expected)
    (g,) = ad.autograd.grad(y, x, grad_outputs=ad.zeros_like(y))
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))
    print("grad of x[:, 0] + x[:, 1]:\n", expected)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main()
