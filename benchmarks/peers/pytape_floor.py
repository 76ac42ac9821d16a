"""The floor for the scalar workloads (W1, W6): a minimal pure-Python tape.

Values are Python floats; every result is appended to a tape with its parents
and local derivatives, and the reverse pass walks the tape backwards (creation
order is a topological order). Fused local rules (softmax of four values is
one node each, an affine step is one node) make it the cheapest graph that
pure Python can record.
"""
from __future__ import annotations

import math

from . import Case, Implementation


class Tape:
    """Parallel lists: value, parent indices and local derivatives of each node."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.parents: list[tuple] = []
        self.derivs: list[tuple] = []

    def add(self, value: float, parents: tuple = (), derivs: tuple = ()) -> int:
        """Record one node; return its index."""
        self.values.append(value)
        self.parents.append(parents)
        self.derivs.append(derivs)
        return len(self.values) - 1

    def backward(self, out: int) -> list[float]:
        """d out / d node for every node."""
        grads = [0.0] * len(self.values)
        grads[out] = 1.0
        parents, derivs = self.parents, self.derivs
        for i in range(out, -1, -1):
            g = grads[i]
            if g:
                for p, d in zip(parents[i], derivs[i]):
                    grads[p] += g * d
        return grads


def _scalar_graph_forward(x: list, n: int) -> tuple:
    tape = Tape()
    val = tape.values
    nodes = [tape.add(v) for v in x]
    for op in range(n):
        kind = op % 4
        if kind == 0:
            a = nodes[-10]
            v = val[a]
            nodes.append(tape.add(math.log1p(math.exp(v)), (a,), (1.0 / (1.0 + math.exp(-v)),)))
        elif kind == 1:
            picked = tuple(nodes[-30:-10:5])
            nodes.append(tape.add(math.fsum(val[i] for i in picked), picked, (1.0,) * len(picked)))
        elif kind == 2:
            a, b = nodes[-20], nodes[-10]
            nodes.append(tape.add(val[a] * val[b], (a, b), (val[b], val[a])))
        else:
            four = tuple(nodes[-4:])
            m = max(val[i] for i in four)
            e = [math.exp(val[i] - m) for i in four]
            s = sum(e)
            p = [ei / s for ei in e]
            for i in range(4):
                row = tuple((p[i] if i == j else 0.0) - p[i] * p[j] for j in range(4))
                nodes.append(tape.add(p[i], four, row))
    return tape, nodes[-1]


def scalar_graph(inp: dict) -> Case:
    """W1."""
    x, n = [float(v) for v in inp["x"]], inp["n"]

    def backward(state):
        tape, out = state
        return [tape.backward(out)[:len(x)]]

    forward = lambda: _scalar_graph_forward(x, n)  # noqa: E731
    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def deep_chain(inp: dict) -> Case:
    """W6."""
    x0, n = inp["x"], inp["n"]

    def forward():
        tape = Tape()
        y = tape.add(x0)
        for i in range(n):
            v = tape.values[y]
            if i % 2 == 0:
                y = tape.add(v * 1.000001 + 1e-7, (y,), (1.000001,))
            else:
                y = tape.add(math.sin(v), (y,), (math.cos(v),))
        return tape, y

    def backward(state):
        tape, out = state
        return [tape.backward(out)[0]]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


IMPLEMENTATIONS = [Implementation(
    "pytape", "python", {"W1": scalar_graph, "W6": deep_chain}, floor=True, trace_memory=True)]
