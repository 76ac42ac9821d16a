"""In-place writes through the views NumPy makes awkward, against PyTorch: views of 0-d
tensors (NumPy gives scalars, copies), expands (NumPy makes every broadcast read-only)
and diagonals (read-only in NumPy too)."""
import numpy as np
import pytest

import autodiff as ad

torch = pytest.importorskip("torch")


def _values(*tensors):
    return [np.array(t.tolist()) for t in tensors]


ZERO_DIM_VIEWS = {
    "[()]": lambda y: y[()],
    "[...]": lambda y: y[...],
    "[None]": lambda y: y[None],
    "[None, None]": lambda y: y[None, None],
    "unsqueeze(0)": lambda y: y.unsqueeze(0),
    "unsqueeze(-1)": lambda y: y.unsqueeze(-1),
    "reshape(1, 1)": lambda y: y.reshape(1, 1),
    "reshape(())": lambda y: y.reshape(()),
    "view(1)": lambda y: y.view(1),
    "expand(1, 1)": lambda y: y.expand(1, 1),
    "expand(0)": lambda y: y.expand(0),
    "unsqueeze(0)[0]": lambda y: y.unsqueeze(0)[0],
}


def _zero_dim_program(lib, make_view):
    x = lib.tensor(np.array(2.0), requires_grad=True)
    w = lib.tensor(np.array(-0.5), requires_grad=True)
    y = x * 1.0                 # a 0-d result (NumPy computes it as a scalar)
    before = make_view(y)       # made before the writes: it must follow them
    v = make_view(y)
    v.mul_(w)                   # through the view: y changes too
    y.add_(x)                   # through the base: both views change
    loss = (v * 3.0).sum() + (before * 5.0).sum() + y * 7.0
    return _values(v, before, y, *lib.autograd.grad(loss, [x, w]))


@pytest.mark.parametrize("view", sorted(ZERO_DIM_VIEWS))
def test_views_of_a_0d_result_share_its_memory(view):
    got = _zero_dim_program(ad, ZERO_DIM_VIEWS[view])
    want = _zero_dim_program(torch, ZERO_DIM_VIEWS[view])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_views_of_a_0d_result_share_its_memory_without_grad():
    for lib in (ad, torch):
        y = lib.tensor(np.array(2.0)) * 1.0
        v, u = y[None], y.reshape(1, 1)
        v.fill_(5.0)
        assert (y.item(), u.item()) == (5.0, 5.0), lib.__name__


WRITABLE_VIEWS = {
    "expand of the same shape": ((2, 1), lambda y: y.expand(2, 1)),
    "expand adding a unit dim": ((3,), lambda y: y.expand(1, 3)),
    "expand of an empty tensor": ((0, 2), lambda y: y.expand(3, 0, 2)),
    "expand of a 0-d tensor": ((), lambda y: y.expand(1)),
    "diagonal": ((3, 3), lambda y: y.diagonal()),
    "part of a broadcasting expand": ((1, 3), lambda y: y.expand(3, 1, 3)[2]),
}


def _write_program(lib, shape, make_view, rng_seed):
    rng = np.random.default_rng(rng_seed)
    x = lib.tensor(rng.uniform(-2, 2, shape), requires_grad=True)
    y = x * 1.0
    v = make_view(y)
    w = lib.tensor(rng.uniform(0.5, 1.5, tuple(v.shape)), requires_grad=True)
    v.mul_(w)
    c = lib.tensor(rng.standard_normal(shape))
    return _values(y, v, *lib.autograd.grad((y * c).sum(), [x, w]))


@pytest.mark.parametrize("case", sorted(WRITABLE_VIEWS))
def test_inplace_through_a_view_that_writes_each_element_once(case):
    # NumPy marks every broadcast_to and diagonal read-only; PyTorch writes them
    shape, make_view = WRITABLE_VIEWS[case]
    got = _write_program(ad, shape, make_view, len(case))
    want = _write_program(torch, shape, make_view, len(case))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


