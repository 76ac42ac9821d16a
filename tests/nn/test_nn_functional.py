"""ad.nn.functional against hand-written NumPy formulas, and gradient checks."""
import warnings

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn  # noqa: F401

F = ad.nn.functional
rng = np.random.default_rng(0)


def _log_softmax(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def test_softmax_log_softmax_values_and_gradients():
    a = rng.standard_normal((3, 4))
    x = ad.tensor(a, requires_grad=True)
    np.testing.assert_allclose(F.log_softmax(x, dim=1).detach().numpy(),
                               _log_softmax(a, 1), rtol=1e-14)
    np.testing.assert_allclose(F.softmax(x, dim=0).detach().numpy(),
                               np.exp(_log_softmax(a, 0)), rtol=1e-14)
    assert ad.autograd.gradgradcheck(lambda t: F.softmax(t, dim=1), [x])
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmax(x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_class_indices(reduction):
    a = rng.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    w = np.array([1.0, 2.0, 0.5, 1.5])
    x = ad.tensor(a, requires_grad=True)
    nll = -_log_softmax(a, 1)[np.arange(5), t]
    expected = {"mean": nll.mean(), "sum": nll.sum(), "none": nll}[reduction]
    out = F.cross_entropy(x, ad.tensor(t), reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-13)
    # weighted: the mean divides by the weights of the targets (PyTorch's definition)
    wn = w[t] * nll
    expected_w = {"mean": wn.sum() / w[t].sum(), "sum": wn.sum(), "none": wn}[reduction]
    out_w = F.cross_entropy(x, t, weight=ad.tensor(w), reduction=reduction)
    np.testing.assert_allclose(out_w.detach().numpy(), expected_w, rtol=1e-13)
    assert ad.autograd.gradcheck(lambda z: F.cross_entropy(z, t, weight=w, reduction=reduction), [x])


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    a = rng.standard_normal((3, 5))
    t = np.array([4, 0, 2])
    x = ad.tensor(a, requires_grad=True)
    F.cross_entropy(x, t).backward()
    expected = (np.exp(_log_softmax(a, 1)) - np.eye(5)[t]) / 3
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-13, atol=1e-16)


def test_cross_entropy_ignore_index_and_spatial_targets():
    a = rng.standard_normal((2, 3, 4))           # (N, C, d)
    t = np.array([[0, 2, -100, 1], [2, 2, 0, -100]])
    x = ad.tensor(a, requires_grad=True)
    lp = _log_softmax(a, 1)
    keep = t != -100
    picked = np.array([[-lp[n, t[n, d], d] if keep[n, d] else 0.0 for d in range(4)]
                       for n in range(2)])
    np.testing.assert_allclose(F.cross_entropy(x, t).detach().numpy(),
                               picked.sum() / keep.sum(), rtol=1e-13)
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none").detach().numpy(),
                               picked, rtol=1e-13)
    assert ad.autograd.gradcheck(lambda z: F.cross_entropy(z, t), [x])


def test_cross_entropy_probability_targets_and_label_smoothing():
    a = rng.standard_normal((4, 3))
    p = rng.dirichlet(np.ones(3), size=4)
    x = ad.tensor(a, requires_grad=True)
    lp = _log_softmax(a, 1)
    np.testing.assert_allclose(F.cross_entropy(x, ad.tensor(p)).detach().numpy(),
                               -(p * lp).sum(1).mean(),
                               rtol=1e-13)
    t = np.array([0, 2, 1, 1])
    q = np.eye(3)[t] * 0.9 + 0.1 / 3
    np.testing.assert_allclose(F.cross_entropy(x, t, label_smoothing=0.1).detach().numpy(),
                               -(q * lp).sum(1).mean(), rtol=1e-13)
    assert ad.autograd.gradcheck(lambda z: F.cross_entropy(z, p, reduction="sum"), [x])


def test_cross_entropy_errors_name_the_problem():
    x = ad.zeros((2, 3))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):   # the bad one
        F.cross_entropy(x, np.array([-1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, np.array([0, 1]), reduction="avg")


def test_binary_cross_entropy_and_with_logits():
    z = rng.standard_normal(6) * 3
    y = rng.uniform(0, 1, 6)
    s = 1 / (1 + np.exp(-z))
    bce = -(y * np.log(s) + (1 - y) * np.log(1 - s))
    x = ad.tensor(z, requires_grad=True)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y).detach().numpy(),
                               bce.mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy(ad.sigmoid(x), y, reduction="sum").detach().numpy(),
                               
                               bce.sum(), rtol=1e-12)
    pw = 3.0
    bce_pw = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none").detach().numpy(),
        bce_pw, rtol=1e-12)
    assert ad.autograd.gradgradcheck(lambda t: F.binary_cross_entropy_with_logits(t, y, pos_weight=pw), [x])
    # gradient of the logits loss is sigmoid(x) - y
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), s - y, rtol=1e-12)
    # stable at extreme logits, and a probability of exactly 0 or 1 gives a finite loss
    big = F.binary_cross_entropy_with_logits(ad.tensor([800.0, -800.0]), ad.tensor([0.0, 1.0]),
                                             reduction="none")
    assert big.tolist() == [800.0, 800.0]
    assert F.binary_cross_entropy(ad.tensor([0.0, 1.0]), ad.tensor([1.0, 0.0]),
                                  reduction="none").tolist() == [100.0, 100.0]


def test_mse_l1_linear():
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    x = ad.tensor(a, requires_grad=True)
    np.testing.assert_allclose(F.mse_loss(x, b).detach().numpy(), ((a - b) ** 2).mean())
    np.testing.assert_allclose(F.l1_loss(x, b, reduction="sum").detach().numpy(),
                               np.abs(a - b).sum())
    w, bias = rng.standard_normal((4, 2)), rng.standard_normal(4)
    np.testing.assert_allclose(F.linear(x, ad.tensor(w), ad.tensor(bias)).detach().numpy(),
                               a @ w.T + bias)
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, ad.tensor(w.T))


