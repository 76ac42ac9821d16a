"""Backward's run order: nodes run newest first (by creation number), with no pass that
counts dependencies; a graph whose edges were set against that order, or a process
that ran out of numbers, falls back to counting and still gets every gradient right."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import _core


@pytest.fixture
def seq_state():
    """Restore the engine's creation-number state after a test that changes it."""
    saved = _core._seq_order()
    yield
    last, _ = _core._seq_order()
    _core._set_seq_order(max(last, saved[0]), saved[1])


@pytest.mark.parametrize("how", ["backward", "grad", "backward_inputs"])
def test_ready_nodes_run_newest_first_as_in_pytorch(how):
    # PyTorch's CPU engine runs the ready node with the highest sequence number first.
    # After (q + p)'s node, q's and p's are ready with r's: r (newest), q, then p (a
    # stack of ready nodes would run p before q: the last edge pushed comes out first).
    # autograd.grad and backward(inputs=) count dependencies, in the same order.
    log = []
    x = ad.tensor(0.7, requires_grad=True)
    p = ad.exp(x)
    q = ad.sin(x)
    r = x * 3.0
    for t, name in ((p, "p"), (q, "q"), (r, "r")):
        t.register_hook(lambda g, name=name: log.append(name))
    out = (q + p) + r
    if how == "backward":
        out.backward()
        g = x.grad
    elif how == "grad":
        (g,) = ad.autograd.grad(out, x)
    else:
        out.backward(inputs=[x])
        g = x.grad
    assert log == ["r", "q", "p"]
    assert np.isclose(g.item(), np.exp(0.7) + np.cos(0.7) + 3.0)


def _random_graph(rng, n_ops):
    """Leaves and a few roots of a random DAG of array ops (shared subexpressions)."""
    leaves = [ad.tensor(rng.uniform(-1, 1, 3), requires_grad=True) for _ in range(3)]
    nodes = list(leaves)
    for _ in range(n_ops):
        a, b = (nodes[i] for i in rng.integers(0, len(nodes), 2))
        kind = rng.integers(0, 4)
        nodes.append(a * b if kind == 0 else a + b if kind == 1
                     else ad.sin(a) if kind == 2 else ad.tanh(b) * 0.5)
    roots = [nodes[i].sum() for i in rng.integers(len(leaves), len(nodes), 3)]
    return leaves, roots


def _grads_of(seed, numbered):
    rng = np.random.default_rng(seed)
    leaves, roots = _random_graph(rng, 25)
    last, _ = _core._seq_order()
    _core._set_seq_order(last, numbered)
    ad.autograd.backward(roots, [ad.tensor(1.0)] * len(roots))
    return [np.zeros(3) if p.grad is None else p.grad.numpy() for p in leaves]


@pytest.mark.parametrize("seed", range(20))
def test_run_by_number_matches_counting_dependencies(seq_state, seed):
    by_number = _grads_of(seed, True)
    counted = _grads_of(seed, False)
    for g1, g2 in zip(by_number, counted):
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=0)


def test_edges_set_against_the_order_fall_back_to_counting(seq_state):
    x = ad.tensor(2.0, requires_grad=True)
    z = (x * 2) * 3          # z's node points to the node of x * 2
    w = x * 5                # newer than z's node
    node = z.grad_fn
    assert _core._seq_order()[1]
    node.next_nodes = (w.grad_fn,)       # z's node now points to a newer node
    assert not _core._seq_order()[1]
    z.backward()
    assert x.grad.item() == 15.0          # 3 * 5 through w's node: ran after z's node
    y = ad.tensor(1.0, requires_grad=True)
    (y * y).backward()                    # later graphs are counted and still right
    assert y.grad.item() == 2.0


def test_running_out_of_numbers_falls_back_to_counting(seq_state):
    last, _ = _core._seq_order()
    _core._set_seq_order(0xFFFFFFFF - 2, True)
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y, values = x, [x.detach().numpy()]
    for _ in range(5):                   # the numbers run out on the way
        y = ad.sin(y) * 2.0
        values.append(2.0 * np.sin(values[-1]))
    assert not _core._seq_order()[1]
    y.sum().backward()
    expected = np.prod([2.0 * np.cos(v) for v in values[:-1]], axis=0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    del x, y
    _core._set_seq_order(last, True)     # no node numbered above ``last`` is alive now


def test_an_error_mid_backward_leaves_the_graph_reusable():
    import sys
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    z = (y * y).sum() + ad.sin(x).sum()

    def boom(g):
        raise ValueError("boom")

    handle = y.register_hook(boom)
    acc = y.grad_fn.next_functions[0][0]   # x's AccumulateGrad: still queued at the error
    refs = sys.getrefcount(acc)
    raised = False
    try:                     # (pytest.raises would keep the traceback's frames alive)
        z.backward(retain_graph=True)
    except ValueError:
        raised = True
    after = sys.getrefcount(acc)           # (not inside assert: pytest keeps temporaries)
    assert raised and after == refs                # the heap let go of the nodes left
    handle.remove()
    z.backward()                                   # state of the failed run cleared
    np.testing.assert_allclose(x.grad.numpy(), 8.0 * np.array([1.0, 2.0])
                               + np.cos([1.0, 2.0]), rtol=1e-15)
