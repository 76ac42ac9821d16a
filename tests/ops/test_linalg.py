"""Linear algebra beyond the generic op checks: forward-over-reverse (JVP rules run on
Tensors), PyTorch's conventions, shape rules and error messages."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import forward_ad as fwAD

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 3))


def _grad(f, x0):
    x = ad.tensor(x0, requires_grad=True)
    (g,) = ad.autograd.grad(f(x), x)
    return g.numpy()


def _hvp_forward_over_reverse(f, x0, t):
    with fwAD.dual_level():
        x = fwAD.make_dual(ad.tensor(x0, requires_grad=True), ad.tensor(t))
        (g,) = ad.autograd.grad(f(x), x, create_graph=True)
        return fwAD.unpack_dual(g).tangent.detach().numpy()


def _wc(x):
    return x + 5.0 * ad.eye(3)


def _spd(x):
    return x @ x.T + 3.0 * ad.eye(3)


FUNCTIONS = {
    "inv": lambda x: (ad.linalg.inv(_wc(x)) * ad.tensor(W)).sum(),
    "det": lambda x: ad.linalg.det(_wc(x)),
    "slogdet": lambda x: ad.linalg.slogdet(_wc(x)).logabsdet,
    "solve": lambda x: ad.linalg.solve(_wc(x), x[0] * x[1]).sum(),
    "cholesky": lambda x: (ad.linalg.cholesky(_spd(x)) * ad.tensor(W)).sum(),
    "eigh": lambda x: ((ad.linalg.eigh(x + x.T).eigenvectors ** 2 * ad.tensor(W)).sum()
                       + (ad.linalg.eigvalsh(x + x.T) ** 3).sum()),
    "norm": lambda x: ad.linalg.norm(x) ** 3,
    "vector_norm-p": lambda x: ad.linalg.vector_norm(x, 3, dim=0).sum(),
    "einsum": lambda x: ad.einsum("ij,jk,ki->", x, x, x),
    "einsum-trace": lambda x: ad.einsum("ii", x) ** 3,
    "tensordot": lambda x: (ad.tensordot(x, x * x, 1) ** 2).sum(),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_forward_over_reverse_hvp_matches_finite_differences(name):
    f = FUNCTIONS[name]
    x0 = RNG.standard_normal((3, 3))
    t = RNG.standard_normal((3, 3))
    eps = 1e-6
    fd = (_grad(f, x0 + eps * t) - _grad(f, x0 - eps * t)) / (2 * eps)
    np.testing.assert_allclose(_hvp_forward_over_reverse(f, x0, t), fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                    ((5, 2, 3), (3,)), ((3,), (5, 3, 4)),
                                    ((5, 1, 2, 3), (4, 3, 2)), ((2, 3), (5, 3, 4))])
def test_matmul_shapes_values_and_gradients(sa, sb):
    a = ad.tensor(RNG.standard_normal(sa), requires_grad=True)
    b = ad.tensor(RNG.standard_normal(sb), requires_grad=True)
    out = a @ b
    np.testing.assert_allclose(out.detach().numpy(), a.detach().numpy() @ b.detach().numpy())
    assert ad.autograd.gradcheck(ad.matmul, (a, b), check_forward_ad=True)


def test_eigh_gradient_is_symmetric_like_pytorch():
    x = ad.tensor(RNG.standard_normal((4, 4)), requires_grad=True)
    s = x + x.T
    s.retain_grad()
    (ad.linalg.eigh(s).eigenvectors ** 2 * ad.tensor(RNG.standard_normal((4, 4)))).sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), s.grad.numpy().T, atol=1e-12)


def test_named_results():
    a = ad.tensor([[2.0, 0.0], [0.0, -3.0]])
    r = ad.linalg.slogdet(a)
    assert r.sign.item() == -1.0 and np.isclose(r.logabsdet.item(), np.log(6.0))
    assert not r.sign.requires_grad
    e = ad.linalg.eigh(ad.tensor([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(e.eigenvalues.numpy(), [1.0, 3.0])
    assert e.eigenvectors.shape == (2, 2)


def test_norm_conventions_match_pytorch():
    x = ad.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert np.isclose(ad.linalg.norm(x).item(), np.sqrt(30.0))
    assert np.isclose(ad.linalg.norm(x, ord=1).item(), 6.0)            # max column sum
    assert np.isclose(ad.linalg.norm(x, ord=np.inf).item(), 7.0)       # max row sum
    assert np.isclose(ad.linalg.norm(x, ord=-np.inf).item(), 3.0)
    np.testing.assert_allclose(ad.linalg.norm(x, dim=1).numpy(), [np.sqrt(5), 5.0])
    assert ad.linalg.vector_norm(x, 0).item() == 4.0
    assert ad.linalg.norm(x, dim=(0, 1), keepdim=True).shape == (1, 1)


def test_norm_gradient_at_zero_is_zero():
    x = ad.zeros(3, requires_grad=True)
    ad.linalg.norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_inf_norm_splits_the_gradient_between_ties():
    x = ad.tensor([3.0, -3.0, 1.0], requires_grad=True)
    ad.linalg.vector_norm(x, np.inf).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5, 0.0])


def test_solve_vector_or_matrix_rhs_like_pytorch():
    a = ad.tensor(RNG.standard_normal((2, 3, 3)) + 5 * np.eye(3))
    assert ad.linalg.solve(a, ad.ones(3)).shape == (2, 3)
    assert ad.linalg.solve(a, ad.ones((2, 3))).shape == (2, 3)        # batch of vectors
    assert ad.linalg.solve(a, ad.ones((3, 2))).shape == (2, 3, 2)     # a matrix
    with pytest.raises(RuntimeError, match=r"incompatible shapes A \(2, 3, 3\) and B \(4,\)"):
        ad.linalg.solve(a, ad.ones(4))


def test_errors_name_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"linalg.inv: .*\(2, 3\)"):
        ad.linalg.inv(ad.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="inv"):
        ad.linalg.inv(ad.zeros((2, 2)))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky"):
        ad.linalg.cholesky(-ad.eye(2))
    with pytest.raises(RuntimeError, match=r"dot: .*\(2,\) and \(3,\)"):
        ad.dot(ad.ones(2), ad.ones(3))
    with pytest.raises(RuntimeError, match=r"mm: .*\(3,\)"):
        ad.mm(ad.ones((2, 3)), ad.ones(3))
    with pytest.raises(ValueError, match="einsum"):
        ad.einsum("ij,jk->ik", ad.ones((2, 3)))
    with pytest.raises(ValueError, match="einsum"):
        ad.einsum("ij,jk->ik", ad.ones((2, 3)), ad.ones((4, 2)))
    with pytest.raises(ValueError, match="tensordot"):
        ad.tensordot(ad.ones((2, 3)), ad.ones((2, 3)), 1)
    with pytest.raises(NotImplementedError, match="nuc"):
        ad.linalg.norm(ad.ones((2, 2)), "nuc")


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (1, 3)])
def test_trace_of_any_matrix_matches_pytorch_and_numpy(shape):
    torch = pytest.importorskip("torch")
    a = RNG.standard_normal(shape)
    x = ad.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = ad.trace(x), torch.trace(tx)
    assert np.isclose(y.item(), ty.item()) and np.isclose(y.item(), np.trace(a))
    assert y.grad_fn.name() == ty.grad_fn.name() == "TraceBackward0"
    y.backward()
    ty.backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert ad.autograd.gradgradcheck(lambda t: ad.trace(t) ** 2, [x])


SUBLIST_FORMS = [
    ("matmul", [(2, 3), (3, 4)], lambda a, b: (a, [0, 1], b, [1, 2], [0, 2])),
    ("implicit-output", [(2, 3), (3, 4)], lambda a, b: (a, [30, 1], b, [1, 2])),
    ("trace", [(3, 3)], lambda a: (a, [0, 0], [])),
    ("ellipsis", [(2, 3, 3), (3,)], lambda a, b: (a, [Ellipsis, 0, 1], b, [1], [Ellipsis, 0])),
    ("three-operands", [(2, 3), (3, 4), (4,)], lambda a, b, c: (a, [0, 1], b, [1, 2], c, [2], [0])),
]


@pytest.mark.parametrize("shapes, form", [f[1:] for f in SUBLIST_FORMS],
                         ids=[f[0] for f in SUBLIST_FORMS])
def test_einsum_sublist_form_matches_pytorch(shapes, form):
    torch = pytest.importorskip("torch")
    arrays = [RNG.standard_normal(s) for s in shapes]
    xs = [ad.tensor(a, requires_grad=True) for a in arrays]
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for einsum in (ad.einsum, np.einsum):
        out = einsum(*form(*xs))
        tout = torch.einsum(*form(*txs))
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
        w = RNG.standard_normal(tout.shape)
        grads = ad.autograd.grad(out, xs, ad.tensor(w))
        tgrads = torch.autograd.grad(tout, txs, torch.tensor(w))
        for g, tg in zip(grads, tgrads):
            np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12, atol=1e-14)
    assert ad.autograd.gradgradcheck(lambda *ts: ad.einsum(*form(*ts)), xs)


def test_einsum_sublist_errors():
    with pytest.raises(ValueError, match=r"ints in \[0, 52\)"):
        ad.einsum(ad.ones(2), [52])
    with pytest.raises(TypeError, match="sublist"):
        ad.einsum(ad.ones(2), "i")


def test_einsum_matches_numpy_on_varied_subscripts():
    a = RNG.standard_normal((2, 3, 3))
    b = RNG.standard_normal((3, 4))
    for subs, ops in [("bii->b", (a,)), ("bij,jk->bki", (a, b)), ("...ij,jk", (a, b)),
                      ("bij->", (a,)), ("bij,bij->ij", (a, a)), ("ij,jk,kl->il", (b.T, b, b.T)),
                      ("i,i", (b[:, 0], b[:, 1]))]:
        out = ad.einsum(subs, *[ad.tensor(o) for o in ops])
        np.testing.assert_allclose(out.numpy(), np.einsum(subs, *ops), atol=1e-12)


def test_cat_stack_errors_and_dtype_promotion():
    with pytest.raises(ValueError, match=r"stack: .*\(2,\).*\(3,\)"):
        ad.stack([ad.ones(2), ad.ones(3)])
    with pytest.raises(ValueError, match="cat"):
        ad.cat([ad.ones((2, 3)), ad.ones((2, 4))])
    with pytest.raises(TypeError, match="sequence"):
        ad.cat(ad.ones(3))
    a = ad.ones(2, dtype=np.float32, requires_grad=True)
    b = ad.ones(2, requires_grad=True)
    out = ad.cat([a, b])
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_expand_with_minus_one_and_views():
    x = ad.tensor([[1.0], [2.0]], requires_grad=True)
    y = ad.expand(x, 3, -1, 4)
    assert y.shape == (3, 2, 4)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[12.0], [12.0]])


@pytest.mark.parametrize("join", [np.stack, np.concatenate, np.hstack, np.vstack])
def test_numpy_joins_take_dtype_and_casting_as_numpy_does(join):
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    b = ad.tensor([3.0, 4.0], requires_grad=True)
    out = join([a, b], dtype=np.float32)
    want = join([a.detach().numpy(), b.detach().numpy()], dtype=np.float32)
    assert isinstance(out, ad.Tensor) and out.dtype == np.float32
    np.testing.assert_array_equal(out.detach().numpy(), want)
    out.sum().backward()                            # the cast is differentiable
    assert a.grad.dtype == np.float64 and a.grad.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):                  # NumPy refuses float64 -> int64 here too
        join([a.detach().numpy(), b.detach().numpy()], dtype=np.int64)
    with pytest.raises(TypeError, match="cannot cast a float64 part to int64"):
        join([a, b], dtype=np.int64)
    with pytest.raises(TypeError, match="casting='safe'"):
        join([a, b], dtype=np.float32, casting="safe")
    with pytest.raises(TypeError, match="out=" if join in (np.stack, np.concatenate)
                       else "unexpected keyword argument 'out'"):   # (as NumPy's hstack)
        join([a, b], out=np.empty(4))


def test_stack_rejects_unknown_keywords():
    with pytest.raises(TypeError, match="unexpected keyword argument 'axes'"):
        ad.stack([ad.ones(2), ad.ones(2)], axes=0)


@pytest.mark.parametrize("dim", [0, -1, (0,), (-1,)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm_of_a_0d_tensor_along_dim_0_matches_pytorch(dim, keepdim):
    # PyTorch gives a 0-d tensor one element along dim 0 (and -1): a 0-d norm
    torch = pytest.importorskip("torch")
    results = []
    for lib in (ad, torch):
        x = lib.tensor(-0.7, dtype=lib.float64, requires_grad=True)
        y = lib.linalg.vector_norm(x, ord=3, dim=dim, keepdim=keepdim)
        (g,) = lib.autograd.grad(y, x)
        results.append((tuple(y.shape), y.item(), g.item()))
    assert results[0] == results[1]
    with pytest.raises(RuntimeError, match="repeated"):
        ad.linalg.vector_norm(ad.tensor(0.7), dim=(0, -1))
    with pytest.raises(IndexError, match="out of range"):
        ad.linalg.vector_norm(ad.tensor(0.7), dim=1)
