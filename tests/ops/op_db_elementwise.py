"""Samples of the elementwise, binary, reduction and nn ops (see op_db.py for the format)."""
import autodiff as ad

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

