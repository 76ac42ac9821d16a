"""Linear algebra. matmul follows NumPy's 1-d and batched rules in both directions."""
from __future__ import annotations

import numpy as np

from ._registry import LINEAR, MULTILINEAR, defop
from .reduce import _norm_forward
from ._util import call_op, is_tensor


# ``@`` and ``.swapaxes`` work on arrays and Tensors alike and skip NumPy's function
# dispatch (~1 us a call on the small matrices of an MLP). Each input's rule reads the
# other input and only its own shape: as PyTorch, the node saves x only when y needs
# a gradient (and y only when x does), so an in-place op on the other one is fine.
def _matmul_grad_x(g, x_shape, y):
    if y.ndim == 1:
        return g[..., None] * y
    if len(x_shape) == 1:
        return (g[..., None, :] @ y.swapaxes(-1, -2))[..., 0, :]
    return g @ y.swapaxes(-1, -2)


def _matmul_grad_y(g, x, y_shape):
    if x.ndim == 1 and len(y_shape) == 1:
        return g[..., None] * x
    if x.ndim == 1:
        return x[:, None] * g[..., None, :]
    if len(y_shape) == 1:
        return (x.swapaxes(-1, -2) @ g[..., None])[..., 0]
    return x.swapaxes(-1, -2) @ g


def _matmul_node_name(raw, params):
    # PyTorch names matmul's node after the kernel it dispatched to (an array's own
    # .ndim skips np.ndim's __array_function__ dispatch, ~0.4 us; this runs per matmul)
    x, y = raw
    nx = x.ndim if type(x) is np.ndarray else np.ndim(x)
    ny = y.ndim if type(y) is np.ndarray else np.ndim(y)
    if nx == 2 and ny == 2:
        return None
    if nx == 1 and ny == 1:
        return "DotBackward0"
    if nx == 2 and ny == 1:
        return "MvBackward0"
    if nx == 1 and ny == 2:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


@defop(vjp={"x": _matmul_grad_x, "y": _matmul_grad_y}, jvp=MULTILINEAR, batch_ok=True,
       node_name="MmBackward0", node_names=_matmul_node_name, node_names_by_ndim=True,
       forward_direct=np.matmul)
def matmul(x, y):
    return np.matmul(x, y)


# -- einsum ----------------------------------------------------------------------
# One op for two operands with explicit subscripts ("ij,jk->ik", no ellipsis, no
# implicit output): the public ``einsum`` parses any NumPy subscripts into a
# chain of these (a single operand is paired with a constant 1). The forward
# prefixes every term with "..." so that leading batch axes on a gradient or a
# tangent pass through (batch_ok).
def _einsum_terms(subscripts):
    ins, out = subscripts.split("->")
    a, b = ins.split(",")
    return a, b, out


def _einsum_adjoint(g, other, s_out, s_other, s_target, target_shape):
    """Gradient for the operand with subscripts ``s_target``: an einsum of ``g`` and the other.

    A label repeated in the target (a diagonal, "ii") gets a fresh label tied to
    the first one by an identity matrix; a label only the target has (summed
    within it) is broadcast back by a vector of ones.
    """
    used = set(s_out) | set(s_other)
    taken = used | set(s_target)
    fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in taken)
    ops, terms, target, seen = [g, other], ["..." + s_out, "..." + s_other], [], set()
    for lab, n in zip(s_target, target_shape):
        if lab in seen:
            f = next(fresh)
            ops.append(np.eye(n, dtype=g.dtype))
            terms.append(lab + f)
            target.append(f)
            continue
        seen.add(lab)
        target.append(lab)
        if lab not in used:
            ops.append(np.ones(n, dtype=g.dtype))
            terms.append(lab)
            used.add(lab)
    return np.einsum(",".join(terms) + "->..." + "".join(target), *ops)


def _einsum_grad_a(g, b, a_shape, subscripts):
    sa, sb, so = _einsum_terms(subscripts)
    return _einsum_adjoint(g, b, so, sb, sa, a_shape)


def _einsum_grad_b(g, a, b_shape, subscripts):
    sa, sb, so = _einsum_terms(subscripts)
    return _einsum_adjoint(g, a, so, sa, sb, b_shape)


