"""autodiff, used through its public API the way a user writes it.

Ops that are still landing (``nn.functional.softplus``/``softmax``/
``cross_entropy``/``mse_loss``, ``stack``, ``autograd.functional.hessian``)
are looked up at run time; when one is missing the workload is composed from
existing ops and the fallback is listed in ``FALLBACKS`` (reported in the
JSON and the table notes).
"""
from __future__ import annotations

import importlib

import autodiff as ad

from . import Case, Implementation

FALLBACKS: set[str] = set()


def _optional(module: str, name: str):
    """``module.name`` if it exists, else None (recorded as a fallback)."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        found = None
    if found is None:
        FALLBACKS.add(f"{module}.{name}")
    return found


def _functional():
    return {name: _optional("autodiff.nn.functional", name)
            for name in ("softplus", "softmax", "cross_entropy", "mse_loss")}


def _leaves(arrays) -> list:
    return [ad.tensor(a, requires_grad=True) for a in arrays]


def _grads(leaves) -> list:
    return [p.grad for p in leaves]


def scalar_graph(inp: dict) -> Case:
    """W1: one 0-d tensor per node."""
    F, stack = _functional(), _optional("autodiff", "stack")
    softplus = F["softplus"] or (lambda t: ad.log(1 + ad.exp(t)))
    if F["softmax"] and stack:
        def softmax4(four):
            p = F["softmax"](stack(four), dim=0)
            return [p[0], p[1], p[2], p[3]]
    else:
        def softmax4(four):
            e = [ad.exp(t) for t in four]
            total = e[0] + e[1] + e[2] + e[3]
            return [t / total for t in e]

    def forward():
        leaves = [ad.tensor(v, requires_grad=True) for v in inp["x"]]
        nodes = list(leaves)
        for op in range(inp["n"]):
            kind = op % 4
            if kind == 0:
                nodes.append(softplus(nodes[-10]))
            elif kind == 1:
                nodes.append(sum(nodes[-30:-10:5]))
            elif kind == 2:
                nodes.append(nodes[-20] * nodes[-10])
            else:
                nodes.extend(softmax4(nodes[-4:]))
        return leaves, nodes[-1]

    def backward(state):
        leaves, out = state
        out.backward()
        return [_grads(leaves)]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def _mlp(inp: dict, hidden, loss_fn) -> Case:
    X = ad.tensor(inp["X"])
    params = _leaves(inp["params"])

    def forward():
        for p in params:
            p.grad = None
        h = X
        for W, b in zip(params[0:-2:2], params[1:-2:2]):
            h = hidden(h @ W + b)
        return loss_fn(h @ params[-2] + params[-1])

    def backward(loss):
        loss.backward()
        return _grads(params)

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def small_mlp(inp: dict) -> Case:
    """W2: tanh, cross-entropy."""
    cross_entropy = _functional()["cross_entropy"]
    labels, onehot = ad.tensor(inp["labels"]), ad.tensor(inp["onehot"])

    def loss(z):
        if cross_entropy:
            return cross_entropy(z, labels)
        logp = z - ad.log(ad.exp(z).sum(dim=1, keepdim=True))
        return -(logp * onehot).sum() / z.shape[0]

    return _mlp(inp, ad.tanh, loss)


def wide_mlp(inp: dict) -> Case:
    """W4: relu, mean squared error."""
    mse_loss = _functional()["mse_loss"]
    target = ad.tensor(inp["target"])

    def loss(z):
        return mse_loss(z, target) if mse_loss else ((z - target) ** 2).mean()

    return _mlp(inp, ad.relu, loss)


def chain(inp: dict) -> Case:
    """W3."""
    def forward():
        x = ad.tensor(inp["x"], requires_grad=True)
        y = x
        for _ in range(inp["steps"]):
            y = ad.sin(y) * y + 0.5 * y
        return x, y.sum()

    def backward(state):
        x, s = state
        s.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def hessian(inp: dict) -> Case:
    """W5: ``autograd.functional.hessian``, else one double-backward per row."""
    A, x0 = ad.tensor(inp["A"]), inp["x"]
    functional_hessian = _optional("autodiff.autograd.functional", "hessian")

    def f(x):
        return (ad.tanh(A @ x) ** 2).sum() + 0.5 * (x @ x)

    def step():
        x = ad.tensor(x0, requires_grad=True)
        if functional_hessian:
            return [functional_hessian(f, x)]
        (g,) = ad.autograd.grad(f(x), x, create_graph=True)
        return [[ad.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(len(x0))]]

    return Case(step=step)


def deep_chain(inp: dict) -> Case:
    """W6."""
    def forward():
        x = ad.tensor(inp["x"], requires_grad=True)
        y = x
        for i in range(inp["n"]):
            y = y * 1.000001 + 1e-7 if i % 2 == 0 else ad.sin(y)
        return x, y

    def backward(state):
        x, y = state
        y.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


IMPLEMENTATIONS = [Implementation(
    "autodiff", "autodiff",
    {"W1": scalar_graph, "W2": small_mlp, "W3": chain, "W4": wide_mlp, "W5": hessian,
     "W6": deep_chain},
    trace_memory=True)]
