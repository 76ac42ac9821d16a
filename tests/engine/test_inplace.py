"""In-place ops and version counters (SPEC §3): tracked, checked, never a silent
wrong gradient."""
import re

import numpy as np
import pytest

import autodiff as ad


def leaf(values):
    return ad.tensor(values, requires_grad=True)


X0 = [0.5, -1.0, 2.0]

@pytest.mark.parametrize("op, dydx", [
    (lambda y: y.__iadd__(3.0), 2.0),
    (lambda y: y.__isub__(3.0), 2.0),
    (lambda y: y.__imul__(3.0), 6.0),
    (lambda y: y.__itruediv__(4.0), 0.5),
    (lambda y: y.add_(1.0, alpha=2.0), 2.0),
    (lambda y: y.sub_(1.0), 2.0),
    (lambda y: y.mul_(-1.0), -2.0),
    (lambda y: y.div_(2.0), 1.0),
    (lambda y: y.zero_(), 0.0),
    (lambda y: y.fill_(7.0), 0.0),
    (lambda y: y.copy_(ad.ones(3)), 0.0),
], ids=["iadd", "isub", "imul", "itruediv", "add_", "sub_", "mul_", "div_", "zero_", "fill_",
        "copy_"])
def test_inplace_on_non_leaf_is_tracked(op, dydx):
    x = leaf(X0)
    y = x * 2.0
    before = y._version
    out = op(y)
    assert out is y and y._version == before + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), dydx)


def test_chain_of_inplace_ops_matches_hand_derivation():
    # y = ((2x + 1) * 3 - x) / 2  =>  dy/dx = (6 - 1) / 2, but x also enters through mul_(x)
    x = leaf(X0)
    y = x * 2.0
    y += 1.0
    y.mul_(3.0)
    y -= x
    y /= 2.0
    y.mul_(x)                 # y = x * ((6x + 3 - x) / 2) = (5x^2 + 3x) / 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (10 * np.array(X0) + 3) / 2)


def test_inplace_with_tensor_operand_gets_gradient_for_both():
    x, w = leaf(X0), leaf([1.0, 2.0, 3.0])
    y = x * 1.0
    y.mul_(w)
    y.add_(w, alpha=2.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), w.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), np.array(X0) + 2.0)


def test_copy_into_tensor_without_grad_routes_gradient_to_source():
    src = leaf(X0)
    y = ad.zeros((2, 3))
    y.copy_(src)              # broadcast
    (y * 3.0).sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), 6.0)


def test_fill_with_tensor_value_keeps_its_gradient():
    v = leaf(2.0)
    y = ad.zeros(3)
    y.fill_(v)
    y.sum().backward()
    assert float(v.grad) == 3.0


def test_second_order_through_inplace():
    x = leaf(X0)
    y = x * x
    y.mul_(x)                 # x^3
    (g,) = ad.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array(X0) ** 2)
    (h,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array(X0))


def test_modifying_a_saved_input_raises_naming_op_and_versions():
    x = leaf(X0)
    y = x * 1.0
    z = y * y                 # MulBackward0 saves y at version 0
    y.add_(1.0)
    with pytest.raises(RuntimeError) as info:
        z.sum().backward()
    msg = str(info.value)
    assert "modified by an inplace operation" in msg
    assert "MulBackward0" in msg and "version 1" in msg and "version 0" in msg


def test_modifying_a_saved_input_through_a_view_raises():
    base = ad.zeros(4)
    x = leaf(X0 + [1.0])
    z = base * x              # saves base
    base[1:3].fill_(1.0)      # base takes no part in autograd: writing a view is allowed
    assert base._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_modifying_a_saved_output_raises():
    x = leaf(X0)
    y = x.exp()               # ExpBackward0 saves its output
    y += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_op_that_saves_its_own_input_uses_the_old_value():
    x = leaf(X0)
    y = x * 1.0
    y.mul_(y)                 # d(y^2)/dy uses y before the write
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array(X0))


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    x = leaf(X0)
    for op in (lambda: x.add_(1.0), lambda: x.mul_(2.0), lambda: x.zero_(),
               lambda: x.__iadd__(1.0), lambda: x.fill_(0.0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op()
    np.testing.assert_array_equal(x.detach().numpy(), X0)
    with ad.no_grad():
        x.mul_(2.0)
        x -= 1.0
    np.testing.assert_array_equal(x.detach().numpy(), 2 * np.array(X0) - 1.0)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad


def test_inplace_on_an_index_view_is_written_through_its_base():
    x = leaf(X0)
    y = x * 2.0
    v = y[0:2]
    v.mul_(3.0)               # y = [6x0, 6x1, 2x2]: recorded on y, as PyTorch's CopySlices
    assert v._version == y._version
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0, 2.0])


def test_augmented_assignment_on_an_index():
    x = leaf(X0)
    y = x * 2.0
    y[0] += x[1] * 10.0       # Python: t = y[0]; t += ...; y[0] = t
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 12.0, 2.0])
    np.testing.assert_allclose(y.detach().numpy(), [2 * X0[0] + 10 * X0[1], 2 * X0[1], 2 * X0[2]])


