"""Hypothesis hunts the engine: random scalar graphs built in autodiff and in the
pure-Python oracle (``scalar_oracle``), with backward/grad, retain_graph, hooks,
retain_grad and zero_grad as rules; every gradient is compared."""
import math

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

import autodiff as ad

import scalar_oracle as oracle

AD_UNARY = {"neg": lambda a: -a, "sin": ad.sin, "exp": ad.exp,
            "tanh": ad.tanh, "square": lambda a: a * a}
AD_BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
             "mul": lambda a, b: a * b, "div": lambda a, b: a / b}

numbers = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))
multipliers = st.sampled_from([0.5, 2.0, -1.0, 3.0])


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


class EngineVsOracle(RuleBasedStateMachine):
    leaves = Bundle("leaves")
    values = Bundle("values")

    def __init__(self):
        super().__init__()
        self.all_leaves = []
        self.retained = []
        self.handles = []
        self.next_hook_id = 0

    def _leaf(self, v):
        t = ad.tensor(v, requires_grad=True)
        o = oracle.Var(v)
        self.all_leaves.append((t, o))
        return (t, o)

    @initialize(target=leaves, v=numbers)
    def first_leaf(self, v):
        return self._leaf(v)

    @rule(target=leaves, v=numbers)
    def new_leaf(self, v):
        return self._leaf(v)

    @rule(target=values, x=leaves)
    def use_leaf(self, x):
        return x

    @rule(target=values, op=st.sampled_from(sorted(AD_UNARY)), x=values)
    def unary(self, op, x):
        t, o = x
        if op in ("exp", "square") and abs(o.value) > 3:
            return x          # keep values (and gradients) in a moderate range
        o = oracle.apply(op, o)
        res = AD_UNARY[op](t)
        assert math.isclose(res.item(), o.value, rel_tol=1e-12, abs_tol=1e-12)
        return (res, o)

    @rule(target=values, op=st.sampled_from(sorted(AD_BINARY)), x=values, y=values)
    def binary(self, op, x, y):
        if op == "div" and abs(y[1].value) < 0.25:
            op = "mul"
        res = AD_BINARY[op](x[0], y[0])
        o = oracle.apply(op, x[1], y[1])
        if abs(o.value) > 1e6:
            return x
        return (res, o)

    @rule(x=values, c=multipliers)
    def add_hook(self, x, c):
        t, o = x
        h = t.register_hook(lambda g, c=c: g * c)
        self.next_hook_id += 1
        hid = self.next_hook_id
        o.hooks.append((hid, c))
        self.handles.append((h, o, hid))

    @precondition(lambda self: self.handles)
    @rule(data=st.data())
    def remove_hook(self, data):
        h, o, hid = self.handles.pop(data.draw(st.integers(0, len(self.handles) - 1)))
        h.remove()
        o.hooks = [e for e in o.hooks if e[0] != hid]

    @rule(x=values)
    def retain_grad(self, x):
        t, o = x
        if not o.is_leaf and not o.retains:
            t.retain_grad()
            o.retains = True
            self.retained.append(x)

    @rule(set_to_none=st.booleans())
    def zero_grad(self, set_to_none):
        for t, o in self.all_leaves + self.retained:
            if set_to_none or t._grad is None:
                t.grad = None
                o.grad = None
            else:
                t.grad.zero_()
                o.grad = 0.0

    def _resync_after_failure(self):
        # a failed backward may have run part of the graph: take the engine's freed
        # flags and start the gradients over on both sides
        for t, o in self.all_leaves + self.retained:
            t.grad = None
            o.grad = None

    def _sync_freed(self, root):
        # map oracle vars to engine nodes by walking both graphs in lockstep
        pairs = [(root[0].grad_fn, root[1])]
        seen = set()
        while pairs:
            node, var = pairs.pop()
            if node is None or var.is_leaf or id(var) in seen:
                continue
            seen.add(id(var))
            var.freed = bool(getattr(node, "freed", var.freed))
            parents = list(var.parents)
            for (nxt, _), p in zip(node.next_functions, parents):
                pairs.append((nxt, p))

    @rule(x=values, retain=st.booleans())
    def backward(self, x, retain):
        t, o = x
        if oracle.will_fail(o):
            with pytest.raises(RuntimeError, match="retain_graph=True"):
                t.backward(retain_graph=retain)
            self._sync_freed(x)
            self._resync_after_failure()
            return
        t.backward(retain_graph=retain)
        oracle.backward(o, retain)

    @rule(x=values, data=st.data(), retain=st.booleans())
    def grad(self, x, data, retain):
        t, o = x
        k = data.draw(st.integers(1, min(3, len(self.all_leaves))))
        picks = data.draw(st.lists(st.sampled_from(self.all_leaves), min_size=k, max_size=k))
        ins_t = [p[0] for p in picks]
        ins_o = [p[1] for p in picks]
        if oracle.will_fail(o, ins_o):
            with pytest.raises(RuntimeError, match="retain_graph=True"):
                ad.autograd.grad(t, ins_t, retain_graph=retain, allow_unused=True)
            self._sync_freed(x)
            return
        before = [(tt._grad.item() if tt._grad is not None else None) for tt, _ in self.all_leaves]
        got = ad.autograd.grad(t, ins_t, retain_graph=retain, allow_unused=True)
        want = oracle.backward(o, retain, ins_o, accumulate=False)
        for g, w in zip(got, want):
            assert close(None if g is None else g.item(), w), (got, want)
        after = [(tt._grad.item() if tt._grad is not None else None) for tt, _ in self.all_leaves]
        assert before == after          # grad() never touches .grad

    @invariant()
    def gradients_match(self):
        for t, o in self.all_leaves:
            g = t._grad
            assert close(None if g is None else g.item(), o.grad), (g, o.grad)
        for t, o in self.retained:
            g = t._grad
            assert close(None if g is None else g.item(), o.grad), (g, o.grad)


TestEngineVsOracle = EngineVsOracle.TestCase
