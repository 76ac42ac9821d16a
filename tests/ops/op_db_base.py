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
# Ops whose derivative is zero wherever it exists (SPEC: a zero gradient, not an error).
ZERO_GRADIENT = {"sign", "floor", "ceil", "trunc", "round", "floor_divide"}


def add(op: str, fn: Callable, *shapes: Any, **kw: Any) -> None:
    SAMPLES.append(Sample(op, fn, tuple(shapes), **kw))


