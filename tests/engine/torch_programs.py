"""Random programs run twice, in autodiff and in PyTorch, and compared.

A program is a list of steps over a pool of named tensors (``x0`` ... inputs,
``t1`` ... results). ``Builder`` draws the steps one at a time with hypothesis,
runs each on the PyTorch side as soon as it is drawn (so that the next step can
look at the real shapes and values), then ``Builder.check`` runs the whole
program in autodiff and compares forward values, first derivatives
(``autograd.grad`` and ``backward`` with random cotangents, ``retain_grad``) and
second derivatives (``create_graph=True``, then the gradient of a random
projection of the first one) with PyTorch's, in float64.

The PyTorch reference runs under a saved-tensors hook that clones every saved
tensor: its gradients are those of the program as written even where an
in-place op changed a saved tensor. Where autodiff refuses such a program
("modified by an inplace operation"), the program is replayed in plain PyTorch,
which must refuse it too.

Where NumPy and PyTorch disagree, autodiff follows NumPy (its tensors are NumPy
arrays, SPEC "Where NumPy and PyTorch disagree"), and the PyTorch side is steered
to NumPy's answer:
- dtype promotion: NumPy 2 promotes a 0-d float64 array with a float32 array to
  float64, PyTorch keeps float32; the PyTorch side casts both operands to NumPy's
  result dtype first. The op then saves the cast copy, which a later in-place write
  to the operand does not reach: PyTorch's version check cannot confirm autodiff's
  "modified by an inplace operation" in such a program.
- an int in a key that also holds index arrays is an advanced index in NumPy
  (``x[:, 0, :, [1, 2]]`` puts the indexed dimension first), while PyTorch selects
  it first (see below for how the PyTorch side gets NumPy's result).
- PyTorch has no negative strides: a slice with a negative step is a flipped
  positive-step view there (``Torch`` keeps (view, flipped dims) pairs), and
  ``flip`` copies in PyTorch; the programs treat ``flip`` as a copy.
- ``reshape``/``flatten`` return a view or a copy depending on the memory layout,
  which differs between the odd NumPy layouts autodiff gets and the contiguous
  copies PyTorch gets: no in-place op is drawn on a tensor that shares memory
  with such a result (both libraries leave that unspecified).
- PyTorch refuses an in-place op whose operand overlaps the destination's memory
  (``t[1:] += t[:-1]``); NumPy reads the operand as it was before the write: the
  PyTorch side clones such an operand (as after a cast, PyTorch's version check
  then cannot confirm autodiff's "modified by an inplace operation").
  ``index_put_`` wants equal dtypes where NumPy casts: the PyTorch side casts.
- ``sign(nan)`` is nan in NumPy, 0 in PyTorch: the PyTorch side keeps the nan.
- PyTorch has no derivative for some in-place ops (``atanh_``, ``acosh_``): nothing
  to compare there.
- at a point where an op is not differentiable twice (std or norm of identical
  values: a zero-stride input, a size-1 dim) the second derivatives are not
  compared.
- a key with index arrays is NumPy's: the PyTorch side gathers (or ``index_put_``s)
  at the positions that NumPy's indexing of ``arange(x.size)`` gives.
- int index arrays written by ``x[idx] = v`` have no repeats (which of several
  writes to one element wins is unspecified in both).
- ``e[key] = v`` with index arrays into a broadcasting expand ``e``: PyTorch's
  ``index_put_`` writes elements that share memory (deprecated, with a warning),
  autodiff refuses as PyTorch's ``copy_`` does: the PyTorch side raises too. Into
  elements that share no memory both write, but PyTorch's backward may then fail
  ("more than one element of the written-to tensor refers to a single memory
  location") where autodiff gives the gradient: nothing to compare there.

Run as a script (``python torch_programs.py FIRST_SEED COUNT [--risky]``), it checks
COUNT seeded programs, prints every failure with its seed and program, and exits 0
if there was none: the test suite runs the crash-prone kinds that way, in a
subprocess, so that a segfault fails a test instead of killing pytest. Long local
runs: ``python tests/engine/torch_programs.py 0 20000`` (about 100 s), or the
tests with ``HYPOTHESIS_PROFILE=thorough`` (20 times CI's count).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from hypothesis import strategies as st

import autodiff as ad

torch.set_num_threads(1)

# ---------------------------------------------------------------------------
# Inputs in odd memory layouts
# ---------------------------------------------------------------------------

LAYOUTS = ("c", "fortran", "negative", "strided", "readonly", "unaligned", "broadcast")
DTYPES = ("<f8", ">f8", "<f4", ">f4")


def odd(shape: tuple, dtype: str, layout: tuple, seed: int) -> np.ndarray:
    """Uniform(-2, 2) values of ``shape`` as a ``dtype`` array laid out as ``layout`` says
    (applied in order): the autodiff side's input. The PyTorch side gets a native,
    contiguous copy of the same values."""
    a = np.random.default_rng(seed).uniform(-2.0, 2.0, shape).astype(dtype)
    for kind in layout:
        a = _LAYOUT[kind](a)
    return a


def _negative(a):
    if a.ndim == 0:
        return a.copy()
    rev = (slice(None, None, -1),) * a.ndim
    return np.ascontiguousarray(a[rev])[rev]


def _strided(a):
    if a.ndim == 0 or a.ndim > 8:     # (2**ndim times the memory)
        return a.copy()
    big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
    view = big[(slice(None, None, 2),) * a.ndim]
    view[...] = a
    return view


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, np.uint8)
    b = buf[1:].view(a.dtype).reshape(a.shape)
    b[...] = a
    return b


def _broadcast(a):
    # zero strides: the first row repeated (read-only, as NumPy makes broadcasts)
    if a.ndim == 0 or a.shape[0] == 0:
        return a
    return np.broadcast_to(a[:1], a.shape)


def _fortran(a):
    return np.asfortranarray(a) if a.ndim else a.copy()   # (asfortranarray makes 0-d 1-d)


_LAYOUT = {"c": lambda a: a, "fortran": _fortran, "negative": _negative,
           "strided": _strided, "readonly": _readonly, "unaligned": _unaligned,
           "broadcast": _broadcast}


def native(a: np.ndarray) -> np.ndarray:
    """A native-byte-order, contiguous copy."""
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C")


def as_numpy(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor) and t._is_zerotensor():
        return np.zeros(tuple(t.shape), str(t.dtype).replace("torch.", ""))
    return t.detach().numpy()


# ---------------------------------------------------------------------------
# Index keys (NumPy's meaning), rendered for both libraries
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """A tuple of components: ("int", i), ("slice", start, stop, step), ("none",),
    ("ellipsis",), ("arr", nested list of ints), ("mask", bool ndarray)."""
    comps: tuple

    def __str__(self):
        parts = []
        for c in self.comps:
            if c[0] == "int":
                parts.append(str(c[1]))
            elif c[0] == "slice":
                a, b, s = c[1:]
                txt = f"{'' if a is None else a}:{'' if b is None else b}"
                parts.append(txt + ("" if s is None else f":{s}"))
            elif c[0] == "none":
                parts.append("None")
            elif c[0] == "ellipsis":
                parts.append("...")
            elif c[0] == "arr":
                parts.append(repr(c[1]))
            else:
                parts.append(f"np.array({c[1].tolist()})")
        return ", ".join(parts) if parts else "()"

    def advanced(self):
        return any(c[0] in ("arr", "mask") for c in self.comps)

    def numpy(self):
        out = []
        for c in self.comps:
            if c[0] == "int":
                out.append(c[1])
            elif c[0] == "slice":
                out.append(slice(*c[1:]))
            elif c[0] == "none":
                out.append(None)
            elif c[0] == "ellipsis":
                out.append(Ellipsis)
            elif c[0] == "arr":
                out.append(np.array(c[1], dtype=np.intp))
            else:
                out.append(c[1])
        return tuple(out)

    def expanded(self, ndim):
        """The components with the ellipsis (or the implicit trailing one) spelt out as
        full slices, and the number of input dims each one consumes."""
        used = sum(c[1].ndim if c[0] == "mask" else 1
                   for c in self.comps if c[0] in ("int", "slice", "arr", "mask"))
        fill = [("slice", None, None, None)] * (ndim - used)
        comps = list(self.comps)
        if ("ellipsis",) in comps:
            i = comps.index(("ellipsis",))
            comps[i:i + 1] = fill
        else:
            comps += fill
        return comps


def _slice_indices(c, n):
    return list(range(n)[slice(*c[1:])])


# ---------------------------------------------------------------------------
# The two sides. ``Ad`` runs the program as written; ``Torch`` maps it onto PyTorch.
# ---------------------------------------------------------------------------

class Ad:
    name = "ad"
    lib = ad

    def __init__(self):
        self.env: dict[str, Any] = {}
        self.aux: dict[str, Any] = {}

    def get(self, n):
        return self.env[n]

    def put(self, n, t):
        self.env[n] = t

    def leaf(self, n, spec):
        arr = odd(*spec.odd_args)
        if spec.via == "tensor":
            t = ad.tensor(arr, requires_grad=spec.requires_grad)
        else:
            t = ad.from_numpy(arr)
            if spec.requires_grad:
                t.requires_grad_()
        self.env[n] = t

    def binary(self, fn, a, b):
        return fn(a, b)

    def view(self, n, op, args):
        return getattr(self.env[n], op)(*args)

    def inplace(self, n, method, *args):
        getattr(self.env[n], method)(*args)

    def getitem(self, n, key):
        return self.env[n][key.numpy()]

    def setitem(self, n, key, v):
        self.env[n][key.numpy()] = v

    def tensor_of(self, a):
        return ad.tensor(a)




class Torch:
    """PyTorch side: an entry is (tensor, flipped dims); its value is the tensor flipped
    along those dims (how a negative-step view of autodiff's is held: as a positive-step
    view of the same memory)."""
    name = "torch"
    lib = torch

    def __init__(self):
        self.env: dict[str, tuple] = {}
        self.aux: dict[str, Any] = {}
        # an operand was replaced by a copy (a cast in binary, a clone in _unshared): an
        # op saved the copy, which no later in-place write reaches, so PyTorch's version
        # check no longer sees what autodiff's sees
        self.copied = False

    def get(self, n):
        t, flips = self.env[n]
        return t.flip(flips) if flips else t

    def put(self, n, t):
        self.env[n] = (t, ())

    def _set(self, n, t, flips):
        self.env[n] = (t, tuple(sorted(d for d in flips if t.shape[d] > 1)))

    def flips(self, n):
        return self.env[n][1]

    def leaf(self, n, spec):
        arr = native(odd(*spec.odd_args))
        self.env[n] = (torch.tensor(arr, requires_grad=spec.requires_grad), ())

    def binary(self, fn, a, b):
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype != b.dtype:
            dt = torch.float64       # NumPy's promotion of float32 and float64 (any ndim)
            a, b = a.to(dt), b.to(dt)
            self.copied = True
        return fn(a, b)

    def _unshared(self, v, t):
        """``v``, cloned if it shares memory with ``t``: PyTorch refuses an in-place write
        whose operand overlaps the destination, NumPy (and so autodiff) reads the operand
        as it was before the write."""
        if isinstance(v, torch.Tensor) and v.untyped_storage().data_ptr() == \
                t.untyped_storage().data_ptr():
            self.copied = True
            return v.clone()
        return v

    def view(self, n, op, args):
        t, flips = self.env[n]
        nd = t.ndim
        if op in ("reshape", "flatten", "clone", "flip"):
            return getattr(self.get(n), op)(*args), ()
        if op == "transpose":
            d0, d1 = (d % nd for d in args)
            perm = list(range(nd))
            perm[d0], perm[d1] = perm[d1], perm[d0]
            return t.transpose(*args), [perm.index(d) for d in flips]
        if op == "permute":
            perm = [d % nd for d in args[0]]
            return t.permute(*args), [perm.index(d) for d in flips]
        if op == "T":
            return t.T, [1 - d for d in flips]
        if op == "unsqueeze":
            d = args[0] % (nd + 1)
            return t.unsqueeze(*args), [f + (f >= d) for f in flips]
        if op == "squeeze":
            out = t.squeeze(*args)
            keep = [d for d in range(nd) if out.ndim == nd or not (
                t.shape[d] == 1 and (not args or d == args[0] % max(nd, 1)))]
            return out, [keep.index(f) for f in flips]
        if op == "expand":
            out = t.expand(*args)
            return out, [f + out.ndim - nd for f in flips]
        raise AssertionError(op)

    def inplace(self, n, method, *args):
        t, flips = self.env[n]
        if method == "sign_":
            t.copy_(_numpy_sign(t))
            return
        args = tuple(self._unshared(a, t) for a in args)
        if flips and args and isinstance(args[0], torch.Tensor):
            o = args[0]
            shift = o.ndim - t.ndim
            dims = [f + shift for f in flips if 0 <= f + shift < o.ndim and o.shape[f + shift] > 1]
            args = (o.flip(dims) if dims else o,) + args[1:]
        getattr(t, method)(*args)

    def _basic(self, t, flips, comps):
        """The basic key ``comps`` on ``t`` (flipped along ``flips``) as a positive-step key
        of ``t`` and the dims of the result that are flipped."""
        key, out_flips, d, od = [], [], 0, 0
        for c in comps:
            if c[0] == "none":
                key.append(None)
                od += 1
                continue
            n = t.shape[d]
            if c[0] == "int":
                i = c[1] % n if n else c[1]
                key.append(n - 1 - i if d in flips else i)
            else:
                q = _slice_indices(c, n)
                if d in flips:
                    q = [n - 1 - i for i in q]
                if len(q) < 2:
                    key.append(slice(q[0], q[0] + 1) if q else slice(0, 0))
                elif q[1] > q[0]:
                    key.append(slice(q[0], q[-1] + 1, q[1] - q[0]))
                else:
                    key.append(slice(q[-1], q[0] + 1, q[0] - q[1]))
                    out_flips.append(od)
                od += 1
            d += 1
        return tuple(key), out_flips

    @staticmethod
    def _positions(shape, key):
        """Where NumPy's ``x[key]`` reads from, as indices into ``x.reshape(-1)``."""
        return np.arange(math.prod(shape)).reshape(shape)[key.numpy()]


    def getitem(self, n, key):
        t, flips = self.env[n]
        comps = key.expanded(t.ndim)
        if key.advanced():
            # a copy in both: gathered at the positions NumPy reads (NumPy's meaning of
            # an int beside index arrays, of an ellipsis between them, ...)
            pos = self._positions(tuple(t.shape), key)
            return self.get(n).reshape(-1)[torch.from_numpy(pos)], ()
        k, out_flips = self._basic(t, flips, comps)
        return t[k], out_flips

    def setitem(self, n, key, v):
        t, flips = self.env[n]
        comps = key.expanded(t.ndim)
        if key.advanced():
            pos = self._positions(tuple(t.shape), key)
            coords = list(np.unravel_index(pos, tuple(t.shape)))
            for d in flips:
                coords[d] = t.shape[d] - 1 - coords[d]
            offsets = sum(c * s for c, s in zip(coords, t.stride()))
            if np.unique(offsets).size != np.size(offsets):
                # PyTorch's index_put_ writes one location twice through an expand (with
                # a deprecation warning); its copy_ and autodiff refuse
                raise RuntimeError("more than one element of the written-to tensor refers "
                                   "to a single memory location")
            if isinstance(v, torch.Tensor):
                v = self._unshared(v, t).to(t.dtype)    # (NumPy casts; index_put_ does not)
                while v.ndim > pos.ndim and v.shape[0] == 1:
                    v = v[0]
            t.index_put_(tuple(torch.from_numpy(c) for c in coords),
                         v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=t.dtype))
            return
        v = self._unshared(v, t)
        k, sub_flips = self._basic(t, flips, comps)
        if isinstance(v, torch.Tensor) and sub_flips:
            shape = t[k].shape
            # (x[key] = v drops leading size-1 dims of v, as NumPy does)
            while v.ndim > len(shape) and v.shape[0] == 1:
                v = v[0]
            if v.ndim <= len(shape):
                v = v.expand(shape).flip(sub_flips)
        t[k] = v

    def tensor_of(self, a):
        return torch.tensor(native(np.asarray(a)))


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

