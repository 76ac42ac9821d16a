"""Indexing: every kind of index differentiates (first and second order), repeated
indices accumulate, and ``x[idx] = v`` is a tracked in-place op."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def leaf(*shape):
    return ad.tensor(RNG.uniform(-2, 2, shape), requires_grad=True)


INDICES = [
    (slice(1, None), "slice"),
    ((slice(None, None, -1), 1), "negative-step-int"),
    ((None, Ellipsis, 0), "none-ellipsis-int"),
    (([0, 2, 0, 0],), "repeated-int-list"),
    ((np.array([[1, 1], [0, 2]]), slice(0, 2)), "2d-int-array-slice"),
    ((ad.tensor([2, 2, 1]), ad.tensor([0, 0, 3])), "tensor-pair"),
    ((Ellipsis, np.array([True, False, True, True])), "bool-mask-last"),
    ((1, [3, 3, -1]), "int-and-repeated-array"),
    (np.array(2), "0d-int-array"),
]


@pytest.mark.parametrize("idx", [i for i, _ in INDICES], ids=[n for _, n in INDICES])
def test_getitem_first_and_second_order(idx):
    x = leaf(3, 4)
    assert gradcheck(lambda t: t[idx] ** 2, (x,), check_forward_ad=True)
    assert gradgradcheck(lambda t: t[idx] ** 2, (x,))


def test_bool_tensor_mask_selects_and_scatters_back():
    x = leaf(3, 4)
    mask = x > 0
    y = x[mask]
    assert y.shape == (int(mask.numpy().sum()),)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), mask.numpy().astype(float))


def test_repeated_indices_accumulate():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_repeated_indices_accumulate_second_order():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = ad.autograd.grad((x[[1, 1, 1]] ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [0.0, 3 * 3 * 4.0, 0.0])
    (h,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [0.0, 3 * 6 * 2.0, 0.0])


def test_basic_index_of_one_element_is_a_view_and_0d():
    x = ad.zeros(3)
    y = x[1]
    assert y.shape == ()
    y.fill_(5.0)       # no autograd involved: writes through the view
    np.testing.assert_array_equal(x.numpy(), [0.0, 5.0, 0.0])


def test_setitem_gradient_to_base_and_value():
    x = leaf(3, 4)
    v = leaf(4)
    y = x * 1.0
    y[1] = v * 2.0
    (y * y).sum().backward()
    expected = 2 * x.detach().numpy()
    expected[1] = 0.0          # overwritten entries get no gradient
    np.testing.assert_allclose(x.grad.numpy(), expected)
    np.testing.assert_allclose(v.grad.numpy(), 2 * (2 * 2 * v.detach().numpy()))


def test_setitem_with_advanced_index_and_broadcast_value():
    x = leaf(4, 3)
    v = leaf(1)
    y = x.clone()
    y[[0, 2]] = v
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[[0, 2]], 0.0)
    np.testing.assert_array_equal(x.grad.numpy()[[1, 3]], 1.0)
    np.testing.assert_array_equal(v.grad.numpy(), [6.0])


def test_setitem_second_order_and_gradcheck():
    def f(x, v):
        y = x * 1.0
        y[:, 1:3] = v * v
        return y ** 2

    assert gradcheck(f, (leaf(3, 4), leaf(3, 2)), check_forward_ad=True)
    assert gradgradcheck(f, (leaf(3, 4), leaf(3, 2)))


def test_setitem_on_tensor_without_grad_makes_it_part_of_the_graph():
    v = leaf(2)
    y = ad.zeros(5)
    y[1:3] = v
    assert y.requires_grad and y.grad_fn.name() == "IndexPutBackward0"
    (y * ad.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 2.0])


def test_setitem_on_leaf_requiring_grad_raises():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with ad.no_grad():
        x[0] = 1.0
    assert x.detach().numpy()[0] == 1.0


def test_setitem_after_use_by_a_saving_op_raises_at_backward():
    x = leaf(3)
    y = x * 1.0
    z = y * y                  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_index_errors_name_the_op_and_shape():
    x = leaf(2, 3)
    with pytest.raises(IndexError, match="getitem"):
        x[5]
    with pytest.raises(IndexError):
        x[ad.tensor([0.5])]


def test_iteration_yields_differentiable_rows():
    x = leaf(3, 2)
    total = sum((row * (i + 1)).sum() for i, row in enumerate(x))
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [2, 2], [3, 3]])


# NumPy's add.at (the scatter-add of getitem's backward) crashes the interpreter on
# arrays of 33 or more dimensions: run in a child process, check it lives and the numbers.
_HIGH_NDIM_SCRIPT = r"""
import numpy as np
import autodiff as ad
from autodiff.autograd import forward_ad as fwAD

unit = (1,) * 32
cases = [
    # (shape of x, index, expected gradient of x[index].sum() on the last axis)
    (unit + (3,), [0, 0], [2.0, 2.0, 2.0]),
    (unit + (3,), (Ellipsis, [2, 0, 2]), [1.0, 0.0, 2.0]),
    (unit + (1, 3), (Ellipsis, np.array([[True, False, True]])), [1.0, 0.0, 1.0]),
    ((3,), np.array([2, 0, 2]).reshape(unit + (1, 3)), [1.0, 0.0, 2.0]),
]
for shape, index, expected in cases:
    x = ad.tensor(np.arange(3.0).reshape(shape) + 1.0, requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().reshape(-1), expected)
    # second order through the scatter-add: d/dx of sum(g * x) with g = x's gradient
    (g,) = ad.autograd.grad((x[index] ** 2).sum(), x, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy().reshape(-1), 2 * np.array(expected))
    with fwAD.dual_level():
        d = fwAD.make_dual(x.detach(), ad.ones(shape))
        t = fwAD.unpack_dual(d[index].sum()).tangent
    assert float(t) == sum(expected)
print("ok")
"""


def test_scatter_add_at_high_ndim_does_not_crash():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(ad.__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _HIGH_NDIM_SCRIPT], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
