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
def test_float32_gradient_keeps_dtype(sample):
    inputs = [ad.tensor(x.numpy().astype(np.float32), requires_grad=True)
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