@dataclass
class LeafSpec:
    odd_args: tuple            # (shape, dtype, layout, seed) for odd()
    via: str                   # "tensor" | "from_numpy"
    requires_grad: bool

    def text(self, n):
        shape, dtype, layout, seed = self.odd_args
        src = f"odd({shape}, {dtype!r}, {layout}, seed={seed})"
        if self.via == "tensor":
            rg = ", requires_grad=True" if self.requires_grad else ""
            return f"{n} = ad.tensor({src}{rg})"
        return f"{n} = ad.from_numpy({src})" + (".requires_grad_()" if self.requires_grad else "")


@dataclass
class Step:
    text: str
    run: Callable[[Any], None]
    torch_error: str | None = None     # the error PyTorch raised (autodiff must raise too)


@dataclass
class Meta:
    kind: str                 # "leaf" | "const" | "op"
    group: str                # tensors of one group may share memory
    float32: bool = False


UNARY = {   # name -> domain (see SQUASH)
    "neg": "real", "exp": "bounded", "expm1": "bounded", "log": "positive", "log1p": "above_m1",
    "log2": "positive", "log10": "positive", "sqrt": "positive", "rsqrt": "positive",
    "square": "real", "sin": "real", "cos": "real", "tan": "tan", "asin": "unit",
    "acos": "unit", "atan": "real", "sinh": "bounded", "cosh": "bounded", "tanh": "real",
    "asinh": "real", "acosh": "above_one", "atanh": "unit", "sigmoid": "real",
    "relu": "real", "abs": "real", "erf": "real", "reciprocal": "nonzero", "sign": "real",
    "floor": "real", "ceil": "real", "trunc": "real", "round": "real", "softplus": "real",
}
NO_INPLACE = {"softplus"}
# domain -> (test on the values, scale and offset of tanh(x) that lands inside it)
SQUASH = {
    "real": (lambda v: True, None),
    "bounded": (lambda v: np.all(np.abs(v) <= 4), (3.0, 0.0)),
    "positive": (lambda v: np.all(v > 0.05), (1.0, 1.5)),
    "above_m1": (lambda v: np.all(v > -0.95), (1.0, 1.5)),
    "above_one": (lambda v: np.all(v > 1.05), (1.0, 2.5)),
    "unit": (lambda v: np.all(np.abs(v) < 0.95), (0.9, 0.0)),
    "tan": (lambda v: np.all(np.abs(v) < 1.2), (1.1, 0.0)),
    "nonzero": (lambda v: np.all(np.abs(v) > 0.05), (1.0, 1.5)),
}


