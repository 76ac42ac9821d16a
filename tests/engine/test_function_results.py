"""What a custom Function's ``backward`` and ``jvp`` return is checked as PyTorch's
engine checks it (count, type, shape, dtype), naming the Function and the index; a
gradient of a shape the input expands to is summed back, a real dtype is cast."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Function
from autodiff.autograd import forward_ad as fwad


def _backward_returning(result):
    class Returns(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return result

    return Returns


def _run(result, shape=(3,)):
    x = ad.tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True)
    _backward_returning(result).apply(x).sum().backward()
    return x.grad


@pytest.mark.parametrize("shape", [(1,), (2,), ()])
def test_gradient_of_a_shape_not_expandable_from_the_input_raises(shape):
    with pytest.raises(RuntimeError, match=r"Function ReturnsBackward returned an invalid "
                                           r"gradient at index 0 - got %s but expected shape "
                                           r"compatible with \[3\]"
                                           % (r"\[" + ", ".join(map(str, shape)) + r"\]")):
        _run(ad.ones(*shape))


def test_gradient_the_input_expands_to_is_summed_back():
    torch = pytest.importorskip("torch")

    class Returns(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return torch.arange(6.0, dtype=torch.float64).reshape(2, 1, 3)

    xt = torch.ones(1, 3, dtype=torch.float64, requires_grad=True)
    Returns.apply(xt).sum().backward()
    got = _run(ad.tensor(np.arange(6.0).reshape(2, 1, 3)), shape=(1, 3))
    np.testing.assert_array_equal(got.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("result", ["abc", [1.0, 1.0, 1.0], 2.0],
                         ids=["str", "list", "float"])
def test_gradient_that_is_not_a_tensor_raises_type_error(result):
    with pytest.raises(TypeError, match=r"function ReturnsBackward returned a %s as the "
                                        r"gradient at index 0" % type(result).__name__):
        _run(result)


def test_ndarray_gradient_is_taken():
    np.testing.assert_array_equal(_run(np.full(3, 2.0)).numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_real_gradient_of_another_dtype_is_cast(dtype):
    g = _run(ad.tensor(np.array([1.5, 2.0, 3.0]).astype(dtype)))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.numpy(), np.array([1.5, 2.0, 3.0]).astype(dtype))


def test_complex_gradient_for_a_real_input_raises():
    with pytest.raises(RuntimeError, match=r"function ReturnsBackward returned a gradient of "
                                           r"dtype complex128 at index 0 for an input of "
                                           r"dtype float64"):
        _run(ad.tensor(np.ones(3) * 1j))


def test_gradient_for_an_input_that_is_not_a_tensor_raises():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, c):
            return x * c

        @staticmethod
        def backward(ctx, g):
            return g * 2.0, ad.tensor(1.0)

    x = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function ScaleBackward returned a gradient "
                                           r"different than None at position 2, but the "
                                           r"corresponding forward input was not a Tensor"):
        Scale.apply(x, 2.0).sum().backward()


def _jvp_returning(result):
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def jvp(ctx, t):
            return result

    with fwad.dual_level():
        x = fwad.make_dual(ad.ones(3), ad.ones(3))
        return fwad.unpack_dual(Twice.apply(x)).tangent


def test_jvp_results_are_checked():
    with pytest.raises(RuntimeError, match=r"Twice\.jvp returned a tangent of shape \(1,\) "
                                           r"for output 0 of shape \(3,\)"):
        _jvp_returning(ad.ones(1))
    with pytest.raises(RuntimeError, match=r"Twice\.jvp returned an invalid number of forward "
                                           r"gradients \(expected 1 but got 2\)"):
        _jvp_returning((ad.ones(3), ad.ones(3)))
    with pytest.raises(TypeError, match=r"Twice\.jvp returned a list for output 0"):
        _jvp_returning([1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match=r"Twice\.jvp returned a tangent of dtype complex128"):
        _jvp_returning(ad.tensor(np.ones(3) * 1j))
    t = _jvp_returning(ad.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32)))
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
