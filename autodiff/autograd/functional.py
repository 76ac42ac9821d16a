"""Higher-level derivatives of functions: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp``.

Same signatures and return structures as ``torch.autograd.functional``:
``inputs`` is a Tensor or a tuple of Tensors, ``func`` returns a Tensor or a
tuple of Tensors, and each result mirrors those structures (a single Tensor
where a Tensor was given, tuples where tuples were given).

>>> import autodiff as ad
>>> from autodiff.autograd.functional import jacobian
>>> jacobian(lambda x: x ** 2, ad.tensor([1.0, 2.0]))
tensor([[2., 0.],
        [0., 4.]])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _core, _kernels
from . import forward_ad as fwAD
from .engine import grad as _grad
from .grad_mode import enable_grad
from ..ops.shape import alias

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# -- structure helpers --------------------------------------------------------
def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    """(was_tuple, tuple of Tensors); anything else raises naming the argument."""
    if isinstance(x, _core.TensorBase):
        return False, (x,)
    if isinstance(x, (tuple, list)):
        for i, t in enumerate(x):
            if not isinstance(t, _core.TensorBase):
                raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple "
                                f"of Tensors but the value at index {i} has type {type(t)}.")
        return True, tuple(x)
    raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors "
                    f"but the given {arg} has type {type(x)}.")


def _unwrap(is_tuple: bool, xs: Any) -> Any:
    return tuple(xs) if is_tuple else xs[0]


def _prepare_inputs(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs that require grad: new leaves, or (create_graph) views that stay in the graph."""
    out = []
    for x in inputs:
        if create_graph and x._requires_grad:
            out.append(alias(x))
        else:
            out.append(x.detach().requires_grad_(x._data.dtype.kind in "fc"))
    return tuple(out)


def _check_v(v: Any, refs: tuple, what: str, fn: str) -> tuple:
    """``v`` as a tuple matching ``refs`` in length and shapes (None only for one-element refs)."""
    if v is None:
        if len(refs) != 1 or refs[0]._data.size != 1:
            raise RuntimeError(f"The vector v can only be None if the {what} to the user-provided "
                               f"function is a single Tensor with a single element ({fn}).")
        return (_core.make_tensor(np.ones_like(refs[0]._data)),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(refs):
        raise RuntimeError(f"v has invalid size: should be {len(refs)} but got {len(vs)} ({fn}).")
    for i, (a, b) in enumerate(zip(vs, refs)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {tuple(b.shape)} "
                               f"but got {tuple(a.shape)} ({fn}).")
    return vs


def _detach(xs: tuple, create_graph: bool) -> tuple:
    if create_graph:
        return xs
    return tuple(None if x is None else x.detach() for x in xs)


def _fill_unused(grads: tuple, refs: tuple, strict: bool, create_graph: bool, what: str) -> tuple:
    """Zeros where an output did not depend on an input (an error under ``strict``)."""
    out = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode ({what}).")
            g = _core.make_tensor(np.zeros(r.shape, dtype=r._data.dtype))
        out.append(g)
    return tuple(out)


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    return _as_tuple(func(*inputs), "outputs of the user-provided function", fn)


# -- vjp / jvp ------------------------------------------------------------------
def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T J)``: a vector-Jacobian product, in reverse mode.

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import vjp
    >>> vjp(lambda x: x ** 2, ad.tensor([1.0, 3.0]), ad.tensor([1.0, 1.0]))[1]
    tensor([2., 6.])
    """
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prepare_inputs(ins, create_graph)
        out_tuple, outs = _call(func, ins, "vjp")
        vs = _check_v(v, outs, "outputs", "vjp")
        diff = [(o, g) for o, g in zip(outs, vs) if o._requires_grad]
        if diff:
            grads = _grad([o for o, _ in diff], ins, [g for _, g in diff],
                          create_graph=create_graph, allow_unused=True)
        else:
            grads = (None,) * len(ins)
        grads = _fill_unused(tuple(grads), ins, strict, create_graph, "vjp")
    return _unwrap(out_tuple, _detach(outs, create_graph)), _unwrap(in_tuple, _detach(grads, create_graph))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), J v)``: a Jacobian-vector product, in forward mode (dual tensors).

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import jvp
    >>> jvp(lambda x: x ** 2, ad.tensor([1.0, 3.0]), ad.tensor([1.0, 0.0]))[1]
    tensor([2., 0.])
    """
    in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    vs = _check_v(v, ins, "inputs", "jvp")
    with fwAD.dual_level():
        prims = tuple(x if create_graph else x.detach() for x in ins)
        duals = tuple(fwAD.make_dual(p, t if create_graph else t.detach())
                      for p, t in zip(prims, vs))
        out_tuple, outs = _call(func, duals, "jvp")
        unpacked = [fwAD.unpack_dual(o) for o in outs]
    prim = tuple(u.primal for u in unpacked)
    tans = []
    for i, (u, o) in enumerate(zip(unpacked, outs)):
        t = u.tangent
        if t is None:
            if strict:
                raise RuntimeError(f"The output {i} of the user-provided function is independent "
                                   "of the inputs. This is not allowed in strict mode (jvp).")
            t = _core.make_tensor(np.zeros(o.shape, dtype=o._data.dtype))
        tans.append(t)
    return _unwrap(out_tuple, _detach(prim, create_graph)), _unwrap(out_tuple, _detach(tuple(tans), create_graph))


