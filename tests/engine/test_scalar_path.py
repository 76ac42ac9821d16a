"""The float64-scalar fast path of the core: ops on 0-d float64 tensors run on C
doubles. It must be indistinguishable from the generic path (which 1-element
arrays still take): same values, same gradients, same node names, same errors."""
import numpy as np
import pytest

import autodiff as ad
import autodiff.nn.functional as F
from autodiff import _core

UNARY = {
    "neg": lambda t: -t,
    "sin": ad.sin,
    "cos": ad.cos,
    "exp": ad.exp,
    "log": ad.log,
    "tanh": ad.tanh,
    "sigmoid": ad.sigmoid,
    "sqrt": ad.sqrt,
    "softplus": F.softplus,
    "softplus_beta": lambda t: F.softplus(t, beta=2.0, threshold=1.0),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}
POINTS = [0.3, 1.7, 0.6, 12.0]


def _value_and_grads(fn, values, shape):
    leaves = [ad.tensor(np.full(shape, v), requires_grad=True) for v in values]
    out = fn(*leaves)
    out.sum().backward()
    return out, [leaf.grad.numpy().reshape(()) for leaf in leaves]


def test_every_scalar_op_is_a_registered_op():
    from autodiff.ops._registry import OPS
    assert set(_core.SCALAR_OPS) <= set(OPS)
    for name, code in _core.SCALAR_OPS.items():
        assert OPS[name].scalar_op == code


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", POINTS)
def test_unary_scalar_matches_array_path(name, x):
    fn = UNARY[name]
    fast, (g_fast,) = _value_and_grads(fn, [x], ())
    slow, (g_slow,) = _value_and_grads(fn, [x], (1,))
    assert type(fast._data) is np.float64          # the fast path made it
    # libm and NumPy's vectorised exp/tanh/log may differ in the last bit
    np.testing.assert_array_max_ulp(fast.item(), slow.detach().numpy()[0], maxulp=2)
    np.testing.assert_array_max_ulp(g_fast, g_slow, maxulp=4)
    assert fast.grad_fn.name() == slow.grad_fn.name()


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("x,y", [(0.3, 1.7), (-2.5, 0.25), (4.0, -3.0)])
def test_binary_scalar_matches_array_path(name, x, y):
    fn = BINARY[name]
    fast, g_fast = _value_and_grads(fn, [x, y], ())
    slow, g_slow = _value_and_grads(fn, [x, y], (1,))
    assert fast.item() == slow.detach().numpy()[0]
    assert g_fast == g_slow
    assert fast.grad_fn.name() == slow.grad_fn.name()


@pytest.mark.parametrize("number", [2, 0.5, -3])
def test_python_numbers_mix_with_scalar_tensors(number):
    x = ad.tensor(1.5, requires_grad=True)
    y = number * x + x / number - number
    y.backward()
    assert y.item() == number * 1.5 + 1.5 / number - number
    assert x.grad.item() == number + 1 / number
    assert x.grad.dtype == np.float64


def test_huge_python_int_is_converted_like_numpy():
    x = ad.tensor(1.0, requires_grad=True)
    big = 2 ** 80 + 1
    y = x * big
    assert y.item() == np.float64(1.0) * big
    y.backward()
    assert x.grad.item() == float(big)


def test_second_derivative_through_scalar_nodes():
    x = ad.tensor(0.7, requires_grad=True)
    y = ad.sin(x) * x + ad.exp(x) / x
    (g,) = ad.autograd.grad(y, x, create_graph=True)
    (gg,) = ad.autograd.grad(g, x)
    v = 0.7
    assert g.item() == pytest.approx(np.cos(v) * v + np.sin(v) + np.exp(v) / v - np.exp(v) / v**2)
    assert gg.item() == pytest.approx(-np.sin(v) * v + 2 * np.cos(v)
                                      + np.exp(v) * (1 / v - 2 / v**2 + 2 / v**3))


def test_saved_input_modified_in_place_raises():
    x = ad.tensor(2.0, requires_grad=True)
    w = ad.tensor(3.0)
    y = x * w
    w += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_saved_output_modified_in_place_raises():
    x = ad.tensor(0.5, requires_grad=True)
    y = ad.exp(x)
    y += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_inplace_update_of_a_saved_scalar_keeps_its_old_value():
    # x.mul_(x): the node saved x, which the op itself overwrites
    x0 = ad.tensor(3.0, requires_grad=True)
    x = x0 * 1.0
    x.mul_(x)
    x.backward()
    assert x0.grad.item() == 6.0


def test_freed_graph_raises_on_second_backward():
    x = ad.tensor(2.0, requires_grad=True)
    y = ad.sin(x * x)
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_gives_the_same_gradient_twice():
    x = ad.tensor(2.0, requires_grad=True)
    y = ad.tanh(x * x)
    y.backward(retain_graph=True)
    first = x.grad.item()
    y.backward()
    assert x.grad.item() == 2 * first


def test_saved_tensors_are_visible_on_scalar_nodes():
    x = ad.tensor(2.0, requires_grad=True)
    w = ad.tensor(5.0, requires_grad=True)
    node = (x * w).grad_fn
    assert node.saved_tensors_[0] is x and node.saved_tensors_[1] is w
    assert [float(d) for d in node.saved_data] == [2.0, 5.0]


