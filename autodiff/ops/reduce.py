"""Reductions. Axes are handled as negative numbers so leading batch axes are safe.

Most reductions here have a Jacobian of the form "an input-shaped partial
derivative P, summed over the reduced axes": the VJP is ``expand(g) * P`` and
the JVP is ``sum(P * t)``. ``_partial_reduction`` declares such an op from its
forward and P, so the two rules cannot drift.
"""
from __future__ import annotations

import numpy as np

from ._registry import LINEAR, defop
from ._util import expand_reduced, neg_axis, normalize_axes, reduced_count


def _over_dims(name):
    # PyTorch: SumBackward0 for a full reduction, SumBackward1 over given dims
    return lambda raw, params: None if params[0] is None else name


@defop(vjp={"x": lambda g, x_shape, axis, keepdims: expand_reduced(g, x_shape, axis, keepdims)},
       jvp=LINEAR, batch_ok=True, node_names=_over_dims("SumBackward1"))
def sum(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:
        # what np.sum does, without its Python layers (~2 us on small arrays)
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


@defop(vjp={"x": lambda g, x_shape, axis, keepdims:
            expand_reduced(g, x_shape, axis, keepdims) / reduced_count(x_shape, axis)},
       jvp=LINEAR, batch_ok=True, node_names=_over_dims("MeanBackward1"))
def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)


def keep_axes(r, ndim: int, axis, keepdims: bool):
    """A reduction's result with its reduced axes restored as length one."""
    if keepdims or ndim == 0:
        return r
    return np.expand_dims(r, normalize_axes(axis, ndim))


def _partial_reduction(partial, **kw):
    """Declare a reduction whose derivative is ``partial(x, out_kept, axis, *params)`` (x-shaped).

    A partial without an ``out`` parameter (``partial(x, axis, *params)``) keeps the node
    from saving the result, so an in-place op on it does not break backward (PyTorch
    saves the same).
    """
    import inspect
    uses_out = "out" in inspect.signature(partial).parameters

    def p_of(x, out, axis, keepdims, params):
        if not uses_out:
            return partial(x, axis, *params)
        return partial(x, keep_axes(out, np.ndim(x), axis, keepdims), axis, *params)

    def vjp(g, x, out, axis, keepdims, *params):
        return expand_reduced(g, np.shape(x), axis, keepdims) * p_of(x, out, axis, keepdims, params)

    def jvp(t_x, x, out, axis, keepdims, *params):
        return np.sum(p_of(x, out, axis, keepdims, params) * t_x, axis=axis, keepdims=keepdims)

    def decorate(fn):
        extra = list(inspect.signature(fn).parameters)[3:]
        # rules name the op's extra parameters, so the registry hands them over
        out = ["out"] if uses_out else []
        args = ", ".join(["x"] + out + ["axis", "keepdims"] + extra)
        call = ", ".join(["x", "out" if uses_out else "None", "axis", "keepdims"] + extra)
        ns = {"_v": vjp, "_j": jvp}
        exec(f"def v(g, {args}): return _v(g, {call})\n"
             f"def j(t_x, {args}): return _j(t_x, {call})\n", ns)
        return defop(vjp={"x": ns["v"]}, jvp=ns["j"], batch_ok=True, **kw)(fn)
    return decorate


# -- prod ---------------------------------------------------------------------------
def _prod_others(x, axis):
    """For each element, the product of the others in its reduction group (kept dims).

    Written without dividing by zero. A zero-valued factor that still carries the
    gradient (``zero_value``: the sum of the group's zeros) is kept in each product,
    so second derivatives are right with one or two zeros in a group (with three
    or more they are all 0, which is also right).
    """
    if isinstance(x, np.ndarray) and not (x == 0).any():
        return np.prod(x, axis=axis, keepdims=True) / x
    is_zero = x == 0
    safe = np.where(is_zero, 1.0, x)
    p_safe = np.prod(safe, axis=axis, keepdims=True)
    n_zero = np.sum(is_zero, axis=axis, keepdims=True)
    zero_value = np.sum(np.where(is_zero, x, 0.0), axis=axis, keepdims=True)
    one_zero = np.where(is_zero, p_safe, p_safe / safe * zero_value)
    two_zeros = np.where(is_zero, p_safe * (zero_value - x), 0.0)
    return np.where(n_zero == 0, p_safe / safe,
                    np.where(n_zero == 1, one_zero, np.where(n_zero == 2, two_zeros, 0.0)))


def _prod_grad(g, x, x_shape, axis, keepdims):
    return expand_reduced(g, x_shape, axis, keepdims) * _prod_others(x, axis)


def _prod_jvp(t_x, x, axis, keepdims):
    return np.sum(_prod_others(x, axis) * t_x, axis=axis, keepdims=keepdims)


@defop(vjp={"x": _prod_grad}, jvp=_prod_jvp, batch_ok=True,
       node_names=_over_dims("ProdBackward1"))