# -- jacobian ---------------------------------------------------------------------
_EYE_CACHE: dict = {}


def _eye(total: int, dtype: Any) -> np.ndarray:
    """A read-only ``total`` x ``total`` identity, reused between calls (a fresh one is a
    large allocation that costs as much as a small Hessian's arithmetic)."""
    key = (total, np.dtype(dtype))
    e = _EYE_CACHE.get(key)
    if e is None:
        if len(_EYE_CACHE) > 8:
            _EYE_CACHE.clear()
        e = np.eye(total, dtype=dtype)
        e.flags.writeable = False
        _EYE_CACHE[key] = e
    return e


def _basis(refs: tuple) -> tuple[int, list]:
    """Total size N and, per ref, its columns of the N x N identity shaped (N,) + ref.shape."""
    sizes = [int(np.size(r._data)) for r in refs]
    total = int(sum(sizes))
    dtype = np.result_type(*[r._data.dtype for r in refs])
    eye = _eye(total, dtype)
    blocks, start = [], 0
    for r, n in zip(refs, sizes):
        block = eye[:, start:start + n]
        if block.dtype != r._data.dtype:
            block = block.astype(r._data.dtype)
        blocks.append(block.reshape((total,) + tuple(r.shape)))
        start += n
    return total, blocks


def _tangent_block(t: Any, start: int, n: int, out_shape: tuple, in_shape: tuple) -> Any:
    """Rows start..start+n of a batched tangent (B,) + out_shape, as out_shape + in_shape."""
    part = t[start:start + n].reshape((n, -1)).T
    return part.reshape(tuple(out_shape) + tuple(in_shape))


