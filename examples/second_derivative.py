"""Second and third derivatives with create_graph=True (SPEC section 7, example 3)."""
import argparse

import numpy as np

import autodiff as ad


def main() -> None:
    a, b, c = ad.tensor(1.0), ad.tensor(-2.0), ad.tensor(1.0)
    x = ad.tensor(0.0, requires_grad=True)
    y = a * ad.pow(x, 2) + b * x + c
    (dy_dx,) = ad.autograd.grad(y, x, create_graph=True)
    (d2y_dx2,) = ad.autograd.grad(dy_dx, x)
    print(f"dy/dx = {dy_dx.item()}, d2y/dx2 = {d2y_dx2.item()}")
    assert dy_dx.item() == -2.0 and d2y_dx2.item() == 2.0

    # d/dx sin(x) = cos(x), d2 = -sin(x), d3 = -cos(x) at several points at once.
    t = ad.tensor(np.linspace(0.0, 3.0, 7), requires_grad=True)
    g1, = ad.autograd.grad(ad.sin(t).sum(), t, create_graph=True)
    g2, = ad.autograd.grad(g1.sum(), t, create_graph=True)
    g3, = ad.autograd.grad(g2.sum(), t)
    tv = t.detach().numpy()       # g1 and g2 are part of a graph: detach them to compare
    np.testing.assert_allclose(g1.detach().numpy(), np.cos(tv), rtol=0, atol=1e-15)
    np.testing.assert_allclose(g2.detach().numpy(), -np.sin(tv), rtol=0, atol=1e-15)
    np.testing.assert_allclose(g3.numpy(), -np.cos(tv), rtol=0, atol=1e-15)
    print("third derivative of sin:", g3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main()
