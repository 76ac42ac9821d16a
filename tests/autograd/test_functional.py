"""autograd.functional: values against closed forms / finite differences, and return structures."""
import os
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import functional as F

RNG = np.random.default_rng(1)
N = 100
W = RNG.standard_normal((N, N)) / np.sqrt(N)
B = RNG.standard_normal(N)


def f100(x):
    """A 100 -> 100 function mixing matmul, elementwise ops, broadcasting and a reduction."""
    h = ad.tanh(ad.tensor(W) @ x + ad.tensor(B))
    return h * ad.exp(-x ** 2 / 4) + ad.sin(x) * (x ** 2).sum() / N


def jac_closed(x):
    z = W @ x + B
    h = np.tanh(z)
    e = np.exp(-x ** 2 / 4)
    s = (x ** 2).sum()
    J = (1 - h ** 2)[:, None] * W * e[:, None] + np.diag(h * e * (-x / 2))
    J += np.diag(np.cos(x) * s / N) + np.outer(np.sin(x), 2 * x) / N
    return J


def jac_fd(f, x, eps=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = eps
        cols.append((f(ad.tensor(x + e)).numpy() - f(ad.tensor(x - e)).numpy()) / (2 * eps))
    return np.stack(cols, axis=1)


def test_jacobian_100_by_four_routes():
    x = RNG.standard_normal(N)
    xt = ad.tensor(x)
    rev = F.jacobian(f100, xt).numpy()
    fwd = F.jacobian(f100, xt, strategy="forward-mode", vectorize=True).numpy()
    vec = F.jacobian(f100, xt, vectorize=True).numpy()
    fwd_loop = F.jacobian(f100, xt, strategy="forward-mode").numpy()
    exact = jac_closed(x)
    for J in (rev, fwd, vec, fwd_loop):
        assert J.shape == (N, N)
        np.testing.assert_allclose(J, exact, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rev, fwd, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rev, vec, rtol=0, atol=1e-10)
    np.testing.assert_allclose(jac_fd(f100, x), rev, rtol=0, atol=1e-7)


def w5(A):
    return lambda x: (ad.tanh(ad.tensor(A) @ x) ** 2).sum() + 0.5 * (x @ x)


def w5_hessian(A, x):
    t = np.tanh(A @ x)
    return A.T @ np.diag(2 * (1 - t ** 2) * (1 - 3 * t ** 2)) @ A + np.eye(len(x))


@pytest.mark.parametrize("kwargs", [{}, {"vectorize": True},
                                    {"outer_jacobian_strategy": "forward-mode"},
                                    {"create_graph": True}])
def test_hessian_w5_closed_form(kwargs):
    n = 200 if not kwargs.get("create_graph") else 30
    A = RNG.standard_normal((n, n)) / np.sqrt(n)
    x = RNG.standard_normal(n)
    H = F.hessian(w5(A), ad.tensor(x), **kwargs)
    np.testing.assert_allclose(H.detach().numpy(), w5_hessian(A, x), rtol=0, atol=1e-10)


def test_hvp_vhp_against_closed_form():
    n = 50
    A = RNG.standard_normal((n, n)) / np.sqrt(n)
    x, v = RNG.standard_normal(n), RNG.standard_normal(n)
    Hv = w5_hessian(A, x) @ v
    val, hv = F.hvp(w5(A), ad.tensor(x), ad.tensor(v))
    _, vh = F.vhp(w5(A), ad.tensor(x), ad.tensor(v))
    np.testing.assert_allclose(hv.numpy(), Hv, rtol=1e-10)
    np.testing.assert_allclose(vh.numpy(), Hv, rtol=1e-10)
    np.testing.assert_allclose(val.numpy(), w5(A)(ad.tensor(x)).numpy())


def test_vjp_jvp_values():
    x = RNG.standard_normal(N)
    v = RNG.standard_normal(N)
    J = jac_closed(x)
    out, vj = F.vjp(f100, ad.tensor(x), ad.tensor(v))
    np.testing.assert_allclose(vj.numpy(), v @ J, atol=1e-10)
    out2, jv = F.jvp(f100, ad.tensor(x), ad.tensor(v))
    np.testing.assert_allclose(jv.numpy(), J @ v, atol=1e-10)
    np.testing.assert_allclose(out.numpy(), out2.numpy())


# -- return structures, as documented for torch.autograd.functional ---------------
x2, y2 = ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0, 5.0])