def _jac_reverse(func: Callable, ins: tuple, create_graph: bool, strict: bool,
                 vectorize: bool) -> tuple:
    """jac[i][j] = d out_i / d in_j of shape out_i.shape + in_j.shape, by VJPs."""
    out_tuple, outs = _call(func, ins, "jacobian")
    jac: list = []
    for i, o in enumerate(outs):
        m = o._data.size
        row = [None] * len(ins)
        if o._requires_grad and m > 0:
            if vectorize:
                seeds = _core.make_tensor(np.eye(m, dtype=o._data.dtype).reshape((m,) + o.shape))
                gs = _grad(o, ins, seeds, retain_graph=True, create_graph=create_graph,
                           allow_unused=True, is_grads_batched=True)
                row = [None if g is None else g.reshape(tuple(o.shape) + tuple(x.shape))
                       for g, x in zip(gs, ins)]
            else:
                parts: list = [[] for _ in ins]
                flat = o.reshape(-1)
                for k in range(m):
                    gs = _grad(flat[k], ins, retain_graph=True, create_graph=create_graph,
                               allow_unused=True)
                    for j, g in enumerate(gs):
                        parts[j].append(g)
                from .. import stack as _stack
                for j, x in enumerate(ins):
                    if all(g is None for g in parts[j]):
                        continue
                    filled = [g if g is not None else _core.make_tensor(np.zeros(x.shape, x._data.dtype))
                              for g in parts[j]]
                    row[j] = _stack(filled, 0).reshape(tuple(o.shape) + tuple(x.shape))
        for j, x in enumerate(ins):
            if row[j] is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                row[j] = _core.make_tensor(np.zeros(tuple(o.shape) + tuple(x.shape),
                                                    dtype=o._data.dtype))
        jac.append(tuple(_detach(tuple(row), create_graph)))
    return out_tuple, tuple(jac)


def _jac_forward(func: Callable, ins: tuple, create_graph: bool, strict: bool,
                 vectorize: bool) -> tuple:
    """jac[i][j] by JVPs: one batched pass (vectorize) or one pass per input element."""
    total, blocks = _basis(ins)
    if vectorize:
        with fwAD._batched_dual_level():
            duals = tuple(fwAD.make_dual(x if create_graph else x.detach(), e)
                          for x, e in zip(ins, blocks))
            out_tuple, outs = _call(func, duals, "jacobian")
            tans = [fwAD.unpack_dual(o).tangent for o in outs]
    else:
        per: list = []
        for k in range(total):
            with fwAD.dual_level():
                duals = tuple(fwAD.make_dual(x if create_graph else x.detach(), e[k])
                              for x, e in zip(ins, blocks))
                out_tuple, outs = _call(func, duals, "jacobian")
                per.append([fwAD.unpack_dual(o).tangent for o in outs])
        from .. import stack as _stack
        tans = []
        for i, o in enumerate(outs):
            col = [p[i] for p in per]
            if all(c is None for c in col):
                tans.append(None)
                continue
            tans.append(_stack([c if c is not None else
                                _core.make_tensor(np.zeros(o.shape, o._data.dtype)) for c in col], 0))
    jac = []
    for i, (o, t) in enumerate(zip(outs, tans)):
        row = []
        start = 0
        for j, x in enumerate(ins):
            n = x._data.size
            if t is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                blk = _core.make_tensor(np.zeros(tuple(o.shape) + tuple(x.shape), o._data.dtype))
            else:
                # t: (total,) + out.shape -> rows of input j, moved behind the output axes
                td = t._data if not t._requires_grad else t
                blk = _tangent_block(td, start, n, o.shape, x.shape)
                if not isinstance(blk, _core.TensorBase):
                    blk = _core.make_tensor(blk)
            row.append(blk)
            start += n
        jac.append(tuple(_detach(tuple(row), create_graph)))
    return out_tuple, tuple(jac)


def _shape_jacobian(in_tuple: bool, out_tuple: bool, jac: tuple) -> Any:
    if out_tuple:
        return tuple(row if in_tuple else row[0] for row in jac)
    return jac[0] if in_tuple else jac[0][0]


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``; entry ``[i][j]`` has shape out_i.shape + in_j.shape.

    A Tensor for a Tensor input and output, a tuple over inputs (or outputs)
    where one side is a tuple, a tuple of tuples (outputs outer) where both
    are. ``vectorize=True`` pushes all basis vectors through the graph in one
    pass; ``strategy="forward-mode"`` uses JVPs instead of VJPs (better when
    there are fewer inputs than outputs).

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import jacobian
    >>> jacobian(lambda x, y: x * y, (ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0])))[1]
    tensor([[1., 0.],
            [0., 2.]])
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", '
                         f'got {strategy!r}.')
    if strategy == "forward-mode" and create_graph:
        # as PyTorch: the forward-mode Jacobian is not differentiable again here
        raise NotImplementedError("jacobian: `strategy=\"forward-mode\"` "
                                  "does not support create_graph=True; use reverse-mode")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    if strategy == "forward-mode":
        out_tuple, jac = _jac_forward(func, tuple(x.detach() for x in ins), False, strict,
                                      vectorize)
    else:
        with enable_grad():
            prepared = _prepare_inputs(ins, create_graph)
            out_tuple, jac = _jac_reverse(func, prepared, create_graph, strict, vectorize)
    return _shape_jacobian(in_tuple, out_tuple, jac)


