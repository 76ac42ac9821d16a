"""Function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd``, ``hessian``, ``vmap``.

Each takes a function of Tensors and returns a function (or values); they
compose, e.g. ``jacfwd(jacrev(f))`` is the Hessian.

>>> import autodiff as ad
>>> from autodiff import func
>>> func.grad(lambda x: (x ** 3).sum())(ad.tensor([1.0, 2.0]))
tensor([ 3., 12.])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _core
from ..autograd import forward_ad as fwAD
from ..autograd.engine import grad as _autograd_grad
from ..autograd.functional import _basis, _tangent_block
from ..autograd.grad_mode import enable_grad
from ..ops.shape import alias

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap"]


def _argnums_tuple(argnums: Any, n: int) -> tuple[int, ...]:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _diff_input(x: Any) -> Any:
    """A tensor to differentiate with respect to that still depends on ``x`` (for nesting)."""
    if not isinstance(x, _core.TensorBase):
        raise TypeError(f"expected a Tensor to differentiate with respect to, got {type(x)}")
    if x._requires_grad or (x._fw_tangent is not None and _core.thread_state().fw_level):
        # an outer transform is watching x: keep the connection (the alias carries x's tangent)
        d = alias(x)
        if not d._requires_grad:
            d = _fresh_leaf_with_tangent(x)
        return d
    return x.detach().requires_grad_()


def _fresh_leaf_with_tangent(x: Any) -> Any:
    leaf = x.detach().requires_grad_()
    d = alias(leaf)
    d._fw_tangent = x._fw_tangent
    return d


def _outer_active(args: tuple) -> bool:
    """True when an outer reverse-mode transform differentiates through this call.

    Then the backward is recorded (create_graph). An outer forward-mode
    transform needs no recording: under a dual level the backward runs on
    Tensors and its results carry tangents anyway.
    """
    return any(isinstance(a, _core.TensorBase) and a._requires_grad for a in args)


def _keep(args: tuple) -> bool:
    """True when results must stay attached (recorded, or carrying an outer tangent)."""
    return _outer_active(args) or (_core.thread_state().fw_level != 0 and any(
        isinstance(a, _core.TensorBase) and a._fw_tangent is not None for a in args))


def _zeros_like(x: Any) -> Any:
    return _core.make_tensor(np.zeros(x.shape, dtype=x._data.dtype))


def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning ``(gradient, value)`` (``(gradient, (value, aux))`` with ``has_aux``).

    >>> import autodiff as ad
    >>> from autodiff.func import grad_and_value
    >>> grad_and_value(lambda x: (x ** 2).sum())(ad.tensor([1.0, 2.0]))
    (tensor([2., 4.]), tensor(5.))
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        create, keep = _outer_active(args), _keep(args)
        with enable_grad():
            args = list(args)
            for a in nums:
                args[a] = _diff_input(args[a])
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be "
                                       "a tuple: (output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, _core.TensorBase):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out._data.size != 1 or np.ndim(out._data) != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {np.ndim(out._data)} dims. "
                                   "Maybe you wanted to use the vjp or jacrev APIs instead?")
            ins = [args[a] for a in nums]
            if out._requires_grad:
                gs = _autograd_grad(out, ins, create_graph=create, allow_unused=True)
            else:
                gs = (None,) * len(ins)
            gs = tuple(_zeros_like(x) if g is None else g for g, x in zip(gs, ins))
        if not keep:
            gs = tuple(g.detach() for g in gs)
            out = out.detach()
        g = gs if isinstance(argnums, tuple) else gs[0]
        return (g, (out, aux)) if has_aux else (g, out)
    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar ``func`` w.r.t. argument(s) ``argnums``.

    >>> import autodiff as ad
    >>> from autodiff.func import grad
    >>> grad(grad(lambda x: x ** 3))(ad.tensor(2.0))
    tensor(12.)
    """
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(output, vjp_fn)``; ``vjp_fn(cotangents)`` gives a tuple, one gradient per primal.

    >>> import autodiff as ad
    >>> from autodiff.func import vjp
    >>> out, vjp_fn = vjp(ad.sin, ad.tensor([0.0, 1.0]))
    >>> vjp_fn(ad.ones(2))
    (tensor([1.        , 0.54030231]),)
    """
    create = _outer_active(primals)
    with enable_grad():
        ins = tuple(_diff_input(p) for p in primals)
        out = func(*ins)
        aux = None
        if has_aux:
            out, aux = out
    outs = out if isinstance(out, tuple) else (out,)

    def vjp_fn(cotangents: Any, *, retain_graph: bool = True, create_graph: bool | None = None) -> tuple:
        cts = cotangents if isinstance(cotangents, tuple) else (cotangents,)
        if len(cts) != len(outs):
            raise RuntimeError(f"Expected {len(outs)} cotangents (one per output), got {len(cts)}")
        for o, c in zip(outs, cts):
            if tuple(np.shape(c)) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: cotangent has shape {tuple(np.shape(c))} "
                                   f"and output has shape {tuple(o.shape)}")
        cg = create or _outer_active(cts) if create_graph is None else create_graph
        with enable_grad():
            pairs = [(o, c) for o, c in zip(outs, cts) if o._requires_grad]
            if pairs:
                gs = _autograd_grad([o for o, _ in pairs], ins, [c for _, c in pairs],
                                    retain_graph=retain_graph, create_graph=cg, allow_unused=True)
            else:
                gs = (None,) * len(ins)
        gs = tuple(_zeros_like(x) if g is None else g for g, x in zip(gs, ins))
        return gs if cg else tuple(g.detach() for g in gs)

    result = out if create else (tuple(o.detach() for o in outs) if isinstance(out, tuple)
                                 else out.detach())
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """``(func(*primals), J @ tangents)`` in forward mode; ``primals``/``tangents`` are tuples.

    >>> import autodiff as ad
    >>> from autodiff.func import jvp
    >>> jvp(ad.sin, (ad.tensor(0.0),), (ad.tensor(2.0),))
    (tensor(0.), tensor(2.))
    """
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be "
                           "tuples, e.g. jvp(f, (x,), (t,))")
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have "
                           f"the same length, got {len(primals)} and {len(tangents)}")
    nested = _core.thread_state().fw_level != 0
    if nested:
        raise NotImplementedError("func.jvp inside another forward-mode transform (jvp, "
                                  "jacfwd, hessian) is not supported yet; use jacrev for one "
                                  "of the levels")
    with fwAD.dual_level():
        duals = tuple(fwAD.make_dual(p, t) for p, t in zip(primals, tangents))
        out = func(*duals)
        aux = None
        if has_aux:
            out, aux = out
        outs = out if isinstance(out, tuple) else (out,)
        unpacked = [fwAD.unpack_dual(o) for o in outs]
    prims = tuple(u.primal for u in unpacked)
    tans = tuple(_zeros_like(o) if u.tangent is None else u.tangent
                 for u, o in zip(unpacked, outs))
    if isinstance(out, tuple):
        res = (prims, tans)
    else:
        res = (prims[0], tans[0])
    return res + (aux,) if has_aux else res


def _structure(outs_tuple: bool, argnums: Any, per_out: list) -> Any:
    rows = [tuple(r) if isinstance(argnums, tuple) else r[0] for r in per_out]
    return tuple(rows) if outs_tuple else rows[0]


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """A function returning the Jacobian by reverse mode, all rows in one batched backward.

    Entry shape is out.shape + in.shape; tuples over outputs (outer) and over
    ``argnums`` (inner) where those are tuples.

    >>> import autodiff as ad
    >>> from autodiff.func import jacrev
    >>> jacrev(lambda x: x ** 2)(ad.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    def wrapper(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args))
        create, keep = _outer_active(args), _keep(args)
        with enable_grad():
            args = list(args)
            for a in nums:
                args[a] = _diff_input(args[a])
            out = func(*args)
            aux = None
            if has_aux:
                out, aux = out
            outs = out if isinstance(out, tuple) else (out,)
            ins = [args[a] for a in nums]
            per_out = []
            for o in outs:
                m = o._data.size
                if o._requires_grad and m > 0:
                    if m == 1:
                        gs = _autograd_grad(o, ins, _core.make_tensor(np.ones(o.shape, o._data.dtype)),
                                            retain_graph=True, create_graph=create,
                                            allow_unused=True)
                        gs = tuple(None if g is None else g.reshape(tuple(o.shape) + tuple(x.shape))
                                   for g, x in zip(gs, ins))
                    else:
                        seeds = _core.make_tensor(np.eye(m, dtype=o._data.dtype).reshape(
                            (m,) + tuple(o.shape)))
                        gs = _autograd_grad(o, ins, seeds, retain_graph=True, create_graph=create,
                                            allow_unused=True, is_grads_batched=True)
                        gs = tuple(None if g is None else g.reshape(tuple(o.shape) + tuple(x.shape))
                                   for g, x in zip(gs, ins))
                else:
                    gs = (None,) * len(ins)
                row = [(_core.make_tensor(np.zeros(tuple(o.shape) + tuple(x.shape),
                                                   o._data.dtype)) if g is None else g)
                       for g, x in zip(gs, ins)]
                if not keep:
                    row = [g.detach() for g in row]
                per_out.append(row)
        res = _structure(isinstance(out, tuple), argnums, per_out)
        return (res, aux) if has_aux else res
    return wrapper


