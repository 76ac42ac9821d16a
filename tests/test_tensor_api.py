"""SPEC §2 tensor state API, repr, and mixing Tensors with ndarrays and scalars."""
import inspect
import operator

import numpy as np
import pytest

import autodiff as ad


def test_data_is_detached_shares_memory_and_is_assignable():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.numpy()[0] = 10.0
    assert x.detach().numpy()[0] == 10.0
    x.data = ad.tensor([3.0, 4.0, 5.0])
    assert x.shape == (3,) and x.requires_grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0, 10.0])


def test_grad_setter_checks_shape_and_dtype():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ad.tensor([1.0, 1.0])
    x.grad = None
    with pytest.raises(RuntimeError, match="size"):
        x.grad = ad.ones(3)
    with pytest.raises(RuntimeError, match="type"):
        x.grad = ad.ones(2, dtype=np.float32)


def test_is_leaf_requires_grad_and_requires_grad_():
    x = ad.tensor([1.0], requires_grad=True)
    c = ad.tensor([1.0])
    y = x * 2
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert c.requires_grad_() is c and c.requires_grad
    c.requires_grad_(False)
    assert not c.requires_grad
    assert y.requires_grad_() is y
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_detach_and_detach_():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    d.numpy()[0] = 100.0
    assert y.detach().numpy()[0] == 100.0                # shares memory
    z = x * 3
    z.detach_()
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None


def test_inplace_on_leaf_requiring_grad_raises():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.zero_()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x += 1
    with ad.no_grad():
        x.zero_()
    assert not x.detach().numpy().any()


def test_numpy_item_tolist_and_shapes():
    x = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.detach().numpy() is x._data and isinstance(x.detach().numpy(), np.ndarray)
    assert np.asarray(x.detach()) is x._data
    assert ad.tensor(2.5).item() == 2.5 and isinstance(ad.tensor(2.5).item(), float)
    with pytest.raises(RuntimeError, match="6 elements"):
        x.item()
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and x.dtype == np.float64
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.detach().numpy(), x.detach().numpy().T)
    x.T.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


def test_clone_copy_and_zero():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    c.detach().numpy()[0] = 9.0
    assert x.detach().numpy()[0] == 1.0
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = None
    buf = ad.zeros(2)
    buf.copy_(x * 2)
    assert buf.grad_fn is not None
    buf.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    buf2 = ad.ones(2)
    buf2.copy_(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(buf2.numpy(), [5.0, 6.0])
    assert buf2.zero_() is buf2 and not buf2.numpy().any()


def test_repr_like_pytorch():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(ad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ad.tensor(3.0)) == "tensor(3.)"
    assert repr(ad.tensor([1.0], dtype=np.float32)) == "tensor([1.], dtype=float32)"
    assert repr(ad.tensor([1, 2])) == "tensor([1, 2])"


OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
       operator.floordiv, operator.mod]


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("kind", ["ndarray", "scalar", "int", "np_scalar"])
def test_mixing_tensor_with_ndarray_and_scalars_both_orders(op, kind):
    xv = np.array([1.5, 2.5, 3.5])
    other = {"ndarray": np.array([2.0, 0.5, 1.25]), "scalar": 1.75, "int": 2,
             "np_scalar": np.float64(1.25)}[kind]
    for args, raw in (((ad.tensor(xv), other), (xv, other)),
                      ((other, ad.tensor(xv)), (other, xv))):
        res = op(*args)
        assert isinstance(res, ad.Tensor), (op, kind, type(res))
        np.testing.assert_allclose(res.numpy(), op(*raw))
        assert res.dtype == np.float64


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow], ids=lambda o: o.__name__)
def test_mixed_operands_differentiate(op):
    xv = np.array([1.5, 2.5])
    other = np.array([2.0, 0.5])
    x = ad.tensor(xv, requires_grad=True)
    op(other, x).sum().backward()
    eps = 1e-6
    num = (op(other, xv + eps) - op(other, xv - eps)) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6)


def test_ndarray_matmul_tensor_returns_tensor():
    A = np.arange(6.0).reshape(2, 3)
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = A @ x
    assert isinstance(y, ad.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), A.sum(0))


def test_floordiv_and_mod_have_zero_and_identity_gradients():
    x = ad.tensor([3.5, -2.25], requires_grad=True)
    (x // 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    x.grad = None
    (x % 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_abs_neg_pos_invert():
    x = ad.tensor([-1.5, 2.0], requires_grad=True)
    y = abs(x)
    np.testing.assert_array_equal(y.detach().numpy(), [1.5, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 1.0])
    assert (+x) is x
    np.testing.assert_array_equal((-x).detach().numpy(), [1.5, -2.0])
    np.testing.assert_array_equal((~(x > 0)).numpy(), [True, False])
    with pytest.raises(TypeError):
        ~x


def test_variable_legacy_spelling():
    from autodiff.autograd import Variable
    base = ad.ones(2)
    v = Variable(base, requires_grad=True)
    assert isinstance(v, ad.Tensor) and v.requires_grad and v.is_leaf
    assert not base.requires_grad
    w = Variable(ad.zeros(2))
    assert not w.requires_grad
    assert Variable([1.0, 2.0]).shape == (2,)


def test_value_only_numpy_functions_work_on_tensors():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    assert np.array_equal(a, ad.tensor([1.0, 2.0])) is True
    assert np.allclose(a, [1.0, 2.0 + 1e-12])
    assert np.shape(a) == (2,) and np.ndim(a) == 1 and np.size(a) == 2
    assert np.count_nonzero(a) == 2


def _keywords(fn):
    """The names ``fn`` accepts as keywords after its tensor argument."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def test_methods_and_functions_of_one_name_are_one_implementation():
    # t.squeeze(axis=0) raised while ad.squeeze(t, axis=0) worked: the method and the
    # function were two definitions of the same name
    shared = [name for name in dir(ad.Tensor) if not name.startswith("_")
              and inspect.isfunction(getattr(ad, name, None))
              and callable(getattr(ad.Tensor, name))]
    for name in ("squeeze", "unsqueeze", "transpose", "permute", "flatten", "reshape",
                 "broadcast_to"):
        assert getattr(ad.Tensor, name) is getattr(ad, name), name
    for name in shared:
        method, function = getattr(ad.Tensor, name), getattr(ad, name)
        if method is not function:
            assert _keywords(method) == _keywords(function), name


def test_shape_methods_take_the_functions_keywords():
    t = ad.ones((1, 3, 1))
    assert t.squeeze(axis=0).shape == ad.squeeze(t, axis=0).shape == (3, 1)
    assert t.squeeze(dim=2).shape == (1, 3)
    assert t.flatten(start_dim=1).shape == (1, 3)
    assert t.unsqueeze(dim=-1).shape == (1, 3, 1, 1)
    assert t.transpose(dim0=0, dim1=1).shape == (3, 1, 1)
    with pytest.raises(IndexError, match="squeeze: dimension 3 is out of range"):
        t.squeeze(3)