# -- hessian, hvp, vhp ---------------------------------------------------------------
def _scalar_output(func: Callable, fn: str) -> Callable:
    def wrapped(*xs: Any) -> Any:
        out_tuple, outs = _call(func, xs, fn)
        if out_tuple and len(outs) != 1:
            raise RuntimeError(f"The function given to {fn} should return a single Tensor")
        if outs[0]._data.size != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn} should "
                               f"contain a single element (got shape {tuple(outs[0].shape)})")
        return outs[0].reshape(())
    return wrapped


def _hessian_fwd_over_rev(func: Callable, ins: tuple, strict: bool) -> tuple:
    """All Hessian blocks in one pass: the gradient's tangents under the identity as tangents."""
    total, blocks = _basis(ins)
    with enable_grad(), fwAD._batched_dual_level():
        leaves = tuple(x.detach().requires_grad_() for x in ins)
        duals = tuple(fwAD.make_dual(x, e) for x, e in zip(leaves, blocks))
        y = func(*duals)
        if y._requires_grad:
            # the backward runs on Tensors under a dual level, so its results carry tangents
            gs = _grad(y, duals, allow_unused=True)
        else:
            gs = (None,) * len(ins)
        tans = [None if g is None else fwAD.unpack_dual(g).tangent for g in gs]
    rows = []
    for i, (xi, t) in enumerate(zip(ins, tans)):
        row, start = [], 0
        for j, xj in enumerate(ins):
            n = xj._data.size
            if t is None:
                if strict:
                    raise RuntimeError(f"The gradient with respect to input {i} is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                blk = _core.make_tensor(np.zeros(tuple(xi.shape) + tuple(xj.shape),
                                                 xi._data.dtype))
            else:
                # t[k] = d grad_i / d (basis direction k): H[i][j] = t[rows of j].T
                blk = _core.make_tensor(_tangent_block(t._data, start, n, xi.shape, xj.shape))
            row.append(blk)
            start += n
        rows.append(tuple(row))
    return tuple(rows)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``; entry ``[i][j]`` has shape in_i.shape + in_j.shape.

    A Tensor for a single input, a tuple of tuples for a tuple of inputs. The
    inner Jacobian (the gradient) is always reverse mode. Unless
    ``create_graph=True`` or ``vectorize=True`` with reverse mode is asked
    for, all of the Hessian comes from one forward-over-reverse pass (the
    gradient computed on dual inputs whose tangents are the identity), the
    fastest route; the result is the same for every strategy. A function
    using an op without a forward-mode rule falls back to reverse-over-reverse
    (unless ``outer_jacobian_strategy="forward-mode"``, which then raises).

    The NumPy arrays made during the call come from a small pool that keeps
    freed buffers of 64 KiB or more for the next call (at most 16 buffers and
    16 MiB in all, the oldest given back first; about 2.6 MB for a 200-input
    Hessian): a Hessian's n x n temporaries are then reused instead of being
    returned to the operating system and page-faulted in again by the next
    call, which would take longer than the arithmetic. Only the current thread
    (context) allocates through the pool, only during the call.

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), ad.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    if outer_jacobian_strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", '
                         f'got {outer_jacobian_strategy!r}.')
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    token = _kernels.pool_enter()
    try:
        return _hessian(_scalar_output(func, "hessian"), in_tuple, ins, create_graph, strict,
                        vectorize, outer_jacobian_strategy)
    finally:
        _kernels.pool_exit(token)