def test_grad_only_for_requested_inputs():
    x = ad.tensor(2.0, requires_grad=True)
    w = ad.tensor(5.0, requires_grad=True)
    y = x * w + ad.sin(w)
    (gx,) = ad.autograd.grad(y, x)
    assert gx.item() == 5.0 and x.grad is None and w.grad is None


def test_hook_on_scalar_intermediate_changes_gradient():
    x = ad.tensor(2.0, requires_grad=True)
    h = x * 3.0
    h.register_hook(lambda g: g * 10)
    (h * h).backward()
    assert x.grad.item() == 2 * 6.0 * 10 * 3.0


def test_batched_grads_through_scalar_nodes():
    x = ad.tensor(0.4, requires_grad=True)
    y = ad.sin(x) * x
    (g,) = ad.autograd.grad(y, x, ad.tensor([1.0, 2.0]), is_grads_batched=True)
    d = np.cos(0.4) * 0.4 + np.sin(0.4)
    np.testing.assert_allclose(g.numpy(), [d, 2 * d])


def test_forward_mode_tangent_takes_the_generic_path():
    import autodiff.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor(0.3), ad.tensor(1.0))
        y = ad.sin(x) * x
        tangent = fwAD.unpack_dual(y).tangent
    assert tangent.item() == pytest.approx(np.cos(0.3) * 0.3 + np.sin(0.3))


def test_no_grad_records_nothing():
    x = ad.tensor(2.0, requires_grad=True)
    with ad.no_grad():
        y = ad.exp(x) * x
    assert y.grad_fn is None and not y.requires_grad


def test_float32_scalars_stay_float32():
    x = ad.tensor(np.float32(2.0), requires_grad=True)
    y = ad.sin(x) * x
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_anomaly_mode_reports_the_scalar_op():
    x = ad.tensor(0.0, requires_grad=True)
    with ad.autograd.detect_anomaly():
        y = ad.sqrt(x) * 0.0
        with pytest.raises(RuntimeError, match="returned nan"):
            y.backward()


def test_second_backward_without_saved_values_is_allowed():
    # as in PyTorch: only nodes whose saved values were freed refuse a second pass
    x = ad.tensor(2.0, requires_grad=True)
    y = -(x + 1.0) - 3.0
    y.backward()
    y.backward()
    assert x.grad.item() == -2.0


def test_backward_inside_a_hook_during_backward():
    x = ad.tensor(2.0, requires_grad=True)
    seen = []

    def hook(g):
        # a nested backward over a graph that shares the leaf x (backward runs
        # with grad mode off, as in PyTorch: the hook turns it on)
        with ad.enable_grad():
            (inner,) = ad.autograd.grad(ad.sin(x) * x, x)
            seen.append(inner.item())
            ad.exp(x * 1.0).backward()
        return g

    h = x * x
    h.register_hook(hook)
    (h * 3.0).backward()
    assert seen == [pytest.approx(np.cos(2.0) * 2.0 + np.sin(2.0))]
    assert x.grad.item() == pytest.approx(np.exp(2.0) + 3.0 * 2 * 2.0)


def test_a_gradient_the_user_holds_is_not_updated_in_place():
    # the fast backward adds into a float64 gradient buffer in place when only the
    # buffer holds it; here the buffer of m starts as the user's own gradient
    x = ad.tensor(1.5, requires_grad=True)
    m = x * 1.0
    b = m * 2.0
    user_grad = ad.tensor(5.0) * 1.0       # a 0-d op result: a float64 scalar
    ad.autograd.backward([m, b], [user_grad, ad.tensor(1.0)])
    assert user_grad.item() == 5.0
    assert x.grad.item() == 7.0


def test_fast_backward_gives_the_bits_of_the_generic_one():
    # W1's shape of graph, on 0-d tensors (fast path) and on 1-element arrays (generic)
    rng = np.random.default_rng(3)
    values = rng.uniform(-2.0, 2.0, 12)

    def run(shape):
        leaves = [ad.tensor(np.full(shape, v), requires_grad=True) for v in values]
        nodes = list(leaves)
        for op in range(60):
            kind = op % 4
            if kind == 0:
                nodes.append(F.softplus(nodes[-12]))
            elif kind == 1:
                nodes.append(sum(nodes[-12:-2:3]))
            elif kind == 2:
                nodes.append(nodes[-11] * nodes[-7] - nodes[-3] / 3.0)
            else:
                p = F.softmax(ad.stack(nodes[-4:]), dim=0)
                nodes.extend(p[i] for i in range(4))
        (sum(nodes[-20:]) + sum(leaves) * 0.5).backward()
        return np.array([leaf.grad.item() for leaf in leaves])

    fast, generic = run(()), run((1,))
    assert np.array_equal(fast, generic) and (fast != 0).all()


def test_select_gradients_add_up_as_zero_filled_vectors():
    # a select's gradient is the zero vector with g at its position: adding it turns a
    # -0.0 elsewhere into 0.0, as the generic path (and PyTorch) does
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[1] * 1.0 + x[0] * -0.0        # x[0]'s gradient -0.0 arrives first
    y.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert not np.signbit(x.grad.numpy()).any()
