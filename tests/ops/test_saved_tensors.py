"""What an op's node saves, against PyTorch: an in-place op on a value that PyTorch's
node does not save (its result, or an input only the other input's gradient reads)
leaves backward valid, with PyTorch's gradients; one on a value it saves raises."""
import math

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as adF

torch = pytest.importorskip("torch")
tF = torch.nn.functional

A = np.array([[0.3, -1.2, 0.8], [1.5, 0.4, -0.6]])
B = np.array([[0.7, 1.1, -0.9], [0.5, -1.3, 1.6]])

# name -> (number of inputs, fn(lib, functional, *inputs))
OPS = {
    "div": (2, lambda L, F, a, b: a / b),
    "reciprocal": (1, lambda L, F, a: a.reciprocal()),
    "relu": (1, lambda L, F, a: a.relu()),
    "softplus": (1, lambda L, F, a: F.softplus(a)),
    "softplus-beta": (1, lambda L, F, a: F.softplus(a, beta=2.0, threshold=1.0)),
    "var": (1, lambda L, F, a: a.var()),
    "var-dim": (1, lambda L, F, a: a.var(dim=1, keepdim=True)),
    "std": (1, lambda L, F, a: a.std(dim=0)),
    "max-dim": (1, lambda L, F, a: L.max(a, dim=1).values),
    "min-dim": (1, lambda L, F, a: a.min(dim=0, keepdim=True)[0]),
    "matmul": (2, lambda L, F, a, b: a @ b.transpose(0, 1)),
    "matmul-vector": (2, lambda L, F, a, b: a @ b[0]),
    "exp": (1, lambda L, F, a: a.exp()),
    "mul": (2, lambda L, F, a, b: a * b),
}


def outcome(lib, fn, n, modified, needs_grad):
    """Gradients after an in-place op on the result (modified = "out") or on input k,
    or "raises" if backward refuses."""
    F = adF if lib is ad else tF
    leaves = [lib.tensor(v, requires_grad=r) for v, r in zip((A, B)[:n], needs_grad)]
    xs = [t * 1.0 for t in leaves]
    y = fn(lib, F, *xs)
    (y if modified == "out" else xs[modified]).mul_(2.0)
    wanted = [t for t in leaves if t.requires_grad]
    try:
        grads = lib.autograd.grad(y, wanted, lib.ones_like(y))
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc)
        return "raises"
    return [np.asarray(g) for g in grads]


CASES = [pytest.param(name, modified, needs_grad, id=f"{name}-{modified}-{needs_grad}")
         for name, (n, _) in OPS.items()
         for needs_grad in ([(True,)] if n == 1 else [(True, True), (True, False), (False, True)])
         for modified in ["out"] + list(range(n))]


@pytest.mark.parametrize("name, modified, needs_grad", CASES)
def test_inplace_after_an_op_matches_torch(name, modified, needs_grad):
    n, fn = OPS[name]
    ours = outcome(ad, fn, n, modified, needs_grad)
    theirs = outcome(torch, fn, n, modified, needs_grad)
    if theirs == "raises" or ours == "raises":
        assert ours == theirs
        return
    for g, tg in zip(ours, theirs):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-14)


def test_max_dim_keeps_working_after_its_input_is_overwritten():
    # MaxBackward0 saves the indices, not the input
    x = ad.tensor([[1.0, 5.0, 2.0]], requires_grad=True)
    t = x * 1.0
    m = t.max(dim=1)
    t.sub_(t)
    m.values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0]]


def test_div_gradient_of_the_divisor_stays_accurate():
    # -g * (x / y) / y: no overflow of y * y where x / y / y is finite
    x = ad.tensor([1e-300, 3.0], requires_grad=True)
    y = ad.tensor([1e-160, 1e200], requires_grad=True)
    (x / y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [-1e-300 / 1e-160 / 1e-160, -3.0 / 1e200 / 1e200])
    assert ad.autograd.gradgradcheck(lambda a, b: a / b, [ad.tensor([0.5, -2.0], requires_grad=True),
                                                       ad.tensor([1.5, 0.7], requires_grad=True)])


def test_softplus_gradient_in_both_tails_and_second_order():
    # softplus' = sigmoid(x) and softplus'' = sigmoid(x) sigmoid(-x), from x alone now:
    # exact in both tails, no overflow (PyTorch's own formula gives NaN at x = 800)
    xs = [-800.0, -30.0, 0.0, 30.0, 800.0]
    x = ad.tensor(xs, requires_grad=True)
    (g,) = ad.autograd.grad(adF.softplus(x, threshold=np.inf).sum(), x, create_graph=True)
    (h,) = ad.autograd.grad(g.sum(), x)

    def sigmoid(v):
        return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    np.testing.assert_allclose(g.detach().numpy(), [sigmoid(v) for v in xs], rtol=1e-14)
    np.testing.assert_allclose(h.numpy(), [sigmoid(v) * sigmoid(-v) for v in xs], rtol=1e-14)
    # first order on arrays (no create_graph), float64 and float32
    for dtype in (np.float64, np.float32):
        x = ad.tensor(np.array(xs, dtype=dtype), requires_grad=True)
        adF.softplus(x, threshold=np.inf).sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad.numpy(), [sigmoid(v) for v in xs],
                                   rtol=1e-14 if dtype == np.float64 else 1e-6)
