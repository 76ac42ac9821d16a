"""Optimisers against PyTorch's documented update rules, written out by hand here."""
import numpy as np
import pytest

import autodiff as ad


def _quad_grad(p, A, b):
    return A @ p - b            # gradient of 0.5 p^T A p - b^T p


def _run(opt_cls, kwargs, steps=6):
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 4))
    A = M @ M.T + np.eye(4)
    b = rng.standard_normal(4)
    p0 = rng.standard_normal(4)
    x = ad.tensor(p0.copy(), requires_grad=True)
    opt = opt_cls([x], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * (x @ (ad.tensor(A) @ x)) - (ad.tensor(b) * x).sum()
        loss.backward()
        opt.step()
    return x.detach().numpy(), p0, A, b


def sgd_reference(p, A, b, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False):
    p = p.copy()
    buf = None
    for t in range(steps):
        g = _quad_grad(p, A, b)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


@pytest.mark.parametrize("kw", [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.2, momentum=0.8, nesterov=True),
])
def test_sgd_matches_reference(kw):
    got, p0, A, b = _run(ad.optim.SGD, kw)
    np.testing.assert_allclose(got, sgd_reference(p0, A, b, 6, **kw), rtol=1e-12, atol=1e-12)


def adam_reference(p, A, b, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, decoupled=False):
    p = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    b1, b2 = betas
    for t in range(1, steps + 1):
        g = _quad_grad(p, A, b)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("kw", [
    dict(lr=0.1),
    dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, amsgrad=True),
])
def test_adam_matches_reference(kw):
    got, p0, A, b = _run(ad.optim.Adam, kw)
    np.testing.assert_allclose(got, adam_reference(p0, A, b, 6, **kw), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.3),
                                dict(lr=0.05, weight_decay=0.1, amsgrad=True)])
def test_adamw_matches_reference(kw):
    got, p0, A, b = _run(ad.optim.AdamW, kw)
    ref_kw = dict(kw)
    ref_kw.setdefault("weight_decay", 1e-2)
    np.testing.assert_allclose(got, adam_reference(p0, A, b, 6, decoupled=True, **ref_kw),
                               rtol=1e-10, atol=1e-12)


def test_zero_grad_set_to_none_and_zeros():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    opt = ad.optim.SGD([x], lr=0.1)
    (x * x).sum().backward()
    g = x.grad
    opt.zero_grad(set_to_none=False)
    assert x.grad is g and not x.grad.numpy().any()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    opt.zero_grad()
    assert x.grad is None


def test_step_skips_params_without_grad_and_bumps_version():
    x = ad.tensor([1.0], requires_grad=True)
    y = ad.tensor([1.0], requires_grad=True)
    opt = ad.optim.SGD([x, y], lr=0.5)
    (x * 2).sum().backward()
    v = x._version
    opt.step()
    np.testing.assert_array_equal(x.detach().numpy(), [0.0])
    np.testing.assert_array_equal(y.detach().numpy(), [1.0])
    assert x._version == v + 1


@pytest.mark.parametrize("cls,kw", [(ad.optim.SGD, dict(lr=0.1, momentum=0.9)),
                                    (ad.optim.Adam, dict(lr=0.1)),
                                    (ad.optim.AdamW, dict(lr=0.1, weight_decay=0.1))])
def test_state_dict_round_trip_continues_identically(cls, kw):
    def loss_of(x):
        return ((x - ad.tensor([1.0, -2.0])) ** 2).sum()

    a = ad.tensor([0.5, 0.5], requires_grad=True)
    opt_a = cls([a], **kw)
    for _ in range(3):
        opt_a.zero_grad()
        loss_of(a).backward()
        opt_a.step()
    sd = opt_a.state_dict()
    b = ad.tensor(a.detach().numpy().copy(), requires_grad=True)
    opt_b = cls([b], lr=999.0)
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == kw["lr"]
    for _ in range(3):
        for x, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            loss_of(x).backward()
            opt.step()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # the saved state is a snapshot, not a live view
    sd2 = opt_a.state_dict()
    key = next(iter(sd2["state"]))
    assert set(sd2["state"][key]) == set(sd["state"][key])


def test_param_groups_with_own_lr():
    x = ad.tensor(1.0, requires_grad=True)
    y = ad.tensor(1.0, requires_grad=True)
    opt = ad.optim.SGD([{"params": [x]}, {"params": [y], "lr": 0.5}], lr=0.1)
    (x + y).backward()
    opt.step()
    assert x.item() == pytest.approx(0.9) and y.item() == pytest.approx(0.5)


def test_optimizer_rejects_non_leaf_and_bad_hyper_parameters():
    x = ad.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError):
        ad.optim.SGD([x * 2], lr=0.1)
    with pytest.raises(ValueError):
        ad.optim.SGD([x], lr=-1)
    with pytest.raises(ValueError):
        ad.optim.SGD([x], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        ad.optim.Adam([x], betas=(1.0, 0.9))


def test_step_with_closure_recomputes_the_loss_with_grad_enabled():
    import autodiff as ad
    x = ad.tensor(3.0, requires_grad=True)
    opt = ad.optim.SGD([x], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x - 1.0) ** 2
        loss.backward()
        return loss

    with ad.no_grad():          # step's closure still records: grad is enabled inside
        loss = opt.step(closure)
    assert loss.item() == 4.0
    assert abs(x.item() - (3.0 - 0.1 * 4.0)) < 1e-12
