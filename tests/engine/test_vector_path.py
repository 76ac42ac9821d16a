"""The small-vector fast path of the core: ``stack`` of 0-d float64 tensors, ``softmax``
of a short 1-d float64 tensor and ``x[i]`` on a 1-d float64 tensor are built in C.
They must be indistinguishable from the generic path (which 2-d inputs still take):
same values, gradients, node names, views, version checks and errors."""
import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as F
from autodiff import _core

VALUES = [0.3, -1.2, 2.5, 0.0, 0.7]


def _scalars(values):
    leaves = [ad.tensor(v, requires_grad=True) for v in values]
    return leaves, [leaf * 1.0 for leaf in leaves]      # 0-d op results (NumPy scalars)


def _graph(values, two_d):
    """softmax(stack(x)) and a weighted sum of its selected entries."""
    leaves, xs = _scalars(values)
    if two_d:                 # the generic path: the same numbers with a leading axis of 1
        p = F.softmax(ad.stack([x.reshape(1) for x in xs], dim=1), dim=1)
        picked = [p[0, i] for i in range(len(values))]
    else:
        p = F.softmax(ad.stack(xs), dim=0)
        picked = [p[i] for i in range(len(values))]
    out = sum((i + 1.5) * t for i, t in enumerate(picked))
    return leaves, p, picked, out


def test_the_small_vector_ops_are_registered():
    from autodiff.ops._registry import OPS
    for name in ("stack", "softmax", "getitem"):
        assert OPS[name].scalar_op == _core.SCALAR_OPS[name]


def test_values_gradients_and_node_names_match_the_generic_path():
    leaves, p, picked, out = _graph(VALUES, two_d=False)
    out.backward()
    leaves2, p2, picked2, out2 = _graph(VALUES, two_d=True)
    out2.backward()
    assert type(p._data) is np.ndarray and p.shape == (5,)
    np.testing.assert_array_max_ulp(p.detach().numpy(), p2.detach().numpy()[0], maxulp=4)
    np.testing.assert_allclose(out.item(), out2.item(), rtol=1e-15)
    for a, b in zip(leaves, leaves2):
        np.testing.assert_allclose(a.grad.item(), b.grad.item(), rtol=1e-13, atol=1e-16)
    assert p.grad_fn.name() == "SoftmaxBackward0"
    assert p.grad_fn.next_functions[0][0].name() == "StackBackward0"
    assert picked[0].grad_fn.name() == picked2[0].grad_fn.name() == "SelectBackward0"
    assert [n.name() for n, _ in p.grad_fn.next_functions[0][0].next_functions] == [
        "MulBackward0"] * 5


def test_gradients_match_finite_differences():
    def f(values):
        with ad.no_grad():
            return _graph(values, two_d=False)[3].item()
    leaves, _, _, out = _graph(VALUES, two_d=False)
    out.backward()
    eps = 1e-6
    for i, leaf in enumerate(leaves):
        up, down = list(VALUES), list(VALUES)
        up[i] += eps
        down[i] -= eps
        assert leaf.grad.item() == pytest.approx((f(up) - f(down)) / (2 * eps), rel=1e-6, abs=1e-9)


def test_second_order_through_the_fast_nodes_matches_the_generic_path():
    def hessian_row(two_d):
        leaves, _, _, out = _graph(VALUES, two_d)
        (g0,) = ad.autograd.grad(out, [leaves[0]], create_graph=True)
        return [g.item() for g in ad.autograd.grad(g0, leaves)]
    np.testing.assert_allclose(hessian_row(False), hessian_row(True), rtol=1e-12, atol=1e-15)


def test_autograd_grad_of_a_subset_of_inputs():
    leaves, _, _, out = _graph(VALUES, two_d=False)
    leaves2, _, _, out2 = _graph(VALUES, two_d=True)
    g = ad.autograd.grad(out, [leaves[1], leaves[3]])
    g2 = ad.autograd.grad(out2, [leaves2[1], leaves2[3]])
    np.testing.assert_allclose([t.item() for t in g], [t.item() for t in g2], rtol=1e-13)


