"""Shape ops against PyTorch: ``Tensor.expand``'s sizes (-1 keeps a dim, new leading
dims) and errors, and repeat/tile gradients at many dimensions."""
import numpy as np
import pytest

import autodiff as ad

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("sizes", [(-1, 3), (-1, -1), (3, -1, 3), (1, -1, -1), (-1, 0),
                                   (2, 0), (0, 2, 1), ((-1, 4),), ([5, -1, 4],)])
def test_expand_matches_torch(sizes):
    a = np.array([[1.0], [2.0]])
    x = ad.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = x.expand(*sizes), tx.expand(*sizes)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    c = np.arange(float(ty.numel())).reshape(ty.shape)
    y.backward(ad.tensor(c))
    ty.backward(torch.tensor(c))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert ad.expand(x, *sizes).shape == y.shape


@pytest.mark.parametrize("sizes, match", [
    ((-1, 2, 3), "-1 is not allowed for the new leading dimension 0"),
    ((4, 3), "size 4 must match the existing size 2 at non-singleton dimension 0"),
    ((3,), "number of sizes provided"),
    ((2, -2), "non-negative or -1"),
])
def test_expand_errors_are_torch_s(sizes, match):
    with pytest.raises(RuntimeError):
        torch.ones(2, 1).expand(*sizes)
    with pytest.raises(RuntimeError, match=match):
        ad.ones((2, 1)).expand(*sizes)


@pytest.mark.parametrize("ndim", [33, 40])
def test_repeat_gradient_at_many_dims_matches_torch(ndim):
    # every axis split in two at once would need 2 * ndim > 64 dims
    shape = (2,) + (1,) * (ndim - 3) + (3, 2)
    reps = (2,) + (1,) * (ndim - 4) + (2, 1, 3)
    a = np.random.default_rng(0).standard_normal(shape)
    x, tx = ad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x.repeat(*reps), tx.repeat(*reps)
    assert y.shape == tuple(ty.shape)
    c = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(ad.tensor(c))
    ty.backward(torch.tensor(c))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_tile_gradient_with_batched_cotangents_and_second_order():
    x = ad.tensor(np.random.default_rng(2).standard_normal((2, 3)), requires_grad=True)
    assert ad.autograd.gradgradcheck(lambda t: t.tile((2, 1, 3)) ** 2, [x])
    y = x.tile((2, 2))
    vs = np.random.default_rng(3).standard_normal((4,) + y.shape)
    (batched,) = ad.autograd.grad(y, x, ad.tensor(vs), is_grads_batched=True)
    for i in range(4):
        np.testing.assert_allclose(batched.numpy()[i],
                                   vs[i].reshape(2, 2, 2, 3).sum(axis=(0, 2)), rtol=1e-12)


def test_flatten_of_a_single_dim_is_the_tensor_itself():
    # PyTorch returns the input when there is nothing to merge, so a gradient taken
    # with respect to the result is the input's, with every use of it
    for lib in (ad, torch):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True) * 1.0
        assert x.flatten(0, 0) is x and x.flatten(-1, 1) is x and x[0].flatten() is not x
    grads = []
    for lib in (ad, torch):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        a, b = x.flatten(0, 0), x.flatten()
        y = (a * 2.0).sum() + b.exp().sum()
        grads.append(np.asarray(lib.autograd.grad(y, b)[0]))
    np.testing.assert_array_equal(grads[0], grads[1])
