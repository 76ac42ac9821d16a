"""The floor for the tensor workloads (W2-W5): hand-written NumPy gradients.

Forward and reverse are written out by hand for each workload (no graph, no
tape), so these times are what the arithmetic itself costs in NumPy.
"""
from __future__ import annotations

import numpy as np

from . import Case, Implementation


def _split(params: list) -> list:
    return list(zip(params[0::2], params[1::2]))


def small_mlp(inp: dict) -> Case:
    """W2: tanh MLP, mean softmax cross-entropy."""
    X, onehot, params = inp["X"], inp["onehot"], inp["params"]
    layers = _split(params)

    def forward():
        acts = [X]
        for W, b in layers[:-1]:
            acts.append(np.tanh(acts[-1] @ W + b))
        W, b = layers[-1]
        z = acts[-1] @ W + b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return acts, e / e.sum(axis=1, keepdims=True)

    def backward(state):
        acts, probs = state
        dz = (probs - onehot) / len(X)
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            grads[:0] = [acts[i].T @ dz, dz.sum(axis=0)]
            if i:
                dz = (dz @ W.T) * (1.0 - acts[i] ** 2)
        return grads

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def chain(inp: dict) -> Case:
    """W3: y = sin(y) * y + 0.5 * y, steps times; sum (sin(y) kept for the reverse pass)."""
    x, steps = inp["x"], inp["steps"]

    def forward():
        ys, sines = [x], []
        for _ in range(steps):
            y = ys[-1]
            s = np.sin(y)
            sines.append(s)
            out = s * y
            out += 0.5 * y
            ys.append(out)
        return ys, sines

    def backward(state):
        ys, sines = state
        g = np.ones_like(x)
        for y, s in zip(reversed(ys[:-1]), reversed(sines)):
            d = np.cos(y)
            d *= y
            d += s
            d += 0.5
            g *= d
        return [g]

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def wide_mlp(inp: dict) -> Case:
    """W4: relu MLP, mean squared error."""
    X, target, params = inp["X"], inp["target"], inp["params"]
    layers = _split(params)

    def forward():
        acts = [X]
        for W, b in layers[:-1]:
            acts.append(np.maximum(acts[-1] @ W + b, 0.0))
        W, b = layers[-1]
        return acts, acts[-1] @ W + b

    def backward(state):
        acts, z = state
        dz = 2.0 * (z - target) / z.size
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            W, _ = layers[i]
            grads[:0] = [acts[i].T @ dz, dz.sum(axis=0)]
            if i:
                dz = (dz @ W.T) * (acts[i] > 0)
        return grads

    return Case(step=lambda: backward(forward()), forward=forward, backward=backward)


def hessian(inp: dict) -> Case:
    """W5: H = A^T diag(2 (1 - t^2)(1 - 3 t^2)) A + I with t = tanh(A x)."""
    A, x = inp["A"], inp["x"]
    eye = np.eye(len(x))

    def step():
        t = np.tanh(A @ x)
        w = 2.0 * (1.0 - t ** 2) * (1.0 - 3.0 * t ** 2)
        return [A.T @ (w[:, None] * A) + eye]

    return Case(step=step)


IMPLEMENTATIONS = [Implementation(
    "numpy", "numpy", {"W2": small_mlp, "W3": chain, "W4": wide_mlp, "W5": hessian},
    floor=True, trace_memory=True)]
