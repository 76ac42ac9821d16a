"""Samples of the elementwise, binary, reduction and nn ops (see op_db.py for the format)."""
import numpy as np

import autodiff as ad
import autodiff.nn  # noqa: F401  (ad.nn until the package imports it)

from op_db_base import add

# -- elementwise unary -----------------------------------------------------------
for name, domain in [("neg", "real"), ("exp", "real"), ("log", "positive"), ("sin", "real"),
                     ("cos", "real"), ("tanh", "real"), ("sigmoid", "real"), ("relu", "nonzero")]:
    f = getattr(ad, name)
    add(name, f, (), domain=domain, id=f"{name}-scalar")
    add(name, f, (2, 3), domain=domain, id=f"{name}-matrix")

# -- binary, with broadcasting ---------------------------------------------------
for name, domain in [("add", "real"), ("sub", "real"), ("mul", "real"), ("div", "nonzero")]:
    f = getattr(ad, name)
    add(name, f, (2, 3), (2, 3), domain=domain, id=f"{name}-same")
    add(name, f, (2, 3), (3,), domain=domain, id=f"{name}-broadcast")
    add(name, f, (), (2, 1), domain=domain, id=f"{name}-scalar-broadcast")
add("pow", lambda x: x ** 3, (2, 3), id="pow-int-exponent")
add("pow", lambda x, y: x ** y, (2, 3), (3,), domain="positive", id="pow-tensor-exponent")
add("pow", lambda x: 2.0 ** x, (3,), id="pow-tensor-exponent-rpow")
add("where", lambda x, y: ad.where(x > 0, x, y), (2, 3), (3,), domain="nonzero")

# -- reductions ------------------------------------------------------------------
add("sum", lambda x: x.sum(), (2, 3), id="sum-all")
add("sum", lambda x: x.sum(dim=1), (2, 3), id="sum-dim")
add("sum", lambda x: x.sum(axis=(0, 2), keepdims=True), (2, 3, 2), id="sum-axes-keepdims")
add("mean", lambda x: x.mean(), (2, 3), id="mean-all")
add("mean", lambda x: x.mean(dim=0, keepdim=True), (2, 3), id="mean-dim")


# -- issue 3: more elementwise ops ------------------------------------------------------
from op_db_base import NON_DIFFERENTIABLE  # noqa: E402

for name, domain in [("abs", "nonzero"), ("expm1", "real"), ("log1p", "positive"),
                     ("log2", "positive"), ("log10", "positive"), ("sqrt", "positive"),
                     ("rsqrt", "positive"), ("square", "real"), ("tan", "unit"),
                     ("arcsin", "unit"), ("arccos", "unit"), ("arctan", "real"),
                     ("sinh", "real"), ("cosh", "real"), ("arcsinh", "real"),
                     ("arccosh", "above_one"), ("arctanh", "unit"), ("erf", "real"),
                     ("softplus", "real"), ("gelu", "real"), ("leaky_relu", "nonzero"),
                     ("reciprocal", "nonzero")]:
    f = getattr(ad, name)
    add(name, f, (), domain=domain, id=f"{name}-scalar")
    add(name, f, (2, 3), domain=domain, id=f"{name}-matrix")
add("softplus", lambda x: ad.softplus(x * 8, beta=2.0, threshold=10.0), (3, 4),
    domain="nonzero", id="softplus-beta-threshold")
