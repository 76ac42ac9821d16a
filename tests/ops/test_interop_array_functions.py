"""NumPy array functions called on Tensors keep NumPy's meaning, return Tensors and
differentiate (``__array_function__``)."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import gradcheck

RNG = np.random.default_rng(0)


def leaf(*shape):
    return ad.tensor(RNG.uniform(-2, 2, shape), requires_grad=True)


def wellcond(a):
    return a + 5.0 * np.eye(a.shape[-1])


CASES = [
    ("concatenate", lambda a, b: np.concatenate([a, b], axis=1), [(2, 3), (2, 1)]),
    ("concatenate-none", lambda a, b: np.concatenate((a, b), axis=None), [(2, 3), (4,)]),
    ("stack", lambda a, b: np.stack([a, b], axis=-1), [(2, 3), (2, 3)]),
    ("hstack", lambda a, b: np.hstack([a, b]), [(2, 3), (2, 2)]),
    ("vstack", lambda a, b: np.vstack([a, b]), [(3,), (2, 3)]),
    # one array is the sequence of its rows, as NumPy's joins take it
    ("vstack-one-vector", lambda a: np.vstack(a), [(3,)]),
    ("vstack-one-tensor", lambda a: np.vstack(a), [(2, 3, 2)]),
    ("hstack-one-matrix", lambda a: np.hstack(a), [(2, 3)]),
    ("hstack-one-tensor", lambda a: np.hstack(a), [(2, 3, 2)]),
    ("stack-one-tensor", lambda a: np.stack(a, axis=1), [(2, 3)]),
    ("concatenate-one-tensor", lambda a: np.concatenate(a, axis=1), [(2, 3, 2)]),
    ("reshape", lambda a: np.reshape(a, (3, -1)), [(2, 3)]),
    ("transpose", lambda a: np.transpose(a), [(2, 3, 4)]),
    ("transpose-axes", lambda a: np.transpose(a, (1, 0, 2)), [(2, 3, 4)]),
    ("swapaxes", lambda a: np.swapaxes(a, 0, 2), [(2, 3, 4)]),
    ("moveaxis", lambda a: np.moveaxis(a, [0, 1], [-1, 0]), [(2, 3, 4)]),
    ("squeeze", lambda a: np.squeeze(a, axis=1), [(2, 1, 3)]),
    ("expand_dims", lambda a: np.expand_dims(a, (0, 3)), [(2, 3)]),
    ("ravel", lambda a: np.ravel(a), [(2, 3)]),
    ("matmul", lambda a, b: np.matmul(a, b), [(2, 3), (3, 4)]),
    ("dot-2d", lambda a, b: np.dot(a, b), [(2, 3), (3, 4)]),
    ("dot-1d", lambda a, b: np.dot(a, b), [(3,), (3,)]),
    ("dot-nd-1d", lambda a, b: np.dot(a, b), [(2, 2, 3), (3,)]),
    ("dot-scalar", lambda a: np.dot(a, 2.0), [(3,)]),
    ("einsum", lambda a, b: np.einsum("ij,kj->ik", a, b), [(2, 3), (4, 3)]),
    ("einsum-trace", lambda a: np.einsum("ii", a), [(3, 3)]),
    ("tensordot", lambda a, b: np.tensordot(a, b, axes=([1], [0])), [(2, 3), (3, 2)]),
    ("outer", lambda a, b: np.outer(a, b), [(2, 2), (3,)]),
    ("inner", lambda a, b: np.inner(a, b), [(2, 3), (3,)]),
    ("trace", lambda a: np.trace(a), [(3, 4)]),
    ("trace-axes", lambda a: np.trace(a, 0, 1, 2), [(2, 3, 3)]),
    ("flip", lambda a: np.flip(a), [(2, 3)]),
    ("fliplr", lambda a: np.fliplr(a), [(2, 3)]),
    ("roll", lambda a: np.roll(a, -1, axis=1), [(2, 3)]),
    ("roll-flat", lambda a: np.roll(a, 4), [(2, 3)]),
    ("tile", lambda a: np.tile(a, (2, 1, 2)), [(2, 3)]),
    ("repeat", lambda a: np.repeat(a, [1, 2], axis=0), [(2, 3)]),
    ("split", lambda a: np.split(a, 3, axis=1)[2] * np.split(a, [1])[0], [(2, 3)]),
    ("array_split", lambda a: np.array_split(a, 2)[1], [(5,)]),
    ("diagonal", lambda a: np.diagonal(a, 1), [(3, 4)]),
    ("diag", lambda a: np.diag(a, 1), [(2,)]),
    ("tril", lambda a: np.tril(a, -1), [(3, 3)]),
    ("triu", lambda a: np.triu(a), [(3, 3)]),
    ("tril-vector", lambda a: np.tril(a, -1), [(3,)]),       # NumPy: rows of a square matrix
    ("triu-vector", lambda a: np.triu(a, 1), [(4,)]),
    ("pad", lambda a: np.pad(a, 1, constant_values=2.0), [(2, 3)]),
    ("pad-reflect", lambda a: np.pad(a, ((0, 0), (2, 1)), mode="reflect"), [(2, 3)]),
    ("broadcast_to", lambda a: np.broadcast_to(a, (4, 3)), [(3,)]),
    ("linalg.inv", lambda a: np.linalg.inv(wellcond(a)), [(3, 3)]),
    ("linalg.det", lambda a: np.linalg.det(wellcond(a)), [(2, 3, 3)]),
    ("linalg.slogdet", lambda a: np.linalg.slogdet(wellcond(a))[1], [(3, 3)]),
    ("linalg.solve", lambda a, b: np.linalg.solve(wellcond(a), b), [(3, 3), (3,)]),
    ("linalg.solve-matrix", lambda a, b: np.linalg.solve(wellcond(a), b), [(3, 3), (3, 2)]),
    ("linalg.norm", lambda a: np.linalg.norm(a), [(2, 3)]),
    ("linalg.norm-axis", lambda a: np.linalg.norm(a, axis=0), [(2, 3)]),
    ("linalg.norm-ord1", lambda a: np.linalg.norm(a, 1), [(3, 3)]),
    ("linalg.cholesky", lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3)), [(3, 3)]),
    ("linalg.eigvalsh", lambda a: np.linalg.eigvalsh(a + a.T), [(3, 3)]),
]


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=[c[0] for c in CASES])
def test_numpy_function_on_tensors(name, fn, shapes):
    xs = [leaf(*s) for s in shapes]
    out = fn(*xs)
    assert isinstance(out, ad.Tensor) and out.requires_grad
    expected = fn(*[x.detach().numpy().copy() for x in xs])
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(fn, xs, check_forward_ad=True)


@pytest.mark.skipif(not hasattr(np, "row_stack"), reason="np.row_stack was removed")
@pytest.mark.filterwarnings("ignore:`row_stack` alias is deprecated:DeprecationWarning")
def test_row_stack_of_one_tensor_is_numpys():
    x = leaf(2, 3)
    out = np.row_stack(x)
    np.testing.assert_array_equal(out.detach().numpy(), np.row_stack(x.detach().numpy()))
    assert gradcheck(np.row_stack, [x])


def test_joins_of_a_0d_tensor_raise_as_numpy_does():
    for join in (np.vstack, np.hstack, np.stack):
        with pytest.raises(TypeError, match="iteration over a 0-d"):
            join(ad.tensor(1.0, requires_grad=True))


def test_concatenate_and_matmul_give_gradients():
    a, b = leaf(2, 3), leaf(1, 3)
    np.concatenate([a, b]).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), 1.0)
    np.testing.assert_array_equal(b.grad.numpy(), 1.0)
    a, b = leaf(2, 3), leaf(3, 4)
    np.matmul(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((2, 4)) @ b.detach().numpy().T)


def test_mixing_tensors_and_arrays():
    a = leaf(2, 3)
    out = np.concatenate([a, np.zeros((1, 3))])
    assert isinstance(out, ad.Tensor) and out.shape == (3, 3)
    out = np.stack([np.ones(3), a[0]])
    assert isinstance(out, ad.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, 1, 1], [0, 0, 0]])


def test_numpy_and_pytorch_meanings_differ_where_they_should():
    x = leaf(2, 3, 4)
    assert np.transpose(x).shape == (4, 3, 2)          # NumPy: reverse all axes
    assert ad.transpose(x, 0, 1).shape == (3, 2, 4)     # PyTorch: swap two
    assert [p.shape for p in np.split(ad.ones(6), 3)] == [(2,)] * 3        # 3 sections
    assert [p.shape for p in ad.split(ad.ones(6), 3)] == [(3,), (3,)]      # size 3
    with pytest.raises(ValueError, match="equal division"):
        np.split(ad.ones(5), 2)
    assert np.tile(ad.ones((2, 3)), 2).shape == (2, 6)
    with pytest.raises(RuntimeError, match="repeat"):
        ad.ones((2, 3)).repeat(2)
    with pytest.raises(ValueError, match="squeeze"):
        np.squeeze(ad.ones((2, 3)), axis=0)
    # PyTorch's tril/triu need two dimensions; NumPy's take a vector as a matrix's rows
    v = ad.ones(3) * 1.0
    for op in (ad.tril, ad.triu, ad.Tensor.tril, ad.Tensor.triu, ad.Tensor.tril_,
               ad.Tensor.triu_, lambda t: t[1:].tril_(), lambda t: ad.ones(()).triu()):
        with pytest.raises(RuntimeError, match="tri[lu]: input tensor must have at least 2 "
                                               "dimensions"):
            op(v)
    assert np.tril(v).shape == (3, 3) and v._version == 0


def test_linalg_named_tuples():
    a = ad.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    r = np.linalg.slogdet(a)
    assert r.sign.item() == 1.0 and abs(r.logabsdet.item() - np.log(5.0)) < 1e-12
    w, v = np.linalg.eigh(a)
    assert w.shape == (2,) and v.shape == (2, 2)