def test_activations():
    a = np.array([-2.0, -0.5, 0.5, 3.0])
    x = ad.tensor(a, requires_grad=True)
    np.testing.assert_allclose(F.relu(x).detach().numpy(), np.maximum(a, 0))
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).detach().numpy(), np.where(a > 0, a, 0.2 * a))
    np.testing.assert_allclose(F.sigmoid(x).detach().numpy(), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(F.tanh(x).detach().numpy(), np.tanh(a))
    np.testing.assert_allclose(F.softplus(x).detach().numpy(), np.log1p(np.exp(a)))
    np.testing.assert_allclose(F.logsumexp(x, dim=0).detach().numpy(), np.log(np.exp(a).sum()))


def test_dropout_uses_the_seeded_generator_and_scales():
    x = ad.ones((1000,), requires_grad=True)
    ad.manual_seed(3)
    y1 = F.dropout(x, 0.25)
    ad.manual_seed(3)
    y2 = F.dropout(x, 0.25)
    assert y1.tolist() == y2.tolist()
    kept = y1.detach().numpy() != 0
    assert np.all(y1.detach().numpy()[kept] == 1 / 0.75) and 0.6 < kept.mean() < 0.9
    y1.sum().backward()
    assert x.grad.tolist() == y1.tolist()
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 1.0).tolist() == [0.0] * 1000
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_fused_node_matches_the_composite(reduction):
    # class indices on rows take one NllLossBackward0 node whose gradient goes to the logits;
    # its values and first and second derivatives are those of log_softmax + nll
    a = rng.standard_normal((6, 5))
    t = np.array([4, 0, 2, 2, 1, 3])
    x = ad.tensor(a, requires_grad=True)
    out = F.cross_entropy(x, ad.tensor(t), reduction=reduction)
    assert type(out.grad_fn).__name__ == "NllLossBackward0"
    assert out.grad_fn.next_functions[0][0].variable is x
    composite = F.nll_loss(F.log_softmax(x, dim=1), t, reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), composite.detach().numpy(), rtol=1e-15)
    seed = np.ones(()) if reduction != "none" else rng.standard_normal(6)
    (g,) = ad.autograd.grad(out, x, ad.tensor(seed), create_graph=True)
    (gc,) = ad.autograd.grad(composite, x, ad.tensor(seed), create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), gc.detach().numpy(), rtol=1e-13, atol=1e-16)
    v = rng.standard_normal((6, 5))
    (h,) = ad.autograd.grad((g * ad.tensor(v)).sum(), x)
    (hc,) = ad.autograd.grad((gc * ad.tensor(v)).sum(), x)
    np.testing.assert_allclose(h.numpy(), hc.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_fused_node_leaves_logits_and_loss_free_to_change_in_place():
    # as in PyTorch the node keeps log_softmax(x), not x or the loss
    w = ad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    z = w * 2.0
    loss = F.cross_entropy(z, np.array([0, 1, 3]))
    z.add_(1.0)
    loss /= 4
    loss.backward()
    expected = 2.0 * (np.exp(_log_softmax(2.0 * w.detach().numpy(), 1)) - np.eye(4)[[0, 1, 3]]) / 12
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-13, atol=1e-16)


def test_cross_entropy_fused_node_batched_gradients_and_fallbacks():
    a = rng.standard_normal((3, 4))
    t = np.array([1, 0, 3])
    x = ad.tensor(a, requires_grad=True)
    jac = ad.autograd.functional.jacobian(lambda z: F.cross_entropy(z, t, reduction="none"), x,
                                          vectorize=True)
    p = np.exp(_log_softmax(a, 1)) - np.eye(4)[t]
    expected = np.zeros((3, 3, 4))
    expected[np.arange(3), np.arange(3)] = p
    np.testing.assert_allclose(jac.numpy(), expected, rtol=1e-13, atol=1e-16)
    # an ignored target, or a class weight: the general composite (no fused node)
    t_ign = np.array([1, 1, 3])
    out = F.cross_entropy(x, t_ign, ignore_index=1)
    np.testing.assert_allclose(out.detach().numpy(), -_log_softmax(a, 1)[2, 3], rtol=1e-13)
    assert type(out.grad_fn).__name__ != "NllLossBackward0"


@pytest.mark.parametrize("shape, dim", [((0, 3), 1), ((0, 3), 0), ((2, 0), 1), ((2, 0), 0),
                                        ((0,), 0), ((0,), -1)])
@pytest.mark.parametrize("name, keepdim", [("softmax", None), ("log_softmax", None),
                                           ("logsumexp", False), ("logsumexp", True)])
def test_softmax_family_of_empty_inputs_matches_torch(name, keepdim, shape, dim):
    # empty results, and -inf for a logsumexp over an empty dimension; no warning
    torch = pytest.importorskip("torch")
    kw = {} if keepdim is None else {"keepdim": keepdim}
    # positive weights: a sum of -inf times weights of both signs would be NaN
    weights = rng.uniform(0.5, 1.5, torch.logsumexp(torch.zeros(shape), dim, **kw).shape
                          if name == "logsumexp" else shape)
    for fn in (getattr(F, name), getattr(ad, name)):
        x = ad.zeros(shape, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = fn(x, dim, **kw)
            (y * ad.tensor(weights)).sum().backward()
        tx = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        ty = getattr(torch, name)(tx, dim, **kw)
        (ty * torch.tensor(weights)).sum().backward()
        assert y.shape == tuple(ty.shape) and x.grad.shape == shape
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
