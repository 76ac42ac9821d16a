"""PyTorch eager on CPU, float64: ``torch`` with the run's thread count and ``torch-1t``
with one thread (only when the run's count is not one: the same configuration otherwise)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Case, Implementation

DEFAULT_THREADS = torch.get_num_threads()


def _t(a, requires_grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def scalar_graph(inp: dict) -> Case:
    """W1: one 0-d tensor per node."""
    def forward():
        leaves = [_t(v, True) for v in inp["x"]]
        nodes = list(leaves)
        for op in range(inp["n"]):
            kind = op % 4
            if kind == 0:
                nodes.append(F.softplus(nodes[-10]))
            elif kind == 1:
                nodes.append(sum(nodes[-30:-10:5]))
            elif kind == 2:
                nodes.append(nodes[-20] * nodes[-10])
            else:
                nodes.extend(torch.softmax(torch.stack(nodes[-4:]), dim=0).unbind())
        return leaves, nodes[-1]

    def backward(state):
        leaves, out = state
        out.backward()
        return [[p.grad for p in leaves]]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def _mlp(inp: dict, hidden, loss_fn) -> Case:
    X = _t(inp["X"])
    params = [_t(p, True) for p in inp["params"]]

    def forward():
        for p in params:
            p.grad = None
        h = X
        for W, b in zip(params[0:-2:2], params[1:-2:2]):
            h = hidden(h @ W + b)
        return loss_fn(h @ params[-2] + params[-1])

    def backward(loss):
        loss.backward()
        return [p.grad for p in params]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def small_mlp(inp: dict) -> Case:
    """W2."""
    labels = torch.tensor(inp["labels"])
    return _mlp(inp, torch.tanh, lambda z: F.cross_entropy(z, labels))


def wide_mlp(inp: dict) -> Case:
    """W4."""
    target = _t(inp["target"])
    return _mlp(inp, torch.relu, lambda z: F.mse_loss(z, target))


def chain(inp: dict) -> Case:
    """W3."""
    def forward():
        x = _t(inp["x"], True)
        y = x
        for _ in range(inp["steps"]):
            y = torch.sin(y) * y + 0.5 * y
        return x, y.sum()

    def backward(state):
        x, s = state
        s.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def _w5_function(inp: dict):
    A = _t(inp["A"])

    def f(x):
        return (torch.tanh(A @ x) ** 2).sum() + 0.5 * (x @ x)
    return f


def hessian(inp: dict) -> Case:
    """W5: ``torch.func.hessian`` (forward-over-reverse, vectorised): torch's fastest route."""
    hess, x = torch.func.hessian(_w5_function(inp)), _t(inp["x"])
    return Case(step=lambda: [hess(x)])


def functional_hessian(inp: dict) -> Case:
    """W5 the way issue 6 names it: ``torch.autograd.functional.hessian(vectorize=True)``."""
    f, x = _w5_function(inp), _t(inp["x"])
    return Case(step=lambda: [torch.autograd.functional.hessian(f, x, vectorize=True)])


def deep_chain(inp: dict) -> Case:
    """W6."""
    def forward():
        x = _t(inp["x"], True)
        y = x
        for i in range(inp["n"]):
            y = y * 1.000001 + 1e-7 if i % 2 == 0 else torch.sin(y)
        return x, y

    def backward(state):
        x, y = state
        y.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


CASES = {"W1": scalar_graph, "W2": small_mlp, "W3": chain, "W4": wide_mlp, "W5": hessian,
         "W6": deep_chain}
IMPLEMENTATIONS = [
    Implementation("torch", "torch", CASES, enter=lambda: torch.set_num_threads(DEFAULT_THREADS)),
    Implementation("torch-1t", "torch", CASES, enter=lambda: torch.set_num_threads(1)),
    # W5 only: PyTorch's autograd.functional.hessian(vectorize=True), one thread
    Implementation("torch-1t-afh", "torch", {"W5": functional_hessian},
                   enter=lambda: torch.set_num_threads(1)),
]
if DEFAULT_THREADS == 1:
    del IMPLEMENTATIONS[1]
