"""Samples of the shape, indexing and linear-algebra ops (see op_db.py for the format)."""
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