def _numpy_sign(x):
    """NumPy's sign (nan stays nan) with sign's zero derivative."""
    return x.sign() + torch.where(x.isnan(), x.detach(), torch.zeros_like(x.detach()))


def unary_fn(side, name):
    if name == "sign" and side.name == "torch":
        return _numpy_sign
    if name == "softplus":
        return ad.softplus if side.name == "ad" else torch.nn.functional.softplus
    return getattr(side.lib, name)


REDUCTIONS = ("sum", "mean", "prod", "amax", "amin", "max", "min", "var", "std", "logsumexp",
              "norm", "softmax", "log_softmax", "cumsum", "cumprod")
TUPLE_DIMS = {"sum", "mean", "amax", "amin", "var", "std", "logsumexp", "norm"}
NEEDS_DIM = {"logsumexp", "softmax", "log_softmax", "cumsum", "cumprod"}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}
BINARY_FN = ("maximum", "minimum", "atan2", "add", "mul", "sub", "div")
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
INPLACE_BINARY = ("add_", "sub_", "mul_", "div_", "__iadd__", "__imul__", "__isub__",
                  "__itruediv__", "copy_")


class HypothesisDraws:
    """The choices of a program, drawn by hypothesis (which shrinks them)."""

    def __init__(self, data):
        self.data = data

    def int(self, lo, hi):
        return self.data.draw(st.integers(lo, hi))

    def perm(self, n):
        return self.data.draw(st.permutations(range(n)))


