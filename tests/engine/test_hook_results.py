"""What a tensor hook returns is checked as PyTorch checks it: the gradient's shape
and dtype may not change (the error names the hook and both), and anything but a
Tensor, an ndarray or None is a TypeError naming the hook and what it returned."""
import numpy as np
import pytest

import autodiff as ad


def _leaf_and_target(where):
    x = ad.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    return x, (x if where == "leaf" else x * 1.0)


@pytest.mark.parametrize("where", ["leaf", "non-leaf"])
def test_hook_changing_the_shape_raises_naming_hook_and_shapes(where):
    x, t = _leaf_and_target(where)

    def transposing_hook(g):
        return g.T                      # (2, 3) for a (3, 2) tensor: same size

    t.register_hook(transposing_hook)
    with pytest.raises(RuntimeError, match=r"hook 'transposing_hook' has changed the size of "
                                           r"value \(was \(3, 2\) got \(2, 3\)\)"):
        (t * 2.0).sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("where", ["leaf", "non-leaf"])
def test_hook_returning_a_broadcastable_shape_raises(where):
    x, t = _leaf_and_target(where)
    t.register_hook(lambda g: ad.ones(1, 2))
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the size of value"):
        (t * 2.0).sum().backward()


@pytest.mark.parametrize("where", ["leaf", "non-leaf"])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_hook_changing_the_dtype_raises(where, dtype):
    x, t = _leaf_and_target(where)

    def casting_hook(g):
        return ad.tensor(g.numpy().astype(dtype))

    t.register_hook(casting_hook)
    with pytest.raises(RuntimeError, match=r"hook 'casting_hook' has changed the type of "
                                           r"value \(was float64 got %s\)" % np.dtype(dtype)):
        (t * 2.0).sum().backward()


@pytest.mark.parametrize("result", [[1.0, 2.0], 2.0, "g"], ids=["list", "float", "str"])
def test_hook_returning_neither_tensor_nor_none_raises_type_error(result):
    a = ad.tensor(1.0, requires_grad=True)
    b = ad.tensor(2.0, requires_grad=True)
    s = ad.stack([a, b])                # the compiled stack node

    def bad_hook(g):
        return result

    s.register_hook(bad_hook)
    with pytest.raises(TypeError, match=r"hook 'bad_hook' returned a %s" % type(result).__name__):
        (s * 1.0).sum().backward()


def test_hook_returning_an_ndarray_of_the_right_shape_replaces_the_gradient():
    x, t = _leaf_and_target("non-leaf")
    t.register_hook(lambda g: g.numpy() * 3.0)
    (t * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 2), 6.0))


def test_hook_checks_on_the_create_graph_path():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        ad.autograd.grad(y.sum(), x, create_graph=True)
