"""Forward mode: dual tensors, JVP rules, batched tangents, and composition with reverse mode."""
import numpy as np
import pytest

import autodiff as ad
import autodiff.autograd.forward_ad as fwAD
from autodiff.ops import OPS

RNG = np.random.default_rng(0)


def _fd_jvp(f, x, v, eps=1e-6):
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


def _rev_jvp(f, x, v):
    """J v from reverse mode: the full Jacobian by one VJP per output element."""
    xt = ad.tensor(x, requires_grad=True)
    y = f(xt)
    rows = [ad.autograd.grad(y.reshape(-1)[k], xt, retain_graph=True)[0].numpy().reshape(-1)
            for k in range(y.numel())]
    return (np.array(rows) @ v.reshape(-1)).reshape(y.shape)


CASES = {
    "sin*exp": lambda x: ad.sin(x) * ad.exp(x),
    "tanh(A@x)": lambda x: ad.tanh(ad.tensor(np.arange(12.0).reshape(4, 3) / 10) @ x),
    "sum-reshape": lambda x: (x.reshape(3, 1) * x).sum(axis=0),
    "div-pow": lambda x: x / (1 + x ** 2),
    "getitem": lambda x: x[1:] * x[:-1],
    "where": lambda x: ad.where(x > 0, x ** 2, -x),
    "sigmoid-mean": lambda x: ad.sigmoid(x).mean(keepdims=True) * x,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_matches_reverse_and_fd(name):
    f = CASES[name]
    x = RNG.standard_normal(3)
    v = RNG.standard_normal(3)
    with fwAD.dual_level():
        out = fwAD.unpack_dual(f(fwAD.make_dual(ad.tensor(x), ad.tensor(v))))
    np.testing.assert_allclose(out.tangent.numpy(), _rev_jvp(f, x, v), rtol=1e-10, atol=1e-12)
    fd = _fd_jvp(lambda a: f(ad.tensor(a)).numpy(), x, v)
    np.testing.assert_allclose(out.tangent.numpy(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(CASES))
def test_batched_tangents_match_one_at_a_time(name):
    f = CASES[name]
    x = RNG.standard_normal(3)
    vs = RNG.standard_normal((4, 3))
    with fwAD._batched_dual_level():
        batched = fwAD.unpack_dual(f(fwAD.make_dual(ad.tensor(x), vs))).tangent.numpy()
    for b in range(4):
        with fwAD.dual_level():
            one = fwAD.unpack_dual(f(fwAD.make_dual(ad.tensor(x), vs[b]))).tangent.numpy()
        np.testing.assert_allclose(batched[b], one, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sx,sy", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)),
                                   ((5, 2, 3), (3,)), ((1, 2, 3), (5, 3, 4))])
def test_batched_matmul_all_ranks(sx, sy):
    x0, y0 = RNG.standard_normal(sx), RNG.standard_normal(sy)
    tx, ty = RNG.standard_normal((3,) + sx), RNG.standard_normal((3,) + sy)
    with fwAD._batched_dual_level():
        out = ad.tensor(x0)
        r = fwAD.make_dual(out, tx) @ fwAD.make_dual(ad.tensor(y0), ty)
        tan = fwAD.unpack_dual(r).tangent.numpy()
    ref = np.stack([tx[b] @ y0 + x0 @ ty[b] for b in range(3)])
    np.testing.assert_allclose(tan, ref, rtol=1e-12)


def test_unpack_dual_is_named_tuple_and_tangent_gone_after_level():
    with fwAD.dual_level():
        d = fwAD.make_dual(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 0.0]))
        y = d * d
        p, t = fwAD.unpack_dual(y)
        assert fwAD.unpack_dual(y).primal is not None
        np.testing.assert_allclose(t.numpy(), [2.0, 0.0])
        np.testing.assert_allclose(p.numpy(), [1.0, 4.0])
        assert fwAD.unpack_dual(p).tangent is None
    assert fwAD.unpack_dual(y).tangent is None


def test_make_dual_checks_shape_and_level():
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(ad.ones(2), ad.ones(2))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(ad.ones(2), ad.ones(3))


def test_zero_derivative_ops_give_no_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(ad.tensor([1.5, -2.5]), ad.tensor([1.0, 1.0]))
        assert fwAD.unpack_dual(d > 0).tangent is None
        t = fwAD.unpack_dual(ad.floor(d) + d).tangent
        np.testing.assert_allclose(t.numpy(), [1.0, 1.0])


def test_op_without_jvp_rule_raises_naming_it():
    from autodiff import _core
    spec = OPS["sin"]
    saved = spec.jvp_kind
    spec.jvp_kind = _core.JVP_MISSING
    try:
        with fwAD.dual_level():
            d = fwAD.make_dual(ad.tensor([1.0]), ad.tensor([1.0]))
            with pytest.raises(NotImplementedError, match="sin"):
                ad.sin(d)
    finally:
        spec.jvp_kind = saved


def test_custom_function_jvp():
    class Cube(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            ctx.x = x
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return g * 3 * ctx.x ** 2

        @staticmethod
        def jvp(ctx, t):
            return t * 3 * ctx.x ** 2

    with fwAD.dual_level():
        d = fwAD.make_dual(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 1.0]))
        t = fwAD.unpack_dual(Cube.apply(d) * 2).tangent
    np.testing.assert_allclose(np.asarray(t), [6.0, 24.0])


def test_forward_over_reverse_gives_hessian_vector_product():
    A = RNG.standard_normal((4, 4))
    x0, v = RNG.standard_normal(4), RNG.standard_normal(4)

    def f(x):
        return (ad.tanh(ad.tensor(A) @ x) ** 2).sum()

    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor(x0, requires_grad=True), ad.tensor(v))
        (g,) = ad.autograd.grad(f(x), x, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent.detach().numpy()
    t = np.tanh(A @ x0)
    H = A.T @ np.diag(2 * (1 - t ** 2) * (1 - 3 * t ** 2)) @ A
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10)


def test_reverse_over_forward_differentiates_the_tangent():
    x0 = np.array([0.3, -0.7])
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor(x0), w)
        tan = fwAD.unpack_dual(ad.sin(x) * x).tangent      # (cos x * x + sin x) * w
        tan.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.cos(x0) * x0 + np.sin(x0), rtol=1e-12)


def test_tangents_of_a_closed_dual_level_do_not_leak_into_a_later_one():
    import autodiff.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 1.0]))
        y = x * x                  # carries tangent 2x in this level
    with fwAD.dual_level():
        assert fwAD.unpack_dual(y * 2).tangent is None
        w = fwAD.make_dual(ad.tensor([3.0, 4.0]), ad.tensor([1.0, 0.0]))
        np.testing.assert_allclose(fwAD.unpack_dual(w * y).tangent.numpy(), [1.0, 0.0])