@defop(vjp={"a": _einsum_grad_a, "b": _einsum_grad_b}, jvp=MULTILINEAR, batch_ok=True,
       node_name="EinsumBackward0")
def einsum(a, b, subscripts):
    sa, sb, so = _einsum_terms(subscripts)
    a, b = np.asarray(a), np.asarray(b)
    # NumPy's einsum only calls BLAS when asked to optimise; for tiny operands the
    # path search costs more than it saves.
    big = a.size * b.size > 4096
    return np.einsum(f"...{sa},...{sb}->...{so}", a, b, optimize=big)


# -- trace ---------------------------------------------------------------------------
# The sum of the main diagonal of an m x n matrix (not only a square one), as NumPy's
# and PyTorch's. The gradient is g on that diagonal: g times the m x n identity
# (g may carry leading batch axes).
def _trace_grad(g, x_shape):
    eye = np.eye(x_shape[-2], x_shape[-1], dtype=g.dtype)
    return np.expand_dims(g, (-2, -1)) * eye


@defop(vjp={"x": _trace_grad}, jvp=LINEAR, batch_ok=True, node_name="TraceBackward0")
def trace(x):
    return np.trace(x, axis1=-2, axis2=-1)


# -- inverse, determinants, solve ----------------------------------------------------
# Custom JVP rules are written with the inputs, never ``out``: in forward mode
# ``out`` is a constant, so a rule that read it could not be differentiated again.
def _mT(x):
    return np.swapaxes(x, -1, -2)


def _inv_grad(g, out):
    return -np.matmul(np.matmul(_mT(out), g), _mT(out))


def _inv_jvp(x, t_x):
    y = np.linalg.inv(x)
    return -np.matmul(np.matmul(y, t_x), y)


@defop(vjp={"x": _inv_grad}, jvp=_inv_jvp, batch_ok=True, node_name="LinalgInvExBackward0")
def inv(x):
    return np.linalg.inv(x)


def _det_grad(g, x, out):
    # d det(X) = det(X) tr(X^-1 dX); assumes X invertible
    return (g * out)[..., None, None] * _mT(np.linalg.inv(x))


def _logdet_tangent(x, t_x):
    return np.trace(np.linalg.solve(x, t_x), axis1=-2, axis2=-1)


@defop(vjp={"x": _det_grad}, jvp=lambda x, t_x: np.linalg.det(x) * _logdet_tangent(x, t_x),
       batch_ok=True, node_name="LinalgDetBackward0")
def det(x):
    return np.linalg.det(x)


def _slogdet_grad(g, x):
    g_logabs = g[1]
    if g_logabs is None:
        return None
    return g_logabs[..., None, None] * _mT(np.linalg.inv(x))


@defop(vjp={"x": _slogdet_grad}, jvp=lambda x, t_x: (None, _logdet_tangent(x, t_x)),
       outputs=2, diff_outputs=(False, True), batch_ok=True, node_name="LinalgSlogdetBackward0")
def slogdet(x):
    sign, logabsdet = np.linalg.slogdet(x)
    return sign, logabsdet


def _solve_grad_a(g, a, out):
    gb = np.linalg.solve(_mT(a), g)
    return -np.matmul(gb, _mT(out))


def _solve_jvp(a, b, t_a, t_b):
    rhs = t_b
    if t_a is not None:
        corr = np.matmul(t_a, np.linalg.solve(a, b))
        rhs = -corr if rhs is None else rhs - corr
    return np.linalg.solve(a, rhs)


# ``b`` is a (batch of) matrices here: the public ``solve`` turns vectors into columns.
@defop(vjp={"a": _solve_grad_a, "b": lambda g, a: np.linalg.solve(_mT(a), g)},
       jvp=_solve_jvp, node_name="LinalgSolveExBackward0")
def solve(a, b):
    return np.linalg.solve(a, b)


# -- factorizations -----------------------------------------------------------------
def _phi(x):
    """Lower triangle with the diagonal halved."""
    return np.tril(x, -1) + 0.5 * x * np.eye(x.shape[-1], dtype=x.dtype)


def _cholesky_grad(g, out):
    # For A = L L^T:  gA = sym(L^-T Phi(L^T gL) L^-1)
    l_inv = np.linalg.inv(out)
    return _sym(np.matmul(np.matmul(_mT(l_inv), _phi(np.matmul(_mT(out), g))), l_inv))


