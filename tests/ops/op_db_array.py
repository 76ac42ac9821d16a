"""Samples of the shape, indexing and linear-algebra ops (see op_db.py for the format)."""
import numpy as np

import autodiff as ad

from op_db_base import add

# -- shape ---------------------------------------------------------------------
add("reshape", lambda x: x.reshape(3, 2), (2, 3))
add("permute", lambda x: x.permute(2, 0, 1), (2, 3, 2))
add("swapaxes", lambda x: ad.transpose(x, 0, 1), (2, 3))
add("expand_dims", lambda x: ad.unsqueeze(x, 1), (2, 3))
add("broadcast_to", lambda x: ad.broadcast_to(x, (4, 2, 3)), (2, 1))
add("clone", lambda x: x.clone(), (2, 3))
add("astype", lambda x: x.astype("float64") * 1.0, (2, 3))
add("expand_copy", lambda x: ad._api.copy_from(ad.zeros(2, 3), x), (3,))

# -- indexing ----------------------------------------------------------------
add("getitem", lambda x: x[1:, ::2], (3, 4), id="getitem-slice")
add("getitem", lambda x: x[[0, 0, 2]], (3, 4), id="getitem-repeated-int-array")
add("getitem", lambda x: x[x > 0], (3, 4), domain="nonzero", id="getitem-bool-mask")
add("getitem", lambda x: x[None, ..., 1], (3, 4), id="getitem-none-ellipsis")
add("index_put", lambda x, v: ad.ops.index.index_put(x, v, (slice(0, 2),)), (3, 4), (4,))

# -- linear algebra ------------------------------------------------------------
add("matmul", ad.matmul, (2, 3), (3, 4), id="matmul-2d")
add("matmul", ad.matmul, (3,), (3, 4), id="matmul-1d-2d")
add("matmul", ad.matmul, (2, 3), (3,), id="matmul-2d-1d")
add("matmul", ad.matmul, (3,), (3,), id="matmul-1d-1d")
add("matmul", ad.matmul, (2, 2, 3), (3, 4), id="matmul-batched-broadcast")

# -- more shape ops ------------------------------------------------------------------
add("concatenate", lambda x, y: ad.cat([x, y], dim=1), (2, 3), (2, 2), id="cat-dim1")
add("concatenate", lambda x, y: ad.cat([x, y, x]), (2, 3), (1, 3), id="cat-repeated-input")
add("concatenate", lambda x, y: np.concatenate([x, y], axis=None), (2, 2), (3,),
    id="np-concatenate-axis-none")
add("stack", lambda x, y: ad.stack([x, y], dim=-1), (2, 3), (2, 3), id="stack-last")
add("stack", lambda x, y: np.stack([x, y, x]), (3,), (3,), id="np-stack")
add("flip", lambda x: ad.flip(x, (0, 2)), (2, 3, 2))
add("roll", lambda x: ad.roll(x, (1, -2), (0, 1)), (3, 4), id="roll-dims")
add("roll", lambda x: ad.roll(x, 5), (3, 4), id="roll-flat")
add("tile", lambda x: ad.tile(x, (2, 1, 3)), (2, 3), id="tile-more-reps")
add("tile", lambda x: x.repeat(2, 2), (2, 3), id="tensor-repeat")
add("tile", lambda x: np.tile(x, 2), (2, 3), id="np-tile-fewer-reps")
add("pad", lambda x: ad.pad(x, (1, 2, 0, 1), value=3.0), (2, 3), id="pad-constant")
add("pad", lambda x: np.pad(x, ((1, 0), (2, 2))), (2, 3), id="np-pad-constant")
add("getitem", lambda x: ad.pad(x, (2, 1, 1, 1), mode="reflect"), (3, 4), id="pad-reflect")
add("getitem", lambda x: ad.pad(x, (2, 1), mode="replicate"), (2, 3), id="pad-replicate")
add("getitem", lambda x: ad.pad(x, (2, 3), mode="circular"), (2, 3), id="pad-circular")
add("diagonal", lambda x: ad.diagonal(x, 1, 0, 2), (3, 2, 4), id="diagonal-offset-axes")
add("diagonal", lambda x: np.diagonal(x, -1), (3, 3), id="np-diagonal-below")
add("diagonal_scatter_zeros", lambda x: ad.diag(x, -1), (3,), id="diag-embed")
add("tril", lambda x: ad.tril(x, -1), (2, 3, 3))
add("triu", lambda x: np.triu(x, 1), (3, 4))
add("getitem", lambda x: ad.repeat_interleave(x, 2, dim=1), (2, 3), id="repeat-interleave")
add("getitem", lambda x: ad.repeat_interleave(x, ad.tensor([1, 0, 3])), (3,),
    id="repeat-interleave-tensor-repeats")
