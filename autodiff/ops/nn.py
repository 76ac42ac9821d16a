"""Fused neural-network ops: one node each where a composite would be slower.

softmax's Jacobian diag(s) - s s^T is symmetric, so its JVP is its VJP with the
tangent in place of g (the ELEMENTWISE marker). ``axis`` is a negative int
(set by the public functions) so leading batch axes do not shift it.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from . import _fast
from ._registry import ELEMENTWISE, defop


def _shifted(x, axis):
    # subtracting the max keeps exp() <= 1; an all -inf row stays -inf without inf - inf.
    # (Forwards see raw arrays: methods skip NumPy's __array_function__ dispatch.)
    if x.size == 0:
        return x            # empty rows have no max (PyTorch's result is empty too)
    m = np.maximum.reduce(x, axis=axis, keepdims=True)   # ndarray.max wraps this in Python
    if not _fast.all_finite(m):
        m = np.where(np.isfinite(m), m, 0.0)
    return x - m


def _rows(x, axis):
    """Over the last axis of a C-contiguous float64 (n, c) array: the row max and the
    row sums go to C loops (NumPy's reductions along a short axis cost ~2-4 us each)."""
    return axis == -1 and _fast.rows_2d(x)


# .sum(axis=, keepdims=) is a method of both ndarrays and Tensors, and cheaper than np.sum
@defop(vjp={"x": lambda g, out, axis: out * (g - (g * out).sum(axis=axis, keepdims=True))},
       jvp=ELEMENTWISE, batch_ok=True, node_name="SoftmaxBackward0")
def softmax(x, axis=-1):
    if _rows(x, axis):      # the same bits (the row sums are NumPy's pairwise sums)
        return _fast.rows_divide_by_sum(np.exp(_fast.rows_minus_max(x)))
    e = np.exp(_shifted(x, axis))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_jvp(t_x, out, axis):
    return t_x - np.sum(np.exp(out) * t_x, axis=axis, keepdims=True)


@defop(vjp={"x": lambda g, out, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True)},
       jvp=_log_softmax_jvp, batch_ok=True, node_name="LogSoftmaxBackward0")
def log_softmax(x, axis=-1):
    if _rows(x, axis):      # (the log is libm's: within an ulp of NumPy's)
        z = _fast.rows_minus_max(x)
        return _fast.rows_log_softmax_finish(z, np.exp(z))
    z = _shifted(x, axis)
    if z.size == 0:
        return z            # (the log of an empty row's sum, 0, would warn)
    lse = np.log(np.add.reduce(np.exp(z), axis=axis, keepdims=True))
    if type(z) is np.ndarray and z.dtype == lse.dtype:
        return np.subtract(z, lse, out=z)     # z is a fresh array: no second one
    return z - lse


# PyTorch clamps each log at -100 so that a probability of exactly 0 or 1 gives a finite
# loss, and divides the gradient by max(p (1 - p), 1e-12) for the same reason.
_LOG_FLOOR = -100.0
_EPS = 1e-12


def _bce_grad_p(g, p, y):
    return g * (p - y) / np.maximum(p * (1 - p), _EPS)


def _bce_grad_y(g, p):
    return g * (np.maximum(np.log1p(-p), _LOG_FLOOR) - np.maximum(np.log(p), _LOG_FLOOR))


@defop(vjp={"p": _bce_grad_p, "y": _bce_grad_y}, jvp=ELEMENTWISE, batch_ok=True,
       node_name="BinaryCrossEntropyBackward0")
def binary_cross_entropy(p, y):
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(p), _LOG_FLOOR)
        lq = np.maximum(np.log1p(-p), _LOG_FLOOR)
    return -(y * lp + (1 - y) * lq)


# Negative log-likelihood of class indices, mean or sum over a batch of rows: one node
# instead of the one-hot product, sum and division that the general path records.
def _picked_onehot(target, shape, dtype):
    onehot = np.zeros(shape, dtype=dtype)
    onehot[np.arange(shape[0]), target] = 1.0
    return onehot


def _nll_scale(n, mean):
    return -1.0 / n if mean else -1.0


def _nll_grad(g, logp_shape, logp_dtype, target, mean):
    # -1 (or -1/n) at each row's target entry, 0 elsewhere; g may carry a batch axis
    onehot = _picked_onehot(target, logp_shape, logp_dtype)
    return onehot * (g * _nll_scale(logp_shape[0], mean))[..., None, None]