def _hessian(f: Callable, in_tuple: bool, ins: tuple, create_graph: bool, strict: bool,
             vectorize: bool, outer_jacobian_strategy: str) -> Any:
    if not create_graph and not (vectorize and outer_jacobian_strategy == "reverse-mode"):
        try:
            rows = _hessian_fwd_over_rev(f, tuple(x.detach() for x in ins), strict)
        except NotImplementedError:
            # an op (or custom Function) without a forward-mode rule: unless forward mode
            # was asked for by name, take the outer Jacobian in reverse mode instead
            if outer_jacobian_strategy == "forward-mode":
                raise
            vectorize = True
        else:
            return rows if in_tuple else rows[0][0]

    def gradient(*xs: Any) -> Any:
        gs = _grad(f(*xs), xs, create_graph=True, allow_unused=True)
        return tuple(_core.make_tensor(np.zeros(x.shape, x._data.dtype)) if g is None else g
                     for g, x in zip(gs, xs))

    res = jacobian(gradient, ins if in_tuple else ins[0], create_graph=create_graph,
                   strict=strict, vectorize=vectorize, strategy="reverse-mode")
    return res if in_tuple else res[0]


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), v^T H)`` for a scalar ``func``: two reverse passes.

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import vhp
    >>> vhp(lambda x: (x ** 3).sum(), ad.tensor([1.0, 2.0]), ad.tensor([1.0, 1.0]))[1]
    tensor([ 6., 12.])
    """
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "vhp")
        vs = _check_v(v, ins, "inputs", "vhp")
        ins = _prepare_inputs(ins, create_graph)
        out_tuple, outs = _call(func, ins, "vhp")
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError("The function given to vhp should return a single Tensor with "
                               "a single element")
        y = outs[0]
        if not y._requires_grad:
            gs = (None,) * len(ins)
        else:
            gs = _grad(y, ins, create_graph=True, allow_unused=True)
        pairs = [(g, v_) for g, v_ in zip(gs, vs) if g is not None and g._requires_grad]
        if pairs:
            res = _grad([g for g, _ in pairs], ins, [v_ for _, v_ in pairs],
                        create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(ins)
        res = _fill_unused(tuple(res), ins, strict, create_graph, "vhp")
    return _unwrap(out_tuple, _detach(outs, create_graph)), _unwrap(in_tuple, _detach(res, create_graph))


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), H v)`` for a scalar ``func``: one gradient on dual inputs (forward-over-reverse).

    Costs about one gradient evaluation; the Hessian is never formed.

    >>> import autodiff as ad
    >>> from autodiff.autograd.functional import hvp
    >>> hvp(lambda x: (x ** 3).sum(), ad.tensor([1.0, 2.0]), ad.tensor([1.0, 0.0]))[1]
    tensor([6., 0.])
    """
    in_tuple, ins = _as_tuple(inputs, "inputs", "hvp")
    vs = _check_v(v, ins, "inputs", "hvp")
    if create_graph:
        # H is symmetric: v^T H = (H v)^T, and the double-reverse route records itself
        return vhp(func, inputs, v, create_graph=True, strict=strict)
    with enable_grad(), fwAD.dual_level():
        leaves = tuple(x.detach().requires_grad_() for x in ins)
        duals = tuple(fwAD.make_dual(x, t.detach()) for x, t in zip(leaves, vs))
        out_tuple, outs = _call(func, duals, "hvp")
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError("The function given to hvp should return a single Tensor with "
                               "a single element")
        y = outs[0]
        gs = _grad(y, duals, allow_unused=True) if y._requires_grad else (
            (None,) * len(ins))
        res = tuple(None if g is None else fwAD.unpack_dual(g).tangent for g in gs)
        value = fwAD.unpack_dual(y).primal.detach()
    res = _fill_unused(res, ins, strict, False, "hvp")
    res = tuple(r.detach() for r in res)
    return _unwrap(out_tuple, (value,)), _unwrap(in_tuple, res)
