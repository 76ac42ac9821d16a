"""HIPS autograd: ``grad`` of a function written with ``autograd.numpy``.

Backward-only timing uses ``make_vjp``: the forward pass records the graph and
returns the vjp function, which is then called.
"""
from __future__ import annotations

import autograd
import autograd.numpy as np

from . import Case, Implementation


def _vjp_case(f, args) -> Case:
    """Case for a scalar function of ``args`` (a container autograd differentiates)."""
    gradient = autograd.grad(f)
    forward = lambda: autograd.make_vjp(f)(args)[0]  # noqa: E731
    return Case(step=lambda: gradient(args), forward=forward, backward=lambda vjp: vjp(1.0))


def scalar_graph(inp: dict) -> Case:
    """W1: the leaves are a list of floats."""
    def f(x):
        nodes = list(x)
        for op in range(inp["n"]):
            kind = op % 4
            if kind == 0:
                nodes.append(np.logaddexp(0.0, nodes[-10]))
            elif kind == 1:
                nodes.append(sum(nodes[-30:-10:5]))
            elif kind == 2:
                nodes.append(nodes[-20] * nodes[-10])
            else:
                s = np.stack(nodes[-4:])
                e = np.exp(s - np.max(s))
                p = e / np.sum(e)
                nodes.extend([p[0], p[1], p[2], p[3]])
        return nodes[-1]

    x = [float(v) for v in inp["x"]]
    case = _vjp_case(f, x)
    return Case(step=lambda: [case.step()], forward=case.forward,
                backward=lambda vjp: [vjp(1.0)])


def _mlp_loss(X, hidden, loss_fn):
    def loss(params):
        h = X
        for W, b in zip(params[0:-2:2], params[1:-2:2]):
            h = hidden(np.dot(h, W) + b)
        return loss_fn(np.dot(h, params[-2]) + params[-1])
    return loss


def small_mlp(inp: dict) -> Case:
    """W2."""
    from autograd.scipy.special import logsumexp

    onehot = inp["onehot"]

    def cross_entropy(z):
        return -np.sum((z - logsumexp(z, axis=1, keepdims=True)) * onehot) / z.shape[0]

    return _vjp_case(_mlp_loss(inp["X"], np.tanh, cross_entropy), list(inp["params"]))


def wide_mlp(inp: dict) -> Case:
    """W4."""
    target = inp["target"]
    relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
    return _vjp_case(_mlp_loss(inp["X"], relu, lambda z: np.mean((z - target) ** 2)),
                     list(inp["params"]))


def chain(inp: dict) -> Case:
    """W3."""
    def f(x):
        y = x
        for _ in range(inp["steps"]):
            y = np.sin(y) * y + 0.5 * y
        return np.sum(y)

    case = _vjp_case(f, inp["x"])
    return Case(step=lambda: [case.step()], forward=case.forward,
                backward=lambda vjp: [vjp(1.0)])


def hessian(inp: dict) -> Case:
    """W5: ``autograd.hessian``."""
    A = inp["A"]
    hess = autograd.hessian(lambda x: np.sum(np.tanh(np.dot(A, x)) ** 2) + 0.5 * np.dot(x, x))
    return Case(step=lambda: [hess(inp["x"])])


def deep_chain(inp: dict) -> Case:
    """W6."""
    def f(x):
        y = x
        for i in range(inp["n"]):
            y = y * 1.000001 + 1e-7 if i % 2 == 0 else np.sin(y)
        return y

    case = _vjp_case(f, inp["x"])
    return Case(step=lambda: [case.step()], forward=case.forward,
                backward=lambda vjp: [vjp(1.0)])


IMPLEMENTATIONS = [Implementation(
    "autograd", "autograd",
    {"W1": scalar_graph, "W2": small_mlp, "W3": chain, "W4": wide_mlp, "W5": hessian,
     "W6": deep_chain})]
