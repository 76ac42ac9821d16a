"""Tensor hooks: see and replace the gradient flowing into a tensor (SPEC section 7, example 7)."""
import argparse

import numpy as np

import autodiff as ad


def main() -> None:
    v = ad.tensor([2.0, 2.0, 2.0], requires_grad=True)
    handle = v.register_hook(lambda g: g * g)   # the returned tensor replaces the gradient
    v.backward(ad.tensor([1.0, 1.0, 2.0]))
    print("after one backward:", v.grad)
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 1.0, 4.0])
    v.backward(ad.tensor([1.0, 1.0, 1.0]))      # accumulates into .grad
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0, 5.0])
    handle.remove()
    v.backward(ad.tensor([3.0, 3.0, 3.0]))      # the hook no longer runs
    np.testing.assert_array_equal(v.grad.numpy(), [5.0, 5.0, 8.0])
    print("after removing the hook:", v.grad)

    # A hook on an intermediate tensor sees the gradient before it flows on.
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h ** 2).sum().backward()
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])     # d(h^2)/dh = 2h
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(already fast; accepted for CI)")
    parser.parse_args()
    main()
