"""``ad.nn.functional``: activations and losses with PyTorch's names and defaults.

Losses take ``reduction='mean' | 'sum' | 'none'``. Softmax, log-softmax and the
binary cross-entropy are fused ops (one graph node each, see ``autodiff.ops.nn``);
the others are compositions of autodiff ops, so every order of derivative works.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _api, _api_array, _core
from .._api import (gelu, leaky_relu, log_softmax, logsumexp, relu, sigmoid, softmax,
                    softplus, tanh)
from ..ops import _fast
from ..ops import elementwise as _elementwise
from ..ops import nn as _nn_ops

__all__ = [
    "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "logsumexp", "mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "linear", "dropout", "pad",
]


def _reduce(loss: Any, reduction: str, op: str) -> Any:
    if reduction == "mean":
        return _api.mean(loss)
    if reduction == "sum":
        return _api.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                     "(use 'mean', 'sum' or 'none')")


def _as_tensor(x: Any) -> Any:
    if isinstance(x, _core.TensorBase):
        return x
    return _core.make_tensor(np.asarray(x))


def _check_same_shape(op: str, input: Any, target: Any) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must match input shape "
                         f"{tuple(input.shape)}")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error ``(input - target)**2``, reduced.

    >>> import autodiff as ad
    >>> ad.nn.functional.mse_loss(ad.tensor([1.0, 3.0]), ad.tensor([1.0, 1.0]))
    tensor(2.)
    """
    target = _as_tensor(target)
    _check_same_shape("mse_loss", input, target)
    return _reduce(_api.square(_api.sub(input, target)), reduction, "mse_loss")


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean absolute error ``|input - target|``, reduced.

    >>> import autodiff as ad
    >>> ad.nn.functional.l1_loss(ad.tensor([1.0, 3.0]), ad.tensor([1.0, 1.0]))
    tensor(1.)
    """
    target = _as_tensor(target)
    _check_same_shape("l1_loss", input, target)
    return _reduce(_api.abs(_api.sub(input, target)), reduction, "l1_loss")


def _class_axis(x: Any) -> int:
    return 1 if x.ndim >= 2 else 0


def _index_target(op: str, input: Any, target: Any) -> np.ndarray:
    t = np.asarray(target._data if isinstance(target, _core.TensorBase) else target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, got dtype {t.dtype}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if t.shape != tuple(expected):
        raise ValueError(f"{op}: target of shape {t.shape} does not match input of shape "
                         f"{tuple(input.shape)} (expected target shape {tuple(expected)})")
    return t


def _weighted_nll(op: str, logp: Any, target: Any, weight: Any, ignore_index: int,
                  reduction: str, label_smoothing: float = 0.0) -> Any:
    """Negative log-likelihood of class indices from log-probabilities (class axis 1, or 0)."""
    t = _index_target(op, logp, target)
    ax = _class_axis(logp)
    n_classes = logp.shape[ax]
    valid = t != ignore_index
    safe_t = np.where(valid, t, 0)
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"{op}: target {int(t[bad].flat[0])} is out of bounds for "
                         f"{n_classes} classes")
    if (weight is None and not label_smoothing and logp.ndim == 2
            and reduction in ("mean", "sum") and bool(valid.all())):
        # the common case in one node (as PyTorch's NllLossBackward0)
        from ..ops.nn import nll_rows
        return nll_rows(logp, t, reduction == "mean")
    # one-hot along the class axis: picks log p[target] with a product and a sum
    shape = [1] * logp.ndim
    shape[ax] = n_classes
    onehot = (np.expand_dims(safe_t, ax) == np.arange(n_classes).reshape(shape)).astype(logp.dtype)
    valid = valid.astype(logp.dtype)
    w_cls = None if weight is None else _as_tensor(weight)
    if w_cls is not None:
        w_cls = _api_array.reshape(w_cls, tuple(shape))
    picked_w = onehot if w_cls is None else _api.mul(w_cls, onehot)
    sample_w = _api.sum(picked_w, dim=ax) * valid           # weight of each sample's class
    nll = _api.neg(_api.sum(_api.mul(logp, picked_w), dim=ax)) * valid
    if label_smoothing:
        smooth_w = 1.0 if w_cls is None else w_cls
        smooth = _api.neg(_api.sum(_api.mul(logp, smooth_w), dim=ax)) * valid
        nll = nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)
    if reduction == "mean":
        # PyTorch's weighted mean: divided by the total weight of the counted samples
        return _api.div(_api.sum(nll), _api.sum(sample_w))
    return _reduce(nll, reduction, op)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Any:
    """Negative log-likelihood of class indices, from log-probabilities (class axis 1).

    >>> import autodiff as ad
    >>> logp = ad.log(ad.tensor([[0.5, 0.5], [0.25, 0.75]]))
    >>> round(ad.nn.functional.nll_loss(logp, ad.tensor([0, 1])).item(), 6)
    0.490415
    """
    return _weighted_nll("nll_loss", input, target, weight, ignore_index, reduction)


_FUSED_REDUCTIONS = ("mean", "sum", "none")
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Any:
    """Cross-entropy of logits ``input`` (classes on axis 1, or 0 for one sample).

    ``target`` holds class indices (integers, shape of input without the class
    axis; ``ignore_index`` entries do not count) or class probabilities (floats,
    the input's shape). ``weight`` rescales each class; with index targets the
    mean divides by the summed weight of the counted samples, as PyTorch does.

    >>> import autodiff as ad
    >>> logits = ad.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> ad.nn.functional.cross_entropy(logits, ad.tensor([0, 1])).item() == float(ad.log(ad.tensor(2.0)))
    True
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class axis (got a 0-d tensor)")
    t = target._data if isinstance(target, _core.TensorBase) else np.asarray(target)
    if (t.dtype.kind in "iu" and weight is None and not label_smoothing and input.ndim == 2
            and t.ndim == 1 and isinstance(input, _core.TensorBase)
            and input._data.dtype.kind == "f" and reduction in _FUSED_REDUCTIONS):
        # the common case in one node, with a few whole-array checks on the targets
        n_rows, n_classes = input._data.shape
        if t.shape[0] == n_rows and n_rows:
            if _fast.rows_usable(input._data, t):       # int64 targets: one C loop
                in_range = _fast.targets_in_range(t, n_classes)
            else:
                # one reduction bounds the targets: seen as unsigned, a negative one is
                # huge (np.maximum.reduce: ndarray.max wraps it in a Python function)
                in_range = np.maximum.reduce(
                    t.view(_UNSIGNED[t.itemsize]) if t.dtype.kind == "i" else t) < n_classes
            if (in_range
                    and not (0 <= ignore_index < n_classes and (t == ignore_index).any())):
                return _nn_ops.cross_entropy_rows(input, _nn_ops.log_softmax(input, -1), t,
                                                  reduction)
    ax = _class_axis(input)
    logp = log_softmax(input, dim=ax)
    if t.dtype.kind in "iu":
        return _weighted_nll("cross_entropy", logp, target, weight, ignore_index, reduction,
                             label_smoothing)
    # class probabilities
    target = _as_tensor(target)
    _check_same_shape("cross_entropy", input, target)
    n_classes = input.shape[ax]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = _api.mul(logp, target)
    if weight is not None:
        shape = [1] * input.ndim
        shape[ax] = n_classes
        terms = _api.mul(terms, _api_array.reshape(_as_tensor(weight), tuple(shape)))
    loss = _api.neg(_api.sum(terms, dim=ax))
    return _reduce(loss, reduction, "cross_entropy")


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Any:
    """-(y log p + (1 - y) log(1 - p)) of probabilities ``input``; logs floored at -100.

    >>> import autodiff as ad
    >>> ad.nn.functional.binary_cross_entropy(ad.tensor([0.5]), ad.tensor([1.0])).item() == float(ad.log(ad.tensor(2.0)))
    True
    """
    target = _as_tensor(target)
    _check_same_shape("binary_cross_entropy", input, target)
    loss = _nn_ops.binary_cross_entropy(input, target)
    if weight is not None:
        loss = _api.mul(loss, weight)
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Any:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    ``pos_weight`` multiplies the loss of the positive class (broadcast over the
    last axis, one entry per class).

    >>> import autodiff as ad
    >>> f = ad.nn.functional.binary_cross_entropy_with_logits
    >>> f(ad.tensor([0.0]), ad.tensor([1.0])).item() == float(ad.log(ad.tensor(2.0)))
    True
    """
    target = _as_tensor(target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    # -log sigmoid(x) = softplus(-x) exactly (no threshold): the loss is
    # (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)
    log_sig_neg = _elementwise.softplus(_api.neg(input), 1.0, np.inf)
    if pos_weight is not None:
        log_sig_neg = _api.mul(log_sig_neg, _api.add(_api.mul(_api.sub(pos_weight, 1), target), 1))
    loss = _api.add(_api.mul(_api.sub(1, target), input), log_sig_neg)
    if weight is not None:
        loss = _api.mul(loss, weight)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias`` (weight of shape (out_features, in_features)).

    >>> import autodiff as ad
    >>> ad.nn.functional.linear(ad.ones((2, 3)), ad.ones((4, 3)), ad.zeros(4)).shape
    (2, 4)
    """
    if weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)} (expected input.shape[-1] == "
                         f"weight.shape[1])")
    out = _api.matmul(input, _api_array.transpose(weight, 0, 1))
    return out if bias is None else _api.add(out, bias)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only).

    Uses autodiff's random generator, so ``ad.manual_seed`` makes it reproducible.

    >>> import autodiff as ad
    >>> x = ad.ones(4)
    >>> ad.nn.functional.dropout(x, 0.5, training=False) is x
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from .. import creation
    shape = tuple(input.shape)
    if p == 1.0:
        mask = np.zeros(shape, dtype=input.dtype)
    else:
        mask = (creation._rng.random(shape) >= p).astype(input.dtype) / np.asarray(1 - p, input.dtype)
    out = _api.mul(input, mask)
    if inplace:
        from ..tensor import apply_inplace
        return apply_inplace(input, out, "dropout_")
    return out


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Any:
    """Pad with (before, after) pairs from the last dimension back (PyTorch's ``F.pad``).

    >>> import autodiff as ad
    >>> ad.nn.functional.pad(ad.ones(2), (1, 2))
    tensor([0., 1., 1., 0., 0.])
    """
    from .. import _api_array
    return _api_array.pad(input, pad, mode, value)