def test_jacobian_structures():
    assert isinstance(F.jacobian(lambda a: a * 2, x2), ad.Tensor)
    J = F.jacobian(lambda a, b: a.sum() * b, (x2, y2))
    assert isinstance(J, tuple) and len(J) == 2 and J[0].shape == (3, 2) and J[1].shape == (3, 3)
    J = F.jacobian(lambda a: (a * 2, a.sum()), x2)
    assert isinstance(J, tuple) and J[0].shape == (2, 2) and J[1].shape == (2,)
    J = F.jacobian(lambda a, b: (a * 2, b.sum()), (x2, y2))
    assert isinstance(J, tuple) and all(isinstance(r, tuple) and len(r) == 2 for r in J)
    assert J[0][1].shape == (2, 3) and J[1][0].shape == (2,)
    np.testing.assert_allclose(J[0][1].numpy(), 0)
    for route in ({"vectorize": True}, {"strategy": "forward-mode", "vectorize": True}):
        Jr = F.jacobian(lambda a, b: (a * 2, b.sum()), (x2, y2), **route)
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(Jr[i][j].numpy(), J[i][j].numpy())


def test_hessian_structures():
    H = F.hessian(lambda a: (a ** 3).sum(), x2)
    assert isinstance(H, ad.Tensor) and H.shape == (2, 2)
    H = F.hessian(lambda a, b: (a ** 2).sum() * b.sum(), (x2, y2))
    assert isinstance(H, tuple) and len(H) == 2 and all(len(r) == 2 for r in H)
    assert H[0][1].shape == (2, 3) and H[1][0].shape == (3, 2)
    np.testing.assert_allclose(H[0][1].numpy(), np.repeat((2 * x2.numpy())[:, None], 3, 1))


def test_vjp_jvp_hvp_structures():
    out, g = F.vjp(lambda a: a.sum(), x2)
    assert isinstance(out, ad.Tensor) and isinstance(g, ad.Tensor)
    out, g = F.vjp(lambda a, b: (a * 2, b), (x2, y2), (ad.ones(2), ad.ones(3)))
    assert isinstance(out, tuple) and isinstance(g, tuple) and len(g) == 2
    out, t = F.jvp(lambda a, b: a * b.sum(), (x2, y2), (ad.ones(2), ad.ones(3)))
    assert isinstance(out, ad.Tensor) and isinstance(t, ad.Tensor)
    out, hv = F.hvp(lambda a, b: (a * a).sum() * b.sum(), (x2, y2), (ad.ones(2), ad.ones(3)))
    assert isinstance(hv, tuple) and hv[0].shape == (2,) and hv[1].shape == (3,)
    out, vh = F.vhp(lambda a, b: (a * a).sum() * b.sum(), (x2, y2), (ad.ones(2), ad.ones(3)))
    for a, b in zip(hv, vh):
        np.testing.assert_allclose(a.numpy(), b.numpy())


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda a: a * 2, x2)
    with pytest.raises(RuntimeError, match="single element"):
        F.hessian(lambda a: a * 2, x2)
    with pytest.raises(TypeError, match="Tensor or a tuple"):
        F.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="strict"):
        F.jacobian(lambda a, b: a * 2, (x2, y2), strict=True)
    with pytest.raises(ValueError, match="strategy"):
        F.jacobian(lambda a: a, x2, strategy="sideways")


def test_create_graph_jacobian_is_differentiable():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    J = F.jacobian(lambda a: a ** 3, x, create_graph=True)
    (g,) = ad.autograd.grad(J.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 6 * x.detach().numpy())


