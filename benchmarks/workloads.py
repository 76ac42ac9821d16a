"""The benchmark workloads: what is computed, at which sizes, on which inputs.

Each workload is written once per implementation (in ``benchmarks/peers``);
this module only fixes the problem: its parameters, its inputs (float64,
seeded, identical for every implementation) and the order in which the
gradients are returned, so that they can be compared across implementations.

>>> w = WORKLOADS["W3"]
>>> inputs = w.inputs(w.quick[0])
>>> inputs["x"].shape, inputs["steps"]
((1000,), 10)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

FWD_BWD = "fwd+bwd"
BWD = "bwd"


@dataclass(frozen=True)
class Workload:
    """One named workload.

    ``sizes``, ``quick`` and ``full`` are the parameter sets of the default,
    ``--quick`` and ``--full`` runs (one table row each; ``full`` defaults to
    ``sizes``); ``make_inputs(**params)`` builds the arrays.
    ``per`` names the parameter a time is divided by (``"n"`` for µs per op).
    ``isolate`` runs every implementation except the floors in a subprocess
    with a timeout, so a crash, a runaway compile or an eager run of minutes
    is recorded as a failure instead of stopping (or stalling) the suite.
    """

    key: str
    title: str
    unit: str
    sizes: tuple
    quick: tuple
    make_inputs: Callable[..., dict]
    gradients: str
    modes: tuple = (FWD_BWD, BWD)
    per: str | None = None
    isolate: bool = False
    floor: str = "numpy"
    notes: str = ""
    full: tuple = ()
    scale: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", {"µs": 1e6, "µs/op": 1e6, "ms": 1e3}[self.unit])
        if not self.full:
            object.__setattr__(self, "full", self.sizes)

    def rows(self, run: str) -> tuple:
        """The parameter sets of a run: ``"quick"``, ``"default"`` or ``"full"``."""
        return {"quick": self.quick, "default": self.sizes, "full": self.full}[run]

    def inputs(self, params: dict) -> dict:
        """The inputs for one parameter set: the parameters plus seeded arrays."""
        return {**params, **self.make_inputs(**params)}

    def label(self, params: dict) -> str:
        """Short row label, e.g. ``W1 scalar graph n=1000``."""
        shown = " ".join(f"{k}={v}" for k, v in params.items() if k in ("n", "batch"))
        return f"{self.key} {self.title}" + (f" {shown}" if shown else "")

    def convert(self, seconds: float, params: dict) -> float:
        """Seconds for one call -> the workload's reporting unit."""
        return seconds * self.scale / (params[self.per] if self.per else 1)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _mlp_params(rng: np.random.Generator, widths: tuple) -> list:
    """[W1, b1, W2, b2, ...] with Glorot-scaled weights and small biases."""
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        params.append(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(0.1 * rng.standard_normal(fan_out))
    return params


def scalar_graph_inputs(n: int) -> dict:
    """W1: 100 scalar leaves x_i = i/100."""
    return {"x": np.arange(100) / 100.0}


def small_mlp_inputs(batch: int, widths: tuple) -> dict:
    """W2: a batch, integer labels (and their one-hot form) and the weights."""
    rng = _rng()
    labels = rng.integers(0, widths[-1], size=batch)
    return {"X": rng.standard_normal((batch, widths[0])), "labels": labels,
            "onehot": np.eye(widths[-1])[labels], "params": _mlp_params(rng, widths)}


def chain_inputs(n: int, steps: int) -> dict:
    """W3: one vector of n elements."""
    return {"x": _rng().uniform(-1.0, 1.0, n)}


def wide_mlp_inputs(batch: int, widths: tuple) -> dict:
    """W4: a batch, regression targets and the weights."""
    rng = _rng()
    return {"X": rng.standard_normal((batch, widths[0])),
            "target": rng.standard_normal((batch, widths[-1])),
            "params": _mlp_params(rng, widths)}


def hessian_inputs(n: int) -> dict:
    """W5: a fixed n x n matrix A and the point x."""
    rng = _rng()
    return {"A": rng.standard_normal((n, n)) / np.sqrt(n), "x": rng.standard_normal(n)}


def deep_chain_inputs(n: int) -> dict:
    """W6: the scalar starting point."""
    return {"x": 0.5}


WORKLOADS: dict[str, Workload] = {w.key: w for w in [
    Workload(
        "W1", "scalar graph", "µs/op",
        sizes=({"n": 1000},), full=({"n": 1000}, {"n": 10000}), quick=({"n": 40},),
        make_inputs=scalar_graph_inputs, per="n", floor="pytape", isolate=True,
        gradients="[d out / d x] with x the 100 leaves",
        notes="for op in range(n): op % 4 == 0 softplus(nodes[-10]); 1 sum(nodes[-30:-10:5]); "
              "2 nodes[-20] * nodes[-10]; 3 extend by softmax(stack(nodes[-4:])); "
              "backward from nodes[-1]"),
    Workload(
        "W2", "small MLP step", "µs",
        sizes=({"batch": 64, "widths": (32, 128, 128, 10)},),
        quick=({"batch": 8, "widths": (8, 16, 16, 4)},),
        make_inputs=small_mlp_inputs, modes=(FWD_BWD,),
        gradients="[dW1, db1, dW2, db2, dW3, db3]",
        notes="tanh hidden layers, mean softmax cross-entropy"),
    Workload(
        "W3", "elementwise chain", "ms",
        sizes=({"n": 1_000_000, "steps": 10},), quick=({"n": 1000, "steps": 10},),
        make_inputs=chain_inputs,
        gradients="[dx]",
        notes="y = x; steps times y = sin(y) * y + 0.5 * y; sum(y)"),
    Workload(
        "W4", "wide MLP", "ms",
        sizes=({"batch": 512, "widths": (1024, 1024, 1024, 10)},),
        quick=({"batch": 16, "widths": (32, 32, 32, 4)},),
        make_inputs=wide_mlp_inputs,
        gradients="[dW1, db1, dW2, db2, dW3, db3]",
        notes="relu hidden layers, mean squared error"),
    Workload(
        "W5", "Hessian", "ms",
        sizes=({"n": 200},), quick=({"n": 10},),
        make_inputs=hessian_inputs, modes=(FWD_BWD,),
        gradients="[H] (n x n)",
        notes="full Hessian of f(x) = sum(tanh(A @ x)**2) + 0.5 * x @ x"),
    Workload(
        "W6", "deep chain", "ms",
        sizes=({"n": 100_000},), quick=({"n": 1000},),
        make_inputs=deep_chain_inputs, floor="pytape", isolate=True,
        gradients="[dy/dx]",
        notes="n steps alternating y = y * 1.000001 + 1e-7 and y = sin(y), from y = x"),
]}
