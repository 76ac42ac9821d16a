"""The acceptance examples of SPEC.md section 7, written as the tutorials write them."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Variable


def f(x):
    a, b, c = ad.tensor(1.0), ad.tensor(-2.0), ad.tensor(1.0)
    return a * ad.pow(x, 2) + b * x + c


def test_1_scalar_backward():
    x = ad.tensor(0.0, requires_grad=True)
    y = f(x)
    y.backward()
    assert x.grad.item() == -2


def test_2_non_scalar_backward_with_gradient():
    x = ad.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
    y = f(x)
    gradient = ad.ones_like(y)
    y.backward(gradient=gradient)
    np.testing.assert_array_equal(x.grad.numpy(), [[-2, -2], [0, 2]])
    x2 = ad.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
    z = ad.sum(f(x2) * gradient)
    z.backward()
    np.testing.assert_array_equal(x2.grad.numpy(), [[-2, -2], [0, 2]])


def test_3_second_derivative():
    x = ad.tensor(0.0, requires_grad=True)
    y = f(x)
    dy_dx = ad.autograd.grad(y, x, create_graph=True)[0]
    assert dy_dx.item() == -2
    assert ad.autograd.grad(dy_dx, x)[0].item() == 2


def test_4_multiple_outputs():
    x1 = ad.tensor(1.0, requires_grad=True)
    x2 = ad.tensor(2.0, requires_grad=True)
    y1 = x1 * x2
    y2 = x1 + x2
    g = ad.autograd.grad(y1, [x1, x2], retain_graph=True)
    assert [t.item() for t in g] == [2, 1]
    g = ad.autograd.grad([y1, y2], [x1, x2])
    assert [t.item() for t in g] == [3, 2]


def test_5_grad_outputs():
    x = ad.rand(3, 4).requires_grad_()
    np.testing.assert_array_equal(ad.autograd.grad(ad.sum(x), x)[0].numpy(), np.ones((3, 4)))
    y = x[:, 0] + x[:, 1]
    g = ad.autograd.grad(y, x, grad_outputs=ad.ones_like(y), retain_graph=True)[0]
    expect = np.zeros((3, 4))
    expect[:, :2] = 1
    np.testing.assert_array_equal(g.numpy(), expect)
    g = ad.autograd.grad(y, x, grad_outputs=ad.zeros_like(y))[0]
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))
    y = x ** 2
    g = ad.autograd.grad(y, x, grad_outputs=ad.ones_like(y), create_graph=True)[0]
    g2 = ad.autograd.grad(g, x, grad_outputs=ad.ones_like(g))[0]
    np.testing.assert_array_equal(g2.numpy(), np.full((3, 4), 2.0))


def test_6_variables_and_non_leaf_grad():
    m1 = Variable(ad.ones((3, 2)), requires_grad=True)
    m2 = Variable(2 * ad.ones((3, 2)), requires_grad=True)
    m3 = Variable(4 * ad.ones((3, 2)), requires_grad=True)
    x1 = m1 * m2
    x2 = x1 * m3
    y = x1 + x2
    y.backward(ad.ones((3, 2)))
    np.testing.assert_array_equal(m1.grad.numpy(), np.full((3, 2), 10.0))
    np.testing.assert_array_equal(m2.grad.numpy(), np.full((3, 2), 5.0))
    np.testing.assert_array_equal(m3.grad.numpy(), np.full((3, 2), 2.0))
    with pytest.warns(UserWarning, match="retain_grad"):  # PyTorch warns here too
        assert x1.grad is None


def test_7_hooks():
    v = ad.tensor([2.0, 2.0, 2.0], requires_grad=True)
    h = v.register_hook(lambda g: g * g)
    v.backward(ad.tensor([1.0, 1.0, 2.0]))
    np.testing.assert_array_equal(v.grad.numpy(), [1, 1, 4])
    v.backward(ad.tensor([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(v.grad.numpy(), [2, 2, 5])
    h.remove()
    v.backward(ad.tensor([3.0, 3.0, 3.0]))
    np.testing.assert_array_equal(v.grad.numpy(), [5, 5, 8])


def test_8_graph_introspection():
    x = ad.tensor(1.0, requires_grad=True)
    y = ad.tensor(2.0, requires_grad=True)
    z = x ** 2 + y ** 3
    assert x.is_leaf and not z.is_leaf
    assert z.grad_fn.name() == "AddBackward0"
    (px, _), (py, _) = z.grad_fn.next_functions
    assert px.name() == "PowBackward0" and py.name() == "PowBackward0"
    assert type(px.next_functions[0][0]).__name__ == "AccumulateGrad"
    assert px.next_functions[0][0].variable is x
    assert py.next_functions[0][0].variable is y


def test_9_custom_function():
    class MulConstant(ad.autograd.Function):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    a = ad.rand(3, requires_grad=True)
    b = MulConstant.apply(a, 5)
    b.backward(ad.ones_like(a))
    np.testing.assert_array_equal(a.grad.numpy(), np.full(3, 5.0))


def test_10_no_grad():
    x = ad.tensor(1.0, requires_grad=True)
    y = ad.tensor(2.0, requires_grad=True)
    with ad.no_grad():
        assert (x + y * 2).requires_grad is False


def test_11_sgd_minimises_quadratic():
    x = ad.tensor(0.0, requires_grad=True)
    optimizer = ad.optim.SGD(params=[x], lr=0.01)
    for _ in range(500):
        optimizer.zero_grad()
        y = x ** 2 - 2 * x + 1
        y.backward()
        optimizer.step()
    assert x.item() == pytest.approx(1.0, abs=1e-4)
    assert (x ** 2 - 2 * x + 1).item() == pytest.approx(0.0, abs=1e-7)


def test_12_legacy_manual_descent():
    X = ad.ones((1, 100)) * 100
    b = Variable(ad.ones(100), requires_grad=True)
    for _ in range(200):
        loss = ad.sum((b - X) ** 2)
        b.grad = Variable(ad.zeros(100))
        loss.backward()
        b.data = b.data - b.grad * (1 / 100) / 10
    expect = 100 - 99 * 0.998 ** 200
    np.testing.assert_allclose(b.detach().numpy(), np.full(100, expect), rtol=1e-12)
    assert expect == pytest.approx(33.66, abs=0.01)