def prod(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


# -- amax, amin: at ties the gradient is split evenly (PyTorch's amax/amin, max()) ----
def _extremum_partial(x, out, axis):
    hit = x == out
    return hit / np.sum(hit, axis=axis, keepdims=True)


@_partial_reduction(_extremum_partial)
def amax(x, axis=None, keepdims=False):
    return np.amax(x, axis=axis, keepdims=keepdims)


@_partial_reduction(_extremum_partial)
def amin(x, axis=None, keepdims=False):
    return np.amin(x, axis=axis, keepdims=keepdims)


# -- max/min along one axis with indices: the gradient goes to the selected index only --
# The indices (argmax/argmin, computed by the caller) are an input without a gradient:
# the node saves them and the input's shape, not the input, as PyTorch's MaxBackward0.
# A 0-d tensor has one element along its dim 0 (PyTorch's rule): it is its own value.
def _picked(indices, x_shape, axis, keepdims):
    """x-shaped (by broadcasting) bool: True where ``indices`` picks along ``axis``."""
    if not x_shape:
        return indices == 0
    ax = neg_axis(axis, len(x_shape))
    if not keepdims:
        indices = np.expand_dims(indices, ax)
    n = x_shape[ax]
    return np.arange(n).reshape((n,) + (1,) * (-ax - 1)) == indices


def _reduced_axes(x_shape, axis):
    return neg_axis(axis, len(x_shape)) if x_shape else ()


def _value_at_grad(g, indices, x_shape, axis, keepdims):
    return np.where(_picked(indices, x_shape, axis, keepdims),
                    expand_reduced(g, x_shape, _reduced_axes(x_shape, axis), keepdims), 0.0)


def _value_at_jvp(t_x, indices, x_shape, axis, keepdims):
    return np.sum(np.where(_picked(indices, x_shape, axis, keepdims), t_x, 0.0),
                  axis=_reduced_axes(x_shape, axis), keepdims=keepdims)


def _value_at(name, node_name):
    def forward(x, indices, axis, keepdims=False):
        if np.ndim(x) == 0:
            return np.positive(x)
        kept = indices if keepdims else np.expand_dims(indices, axis)
        values = np.take_along_axis(x, kept, axis=axis)
        return values if keepdims else np.squeeze(values, axis=axis)
    forward.__name__ = name
    forward.__doc__ = ("The values of ``x`` at ``indices`` (kept dims or not, as ``keepdims``) "
                       "along ``axis``.")
    return defop(vjp={"x": _value_at_grad}, jvp=_value_at_jvp, nondiff_inputs=("indices",),
                 batch_ok=True, node_name=node_name)(forward)


max_dim = _value_at("max_dim", "MaxBackward0")
min_dim = _value_at("min_dim", "MinBackward0")


# -- var, std -----------------------------------------------------------------------
# The forward's degrees of freedom are max(0, n - correction), as NumPy's and PyTorch's
# (inf or NaN at 0, with NumPy's warning). The gradients are PyTorch's, never an
# exception: 2 / (n - correction) * (x - mean), where over given dims a negative
# n - correction stays as it is (a finite gradient) and 0 gives inf * (x - mean); over
# all elements (no dim, or a 0-d input) n - correction <= 0 gives the constant inf,
# NaN where x is its mean (so no second derivative flows from it).
def _var_partial(x, axis, correction):
    dof = reduced_count(np.shape(x), axis) - correction
    centered = x - np.mean(x, axis=axis, keepdims=True)
    over_all = axis is None or np.ndim(x) == 0
    if dof > 0 or (dof < 0 and not over_all):
        return centered * (2.0 / dof)
    if over_all:
        return np.where(centered == 0, np.nan, np.inf)
    with np.errstate(invalid="ignore"):     # 0 * inf is the NaN PyTorch gives
        return centered * np.inf


@_partial_reduction(_var_partial)
def var(x, axis=None, keepdims=False, correction=1):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=correction)


def _std_partial(x, out, axis, correction):
    # d std = d var / (2 std), and 0 where std = 0 (every x - mean is 0 there), as PyTorch
    safe = np.where(out == 0, 1.0, out)
    with np.errstate(invalid="ignore"):
        return _var_partial(x, axis, correction) * np.where(out == 0, 0.0, 0.5 / safe)


@_partial_reduction(_std_partial)
def std(x, axis=None, keepdims=False, correction=1):
    return np.std(x, axis=axis, keepdims=keepdims, ddof=correction)