add("getitem", lambda x: ad.cat(ad.split(x, 2, dim=1)[::-1], 1) * ad.arange(5.0), (2, 5), id="split")
add("getitem", lambda x: ad.cat(np.split(x, [1, 3]), 0), (4, 2), id="np-split")
add("getitem", lambda x: ad.chunk(x, 2, 0)[1], (3, 2), id="chunk")
add("getitem", lambda x: ad.unbind(x, 1)[2] * ad.unbind(x, 1)[0], (2, 3), id="unbind")

# -- indexing ------------------------------------------------------------------------
add("getitem", lambda x: x[ad.tensor([2, 0, 2])], (3, 2), id="getitem-tensor-index")
add("getitem", lambda x: x[[[0, 1], [1, 1]], 1:], (2, 3), id="getitem-2d-int-array-slice")
add("getitem", lambda x: x[..., ad.tensor([True, False, True])], (2, 3), id="getitem-bool-tensor")
add("getitem", lambda x: x[1, None, ::-1], (2, 3), id="getitem-int-none-negative-step")
add("index_put", lambda x, v: ad.ops.index.index_put(x, v, ([0, 2], slice(None))), (3, 2), (2, 1),
    id="index-put-int-array-broadcast-values")

# -- linear algebra ------------------------------------------------------------------
add("matmul", ad.matmul, (2, 1, 2, 3), (3, 3, 2), id="matmul-batched-both-broadcast")
add("matmul", ad.matmul, (3,), (2, 3, 4), id="matmul-1d-batched")
add("matmul", ad.matmul, (2, 2, 3), (3,), id="matmul-batched-1d")
add("einsum", lambda x, y: ad.einsum("ij,jk->ik", x, y), (2, 3), (3, 2), id="einsum-mm")
add("einsum", lambda x, y, z: ad.einsum("bi,bij,j->b", x, y, z), (2, 3), (2, 3, 2), (2,),
    id="einsum-three-operands")
add("einsum", lambda x: ad.einsum("ii->i", x), (3, 3), id="einsum-diagonal")
add("einsum", lambda x: ad.einsum("ii", x), (3, 3), id="einsum-trace")
add("einsum", lambda x: ad.einsum("ij->", x), (2, 3), id="einsum-sum")
add("einsum", lambda x, y: np.einsum("...ij,...j", x, y), (2, 3, 2), (2,), id="einsum-ellipsis")
add("einsum", lambda x, y: ad.einsum("ij,jk", x, y), (2, 2), (2, 3), id="einsum-implicit")
add("einsum", lambda x, y: ad.einsum("iij,kj->ki", x, y), (2, 2, 3), (1, 3),
    id="einsum-repeated-broadcast")
add("einsum", lambda x, y: ad.tensordot(x, y, dims=([0, 2], [1, 0])), (2, 3, 4), (4, 2, 5),
    id="tensordot-axes")
