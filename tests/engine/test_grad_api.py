"""SPEC §3: autograd.grad's contract; backward(inputs=...); only_inputs; is_grads_batched."""
import warnings

import numpy as np
import pytest

import autodiff as ad


def test_grad_returns_tuple_one_entry_per_input():
    a = ad.tensor(2.0, requires_grad=True)
    b = ad.tensor(3.0, requires_grad=True)
    g = ad.autograd.grad(a * b, (a, b))
    assert isinstance(g, tuple) and len(g) == 2
    assert (g[0].item(), g[1].item()) == (3.0, 2.0)
    g1 = ad.autograd.grad(a * b, a)
    assert isinstance(g1, tuple) and len(g1) == 1


def test_grad_sums_outputs_weighted_by_grad_outputs():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y1, y2 = x * x, ad.sin(x)
    w1, w2 = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    g, = ad.autograd.grad([y1, y2], x, grad_outputs=[ad.tensor(w1), ad.tensor(w2)])
    np.testing.assert_allclose(g.detach().numpy(),
                               w1 * 2 * x.detach().numpy() + w2 * np.cos(x.detach().numpy()))


def test_grad_unused_input_raises_names_allow_unused():
    a = ad.tensor(1.0, requires_grad=True)
    b = ad.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        ad.autograd.grad(a * 2, [a, b])


def test_grad_unused_allowed_gives_none_or_zeros():
    a = ad.tensor(1.0, requires_grad=True)
    b = ad.ones((2, 3), requires_grad=True)
    ga, gb = ad.autograd.grad(a * 2, [a, b], allow_unused=True)
    assert ga.item() == 2.0 and gb is None
    ga, gb = ad.autograd.grad(a * 2, [a, b], materialize_grads=True)
    assert gb.shape == (2, 3) and gb.dtype == b.dtype and not gb.numpy().any()
    with pytest.raises(ValueError, match="allow_unused"):
        ad.autograd.grad(a * 2, [a, b], allow_unused=False, materialize_grads=True)


def test_grad_does_not_touch_dot_grad():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    h = a * 3
    h.retain_grad()
    ad.autograd.grad((h * h).sum(), a)
    assert a.grad is None and h.grad is None
    a.grad = ad.tensor([7.0, 7.0])
    ad.autograd.grad((a * a).sum(), a)
    np.testing.assert_array_equal(a.grad.numpy(), [7.0, 7.0])


def test_grad_input_not_requiring_grad_raises():
    a = ad.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.autograd.grad(a * 2, ad.tensor(1.0))


def test_output_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.tensor(1.0).backward()
    a = ad.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.autograd.grad(ad.tensor(2.0) * 2, a)


def test_grad_wrt_intermediate_tensor_keeps_rest_of_graph():
    x = ad.tensor(2.0, requires_grad=True)
    h = x * 3
    z = h * h
    gh, = ad.autograd.grad(z, h)
    assert gh.item() == 12.0
    # only the part of the graph between z and h ran; h's own node is intact
    gx, = ad.autograd.grad(h * h, x)
    assert gx.item() == 36.0


def test_backward_inputs_accumulates_only_into_those():
    a = ad.tensor(2.0, requires_grad=True)
    b = ad.tensor(3.0, requires_grad=True)
    c = ad.tensor(4.0, requires_grad=True)
    (a * b * c).backward(inputs=[a, c])
    assert a.grad.item() == 12.0 and c.grad.item() == 6.0 and b.grad is None
    (a * b).backward(inputs=a)
    assert a.grad.item() == 15.0 and b.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (a * b).backward(inputs=[])


def test_backward_inputs_non_leaf_fills_its_grad():
    a = ad.tensor(2.0, requires_grad=True)
    h = a * a
    (h * 5).backward(inputs=[h])
    assert h.grad.item() == 5.0 and a.grad is None


def test_only_inputs_false_is_deprecated_and_ignored():
    a = ad.tensor(2.0, requires_grad=True)
    with pytest.warns(DeprecationWarning, match="only_inputs"):
        g, = ad.autograd.grad(a * a, a, only_inputs=False)
    assert g.item() == 4.0 and a.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.autograd.grad(a * a, a)


@pytest.mark.parametrize("case", ["square", "matmul", "broadcast_sum", "two_inputs"])
def test_is_grads_batched_matches_loop(case):
    rng = np.random.default_rng(1)
    x = ad.tensor(rng.standard_normal(3), requires_grad=True)
    W = ad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    if case == "square":
        out, ins = ad.sin(x) * x, [x]
    elif case == "matmul":
        out, ins = W @ x, [W, x]
    elif case == "broadcast_sum":
        out, ins = (W * x).sum(0), [W, x]
    else:
        out, ins = ad.exp(x) * x.sum(), [x]
    V = rng.standard_normal((5,) + out.shape)
    batched = ad.autograd.grad(out, ins, grad_outputs=ad.tensor(V), is_grads_batched=True,
                               retain_graph=True)
    for k in range(5):
        loop = ad.autograd.grad(out, ins, grad_outputs=ad.tensor(V[k]), retain_graph=True)
        for gb, gl in zip(batched, loop):
            assert gb.shape == (5,) + gl.shape
            np.testing.assert_allclose(gb.numpy()[k], gl.numpy(), rtol=1e-12, atol=1e-12)


def test_is_grads_batched_jacobian_of_elementwise():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    jac, = ad.autograd.grad(x ** 2, x, grad_outputs=ad.eye(3), is_grads_batched=True)
    np.testing.assert_array_equal(jac.numpy(), np.diag([2.0, 4.0, 6.0]))