def test_stack_mixes_leaves_constants_and_views_of_0d_arrays():
    a = ad.tensor(2.0, requires_grad=True)
    b = ad.tensor(3.0)                          # no grad: no edge
    c = ad.tensor([5.0, 7.0], requires_grad=True)[1]     # 0-d array view
    s = ad.stack((a, b, c))
    assert s.tolist() == [2.0, 3.0, 7.0]
    assert [n is None for n, _ in s.grad_fn.next_functions] == [False, True, False]
    (s * ad.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert a.grad.item() == 1.0
    assert b.grad is None
    assert c.grad is None and ad.tensor([5.0, 7.0]).shape == (2,)


def test_stack_with_dim_minus_one_and_without_grad():
    xs = [ad.tensor(v) for v in VALUES]
    s = ad.stack(xs, dim=-1)
    assert s.grad_fn is None and not s.requires_grad
    assert s.tolist() == VALUES
    with ad.no_grad():
        assert ad.stack(_scalars(VALUES)[1]).grad_fn is None


def test_stack_of_float32_or_of_vectors_takes_the_generic_path():
    xs = [ad.tensor(v, dtype=ad.float32, requires_grad=True) for v in VALUES]
    s = ad.stack(xs)
    assert s.dtype == ad.float32
    s.sum().backward()
    assert xs[0].grad.dtype == ad.float32
    vs = [ad.tensor([v, v], requires_grad=True) for v in VALUES]
    assert ad.stack(vs).shape == (5, 2)


def test_softmax_of_nonfinite_values_matches_the_generic_path():
    for values in ([1.0, np.inf, 0.0], [np.nan, 1.0, 2.0], [-np.inf, -np.inf, -np.inf],
                   [-np.inf, 0.0, 1.0], [1e308, -1e308, 0.0]):
        fast = F.softmax(ad.tensor(values), dim=0).numpy()
        with np.errstate(all="ignore"):
            slow = F.softmax(ad.tensor([values]), dim=1).numpy()[0]
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
        np.testing.assert_allclose(fast, slow, rtol=1e-15)


def test_softmax_of_a_long_vector_still_matches():
    x = np.random.default_rng(1).standard_normal(300)
    for n in (1, 64, 65, 300):
        t = ad.tensor(x[:n], requires_grad=True)
        p = F.softmax(t, dim=-1)
        np.testing.assert_allclose(p.detach().numpy(),
                                   np.exp(x[:n]) / np.exp(x[:n]).sum(), rtol=1e-14)
        (p * ad.tensor(np.arange(n, dtype=float))).sum().backward()
        s = p.detach().numpy()
        expected = s * (np.arange(n) - (np.arange(n) * s).sum())
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_softmax_output_changed_in_place_is_an_error():
    x = ad.tensor(VALUES, requires_grad=True)
    p = F.softmax(x, dim=0)
    y = (p * 2.0).sum()
    p.mul_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_softmax_backward_twice_needs_retain_graph():
    x = ad.tensor(VALUES, requires_grad=True)
    y = F.softmax(x, dim=0)[2]
    y.backward(retain_graph=True)
    g = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_select_is_a_view_of_its_vector():
    x = ad.tensor([1.0, 2.0, 3.0])
    v = x[1]
    assert v._base is x and v._data.base is not None
    x.add_(10.0)
    assert v.item() == 12.0                       # reads see the vector's changes
    assert v._version == x._version == 1 and v._version_counter is x._version_counter
    v.mul_(2.0)                                   # writes go to the vector
    assert x.tolist() == [11.0, 24.0, 13.0]
    assert x[-1].item() == 13.0


@pytest.mark.parametrize("index", [1, -2, 299, -300])
def test_select_of_a_view_and_far_indices_write_through(index):
    # x[i] of a base keeps only i (its source is its _base); of a view, (view, getitem, (i,))
    getitem = ad.ops.index.getitem.spec
    leaf = ad.tensor(np.arange(302.0), requires_grad=True)
    base = leaf * 1.0
    x = base[2:]                                  # a view of base
    assert base[index]._view_of == (base, getitem, (index,))
    v = x[index]
    assert v._view_of[0] is x and v._view_of[1:] == (getitem, (index,))
    v.mul_(10.0)                                  # through x[index] = ..., into base
    expected = np.arange(302.0)
    expected[2 + (index % 300)] *= 10.0
    np.testing.assert_array_equal(base.detach().numpy(), expected)
    base.sum().backward()                         # the write is recorded on base's graph
    want = np.ones(302)
    want[2 + (index % 300)] = 10.0
    np.testing.assert_array_equal(leaf.grad.numpy(), want)


def test_select_out_of_range_and_non_int_indices():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[-4]
    assert x[np.int64(1)].item() == 2.0
    assert x[True].shape == (1, 3)               # a bool is not an int index
    assert x[1].grad_fn.name() == "SelectBackward0"


def test_gradients_of_several_selects_accumulate():
    x = ad.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x[0] * 2.0 + x[2] * 3.0 + x[0] * 4.0 + x[-1]
    y.backward()
    assert x.grad.tolist() == [6.0, 0.0, 3.0, 1.0]


def test_hooks_and_retain_grad_on_fast_nodes():
    leaves, xs = _scalars([0.1, 0.2, 0.3])
    s = ad.stack(xs)
    s.retain_grad()
    seen = []
    s.register_hook(lambda g: seen.append(g.tolist()))
    p = F.softmax(s, dim=0)
    p[1].backward()
    sm = p.detach().numpy()
    expected = sm * (np.array([0.0, 1.0, 0.0]) - sm[1])
    assert seen == [s.grad.tolist()]
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-14)
    np.testing.assert_allclose([leaf.grad.item() for leaf in leaves], expected, rtol=1e-14)