add("gelu", lambda x: ad.gelu(x, approximate="tanh"), (2, 3), id="gelu-tanh")
add("leaky_relu", lambda x: ad.leaky_relu(x, 0.2), (2, 3), domain="nonzero", id="leaky_relu-slope")
# piecewise constant: the gradient is zero, checked against finite differences away from jumps
# (no second order: the first derivative is a constant zero that does not require grad)
add("sign", ad.sign, (2, 3), domain="nonzero", second_order=False)
add("floor", lambda x: ad.floor(x + 0.5), (2, 3), domain="nonzero", second_order=False)
add("ceil", lambda x: ad.ceil(x + 0.5), (2, 3), domain="nonzero", second_order=False)
add("trunc", lambda x: ad.trunc(x + 0.5), (2, 3), domain="nonzero", second_order=False)
add("round", lambda x: ad.round(x + 0.25), (2, 3), domain="nonzero", second_order=False)
add("floor_divide", lambda x, y: x // y, (2, 3), (3,), domain="positive", second_order=False)

# -- issue 3: binary, with broadcasting ------------------------------------------------
# domains keep the two inputs apart (no ties), where the ops are smooth
add("maximum", lambda x, y: ad.maximum(x, y + 3), (2, 3), (3,), id="maximum-broadcast")
add("maximum", lambda x, y: ad.maximum(x * 2, y), (2, 3), (2, 3), domain="positive",
    id="maximum-same")
add("minimum", lambda x, y: ad.minimum(x, y + 3), (2, 3), (3,), id="minimum-broadcast")
add("clip", lambda x: ad.clamp(x, -1.0, 1.0), (3, 4), id="clip-scalars")
add("clip", lambda x: ad.clip(x, min=0.0), (3, 4), domain="nonzero", id="clip-min-only")
add("clip", lambda x, lo, hi: ad.clamp(x * 3, lo, hi + 3), (3, 4), (4,), (3, 1),
    id="clip-tensor-bounds")
add("arctan2", ad.arctan2, (2, 3), (3,), domain="nonzero", id="arctan2-broadcast")
add("arctan2", lambda y, x: ad.atan2(y, x), (), (2,), domain="nonzero", id="atan2-scalar")
add("remainder", lambda x, y: ad.remainder(x * 3, y), (2, 3), (3,), domain="positive",
    id="remainder-broadcast")
add("remainder", lambda x: x % 0.7, (2, 3), domain="positive", id="remainder-operator")

# -- issue 3: reductions -------------------------------------------------------------
add("prod", lambda x: x.prod(), (2, 3), domain="nonzero", id="prod-all")
add("prod", lambda x: ad.prod(x, dim=1, keepdim=True), (2, 3), domain="nonzero", id="prod-dim")
add("prod", lambda x: ad.prod(x, axis=(0, 2)), (2, 3, 2), domain="nonzero", id="prod-axes")
add("amax", lambda x: x.amax(), (2, 3), id="amax-all")
add("amax", lambda x: ad.amax(x, dim=(0, 2), keepdim=True), (2, 3, 2), id="amax-axes-keepdims")
add("amin", lambda x: ad.amin(x, axis=1), (2, 3), id="amin-dim")
add("max_dim", lambda x: ad.max(x, dim=1).values, (3, 4), id="max-dim")
add("max_dim", lambda x: x.max(dim=0, keepdim=True)[0], (3, 4), id="max-dim-keepdim")
add("min_dim", lambda x: ad.min(x, -1).values, (2, 3, 4), id="min-dim")
add("var", lambda x: x.var(), (2, 3), id="var-all")
add("var", lambda x: ad.var(x, dim=0, keepdim=True, correction=0), (3, 4), id="var-dim-biased")
add("var", lambda x: ad.var(x, (0, 2), unbiased=True), (2, 3, 2), id="var-axes")
add("std", lambda x: x.std(), (2, 3), id="std-all")
add("std", lambda x: ad.std(x, dim=1, keepdim=True), (3, 4), id="std-dim")
add("norm", lambda x: x.norm(), (2, 3), id="norm-fro")
add("norm", lambda x: ad.norm(x, p=1, dim=1), (2, 3), domain="nonzero", id="norm-1-dim")
add("norm", lambda x: ad.norm(x, p=3, dim=0, keepdim=True), (2, 3), domain="nonzero",
    id="norm-3-dim")
add("norm", lambda x: ad.norm(x, p=float("inf"), dim=1), (2, 3), id="norm-inf")
add("norm", lambda x: ad.norm(x, p=float("-inf")), (2, 3), id="norm-neg-inf")
add("norm", lambda x: ad.norm(x, p=0.5, dim=1), (2, 3), domain="nonzero", id="norm-half")
add("logsumexp", lambda x: ad.logsumexp(x, dim=1), (2, 3), id="logsumexp-dim")
add("logsumexp", lambda x: ad.logsumexp(x * 300, dim=(0, 1), keepdim=True), (2, 3),
    id="logsumexp-large")
add("cumsum", lambda x: ad.cumsum(x, dim=1), (2, 3), id="cumsum-dim")
add("cumsum", lambda x: ad.cumsum(x, 0), (4,), id="cumsum-vector")
add("cumprod", lambda x: ad.cumprod(x, dim=1), (2, 4), domain="nonzero", id="cumprod-dim")
add("cumprod", lambda x: ad.cumprod(x, dim=0), (3, 2), domain="nonzero", id="cumprod-dim0")

# -- issue 3: fused nn ops --------------------------------------------------------------
add("softmax", lambda x: ad.softmax(x, dim=1), (2, 3), id="softmax-dim1")
add("softmax", lambda x: ad.softmax(x, dim=0), (3, 2), id="softmax-dim0")
add("log_softmax", lambda x: ad.log_softmax(x, dim=-1), (2, 3), id="log_softmax-last")
add("log_softmax", lambda x: ad.log_softmax(x, dim=0), (3,), id="log_softmax-vector")
add("binary_cross_entropy",
    lambda p, y: ad.nn.functional.binary_cross_entropy(ad.sigmoid(p), ad.sigmoid(y),
                                                       reduction="none"),
    (2, 3), (2, 3), id="binary_cross_entropy")

# non-differentiable: predicates, logical ops, arg-reductions (checked in test_interop_ufuncs)
NON_DIFFERENTIABLE.update({"isnan", "isfinite", "isinf", "logical_not", "logical_and",
                           "logical_or", "logical_xor", "argmax", "argmin", "any", "all",
                           "isclose"})

# fused negative log-likelihood of class indices (cross_entropy's common case)
add("nll_rows", lambda x: ad.ops.nn.nll_rows(x, np.array([0, 2, 1]), True), (3, 4), id="nll-rows-mean")
add("nll_rows", lambda x: ad.ops.nn.nll_rows(x, np.array([3, 3, 0]), False), (3, 4), id="nll-rows-sum")

# fused cross-entropy of logits with class indices (one node: softmax - onehot); the public
# function passes the op its logits and their log_softmax
for _red in ("mean", "sum", "none"):
    add("cross_entropy_rows",
        lambda x, _red=_red: ad.nn.functional.cross_entropy(x * 3, np.array([0, 3, 1]),
                                                            reduction=_red),
        (3, 4), id=f"cross_entropy_rows-{_red}")
