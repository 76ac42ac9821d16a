"""The gradient of a broadcast input is the incoming gradient summed back to its shape,
with NumPy's own bits: row by row over the leading axes, pairwise down one column."""
import numpy as np
import pytest

import autodiff as ad


@pytest.mark.parametrize("g_shape, b_shape", [
    ((64, 128), (128,)),        # a bias in a training step
    ((64, 10), (10,)),
    ((10000, 3), (3,)),         # many rows: the order of the additions shows
    ((512, 256), (256,)),
    ((1000, 1000, 3), (3,)),    # big and tall
    ((300, 4097), (4097,)),     # columns not a multiple of the vector width
    ((5, 3, 4), (4,)),
    ((5, 3, 4), (3, 4)),
    ((0, 3), (3,)),             # no rows: zeros
    ((100000, 1), (1,)),        # one column: NumPy sums it pairwise
    ((100000,), ()),
])
def test_broadcast_gradient_is_numpys_sum_bit_for_bit(g_shape, b_shape):
    rng = np.random.default_rng(0)
    g = rng.standard_normal(g_shape) * 10.0 ** rng.uniform(-8, 8, g_shape)
    b = ad.tensor(np.zeros(b_shape), requires_grad=True)
    (ad.tensor(np.zeros(g_shape)) + b).backward(ad.tensor(g))
    lead = tuple(range(len(g_shape) - len(b_shape)))
    expected = np.add.reduce(g, axis=lead)
    assert b.grad.shape == b_shape
    np.testing.assert_array_equal(b.grad.numpy(), expected)


def test_broadcast_gradient_of_a_strided_or_float32_gradient():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((20, 6))[:, ::2]                 # not C-contiguous
    b = ad.tensor(np.zeros(3), requires_grad=True)
    (ad.tensor(np.zeros((20, 3))) + b).backward(ad.tensor(g))
    np.testing.assert_array_equal(b.grad.numpy(), np.add.reduce(g, axis=0))
    g32 = rng.standard_normal((20, 3)).astype(np.float32)
    b32 = ad.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    (ad.tensor(np.zeros((20, 3), dtype=np.float32)) + b32).backward(ad.tensor(g32))
    assert b32.grad.dtype == np.float32
    np.testing.assert_array_equal(b32.grad.numpy(), np.add.reduce(g32, axis=0))
