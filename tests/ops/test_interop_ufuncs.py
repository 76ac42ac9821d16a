"""NumPy ufuncs and functions on Tensors: NumPy's meaning, Tensors out, gradients in."""
import numpy as np
import pytest

import autodiff as ad

UNARY = [
    (np.sin, "real"), (np.abs, "nonzero"), (np.expm1, "real"), (np.log1p, "positive"),
    (np.log2, "positive"), (np.log10, "positive"), (np.sqrt, "positive"), (np.square, "real"),
    (np.tan, "unit"), (np.arcsin, "unit"), (np.arccos, "unit"), (np.arctan, "real"),
    (np.sinh, "real"), (np.cosh, "real"), (np.arcsinh, "real"), (np.arccosh, "above_one"),
    (np.arctanh, "unit"), (np.reciprocal, "nonzero"), (np.exp, "real"), (np.tanh, "real"),
]


def _data(domain, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "unit":
        return rng.uniform(-0.8, 0.8, shape)
    if domain == "above_one":
        return rng.uniform(1.2, 3.0, shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
    return rng.uniform(-2, 2, shape)


@pytest.mark.parametrize("ufunc,domain", UNARY, ids=[u.__name__ for u, _ in UNARY])
def test_unary_ufunc_returns_tensor_with_gradient(ufunc, domain):
    a = _data(domain)
    x = ad.tensor(a, requires_grad=True)
    y = ufunc(x)
    assert isinstance(y, ad.Tensor) and y.requires_grad
    np.testing.assert_allclose(y.detach().numpy(), ufunc(a), rtol=1e-15)
    assert ad.autograd.gradcheck(ufunc, [x])


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.arctan2, np.remainder])
def test_binary_ufuncs(ufunc):
    a, b = _data("positive", seed=1), _data("positive", (3,), seed=2) + 2.5
    x, y = ad.tensor(a, requires_grad=True), ad.tensor(b, requires_grad=True)
    out = ufunc(x, y)
    assert isinstance(out, ad.Tensor)
    np.testing.assert_allclose(out.detach().numpy(), ufunc(a, b))
    assert ad.autograd.gradcheck(ufunc, [x, y])
    # mixed with a plain array on either side
    assert isinstance(ufunc(a, y), ad.Tensor) and isinstance(ufunc(x, b), ad.Tensor)


@pytest.mark.parametrize("ufunc", [np.floor, np.ceil, np.sign, np.rint, np.trunc])
def test_piecewise_constant_ufuncs_give_zero_gradient(ufunc):
    x = ad.tensor([-1.3, 0.4, 2.6], requires_grad=True)
    y = ufunc(x)
    assert y.tolist() == ufunc(np.array([-1.3, 0.4, 2.6])).tolist()
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_floor_divide_ufunc_and_operator():
    x = ad.tensor([7.0, -7.0], requires_grad=True)
    assert np.floor_divide(x, 2.0).tolist() == [3.0, -4.0]
    assert (x // 2).tolist() == [3.0, -4.0] and (15 // ad.tensor([4.0])).tolist() == [3.0]
    assert (x % 3).tolist() == [1.0, 2.0] and (10 % ad.tensor([4.0])).tolist() == [2.0]


def test_predicates_and_logical_ops_are_boolean_without_gradient():
    x = ad.tensor([1.0, np.nan, np.inf, -np.inf], requires_grad=True)
    for f in (np.isnan, np.isfinite, np.isinf, ad.isnan, ad.isfinite, ad.isinf):
        out = f(x)
        assert isinstance(out, ad.Tensor) and out.dtype == np.bool_ and not out.requires_grad
    assert ad.isnan(x).tolist() == [False, True, False, False]
    assert x.isfinite().tolist() == [True, False, False, False]
    a, b = ad.tensor([True, True, False]), ad.tensor([True, False, False])
    assert np.logical_and(a, b).tolist() == [True, False, False]
    assert ad.logical_or(a, b).tolist() == [True, True, False]
    assert a.logical_xor(b).tolist() == [False, True, False]
    assert np.logical_not(a).tolist() == [False, False, True]
    assert bool(np.any(a)) and not bool(np.all(a))


def test_reductions_keep_numpy_meaning():
    a = np.array([[1.0, 5.0, 2.0], [4.0, 3.0, 6.0]])
    x = ad.tensor(a, requires_grad=True)
    # np.max(t, axis=0) gives values only (NumPy), ad.max(t, 0) gives (values, indices)
    assert np.max(x, axis=0).tolist() == [4.0, 5.0, 6.0]
    assert isinstance(ad.max(x, 0), tuple)
    assert np.amin(x, axis=1, keepdims=True).tolist() == [[1.0], [3.0]]
    assert np.argmax(x) == 5 and np.argmin(x, axis=1).tolist() == [0, 1]
    assert ad.argmax(x, dim=1, keepdim=True).tolist() == [[1], [2]]
    assert np.prod(x, axis=1).tolist() == [10.0, 72.0]
    np.testing.assert_allclose(np.var(x, axis=1).detach().numpy(), np.var(a, axis=1))
    np.testing.assert_allclose(np.std(x, ddof=1).detach().numpy(), np.std(a, ddof=1))
    assert np.cumsum(x).tolist() == np.cumsum(a).tolist()          # flattened, as NumPy
    assert np.cumprod(x, axis=1).tolist() == np.cumprod(a, axis=1).tolist()
    assert np.clip(x, 2, 4).tolist() == np.clip(a, 2, 4).tolist()
    assert np.round(x / 4, 1).tolist() == np.round(a / 4, 1).tolist()
    for f in (lambda t: np.max(t, axis=0), lambda t: np.var(t, axis=1), lambda t: np.std(t),
              lambda t: np.prod(t), lambda t: np.cumsum(t, axis=0), lambda t: np.clip(t, 2.5, 4.5),
              lambda t: np.cumprod(t, axis=1)):
        assert ad.autograd.gradcheck(f, [x])


def test_numpy_function_without_rule_names_it():
    with pytest.raises(TypeError, match="median"):
        np.median(ad.ones(3, requires_grad=True))


def test_float32_stays_float32():
    x = ad.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    for f in (np.sqrt, np.abs, ad.erf, ad.gelu, lambda t: np.var(t, axis=0),
              lambda t: ad.norm(t), lambda t: ad.logsumexp(t, 1), lambda t: ad.softmax(t, 1),
              lambda t: ad.max(t, 1).values, lambda t: ad.clamp(t, 0.5, 2.0)):
        y = f(x)
        assert y.dtype == np.float32, f
        y.sum().backward()
        assert x.grad.dtype == np.float32
        x.grad = None
