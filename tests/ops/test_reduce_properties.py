"""Hypothesis: reductions over random shapes, axes and keepdims against NumPy and
finite differences (values, gradients by gradcheck, batched cotangents)."""
import numpy as np
from hypothesis import given, strategies as st

import autodiff as ad


@st.composite
def array_and_axes(draw, min_dims=1):
    ndim = draw(st.integers(min_dims, 3))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    seed = draw(st.integers(0, 2**16))
    axes = draw(st.one_of(st.none(), st.lists(st.integers(-ndim, ndim - 1), min_size=1,
                                              max_size=ndim, unique_by=lambda a: a % ndim)))
    keepdims = draw(st.booleans())
    rng = np.random.default_rng(seed)
    # distinct, non-zero values: every reduction here is smooth there
    a = (rng.permutation(int(np.prod(shape))).reshape(shape) + 1.0) / 3.0
    a = a * rng.choice([-1.0, 1.0], shape)
    return a, (None if axes is None else tuple(axes)), keepdims


REDUCTIONS = {
    "sum": (lambda t, ax, k: ad.sum(t, dim=ax, keepdim=k), lambda a, ax, k: np.sum(a, ax, keepdims=k)),
    "mean": (lambda t, ax, k: ad.mean(t, dim=ax, keepdim=k), lambda a, ax, k: np.mean(a, ax, keepdims=k)),
    "prod": (lambda t, ax, k: ad.prod(t, dim=ax, keepdim=k), lambda a, ax, k: np.prod(a, ax, keepdims=k)),
    "amax": (lambda t, ax, k: ad.amax(t, dim=ax, keepdim=k), lambda a, ax, k: np.amax(a, ax, keepdims=k)),
    "amin": (lambda t, ax, k: ad.amin(t, axis=ax, keepdims=k), lambda a, ax, k: np.amin(a, ax, keepdims=k)),
    "var": (lambda t, ax, k: ad.var(t, dim=ax, keepdim=k, correction=0),
            lambda a, ax, k: np.var(a, ax, keepdims=k)),
    "std": (lambda t, ax, k: ad.std(t, dim=ax, keepdim=k, correction=0),
            lambda a, ax, k: np.std(a, ax, keepdims=k)),
    "norm": (lambda t, ax, k: ad.norm(t, dim=ax, keepdim=k),
             lambda a, ax, k: np.sqrt(np.sum(a * a, ax, keepdims=k))),
    "logsumexp": (lambda t, ax, k: ad.logsumexp(t, dim=ax, keepdim=k),
                  lambda a, ax, k: np.log(np.sum(np.exp(a), ax, keepdims=k))),
}


@given(array_and_axes(), st.sampled_from(sorted(REDUCTIONS)))
def test_reduction_values_and_gradients(case, name):
    a, axes, keepdims = case
    ours, ref = REDUCTIONS[name]
    if name in ("var", "std") and axes is not None and all(a.shape[i] == 1 for i in axes):
        return      # variance of one element: smooth but degenerate (std has no derivative)
    x = ad.tensor(a, requires_grad=True)
    out = ours(x, axes, keepdims)
    np.testing.assert_allclose(out.detach().numpy(), ref(a, axes, keepdims), rtol=1e-12, atol=1e-12)
    assert ad.autograd.gradcheck(lambda t: ours(t, axes, keepdims), [x], check_forward_ad=True)


@given(array_and_axes(), st.sampled_from(["sum", "prod", "amax", "var", "logsumexp", "norm"]))
def test_batched_cotangents_match_one_at_a_time(case, name):
    a, axes, keepdims = case
    ours = REDUCTIONS[name][0]
    x = ad.tensor(a, requires_grad=True)
    out = ours(x, axes, keepdims)
    rng = np.random.default_rng(0)
    vs = rng.standard_normal((3,) + out.shape)
    (batched,) = ad.autograd.grad(out, x, ad.tensor(vs), retain_graph=True, is_grads_batched=True)
    for i in range(3):
        (single,) = ad.autograd.grad(out, x, ad.tensor(vs[i]), retain_graph=True)
        np.testing.assert_allclose(batched.numpy()[i], single.numpy(), rtol=1e-12, atol=1e-12)


@given(array_and_axes(), st.booleans())
def test_cumulative_ops(case, use_prod):
    a, axes, _ = case
    axis = 0 if axes is None else axes[0]
    fn, ref = (ad.cumprod, np.cumprod) if use_prod else (ad.cumsum, np.cumsum)
    x = ad.tensor(a, requires_grad=True)
    np.testing.assert_allclose(fn(x, dim=axis).detach().numpy(), ref(a, axis=axis), rtol=1e-12)
    assert ad.autograd.gradcheck(lambda t: fn(t, dim=axis), [x], check_forward_ad=True)


@given(array_and_axes(), st.booleans())
def test_max_min_with_dim_match_numpy(case, use_max):
    a, axes, keepdims = case
    axis = -1 if axes is None else axes[0]
    f, arg, ext = (ad.max, np.argmax, np.max) if use_max else (ad.min, np.argmin, np.min)
    x = ad.tensor(a, requires_grad=True)
    values, indices = f(x, dim=axis, keepdim=keepdims)
    np.testing.assert_array_equal(values.detach().numpy(), ext(a, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(indices.numpy(), arg(a, axis=axis, keepdims=keepdims))
    assert ad.autograd.gradcheck(lambda t: f(t, dim=axis, keepdim=keepdims).values, [x],
                                 check_forward_ad=True)


def test_var_std_without_degrees_of_freedom_match_torch():
    # n - correction <= 0: PyTorch warns, gives inf or NaN and an inf or NaN gradient
    import pytest
    torch = pytest.importorskip("torch")
    cases = [([[1.0, 2.0, 3.0]], dict(dim=0)), ([1.0, 2.0], dict(correction=2)),
             ([1.0, 2.0], dict(correction=3)), ([1.0, 1.0], dict(correction=2)),
             ([5.0], dict()), ([[1.0], [4.0]], dict(dim=1, keepdim=True))]
    for data, kw in cases:
        for name in ("var", "std"):
            x = ad.tensor(data, requires_grad=True)
            with pytest.warns(RuntimeWarning):
                y = getattr(x, name)(**kw)
            y.sum().backward()
            tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
            with pytest.warns(UserWarning, match="degrees of freedom"):
                ty = getattr(tx, name)(**kw)
            ty.sum().backward()
            np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
            # the same NaNs and infinities (PyTorch's inf gradients of var carry no sign)
            g, tg = x.grad.numpy(), tx.grad.numpy()
            np.testing.assert_array_equal(np.isnan(g), np.isnan(tg))
            np.testing.assert_array_equal(np.isinf(g), np.isinf(tg))
            assert np.isfinite(g).sum() == 0
