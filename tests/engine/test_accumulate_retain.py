"""SPEC §3: accumulation into .grad, retain_graph, freeing saved arrays, higher order."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autodiff as ad


def test_gradients_accumulate_until_zeroed_or_none():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), k * np.array([2.0, 4.0]))
    x.grad.zero_()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_accumulation_does_not_alias_user_gradient():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    seed = ad.tensor([1.0, 1.0])
    (x + 0).backward(seed)          # the gradient reaching x is the seed itself
    (x + 0).backward(seed)
    np.testing.assert_array_equal(seed.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_second_backward_raises_with_retain_graph_hint():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = (ad.exp(x) * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_grad_frees_graph_unless_retained():
    x = ad.tensor(2.0, requires_grad=True)
    y = x * x
    ad.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        ad.autograd.grad(y, x)


def test_freed_graph_releases_saved_arrays_weakref():
    x = ad.tensor(np.ones(1000), requires_grad=True)
    h = ad.exp(x)                # ExpBackward saves its output array
    y = (h * h).sum()            # MulBackward saves h's array twice
    node = h.grad_fn
    saved = weakref.ref(h.detach().numpy())
    del h
    gc.collect()
    assert saved() is not None   # still held by the graph
    y.backward()
    gc.collect()
    assert saved() is None, "backward without retain_graph must drop the saved arrays"
    assert node is not None


def test_freed_graph_returns_memory_tracemalloc():
    n = 2_000_000                      # 16 MB per float64 array
    x = ad.tensor(np.ones(n), requires_grad=True)
    tracemalloc.start()
    try:
        y = ad.sin(ad.exp(x) * 2.0)    # several saved intermediate arrays
        loss = y.sum()
        del y
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # held before: at least two 16 MB intermediates; after: only x.grad (16 MB) is new
    assert before >= 2 * 8 * n
    assert after < before - 8 * n


def test_third_derivative_of_cube_is_six():
    x = ad.tensor(2.0, requires_grad=True)
    y = x ** 3
    g1, = ad.autograd.grad(y, x, create_graph=True)
    g2, = ad.autograd.grad(g1, x, create_graph=True)
    g3, = ad.autograd.grad(g2, x, allow_unused=True)
    assert g1.item() == 12.0 and g2.item() == 12.0 and g3.item() == 6.0


def test_higher_order_sin_cycle():
    x0 = 0.7
    x = ad.tensor(x0, requires_grad=True)
    g = ad.sin(x)
    expected = [np.cos(x0), -np.sin(x0), -np.cos(x0), np.sin(x0), np.cos(x0)]
    for e in expected:
        g, = ad.autograd.grad(g, x, create_graph=True)
        assert abs(g.item() - e) < 1e-12


def test_grad_of_grad_sum_spec_form():
    x = ad.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = (x ** 4).sum()
    g = ad.autograd.grad(ad.autograd.grad(y, x, create_graph=True)[0].sum(), x)[0]
    np.testing.assert_allclose(g.detach().numpy(), 12 * x.detach().numpy() ** 2)


def test_backward_create_graph_then_backward_of_grad():
    x = ad.tensor(3.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    gx = x.grad
    assert gx.item() == 27.0 and gx.requires_grad
    x.grad = None
    gx.backward()
    assert x.grad.item() == 18.0


def test_mixed_partials_with_create_graph():
    x = ad.tensor(1.5, requires_grad=True)
    y = ad.tensor(-0.5, requires_grad=True)
    f = ad.exp(x * y) + x ** 2 * y
    fx, = ad.autograd.grad(f, x, create_graph=True)
    fxy, = ad.autograd.grad(fx, y)
    xv, yv = 1.5, -0.5
    assert abs(fxy.item() - (np.exp(xv * yv) * (1 + xv * yv) + 2 * xv)) < 1e-12
