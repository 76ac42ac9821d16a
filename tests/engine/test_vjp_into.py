"""OpSpec.vjp_into: a one-input op's VJP written into the incoming gradient's buffer
when only the backward holds it (tanh, relu). It must give the rule's bits and never
change an array anyone else can see: the user's seed gradient, a hook's argument,
a retained .grad, a gradient returned by autograd.grad."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.ops._registry import OPS

RNG = np.random.default_rng(11)
X = RNG.standard_normal((16, 8))
W1, W2 = RNG.standard_normal((8, 32)), RNG.standard_normal((32, 4))


@pytest.fixture
def spy():
    """Counts the vjp_into calls of tanh and relu (and restores them)."""
    calls = {"tanh": 0, "relu": 0}
    saved = {k: OPS[k].vjp_into for k in calls}

    def wrap(name):
        def counting(*args):
            calls[name] += 1
            return saved[name](*args)
        return counting

    for k in calls:
        OPS[k].vjp_into = wrap(k)
    yield calls
    for k in calls:
        OPS[k].vjp_into = saved[k]


def mlp(act):
    w1 = ad.tensor(W1, requires_grad=True)
    w2 = ad.tensor(W2, requires_grad=True)
    h = act(ad.tensor(X) @ w1)
    return w1, w2, h


def grads_of(act, use_into):
    saved = {k: OPS[k].vjp_into for k in ("tanh", "relu")}
    if not use_into:
        for k in saved:
            OPS[k].vjp_into = None
    try:
        w1, w2, h = mlp(act)
        (act(h @ w2) ** 2).sum().backward()
        return w1.grad.numpy(), w2.grad.numpy()
    finally:
        for k in saved:
            OPS[k].vjp_into = saved[k]


@pytest.mark.parametrize("act", [ad.tanh, ad.relu])
def test_same_bits_as_the_rule(act, spy):
    a = grads_of(act, True)
    assert spy[act.__name__] == 2      # both activations took the path
    b = grads_of(act, False)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("act", [ad.tanh, ad.relu])
def test_the_seed_gradient_is_left_alone(act, spy):
    _, _, h = mlp(act)
    seed = RNG.standard_normal(h.shape)
    before = seed.copy()
    h.backward(ad.tensor(seed))
    assert np.array_equal(seed, before)
    assert spy[act.__name__] == 0


@pytest.mark.parametrize("act", [ad.tanh, ad.relu])
def test_a_retained_gradient_is_left_alone(act, spy):
    w1, w2, h = mlp(act)
    h.retain_grad()
    z = h @ w2
    (z ** 2).sum().backward()
    assert np.array_equal(h.grad.numpy(), 2 * z.detach().numpy() @ W2.T)


@pytest.mark.parametrize("act", [ad.tanh, ad.relu])
def test_a_hooks_argument_is_left_alone(act, spy):
    w1, w2, h = mlp(act)
    seen = []
    h.register_hook(lambda g: seen.append(g) or None)    # keeps the tensor itself
    z = h @ w2
    (z ** 2).sum().backward()
    assert np.array_equal(seen[0].numpy(), 2 * z.detach().numpy() @ W2.T)
    assert spy[act.__name__] == 0


@pytest.mark.parametrize("act", [ad.tanh, ad.relu])
def test_autograd_grad_outputs_are_left_alone(act, spy):
    w1, w2, h = mlp(act)
    z = h @ w2
    gh, gw1 = ad.autograd.grad((z ** 2).sum(), [h, w1])
    assert np.array_equal(gh.numpy(), 2 * z.detach().numpy() @ W2.T)
    (gw1_ref,) = ad.autograd.grad((act(ad.tensor(X) @ w1) @ w2).pow(2).sum(), [w1])
    assert np.array_equal(gw1.numpy(), gw1_ref.numpy())


def test_second_order_takes_the_rule():
    x = ad.tensor(RNG.standard_normal(40), requires_grad=True)
    (g,) = ad.autograd.grad(ad.tanh(x).sum(), x, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), x)
    t = np.tanh(x.detach().numpy())
    np.testing.assert_allclose(gg.numpy(), -2 * t * (1 - t * t), rtol=1e-12, atol=1e-15)


def test_only_for_one_input_ops():
    from autodiff.ops._registry import defop
    with pytest.raises(TypeError, match="vjp_into"):
        @defop(vjp={"x": lambda g: g, "y": lambda g: g}, vjp_into=lambda g: g)
        def _two_inputs(x, y):
            return x + y
