"""Threads that backward into one shared tensor lose no update: accumulation into
``.grad`` is serialised per tensor (PyTorch locks each AccumulateGrad), also where
NumPy releases the GIL inside a large add or copy."""
import threading

import numpy as np
import pytest

import autodiff as ad

N = 1_000_000        # large enough that NumPy releases the GIL in its loops
THREADS, STEPS = 4, 20
# thread k adds (k + 1) per step: the sum over k of (k + 1) * STEPS
EXPECTED = sum((k + 1) * STEPS for k in range(THREADS))


def _run_threads(work):
    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("start", [None, 5.0], ids=["empty-grad", "existing-grad"])
def test_threads_backward_into_one_leaf_lose_no_update(start):
    for _ in range(2):
        w = ad.tensor(np.zeros(N), requires_grad=True)
        if start is not None:
            w.grad = ad.tensor(np.full(N, start))

        def work(k):
            for _ in range(STEPS):
                (w * (k + 1)).sum().backward()

        _run_threads(work)
        expected = EXPECTED + (start or 0.0)
        g = w.grad.numpy()
        assert g.min() == expected and g.max() == expected


def test_threads_accumulate_into_a_shared_retained_grad():
    x = ad.tensor(np.ones(N), requires_grad=True)
    h = x * 1.0
    h.retain_grad()

    def work(k):
        for _ in range(STEPS):
            (h * (k + 1)).sum().backward(retain_graph=True)

    _run_threads(work)
    for t in (h, x):
        g = t.grad.numpy()
        assert g.min() == EXPECTED and g.max() == EXPECTED


def test_post_accumulate_hook_sees_each_threads_update_whole():
    # the hook runs under the tensor's lock: between two hook calls .grad grows by
    # exactly one thread's contribution, never by a half-added one
    w = ad.tensor(np.zeros(N), requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))

    def work(k):
        for _ in range(5):
            (w * (k + 1)).sum().backward()

    _run_threads(work)
    previous = 0.0
    for g in seen:
        assert g.min() == g.max()           # every element got the same updates
        assert g[0] - previous in (1.0, 2.0, 3.0, 4.0)
        previous = g[0]
    assert previous == sum((k + 1) * 5 for k in range(THREADS))
