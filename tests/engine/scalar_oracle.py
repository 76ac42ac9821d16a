"""A tiny pure-Python scalar reverse-mode engine: the reference for the stateful test.

It models PyTorch's observable semantics, not autodiff's code: gradients
accumulate into leaves, hooks see the total gradient flowing into a value and
may replace it, retained non-leaf gradients, and saved values freed by a
backward without ``retain_graph`` (only nodes that actually ran are freed, and
only ops that save something fail when run again).
"""
from __future__ import annotations

import math

# op name -> (forward, [local derivative per input], saves values)
UNARY = {
    "neg": (lambda a: -a, lambda a: [-1.0], False),
    "sin": (math.sin, lambda a: [math.cos(a)], True),
    "exp": (math.exp, lambda a: [math.exp(a)], True),
    "tanh": (math.tanh, lambda a: [1.0 - math.tanh(a) ** 2], True),
    "square": (lambda a: a * a, lambda a: [2.0 * a], True),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: [1.0, 1.0], False),
    "sub": (lambda a, b: a - b, lambda a, b: [1.0, -1.0], False),
    "mul": (lambda a, b: a * b, lambda a, b: [b, a], True),
    "div": (lambda a, b: a / b, lambda a, b: [1.0 / b, -a / (b * b)], True),
}


class Var:
    """A scalar value: a leaf (requires grad) or the output of one op."""

    def __init__(self, value: float, op: str | None = None, parents: tuple = (),
                 locals_: list | None = None, saves: bool = False) -> None:
        self.value = value
        self.op = op
        self.parents = parents
        self.locals = locals_ or []
        self.saves = saves
        self.freed = False
        self.grad: float | None = None
        self.hooks: list[tuple[int, float]] = []   # (id, multiplier), run in order
        self.retains = False

    @property
    def is_leaf(self) -> bool:
        return self.op is None


def apply(op: str, *args: Var) -> Var:
    fwd, dfn, saves = (UNARY if len(args) == 1 else BINARY)[op]
    vals = [a.value for a in args]
    return Var(fwd(*vals), op, tuple(args), dfn(*vals), saves)


def topo_order(root: Var) -> list[Var]:
    """Every value reachable from ``root``, each after all values that use it."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        for p in v.parents:
            if id(p) not in seen:
                stack.append((p, False))
    return order[::-1]            # root first


def nodes_that_run(root: Var, inputs: list[Var] | None) -> list[Var]:
    """Non-leaf values whose backward runs: all of them, or those leading to an input."""
    order = topo_order(root)
    if inputs is None:
        return [v for v in order if not v.is_leaf]
    targets = {id(x) for x in inputs}
    leads: set[int] = set()
    for v in reversed(order):                  # children before parents
        if any(id(p) in targets or id(p) in leads for p in v.parents):
            leads.add(id(v))
    return [v for v in order if id(v) in leads]


def will_fail(root: Var, inputs: list[Var] | None = None) -> bool:
    return any(v.freed and v.saves for v in nodes_that_run(root, inputs))


def backward(root: Var, retain_graph: bool, inputs: list[Var] | None = None,
             accumulate: bool = True) -> list[float | None] | None:
    """Seed 1.0 at ``root``; accumulate into leaves (or return the inputs' gradients)."""
    running = {id(v) for v in nodes_that_run(root, inputs)}
    targets = None if inputs is None else {id(x) for x in inputs}
    grads: dict[int, float] = {id(root): 1.0}
    captured: dict[int, float] = {}
    for v in topo_order(root):
        if id(v) not in grads:
            continue
        g = grads.pop(id(v))
        for _, c in v.hooks:
            g = g * c
        if v.retains and accumulate and (targets is None or id(v) in targets):
            v.grad = g if v.grad is None else v.grad + g
        if targets is not None and id(v) in targets:
            captured[id(v)] = captured.get(id(v), 0.0) + g
        if v.is_leaf:
            if accumulate and (targets is None or id(v) in targets):
                v.grad = g if v.grad is None else v.grad + g
            continue
        if id(v) not in running:
            continue
        if v.freed and v.saves:
            raise RuntimeError("retain_graph=True")
        for p, d in zip(v.parents, v.locals):
            grads[id(p)] = grads.get(id(p), 0.0) + g * d
        if not retain_graph:
            v.freed = True
    if accumulate:
        return None
    return [captured.get(id(x)) for x in inputs]