class SeededDraws:
    """The choices of a program, from a seed (a fast loop over many programs)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def int(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def perm(self, n):
        return [int(i) for i in self.rng.permutation(n)]


class Builder:
    """Draws a program step by step, running it on the PyTorch side as it goes."""

    def __init__(self, draw, risky: bool = False, max_steps: int = 10):
        self.draw = draw
        self.risky = risky
        self.steps: list[Step] = []
        self.meta: dict[str, Meta] = {}
        self.leaves: dict[str, LeafSpec] = {}
        self.torch = Torch()
        self.counter = 0
        self.seed = 0
        self.weak_version_oracle = False   # see check(): flipped views written in place
        self.frozen: set = set()           # groups that hold a reshape/flatten result
        self.singular = False              # std/norm at zero: no second derivatives there
        self.hooked: set = set()           # tensors given a hook
        self.hooks_ctx = torch.autograd.graph.saved_tensors_hooks(_pack_clone, _unpack)
        self.hooks_ctx.__enter__()
        try:
            for _ in range(self.int(1, 3)):
                self.new_leaf()
            for _ in range(self.int(1, max_steps)):
                self.random_step()
            self.choose_derivatives()
        finally:
            self.hooks_ctx.__exit__(None, None, None)

    # -- drawing helpers ---------------------------------------------------------
    def int(self, lo, hi):
        return self.draw.int(lo, hi)

    def choice(self, seq):
        seq = list(seq)
        return seq[self.draw.int(0, len(seq) - 1)]

    def chance(self, percent):
        return self.draw.int(0, 99) < percent

    def perm(self, n):
        return self.draw.perm(n)

    def tval(self, n):
        return self.torch.get(n)

    def shape(self, n):
        return tuple(self.tval(n).shape)

    def fresh(self, prefix="t"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def pick(self, pred=lambda n: True, prefer_recent=True):
        names = [n for n in self.meta if pred(n)]
        if not names:
            return None
        return self.choice(names[::-1] if prefer_recent else names)

    # -- running ---------------------------------------------------------------------
    def add(self, text, run, out=None, meta=None):
        """Run the step on the PyTorch side; a PyTorch error becomes an expected error."""
        step = Step(text, run)
        try:
            run(self.torch)
        except Exception as exc:     # noqa: BLE001  (autodiff must raise as well)
            step.torch_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self.steps.append(step)
            return None
        if out is not None:
            self.meta[out] = meta
        self.steps.append(step)
        return out

    def new_leaf(self, shape=None, requires_grad=None, float32=None, name=None):
        if shape is None:
            nd = self.int(0, 4)
            shape = tuple(self.choice((1, 2, 3, 0, 4) if i else (2, 3, 1, 4, 0))
                          for i in range(nd))
        if float32 is None:
            float32 = self.chance(15)
        dtype = self.choice(("<f4", ">f4") if float32 else ("<f8", ">f8", "<f8"))
        layout = tuple(self.choice(LAYOUTS) for _ in range(self.int(0, 2)))
        if requires_grad is None:
            requires_grad = self.chance(75)
        self.seed += 1
        spec = LeafSpec((shape, dtype, layout, self.seed), self.choice(("tensor", "from_numpy")),
                        requires_grad)
        n = name or f"x{len(self.leaves)}"
        self.leaves[n] = spec
        return self.add(spec.text(n), lambda s: s.leaf(n, spec), n,
                        Meta("leaf" if requires_grad else "const", n, float32))

    def random_step(self):
        kinds = ["unary"] * 4 + ["binary"] * 4 + ["reduce"] * 3 + ["shape"] * 3 + \
                ["getitem"] * 3 + ["inplace"] * 3 + ["setitem"] * 2 + ["matmul", "catstack",
                                                                        "leaf"]
        if self.risky:
            kinds += ["hook"] * 3 + ["fast"] * 4 + ["highdim"]
        getattr(self, "step_" + self.choice(kinds))()

    def op_meta(self, *srcs):
        return Meta("op", self.fresh("g"), any(self.meta[s].float32 for s in srcs))

    # -- elementwise -----------------------------------------------------------------
    def squashed(self, n, domain):
        """The text and PyTorch-side runner of operand ``n`` moved into ``domain``."""
        test, squash = SQUASH[domain]
        v = as_numpy(self.tval(n))
        if test(v):
            return n, lambda s: s.get(n)
        scale, offset = squash
        return (f"({n}.tanh() * {scale} + {offset})",
                lambda s: s.get(n).tanh() * scale + offset)

    def step_unary(self):
        n = self.pick()
        name = self.choice(sorted(UNARY))
        arg, get = self.squashed(n, UNARY[name])
        out = self.fresh()
        method = name != "softplus" and self.chance(40)
        text = f"{out} = {arg}.{name}()" if method else f"{out} = ad.{name}({arg})"

        def run(s):
            x = get(s)
            s.put(out, getattr(x, name)() if method and not (name == "sign" and s.name == "torch")
                  else unary_fn(s, name)(x))
        self.add(text, run, out, self.op_meta(n))

    def operand_shape(self, shape):
        """A shape that broadcasts with ``shape`` (to ``shape`` itself, mostly)."""
        nd = self.int(max(0, len(shape) - 2), len(shape) + (1 if self.chance(15) else 0))
        full = (1,) * max(0, nd - len(shape)) + tuple(shape)
        return tuple(1 if self.chance(25) else d for d in full[len(full) - nd:])

    def operand(self, shape, allow_scalar=True, max_ndim=None):
        """A second operand for ``shape``: a pool tensor that broadcasts with it, a new
        leaf or a Python number. Returns (text, runner, names used)."""
        if allow_scalar and self.chance(20):
            c = self.choice((2.0, -0.5, 1.5, 3, 0.25))
            return repr(c), (lambda s: c), ()

        def fits(m):
            if max_ndim is not None and len(self.shape(m)) > max_ndim:
                return False
            try:
                return tuple(torch.broadcast_shapes(self.shape(m), shape)) == tuple(shape) \
                    or self.chance(5)
            except RuntimeError:
                return False
        m = self.pick(fits) if self.chance(70) else None
        if m is None:
            new = self.operand_shape(shape)
            m = self.new_leaf(new[len(new) - max_ndim:] if max_ndim is not None else new)
            if m is None:
                return "1.0", (lambda s: 1.0), ()
        return m, (lambda s: s.get(m)), (m,)

    def step_binary(self):
        n = self.pick()
        op = self.choice(sorted(BINARY) + list(BINARY_FN))
        b_text, b_get, used = self.operand(self.shape(n), op not in ("maximum", "minimum",
                                                                     "atan2"))
        a_text, a_get = n, (lambda s: s.get(n))
        if op == "div" and used:
            b_text, b_get = self.squashed(used[0], "nonzero")
        if op == "pow":
            a_text, a_get = self.squashed(n, "positive")
            if used:
                b_text, b_get = self.squashed(used[0], "unit")
        out = self.fresh()
        reflected = op in BINARY and not used and self.chance(40)
        if reflected and op in ("div", "pow"):
            a_text, a_get = self.squashed(n, "nonzero" if op == "div" else "unit")
            if op == "pow":
                b_text, b_get = "1.5", (lambda s: 1.5)
        if op in BINARY_FN and (op not in BINARY or self.chance(30)):
            text = f"{out} = ad.{op}({a_text}, {b_text})"

            def fn(s):
                return lambda a, b: getattr(s.lib, op)(a, b)
        else:
            fn = None
            lhs, rhs = (b_text, a_text) if reflected else (a_text, b_text)
            text = f"{out} = {lhs} {SYMBOL[op]} {rhs}"

        def run(s):
            a, b = a_get(s), b_get(s)
            if reflected:
                a, b = b, a
            f = fn(s) if fn else BINARY[op]
            s.put(out, s.binary(f, a, b) if not isinstance(b, (int, float)) and
                  not isinstance(a, (int, float)) else f(a, b))
        self.add(text, run, out, self.op_meta(n, *used))

    # -- reductions --------------------------------------------------------------------
    def dims(self, nd, tuple_ok):
        if nd == 0:
            return self.choice((0, -1, (0,)) if tuple_ok else (0, -1))
        if tuple_ok and self.chance(40):
            k = self.int(1, nd)
            picked = self.perm(nd)[:k]
            return tuple(d - nd if self.chance(30) else d for d in picked)
        d = self.int(0, nd - 1)
        return d - nd if self.chance(30) else d

    def step_reduce(self):
        n = self.pick()
        op = self.choice(REDUCTIONS)
        nd = len(self.shape(n))
        arg, get = n, (lambda s: s.get(n))
        dim = None if op not in NEEDS_DIM and self.chance(30) else self.dims(nd, op in TUPLE_DIMS)
        if op == "norm" and isinstance(dim, tuple):
            dim = dim[:2]     # (PyTorch's norm takes a matrix norm's 2 dims at most)
        if op in ("softmax", "log_softmax", "cumsum", "cumprod") and isinstance(dim, tuple):
            dim = dim[0]
        kw = {}
        if dim is not None:
            kw["dim"] = dim
        if op not in ("softmax", "log_softmax", "cumsum", "cumprod") and self.chance(50):
            if dim is not None:
                kw["keepdim"] = self.chance(50)
        if op in ("var", "std") and self.chance(40):
            kw["correction"] = self.choice((0, 1, 2))
        out = self.fresh()
        args = ", ".join([arg] + [f"{k}={v!r}" for k, v in kw.items()])
        method = self.chance(40)
        index = op in ("max", "min") and "dim" in kw
        text = f"{out} = " + (f"{arg}.{op}({args[len(arg) + 2:]})" if method else f"ad.{op}({args})")
        if index:
            text += f"; {out}_idx = ...indices"

        def run(s):
            x = get(s)
            r = getattr(x, op)(**kw) if method else getattr(s.lib, op)(x, **kw)
            if index:
                r, s.aux[out + "_idx"] = r[0], r[1]
            s.put(out, r)
        if self.add(text, run, out, self.op_meta(n)) and op in ("std", "norm"):
            self.singular |= bool(np.any(as_numpy(self.tval(out)) == 0) or
                                  np.any(np.isnan(as_numpy(self.tval(out)))))

    # -- shapes and views ----------------------------------------------------------------
    def new_shape(self, shape):
        numel = math.prod(shape)
        dims = list(shape)
        r = self.int(0, 3)
        if r == 0 and len(dims) >= 2:           # merge two neighbours
            i = self.int(0, len(dims) - 2)
            dims[i:i + 2] = [dims[i] * dims[i + 1]]
        elif r == 1 and dims:                   # split one
            i = self.int(0, len(dims) - 1)
            f = next((k for k in (2, 3) if dims[i] % k == 0 and dims[i] > k), None)
            if f:
                dims[i:i + 1] = [f, dims[i] // f]
        elif r == 2:
            dims.insert(self.int(0, len(dims)), 1)
        else:
            dims = [numel] if self.chance(50) else dims[::-1]
        if math.prod(dims) != numel:
            dims = [numel]
        if dims and self.chance(25):
            dims[self.int(0, len(dims) - 1)] = -1
        return tuple(dims)

    def step_shape(self):
        n = self.pick()
        shape = self.shape(n)
        nd = len(shape)
        ops = ["reshape", "flatten", "unsqueeze", "squeeze", "expand", "flip", "clone"]
        if nd >= 1:
            ops += ["transpose", "permute"]
        if nd == 2:
            ops.append("T")
        op = self.choice(ops)
        if op == "reshape":
            args = (self.new_shape(shape),)
        elif op == "flatten":
            a = self.int(0, max(nd - 1, 0))
            args = (a, self.int(a, max(nd - 1, 0))) if self.chance(60) else ()
        elif op == "unsqueeze":
            args = (self.int(-nd - 1, nd),)
        elif op == "squeeze":
            args = (self.int(-nd, nd - 1),) if nd and self.chance(70) else ()
        elif op == "expand":
            new = tuple(self.int(1, 3) for _ in range(self.int(0 if shape else 1, 2)))
            args = new + tuple((self.int(0, 3) if self.chance(50) else 1) if d == 1 else
                               (-1 if self.chance(30) else d) for d in shape)
        elif op == "flip":
            args = (tuple(self.perm(nd)[:self.int(0, nd)]),)
        elif op in ("clone", "T"):
            args = ()
        elif op == "transpose":
            args = (self.int(-nd, nd - 1), self.int(-nd, nd - 1))
        else:
            args = (tuple(self.perm(nd)),)
        out = self.fresh()
        text = f"{out} = {n}.T" if op == "T" else \
            f"{out} = {n}.{op}({', '.join(repr(a) for a in args)})"
        shares = op not in ("clone", "flip")
        meta = Meta("op", self.meta[n].group if shares else self.fresh("g"), self.meta[n].float32)
        if op in ("reshape", "flatten"):
            self.frozen.add(meta.group)

        def run(s):
            if isinstance(s, Torch):
                t, flips = s.view(n, op, args)
                s._set(out, t, flips)
            else:
                s.put(out, s.get(n).T if op == "T" else s.view(n, op, args))
        self.add(text, run, out, meta)

    def step_catstack(self):
        n = self.pick()
        shape = self.shape(n)
        stack = not shape or self.chance(40)
        nd = len(shape)
        dim = self.int(-nd - 1, nd) if stack else self.int(-nd, nd - 1)
        names = [n]
        for _ in range(self.int(0, 2)):
            if stack:
                want = shape
            else:
                want = list(shape)
                want[dim % nd] = self.int(0, 3)
                want = tuple(want)
            m = self.pick(lambda m: self.shape(m) == want) if self.chance(60) else None
            m = m or self.new_leaf(want)
            if m:
                names.append(m)
        op = "stack" if stack else "cat"
        out = self.fresh()
        text = f"{out} = ad.{op}([{', '.join(names)}], dim={dim})"

        def run(s):
            xs = [s.get(m) for m in names]
            if isinstance(s, Torch) and len({x.dtype for x in xs}) > 1:
                xs = [x.double() for x in xs]
            s.put(out, getattr(s.lib, op)(xs, dim=dim))
        self.add(text, run, out, self.op_meta(*names))

    def step_matmul(self):
        n = self.pick(lambda m: len(self.shape(m)) >= 1)
        if n is None:
            return
        shape = self.shape(n)
        k = shape[-1]
        r = self.int(0, 2)
        if r == 0:
            want = (k,)
        elif r == 1:
            want = (k, self.int(0, 3))
        else:
            batch = shape[:-2] if len(shape) > 2 else (self.int(1, 2),)
            want = tuple(1 if self.chance(30) else b for b in batch) + (k, self.int(1, 3))
        m = self.pick(lambda m: self.shape(m) == want) if self.chance(50) else None
        m = m or self.new_leaf(want)
        if m is None:
            return
        out = self.fresh()
        op_form = self.chance(50)
        text = f"{out} = {n} @ {m}" if op_form else f"{out} = ad.matmul({n}, {m})"

        def run(s):
            s.put(out, s.binary(lambda a, b: a @ b if op_form else s.lib.matmul(a, b),
                                s.get(n), s.get(m)))
        self.add(text, run, out, self.op_meta(n, m))

    # -- indexing ----------------------------------------------------------------------------
    def key(self, shape, for_write=False):
        comps = []
        nd = len(shape)
        d = 0
        ellipsis_used = False
        while d < nd:
            if self.chance(10):
                comps.append(("none",))
            if not ellipsis_used and self.chance(10):
                skip = self.int(0, nd - d)
                comps.append(("ellipsis",))
                ellipsis_used = True
                d += skip
                continue
            n = shape[d]
            r = self.int(0, 99)
            if r < 30:
                comps.append(("slice", None, None, None))
            elif r < 55:
                step = self.choice((None, 1, 2, -1, -2, 3))
                lo, hi = self.choice((None, 0, 1, -1, n, -n - 1, 2)), self.choice(
                    (None, 0, -1, n, n + 2, 1, -2))
                comps.append(("slice", lo, hi, step))
            elif r < 70 and n > 0:
                comps.append(("int", self.int(-n, n - 1)))
            elif r < 88:
                k = self.int(0, 4)
                if n == 0:
                    idx = []
                elif for_write:
                    idx = list(self.perm(n))[:k]
                    idx = [i - n if self.chance(30) else i for i in idx]
                else:
                    idx = [self.int(-n, n - 1) for _ in range(k)]
                if self.chance(15) and len(idx) >= 2 and len(idx) % 2 == 0:
                    idx = [idx[:len(idx) // 2], idx[len(idx) // 2:]]      # a 2-d index array
                comps.append(("arr", idx))
            else:
                m = self.int(1, min(2, nd - d))
                mshape = shape[d:d + m]
                bits = [self.chance(50) for _ in range(math.prod(mshape))]
                comps.append(("mask", np.array(bits, dtype=bool).reshape(mshape)))
                d += m
                continue
            d += 1
        if not ellipsis_used and self.chance(10):
            comps.insert(self.int(0, len(comps)), ("ellipsis",))
        if self.chance(10):
            comps.append(("none",))
        if sum(c[0] == "arr" for c in comps) + sum(c[0] == "mask" for c in comps) > 1:
            # several index arrays broadcast together: make them agree
            # (a dropped index becomes full slices over the dims it took)
            full = ("slice", None, None, None)
            drop = "arr" if self.chance(50) else "mask"
            comps = [x for c in comps for x in (
                [c] if c[0] != drop else [full] * (c[1].ndim if drop == "mask" else 1))]
            arrs = [i for i, c in enumerate(comps) if c[0] == "arr"]
            if arrs:
                first = comps[arrs[0]][1]
                for i in arrs[1:]:
                    c = comps[i][1]
                    if np.shape(c) != np.shape(first) and np.size(c) and np.shape(first):
                        comps[i] = ("slice", None, None, None)
        return Key(tuple(comps))

    def step_getitem(self):
        n = self.pick()
        key = self.key(self.shape(n))
        out = self.fresh()
        text = f"{out} = {n}[{key}]"
        meta = Meta("op", self.meta[n].group if not key.advanced() else self.fresh("g"),
                    self.meta[n].float32)

        def run(s):
            r = s.getitem(n, key)
            if isinstance(s, Torch):
                s._set(out, *r)
            else:
                s.put(out, r)
        self.add(text, run, out, meta)

    def writable(self, n):
        """A target for an in-place op: not a leaf (nor a view of one), memory not shared
        with a reshape/flatten result; a leaf that requires grad sometimes (both refuse)."""
        m = self.meta[n]
        root = self.meta.get(m.group)
        if m.group in self.frozen:
            return False
        if root is not None and root.kind == "const":
            return False
        if root is not None and root.kind == "leaf":
            return self.chance(5)
        return True

    def note_write(self, n):
        group = self.meta[n].group
        if any(self.torch.flips(m) for m in self.meta
               if self.meta[m].group == group and m in self.torch.env):
            self.weak_version_oracle = True

    def step_inplace(self):
        n = self.pick(self.writable)
        if n is None:
            return
        if self.chance(45):
            v = as_numpy(self.tval(n))
            names = [k for k in sorted(UNARY) if k not in NO_INPLACE and SQUASH[UNARY[k]][0](v)]
            name = self.choice(names) + "_"
            text = f"{n}.{name}()"

            def run(s):
                s.inplace(n, name)
        else:
            method = self.choice(INPLACE_BINARY)
            b_text, b_get, used = self.operand(self.shape(n), method != "copy_")
            if method in ("div_", "__itruediv__"):
                if used:
                    b_text, b_get = self.squashed(used[0], "nonzero")
                elif b_text in ("0", "0.0"):
                    return
            text = f"{n}.{method}({b_text})"

            def run(s):
                b = b_get(s)
                if method == "copy_" and isinstance(b, (int, float)):
                    b = s.tensor_of(b)
                s.inplace(n, method, b)
        self.note_write(n)
        self.add(text, run)

    def step_setitem(self):
        n = self.pick(self.writable)
        if n is None:
            return
        key = self.key(self.shape(n), for_write=True)
        try:
            sub = as_numpy(self.torch.getitem(n, key)[0]).shape
        except Exception:    # noqa: BLE001  (an invalid key: PyTorch raises in add())
            sub = ()
        # (NumPy refuses a value with more dims than x[mask] has, PyTorch drops leading 1s;
        # NumPy takes any empty value into an empty selection, PyTorch checks its shape)
        masked = any(c[0] == "mask" for c in key.comps) or math.prod(sub) == 0
        b_text, b_get, _ = self.operand(sub, max_ndim=len(sub) if masked else None)
        self.note_write(n)
        self.add(f"{n}[{key}] = {b_text}", lambda s: s.setitem(n, key, b_get(s)))

    # -- risky: hooks, fast paths, many dimensions (run in a subprocess) ----------------------
    def step_hook(self):
        n = self.pick(lambda m: self.tval(m).requires_grad)
        if n is None:
            return
        c = self.choice((2.0, -1.0, 0.5))
        layout = tuple(self.choice(LAYOUTS[1:]) for _ in range(self.int(1, 2)))
        big = self.chance(50)
        raw = self.chance(30)
        what = "ndarray" if raw else "ad.from_numpy"
        text = (f"{n}.register_hook(lambda g: {what}(relayout(g.detach().numpy() * {c}, "
                f"{layout}, big_endian={big})))")

        def run(s):
            def hook(g):
                a = relayout(as_numpy(g) * c, layout, big)
                if isinstance(s, Torch):
                    return torch.tensor(native(a))
                return a if raw else ad.from_numpy(a)
            s.get(n).register_hook(hook)
        t = self.torch.env[n][0]
        if self.torch.flips(n) or t._is_view() and t._version:
            # (PyTorch would hook a flipped copy; PyTorch 2.13 segfaults registering a hook
            # on a view whose memory was written in place: `v = y[...]; v[...] = 3;
            # y[...] = 1; v.register_hook(f)`)
            return
        self.hooked.add(n)
        self.add(text, run)

    def step_fast(self):
        r = self.int(0, 3)
        if r == 0:      # stack of 0-d float64 tensors
            zs = [m for m in self.meta if self.shape(m) == () and not self.meta[m].float32]
            while len(zs) < 2:
                zs.append(self.new_leaf((), float32=False))
            names = [self.choice(zs) for _ in range(self.int(1, 5))]
            out = self.fresh()
            self.add(f"{out} = ad.stack([{', '.join(names)}])",
                     lambda s: s.put(out, s.lib.stack([s.get(m) for m in names])),
                     out, self.op_meta(*names))
        elif r == 1:    # softmax of a short float64 vector
            n = self.pick(lambda m: len(self.shape(m)) == 1 and not self.meta[m].float32)
            n = n or self.new_leaf((self.int(1, 64),), float32=False)
            if n is None:
                return
            out = self.fresh()
            self.add(f"{out} = ad.softmax({n}, dim=-1)",
                     lambda s: s.put(out, s.lib.softmax(s.get(n), dim=-1)), out, self.op_meta(n))
        elif r == 2:    # x[i] of a vector
            n = self.pick(lambda m: len(self.shape(m)) == 1 and self.shape(m)[0] > 0)
            if n is None:
                return
            i = self.int(-self.shape(n)[0], self.shape(n)[0] - 1)
            key = Key((("int", i),))
            out = self.fresh()

            def run(s):
                r = s.getitem(n, key)
                s._set(out, *r) if isinstance(s, Torch) else s.put(out, r)
            self.add(f"{out} = {n}[{i}]", run, out,
                     Meta("op", self.meta[n].group, self.meta[n].float32))
        else:           # a chain of scalar ops
            n = self.pick(lambda m: self.shape(m) == ())
            n = n or self.new_leaf((), float32=False)
            if n is None:
                return
            name = self.choice(("sin", "cos", "exp", "tanh", "sigmoid", "neg"))
            arg, get = self.squashed(n, UNARY[name])
            out = self.fresh()
            self.add(f"{out} = ad.{name}({arg}) * {arg} + 1.0",
                     lambda s: s.put(out, unary_fn(s, name)(get(s)) * get(s) + 1.0),
                     out, self.op_meta(n))

    def step_highdim(self):
        nd = self.int(30, 40)
        shape = [1] * nd
        for _ in range(self.int(1, 3)):
            shape[self.int(0, nd - 1)] = 2
        n = self.new_leaf(tuple(shape))
        if n is None:
            return
        comps = [("arr", [0, 0] if shape[0] == 1 else [1, 0, 1])] if self.chance(50) else \
            [("ellipsis",), ("arr", [0, -1, 0])]
        key = Key(tuple(comps))
        out = self.fresh()

        def run(s):
            r = s.getitem(n, key)
            s._set(out, *r) if isinstance(s, Torch) else s.put(out, r)
        self.add(f"{out} = {n}[{key}]", run, out, self.op_meta(n))

    step_leaf = new_leaf

    def choose_derivatives(self):
        live = [n for n in self.meta if self.tval(n).requires_grad]
        ops = [n for n in live if self.meta[n].kind == "op"]
        self.outputs = sorted(set(self.choice(ops[::-1]) for _ in range(self.int(1, 3)))) \
            if ops else []
        self.wrt = [n for n in live if self.meta[n].kind == "leaf"]
        # (a result held flipped on the PyTorch side is a new copy at each read there: it
        # cannot be an input of autograd.grad or retain its grad)
        # (nor one that PyTorch returned as the same object as another, as its
        # flatten(0, 0) may: it would stand for both tensors there)
        def aliased(n):
            return any(m != n and self.torch.env[m][0] is self.torch.env[n][0]
                       for m in self.torch.env)
        # (nor one with a hook: PyTorch's captured gradient for a hooked output is hooked
        # or not depending on which other inputs are asked for)
        plain = [n for n in ops if not self.torch.flips(n) and n not in self.hooked
                 and not aliased(n)]
        if plain and self.chance(30):
            self.wrt.append(self.choice(plain))
        plain = [n for n in self.outputs if not self.torch.flips(n) and not aliased(n)]
        self.retain = self.choice(plain) if plain and self.chance(30) else None
        self.odd_cotangents = tuple(self.choice(LAYOUTS) for _ in range(self.int(0, 2)))
        self.seed += 1

    # -- the program and its check -----------------------------------------------------------
    def text(self):
        lines = []
        for s in self.steps:
            lines.append(f"{s.text}    # PyTorch raises {s.torch_error}" if s.torch_error
                         else s.text)
        return "\n".join(lines)


def relayout(a, layout, big_endian):
    """``a``'s values in an odd layout (what a hook may return)."""
    a = np.asarray(a)
    if big_endian:
        a = a.astype(a.dtype.newbyteorder(">"))
    for kind in layout:
        if kind != "broadcast":
            a = _LAYOUT[kind](a)
    return a


