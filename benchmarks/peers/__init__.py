"""Implementations of the workloads, one adapter module per library.

An adapter module imports its library at the top (an ``ImportError`` means
"not installed": the peer is skipped) and defines ``IMPLEMENTATIONS``, a list
of :class:`Implementation` (a library may run in several configurations, e.g.
JAX with and without ``jit``). For one workload an implementation builds a
:class:`Case`: the callables that are timed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# Adapter modules in table order: floors first (they are the reference), then autodiff.
ADAPTERS = ["numpy_floor", "pytape_floor", "autodiff_peer", "torch_peer", "autograd_peer",
            "mygrad_peer", "jax_peer"]


@dataclass
class Case:
    """One implementation of one workload, on fixed inputs.

    ``step()`` runs forward and backward and returns the gradients (in the
    library's own array type, computation finished). For backward-only timing,
    ``forward()`` builds the graph (not timed) and ``backward(state)`` runs the
    reverse pass on what it returned; both are None when the library cannot
    separate the two (e.g. a jitted gradient). ``compiles`` marks a jitted
    step whose first call includes compilation.
    """

    step: Callable[[], list]
    forward: Callable[[], Any] | None = None
    backward: Callable[[Any], Any] | None = None
    compiles: bool = False  # the first call compiles (its time says nothing about the rest)


@dataclass
class Implementation:
    """A column of the results table.

    ``cases`` maps a workload key to a builder ``inputs -> Case``; a missing
    key means the library cannot express the workload (shown as ``n/a``).
    ``enter()`` runs before each of its cells (e.g. to set a thread count).
    ``floor`` marks hand-written references; ``trace_memory`` marks those
    whose peak memory is recorded (autodiff and the floors: tracemalloc sees
    NumPy's buffers, not those of torch or XLA).
    """

    name: str
    library: str
    cases: dict[str, Callable[[dict], Case]]
    enter: Callable[[], None] = lambda: None
    floor: bool = False
    trace_memory: bool = False
    module: str = ""

    def build(self, key: str, inputs: dict) -> Case | None:
        """The case for workload ``key``, or None when not supported."""
        builder = self.cases.get(key)
        return None if builder is None else builder(inputs)


def _array(g: Any) -> np.ndarray:
    if isinstance(g, (list, tuple)):
        return np.array([_array(v) for v in g])
    return np.zeros(()) if g is None else np.asarray(g, dtype=np.float64)


def to_numpy(grads: Any) -> list[np.ndarray]:
    """Gradients in any library's arrays -> float64 ndarrays.

    A gradient may be a list of per-leaf (or per-row) gradients; ``None`` (a
    leaf the output does not reach) is a zero.
    """
    return [_array(g) for g in grads]


def load(names: list[str] | None = None,
         modules: list[str] | None = None) -> tuple[list[Implementation], dict[str, str]]:
    """Import the adapters; return the available implementations and the missing libraries.

    ``names`` selects peers by implementation name or library (the floors and
    autodiff are always included; a library none of the names starts with is not
    imported); ``modules`` limits which adapters are
    imported (a dotted name is a module outside this package). autodiff itself
    must import: its failure is raised, not skipped.
    """
    found, missing = [], {}
    for module in modules or ADAPTERS:
        library = module.rsplit(".", 1)[-1].replace("_peer", "").replace("_floor", "")
        if names is not None and module.endswith("_peer") and library != "autodiff" and \
                not any(n.startswith(library) for n in names):
            continue        # not asked for: do not pay for importing the library
        try:
            mod = importlib.import_module(module if "." in module else f"{__name__}.{module}")
        except ImportError as exc:
            if module == "autodiff_peer":
                raise
            missing[library] = str(exc)
            continue
        for impl in mod.IMPLEMENTATIONS:
            impl.module = module
            always = impl.floor or impl.name == "autodiff"
            if always or names is None or impl.name in names or impl.library in names:
                found.append(impl)
    return found, missing
