"""SPEC §3: dtype rules, non-scalar backward, gradient shapes, broadcasting, indexing."""
import numpy as np
import pytest

import autodiff as ad


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_tensor_cannot_require_grad(dtype):
    with pytest.raises(RuntimeError, match=np.dtype(dtype).name):
        ad.tensor(np.array([1, 0], dtype=dtype), requires_grad=True)
    t = ad.tensor(np.array([1, 0], dtype=dtype))
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match=np.dtype(dtype).name):
        t.requires_grad = True
    assert not t.requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tensors_can_require_grad(dtype):
    t = ad.tensor([1.0, 2.0], dtype=dtype, requires_grad=True)
    assert t.requires_grad and t.dtype == dtype


def test_float32_float64_promotion_and_gradient_dtypes():
    a = ad.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    b = ad.tensor([3.0, 4.0], requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0])


def test_float32_stays_float32_through_graph():
    a = ad.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = (ad.exp(a) * 2.0 + 1).sum()
    assert y.dtype == np.float32
    y.backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_gradient_has_tensor_shape_with_broadcasting():
    a = ad.ones((3, 1), requires_grad=True)
    b = ad.ones((4,), requires_grad=True)
    c = ad.tensor(2.0, requires_grad=True)
    y = a * b * c
    assert y.shape == (3, 4)
    y.backward(ad.ones((3, 4)))
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 6.0))
    assert c.grad.item() == 12.0


def test_non_scalar_backward_without_gradient_raises():
    x = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        ad.autograd.grad(x * 2, x)


def test_one_element_non_0d_output_backward_is_allowed():
    x = ad.ones((1, 1), requires_grad=True)
    (x * 3).backward()
    assert x.grad.item() == 3.0


def test_backward_with_gradient_is_vjp():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    x = ad.tensor(rng.standard_normal(4), requires_grad=True)
    v = rng.standard_normal(3)
    y = ad.tensor(W) @ x
    y.backward(ad.tensor(v))
    np.testing.assert_allclose(x.grad.numpy(), v @ W)


def test_gradient_of_wrong_shape_names_both_shapes():
    x = ad.ones((2, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(3, 2\).*\(2, 3\)"):
        (x * 2).backward(ad.ones((3, 2)))
    with pytest.raises(RuntimeError, match=r"\(6,\).*\(2, 3\)"):
        ad.autograd.grad(x * 2, x, grad_outputs=np.ones(6))


def test_broadcast_gradients_are_summed_back():
    x = ad.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    y = ad.tensor(np.arange(4.0), requires_grad=True)
    (x + y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(4, 3.0))
    x.grad = None
    ((x - y) ** 2).sum().backward()
    xv, yv = np.arange(3.0).reshape(3, 1), np.arange(4.0)
    np.testing.assert_allclose(x.grad.numpy(), (2 * (xv - yv)).sum(axis=1, keepdims=True))


def test_indexing_gradients_slices_none_ellipsis_bool():
    data = np.arange(12.0).reshape(3, 4)
    x = ad.tensor(data, requires_grad=True)
    y = x[1:, ::2].sum() + x[None, ..., 0].sum() * 2 + x[x.detach().numpy() > 9].sum() * 3
    y.backward()
    expect = np.zeros((3, 4))
    expect[1:, ::2] += 1
    expect[:, 0] += 2
    expect[data > 9] += 3
    np.testing.assert_array_equal(x.grad.numpy(), expect)


def test_integer_indexing_repeated_indices_accumulate():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = np.array([0, 2, 0, 0])
    x[idx].backward(ad.tensor([1.0, 10.0, 100.0, 1000.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1101.0, 0.0, 10.0])
    m = ad.tensor(np.ones((2, 3)), requires_grad=True)
    (m[[1, 1], [2, 2]] * ad.tensor([2.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [[0, 0, 0], [0, 0, 7.0]])
