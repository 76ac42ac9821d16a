"""autodiff.func transforms: values, composition and structures (as torch.func)."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import func

RNG = np.random.default_rng(2)


def f(x):
    return (ad.sin(x) * x ** 2).sum()


def test_grad_and_value():
    x = RNG.standard_normal(5)
    g, v = func.grad_and_value(f)(ad.tensor(x))
    np.testing.assert_allclose(g.numpy(), np.cos(x) * x ** 2 + 2 * x * np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(v.numpy(), (np.sin(x) * x ** 2).sum())
    assert not g.requires_grad


def test_grad_argnums_and_aux():
    x, y = ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0])
    gx, gy = func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx.numpy(), y.numpy())
    np.testing.assert_allclose(gy.numpy(), x.numpy())
    g, aux = func.grad(lambda a: ((a ** 2).sum(), a * 3), has_aux=True)(x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())
    np.testing.assert_allclose(aux.detach().numpy(), 3 * x.detach().numpy())
    with pytest.raises(RuntimeError, match="scalar"):
        func.grad(lambda a: a * 2)(x)


def test_nested_grad():
    g3 = func.grad(func.grad(func.grad(lambda a: a ** 4)))
    np.testing.assert_allclose(g3(ad.tensor(2.0)).numpy(), 24 * 2.0)


def test_jacrev_jacfwd_agree_with_closed_form():
    A = RNG.standard_normal((6, 4))
    x = RNG.standard_normal(4)
    g = lambda a: ad.tanh(ad.tensor(A) @ a)
    J = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(func.jacrev(g)(ad.tensor(x)).numpy(), J, atol=1e-12)
    np.testing.assert_allclose(func.jacfwd(g)(ad.tensor(x)).numpy(), J, atol=1e-12)


def test_hessian_compositions_agree():
    n = 20
    A = RNG.standard_normal((n, n)) / np.sqrt(n)
    x = RNG.standard_normal(n)
    w5 = lambda a: (ad.tanh(ad.tensor(A) @ a) ** 2).sum() + 0.5 * (a @ a)
    t = np.tanh(A @ x)
    H = A.T @ np.diag(2 * (1 - t ** 2) * (1 - 3 * t ** 2)) @ A + np.eye(n)
    for h in (func.hessian(w5), func.jacfwd(func.jacrev(w5)), func.jacrev(func.jacrev(w5)),
              func.jacrev(func.grad(w5)), func.jacfwd(func.grad(w5))):
        np.testing.assert_allclose(h(ad.tensor(x)).numpy(), H, atol=1e-10)


def test_jacobian_structures_like_torch_func():
    x, y = ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0, 5.0])
    for jac in (func.jacrev, func.jacfwd):
        J = jac(lambda a, b: a.sum() * b, argnums=(0, 1))(x, y)
        assert isinstance(J, tuple) and J[0].shape == (3, 2) and J[1].shape == (3, 3)
        J = jac(lambda a: (a * 2, a.sum()))(x)
        assert isinstance(J, tuple) and J[0].shape == (2, 2) and J[1].shape == (2,)
        J = jac(lambda a, b: (a * 2, b.sum()), argnums=(0, 1))(x, y)
        assert J[0][1].shape == (2, 3) and J[1][1].shape == (3,)


def test_vjp_and_jvp():
    x = ad.tensor(RNG.standard_normal(3))
    out, vjp_fn = func.vjp(ad.sin, x)
    (g,) = vjp_fn(ad.ones(3))
    np.testing.assert_allclose(g.numpy(), np.cos(x.numpy()))
    np.testing.assert_allclose(out.numpy(), np.sin(x.numpy()))
    out, t = func.jvp(ad.sin, (x,), (ad.ones(3),))
    np.testing.assert_allclose(t.numpy(), np.cos(x.numpy()))
    with pytest.raises(RuntimeError, match="tuples"):
        func.jvp(ad.sin, x, ad.ones(3))


def test_vmap():
    xs = ad.tensor(RNG.standard_normal((4, 3)))
    w = ad.tensor(RNG.standard_normal(3))
    out = func.vmap(lambda a, b: (a * b).sum(), in_dims=(0, None))(xs, w)
    np.testing.assert_allclose(out.numpy(), xs.numpy() @ w.numpy())
    per_example = func.vmap(func.grad(lambda a: (a ** 3).sum()))(xs)
    np.testing.assert_allclose(per_example.numpy(), 3 * xs.numpy() ** 2)
    out = func.vmap(lambda a: a * 2, in_dims=1, out_dims=1)(xs)
    np.testing.assert_allclose(out.numpy(), xs.numpy() * 2)