@pytest.mark.parametrize("write", [
    lambda e: e.mul_(2.0),
    lambda e: e.copy_(e * 0.0 + 1.0),
    lambda e: e.__setitem__((slice(None), 0), 1.0),
], ids=["mul_", "copy_", "setitem-of-shared-elements"])
def test_inplace_on_a_broadcasting_expand_raises_naming_the_cause(write):
    for lib in (ad, torch):
        y = lib.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True) * 1.0
        with pytest.raises(RuntimeError, match="more than one element of the writ"):
            write(y.expand(3, 1, 3))
        assert y.tolist() == [[1.0, 2.0, 3.0]], lib.__name__


def test_setitem_into_elements_of_a_broadcasting_expand_that_share_no_memory():
    # PyTorch slices first: e[2] is a plain view of y, so e[2] = v writes y
    results = []
    for lib in (ad, torch):
        x = lib.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
        v = lib.tensor(np.array([4.0, 5.0]), requires_grad=True)
        y = x * 1.0
        e = y.expand(3, 1, 3)
        e[2, :, 1:] = v * v
        loss = (y * lib.tensor(np.array([[1.0, 2.0, 3.0]]))).sum() + e.sum()
        results.append(_values(y, e, *lib.autograd.grad(loss, [x, v])))
    for g, w in zip(*results):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_inplace_on_an_empty_tensor_whose_memory_is_read_only():
    # nothing is written: NumPy's empty results may be read-only (log_softmax of an
    # empty read-only input returns it), PyTorch writes any empty tensor
    results = []
    for lib in (ad, torch):
        a = np.zeros((3, 0))
        a.flags.writeable = False
        x = ad.from_numpy(a) if lib is ad else torch.zeros(3, 0, dtype=torch.float64)
        w = lib.tensor(np.array([2.0]), requires_grad=True)
        y = lib.log_softmax(x, dim=0)
        y.mul_(w)
        y[...] = 2.0 * w
        y.add_(1.0)
        results.append(_values(y, *lib.autograd.grad(y.sum() + (w * w).sum(), w)))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


FORWARD_PROGRAMS = {
    "view.mul_": lambda y, x: y[:2].mul_(x[:2]),
    "base.mul_": lambda y, x: y.mul_(x),
    "0-d view.mul_": lambda y, x: y[1][None].mul_(x[0]),
    "expand.add_": lambda y, x: y.expand(1, 3).add_(x),
    "zero_": lambda y, x: y.zero_(),
    "view.fill_": lambda y, x: y[1:].fill_(2.0),
    "copy_": lambda y, x: y.copy_(x * x),
    "setitem": lambda y, x: y.__setitem__(slice(0, 2), x[1:] * 2.0),
}


def _forward_program(lib, fw, write, no_grad):
    with fw.dual_level():
        x = fw.make_dual(lib.tensor(np.array([2.0, 5.0, -1.0])),
                         lib.tensor(np.array([1.0, -2.0, 0.5])))
        y = x * 3.0
        before = y[1:]              # made before the write: takes the new tangent
        if no_grad:
            with lib.no_grad():
                write(y, x)
        else:
            write(y, x)
        return _values(*(fw.unpack_dual(t).tangent for t in (y, before)))


@pytest.mark.parametrize("no_grad", [False, True], ids=["grad", "no_grad"])
@pytest.mark.parametrize("program", sorted(FORWARD_PROGRAMS))
def test_inplace_writes_carry_forward_mode_tangents(program, no_grad):
    # the tangent of the tensor, of the view written and of views made before follows
    # the write, as the values do (whatever the grad mode: forward AD ignores it)
    got = _forward_program(ad, ad.autograd.forward_ad, FORWARD_PROGRAMS[program], no_grad)
    want = _forward_program(torch, torch.autograd.forward_ad, FORWARD_PROGRAMS[program], no_grad)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_a_write_into_make_duals_tensor_leaves_the_primal_without_tangent():
    # make_dual's result views its primal's memory but is not a forward-mode view of it
    results = []
    for lib, fw in ((ad, ad.autograd.forward_ad), (torch, torch.autograd.forward_ad)):
        with fw.dual_level():
            p = lib.tensor(np.array([2.0, 5.0]))
            x = fw.make_dual(p, lib.tensor(np.array([1.0, -1.0])))
            x.mul_(3.0)
            x[:1].mul_(x[1])
            assert fw.unpack_dual(p).tangent is None and fw.unpack_dual(p * 2).tangent is None
            results.append(_values(p, fw.unpack_dual(x).tangent))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12)