def _pack_clone(t):
    return t.clone()


def _unpack(t):
    return t


# ---------------------------------------------------------------------------
# Checking a program
# ---------------------------------------------------------------------------

class Mismatch(AssertionError):
    pass


# One exception class per kind of failure, so that hypothesis reports each kind
# (it tells failures apart by type and place).
class ForwardMismatch(Mismatch):
    pass


class GradientMismatch(Mismatch):
    pass


class SecondOrderMismatch(Mismatch):
    pass


class AutodiffRaised(Mismatch):
    pass


class AutodiffAccepted(Mismatch):
    pass


class InplaceCheckMismatch(Mismatch):
    pass


INPLACE_ERROR = "modified by an inplace operation"
EXPAND_WRITE_ERROR = "more than one element of the written-to tensor refers to a single"


def _dtype_name(t):
    if isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return np.dtype(t.dtype).newbyteorder("=").name


def _close(got, want, tol):
    """(ok, why): ``got`` (autodiff) against ``want`` (PyTorch), both tensors or None."""
    if got is None or want is None:
        if got is None and want is None:
            return True, ""
        return False, f"got {'None' if got is None else 'a tensor'}, PyTorch gives " \
                      f"{'None' if want is None else 'a tensor'}"
    g, w = as_numpy(got), as_numpy(want)
    if g.shape != w.shape:
        return False, f"shape {g.shape}, PyTorch {w.shape}"
    if _dtype_name(got) != _dtype_name(want):
        return False, f"dtype {_dtype_name(got)}, PyTorch {_dtype_name(want)}"
    g, w = g.astype(np.float64), w.astype(np.float64)
    finite = np.isfinite(w)
    scale = max(1.0, float(np.max(np.abs(w[finite]), initial=0.0)))
    if np.allclose(g, w, rtol=tol, atol=tol * scale, equal_nan=True):
        return True, ""
    return False, f"values differ:\n  autodiff {g!r}\n  PyTorch  {w!r}"


