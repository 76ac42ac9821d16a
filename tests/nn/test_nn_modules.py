"""ad.nn.Module, Parameter, Linear, Sequential."""
import copy

import numpy as np
import pytest

import autodiff as ad
import autodiff.nn  # noqa: F401

nn = ad.nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
        self.head = nn.Linear(8, 2)
        self.scale = nn.Parameter(ad.ones(1))
        self.not_a_param = ad.ones(2)

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_parameter_is_a_tensor_that_requires_grad_and_shares_memory():
    t = ad.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, ad.Tensor) and isinstance(p, nn.Parameter) and p.requires_grad
    assert np.shares_memory(p.detach().numpy(), t.detach().numpy())
    assert not nn.Parameter(ad.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")
    assert str(p) == repr(p)  # print(p) shows the header too, as PyTorch's does


@pytest.mark.parametrize("requires_grad", [True, False])
def test_deepcopy_of_a_parameter_is_a_parameter_as_in_pytorch(requires_grad):
    torch = pytest.importorskip("torch")
    values = np.array([1.0, -2.0])
    copies = []
    for lib, param in ((ad, nn.Parameter), (torch, torch.nn.Parameter)):
        p = param(lib.tensor(values), requires_grad=requires_grad)
        if requires_grad:
            p.grad = lib.tensor(values * 3)
        q = copy.deepcopy(p)
        assert type(q) is param and q is not p
        copies.append((q.requires_grad, q.detach().numpy().tolist(), q.grad is None))
        q.data[0] = 7.0                                 # its own memory
        assert p.detach().numpy()[0] == 1.0
    assert copies[0] == copies[1]


def test_deepcopy_of_a_module_keeps_parameters_and_their_sharing():
    m = MLP()
    m.shared = m.scale
    c = copy.deepcopy(m)
    assert [type(p) for p in c.parameters()] == [nn.Parameter] * len(list(m.parameters()))
    assert c.shared is c.scale and c.scale is not m.scale
    for (name, p), (_, q) in zip(m.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    x = ad.ones((4, 3))
    c(x).sum().backward()
    assert all(p.grad is None for p in m.parameters())
    assert all(q.grad is not None for q in c.parameters())


def test_registration_names_and_order():
    m = MLP()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert len(list(m.parameters())) == 5
    assert [type(c).__name__ for c in m.children()] == ["Sequential", "Linear"]
    assert len(list(m.modules())) == 5
    assert list(m.state_dict()) == names


def test_linear_shapes_and_default_init():
    ad.manual_seed(0)
    layer = nn.Linear(100, 30)
    assert layer.weight.shape == (30, 100) and layer.bias.shape == (30,)
    bound = 1 / np.sqrt(100)
    w = layer.weight.detach().numpy()
    assert np.all(np.abs(w) <= bound) and w.std() > bound / 3    # U(-b, b) has std b/sqrt(3)
    assert nn.Linear(2, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(2, 3, bias=False).named_parameters()] == ["weight"]
    assert layer(ad.ones((5, 100))).shape == (5, 30)
    assert nn.Linear(2, 2, dtype=np.float32).weight.dtype == np.float32


def test_zero_grad_train_eval():
    m = MLP()
    m(ad.ones((4, 3))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not m.training and not m.body[0].training
    m.train()
    assert m.body[1].training


def test_dropout_module_respects_eval():
    d = nn.Dropout(0.5)
    x = ad.ones(100)
    assert d.eval()(x) is x
    assert (d.train()(x).numpy() == 0).any()


def test_state_dict_round_trip():
    ad.manual_seed(1)
    a, b = MLP(), MLP()
    x = ad.ones((2, 3))
    assert not np.allclose(a(x).detach().numpy(), b(x).detach().numpy())
    sd = a.state_dict()
    assert not sd["head.weight"].requires_grad
    params_before = list(b.parameters())
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    assert all(p is q for p, q in zip(params_before, b.parameters()))   # loaded in place
    bad = dict(sd)
    bad["head.bias"] = ad.zeros(5)
    with pytest.raises(RuntimeError, match="size mismatch for head.bias"):
        b.load_state_dict(bad)
    del bad["head.bias"]
    with pytest.raises(RuntimeError, match="missing keys"):
        b.load_state_dict(bad)
    assert b.load_state_dict(bad, strict=False).missing_keys == ["head.bias"]


def test_sequential_indexing_and_append():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    s.append(nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear) and len(s[:2]) == 2
    assert s(ad.ones((4, 2))).shape == (4, 1)


def test_linear_sgd_training_decreases_the_loss():
    ad.manual_seed(0)
    rng = np.random.default_rng(0)
    x = ad.tensor(rng.standard_normal((64, 4)))
    true_w = rng.standard_normal((4, 1))
    y = ad.tensor(x.numpy() @ true_w + 0.5)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = ad.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_classifier_training_with_cross_entropy():
    ad.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((90, 2))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)     # 3 classes
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = ad.optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(ad.tensor(x)), labels)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    accuracy = (ad.argmax(model(ad.tensor(x)), dim=1).numpy() == labels).mean()
    assert accuracy > 0.8
