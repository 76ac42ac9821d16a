"""t.backward() without arguments takes _core.backward_default: same results and errors."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import _core


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_has_the_output_dtype_and_shape(dtype):
    x = ad.tensor(np.array([[1.0, 2.0]], dtype=dtype), requires_grad=True)
    y = (x * x).sum(dim=1, keepdim=True)          # shape (1, 1): one element, not 0-d
    assert _core.backward_default(y) is True
    assert x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 4.0]])


def test_non_scalar_is_left_to_the_general_path():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    assert _core.backward_default(y) is False
    assert x.grad is None
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        y.backward()


def test_integer_output_is_left_to_the_general_path():
    t = ad.tensor(3)
    assert _core.backward_default(t) is False
    with pytest.raises(RuntimeError, match="real scalar"):
        t.backward()


def test_output_without_grad_raises_as_pytorch():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.tensor(2.0).backward()


def test_second_call_without_retain_graph_raises():
    x = ad.tensor(2.0, requires_grad=True)
    y = ad.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    assert x.grad.item() == pytest.approx(3 * np.exp(2.0))