def test_forward_mode_and_anomaly_mode_take_the_generic_path():
    import autodiff.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor([0.1, 0.2]), ad.tensor([1.0, 0.0]))
        p = F.softmax(x, dim=0)
        t = fwAD.unpack_dual(p[0]).tangent
        s = p.detach().numpy()
        assert t.item() == pytest.approx(s[0] * (1 - s[0]))
    with ad.autograd.detect_anomaly():
        x = ad.tensor([0.1, 0.2], requires_grad=True)
        F.softmax(x, dim=0)[0].backward()
        assert x.grad is not None


def test_a_failed_backward_leaves_no_state_on_the_nodes():
    x = ad.tensor([0.5, 1.5], requires_grad=True)
    leaves, xs = _scalars([0.1, 0.2])
    p = F.softmax(ad.stack(xs), dim=0)
    y = p[0] * x[0] + p[1] * x[1] + xs[0] * xs[1]
    calls = []

    def failing_once(g):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("hook failed")
    p.register_hook(failing_once)
    with pytest.raises(ValueError, match="hook failed"):
        y.backward(retain_graph=True)
    assert x.grad.tolist() == p.tolist()          # x's node ran before the failure
    x.grad = None
    y.backward()                                   # no gradient left over from the failure
    sm = p.detach().numpy()
    g = sm * (x.detach().numpy() - (sm * x.detach().numpy()).sum())
    np.testing.assert_allclose([leaves[0].grad.item(), leaves[1].grad.item()],
                               [g[0] + 0.2, g[1] + 0.1], rtol=1e-14)


def test_stack_of_a_second_output_keeps_its_index():
    a_np = np.array([[2.0, 1.0], [1.0, 3.0]])
    a = ad.tensor(a_np, requires_grad=True)
    _, logdet = ad.linalg.slogdet(a)              # output 1 of its node
    first = a.sum() * 1.0
    s = ad.stack([first, logdet, logdet])
    assert [i for _, i in s.grad_fn.next_functions] == [0, 1, 1]
    (s * ad.tensor([0.0, 1.0, 2.0])).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 * np.linalg.inv(a_np).T, rtol=1e-14)
    # the indices of a plain stack (a tuple of zeros the engine shares) are untouched
    plain = ad.stack([first, first, first])
    assert [i for _, i in plain.grad_fn.next_functions] == [0, 0, 0]
