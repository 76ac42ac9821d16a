"""Arrays that user code hands to the engine (hook results, ``grad_outputs``,
``gradient=``, a custom Function's gradients, an assigned ``.grad``) are converted
once at the boundary: any byte order, alignment or memory layout gives the gradient
that the same values in a native C-contiguous array give, also on the compiled
paths (stack of scalars, small softmax, int select, scalar ops)."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import Function

F = ad.nn.functional


def _swapped(a):
    """The values of ``a`` in the other byte order (big-endian on this machine)."""
    return a.astype(a.dtype.newbyteorder("S"))


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


def _read_only(a):
    out = a.copy()
    out.flags.writeable = False
    return out


LAYOUTS = {
    "big-endian": _swapped,
    "unaligned": _unaligned,
    "strided": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    "negative-strides": lambda a: a[..., ::-1].copy()[..., ::-1],
    "read-only": _read_only,
    "fortran": np.asfortranarray,
}

V = np.array([[0.5, -2.0], [3.0, 1.25]])    # (2, 2): Fortran order differs from C


def _graph(kind):
    """(inputs, output) of a graph whose output's node takes a compiled path."""
    if kind == "stack":       # a (2, 2) stack of stacks of 0-d tensors
        xs = [ad.tensor(v, requires_grad=True) for v in (1.0, 2.0, -1.0, 0.5)]
        rows = [ad.stack(xs[:2]), ad.stack(xs[2:])]
        return xs, ad.stack(rows)
    x = ad.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    return [x], ad.stack([F.softmax(x[0], dim=0), F.softmax(x[1], dim=0)])


def _via_hook(kind, v):
    xs, out = _graph(kind)
    out.register_hook(lambda g: v)
    (out * 1.0).sum().backward()
    return [x.grad.numpy() for x in xs]


def _via_tensor_hook(kind, v):
    xs, out = _graph(kind)
    out.register_hook(lambda g: ad.from_numpy(v))
    (out * 1.0).sum().backward()
    return [x.grad.numpy() for x in xs]


def _via_row_hook(kind, v):
    # on the 1-d output of the compiled stack/softmax node itself
    xs, out = _graph_row(kind)
    out.register_hook(lambda g: v[0])
    (out * 1.0).sum().backward()
    return [x.grad.numpy() for x in xs]


def _graph_row(kind):
    if kind == "stack":
        xs = [ad.tensor(v, requires_grad=True) for v in (1.0, 2.0)]
        return xs, ad.stack(xs)
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    return [x], F.softmax(x, dim=0)


def _via_grad_outputs(kind, v):
    xs, out = _graph(kind)
    return [g.numpy() for g in ad.autograd.grad(out, xs, grad_outputs=v)]


def _via_gradient(kind, v):
    xs, out = _graph(kind)
    out.backward(ad.from_numpy(v))
    return [x.grad.numpy() for x in xs]


def _via_function(kind, v):
    class Identity(Function):
        @staticmethod
        def forward(ctx, t):
            return t * 1.0

        @staticmethod
        def backward(ctx, g):
            return ad.from_numpy(v)

    xs, out = _graph(kind)
    Identity.apply(out).sum().backward()
    return [x.grad.numpy() for x in xs]


ENTRY_POINTS = {"hook": _via_hook, "tensor-hook": _via_tensor_hook,
                "row-hook": _via_row_hook, "grad_outputs": _via_grad_outputs,
                "gradient": _via_gradient, "function-backward": _via_function}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("kind", ["stack", "softmax"])
def test_any_layout_gives_the_native_arrays_gradient(kind, entry, layout):
    odd = LAYOUTS[layout](V)
    np.testing.assert_array_equal(odd, V)
    expected = ENTRY_POINTS[entry](kind, V.copy())
    got = ENTRY_POINTS[entry](kind, odd)
    for g, e in zip(got, expected):
        assert g.dtype == np.float64 and g.dtype.isnative
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_assigned_grad_of_any_layout_is_accumulated_into(layout):
    w = ad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w.grad = ad.from_numpy(LAYOUTS[layout](V))
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), V + 2.0)
    w.grad = LAYOUTS[layout](V)                 # an ndarray, as PyTorch takes a tensor
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), V + 2.0)


def test_float32_gradient_for_a_float64_output_is_cast():
    for entry in ("grad_outputs", "gradient", "function-backward"):
        expected = ENTRY_POINTS[entry]("stack", V.copy())
        got = ENTRY_POINTS[entry]("stack", V.astype(np.float32))
        for g, e in zip(got, expected):
            assert g.dtype == np.float64
            np.testing.assert_array_equal(g, e)


def _paths(make):
    """Gradients through the compiled scalar, stack, softmax and select paths of leaves
    made by ``make`` from native float64 arrays."""
    s = make(np.array(0.75))
    v = make(np.array([1.0, -0.5, 2.0]))
    y = ad.sin(s) * s + 2.0 * s
    p = F.softmax(v, dim=0)
    z = ad.stack([y, p[0], v[2] * s, p[1] * v[1]])
    (z * ad.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return [t.grad.numpy() for t in (s, v)] + [z.detach().numpy()]


@pytest.mark.parametrize("make", [
    lambda a: ad.tensor(_swapped(a), requires_grad=True),
    lambda a: ad.from_numpy(_swapped(a)).requires_grad_(),
], ids=["tensor", "from_numpy"])
def test_big_endian_leaves_give_native_values_and_gradients(make):
    expected = _paths(lambda a: ad.tensor(a, requires_grad=True))
    for got, e in zip(_paths(make), expected):
        np.testing.assert_allclose(got, e, rtol=1e-15, atol=0)


@pytest.mark.parametrize("entry", ["grad_outputs", "gradient"])
def test_complex_gradient_for_a_real_output_raises(entry):
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    v = np.array([1j, 1.0 + 2j])
    with pytest.raises(RuntimeError, match=r"grad_output\[0\] has a dtype of complex128 and "
                                           r"output\[0\] has a dtype of float64"):
        if entry == "grad_outputs":
            ad.autograd.grad(y, x, grad_outputs=v)
        else:
            y.backward(v)
    assert x.grad is None

