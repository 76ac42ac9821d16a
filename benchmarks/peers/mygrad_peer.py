"""MyGrad: ``mygrad.tensor`` and ``.backward()``; NumPy arrays mixed in are constants.

MyGrad has no higher-order derivatives, so W5 (Hessian) is not supported.
"""
from __future__ import annotations

import mygrad as mg
from mygrad.nnet.activations import softmax
from mygrad.nnet.losses import softmax_crossentropy

from . import Case, Implementation


def scalar_graph(inp: dict) -> Case:
    """W1: one 0-d tensor per node."""
    def forward():
        leaves = [mg.tensor(v) for v in inp["x"]]
        nodes = list(leaves)
        for op in range(inp["n"]):
            kind = op % 4
            if kind == 0:
                nodes.append(mg.logaddexp(0.0, nodes[-10]))
            elif kind == 1:
                nodes.append(sum(nodes[-30:-10:5]))
            elif kind == 2:
                nodes.append(nodes[-20] * nodes[-10])
            else:
                p = softmax(mg.stack(nodes[-4:]))
                nodes.extend([p[0], p[1], p[2], p[3]])
        return leaves, nodes[-1]

    def backward(state):
        leaves, out = state
        out.backward()
        return [[p.grad for p in leaves]]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def _mlp(inp: dict, hidden, loss_fn) -> Case:
    X = inp["X"]

    def forward():
        params = [mg.tensor(p) for p in inp["params"]]
        h = X
        for W, b in zip(params[0:-2:2], params[1:-2:2]):
            h = hidden(mg.matmul(h, W) + b)
        return params, loss_fn(mg.matmul(h, params[-2]) + params[-1])

    def backward(state):
        params, loss = state
        loss.backward()
        return [p.grad for p in params]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def small_mlp(inp: dict) -> Case:
    """W2."""
    return _mlp(inp, mg.tanh, lambda z: softmax_crossentropy(z, inp["labels"]))


def wide_mlp(inp: dict) -> Case:
    """W4."""
    relu = lambda z: mg.maximum(z, 0.0)  # noqa: E731
    return _mlp(inp, relu, lambda z: mg.mean((z - inp["target"]) ** 2))


def chain(inp: dict) -> Case:
    """W3."""
    def forward():
        x = mg.tensor(inp["x"])
        y = x
        for _ in range(inp["steps"]):
            y = mg.sin(y) * y + 0.5 * y
        return x, mg.sum(y)

    def backward(state):
        x, s = state
        s.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def deep_chain(inp: dict) -> Case:
    """W6."""
    def forward():
        x = mg.tensor(inp["x"])
        y = x
        for i in range(inp["n"]):
            y = y * 1.000001 + 1e-7 if i % 2 == 0 else mg.sin(y)
        return x, y

    def backward(state):
        x, y = state
        y.backward()
        return [x.grad]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


IMPLEMENTATIONS = [Implementation(
    "mygrad", "mygrad",
    {"W1": scalar_graph, "W2": small_mlp, "W3": chain, "W4": wide_mlp, "W6": deep_chain})]
