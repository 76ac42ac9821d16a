"""Reference cycles that user code makes through tensors (a hook, a custom Function's
ctx, an attribute of a Parameter, a .grad with a graph of its own) are collected by
the cyclic GC; a graph without such a reference stays invisible to the GC (no cost
per collection for the tensors and nodes of a large graph)."""
import gc
import os
import weakref

import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Function


def _data_ref(t):
    """A weak reference to ``t``'s array. (The GC clears weak references to the
    objects of a cycle it finds even when it cannot free them; an ndarray is not a
    GC object, so its weak reference dies only when the array is freed.)"""
    return weakref.ref(t._array())


def _collected(make):
    """``make()`` builds a cycle and returns weak references to arrays in it; all of
    them are dead after the cycle's last outside reference is gone and gc.collect()."""
    refs = make()
    gc.collect()
    return [r() is None for r in refs]


def test_leaf_hook_closing_over_its_tensor():
    def make():
        t = ad.tensor(np.ones(10), requires_grad=True)
        t.register_hook(lambda g: g * t.detach())
        return [_data_ref(t)]

    assert _collected(make) == [True]


def test_non_leaf_hook_closing_over_its_tensor():
    def make():
        x = ad.tensor(np.ones(10), requires_grad=True)
        y = ad.sin(x) * 2.0
        y.register_hook(lambda g: g * y.detach())
        return [_data_ref(x), _data_ref(y)]

    assert _collected(make) == [True, True]


def test_post_accumulate_hook_closing_over_its_tensor():
    def make():
        t = ad.tensor(np.ones(10), requires_grad=True)
        t.register_post_accumulate_grad_hook(lambda p: t.grad)
        return [_data_ref(t)]

    assert _collected(make) == [True]


def test_hook_referring_to_a_tensor_built_on_it_before():
    # y -> its node -> x's AccumulateGrad -> x -> the hook -> y
    def make():
        x = ad.tensor(np.ones(10), requires_grad=True)
        y = (x * 2.0).sum()
        x.register_hook(lambda g: g + 0.0 * y.item())
        return [_data_ref(x), _data_ref(y)]

    assert _collected(make) == [True, True]


def test_hook_referring_to_tensors_built_on_it_later():
    def make():
        x = ad.tensor(np.ones(10), requires_grad=True)
        seen = []
        x.register_hook(lambda g: g * len(seen))
        seen.append(ad.exp(x) * 3.0)            # made after the hook, found through a list
        seen.append(ad.stack([x[0], x[1]]))     # the compiled paths too
        return [_data_ref(x)] + [_data_ref(s) for s in seen]

    assert _collected(make) == [True, True, True]


def test_function_ctx_referring_to_its_output_and_later_tensors():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 2.0
            ctx.out = out           # PyTorch's cycle; here the output is a fresh tensor
            return out

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    def make():
        x = ad.tensor(np.ones(10), requires_grad=True)
        y = Double.apply(x)
        z = ad.sin(y) * 3.0
        y.grad_fn.ctx.y = y         # ctx -> y -> its node -> ctx
        y.grad_fn.ctx.z = z         # ctx -> z -> z's node -> y's node -> ctx
        return [_data_ref(x), _data_ref(y), _data_ref(z)]

    assert _collected(make) == [True, True, True]


def test_function_ctx_keeping_a_gradient_from_create_graph_backward():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            ctx.last_grad = g       # a graph that leads back to this Function's node
            return 2.0 * x * g

    def make():
        x = ad.tensor(np.arange(3.0), requires_grad=True)
        y = Square.apply(x)
        (ad.sin(y) * y).sum().backward(create_graph=True)
        return [_data_ref(x), _data_ref(y)]

    assert _collected(make) == [True, True]


def test_parameter_attributes_referring_to_its_graph():
    def make():
        p = ad.nn.Parameter(ad.ones(10))
        p.cache = (p * 2.0).sum()       # p -> __dict__ -> cache -> its node -> p's node -> p
        p.first = p[0]                  # a view of p
        return [_data_ref(p), _data_ref(p.cache), _data_ref(p.first)]

    assert _collected(make) == [True, True, True]


def test_grad_with_a_graph_of_its_own():
    def make():
        x = ad.tensor(np.arange(1.0, 4.0), requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)      # x.grad -> its graph -> x
        w = ad.tensor(np.ones(3), requires_grad=True)
        w.grad = w * 2.0                                # assigned by the user
        c = ad.tensor(np.array([0.5, -2.0, 3.0]), requires_grad=True)
        # a piecewise-constant gradient: its node is a ZeroDerivative
        (ad.clamp(c, -1.0, 1.0) * c).sum().backward(create_graph=True)
        return [_data_ref(x), _data_ref(x.grad), _data_ref(w), _data_ref(c)]

    assert _collected(make) == [True, True, True, True]


def test_plain_graphs_stay_untracked_by_the_gc():
    x = ad.tensor(0.5, requires_grad=True)
    v = ad.tensor(np.ones(3), requires_grad=True)
    y = ad.nn.functional.softmax(ad.stack([ad.sin(x) * x, x + 1.0, v.sum()]), dim=0)[1]
    z = (v * 2.0 + y).sum()
    objs = [x, v, y, z, z.grad_fn, y.grad_fn, y.grad_fn.next_functions[0][0]]
    assert not any(gc.is_tracked(o) for o in objs)


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_stays_flat_over_many_hook_cycles():
    def leaky():
        t = ad.tensor(np.ones(10**5), requires_grad=True)      # 0.8 MB
        t.register_hook(lambda g: g * t.detach())

    for i in range(1000):
        leaky()
        if i % 10 == 0:
            gc.collect(1)       # the young generations hold the new cycles
        if i == 100:
            start = _rss_mb()
    gc.collect()
    assert _rss_mb() - start < 30          # without collection: ~700 MB
