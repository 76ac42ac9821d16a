"""Converting tensors to NumPy arrays: refused when it would drop a gradient (SPEC §2)."""
import numpy as np
import pytest

import autodiff as ad


def _x():
    return ad.tensor([1.0, 2.0], requires_grad=True)


def _s():
    return ad.tensor(1.5, requires_grad=True)


# Each builds an array from tensors that require grad; before, the result was a plain
# ndarray and `x + np.array([x, x ** 2]).sum()` had gradient 1 instead of 3.
CONVERSIONS = {
    "np.asarray": lambda: np.asarray(_x()),
    "np.array": lambda: np.array(_x()),
    "np.array-of-list": lambda: np.array([_s(), _s() ** 2]),
    "__array__": lambda: _x().__array__(),
    "numpy()": lambda: _x().numpy(),
    "numpy()-non-leaf": lambda: (_x() * 2).numpy(),
    "np.r_": lambda: np.r_[_x(), _x()],
    "np.c_": lambda: np.c_[_x(), _x()],
    "np.mean-of-list": lambda: np.mean([_x(), _x()]),
    "ufunc-of-list": lambda: np.exp([_s(), _s()]),
}


@pytest.mark.parametrize("convert", CONVERSIONS.values(), ids=CONVERSIONS.keys())
def test_converting_a_tensor_that_requires_grad_raises(convert):
    with pytest.raises(RuntimeError, match=r"requires grad.*t\.detach\(\).*ad\.stack"):
        convert()


def test_conversion_raises_under_no_grad_too():
    # PyTorch's numpy() looks at requires_grad, not at the grad mode
    x = _x()
    with ad.no_grad():
        with pytest.raises(RuntimeError, match="detach"):
            np.asarray(x)
        with pytest.raises(RuntimeError, match="detach"):
            x.numpy()


def test_scipy_functions_that_convert_their_argument_raise():
    scipy_special = pytest.importorskip("scipy.special")
    scipy_linalg = pytest.importorskip("scipy.linalg")
    with pytest.raises(RuntimeError, match="detach"):
        scipy_special.expit([_s(), _s()])          # a ufunc on a list: np.asarray inside
    with pytest.raises(RuntimeError, match="detach"):
        scipy_linalg.norm([_x(), _x()])            # asarray_chkfinite inside
    with pytest.raises(RuntimeError, match="detach"):
        scipy_special.logsumexp(_x())              # not a ufunc: converts its argument


def test_ndarray_out_of_a_ufunc_on_a_tensor_that_requires_grad_raises():
    out = np.zeros(2)
    with pytest.raises(RuntimeError, match="out=ndarray"):
        np.sin(_x(), out=out)
    np.sin(_x().detach(), out=out)
    np.testing.assert_array_equal(out, np.sin([1.0, 2.0]))


def test_tensors_that_do_not_require_grad_convert_without_a_copy():
    x = _x()
    plain = ad.tensor([3.0, 4.0])
    with ad.no_grad():
        non_leaf = x * 2                           # computed without a graph
    for t in (plain, x.detach(), non_leaf, x.data):
        assert not t.requires_grad
        for arr in (np.asarray(t), t.numpy(), t.__array__()):
            assert type(arr) is np.ndarray and np.shares_memory(arr, t._data)
    assert np.shares_memory(x.numpy(force=True), x.detach().numpy())


def test_stack_keeps_the_graph_that_np_array_would_drop():
    s = _s()
    (s + ad.stack([s, s ** 2]).sum()).backward()
    assert s.grad.item() == 1 + 1 + 2 * 1.5


def test_scalar_and_text_conversions_work_on_tensors_that_require_grad():
    s, x = _s(), _x()
    assert float(s) == 1.5 and int(s) == 1 and s.item() == 1.5
    assert x.tolist() == [1.0, 2.0]
    assert repr(x) == str(x) == "tensor([1., 2.], requires_grad=True)"
    assert ad.tensor([s, s ** 2]).tolist() == [1.5, 2.25]   # a new leaf, as torch.tensor


def test_numpy_protocols_keep_differentiating():
    x = _x()
    y = np.sum(np.sin(x) * np.array([1.0, 3.0]))
    assert isinstance(y, ad.Tensor)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]) * [1.0, 3.0], rtol=1e-15)
