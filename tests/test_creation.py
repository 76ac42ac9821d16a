"""SPEC §2 creation functions: NumPy dtype defaults, requires_grad=, shapes."""
import numpy as np
import pytest

import autodiff as ad


def test_default_dtypes_follow_numpy():
    assert ad.tensor(0.0).dtype == np.float64
    assert ad.tensor([1, 2]).dtype == np.int64
    assert ad.tensor(np.float32(1.0)).dtype == np.float32
    assert ad.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert ad.tensor([1.0], dtype=np.float32).dtype == np.float32
    for t in (ad.ones(3), ad.zeros(3), ad.empty(3), ad.eye(3), ad.rand(3), ad.randn(3),
              ad.full((3,), 1.0), ad.linspace(0, 1, 3)):
        assert t.dtype == np.float64, t
    assert ad.ones(3, dtype=np.float32).dtype == np.float32
    assert ad.rand(3, dtype=np.float32).dtype == np.float32
    assert ad.Tensor([1, 2]).dtype == np.float64       # ad.Tensor makes float tensors


@pytest.mark.parametrize("make", [
    lambda **k: ad.tensor([1.0, 2.0], **k), lambda **k: ad.zeros(2, **k),
    lambda **k: ad.ones((2,), **k), lambda **k: ad.full((2,), 3.0, **k),
    lambda **k: ad.empty(2, **k), lambda **k: ad.eye(2, **k),
    lambda **k: ad.arange(0.0, 2.0, **k), lambda **k: ad.linspace(0, 1, 2, **k),
    lambda **k: ad.rand(2, **k), lambda **k: ad.randn(2, **k),
    lambda **k: ad.zeros_like(ad.ones(2), **k), lambda **k: ad.ones_like(ad.ones(2), **k),
    lambda **k: ad.full_like(ad.ones(2), 5.0, **k), lambda **k: ad.rand_like(ad.ones(2), **k),
    lambda **k: ad.randn_like(ad.ones(2), **k), lambda **k: ad.Tensor([1.0], **k),
])
def test_requires_grad_flag(make):
    t = make(requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not make().requires_grad


def test_shapes_and_values():
    assert ad.zeros(2, 3).shape == (2, 3) == ad.zeros((2, 3)).shape
    assert ad.ones([4]).shape == (4,)
    np.testing.assert_array_equal(ad.eye(2, 3).numpy(), np.eye(2, 3))
    np.testing.assert_array_equal(ad.arange(1, 7, 2).numpy(), [1, 3, 5])
    np.testing.assert_array_equal(ad.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(ad.full((2,), 7).numpy(), [7, 7])
    like = ad.ones((2, 3), dtype=np.float32)
    for f in (ad.zeros_like, ad.ones_like, ad.rand_like, ad.randn_like):
        out = f(like)
        assert out.shape == (2, 3) and out.dtype == np.float32
    r = ad.rand(1000)
    assert r.numpy().min() >= 0 and r.numpy().max() < 1


def test_integer_creation_cannot_require_grad():
    with pytest.raises(RuntimeError, match="int64"):
        ad.arange(3, requires_grad=True)


def test_manual_seed_reproducible():
    ad.manual_seed(123)
    a, b = ad.rand(4), ad.randn(4)
    ad.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), ad.rand(4).numpy())
    np.testing.assert_array_equal(b.numpy(), ad.randn(4).numpy())


def test_tensor_copies_from_numpy_shares():
    arr = np.zeros(3)
    t = ad.tensor(arr)
    f = ad.from_numpy(arr)
    arr[0] = 5.0
    assert t.numpy()[0] == 0.0 and f.numpy()[0] == 5.0
    with pytest.raises(TypeError):
        ad.from_numpy([1.0, 2.0])


def test_tensor_of_tensor_is_a_new_leaf():
    x = ad.ones(2, requires_grad=True)
    y = ad.tensor(x * 2)
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [2.0, 2.0])
    z = ad.tensor([ad.tensor(1.0), ad.tensor(2.0)])
    np.testing.assert_array_equal(z.numpy(), [1.0, 2.0])
