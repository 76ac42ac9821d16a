"""Numerical checks of analytical derivatives: ``gradcheck`` and ``gradgradcheck``."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import _core


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical derivatives differ.

    A subclass of ``RuntimeError``, as in PyTorch.

    >>> import autodiff as ad
    >>> class Wrong(ad.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * 2
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         return grad * 3
    >>> try:
    ...     ad.autograd.gradcheck(Wrong.apply, (ad.tensor([0.5], requires_grad=True),))
    ... except ad.autograd.GradcheckError as err:
    ...     print(err)
    Jacobian mismatch (backward mode) for output 0 with respect to input 0,
    numerical:[[2.]]
    analytical:[[3.]]
    <BLANKLINE>
    """


def _tuple(x: Any) -> tuple:
    return (x,) if isinstance(x, _core.TensorBase) or not isinstance(x, (tuple, list)) else tuple(x)


def _outputs(fn: Callable, inputs: tuple) -> tuple:
    return tuple(o for o in _tuple(fn(*inputs)) if isinstance(o, _core.TensorBase)
                 and o._data.dtype.kind in "fc")


def _numerical_jacobians(fn: Callable, inputs: tuple, eps: float) -> list:
    """jac[i][j]: d output j / d input i, by central differences, shape (in.size, out.size)."""
    # grad stays enabled: gradgradcheck's function calls grad() itself
    base = _outputs(fn, inputs)
    jacs = []
    for x in inputs:
        if not (isinstance(x, _core.TensorBase) and x._requires_grad):
            jacs.append(None)
            continue
        per_out = [np.zeros((x._data.size, o._data.size)) for o in base]
        flat = x._data.reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = [o._data.copy() for o in _outputs(fn, inputs)]
            flat[k] = orig - eps
            minus = [o._data.copy() for o in _outputs(fn, inputs)]
            flat[k] = orig
            for j in range(len(base)):
                per_out[j][k] = ((plus[j] - minus[j]) / (2 * eps)).reshape(-1)
        jacs.append(per_out)
    return jacs


def _analytical_jacobians(fn: Callable, inputs: tuple) -> list:
    from .engine import grad
    outs = _outputs(fn, inputs)
    diff_inputs = [x for x in inputs if isinstance(x, _core.TensorBase) and x._requires_grad]
    jacs = [[np.zeros((x._data.size, o._data.size)) for o in outs] for x in diff_inputs]
    for j, o in enumerate(outs):
        for m in range(o._data.size):
            seed = np.zeros(o._data.shape, dtype=o._data.dtype)
            seed.reshape(-1)[m] = 1
            gs = grad([o], diff_inputs, [seed], retain_graph=True, allow_unused=True)
            for i, g in enumerate(gs):
                if g is not None:
                    jacs[i][j][:, m] = np.asarray(g._data, dtype=np.float64).reshape(-1)
    it = iter(jacs)
    return [next(it) if isinstance(x, _core.TensorBase) and x._requires_grad else None
            for x in inputs]


def _forward_jacobians(fn: Callable, inputs: tuple) -> list:
    from . import forward_ad as fwAD
    jacs = []
    with fwAD.dual_level():
        base = _outputs(fn, inputs)
        for i, x in enumerate(inputs):
            if not (isinstance(x, _core.TensorBase) and x._requires_grad):
                jacs.append(None)
                continue
            per_out = [np.zeros((x._data.size, o._data.size)) for o in base]
            for k in range(x._data.size):
                t = np.zeros(x._data.shape, dtype=x._data.dtype)
                t.reshape(-1)[k] = 1
                args = list(inputs)
                args[i] = fwAD.make_dual(x.detach(), t)
                outs = _outputs(fn, tuple(args))
                for j, o in enumerate(outs):
                    tan = fwAD.unpack_dual(o).tangent
                    if tan is not None:
                        per_out[j][k] = np.asarray(tan._data, dtype=np.float64).reshape(-1)
            jacs.append(per_out)
    return jacs


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, check_forward_ad: bool = False,
              check_backward_ad: bool = True, **ignored: Any) -> bool:
    """Compare ``func``'s analytical Jacobians with central finite differences.

    Use float64 inputs that require grad.

    >>> import autodiff as ad
    >>> x = ad.tensor([0.5, 1.5], requires_grad=True)
    >>> ad.autograd.gradcheck(ad.sin, (x,))
    True
    """
    inputs = _tuple(inputs)
    numerical = _numerical_jacobians(func, inputs, eps)
    checks = []
    if check_backward_ad:
        checks.append(("backward", _analytical_jacobians(func, inputs)))
    if check_forward_ad:
        checks.append(("forward", _forward_jacobians(func, inputs)))
    for mode, analytical in checks:
        for i, (num, ana) in enumerate(zip(numerical, analytical)):
            if num is None:
                continue
            for j, (n, a) in enumerate(zip(num, ana)):
                if not np.allclose(a, n, rtol=rtol, atol=atol):
                    msg = (f"Jacobian mismatch ({mode} mode) for output {j} with respect to "
                           f"input {i},\nnumerical:{n}\nanalytical:{a}\n")
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0, **ignored: Any) -> bool:
    """Check second derivatives: ``gradcheck`` of the map (inputs, v) -> v^T J.

    >>> import autodiff as ad
    >>> x = ad.tensor([0.5, 1.5], requires_grad=True)
    >>> ad.autograd.gradgradcheck(ad.sin, (x,))
    True
    """
    from .engine import grad
    inputs = _tuple(inputs)
    outs = _outputs(func, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = tuple(_core.make_tensor(rng.standard_normal(o._data.shape), True)
                             for o in outs)
    else:
        grad_outputs = _tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs)
                if isinstance(x, _core.TensorBase) and x._requires_grad]

    def first_order(*args: Any) -> tuple:
        xs, vs = args[:n_in], args[n_in:]
        out = _outputs(func, xs)
        gs = grad(list(out), [xs[i] for i in diff_idx], list(vs), create_graph=True,
                  allow_unused=True, materialize_grads=True)
        return tuple(gs)

    return gradcheck(first_order, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
