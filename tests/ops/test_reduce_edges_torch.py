"""Reductions at their edges against PyTorch: 0-d inputs reduced along dim 0 or -1,
variance without degrees of freedom, cumulative ops along a dim of one element.
Values, first and second derivatives and forward-mode tangents are compared."""
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import forward_ad as fwad

torch = pytest.importorskip("torch")


def run(lib, fn, value, *, tangent=None):
    """fn's value, first derivative and second derivative (the gradient of the first
    one's sum) at ``value``; the last is None where the first does not depend on x."""
    x = lib.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(lib, x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        h = None
        if g.requires_grad:
            (h,) = lib.autograd.grad(g.sum(), x, allow_unused=True)
    return [None if t is None else np.asarray(t.detach()) for t in (y, g, h)]


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        if b is None:       # PyTorch's second derivative is 0 (nothing depends on x)
            assert a is None or np.all(a == 0)
            continue
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


REDUCTIONS = {
    "sum": lambda lib, x, d, k: x.sum(dim=d, keepdim=k),
    "mean": lambda lib, x, d, k: x.mean(dim=d, keepdim=k),
    "amax": lambda lib, x, d, k: x.amax(dim=d, keepdim=k),
    "amin": lambda lib, x, d, k: x.amin(dim=d, keepdim=k),
    "logsumexp": lambda lib, x, d, k: x.logsumexp(dim=d, keepdim=k),
    "norm": lambda lib, x, d, k: x.norm(dim=d, keepdim=k),
    "var": lambda lib, x, d, k: x.var(dim=d, keepdim=k),
    "var0": lambda lib, x, d, k: x.var(dim=d, keepdim=k, correction=0),
    "std": lambda lib, x, d, k: x.std(dim=d, keepdim=k),
    "std0": lambda lib, x, d, k: x.std(dim=d, keepdim=k, correction=0),
    "prod": lambda lib, x, d, k: x.prod(dim=d if isinstance(d, int) else d[0], keepdim=k),
    "max": lambda lib, x, d, k: x.max(dim=d if isinstance(d, int) else d[0], keepdim=k)[0],
    "min": lambda lib, x, d, k: x.min(dim=d if isinstance(d, int) else d[0], keepdim=k)[0],
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dim", [0, -1, (0,), (-1,)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_of_a_0d_tensor_along_dim_0(name, dim, keepdim):
    # PyTorch gives a 0-d tensor one element along dim 0 (and -1): a 0-d result
    f = REDUCTIONS[name]
    fn = lambda lib, x: f(lib, x, dim, keepdim)  # noqa: E731
    assert_same(run(ad, fn, 0.7), run(torch, fn, 0.7))


@pytest.mark.parametrize("name", ["mean", "var0", "std0", "amax", "logsumexp", "norm", "max"])
def test_forward_mode_through_a_0d_reduction(name):
    f = REDUCTIONS[name]
    with fwad.dual_level():
        x = fwad.make_dual(ad.tensor(0.7), ad.tensor(2.0))
        y = fwad.unpack_dual(f(ad, x, 0, False))
    with torch.autograd.forward_ad.dual_level():
        tx = torch.autograd.forward_ad.make_dual(torch.tensor(0.7, dtype=torch.float64),
                                                 torch.tensor(2.0, dtype=torch.float64))
        ty = torch.autograd.forward_ad.unpack_dual(f(torch, tx, 0, False))
    assert y.primal.shape == ()
    np.testing.assert_allclose(y.primal.numpy(), ty.primal.numpy())
    np.testing.assert_allclose(y.tangent.numpy(), ty.tangent.numpy())


def test_max_min_of_a_0d_tensor_return_index_0():
    for lib in (ad, torch):
        x = lib.tensor(0.7, dtype=lib.float64)
        for op in (lib.max, lib.min):
            values, indices = op(x, dim=-1)
            assert values.shape == indices.shape == ()
            assert indices.item() == 0 and values.item() == 0.7
    assert ad.argmax(ad.tensor(0.7), dim=0).item() == 0


def test_0d_reductions_reject_other_dims():
    x = ad.tensor(0.7)
    with pytest.raises(IndexError, match="sum"):
        x.sum(dim=1)
    with pytest.raises(IndexError, match="mean"):
        x.mean(dim=(0, 2))
    with pytest.raises(ValueError, match="duplicate"):
        x.var(dim=(0, -1))


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [0, -1])
def test_cumulative_ops_of_a_0d_tensor_are_0d(op, dim):
    fn = lambda lib, x: getattr(lib, op)(x * x, dim=dim)  # noqa: E731
    ours, theirs = run(ad, fn, 0.7), run(torch, fn, 0.7)
    assert ours[0].shape == ()
    assert_same(ours, theirs)
    # forward mode and jacfwd (a batch of tangents) keep the 0-d shape too
    with fwad.dual_level():
        y = fwad.unpack_dual(getattr(ad, op)(fwad.make_dual(ad.tensor(0.7), ad.tensor(2.0)), dim))
    assert y.tangent.shape == () and y.tangent.item() == 2.0
    assert ad.func.jacfwd(lambda t: getattr(ad, op)(t, dim))(ad.tensor(0.7)).item() == 1.0


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("correction", [1, 2, 3])
@pytest.mark.parametrize("dim", [None, 0, (0,)])
def test_var_std_with_correction_at_least_n_match_torch(name, n, correction, dim):
    # PyTorch's gradients past the degrees of freedom: over all elements inf (NaN where x
    # is its mean); over a given dim 2 / (n - correction) * (x - mean) of any sign
    kw = {"correction": correction} if dim is None else {"dim": dim, "correction": correction}
    fn = lambda lib, x: getattr(x, name)(**kw)  # noqa: E731
    for value in (np.linspace(0.3, 0.9, n), np.full(n, 0.5)):
        assert_same(run(ad, fn, value), run(torch, fn, value))


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_of_a_0d_tensor_match_torch(name):
    for correction in (0, 1, 2):
        fn = lambda lib, x: getattr(x, name)(dim=0, correction=correction)  # noqa: E731
        assert_same(run(ad, fn, 0.7), run(torch, fn, 0.7))


def test_cumprod_along_a_dim_of_one_element_passes_the_gradient():
    # PyTorch's gradient is g there, read from neither x nor the output: a hook that
    # replaces the output's gradient under create_graph leaves the second derivative 0
    results = []
    for lib in (ad, torch):
        x = lib.tensor([[0.5, -1.5]], dtype=lib.float64, requires_grad=True)
        y = lib.cumprod(x, dim=0)
        y.register_hook(lambda g: lib.tensor([[2.0, 3.0]], dtype=lib.float64))
        (g,) = lib.autograd.grad(y, x, lib.ones_like(y), create_graph=True)
        h = lib.autograd.grad(g.sum(), x)[0] if g.requires_grad else lib.zeros_like(x)
        results.append((np.asarray(g.detach()), np.asarray(h.detach())))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