def test_inplace_on_a_reshaped_view_is_written_through_its_base():
    x = leaf(X0)
    y = x * 1.0
    y.reshape(3, 1).mul_(x.reshape(3, 1))     # y = x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array(X0))


def test_inplace_on_read_only_memory_raises():
    y = ad.from_numpy(np.array(X0)).requires_grad_(False)
    y._data.flags.writeable = False
    for target in (y, y[1:], y.expand(1, 3)):
        with pytest.raises(RuntimeError, match="read-only"):
            target.add_(1.0)
    np.testing.assert_array_equal(y.numpy(), X0)


def test_version_is_an_int_shared_by_views():
    torch = pytest.importorskip("torch")
    for lib in (ad, torch):
        y = lib.zeros(4)
        v = y[1:]
        assert type(y._version) is int and (y._version, v._version) == (0, 0)
        y.add_(1.0)
        assert (y._version, v._version) == (1, 1)
        v.mul_(2.0)
        assert (y._version, v._version) == (2, 2)
        y[0] = 5.0
        assert (y._version, v._version) == (3, 3)
        assert y.detach()._version == 3 and (y + 1)._version == 0
    with pytest.raises(AttributeError):
        y = ad.zeros(2)
        y._version = 4


def _base_written(lib, x):
    v = x * 1.0
    a = v[:2]
    v.mul_(2.0)
    return a.sum()


def _reshape_of_written_base(lib, x):
    v = x * 1.0
    a = v.reshape(3, 1)
    v.mul_(2.0)
    return a.sum()


def _other_view_written(lib, x):
    v = x * 1.0
    a, b = v[:2], v[1:]
    b.mul_(3.0)
    return a.sum()


def _base_without_grad_gets_one(lib, x):
    buf = lib.zeros_like(x.detach())
    a = buf[:2]
    buf.copy_(x)
    return (a * x[:2]).sum()


def _select_of_a_view(lib, x):
    v = x * 1.0
    a = v[1:][0]
    v[1:].sin_()
    return a * a


@pytest.mark.parametrize("program", [_base_written, _reshape_of_written_base,
                                     _other_view_written, _base_without_grad_gets_one,
                                     _select_of_a_view])
def test_views_made_before_an_inplace_write_follow_it(program):
    # a view made before the write holds the new values: its gradient must be theirs
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (ad, torch):
        x = lib.tensor(np.array(X0), requires_grad=True)
        program(lib, x).backward()
        grads.append(np.array(x.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_data_inplace_does_not_bump_the_autograd_version():
    x = leaf(X0)
    z = x * x                 # saves x
    v = x._version
    x.data.mul_(2.0)          # what optimisers do: invisible to autograd
    x.data += 1.0
    assert x._version == v
    z.sum().backward()        # no error: .data writes are not tracked (PyTorch semantics)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * np.array(X0) + 1.0))


def test_data_assignment_keeps_graph_membership():
    x = leaf(X0)
    x.data = ad.tensor([1.0, 1.0, 1.0])
    assert x.is_leaf and x.requires_grad
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 3.0)


def test_inplace_tril_triu_clamp():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1.0
    y.tril_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0], [1, 1]])
    x.grad = None
    y = x * 1.0
    y.triu_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [0, 0]])
    x.grad = None
    y = x * 1.0
    y.clamp_(1.5, 3.5)
    np.testing.assert_array_equal(y.detach().numpy(), [[1.5, 2.0], [3.0, 3.5]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [1, 0]])


def test_numpy_ufunc_out_on_tensor_is_inplace():
    x = leaf(X0)
    y = x * 1.0
    np.multiply(y, 3.0, out=y)
    assert y._version == 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 3.0)


def _grow_programs(u, w):
    def setitem(u, w):
        u[:] = w
    return {"+=": lambda: u.__iadd__(w * 2), "-=": lambda: u.__isub__(w),
            "*=": lambda: u.__imul__(w), "/=": lambda: u.__itruediv__(w),
            "add_": lambda: u.add_(w), "sub_": lambda: u.sub_(w, alpha=2),
            "mul_": lambda: u.mul_(w), "div_": lambda: u.div_(w), "pow_": lambda: u.pow_(w),
            "copy_": lambda: u.copy_(w), "fill_": lambda: u.fill_(w)}


@pytest.mark.parametrize("w_shape", [(1, 3), (2, 3), (2, 1)])
@pytest.mark.parametrize("op", sorted(_grow_programs(None, None)))
@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no-grad"])
def test_inplace_op_cannot_grow_or_mismatch_its_tensor(op, w_shape, grad):
    # PyTorch (and NumPy for its operators): "output with shape [3] doesn't match the
    # broadcast shape [1, 3]"; the tensor is left unchanged
    u = ad.ones(3) * 1.0
    w = ad.full(w_shape, 2.0, requires_grad=grad)
    expected = f"shape (3,) doesn't match the broadcast shape {np.broadcast_shapes((3,), w_shape)}"
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        _grow_programs(u, w)[op]()
    np.testing.assert_array_equal(u.numpy(), np.ones(3))
    assert u._version == 0


