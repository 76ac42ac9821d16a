"""PyTorch's conventions at non-smooth points, with expected values worked out by hand."""
import numpy as np
import pytest

import autodiff as ad
import autodiff.nn  # noqa: F401


def grad_of(f, x):
    x = ad.tensor(x, requires_grad=True)
    (g,) = ad.autograd.grad(f(x), [x])
    return g.numpy()


def test_relu_derivative_at_zero_is_zero():
    # relu'(x) = 1 for x > 0, 0 for x < 0, and PyTorch takes 0 at x = 0
    assert grad_of(lambda x: ad.relu(x).sum(), [-1.0, 0.0, 2.0]).tolist() == [0.0, 0.0, 1.0]


def test_relu_backward_is_threshold_backward_at_nan():
    # PyTorch masks by x <= 0: a nan x passes the gradient, and a nan gradient where
    # x <= 0 gives 0 (not nan * 0); small (NumPy) and large (kernel) arrays alike
    for n in (4, 400):
        x0 = np.tile([-1.0, 0.0, 2.0, np.nan], n // 4)
        x = ad.tensor(x0, requires_grad=True)
        ad.relu(x).backward(ad.tensor(np.tile([np.nan, np.nan, 3.0, 5.0], n // 4)))
        np.testing.assert_array_equal(x.grad.numpy(), np.tile([0.0, 0.0, 3.0, 5.0], n // 4))


def test_abs_derivative_at_zero_is_zero():
    # abs'(x) = sign(x), and sign(0) = 0
    assert grad_of(lambda x: ad.abs(x).sum(), [-3.0, 0.0, 2.0]).tolist() == [-1.0, 0.0, 1.0]
    assert grad_of(lambda x: abs(x).sum(), [0.0]).tolist() == [0.0]


def test_leaky_relu_uses_the_slope_at_zero():
    assert grad_of(lambda x: ad.leaky_relu(x, 0.1).sum(), [-1.0, 0.0, 1.0]).tolist() == [0.1, 0.1, 1.0]


def test_maximum_minimum_split_ties_evenly():
    x = ad.tensor([1.0, 2.0, 2.0], requires_grad=True)
    y = ad.tensor([1.0, 1.0, 3.0], requires_grad=True)
    ad.maximum(x, y).sum().backward()
    # tie at 0: half each; x wins at 1; y wins at 2
    assert x.grad.tolist() == [0.5, 1.0, 0.0]
    assert y.grad.tolist() == [0.5, 0.0, 1.0]
    x.grad = y.grad = None
    ad.minimum(x, y).sum().backward()
    assert x.grad.tolist() == [0.5, 0.0, 1.0]
    assert y.grad.tolist() == [0.5, 1.0, 0.0]


def test_maximum_minimum_with_nan_pass_the_gradient_to_both_as_torch():
    # the result is NaN there; PyTorch zeroes an input's gradient only where the other
    # input strictly wins, so with a NaN each input gets all of it
    torch = pytest.importorskip("torch")
    nan = np.nan
    a, b = [1.0, nan, nan, 2.0, 1.0], [nan, 1.0, nan, 2.0, 3.0]
    for name in ("maximum", "minimum"):
        x, y = ad.tensor(a, requires_grad=True), ad.tensor(b, requires_grad=True)
        getattr(ad, name)(x, y).backward(ad.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        getattr(torch, name)(tx, ty).backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0],
                                                           dtype=torch.float64))
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
        np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


def test_amax_and_max_without_dim_split_ties_evenly():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    # two maxima per row: each gets 1/2
    assert grad_of(lambda t: ad.amax(t, dim=1).sum(), x).tolist() == [[0, .5, .5], [.5, .5, 0]]
    # max over everything: the two 3s share the gradient
    assert grad_of(lambda t: ad.max(t), x).tolist() == [[0, .5, .5], [0, 0, 0]]
    assert grad_of(lambda t: ad.amin(t), [[1.0, 1.0], [1.0, 4.0]]).tolist() == [[1 / 3, 1 / 3],
                                                                              [1 / 3, 0]]


def test_max_with_dim_sends_gradient_to_the_returned_index_only():
    x = ad.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = ad.max(x, dim=1)
    assert indices.tolist() == [1, 0]   # the first of the tied maxima, as NumPy's argmax
    values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]
    r = x.min(dim=0)
    assert r.values.tolist() == [1.0, 2.0, 0.0] and r.indices.tolist() == [0, 1, 1]


def test_clamp_passes_the_gradient_on_the_boundary():
    # inside or on [0, 1]: 1; strictly outside: 0
    assert grad_of(lambda x: ad.clamp(x, 0.0, 1.0).sum(), [-1.0, 0.0, 0.5, 1.0, 2.0]).tolist() \
        == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_clamp_with_tensor_bounds_routes_the_gradient_to_the_active_bound():
    x = ad.tensor([0.2, 0.5, 0.9, 0.7], requires_grad=True)
    lo = ad.tensor([0.5, 0.5, 0.5, 1.0], requires_grad=True)
    hi = ad.tensor([0.8, 0.8, 0.8, 0.5], requires_grad=True)
    ad.clamp(x, lo, hi).sum().backward()
    # 0: x < lo -> lo; 1: x == lo -> x; 2: x > hi -> hi; 3: lo > hi -> the result is hi
    assert x.grad.tolist() == [0, 1, 0, 0]
    assert lo.grad.tolist() == [1, 0, 0, 0]
    assert hi.grad.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_have_zero_gradient(op):
    x = ad.tensor([-1.5, 0.0, 0.5, 2.0], requires_grad=True)
    y = getattr(ad, op)(x)
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0] * 4


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round", "trunc"])
def test_zero_gradient_times_an_undefined_partial_is_nan_as_torch(op):
    # the zero gradient is an array of zeros, as PyTorch's zeros_like(grad): the var of
    # one element before the op (partial derivative NaN) gives NaN, not a skipped 0;
    # a NaN arriving at the op still gives 0
    torch = pytest.importorskip("torch")
    results = []
    for lib in (ad, torch):
        x = lib.tensor([0.5], dtype=lib.float64, requires_grad=True)
        y = getattr(lib, op)(x.var()) + (x * 2.0).sum()
        z = (getattr(lib, op)(x) * float("nan")).sum()
        results.append([np.asarray(lib.autograd.grad(f, [x])[0]) for f in (y, z)])
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert np.isnan(results[0][0]).all() and results[0][1].tolist() == [0.0]


def test_atan2_gradient_at_the_origin_is_zero_as_torch():
    # x / (x**2 + y**2) would be 0 * inf = NaN there; PyTorch masks it to 0
    torch = pytest.importorskip("torch")
    y0, x0, c = [0.0, 0.0, 1.0, -2.0], [0.0, 2.0, 0.0, 0.5], [1.0, 0.0, 3.0, 1.0]
    results = []
    for lib in (ad, torch):
        y = lib.tensor(y0, dtype=lib.float64, requires_grad=True)
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        grads = lib.autograd.grad(lib.atan2(y, x), [y, x], lib.tensor(c, dtype=lib.float64))
        results.append([np.asarray(g) for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
    assert ad.autograd.gradgradcheck(ad.atan2, [ad.tensor([0.3, -2.0], requires_grad=True),
                                                ad.tensor([0.7, 0.5], requires_grad=True)])


def test_floor_divide_and_remainder():
    x = ad.tensor([5.0, -5.0], requires_grad=True)
    y = ad.tensor([3.0, 3.0], requires_grad=True)
    q = x // y
    assert q.tolist() == [1.0, -2.0]
    q.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]
    x.grad = y.grad = None
    r = x % y
    assert r.tolist() == [2.0, 1.0]       # the sign of the divisor
    r.sum().backward()
    # d/dx (x - y floor(x/y)) = 1, d/dy = -floor(x/y) = [-1, 2]
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [-1.0, 2.0]


def test_sqrt_at_zero_is_infinite():
    with np.errstate(divide="ignore"):
        assert grad_of(lambda x: ad.sqrt(x).sum(), [0.0, 4.0]).tolist() == [np.inf, 0.25]


def test_norm_at_zero_has_zero_gradient():
    for p in (2, 1, float("inf"), 3):
        assert grad_of(lambda x: ad.norm(x, p=p), [0.0, 0.0, 0.0]).tolist() == [0, 0, 0]
    # inf-norm ties: |-3| = |3| share, with the sign
    assert grad_of(lambda x: ad.norm(x, p=float("inf")), [1.0, -3.0, 3.0]).tolist() == [0, -.5, .5]


def test_std_of_constant_has_zero_gradient():
    assert grad_of(lambda x: ad.std(x), [2.0, 2.0, 2.0]).tolist() == [0, 0, 0]


def test_prod_with_zeros():
    # d prod / dx_i = product of the others
    assert grad_of(lambda x: ad.prod(x), [2.0, 0.0, 3.0]).tolist() == [0.0, 6.0, 0.0]
    assert grad_of(lambda x: ad.prod(x), [2.0, 0.0, 3.0, 0.0]).tolist() == [0, 0, 0, 0]
    x = ad.tensor([[2.0, 0.0, 3.0, 4.0], [0.0, 1.0, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]],
                  requires_grad=True)
    # prod is multilinear, so central differences are exact even at zeros
    assert ad.autograd.gradcheck(lambda t: ad.prod(t, dim=1), [x], check_forward_ad=True)
    assert ad.autograd.gradgradcheck(lambda t: ad.prod(t, dim=1), [x])


def test_cumprod_with_zeros():
    # out = [2, 0, 0, 0]; d sum(out)/dx = [1 + x1 + x1x2 + x1x2x3, x0 + x0x2 + x0x2x3, 0, 0]
    assert grad_of(lambda x: ad.cumprod(x, 0).sum(), [2.0, 0.0, 3.0, 4.0]).tolist() \
        == [1.0, 2 + 6 + 24, 0.0, 0.0]
    x = ad.tensor([[2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 2.0, 0.0, 3.0, 4.0]], requires_grad=True)
    assert ad.autograd.gradcheck(lambda t: ad.cumprod(t, 1), [x], check_forward_ad=True)
    y = ad.tensor([[2.0, 0.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    assert ad.autograd.gradgradcheck(lambda t: ad.cumprod(t, 1), [y])


def test_var_std_defaults_follow_pytorch_and_numpy_keeps_ddof0():
    x = ad.tensor([1.0, 2.0, 3.0, 6.0])
    # mean 3; squared deviations 4, 1, 0, 9 -> sum 14
    assert x.var().item() == 14 / 3
    assert ad.var(x, unbiased=False).item() == 14 / 4
    assert ad.var(x, correction=0).item() == 14 / 4
    assert np.var(x).item() == 14 / 4
    assert np.var(x, ddof=1).item() == 14 / 3
    assert np.isclose(np.std(x).item(), np.sqrt(14 / 4))


def test_softplus_is_stable_and_follows_threshold():
    x = ad.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = ad.softplus(x)
    assert y.tolist() == [0.0, np.log(2.0), 1000.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.5, 1.0]
    # beta=2, threshold=20: linear once 2x > 20
    assert ad.nn.functional.softplus(ad.tensor([11.0]), beta=2, threshold=20).item() == 11.0


def test_logsumexp_and_softmax_are_stable():
    x = ad.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], requires_grad=True)
    out = ad.logsumexp(x, dim=1)
    assert np.allclose(out.detach().numpy(), [1000 + np.log(2), -1000 + np.log(2)])
    out.sum().backward()
    # exp(x - out) with out rounded near 1000: equal to 1/2 within an ulp of 1000
    np.testing.assert_allclose(x.grad.numpy(), 0.5, rtol=1e-12)
    assert ad.softmax(x, dim=1).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    assert np.all(np.isfinite(ad.log_softmax(ad.tensor([0.0, -2000.0]), dim=0).numpy()))


def test_erf_matches_math_erf_and_its_derivative():
    import math
    xs = [-3.0, -0.5, 0.0, 0.3, 2.0]
    assert ad.erf(ad.tensor(xs)).tolist() == [math.erf(v) for v in xs]
    g = grad_of(lambda x: ad.erf(x).sum(), xs)
    assert np.allclose(g, [2 / math.sqrt(math.pi) * math.exp(-v * v) for v in xs], rtol=1e-15)


def test_gelu_values():
    import math
    # gelu(x) = x * Phi(x), Phi(1) = (1 + erf(1/sqrt 2)) / 2
    assert np.isclose(ad.gelu(ad.tensor(1.0)).item(), 0.5 * (1 + math.erf(1 / math.sqrt(2))))
    k = math.sqrt(2 / math.pi)
    assert np.isclose(ad.gelu(ad.tensor(1.0), approximate="tanh").item(),
                      0.5 * (1 + math.tanh(k * (1 + 0.044715))))
    assert grad_of(lambda x: ad.gelu(x), 0.0).item() == 0.5


def test_second_derivative_through_relu_is_zeros_as_in_torch():
    # relu's gradient is piecewise constant; PyTorch keeps it in the graph (its double
    # backward gives zeros) while a constant gradient (sum's) does not require grad
    torch = pytest.importorskip("torch")
    for lib in (ad, torch):
        x = lib.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        (g,) = lib.autograd.grad(lib.relu(x).sum(), x, create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad((g * lib.tensor(np.array([1.0, 2.0, 3.0]))).sum(), x)
        np.testing.assert_array_equal(np.array(g.tolist()), [1.0, 0.0, 1.0])
        np.testing.assert_array_equal(np.array(gg.tolist()), [0.0, 0.0, 0.0])
        (g,) = lib.autograd.grad((x * 2.0).sum(), x, create_graph=True)
        assert not g.requires_grad


def test_unbind_of_a_0d_tensor_raises_naming_the_op():
    # PyTorch raises IndexError: a 0-d tensor has no dimension 0 to unbind.
    with pytest.raises(IndexError, match="unbind: a 0-d tensor"):
        ad.unbind(ad.tensor(1.0, requires_grad=True))
    assert [p.item() for p in ad.unbind(ad.tensor([1.0, 2.0]))] == [1.0, 2.0]