def test_create_graph_jvp_and_vjp_are_differentiable_in_inputs_and_v():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    v = ad.tensor([1.0, 1.0], requires_grad=True)
    _, jv = F.jvp(lambda a: a ** 3, x, v, create_graph=True)
    gx, gv = ad.autograd.grad(jv.sum(), (x, v))
    np.testing.assert_allclose(gx.detach().numpy(), 6 * x.detach().numpy() * v.detach().numpy())
    np.testing.assert_allclose(gv.detach().numpy(), 3 * x.detach().numpy() ** 2)
    _, vj = F.vjp(lambda a: a ** 3, x, v, create_graph=True)
    gx, gv = ad.autograd.grad(vj.sum(), (x, v))
    np.testing.assert_allclose(gx.detach().numpy(), 6 * x.detach().numpy() * v.detach().numpy())
    np.testing.assert_allclose(gv.detach().numpy(), 3 * x.detach().numpy() ** 2)


def test_hessian_falls_back_to_reverse_over_reverse_without_jvp_rule():
    class Square(ad.autograd.Function):   # no jvp: forward mode cannot go through it
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    f = lambda a: (Square.apply(a) * a).sum()     # sum a^3
    H = F.hessian(f, x2)
    np.testing.assert_allclose(H.numpy(), np.diag(6 * x2.numpy()))
    with pytest.raises(NotImplementedError):
        F.hessian(f, x2, outer_jacobian_strategy="forward-mode")


# -- the Hessian's buffers are reused between calls ------------------------------------
def test_hessian_allocates_through_the_pool_only_during_the_call():
    from numpy._core.multiarray import get_handler_name
    seen = []

    def f(x):
        seen.append(get_handler_name())
        if len(seen) == 2:
            raise ValueError("stop")
        return (x ** 3).sum()

    F.hessian(f, x2)
    assert seen == ["autodiff_pool"] and get_handler_name() == "default_allocator"
    with pytest.raises(ValueError, match="stop"):
        F.hessian(f, x2)
    assert get_handler_name() == "default_allocator"


def test_hessians_on_reused_buffers_equal_torchs():
    torch = pytest.importorskip("torch")
    # different functions and sizes one after the other: each call runs on buffers the
    # previous one freed (n = 200: 320 KB each, pooled)
    for n, seed in [(200, 1), (150, 2), (200, 3), (200, 4)]:
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        x = rng.standard_normal(n)
        H = F.hessian(w5(A), ad.tensor(x)).numpy()
        At = torch.tensor(A)
        Ht = torch.autograd.functional.hessian(
            lambda v: (torch.tanh(At @ v) ** 2).sum() + 0.5 * (v @ v), torch.tensor(x))
        np.testing.assert_allclose(H, Ht.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(H, w5_hessian(A, x), rtol=0, atol=1e-10)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap trimming")
def test_repeated_hessian_does_not_page_fault_its_temporaries_again():
    # In a plain process (no allocator tuning) glibc returned the Hessian's n x n
    # temporaries to the OS after each call: ~440-600 minor page faults per call at
    # n = 200, more time than the arithmetic. The pool keeps them.
    code = textwrap.dedent("""
        import resource
        import numpy as np
        import autodiff as ad
        from autodiff.autograd.functional import hessian
        n = 200
        rng = np.random.default_rng(0)
        A = ad.tensor(rng.standard_normal((n, n)) / np.sqrt(n))
        f = lambda x: (ad.tanh(A @ x) ** 2).sum() + 0.5 * (x @ x)
        x = ad.tensor(rng.standard_normal(n))
        for _ in range(3):
            hessian(f, x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            hessian(f, x)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(ad.__file__)))
    env = {**os.environ, "PYTHONPATH": root, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    # cwd=root: `python -c` puts the current directory first on sys.path, and the
    # checkout's own autodiff/ is unbuilt where the suite runs against an installed one.
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout) < 20