def test_numpy_out_and_setitem_cannot_grow_their_tensor():
    u = ad.ones(3) * 1.0
    w = ad.ones((1, 3), requires_grad=True)
    for out in (u, np.ones(3)):
        with pytest.raises(ValueError, match=r"\(3,\).*\(1, ?3\)"):
            np.add(u, w, out=out)
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(3,\)"):
        u[:] = ad.ones((2, 3))
    np.testing.assert_array_equal(u.numpy(), np.ones(3))


@pytest.mark.parametrize("shape, key, value_shape", [
    ((), (), (1,)), ((), Ellipsis, (1, 1)), ((3,), 0, (1, 1)), ((2, 3), (1, 2), (1, 1, 1)),
    ((2, 3), (0, slice(None)), (1, 3)),
], ids=["0d-[()]", "0d-[...]", "[0]", "[1, 2]", "[0, :]"])
def test_setitem_of_one_element_takes_a_value_with_leading_unit_axes(shape, key, value_shape):
    # x[0] = v with v of shape (1, 1): PyTorch drops the leading size-1 axes (NumPy
    # refuses them when the key selects a single element)
    torch = pytest.importorskip("torch")
    results = []
    for lib in (ad, torch):
        x = lib.tensor(np.full(shape, 2.0), requires_grad=True)
        v = lib.tensor(np.full(value_shape, 7.0), requires_grad=True)
        y = x * 1.0
        y[key] = v * v
        c = lib.tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape))
        results.append([np.array(t.tolist()) for t in
                        (y, *lib.autograd.grad((y * c).sum(), [x, v]))])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("write", [
    lambda t, x1: t.copy_(x1), lambda t, x1: t.fill_(x1.sum()), lambda t, x1: t.zero_(),
    lambda t, x1: t.fill_(3.0), lambda t, x1: t[1:].copy_(x1[1:]),
], ids=["copy_", "fill_-tensor", "zero_", "fill_-number", "copy_-through-view"])
def test_overwriting_inplace_ops_keep_the_old_history_with_a_zero_gradient(write):
    # PyTorch's CopyBackwards (and fill_, zero_) keep the overwritten history in the
    # graph: its gradient is zeros, not None, so grad() without allow_unused runs
    torch = pytest.importorskip("torch")
    results = []
    for lib in (ad, torch):
        x0 = lib.tensor(np.array(X0), requires_grad=True)
        x1 = lib.tensor(np.array([3.0, 4.0, 5.0]), requires_grad=True)
        t = x0 * 1.0
        write(t, x1)
        grads = lib.autograd.grad((t * t).sum(), [x0, x1], allow_unused=True, retain_graph=True)
        results.append([None if g is None else np.array(g.tolist()) for g in grads])
        lib.autograd.grad(t.sum(), x0)
    for got, want in zip(*results):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_copy_and_fill_of_more_than_32_dims():
    # (np.broadcast_shapes stops at 32 dims, tensors go to 64)
    torch = pytest.importorskip("torch")
    shape = (2,) + (1,) * 39
    results = []
    for lib in (ad, torch):
        x0 = lib.tensor(np.full(shape, 2.0), requires_grad=True)
        x1 = lib.tensor(np.array([1.0, 5.0]).reshape((2,) + (1,) * 39), requires_grad=True)
        v = lib.tensor(np.array(3.0), requires_grad=True)
        t, u = x0 * 1.0, x0 * 1.0
        t.copy_(x1 * x1)
        u.fill_(v)
        loss = (t * x0).sum() + (u * x0).sum()
        results.append([np.array(a.tolist()) for a in (t, u, *lib.autograd.grad(loss, [x0, x1, v]))])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_setitem_value_with_leading_unit_axes_gets_its_gradient():
    # NumPy and PyTorch drop a value's leading size-1 axes in x[idx] = v
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (ad, torch):
        w = lib.tensor(np.array([[[1.0], [2.0]]]), requires_grad=True)      # (1, 2, 1)
        u = lib.tensor(np.zeros((3, 2, 4)), requires_grad=True) * 1.0
        u[1] = w * w                         # into a (2, 4) region
        (u * lib.tensor(np.arange(24.0).reshape(3, 2, 4))).sum().backward()
        grads.append(np.array(w.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1])


def test_view_made_before_a_write_is_current_for_hooks_functions_and_grad_fn():
    class Double(ad.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2.0

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    x = leaf(X0)
    buf = ad.zeros(3)
    a, b, c = buf[:2], buf[1:], buf[0]
    buf.copy_(x)                       # buf and its views now depend on x
    assert a.requires_grad and b.grad_fn is not None and not c.is_leaf
    seen = []
    a.register_hook(lambda g: seen.append(g.numpy().copy()))
    (Double.apply(a).sum() + b.sum()).backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 1.0])
