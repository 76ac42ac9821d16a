"""``backward`` and ``grad``: argument checking in Python, traversal in ``_core``."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from .. import _core


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, _core.TensorBase):
        return (x,)
    return tuple(x)


def _root_grads(outputs: tuple, grad_outputs: Any, create_graph: bool, batched: bool) -> tuple:
    """Check or make the gradient seeded at each output (ones for scalars)."""
    if grad_outputs is None:
        grads = (None,) * len(outputs)
    elif isinstance(grad_outputs, (_core.TensorBase, np.ndarray, int, float, np.generic)):
        grads = (grad_outputs,)
    else:
        grads = tuple(grad_outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} gradients (grad_outputs/grad_tensors) for "
                           f"{len(outputs)} outputs; pass one per output")
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not isinstance(out, _core.TensorBase):
            raise TypeError(f"outputs[{i}] is a {type(out).__name__}, not a Tensor")
        data = out._data
        if g is None:
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs "
                                   f"(output {i} has shape {tuple(data.shape)}); pass "
                                   "gradient= of that shape")
            seed = _core.default_seed(data)
            if seed is None:
                raise RuntimeError("grad can be implicitly created only for real scalar "
                                   f"outputs (output {i} has dtype {data.dtype})")
            seeds.append(_core.make_tensor(seed) if create_graph else seed)
            continue
        garr = g._data if isinstance(g, _core.TensorBase) else np.asarray(g)
        if garr.dtype.kind not in "biufc":
            raise TypeError(f"grad_output[{i}] has dtype {garr.dtype}; pass numbers")
        if garr.dtype.kind == "c" and data.dtype.kind != "c":
            # its imaginary part would be dropped (PyTorch raises too)
            raise RuntimeError("For complex Tensors, both grad_output and output are required "
                               f"to have the same dtype. Mismatch in dtype: grad_output[{i}] "
                               f"has a dtype of {garr.dtype} and output[{i}] has a dtype of "
                               f"{data.dtype}.")
        expect = tuple(data.shape)
        got = tuple(garr.shape)
        if (got[1:] if batched else got) != expect:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {got} and "
                               f"output[{i}] has a shape of {expect}")
        if create_graph and isinstance(g, _core.TensorBase) and g.requires_grad:
            seeds.append(g)         # a gradient with a graph of its own is differentiated too
            continue
        # the output's dtype, in the layout the compiled loops read (byte order, alignment)
        seed = _core.native_array(garr, data.dtype)
        seeds.append(_core.make_tensor(seed) if create_graph else seed)
    return tuple(seeds)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None,
             inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the graph's leaves.

    >>> import autodiff as ad
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
    >>> ad.autograd.backward([(x * x).sum()])
    >>> x.grad
    tensor([2., 4.])
    """
    if grad_variables is not None:
        grad_tensors = grad_variables
    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _root_grads(outputs, grad_tensors, create_graph, False)
    inputs_t = None
    if inputs is not None:
        inputs_t = _as_tuple(inputs)
        if not inputs_t:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    _core.run_backward(outputs, seeds, bool(retain_graph), bool(create_graph), inputs_t,
                       True, False, 0)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple; ``.grad`` is untouched.

    >>> import autodiff as ad
    >>> x = ad.tensor(2.0, requires_grad=True)
    >>> ad.autograd.grad(x ** 3, x)
    (tensor(12.),)
    """
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now "
                      "(defaults to True)", DeprecationWarning, stacklevel=2)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("grad requires at least one input")
    for i, x in enumerate(ins):
        if not isinstance(x, _core.TensorBase):
            raise TypeError(f"inputs[{i}] is a {type(x).__name__}, not a Tensor")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _root_grads(outs, grad_outputs, create_graph, is_grads_batched)
    batch = 1 if is_grads_batched else 0
    result = _core.run_backward(outs, seeds, bool(retain_graph), bool(create_graph), ins,
                                False, bool(allow_unused), batch)
    if materialize_grads:
        result = [(_core.make_tensor(np.zeros(
            ((seeds[0].shape[0],) if batch else ()) + x.shape, dtype=x.dtype))
            if g is None else g) for g, x in zip(result, ins)]
    return tuple(result)
