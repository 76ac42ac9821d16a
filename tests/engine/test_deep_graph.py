"""SPEC §3: a chain of 1,000,000 nodes runs backward without recursion."""
import gc
import os
import sys
import time

import numpy as np

import autodiff as ad


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def test_million_node_chain_backward():
    n = 1_000_000
    limit = sys.getrecursionlimit()
    gc.collect()
    base = _rss_mb() if sys.platform.startswith("linux") else None
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    t0 = time.perf_counter()
    for _ in range(n):
        y = y * 1.000001
    t1 = time.perf_counter()
    built = _rss_mb() if base is not None else None
    y.backward()
    t2 = time.perf_counter()
    del y
    gc.collect()
    t3 = time.perf_counter()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad.item(), 1.000001 ** n, rtol=1e-9)
    print(f"\n1e6-node chain: forward {t1 - t0:.2f}s, backward {t2 - t1:.2f}s, "
          f"teardown {t3 - t2:.2f}s")
    if base is not None:
        after = _rss_mb()
        print(f"RSS: start {base:.0f} MB, graph built {built:.0f} MB, after free {after:.0f} MB")
        assert after - base < 0.25 * (built - base), "graph memory was not released"


def test_deep_chain_grad_and_create_graph():
    n = 5_000
    x = ad.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(n):
        y = ad.sin(y) * 0.5 + y * 0.5
    g, = ad.autograd.grad(y, x, create_graph=True)
    gg, = ad.autograd.grad(g, x)
    assert np.isfinite(g.item()) and np.isfinite(gg.item())


def test_wide_graph_many_uses_of_one_leaf():
    x = ad.tensor(2.0, requires_grad=True)
    total = x * 0
    for k in range(10_000):
        total = total + x
    total.backward()
    assert x.grad.item() == 10_000.0