add("einsum", lambda x, y: np.tensordot(x, y), (2, 3, 4), (3, 4), id="np-tensordot")
add("einsum", lambda x, y: ad.dot(x, y), (3,), (3,), id="dot")
add("einsum", lambda x, y: np.dot(x, y), (2, 3, 2), (4, 2, 3), id="np-dot-nd")
add("einsum", lambda x, y: ad.outer(x, y), (3,), (2,), id="outer")
add("einsum", lambda x, y: ad.inner(x, y), (2, 3), (4, 3), id="inner")
add("trace", ad.trace, (3, 3), id="trace-square")
add("trace", ad.trace, (2, 4), id="trace-wide")
add("trace", lambda x: x.trace(), (4, 3), id="trace-tall-method")
add("diagonal", lambda x: np.trace(x, 1), (3, 4), id="np-trace-offset")


def _wellcond(a):
    # a raw matrix plus a dominant diagonal: far from singular
    return a + 5.0 * ad.eye(a.shape[-1], dtype=a.dtype)


def _spd(a):
    return a @ np.swapaxes(a, -1, -2) + a.shape[-1] * ad.eye(a.shape[-1], dtype=a.dtype)


def _sym(a):
    return a + np.swapaxes(a, -1, -2)


add("inv", lambda x: ad.linalg.inv(_wellcond(x)), (3, 3), id="inv")
add("inv", lambda x: np.linalg.inv(_wellcond(x)), (2, 2, 2), id="np-inv-batched")
add("det", lambda x: ad.linalg.det(_wellcond(x)), (3, 3), id="det")
add("det", lambda x: np.linalg.det(x), (2, 2, 2), domain="nonzero", id="det-batched")
add("slogdet", lambda x: ad.linalg.slogdet(x).logabsdet, (3, 3), domain="nonzero", id="slogdet")
add("slogdet", lambda x: ad.logdet(_spd(x)), (2, 3, 3), id="logdet-batched")
add("solve", lambda a, b: ad.linalg.solve(_wellcond(a), b), (3, 3), (3,), id="solve-vector")
add("solve", lambda a, b: ad.linalg.solve(_wellcond(a), b), (2, 3, 3), (3, 2),
    id="solve-batched-broadcast-b")
add("solve", lambda a, b: ad.linalg.solve(_wellcond(a), b), (2, 3, 3), (2, 3),
    id="solve-batch-of-vectors")
add("solve", lambda a, b: np.linalg.solve(_wellcond(a), b), (3, 3), (2, 3, 1),
    id="np-solve-broadcast-a")
add("cholesky", lambda x: ad.linalg.cholesky(_spd(x)), (3, 3), id="cholesky")
add("cholesky", lambda x: ad.linalg.cholesky(_spd(x), upper=True), (2, 3, 3),
    id="cholesky-batched-upper")
# Eigenvectors are defined up to sign: test sign-invariant functions of them.
add("eigh", lambda x: (lambda r: r.eigenvalues + r.eigenvectors ** 2)(ad.linalg.eigh(_sym(x))),
    (3, 3), id="eigh")
add("eigh", lambda x: ad.linalg.eigvalsh(_sym(x)), (2, 3, 3), id="eigvalsh-batched")
add("eigh", lambda x: (lambda r: r[1][..., 0:1] * r[1][..., 0])(np.linalg.eigh(_sym(x))),
    (4, 4), id="np-eigh-projector")
add("vector_norm", lambda x: ad.linalg.vector_norm(x), (2, 3), id="vector-norm-2")
add("vector_norm", lambda x: ad.linalg.norm(x, dim=1, keepdim=True), (2, 3),
    id="norm-dim-keepdim")
add("vector_norm", lambda x: ad.linalg.vector_norm(x, 3, dim=(0, 2)), (2, 3, 2),
    domain="nonzero", id="vector-norm-p3")
add("vector_norm", lambda x: ad.linalg.norm(x, ord="fro", dim=(-2, -1)), (2, 2, 3),
    id="norm-fro")
add("vector_norm", lambda x: np.linalg.norm(x), (2, 3), id="np-norm")
