"""One or more samples per registered op: how to call it and on what inputs.

``test_ops.py`` checks every sample against finite differences in float64
(first and second order reverse mode, and forward mode), and fails when a
registered op has no sample here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import autodiff as ad


@dataclass
class Sample:
    op: str                       # the registered op name this sample exercises
    fn: Callable[..., Any]        # called with the input tensors
    shapes: tuple                 # one shape per differentiable input
    domain: str = "real"          # real | positive | unit (-1, 1) | above_one | nonzero
    second_order: bool = True
    forward: bool = True
    id: str = ""
    extra: dict = field(default_factory=dict)

    def make_inputs(self, rng: np.random.Generator) -> list:
        out = []
        for shape in self.shapes:
            if self.domain == "positive":
                a = rng.uniform(0.5, 2.0, shape)
            elif self.domain == "unit":
                a = rng.uniform(-0.8, 0.8, shape)
            elif self.domain == "above_one":
                a = rng.uniform(1.2, 3.0, shape)
            elif self.domain == "nonzero":
                a = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
            else:
                a = rng.uniform(-2.0, 2.0, shape)
            out.append(ad.tensor(a, requires_grad=True))
        return out


SAMPLES: list[Sample] = []

# Ops that are internal building blocks reached through other ops' samples.
COVERED_ELSEWHERE = {"sum_to_shape", "index_add_into_zeros", "alias"}
# Ops with no derivative at all (comparisons): checked in test_nondiff.
NON_DIFFERENTIABLE = {"eq", "ne", "lt", "le", "gt", "ge"}


def add(op: str, fn: Callable, *shapes: Any, **kw: Any) -> None:
    SAMPLES.append(Sample(op, fn, tuple(shapes), **kw))


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
