"""Every registered op against finite differences in float64: first and second order
reverse mode and forward mode, from the samples of ``op_db``."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import OPS

from op_db import COVERED_ELSEWHERE, NON_DIFFERENTIABLE, SAMPLES, ZERO_GRADIENT

IDS = [s.id or s.op for s in SAMPLES]


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_first_order_reverse_and_forward(sample):
    inputs = sample.make_inputs(np.random.default_rng(0))
    assert ad.autograd.gradcheck(sample.fn, inputs, check_forward_ad=sample.forward)


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.second_order],
                         ids=[s.id or s.op for s in SAMPLES if s.second_order])
def test_second_order_reverse(sample):
    inputs = sample.make_inputs(np.random.default_rng(1))
    assert ad.autograd.gradgradcheck(sample.fn, inputs)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_second_order_reverse_with_a_constant_cotangent(sample):
    # gradgradcheck's cotangent requires grad, and every first-order gradient then
    # depends on it through recorded ops. Seeded with a constant (as backward() and grad
    # of a sum are), a first-order gradient that varies with the input, even only
    # piecewise (relu's mask, clamp's, max's, where's), must still be part of the graph:
    # a second grad through it must not raise, and must match finite differences (often
    # zeros). One that does not vary (sum's, a slice's, sign's zero) is a constant that
    # does not require grad, as in PyTorch.
    rng = np.random.default_rng(4)
    points = [sample.make_inputs(np.random.default_rng(seed)) for seed in (3, 5, 6)]
    cotangent = rng.standard_normal(sample.fn(*points[0]).shape)
    weights = [ad.tensor(rng.standard_normal(x.shape)) for x in points[0]]

    def weighted_first_order(*xs):
        out = sample.fn(*xs)
        # (a mask's output shape varies with the input: the same numbers, resized)
        gs = ad.autograd.grad(out, xs, ad.tensor(np.resize(cotangent, out.shape)),
                              create_graph=True, materialize_grads=True)
        return sum((g * w).sum() for g, w in zip(gs, weights))

    values = {float(weighted_first_order(*p).detach()) for p in points}
    inputs = points[0]
    if weighted_first_order(*inputs).requires_grad:
        assert ad.autograd.gradcheck(weighted_first_order, inputs)
    else:
        assert len(values) == 1, "a first-order gradient that varies is not in the graph"


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_float32_gradient_keeps_dtype(sample):
    inputs = [ad.tensor(x.detach().numpy().astype(np.float32), requires_grad=True)
              for x in sample.make_inputs(np.random.default_rng(2))]
    out = sample.fn(*inputs)
    out.sum().backward() if out.ndim else out.backward()
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_every_op_has_a_sample():
    sampled = {s.op for s in SAMPLES}
    missing = set(OPS) - sampled - COVERED_ELSEWHERE - NON_DIFFERENTIABLE
    assert not missing, f"ops without a sample in op_db: {sorted(missing)}"


def test_every_op_declares_vjp_and_jvp():
    from autodiff import _core
    for name, spec in OPS.items():
        if name in NON_DIFFERENTIABLE:
            assert not spec.differentiable
            continue
        assert any(r is not None for r in spec.vjp_rules), name
        if name in ZERO_GRADIENT:
            # derivative zero everywhere it exists: no tangent, zero gradient
            assert spec.jvp_kind == _core.JVP_NONE, name
            continue
        assert spec.jvp_kind not in (_core.JVP_NONE, _core.JVP_MISSING), f"{name} has no JVP rule"


@pytest.mark.parametrize("name", sorted(ZERO_GRADIENT))
def test_zero_gradient_ops_give_zero_gradients(name):
    x = ad.tensor([0.3, 1.7, -2.2], requires_grad=True)
    fn = getattr(ad, name)
    y = fn(x, 2.0) if name == "floor_divide" else fn(x)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


def test_pass_grad_rules_are_marked_for_the_engine():
    from autodiff.ops._registry import pass_grad
    for name, spec in OPS.items():
        if spec.n_outputs:
            assert spec.vjp_pass is None, name
        else:
            assert spec.vjp_pass == tuple(r is pass_grad for r in spec.vjp_rules), name
    assert OPS["add"].vjp_pass == (True, True) and OPS["sub"].vjp_pass == (True, False)


def test_pass_grad_inputs_get_g_unbroadcast_and_cast():
    # the engine skips the call of a pass_grad rule, not the unbroadcast and the cast
    g = np.arange(6.0).reshape(2, 3)
    a = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    b = ad.tensor(np.ones((2, 3)), requires_grad=True)
    (a + b).backward(ad.tensor(g))
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad.numpy(), g.sum(0))
    np.testing.assert_array_equal(b.grad.numpy(), g)
    a.grad = b.grad = None
    (b - a).backward(ad.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), -g.sum(0))
    np.testing.assert_array_equal(b.grad.numpy(), g)
    # second order through a pass_grad edge: d/dx of d(x*x + x)/dx = 2
    x = ad.tensor([1.5, -2.0], requires_grad=True)
    (gx,) = ad.autograd.grad((x * x + x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), 2 * x.detach().numpy() + 1)
    (ggx,) = ad.autograd.grad(gx.sum(), x)
    np.testing.assert_array_equal(ggx.numpy(), [2.0, 2.0])
