"""A custom autograd.Function with its own backward (SPEC section 7, example 9)."""
import argparse

import numpy as np

import autodiff as ad


class MulConstant(ad.autograd.Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        # One gradient per forward input; the constant gets none.
        return grad_output * ctx.constant, None


class Cube(ad.autograd.Function):
    """x**3 with a saved input; its backward is itself differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2


def main() -> None:
    a = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = MulConstant.apply(a, 5)
    b.backward(ad.ones_like(a))
    print("MulConstant gradient:", a.grad)
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 5.0, 5.0])

    x = ad.tensor(2.0, requires_grad=True)
    (g,) = ad.autograd.grad(Cube.apply(x), x, create_graph=True)
    (gg,) = ad.autograd.grad(g, x)
    print(f"d/dx x^3 = {g.item()}, d2/dx2 x^3 = {gg.item()} at x = 2")
    assert g.item() == 12.0 and gg.item() == 12.0

    ad.autograd.gradcheck(Cube.apply, (ad.tensor([0.5, -1.5], requires_grad=True),))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main()
