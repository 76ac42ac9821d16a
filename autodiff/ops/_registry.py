"""Op declarations: ``defop`` turns a forward and its rules into an op.

An op is declared once, with its forward, its VJP rule per differentiable
input and how its JVP follows (a marker or a rule)::

    @defop(vjp={"x": lambda g, x: g * np.cos(x)}, jvp=ELEMENTWISE)
    def sin(x):
        return np.sin(x)

A rule's parameter names say what it needs, read once here at import:
``g`` (the incoming gradient, or the tangent for a JVP), an input's name (its
saved value), ``out`` (the forward's result), ``<input>_shape`` and
``<input>_dtype``, a parameter's name, ``t_<input>`` (a tangent, in custom JVP
rules) and, for ops over a sequence of tensors, ``index`` (which one) and
``<name>_shapes``. Unknown names fail here, naming the op.

Rules use ``np.*`` functions and operators only: the engine calls them with
raw arrays for first-order gradients and with Tensors (whose NumPy protocols
route back into these ops) when the backward itself is recorded.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from .. import _core

ELEMENTWISE = "elementwise"   # JVP = the VJP rules with the tangent in place of g, summed
LINEAR = "linear"             # JVP = the op applied to the tangents
MULTILINEAR = "multilinear"   # JVP = sum over inputs of the op with one input's tangent
ZERO = "zero"                 # derivative is zero: no tangent, no gradient

_JVP_KINDS = {ELEMENTWISE: _core.JVP_ELEMENTWISE, LINEAR: _core.JVP_LINEAR,
              MULTILINEAR: _core.JVP_MULTILINEAR, ZERO: _core.JVP_NONE,
              None: _core.JVP_MISSING}  # a differentiable op without a JVP: forward mode raises


def pass_grad(g: Any) -> Any:
    """The VJP rule of an input whose gradient is the output's, unchanged (add, copies).

    The engine hands ``g`` on without calling it (a Python call per edge saved).
    """
    return g


#: name -> OpSpec of every registered op (the op table the tests walk).
OPS: dict[str, _core.OpSpec] = {}
#: NumPy ufunc -> implementation on Tensors (``Tensor.__array_ufunc__``).
UFUNCS: dict[Any, Callable] = {}
#: NumPy function -> implementation on Tensors (``Tensor.__array_function__``).
ARRAY_FUNCTIONS: dict[Any, Callable] = {}


def _listed_edges(hidden: frozenset, numbers: frozenset) -> property:
    """``next_functions`` as PyTorch lists it: without the inputs at ``hidden`` (tensors
    that are never differentiated, where's condition) nor those at ``numbers`` when
    they were given a Python number or None (PyTorch's Scalar arguments: pow's
    exponent, clamp's bounds). Read at introspection only; the engine's edges are
    ``next_nodes``/``next_indices``, one per input."""
    def next_functions(self: Any) -> tuple:
        dtypes, shapes = self.in_dtypes, self.in_shapes
        return tuple(edge for i, edge in enumerate(zip(self.next_nodes, self.next_indices))
                     if i not in hidden and not (i in numbers and dtypes[i] is None
                                                 and shapes[i] == ()))
    next_functions.__doc__ = _core.Node.next_functions.__doc__
    return property(next_functions)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _plan(op: str, rule: Callable, inputs: list[str], params: list[str], variadic: bool,
          where: str) -> tuple:
    src = _core.PLAN_SOURCES
    plan = []
    for arg in inspect.signature(rule).parameters:
        if arg == "g":
            plan.append((src["g"], 0))
        elif arg == "out":
            plan.append((src["out"], 0))
        elif arg in inputs:
            k = inputs.index(arg)
            plan.append((src["all_inputs"], 0) if variadic else (src["input"], k))
        elif arg in params:
            plan.append((src["param"], params.index(arg)))
        elif arg.endswith("_shape") and arg[:-6] in inputs and not variadic:
            plan.append((src["shape"], inputs.index(arg[:-6])))
        elif arg.endswith("_shapes") and variadic and arg[:-7] in inputs:
            plan.append((src["all_shapes"], 0))
        elif arg.endswith("_dtype") and arg[:-6] in inputs and not variadic:
            plan.append((src["dtype"], inputs.index(arg[:-6])))
        elif arg == "index" and variadic:
            plan.append((src["index"], 0))
        elif arg.startswith("t_") and arg[2:] in inputs and not variadic:
            plan.append((src["tangent"], inputs.index(arg[2:])))
        else:
            raise TypeError(f"op {op!r}: {where} asks for {arg!r}, which is not g, out, an "
                            f"input ({', '.join(inputs)}), a parameter ({', '.join(params)}) "
                            "or <input>_shape/_dtype")
    return tuple(plan)


def _make_wrapper(name: str, fn: Callable, inputs: list[str], params: list[str],
                  variadic: bool, spec: _core.OpSpec) -> Callable:
    """A function with the forward's signature that calls the engine's dispatch."""
    sig = inspect.signature(fn)
    namespace: dict[str, Any] = {"_dispatch": _core.dispatch, "_spec": spec}
    parts = []
    kwonly_started = False
    for i, (pname, p) in enumerate(sig.parameters.items()):
        if p.kind is p.KEYWORD_ONLY and not kwonly_started:
            parts.append("*")
            kwonly_started = True
        if p.default is p.empty:
            parts.append(pname)
        else:
            namespace[f"_d{i}"] = p.default
            parts.append(f"{pname}=_d{i}")
    ins = ", ".join(inputs) + ","
    if variadic:
        ins = f"tuple({inputs[0]}),"
        # one sequence of tensors: dispatch receives them flattened
        body = f"    return _dispatch(_spec, {ins[:-1]}, ({', '.join(params)}{',' if params else ''}))"
    else:
        body = f"    return _dispatch(_spec, ({ins}), ({', '.join(params)}{',' if params else ''}))"
    src = f"def {name}({', '.join(parts)}):\n{body}\n"
    exec(compile(src, f"<op {name}>", "exec"), namespace)
    wrapper = namespace[name]
    wrapper.__doc__ = fn.__doc__
    wrapper.__module__ = fn.__module__
    wrapper.__qualname__ = name
    wrapper.__wrapped__ = fn
    wrapper.spec = spec
    return wrapper


def defop(vjp: dict[str, Callable | None] | None = None, jvp: Any = None, *,
          name: str | None = None, node_name: str | None = None,
          nondiff_inputs: tuple[str, ...] = (), number_inputs: tuple[str, ...] = (),
          variadic: bool = False,
          outputs: int = 0, diff_outputs: tuple[bool, ...] | None = None,
          batch_ok: bool = False, view: bool = False,
          differentiable: bool = True,
          node_names: Callable[..., str | None] | None = None,
          node_variants: tuple[str, ...] = (),
          node_names_by_ndim: bool = False,
          forward_direct: Callable | None = None,
          vjp_into: Callable | None = None) -> Callable[[Callable], Callable]:
    """Declare an op from its forward (the decorated function) and its rules.

    ``vjp`` maps each differentiable input to its rule (None: no gradient).
    ``jvp`` is ELEMENTWISE, LINEAR, MULTILINEAR, ZERO or a rule whose
    parameters may name tangents ``t_<input>``. ``nondiff_inputs`` are tensor
    inputs without a gradient (e.g. ``where``'s condition). ``number_inputs``: inputs
    that PyTorch takes as a Scalar when given a number (pow's exponent): such a number,
    like a nondiff input, is not listed in the node's ``next_functions``. ``variadic``: the
    first argument is a sequence of tensors. ``outputs=k``: the forward returns
    a tuple of k arrays. ``batch_ok``: the rules accept leading batch axes on
    g/tangents. ``view``: the output is a view of the first input.
    ``node_names(raw_inputs, params)`` may name the node after how the op was called
    (PyTorch's ``SumBackward1`` for a sum over dims); None keeps ``node_name``.
    ``node_variants``: the names it may return, when the op has ``number_inputs`` or
    ``nondiff_inputs`` (their classes must list the same ``next_functions``).
    ``node_names_by_ndim``: those names depend only on the inputs' ndims (the engine
    caches them). ``forward_direct``: a C-level callable (``operator.add``, a NumPy
    ufunc) that computes what the forward does from the inputs alone; the engine
    calls it when there are no parameters, without the forward's Python frame.
    ``vjp_into`` (one-input ops): the VJP rule's twin that may write its result into
    ``g``, with the same parameters; the engine calls it on first-order gradients
    that only it holds (no hook, retain_grad or autograd.grad capture sees them).
    """
    vjp = dict(vjp or {})

    def decorate(fn: Callable) -> Callable:
        op = name or fn.__name__
        argnames = list(inspect.signature(fn).parameters)
        input_names = [a for a in argnames if a in vjp or a in nondiff_inputs]
        n_in = len(input_names)
        if argnames[:n_in] != input_names:
            raise TypeError(f"op {op!r}: tensor inputs {input_names} must come first in "
                            f"the forward's signature {argnames}")
        if variadic and n_in != 1:
            raise TypeError(f"op {op!r}: a variadic op has exactly one sequence input")
        params = argnames[n_in:]
        spec = _core.OpSpec()
        spec.name = op
        spec.node_cls = _core.make_node_class(node_name or f"{_camel(op)}Backward0", _core.OpNode)
        spec.forward = fn
        spec.forward_direct = forward_direct
        if vjp_into is not None and (n_in != 1 or variadic or outputs or (
                list(inspect.signature(vjp_into).parameters)
                != list(inspect.signature(vjp[input_names[0]]).parameters))):
            raise TypeError(f"op {op!r}: vjp_into is for ops of one input and one output, "
                            "with the parameters of the input's VJP rule")
        spec.vjp_into = vjp_into
        spec.n_inputs = -1 if variadic else n_in
        rules = [vjp.get(a) for a in input_names]
        spec.vjp_rules = tuple(rules)
        spec.vjp_pass = tuple(r is pass_grad for r in rules) if not outputs else None
        spec.vjp_plans = tuple(
            () if r is None else _plan(op, r, input_names, params, variadic, f"vjp rule of {a!r}")
            for a, r in zip(input_names, rules))
        spec.needed_by = tuple(
            tuple(j for j, plan in enumerate(spec.vjp_plans)
                  if (_core.PLAN_SOURCES["input"], i) in plan
                  or (_core.PLAN_SOURCES["all_inputs"], 0) in plan)
            for i in range(n_in))
        spec.save_out = any((_core.PLAN_SOURCES["out"], 0) in p for p in spec.vjp_plans)
        spec.differentiable = differentiable and any(r is not None for r in rules)
        spec.n_outputs = outputs
        spec.diff_outputs = tuple(diff_outputs) if diff_outputs else (True,) * max(outputs, 1)
        if callable(jvp):
            spec.jvp_kind = _core.JVP_CUSTOM
            spec.jvp_rule = jvp
            spec.jvp_plan = _plan(op, jvp, input_names, params, variadic, "jvp rule")
        else:
            if jvp not in _JVP_KINDS:
                raise TypeError(f"op {op!r}: unknown jvp marker {jvp!r}")
            spec.jvp_kind = _JVP_KINDS[jvp]
            spec.jvp_plan = ()
        spec.batch_ok = batch_ok
        spec.view_of = 0 if view else -1
        # ops with a float64-scalar kernel in the core (same formulas as the rules here)
        spec.scalar_op = _core.SCALAR_OPS.get(op, 0)
        wrapper = _make_wrapper(op, fn, input_names, params, variadic, spec)
        spec.module_func = wrapper
        spec.node_variant = node_names      # the engine makes and caches the classes
        spec.variant_by_ndim = node_names_by_ndim
        spec.node_classes = {}
        hidden = frozenset(i for i, a in enumerate(input_names) if a in nondiff_inputs)
        numbers = frozenset(i for i, a in enumerate(input_names) if a in number_inputs)
        if (hidden or numbers) and node_names is not None and not node_variants:
            raise TypeError(f"op {op!r}: declare the node_variants that node_names may "
                            "return (they list next_functions as the op's node class does)")
        if hidden or numbers:
            listed = _listed_edges(hidden, numbers)
            spec.node_cls.next_functions = listed
            # the classes node_names may name, made here with the property (the engine
            # would make a plain one on first sight)
            for variant in node_variants:
                spec.node_classes[variant] = _core.make_node_class(variant, _core.OpNode)
                spec.node_classes[variant].next_functions = listed
        if op in OPS:
            raise TypeError(f"op {op!r} is declared twice")
        OPS[op] = spec
        return wrapper

    return decorate


def implements(*numpy_functions: Any) -> Callable[[Callable], Callable]:
    """Route NumPy ufuncs/functions called on Tensors to ``impl`` (NumPy's meaning)."""
    import numpy as np

    def register(impl: Callable) -> Callable:
        for f in numpy_functions:
            if isinstance(f, np.ufunc):
                UFUNCS[f] = impl
            else:
                ARRAY_FUNCTIONS[f] = impl
        return impl

    return register