def _nll_jvp(t_logp, logp_shape, logp_dtype, target, mean):
    onehot = _picked_onehot(target, logp_shape, logp_dtype)
    return (t_logp * onehot).sum(axis=(-2, -1)) * _nll_scale(logp_shape[0], mean)


@defop(vjp={"logp": _nll_grad}, jvp=_nll_jvp, batch_ok=True, node_name="NllLossBackward0")
def nll_rows(logp, target, mean):
    picked = logp[np.arange(logp.shape[0]), target]
    return picked.sum() * _nll_scale(logp.shape[0], mean)


# Cross-entropy of logits with class indices, over the rows of a 2-d input: one node whose
# gradient goes straight to the logits, (softmax(x) - onehot(target)) * g (scaled by 1/n
# for the mean), instead of an NLL node followed by a log-softmax node. The caller passes
# ``logp``, the recorded log_softmax(x): the node saves it, as PyTorch's LogSoftmaxBackward0
# saves its output (so x itself is not saved, and x may be changed in place afterwards).
# On a recorded backward exp(logp) is differentiated through logp's own node.
_ROW_OFFSETS: dict = {}


def _flat_index(target, n, c):
    """Positions of ``x[i, target[i]]`` in the flattened (n, c) array."""
    offsets = _ROW_OFFSETS.get((n, c))
    if offsets is None:
        if len(_ROW_OFFSETS) > 64:
            _ROW_OFFSETS.clear()
        offsets = np.arange(0, n * c, c)
        offsets.flags.writeable = False
        _ROW_OFFSETS[(n, c)] = offsets
    return target + offsets


def _ce_grad(g, logp, target, reduction):
    n, c = logp.shape
    if reduction == "mean":
        g = g / n
    if isinstance(logp, _core.TensorBase) or isinstance(g, _core.TensorBase):
        # recorded backward: differentiable ops only (nothing in place)
        d = np.exp(logp) - _picked_onehot(target, (n, c), logp.dtype)
        return d * (g[..., None] if reduction == "none" else g[..., None, None])
    if reduction != "none" and (type(g) is not np.ndarray or g.ndim == 0):
        # one scale for every row (the usual loss.backward()): exp(logp) g - onehot g,
        # in place, in the order PyTorch's log-softmax backward rounds it
        d = np.exp(logp, order="C")                     # C order: flat is a view
        d *= g
        if _fast.rows_usable(d, target):
            _fast.rows_subtract_at(d, target, g)
            return d
        flat = d.reshape(-1)
        idx = _flat_index(target, n, c)
        flat[idx] = flat[idx] - g
        return d
    d = np.exp(logp)
    gt = g if reduction == "none" else g[..., None]     # per row: (..., n) or (..., 1)
    if gt.ndim == 1:
        d *= gt[:, None]
    else:                                               # leading batch axes on g
        d = d * gt[..., None]
    d = np.ascontiguousarray(d)       # (logp may be a transposed layout): flat is a view
    flat = d.reshape(d.shape[:-2] + (n * c,))
    flat[..., _flat_index(target, n, c)] -= gt
    return d


def _ce_jvp(t_x, logp, target, reduction):
    n, c = logp.shape
    d = (t_x * (np.exp(logp) - _picked_onehot(target, (n, c), logp.dtype))).sum(axis=-1)
    if reduction == "none":
        return d
    d = d.sum(axis=-1)
    return d / n if reduction == "mean" else d


@defop(vjp={"x": _ce_grad}, jvp=_ce_jvp, nondiff_inputs=("logp",), batch_ok=True,
       node_name="NllLossBackward0")
def cross_entropy_rows(x, logp, target, reduction):
    """Cross-entropy of the rows of ``x`` given ``logp = log_softmax(x, -1)`` (both (n, c))."""
    n, c = logp.shape
    if reduction != "none" and _fast.rows_usable(logp, target):
        loss = np.float64(-_fast.rows_pick_sum(logp, target))   # a NumPy scalar, as below
        return loss / n if reduction == "mean" else loss
    picked = logp.reshape(-1)[_flat_index(target, n, c)]
    if reduction == "none":
        return -picked
    loss = -np.add.reduce(picked)
    return loss / n if reduction == "mean" else loss