class Checker:
    def __init__(self, b: Builder):
        self.b = b
        self.program = b.text()
        self.tol = 2e-4 if any(m.float32 for m in b.meta.values()) else 1e-10

    def fail(self, cls, what):
        raise cls(f"{what}\n--- program (import autodiff as ad; odd = torch_programs.odd) ---\n"
                  f"{self.program}\n--- derivatives: outputs {self.b.outputs}, wrt {self.b.wrt}"
                  f", retain_grad {self.b.retain}, cotangent layout {self.b.odd_cotangents}")

    def compare(self, cls, what, got, want):
        ok, why = _close(got, want, self.tol)
        if not ok:
            self.fail(cls, f"{what}: {why}")

    def run(self):
        b = self.b
        A = Ad()
        for step in b.steps:
            try:
                step.run(A)
            except Exception as exc:    # noqa: BLE001
                if step.torch_error is None:
                    self.fail(AutodiffRaised, f"autodiff raised {type(exc).__name__}: {exc}\n"
                              f"  at `{step.text}`, which PyTorch runs")
                continue
            if step.torch_error is not None:
                self.fail(AutodiffAccepted, f"autodiff accepted `{step.text}`, which PyTorch "
                          f"rejects ({step.torch_error})")
        for n in b.meta:
            got, want = A.get(n), b.torch.get(n)
            self.compare(ForwardMismatch, f"value of {n}", got, want)
            if bool(got.requires_grad) != bool(want.requires_grad):
                self.fail(ForwardMismatch, f"{n}.requires_grad is {got.requires_grad}, "
                          f"PyTorch {want.requires_grad}")
        for n, want in b.torch.aux.items():
            got = A.aux[n]
            if not np.array_equal(as_numpy(got), as_numpy(want)):
                self.fail(ForwardMismatch, f"{n}: {as_numpy(got)!r}, PyTorch {as_numpy(want)!r}")
        if not b.outputs or not b.wrt:
            return
        with torch.autograd.graph.saved_tensors_hooks(_pack_clone, _unpack):
            ref = derivatives(b.torch, b)
        got = derivatives(A, b)
        for phase in ("grad", "backward", "grad2"):
            r, g = ref[phase], got[phase]
            if isinstance(r, NotImplementedError) or phase == "grad2" and b.singular:
                continue
            if isinstance(r, Exception):
                if not isinstance(g, Exception) and EXPAND_WRITE_ERROR not in str(r):
                    self.fail(AutodiffAccepted, f"{phase}: autodiff runs, PyTorch raises {r!r}")
                continue
            if isinstance(g, Exception):
                if INPLACE_ERROR in str(g) and self.inplace_error_ok(phase):
                    continue
                self.fail(AutodiffRaised, f"{phase}: autodiff raised {type(g).__name__}: {g}")
            cls = SecondOrderMismatch if phase == "grad2" else GradientMismatch
            for label, x, y in zip(_labels(b, phase), g, r):
                self.compare(cls, f"{phase} {label}", x, y)

    def inplace_error_ok(self, phase):
        """autodiff refused a saved tensor changed in place: PyTorch (without the cloning
        hook) must refuse the same program at the same point."""
        if self.b.weak_version_oracle:
            return True      # PyTorch held a flipped copy where autodiff held a view
        T = Torch()
        for step in self.b.steps:
            if step.torch_error is None:
                step.run(T)
        plain = derivatives(T, self.b)
        r = plain[phase]
        if isinstance(r, Exception) and INPLACE_ERROR in str(r) or T.copied:
            return True
        self.fail(InplaceCheckMismatch, f"{phase}: autodiff raises '{INPLACE_ERROR}', "
                  "PyTorch runs the program")


