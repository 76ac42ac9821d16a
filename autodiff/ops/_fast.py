"""Compiled kernels where they pay, NumPy everywhere else.

``sin``/``cos``, ``tanh`` (on CPUs with AVX-512 only) and the fused VJPs
``sin_backward`` (g * cos x), ``cos_backward`` (-g * sin x), ``tanh_backward``
(g * (1 - y**2), from tanh's output y) and ``relu_backward`` (0 where relu's output is
<= 0, else g) use ``autodiff._kernels`` (vectorised, multi-threaded; sin/cos <= 2 ulp from
libm, tanh <= 1.5 ulp) for large contiguous float64 ndarrays.
``all_finite``, the cross-entropy row helpers and the row max/sum steps of softmax
and log-softmax (``rows_*``) are C loops that replace several NumPy calls on the
small arrays of a training step. Anything else -- small arrays, other dtypes,
strided views, NumPy scalars, and autodiff Tensors (the rules see Tensors under
create_graph=True, where np.sin/np.cos dispatch to autodiff's ops so that higher
derivatives work) -- goes to NumPy unchanged.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np


def _load_kernels():
    """Import autodiff._kernels, refusing a build older than its sources."""
    how = ("Build it with `pip install .` (or, in a source checkout, "
           "`python setup.py build_ext --inplace`).")
    # GNU OpenMP reads OMP_WAIT_POLICY once, when it loads. Its default spins a
    # thread that has finished its share; on a machine where another process has
    # a core, the spinning keeps the late thread off the CPU for a whole time
    # slice (kernels 3x slower on 2 threads than on 1). Passive waiting costs
    # little at the array sizes that go parallel. The variable is set only for the
    # import (libraries loaded later read the user's environment) and only if unset.
    ours = "OMP_WAIT_POLICY" not in os.environ
    if ours:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        from .. import _kernels
    except ImportError as exc:
        raise ImportError(f"autodiff's compiled kernels (autodiff/_kernels) are missing or "
                          f"were built for another Python/NumPy: {exc}. {how}") from None
    finally:
        if ours:
            del os.environ["OMP_WAIT_POLICY"]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sources = [os.path.join(here, name) for name in ("_kernels.pyx", "_ad_trig.h")]
    if all(os.path.exists(p) for p in sources):   # a source checkout
        h = hashlib.sha256()
        for path in sources:
            with open(path, "rb") as f:
                h.update(f.read())
        if h.hexdigest()[:16] != _kernels.SOURCE_HASH:
            raise ImportError("autodiff's compiled kernels are stale: autodiff/_kernels.pyx "
                              f"or _ad_trig.h changed since they were built. {how}")
    return _kernels


_k = _load_kernels()
_usable_pair = _k.usable_pair
all_finite = _k.all_finite
rows_usable = _k.rows_usable            # (n, c) float64 C-contiguous x, n int64 targets
targets_in_range = _k.targets_in_range  # all 0 <= target[i] < c (int64 targets)
rows_pick_sum = _k.rows_pick_sum        # sum_i x[i, target[i]]
rows_subtract_at = _k.rows_subtract_at  # x[i, target[i]] -= value, in place
rows_2d = _k.rows_2d                    # C-contiguous float64 (n, c), c >= 1
rows_minus_max = _k.rows_minus_max      # x - row max (not shifted where it is inf/nan)
rows_divide_by_sum = _k.rows_divide_by_sum            # e /= row sums, in place
rows_log_softmax_finish = _k.rows_log_softmax_finish  # z -= log(row sums of e), in place


# the forwards: compiled, the kernel where it takes x, else NumPy's
sin = _k.sin_any
cos = _k.cos_any
tanh = _k.tanh_any      # the kernel only on x86-64-v4 CPUs (_k.TANH_FAST)


# The *_backward functions are the ops' VJP rules themselves (ops/elementwise.py):
# their parameter names (g, x, out) say what the engine passes.
def sin_backward(g, x):
    """g * cos(x): sin's VJP (and, with a tangent as g, its JVP)."""
    return _k.sin_backward(g, x) if _usable_pair(g, x) else g * cos(x)


def cos_backward(g, x):
    """-g * sin(x): cos's VJP (and JVP)."""
    return _k.cos_backward(g, x) if _usable_pair(g, x) else -g * sin(x)


def tanh_backward(g, out):
    """g * (1 - out * out): tanh's VJP from its output (and, with a tangent as g, its JVP)."""
    if _usable_pair(g, out):
        return _k.tanh_backward(g, out)
    return g * (1 - out * out)


def relu_backward(g, out):
    """0 where out <= 0, else g: relu's VJP from its output (PyTorch's threshold_backward;
    out <= 0 exactly where x <= 0, and a nan passes g)."""
    if _usable_pair(g, out):
        return _k.relu_backward(g, out)
    return np.where(out <= 0, 0.0, g)


# The same two VJPs written into g: the engine calls these (OpSpec.vjp_into) with a
# gradient buffer that only it holds, which then goes on as the result.
_usable_into = _k.usable_into


def tanh_backward_into(g, out):
    """tanh_backward(g, out), into g where the kernel takes it."""
    if _usable_into(g, out):
        return _k.tanh_backward_into(g, out)
    return tanh_backward(g, out)


def relu_backward_into(g, out):
    """relu_backward(g, out), into g where the kernel takes it."""
    if _usable_into(g, out):
        return _k.relu_backward_into(g, out)
    return relu_backward(g, out)
