"""JAX on CPU in float64: ``jax.grad`` eagerly, and ``jax.jit(jax.grad(f))``.

Eager backward-only timing uses ``jax.vjp`` (forward records the linearised
function; backward calls it). A jitted gradient is one compiled program, so it
has no backward-only time. Compilation happens in the warm-up call.
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from . import Case, Implementation  # noqa: E402


def _ready(tree):
    return jax.block_until_ready(tree)


def _functions(inp: dict) -> dict:
    """Each workload as a pure function of the arrays it differentiates, with its argument."""
    n = inp.get("n")

    def scalar_graph(x):
        nodes = list(x)
        for op in range(n):
            kind = op % 4
            if kind == 0:
                nodes.append(jax.nn.softplus(nodes[-10]))
            elif kind == 1:
                nodes.append(sum(nodes[-30:-10:5]))
            elif kind == 2:
                nodes.append(nodes[-20] * nodes[-10])
            else:
                p = jax.nn.softmax(jnp.stack(nodes[-4:]))
                nodes.extend([p[0], p[1], p[2], p[3]])
        return nodes[-1]

    def mlp(hidden, loss_fn):
        def loss(params):
            h = inp["X"]
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                h = hidden(h @ W + b)
            return loss_fn(h @ params[-2] + params[-1])
        return loss

    def cross_entropy(z):
        logp = jax.nn.log_softmax(z, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, inp["labels"][:, None], axis=1))

    def chain(x):
        y = x
        for _ in range(inp["steps"]):
            y = jnp.sin(y) * y + 0.5 * y
        return jnp.sum(y)

    def deep_chain(x):
        y = x
        for i in range(n):
            y = y * 1.000001 + 1e-7 if i % 2 == 0 else jnp.sin(y)
        return y

    def hessian_f(x):
        return jnp.sum(jnp.tanh(inp["A"] @ x) ** 2) + 0.5 * (x @ x)

    params = [jnp.asarray(p) for p in inp.get("params", [])]
    return {
        "W1": (scalar_graph, lambda: [jnp.asarray(v) for v in inp["x"]]),
        "W2": (mlp(jnp.tanh, cross_entropy), lambda: params),
        "W3": (chain, lambda: jnp.asarray(inp["x"])),
        "W4": (mlp(jax.nn.relu, lambda z: jnp.mean((z - inp["target"]) ** 2)), lambda: params),
        "W5": (hessian_f, lambda: jnp.asarray(inp["x"])),
        "W6": (deep_chain, lambda: jnp.asarray(inp["x"])),
    }


def _as_list(key: str, g) -> list:
    return list(g) if key in ("W2", "W4") else [g]


def _builder(key: str, jit: bool):
    def build(inp: dict) -> Case:
        f, arg = _functions(inp)[key]
        x = arg()
        derivative = jax.hessian(f) if key == "W5" else jax.grad(f)
        if jit:
            derivative = jax.jit(derivative)
        step = lambda: _as_list(key, _ready(derivative(x)))  # noqa: E731
        if jit or key == "W5":
            return Case(step=step, compiles=jit)
        forward = lambda: _ready(jax.vjp(f, x))[1]  # noqa: E731
        backward = lambda vjp: _as_list(key, _ready(vjp(jnp.asarray(1.0))[0]))  # noqa: E731
        return Case(step=step, forward=forward, backward=backward)
    return build


KEYS = ("W1", "W2", "W3", "W4", "W5", "W6")
IMPLEMENTATIONS = [
    Implementation("jax", "jax", {k: _builder(k, jit=False) for k in KEYS}),
    Implementation("jax-jit", "jax", {k: _builder(k, jit=True) for k in KEYS}),
]