def _labels(b, phase):
    leaves = [n for n in b.wrt if b.meta[n].kind == "leaf"]
    if phase == "backward":
        return [f"{n}.grad" for n in leaves] + \
            ([f"{b.retain}.grad (retain_grad)"] if b.retain else [])
    return [f"d/d{n}" for n in (leaves if phase == "grad2" else b.wrt)]


def derivatives(side, b):
    """First derivatives (autograd.grad, backward) and second ones, each an exception
    if it raised."""
    lib = side.lib
    rng = np.random.default_rng(b.seed)
    outs = [side.get(n) for n in b.outputs]
    wrt = [side.get(n) for n in b.wrt]
    cots = []
    for o in outs:
        c = rng.standard_normal(tuple(o.shape)).astype(_dtype_name(o))
        if isinstance(side, Ad) and b.odd_cotangents:
            cots.append(ad.from_numpy(relayout(c, b.odd_cotangents, False)))
        else:
            cots.append(side.tensor_of(c))
    proj = [rng.standard_normal(tuple(w.shape)) for w in wrt]
    res: dict[str, Any] = {}
    try:
        res["grad"] = lib.autograd.grad(outs, wrt, cots, retain_graph=True, allow_unused=True)
    except Exception as exc:     # noqa: BLE001
        res["grad"] = exc
    try:
        retained = side.get(b.retain) if b.retain else None
        if retained is not None:
            retained.retain_grad()
        lib.autograd.backward(outs, cots, retain_graph=True)
        res["backward"] = [w.grad for n, w in zip(b.wrt, wrt) if b.meta[n].kind == "leaf"] + \
            ([retained.grad] if retained is not None else [])
    except Exception as exc:     # noqa: BLE001
        res["backward"] = exc
    try:
        h = lib.autograd.grad(outs, wrt, cots, create_graph=True, allow_unused=True)
        terms = [(x * side.tensor_of(p.astype(_dtype_name(x)))).sum()
                 for x, p in zip(h, proj) if x is not None and x.requires_grad]
        # second derivatives with respect to the leaves only: with respect to a result
        # they depend on how a rule is written (in the op's output or its inputs)
        leaves = [w for n, w in zip(b.wrt, wrt) if b.meta[n].kind == "leaf"]
        if terms:
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            g2 = lib.autograd.grad(total, leaves, allow_unused=True)
            res["grad2"] = [side.tensor_of(np.zeros(w.shape, _dtype_name(w))) if x is None
                            else x for x, w in zip(g2, leaves)]
        else:
            res["grad2"] = [side.tensor_of(np.zeros(w.shape, _dtype_name(w))) for w in leaves]
    except Exception as exc:     # noqa: BLE001
        res["grad2"] = exc
    return res


def check(b: Builder) -> None:
    Checker(b).run()


def main(argv):
    """``python torch_programs.py FIRST_SEED COUNT [--risky]``: check COUNT seeded programs,
    print each failure (with its seed and program) and exit 1 if there was one. Each
    program is printed before it runs, so that a crash shows the program that caused it."""
    import warnings
    warnings.simplefilter("ignore")
    first, count = int(argv[1]), int(argv[2])
    risky = "--risky" in argv
    failures = 0
    for seed in range(first, first + count):
        try:
            b = Builder(SeededDraws(seed), risky=risky)
        except Exception as exc:     # noqa: BLE001
            failures += 1
            print(f"FAILED seed {seed}: harness error {exc!r}", file=sys.stderr, flush=True)
            import traceback
            traceback.print_exc()
            continue
        print(f"=== seed {seed}{' --risky' if risky else ''}\n{b.text()}", flush=True)
        try:
            check(b)
        except Exception as exc:     # noqa: BLE001  (a harness error is reported too)
            failures += 1
            print(f"FAILED seed {seed}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