def jacfwd(func: Callable, argnums: Any = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """A function returning the Jacobian by forward mode: all columns in one batched pass.

    Same structure as ``jacrev``.

    >>> import autodiff as ad
    >>> from autodiff.func import jacfwd
    >>> jacfwd(lambda x: x ** 2)(ad.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    def wrapper(*args: Any) -> Any:
        if _core.thread_state().fw_level != 0:
            raise NotImplementedError("jacfwd inside another forward-mode transform (jvp, "
                                      "jacfwd, hessian) is not supported yet; use jacrev for "
                                      "the inner level, e.g. jacfwd(jacrev(f))")
        nums = _argnums_tuple(argnums, len(args))
        ins = [args[a] for a in nums]
        for x in ins:
            if not isinstance(x, _core.TensorBase):
                raise TypeError(f"jacfwd: expected Tensor arguments, got {type(x)}")
        sizes = [int(np.size(x._data)) for x in ins]
        total, blocks = _basis(ins)
        with fwAD._batched_dual_level():
            args = list(args)
            for a, x, e in zip(nums, ins, blocks):
                args[a] = fwAD.make_dual(x, e)
            out = func(*args)
            aux = None
            if has_aux:
                out, aux = out
            outs = out if isinstance(out, tuple) else (out,)
            tans = [fwAD.unpack_dual(o).tangent for o in outs]
        per_out = []
        for o, t in zip(outs, tans):
            row, start = [], 0
            for x, n in zip(ins, sizes):
                if t is None:
                    blk = _core.make_tensor(np.zeros(tuple(o.shape) + tuple(x.shape),
                                                     o._data.dtype))
                else:
                    td = t._data if not t._requires_grad else t
                    blk = _tangent_block(td, start, n, o.shape, x.shape)
                    if not isinstance(blk, _core.TensorBase):
                        blk = _core.make_tensor(blk)
                row.append(blk)
                start += n
            per_out.append(row)
        res = _structure(isinstance(out, tuple), argnums, per_out)
        return (res, aux) if has_aux else res
    return wrapper


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """A function returning the Hessian of scalar ``func``: ``jacfwd(jacrev(func))``.

    >>> import autodiff as ad
    >>> from autodiff.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(ad.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Map ``func`` over an axis of its inputs (``in_dims``), stacking results along ``out_dims``.

    Runs ``func`` once per batch element and stacks (differentiable); an
    ``in_dims`` entry of None passes that argument unbatched.

    >>> import autodiff as ad
    >>> from autodiff.func import vmap
    >>> vmap(lambda x: (x * x).sum())(ad.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([ 5., 25.])
    """
    from .. import stack as _stack

    def wrapper(*args: Any) -> Any:
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries but the function got "
                             f"{len(args)} positional arguments")
        sizes = {np.shape(a)[d] for a, d in zip(args, dims) if d is not None}
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped over (in_dims not all None)")
        if len(sizes) != 1:
            raise ValueError(f"vmap: mapped axes have different sizes {sorted(sizes)}")
        (nb,) = sizes
        results = []
        for b in range(nb):
            sl = []
            for a, d in zip(args, dims):
                if d is None:
                    sl.append(a)
                else:
                    idx = (slice(None),) * (d % np.ndim(a)) + (b,)
                    sl.append(a[idx])
            results.append(func(*sl))
        first = results[0]
        if isinstance(first, tuple):
            od = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
            return tuple(_stack([r[k] for r in results], od[k]) for k in range(len(first)))
        return _stack(results, out_dims)
    return wrapper