def _sym(x):
    return 0.5 * (x + _mT(x))


# cholesky and eigh read one triangle of a matrix that is meant to be symmetric:
# like PyTorch, their derivatives are those of the symmetric input (gradients are
# symmetrized; tangents too, so that forward and reverse mode agree).
def _cholesky_jvp(x, t_x):
    low = np.linalg.cholesky(x)
    l_inv = np.linalg.inv(low)
    return np.matmul(low, _phi(np.matmul(np.matmul(l_inv, _sym(t_x)), _mT(l_inv))))


@defop(vjp={"x": _cholesky_grad}, jvp=_cholesky_jvp, batch_ok=True,
       node_name="LinalgCholeskyExBackward0")
def cholesky(x):
    return np.linalg.cholesky(x)


def _eigh_parts(x, out):
    # For a multi-output op the engine cannot rebuild ``out`` as Tensors on a
    # recorded backward, so there the decomposition is recomputed (differentiably).
    if isinstance(out, tuple) and not any(is_tensor(o) for o in out) and not is_tensor(x):
        return out
    w, v = np.linalg.eigh(x)
    return w, v


def _eigh_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    eye = np.eye(w.shape[-1], dtype=w.dtype)
    return (1 - eye) / (w[..., None, :] - w[..., :, None] + eye)


def _eigh_grad(g, x, out):
    gw, gv = g
    w, v = _eigh_parts(x, out)
    inner = 0.0
    if gw is not None:
        inner = gw[..., :, None] * np.eye(w.shape[-1], dtype=w.dtype)
    if gv is not None:
        inner = inner + _eigh_gaps(w) * np.matmul(_mT(v), gv)
    return _sym(np.matmul(np.matmul(v, inner), _mT(v)))


def _eigh_jvp(x, t_x):
    w, v = np.linalg.eigh(x)
    p = np.matmul(np.matmul(_mT(v), _sym(t_x)), v)
    return np.diagonal(p, 0, -2, -1), np.matmul(v, _eigh_gaps(w) * p)


@defop(vjp={"x": _eigh_grad}, jvp=_eigh_jvp, outputs=2, node_name="LinalgEighBackward0")
def eigh(x):
    w, v = np.linalg.eigh(x)
    return w, v


# -- norms ---------------------------------------------------------------------
def _vnorm_forward(x, ord, axis, keepdims):
    return _norm_forward(x, axis, keepdims, ord)   # the same vector norm as Tensor.norm


def _vnorm_direction(x, out, ord, axis, keepdims):
    """d norm / d x, broadcast to x's shape (a subgradient where the norm has a kink)."""
    n = out if keepdims else np.expand_dims(out, axis)
    if ord == 0:
        return x * 0.0
    if ord == 1:
        return np.sign(x)
    if ord == np.inf or ord == -np.inf:
        # at ties the gradient is split evenly between the extreme entries
        hit = np.abs(x) == n
        return np.sign(x) * hit / np.sum(hit, axis=axis, keepdims=True)
    safe = np.where(n == 0, 1.0, n)
    if ord == 2:
        return np.where(n == 0, 0.0, x / safe)
    return np.where(n == 0, 0.0, np.sign(x) * np.power(np.abs(x) / safe, ord - 1))


def _vnorm_grad(g, x, out, ord, axis, keepdims):
    gg = g if keepdims else np.expand_dims(g, axis)
    return gg * _vnorm_direction(x, out, ord, axis, keepdims)


def _vnorm_jvp(x, t_x, ord, axis, keepdims):
    out = call_op(vector_norm, x, ord, axis, keepdims)
    return np.sum(_vnorm_direction(x, out, ord, axis, keepdims) * t_x, axis=axis,
                  keepdims=keepdims)


# ``axis`` is a tuple of negative ints (the public functions normalise it).
@defop(vjp={"x": _vnorm_grad}, jvp=_vnorm_jvp, batch_ok=True,
       node_name="LinalgVectorNormBackward0")
def vector_norm(x, ord=2, axis=None, keepdims=False):
    return _vnorm_forward(x, ord, axis, keepdims)
