"""SPEC §3: .grad on leaves / retain_grad; hooks; post-accumulate hooks."""
import warnings

import numpy as np
import pytest

import autodiff as ad


def test_grad_only_on_leaves_requiring_grad():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    c = ad.tensor([3.0, 4.0])
    h = x * c
    with pytest.warns(UserWarning, match="retain_grad"):
        (h * h).sum().backward()
        assert h.grad is None
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.numpy(),
                                  2 * (x.detach().numpy() * c.detach().numpy()) * c.detach().numpy())


def test_non_leaf_grad_warning_points_at_the_callers_line():
    h = ad.tensor([1.0], requires_grad=True) * 2
    with pytest.warns(UserWarning, match="retain_grad") as record:
        assert h.grad is None
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h.retain_grad()
        assert h.grad is None               # retains grad: no warning
        assert ad.tensor([1.0]).grad is None   # a leaf: no warning


def test_assigning_grad_converts_and_checks():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([0.5, 0.25])
    assert isinstance(x.grad, ad.Tensor)
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.25])
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = ad.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="different type"):
        x.grad = ad.tensor(np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.25])   # unchanged by the failures
    x.grad = None
    assert x.grad is None


def test_retain_grad_on_non_leaf():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * h).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [12.0, 24.0])
    x.retain_grad()  # no-op on a leaf
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ad.ones(2).retain_grad()


def test_hook_runs_before_accumulation_and_replaces_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append((g.numpy().copy(), None if x.grad is None else x.grad.numpy().copy()))
        return g * 10

    x.register_hook(hook)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(seen[0][0], [2.0, 2.0])
    assert seen[0][1] is None           # .grad not yet written when the hook ran
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])
    (x * 1).sum().backward()
    np.testing.assert_array_equal(seen[1][1], [20.0, 20.0])
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])


def test_hook_returning_none_keeps_gradient_and_hooks_chain_in_order():
    x = ad.tensor(1.0, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(("a", g.item())))
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: calls.append(("c", g.item())))
    (x * 3).backward()
    assert calls == [("a", 3.0), ("c", 4.0)]
    assert x.grad.item() == 4.0


def test_hook_handle_remove():
    v = ad.tensor([2.0, 2.0], requires_grad=True)
    h = v.register_hook(lambda g: g * 100)
    h.remove()
    h.remove()
    v.backward(ad.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 1.0])


def test_register_hook_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require grad"):
        ad.ones(2).register_hook(lambda g: g)


def test_hook_on_non_leaf_changes_upstream_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    got = []
    h.register_hook(lambda g: got.append(g.numpy().copy()) or g * 0.5)
    (h ** 2).sum().backward()
    np.testing.assert_array_equal(got[0], 2 * h.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (0.5 * 2 * h.detach().numpy()))


def test_hook_on_non_leaf_sees_total_gradient_of_several_uses():
    x = ad.tensor(1.0, requires_grad=True)
    h = x * 2
    got = []
    h.register_hook(lambda g: got.append(g.item()))
    (h * 3 + h * 4).backward()
    assert got == [7.0]


def test_retained_grad_sees_hook_result():
    x = ad.tensor(1.0, requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    (h * 5).backward()
    assert h.grad.item() == 15.0 and x.grad.item() == 30.0


def test_post_accumulate_grad_hook_runs_after_accumulation():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])
    np.testing.assert_array_equal(seen[1], [5.0, 5.0])
    h.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hook_can_do_optimizer_step():
    x = ad.tensor([1.0, 2.0], requires_grad=True)

    def step(t):
        with ad.no_grad():
            t.sub_(0.5 * t.grad)
        t.grad = None

    x.register_post_accumulate_grad_hook(step)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.detach().numpy(), [0.0, 0.0])
    assert x.grad is None


def test_hooks_fire_in_autograd_grad():
    x = ad.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g * 10)
    g, = ad.autograd.grad(x * x, x)
    assert g.item() == 40.0 and x.grad is None
