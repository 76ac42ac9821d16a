"""``ad.nn.Module``, ``Parameter`` and a few layers, with PyTorch's behaviour.

Parameters and sub-modules assigned as attributes are registered automatically;
``parameters()``/``named_parameters()`` walk them in assignment order.
"""
from __future__ import annotations

import math
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator

import numpy as np

from .. import _core
from ..tensor import Tensor, _check_float
from . import functional as F

__all__ = ["Parameter", "Module", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU",
           "GELU", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax", "Dropout",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: it requires grad by default and is registered
    by ``Module`` when assigned as an attribute. It shares memory with ``data``.

    >>> import autodiff as ad
    >>> p = ad.nn.Parameter(ad.zeros(2))
    >>> p.requires_grad, isinstance(p, ad.Tensor)
    (True, True)
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty((0,))
        arr = data._data if isinstance(data, _core.TensorBase) else np.asarray(data)
        if requires_grad:
            _check_float(arr.dtype)
        self._data = arr
        self._requires_grad = bool(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # Tensor's __str__ is bound to Tensor.__repr__, not to this one

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo: dict) -> "Parameter":
        # a Parameter again (Tensor's deepcopy makes a plain Tensor), with copied values
        # and requires_grad; as PyTorch's, the copy starts without a .grad
        result = type(self)(self._array().copy(), self._requires_grad)
        memo[id(self)] = result
        return result


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models: subclasses set parameters and sub-modules as
    attributes in ``__init__`` and compute in ``forward``; calling the module runs it.

    >>> import autodiff as ad
    >>> class Affine(ad.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = ad.nn.Parameter(ad.ones(3))
    ...     def forward(self, x):
    ...         return (self.w * x).sum()
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['w']
    >>> m(ad.ones(3)).backward(); m.w.grad
    tensor([1., 1., 1.])
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration -------------------------------------------------------------------
    def _check_init(self) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign to {type(self).__name__} before "
                                 "Module.__init__() is called (call super().__init__() first)")

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._check_init()
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self.__dict__.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self.__dict__.pop(name, None)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r}")
        self._check_init()
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a non-trainable tensor that is part of the state (e.g. running statistics)."""
        self._check_init()
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_init()
        self._modules[name] = module

    register_module = add_module

    # -- traversal ----------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, each once, with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct sub-modules with their attribute names."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a shared parameter is listed once."""
        seen: set = set()
        mods = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (for an optimiser).

        >>> import autodiff as ad
        >>> sum(p.numel() for p in ad.nn.Linear(3, 2).parameters())
        8
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Any]]:
        """(dotted name, buffer) pairs."""
        mods = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        """Every buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, else to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p._grad = _core.make_tensor(np.zeros_like(p._data))

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (affects e.g. Dropout) on this module and its descendants."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every descendant and then on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def state_dict(self, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Any]":
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``).

        >>> import autodiff as ad
        >>> list(ad.nn.Linear(3, 2).state_dict())
        ['weight', 'bias']
        """
        out = OrderedDict() if destination is None else destination
        for mod_prefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            skip = m.__dict__.get("_non_persistent", set())
            for name, p in m._parameters.items():
                if p is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in skip:
                    key = f"{mod_prefix}.{name}" if mod_prefix else name
                    out[key] = b if keep_vars or not isinstance(b, Tensor) else b.detach()
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True,
                        assign: bool = False) -> Any:
        """Copy values from ``state_dict`` into the parameters and buffers (shapes must match).

        Returns ``(missing_keys, unexpected_keys)``; with ``strict`` either raises.
        """
        own: dict[str, tuple[Module, str, str]] = {}
        for mod_prefix, m in self.named_modules():
            skip = m.__dict__.get("_non_persistent", set())
            for name in list(m._parameters) + [b for b in m._buffers if b not in skip]:
                own[f"{mod_prefix}.{name}" if mod_prefix else name] = (m, name, "")
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and (missing or unexpected):
            errors.append(f"missing keys {missing}, unexpected keys {unexpected}")
        for key, (m, name, _) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value._data if isinstance(value, _core.TensorBase) else np.asarray(value)
            cur = m._parameters[name] if name in m._parameters else m._buffers[name]
            if cur is None:
                continue
            cur_arr = cur._data if isinstance(cur, _core.TensorBase) else np.asarray(cur)
            if cur_arr.shape != arr.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {arr.shape} "
                              f"from checkpoint, the shape in current model is {cur_arr.shape}")
                continue
            if isinstance(cur, _core.TensorBase):
                # in place (bumping the version), so optimisers holding it see the new values
                from ..autograd.grad_mode import no_grad
                with no_grad():
                    cur.copy_(_core.make_tensor(arr))
            else:
                m._buffers[name] = np.array(arr)
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # -- calling ------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  "\"forward\" function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """Extra text inside this module's repr (e.g. sizes)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _uniform(shape: tuple, bound: float, dtype: Any) -> np.ndarray:
    from .. import creation
    return creation._rng.uniform(-bound, bound, shape).astype(dtype)


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight of shape (out_features, in_features).

    Initialised as PyTorch does: weight and bias uniform in ±1/sqrt(in_features),
    from autodiff's generator (``ad.manual_seed``). Default dtype float64 (NumPy's).

    >>> import autodiff as ad
    >>> layer = ad.nn.Linear(3, 2)
    >>> layer.weight.shape, layer(ad.ones((5, 3))).shape
    ((2, 3), (5, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = np.dtype(dtype or np.float64)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.weight = Parameter(_uniform((self.out_features, self.in_features), bound, dtype))
        if bias:
            self.bias = Parameter(_uniform((self.out_features,), bound, dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Any) -> Any:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Modules applied one after another; indexable, iterable, ``append``-able.

    >>> import autodiff as ad
    >>> net = ad.nn.Sequential(ad.nn.Linear(3, 4), ad.nn.ReLU(), ad.nn.Linear(4, 1))
    >>> net(ad.ones((2, 3))).shape, len(net)
    ((2, 1), 3)
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: Any) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[idx][1]

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self


def _activation(name: str, fn: Callable, doc: str) -> type:
    def forward(self: Module, input: Any) -> Any:
        return fn(input)
    return type(name, (Module,), {"forward": forward, "__doc__": doc, "__module__": __name__})


Identity = _activation("Identity", lambda x: x, "Returns its input unchanged.\n\n>>> import autodiff as ad\n>>> ad.nn.Identity()(ad.ones(2))\ntensor([1., 1.])\n")
ReLU = _activation("ReLU", F.relu, "``max(x, 0)`` as a module.\n\n>>> import autodiff as ad\n>>> ad.nn.ReLU()(ad.tensor([-1.0, 2.0]))\ntensor([0., 2.])\n")
Tanh = _activation("Tanh", F.tanh, "``tanh(x)`` as a module.\n\n>>> import autodiff as ad\n>>> ad.nn.Tanh()(ad.tensor([0.0]))\ntensor([0.])\n")
Sigmoid = _activation("Sigmoid", F.sigmoid, "``sigmoid(x)`` as a module.\n\n>>> import autodiff as ad\n>>> ad.nn.Sigmoid()(ad.tensor([0.0]))\ntensor([0.5])\n")


class LeakyReLU(Module):
    """``leaky_relu(x, negative_slope)`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.LeakyReLU(0.5)(ad.tensor([-2.0]))
    tensor([-1.])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input: Any) -> Any:
        return F.leaky_relu(input, self.negative_slope)


class GELU(Module):
    """``gelu(x, approximate)`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.GELU()(ad.tensor([0.0]))
    tensor([0.])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Any) -> Any:
        return F.gelu(input, self.approximate)


class Softplus(Module):
    """``softplus(x, beta, threshold)`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.Softplus()(ad.tensor([100.0]))
    tensor([100.])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Any) -> Any:
        return F.softplus(input, self.beta, self.threshold)


class Softmax(Module):
    """``softmax(x, dim)`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.Softmax(dim=0)(ad.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Any:
        return F.softmax(input, self.dim)


class LogSoftmax(Module):
    """``log_softmax(x, dim)`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.LogSoftmax(dim=0)(ad.tensor([0.0, 0.0])).exp()
    tensor([0.5, 0.5])
    """

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Any:
        return F.log_softmax(input, self.dim)


class Dropout(Module):
    """Dropout with probability ``p`` in training mode; the identity after ``eval()``.

    >>> import autodiff as ad
    >>> ad.nn.Dropout(0.5).eval()(ad.ones(2))
    tensor([1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Any) -> Any:
        return F.dropout(input, self.p, self.training, self.inplace)


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction


class MSELoss(_Loss):
    """``mse_loss`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.MSELoss()(ad.tensor([1.0, 3.0]), ad.tensor([1.0, 1.0]))
    tensor(2.)
    """

    def forward(self, input: Any, target: Any) -> Any:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """``l1_loss`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.L1Loss()(ad.tensor([1.0, 3.0]), ad.tensor([1.0, 1.0]))
    tensor(1.)
    """

    def forward(self, input: Any, target: Any) -> Any:
        return F.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """``cross_entropy`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.CrossEntropyLoss(reduction="sum")(ad.zeros((2, 2)), [0, 1]).exp()
    tensor(4.)
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, label_smoothing

    def forward(self, input: Any, target: Any) -> Any:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """``nll_loss`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.NLLLoss()(ad.tensor([[-1.0, -2.0]]), [1])
    tensor(2.)
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input: Any, target: Any) -> Any:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """``binary_cross_entropy`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.BCELoss()(ad.tensor([0.5]), ad.tensor([1.0])).exp()
    tensor(2.)
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Any, target: Any) -> Any:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy_with_logits`` as a module.

    >>> import autodiff as ad
    >>> ad.nn.BCEWithLogitsLoss()(ad.tensor([800.0]), ad.tensor([1.0]))
    tensor(0.)
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input: Any, target: Any) -> Any:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)