# -- norm ---------------------------------------------------------------------------
def _norm_forward(x, axis, keepdims, p):
    a = np.abs(x)
    if p == 2:
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    if p == np.inf:
        return np.amax(a, axis=axis, keepdims=keepdims)
    if p == -np.inf:
        return np.amin(a, axis=axis, keepdims=keepdims)
    if p == 1:
        return np.sum(a, axis=axis, keepdims=keepdims)
    if p == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdims).astype(np.result_type(x, np.float32))
    return np.sum(a ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _norm_partial(x, out, axis, p):
    # at a zero norm the gradient is 0, not NaN, as PyTorch does
    if p == 2:
        return x / np.where(out == 0, 1.0, out)
    if p == 1:
        return np.sign(x)
    if p == np.inf or p == -np.inf:
        return np.sign(x) * _extremum_partial(np.abs(x), out, axis)
    if p == 0:
        return x * 0.0
    a = np.abs(x)
    safe_a = np.where(a == 0, 1.0, a)
    safe_out = np.where(out == 0, 1.0, out)
    return np.where(a == 0, 0.0, np.sign(x) * (safe_a / safe_out) ** (p - 1))


@_partial_reduction(_norm_partial, node_name="LinalgVectorNormBackward0")
def norm(x, axis=None, keepdims=False, p=2):
    return _norm_forward(x, axis, keepdims, p)


# -- logsumexp ----------------------------------------------------------------------
def _logsumexp_forward(x, axis, keepdims):
    if np.size(x) == 0:
        # the log of a sum of no exponentials is log 0 = -inf, as PyTorch gives
        return np.amax(x, axis=axis, keepdims=keepdims, initial=-np.inf)
    m = np.amax(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or inf) groups: no inf - inf
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        s = np.squeeze(s, axis=normalize_axes(axis, np.ndim(x))) if np.ndim(x) else s
    return s


def _logsumexp_partial(x, out, axis):
    return np.exp(x - out)   # softmax over the reduced axes


@_partial_reduction(_logsumexp_partial)
def logsumexp(x, axis=None, keepdims=False):
    return _logsumexp_forward(x, axis, keepdims)


# -- cumulative -----------------------------------------------------------------------
def _neg_axis(axis, ndim):
    return axis - ndim if axis >= 0 else axis


def _flip(a, axis):
    """Reverse along a negative axis by slicing (differentiable on Tensors, batch-safe)."""
    return a[(Ellipsis, slice(None, None, -1)) + (slice(None),) * (-axis - 1)]


def _reverse_cumsum(a, axis):
    return _flip(np.cumsum(_flip(a, axis), axis=axis), axis)


# A 0-d tensor has one element along its dim 0 (PyTorch's rule): its cumulative sum and
# product are itself, 0-d, and the gradient passes through.
def _cumsum_grad(g, x_shape, axis):
    if not x_shape:
        return g
    return _reverse_cumsum(g, _neg_axis(axis, len(x_shape)))


@defop(vjp={"x": _cumsum_grad}, jvp=LINEAR, batch_ok=True)
def cumsum(x, axis):
    if np.ndim(x) == 0:
        return np.positive(x)
    return np.cumsum(x, axis=axis)


def _cumprod_masks(x, axis):
    """(before the first zero, at the first zero, between the first and second zero)."""
    is_zero = x == 0
    n_seen = np.cumsum(is_zero, axis=axis)
    before = n_seen == 0
    first = np.logical_and(is_zero, n_seen == 1)
    middle = np.logical_and(np.logical_not(is_zero), n_seen == 1)
    return before, first, middle


def _single(x, axis):
    """One element along ``axis`` (a 0-d x counts as one along dim 0): cumprod is x itself,
    and its gradient g, as PyTorch's (which then does not read x or the output)."""
    return np.ndim(x) == 0 or np.shape(x)[axis] == 1


# out_j = prod_{k<=j} x_k. The partial of out_j by x_i (i <= j) is out_j / x_i before the
# first zero z of the row; at z it is out1_j, the cumulative product with x_z replaced by
# one; after z it is x_z * out1_j / x_i (zero, but kept as a product with x_z so second
# derivatives are right). Written without dividing by zero. First derivatives are exact
# with any zeros; second derivatives with up to one zero per row.
def _cumprod_grad(g, x, out, axis):
    if _single(x, axis):
        return g
    a = _neg_axis(axis, np.ndim(x))
    if isinstance(x, np.ndarray) and not (x == 0).any():
        return _reverse_cumsum(g * out, a) / x
    before, first, middle = _cumprod_masks(x, a)
    out1 = np.cumprod(np.where(first, 1.0, x), axis=a)
    at_first = _reverse_cumsum(g * out1, a)
    zero_value = np.sum(np.where(first, x, 0.0), axis=a, keepdims=True)
    return np.where(before, _reverse_cumsum(g * out, a) / np.where(before, x, 1.0),
                    np.where(first, at_first,
                             np.where(middle, at_first * zero_value / np.where(middle, x, 1.0),
                                      0.0)))


def _cumprod_jvp(t_x, x, out, axis):
    if _single(x, axis):
        return t_x
    a = _neg_axis(axis, np.ndim(x))
    if isinstance(x, np.ndarray) and not (x == 0).any():
        return out * np.cumsum(t_x / x, axis=a)
    before, first, _ = _cumprod_masks(x, a)
    out1 = np.cumprod(np.where(first, 1.0, x), axis=a)
    divisor = np.where(before, x, 1.0)
    t_first = np.sum(np.where(first, t_x, 0.0), axis=a, keepdims=True)
    return (out * np.cumsum(np.where(before, t_x / divisor, 0.0), axis=a)
            + np.where(before, 0.0, out1 * t_first))


@defop(vjp={"x": _cumprod_grad}, jvp=_cumprod_jvp, batch_ok=True)
def cumprod(x, axis):
    if np.ndim(x) == 0:
        return np.positive(x)
    return np.cumprod(x, axis=axis)
