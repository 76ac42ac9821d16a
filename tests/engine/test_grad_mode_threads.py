"""SPEC §3: no_grad results; grad modes as context managers and decorators, thread-local;
backward on independent threads."""
import threading

import numpy as np
import pytest

import autodiff as ad


def test_no_grad_results_have_no_grad_fn():
    x = ad.ones(2, requires_grad=True)
    with ad.no_grad():
        y = x * 2 + ad.exp(x)
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None and y.is_leaf


def test_enable_grad_inside_no_grad_and_set_grad_enabled():
    x = ad.ones(2, requires_grad=True)
    with ad.no_grad():
        with ad.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with ad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    ad.set_grad_enabled(False)
    try:
        assert not ad.is_grad_enabled()
    finally:
        ad.set_grad_enabled(True)
    assert ad.is_grad_enabled()


def test_inference_mode():
    x = ad.ones(2, requires_grad=True)
    with ad.inference_mode():
        assert (x * 2).grad_fn is None
    with ad.inference_mode(False):
        assert (x * 2).grad_fn is not None


@pytest.mark.parametrize("make_mode,expect", [
    (ad.no_grad, False), (ad.inference_mode, False), (lambda: ad.set_grad_enabled(False), False),
    (lambda: ad.set_grad_enabled(True), True),
])
def test_grad_modes_as_decorators(make_mode, expect):
    assert ad.is_grad_enabled()

    @make_mode()
    def f(x):
        return x * 2

    x = ad.ones(2, requires_grad=True)
    assert f(x).requires_grad is expect
    assert ad.is_grad_enabled()
    assert f(x).requires_grad is expect   # reusable


def test_enable_grad_decorator_inside_no_grad():
    @ad.enable_grad()
    def f(x):
        return x * 2

    x = ad.ones(2, requires_grad=True)
    with ad.no_grad():
        assert f(x).requires_grad
        assert not ad.is_grad_enabled()


def test_no_grad_class_used_as_bare_decorator_and_restores_on_exception():
    @ad.no_grad()
    def boom():
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()
    assert ad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def other():
        entered.wait()
        x = ad.ones(2, requires_grad=True)
        seen["enabled"] = ad.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad
        with ad.no_grad():
            release.set()
            seen["inner"] = ad.is_grad_enabled()

    th = threading.Thread(target=other)
    th.start()
    with ad.no_grad():
        entered.set()
        release.wait(5)
        assert not ad.is_grad_enabled()
    th.join()
    assert seen == {"enabled": True, "records": True, "inner": False}
    assert ad.is_grad_enabled()


def test_backward_on_independent_threads():
    errors = []
    results = {}

    def work(k):
        try:
            rng = np.random.default_rng(k)
            xv = rng.standard_normal(50)
            for it in range(30):
                x = ad.tensor(xv, requires_grad=True)
                y = (ad.sin(x) * x ** 2).sum() + (ad.exp(x * 0.1) * k).sum()
                y.backward()
                g2, = ad.autograd.grad((x * x * k).sum(), x)
            results[k] = (x.grad.numpy(), xv, g2.numpy())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for k, (g, xv, g2) in results.items():
        expect = np.cos(xv) * xv ** 2 + 2 * xv * np.sin(xv) + 0.1 * k * np.exp(0.1 * xv)
        np.testing.assert_allclose(g, expect, rtol=1e-12)
        np.testing.assert_allclose(g2, 2 * k * xv)


def test_no_grad_and_enable_grad_work_as_bare_decorators():
    x = ad.ones(2, requires_grad=True)

    @ad.no_grad
    def double(a):
        return a * 2

    @ad.enable_grad
    def triple(a):
        return a * 3

    assert double(x).requires_grad is False and double.__name__ == "double"
    with ad.no_grad():
        assert triple(x).requires_grad is True
