"""SPEC §2 graph introspection and custom Functions."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Function
from autodiff.autograd.function import once_differentiable


@pytest.mark.parametrize("make,name", [
    (lambda x, y: x + y, "AddBackward0"),
    (lambda x, y: x * y, "MulBackward0"),
    (lambda x, y: x - y, "SubBackward0"),
    (lambda x, y: x / y, "DivBackward0"),
    (lambda x, y: x ** y, "PowBackward1"),        # tensor exponent
    (lambda x, y: x ** 2, "PowBackward0"),        # number exponent
    (lambda x, y: 2.0 ** x, "PowBackward2"),      # number base
    (lambda x, y: ad.sum(x), "SumBackward0"),
    (lambda x, y: ad.sum(x, dim=0), "SumBackward1"),
    (lambda x, y: ad.mean(x), "MeanBackward0"),
    (lambda x, y: ad.mean(x, 0), "MeanBackward1"),
    (lambda x, y: x @ y, "DotBackward0"),
    (lambda x, y: x[0], "SelectBackward0"),
    (lambda x, y: x[1:], "SliceBackward0"),
    (lambda x, y: x[[0, 0]], "IndexBackward0"),
    (lambda x, y: x[None], "UnsqueezeBackward0"),
    (lambda x, y: ad.exp(x), "ExpBackward0"),
    (lambda x, y: ad.log(x), "LogBackward0"),
    (lambda x, y: ad.sin(x), "SinBackward0"),
    (lambda x, y: ad.cos(x), "CosBackward0"),
    (lambda x, y: ad.tanh(x), "TanhBackward0"),
    (lambda x, y: ad.sigmoid(x), "SigmoidBackward0"),
    (lambda x, y: ad.relu(x), "ReluBackward0"),
    (lambda x, y: -x, "NegBackward0"),
    (lambda x, y: x.clone(), "CloneBackward0"),
])
def test_node_class_names(make, name):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.tensor([3.0, 4.0], requires_grad=True)
    out = make(x, y)
    assert out.grad_fn.name() == name
    assert type(out.grad_fn).__name__ == name
    assert name in repr(out)


def test_next_functions_and_accumulate_grad_variable():
    x = ad.tensor(1.0, requires_grad=True)
    y = ad.tensor(2.0, requires_grad=True)
    c = ad.tensor(3.0)
    z = x ** 2 + y * c
    assert z.grad_fn.name() == "AddBackward0"
    (p, i0), (m, i1) = z.grad_fn.next_functions
    assert p.name() == "PowBackward0" and m.name() == "MulBackward0" and i0 == i1 == 0
    (acc_x, _), = p.next_functions[:1]
    assert acc_x.name() == "AccumulateGrad" and acc_x.variable is x
    assert m.next_functions[0][0].variable is y
    assert m.next_functions[1] == (None, 0)          # constant operand: no edge
    assert acc_x.next_functions == ()
    # the same leaf is reached through one AccumulateGrad node while it lives
    w = x * 5
    assert w.grad_fn.next_functions[0][0] is acc_x


# Expressions with a Python number (or a boolean condition) beside a tensor, written
# for either library (``m`` is torch or autodiff). PyTorch lists a number it wraps as a
# tensor (add, sub, mul, div, maximum) as a None edge, and leaves out a number its schema
# takes as a Scalar (pow, clamp, remainder) and where's condition.
NUMBER_OPERANDS = {
    "x**2": lambda m, x: x ** 2,
    "x**0.5": lambda m, x: x ** 0.5,
    "x.pow(3)": lambda m, x: x.pow(3),
    "2**x": lambda m, x: 2 ** x,
    "x**t": lambda m, x: x ** m.tensor(2.0),
    "x+1": lambda m, x: x + 1,
    "1+x": lambda m, x: 1 + x,
    "x-1": lambda m, x: x - 1,
    "2*x": lambda m, x: 2 * x,
    "x/3": lambda m, x: x / 3,
    "add-alpha": lambda m, x: m.add(x, 1, alpha=2),
    "clamp(x,0,1)": lambda m, x: m.clamp(x, 0, 1),
    "clamp(min=0)": lambda m, x: m.clamp(x, min=0),
    "x.clamp(max=1)": lambda m, x: x.clamp(max=1),
    "x%2": lambda m, x: x % 2,
    "maximum": lambda m, x: m.maximum(x, m.tensor(0.0)),
    "where-number": lambda m, x: m.where(x > 0, x, 0.0),
    "where-tensor": lambda m, x: m.where(x > 0, x, m.zeros(3)),
}


@pytest.mark.parametrize("expr", NUMBER_OPERANDS.values(), ids=NUMBER_OPERANDS.keys())
def test_next_functions_list_the_inputs_pytorch_lists(expr):
    torch = pytest.importorskip("torch")
    a = np.array([0.3, 1.2, -0.7])
    y = expr(ad, ad.tensor(a, requires_grad=True))
    ty = expr(torch, torch.tensor(a, requires_grad=True))
    edges = [None if n is None else n.name() for n, _ in y.grad_fn.next_functions]
    torch_edges = [None if n is None else n.name().split("::")[-1]
                   for n, _ in ty.grad_fn.next_functions]
    assert y.grad_fn.name() == ty.grad_fn.name()
    # (a reflected number comes first here: 2 * x is mul(2, x), PyTorch's mul(x, 2))
    assert sorted(edges, key=str) == sorted(torch_edges, key=str)


def test_next_functions_after_backward_and_of_variant_nodes():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = 2.0 ** x
    y.sum().backward()
    assert y.grad_fn.name() == "PowBackward2"
    (edge,) = y.grad_fn.next_functions             # still one edge once the graph is freed
    assert edge[0].variable is x
    e = ad.tensor([3.0, 3.0], requires_grad=True)
    assert [n.name() for n, _ in (x ** e).grad_fn.next_functions] == ["AccumulateGrad"] * 2


def test_multi_output_index_in_next_functions():
    class Halves(Function):
        @staticmethod
        def forward(ctx, x):
            return x[:2] * 1, x[2:] * 1

        @staticmethod
        def backward(ctx, g1, g2):
            return ad.cat([g1, g2]) if hasattr(ad, "cat") else ad.tensor(
                np.concatenate([np.asarray(g1), np.asarray(g2)]))

    x = ad.tensor(np.arange(4.0), requires_grad=True)
    first, second = Halves.apply(x)
    z = second * 2
    node, index = z.grad_fn.next_functions[0]
    assert node is second.grad_fn and node is first.grad_fn and index == 1
    assert first.grad_fn.next_functions[0][0].variable is x
    (z.sum() + first.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 2.0, 2.0])


class MulConstant(Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


def test_custom_function_node_name_and_gradient():
    a = ad.ones((2, 2), requires_grad=True)
    b = MulConstant.apply(a, 5)
    assert b.grad_fn.name() == "MulConstantBackward"
    assert b.grad_fn.next_functions[0][0].variable is a
    b.backward(ad.ones_like(a))
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 2), 5.0))


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x ** 2          # written with ad ops: differentiable again


def test_function_saved_tensors_and_double_backward():
    x = ad.tensor(2.0, requires_grad=True)
    y = Cube.apply(x)
    g, = ad.autograd.grad(y, x, create_graph=True)
    assert g.item() == 12.0 and g.requires_grad
    gg, = ad.autograd.grad(g, x)
    assert gg.item() == 12.0


def test_function_saved_tensor_version_check():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    with ad.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_function_saved_tensors_freed_after_backward():
    x = ad.tensor(2.0, requires_grad=True)
    y = Cube.apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_needs_input_grad():
    seen = {}

    class F(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["needs"] = ctx.needs_input_grad
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    a = ad.tensor(1.0, requires_grad=True)
    F.apply(a, ad.tensor(2.0), 3.0)
    assert seen["needs"] == (True, False, False)


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        idx = np.argsort(x.detach().numpy())
        ctx.idx = idx
        i = ad.tensor(idx)
        ctx.mark_non_differentiable(i)
        return ad.tensor(x.detach().numpy()[idx]), i

    @staticmethod
    def backward(ctx, g_sorted, g_idx):
        assert g_idx is None or not np.asarray(g_idx).any()
        out = np.zeros_like(np.asarray(g_sorted))
        out[ctx.idx] = np.asarray(g_sorted)
        return ad.tensor(out)


def test_mark_non_differentiable_and_several_outputs():
    x = ad.tensor([3.0, 1.0, 2.0], requires_grad=True)
    s, i = SortWithIndex.apply(x)
    assert s.requires_grad and not i.requires_grad and i.grad_fn is None
    (s * ad.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])


class TwoOut(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(ctx.flag)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        ctx.seen = (g1, g2)
        total = 0
        if g1 is not None:
            total = total + g1 * 2
        if g2 is not None:
            total = total + g2 * 3
        return total


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads(materialize):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    FunctionCtxFlag = type("F", (TwoOut,), {})
    orig_forward = TwoOut.forward

    def forward(ctx, x):
        ctx.flag = materialize
        return orig_forward(ctx, x)

    FunctionCtxFlag.forward = staticmethod(forward)
    a, b = FunctionCtxFlag.apply(x)
    a.sum().backward()                      # b unused: its gradient is undefined
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    g2 = a.grad_fn.ctx.seen[1]
    if materialize:
        assert g2 is not None and not np.asarray(g2).any() and g2.shape == (2,)
    else:
        assert g2 is None


def test_backward_returning_too_few_or_too_many_gradients_raises():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    class TooMany(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g, g

    a = ad.tensor(1.0, requires_grad=True)
    b = ad.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(a, b).backward()
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooMany.apply(a).backward()


def test_backward_returning_wrong_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return ad.ones(5)

    a = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid gradient"):
        Bad.apply(a).sum().backward()


def test_once_differentiable_backward_is_not_recorded():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2 * x

    x = ad.tensor(3.0, requires_grad=True)
    g, = ad.autograd.grad(Sq.apply(x), x, create_graph=True)
    assert g.item() == 6.0
    assert not g.requires_grad


def test_function_inside_larger_graph_and_non_tensor_args():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.exp(MulConstant.apply(ad.sin(x), 2.0)).sum()
    y.backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(2 * np.sin(xv)) * 2 * np.cos(xv))


def test_function_no_grad_apply_records_nothing():
    x = ad.tensor(1.0, requires_grad=True)
    with ad.no_grad():
        y = MulConstant.apply(x, 2)
    assert y.grad_fn is None and not y.requires_grad
