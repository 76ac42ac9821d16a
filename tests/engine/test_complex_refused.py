"""Complex autograd is not supported yet: every way in raises instead of a wrong gradient.

Before, ``t = ad.tensor([1+2j, 0.5-1j], requires_grad=True)`` was accepted and
``(ad.abs(t*t)**2).sum()`` gave the gradient [-44-8j, -5.5+1j] where PyTorch's
convention gives [20+40j, 2.5-5j].
"""
import numpy as np
import pytest

import autodiff as ad
import autodiff.autograd.forward_ad as fwAD

COMPLEX = np.array([1 + 2j, 0.5 - 1j])


def _set_attribute():
    t = ad.tensor(COMPLEX)
    t.requires_grad = True


def _set_data():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.data = ad.tensor(COMPLEX)


MAKERS = {
    "tensor": lambda: ad.tensor(COMPLEX, requires_grad=True),
    "Tensor": lambda: ad.Tensor(COMPLEX, requires_grad=True),
    "requires_grad_": lambda: ad.tensor(COMPLEX).requires_grad_(),
    "requires_grad=": _set_attribute,
    "data=": _set_data,
    "zeros": lambda: ad.zeros(2, dtype=complex, requires_grad=True),
    "ones-complex64": lambda: ad.ones(2, dtype=np.complex64, requires_grad=True),
    "full": lambda: ad.full((2,), 1j, requires_grad=True),
    "empty": lambda: ad.empty(2, dtype=np.complex128, requires_grad=True),
    "eye": lambda: ad.eye(2, dtype=np.complex128, requires_grad=True),
    "zeros_like": lambda: ad.zeros_like(ad.tensor(COMPLEX), requires_grad=True),
    "full_like": lambda: ad.full_like(ad.tensor(COMPLEX), 1j, requires_grad=True),
    "Parameter": lambda: ad.nn.Parameter(ad.tensor(COMPLEX)),
    "Variable": lambda: ad.autograd.Variable(ad.tensor(COMPLEX), requires_grad=True),
    "Variable-array": lambda: ad.autograd.Variable(COMPLEX, requires_grad=True),
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_requires_grad_on_a_complex_tensor_raises_naming_the_dtype(make):
    with pytest.raises(RuntimeError, match=r"complex(64|128).*complex autograd is not supported"):
        make()


def test_complex_tensors_without_grad_still_work():
    t = ad.tensor(COMPLEX)
    np.testing.assert_array_equal((t * t).numpy(), COMPLEX * COMPLEX)
    assert not ad.nn.Parameter(ad.tensor(COMPLEX), requires_grad=False).requires_grad


@pytest.mark.parametrize("primal, tangent, which", [
    (COMPLEX, np.ones(2), "primal"),
    (np.ones(2), COMPLEX, "tangent"),
])
def test_make_dual_refuses_a_complex_primal_or_tangent(primal, tangent, which):
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=f"{which} has dtype complex128.*not supported"):
            fwAD.make_dual(ad.tensor(primal), ad.tensor(tangent))


# Real inputs that require grad, complex result: the op is named instead of recording
# a node whose gradient would be complex.
COMPLEX_RESULTS = {
    "mul": lambda x: x * 1j,
    "mul-reflected": lambda x: 1j * x,
    "add-complex-array": lambda x: x + COMPLEX,
    "astype": lambda x: x.astype(np.complex128),
    "pow": lambda x: x ** (0.5 + 1j),
    "mul-0d-fast-path": lambda x: x[0] * 1j,
}


@pytest.mark.parametrize("name, fn", COMPLEX_RESULTS.items(), ids=COMPLEX_RESULTS.keys())
def test_an_op_with_a_complex_result_from_inputs_that_require_grad_raises(name, fn):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    op = name.split("-")[0]
    with pytest.raises(RuntimeError, match=f"{op}: the result has dtype complex128"):
        fn(x)
    # without a graph the same op computes its complex value
    with ad.no_grad():
        assert fn(x).dtype == np.complex128
    assert fn(x.detach()).dtype == np.complex128


def test_forward_mode_refuses_a_complex_result():
    with fwAD.dual_level():
        d = fwAD.make_dual(ad.tensor([1.0, 2.0]), ad.tensor([1.0, 0.0]))
        with pytest.raises(RuntimeError, match="mul: the result has dtype complex128"):
            d * 1j


def test_custom_function_with_a_complex_output_raises():
    class ToComplex(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1j

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="ToComplex.forward.*complex128"):
        ToComplex.apply(ad.tensor([1.0], requires_grad=True))
