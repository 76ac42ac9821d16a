"""_core.broadcast_view: np.broadcast_to without its Python layers (used by reduction rules)."""
import numpy as np
import pytest

from autodiff import _core


@pytest.mark.parametrize("src_shape, shape", [
    ((), (2, 3)), ((3,), (2, 3)), ((2, 1), (2, 3)), ((1, 3), (4, 2, 3)), ((2, 3), (2, 3)),
    ((1,), (0,)), ((2, 1, 4), (5, 2, 3, 4)),
])
def test_matches_numpy_broadcast_to(src_shape, shape):
    a = np.arange(float(np.prod(src_shape, dtype=int))).reshape(src_shape)
    view = _core.broadcast_view(a, shape)
    assert view.shape == shape
    np.testing.assert_array_equal(view, np.broadcast_to(a, shape))
    assert view.dtype == a.dtype


def test_view_shares_memory_and_is_read_only():
    a = np.array([[1.0], [2.0]])
    view = _core.broadcast_view(a, (2, 3))
    assert np.shares_memory(view, a)
    assert not view.flags.writeable
    a[1, 0] = 7.0
    assert view[1].tolist() == [7.0, 7.0, 7.0]


def test_strided_source():
    a = np.arange(12.0).reshape(3, 4)[:, ::2]          # non-contiguous
    np.testing.assert_array_equal(_core.broadcast_view(a, (2, 3, 2)),
                                  np.broadcast_to(a, (2, 3, 2)))


def test_numpy_scalar_source():
    view = _core.broadcast_view(np.float32(1.5), (2,))
    assert view.dtype == np.float32 and view.tolist() == [1.5, 1.5]


@pytest.mark.parametrize("src_shape, shape", [((3,), (4,)), ((2, 3), (3,)), ((2,), (2, 3))])
def test_incompatible_shapes_raise_naming_both(src_shape, shape):
    with pytest.raises(ValueError, match=r"cannot broadcast an array of shape .* to shape"):
        _core.broadcast_view(np.zeros(src_shape), shape)
