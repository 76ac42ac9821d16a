"""autodiff._kernels (compiled sin/cos) and autodiff.ops._fast, which picks them or NumPy.

The reference is libm through math.sin/math.cos (correctly rounded to within 1 ulp
on glibc), so the accuracy checks do not depend on how NumPy computes np.sin.
"""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autodiff as ad
from autodiff import _kernels as K
from autodiff.ops import _fast

MAX = K.MAX_ARG
RNG_SEED = 20240611


def libm(fn, x):
    return np.array([fn(v) for v in np.asarray(x, dtype=np.float64).ravel()]).reshape(np.shape(x))


def max_ulp(got, ref):
    """Largest |got - ref| in units of ref's last place (nan == nan)."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape and got.dtype == np.float64
    same_nan = np.isnan(got) & np.isnan(ref)
    assert not (np.isnan(got) ^ np.isnan(ref)).any(), "nan where libm has a number, or back"
    err = np.abs(got - ref) / np.spacing(np.abs(ref))
    return float(np.max(np.where(same_nan, 0.0, err), initial=0.0))


@pytest.fixture
def threads():
    """Restores the kernels' thread count after a test changes it."""
    before = K.get_num_threads()
    yield
    K.set_num_threads(before)


def signed_uniform(rng, lo, hi, n):
    return rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)


RANGES = {
    "tiny [0, 1e-6]": (0.0, 1e-6),
    "[0, 1]": (0.0, 1.0),
    "[0, pi]": (0.0, math.pi),
    "[0, 100]": (0.0, 100.0),
    "[0, 1e4]": (0.0, 1e4),
    "below the libm threshold [MAX-1e3, MAX]": (MAX - 1e3, MAX),
    "above it [MAX, 1e6]": (MAX, 1e6),
}


@pytest.mark.parametrize("name", list(RANGES))
@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_within_2_ulp_of_libm_on_random_points(fn, name):
    rng = np.random.default_rng(RNG_SEED)
    x = signed_uniform(rng, *RANGES[name], 200_000)
    assert max_ulp(getattr(K, fn)(x), libm(getattr(math, fn), x)) <= 2.0


@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_within_2_ulp_on_huge_arguments(fn):
    rng = np.random.default_rng(RNG_SEED)
    x = 10.0 ** rng.uniform(6, 300, 100_000) * rng.choice([-1.0, 1.0], 100_000)
    assert max_ulp(getattr(K, fn)(x), libm(getattr(math, fn), x)) <= 2.0


def nearest_to_multiples_of_half_pi():
    """Doubles at and around k*pi/2 for every k the fast path reaches: the hardest
    arguments for the range reduction (x - k*pi/2 cancels down to ~1e-17)."""
    k = np.arange(1, int(MAX / (math.pi / 2)) + 2, dtype=np.float64)
    mid = k * (math.pi / 2)   # within an ulp or two of k*pi/2
    up1, down1 = np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf)
    x = np.concatenate([mid, up1, down1, np.nextafter(up1, np.inf), np.nextafter(down1, -np.inf)])
    x = x[x <= MAX]
    return np.concatenate([x, -x])


@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_within_2_ulp_next_to_multiples_of_half_pi(fn):
    x = nearest_to_multiples_of_half_pi()
    ref = libm(getattr(math, fn), x)
    assert np.min(np.abs(ref)) < 1e-15   # the set does hold results that cancel
    assert max_ulp(getattr(K, fn)(x), ref) <= 2.0


def special_values():
    sub = np.array([5e-324, 1e-310, 2.2250738585072009e-308])   # subnormals
    tiny = 2.0 ** -27
    edge = [tiny, np.nextafter(tiny, 0), np.nextafter(tiny, 1), MAX, np.nextafter(MAX, np.inf),
            np.nextafter(MAX, 0), 1e-300, np.finfo(np.float64).max]
    vals = np.concatenate([[0.0, np.nan, np.inf], sub, edge])
    return np.concatenate([vals, -vals])


def test_special_values_exact():
    x = special_values()
    assert x.size >= K.MIN_SIZE
    s, c = K.sin(x), K.cos(x)
    zero = x == 0
    assert np.array_equal(np.signbit(s[zero]), np.signbit(x[zero]))   # sin(-0.0) == -0.0
    assert np.all(c[zero] == 1.0)
    bad = ~np.isfinite(x)                                              # nan, +-inf -> nan
    assert np.isnan(s[bad]).all() and np.isnan(c[bad]).all()
    sub = (x != 0) & (np.abs(x) < np.finfo(np.float64).tiny)
    assert sub.sum() == 6
    assert np.array_equal(s[sub], x[sub]) and np.all(c[sub] == 1.0)
    ok = ~bad
    assert max_ulp(s[ok], libm(math.sin, x[ok])) <= 1
    assert max_ulp(c[ok], libm(math.cos, x[ok])) <= 1


def test_fused_backward_is_g_times_cos_in_one_rounding():
    rng = np.random.default_rng(RNG_SEED)
    x = signed_uniform(rng, 0, 50, 100_000)
    x[::1000] = np.nan
    x[1::1000] = 3e6                     # libm fix-up path
    g = rng.standard_normal(x.size)
    sb, cb = K.sin_backward(g, x), K.cos_backward(g, x)
    assert np.array_equal(sb, g * K.cos(x), equal_nan=True)
    assert np.array_equal(cb, -g * K.sin(x), equal_nan=True)
    assert max_ulp(sb, g * libm(math.cos, x)) <= 3   # 2 ulp of cos + the product's rounding
    assert max_ulp(cb, -g * libm(math.sin, x)) <= 3


def test_tanh_backward_rounds_as_numpy_three_passes():
    # one pass, no contraction: the same bits as NumPy's y*y, 1 - that, g * that
    rng = np.random.default_rng(RNG_SEED)
    y = np.tanh(rng.standard_normal(100_003))
    y[::1000] = np.nan
    y[1::1000] = 1.0
    g = rng.standard_normal(y.size)
    want = g * (1.0 - y * y)
    assert np.array_equal(K.tanh_backward(g, y), want, equal_nan=True)
    assert np.array_equal(_fast.tanh_backward(g, y), want, equal_nan=True)
    f = np.asfortranarray(y[:3000].reshape(60, 50))
    gf = np.asfortranarray(g[:3000].reshape(60, 50))
    out = K.tanh_backward(gf, f)
    assert out.flags.f_contiguous and np.array_equal(out, gf * (1.0 - f * f), equal_nan=True)
    with pytest.raises(ValueError):
        K.tanh_backward(np.ones(y.size - 1), y)


def test_tanh_backward_falls_back_for_what_the_kernel_cannot_take():
    y = np.tanh(np.linspace(-3, 3, 400))
    g = np.broadcast_to(np.float64(1.5), y.shape)        # stride 0, as from sum's VJP
    assert not K.usable_pair(g, y)
    assert np.array_equal(_fast.tanh_backward(g, y), g * (1 - y * y))
    g32 = np.ones(y.shape, np.float32)
    assert _fast.tanh_backward(g32, y).dtype == np.float64
    batched = np.ones((3,) + y.shape)                    # leading batch axis (forward mode)
    assert np.array_equal(_fast.tanh_backward(batched, y), batched * (1 - y * y))


def test_relu_backward_kernel_and_fallback_agree_with_threshold_backward():
    # PyTorch's threshold_backward: 0 where x <= 0 (even for a nan or inf g), else g
    # (also where x is nan)
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal(10_007)
    x[::97] = 0.0
    x[1::101] = np.nan
    g = rng.standard_normal(x.size)
    g[2::7] = np.inf
    g[3::11] = np.nan
    want = np.array([0.0 if xi <= 0 else gi for xi, gi in zip(x, g)])
    assert np.array_equal(K.relu_backward(g, x), want, equal_nan=True)
    assert np.array_equal(_fast.relu_backward(g, x), want, equal_nan=True)
    small = slice(0, K.MIN_SIZE - 1)                     # NumPy's path
    assert not K.usable_pair(g[small], x[small])
    assert np.array_equal(_fast.relu_backward(g[small], x[small]), want[small], equal_nan=True)
    batched = np.stack([g, 2 * g])                       # leading batch axis
    assert np.array_equal(_fast.relu_backward(batched, x), np.stack([want, 2 * want]),
                          equal_nan=True)


def test_all_finite():
    x = np.linspace(-1, 1, 40).reshape(8, 5)
    assert K.all_finite(x) and K.all_finite(np.asfortranarray(x)) and K.all_finite(x[:0])
    for bad in (np.inf, -np.inf, np.nan):
        y = x.copy()
        y[4, 2] = bad
        assert not K.all_finite(y)
        assert not K.all_finite(y[::2])                       # strided: NumPy's answer
        assert not K.all_finite(y.astype(np.float32))
    assert K.all_finite(np.float64(2.0)) and not K.all_finite(np.complex128(1j * np.inf))


def test_rows_pick_sum_and_subtract_at():
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((37, 6))
    t = rng.integers(0, 6, 37)
    rows = np.arange(37)
    assert K.rows_usable(x, t)
    np.testing.assert_allclose(K.rows_pick_sum(x, t), x[rows, t].sum(), rtol=1e-15)
    y = x.copy()
    K.rows_subtract_at(y, t, 0.25)
    want = x.copy()
    want[rows, t] = want[rows, t] - 0.25
    assert np.array_equal(y, want)
    # what they do not take: the caller keeps NumPy's path
    assert not K.rows_usable(x, t.astype(np.int32))
    assert not K.rows_usable(np.asfortranarray(x), t)
    assert not K.rows_usable(x, t[:-1])
    assert not K.rows_usable(x[:, :, None], t)
    with pytest.raises(TypeError):
        K.rows_pick_sum(x, t.astype(np.int32))
    bad = t.copy()
    bad[5] = 6
    with pytest.raises(IndexError):
        K.rows_pick_sum(x, bad)
    y = x.copy()
    with pytest.raises(IndexError):
        K.rows_subtract_at(y, bad, 1.0)
    assert np.array_equal(y, x)                 # checked before any write
    bad[5] = -1
    with pytest.raises(IndexError):
        K.rows_pick_sum(x, bad)


def test_targets_in_range():
    t = np.array([0, 4, 2, 3], np.int64)
    assert K.targets_in_range(t, 5) and not K.targets_in_range(t, 4)
    assert not K.targets_in_range(np.array([1, -1]), 3)
    assert K.targets_in_range(np.array([], np.int64), 1)
    with pytest.raises(TypeError):
        K.targets_in_range(t.astype(np.int32), 5)
    with pytest.raises(TypeError):
        K.targets_in_range(np.zeros((2, 2), np.int64), 5)


@pytest.mark.parametrize("target_dtype", [np.int64, np.int32])
def test_cross_entropy_same_on_kernel_and_numpy_paths(target_dtype):
    # int64 targets take the C row helpers, int32 ones NumPy's fancy indexing
    rng = np.random.default_rng(RNG_SEED)
    z0 = rng.standard_normal((50, 7))
    t0 = rng.integers(0, 7, 50)
    z = ad.tensor(z0, requires_grad=True)
    loss = ad.nn.functional.cross_entropy(z, ad.tensor(t0.astype(target_dtype)))
    loss.backward()
    logp = z0 - z0.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -logp[np.arange(50), t0].mean(), rtol=1e-14)
    want = np.exp(logp)
    want[np.arange(50), t0] -= 1
    np.testing.assert_allclose(z.grad.numpy(), want / 50, rtol=1e-13, atol=1e-17)


def _softmax_numpy(x):
    """ops.nn's NumPy path: shift by the row max (0 where it is inf/nan), exp, row sums."""
    m = np.maximum.reduce(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    e = np.exp(z)
    return z, e, np.add.reduce(e, axis=-1, keepdims=True)


@pytest.mark.parametrize("c", [1, 5, 8, 10, 17, 128, 129, 1000, 4099])
def test_row_softmax_kernels_give_numpys_bits(c):
    # the row sums are NumPy's pairwise sums (blocks of 8, halving above 128): same bits
    x = np.random.default_rng(c).standard_normal((6, c)) * 4
    z, e, s = _softmax_numpy(x)
    np.testing.assert_array_equal(K.rows_minus_max(x), z)
    np.testing.assert_array_equal(K.rows_divide_by_sum(e.copy()), e / s)
    # the log is libm's, NumPy's may round the other way: within one ulp
    got = K.rows_log_softmax_finish(z.copy(), e)
    want = z - np.log(s)
    assert np.all(np.abs(got - want) <= np.spacing(np.abs(want)))


def test_row_softmax_kernels_on_inf_and_nan_rows_match_numpy():
    x = np.array([[1.0, np.nan, 2.0], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0],
                  [np.nan, 1.0, np.inf], [-np.inf, 0.0, 1.0]])
    with np.errstate(all="ignore"):
        z, e, s = _softmax_numpy(x)
        want_softmax, want_log = e / s, z - np.log(s)
    np.testing.assert_array_equal(K.rows_minus_max(x), z)
    np.testing.assert_array_equal(K.rows_divide_by_sum(e.copy()), want_softmax)
    np.testing.assert_array_equal(K.rows_log_softmax_finish(z.copy(), e), want_log)
    t = ad.tensor(x)
    np.testing.assert_array_equal(ad.nn.functional.softmax(t, dim=1).numpy(), want_softmax)
    np.testing.assert_array_equal(ad.nn.functional.log_softmax(t, dim=1).numpy(), want_log)


def test_row_softmax_kernels_refuse_what_they_cannot_take():
    assert not K.rows_2d(np.zeros((3, 0)))          # no column has no max
    assert not K.rows_2d(np.zeros((3, 4), np.float32))
    assert not K.rows_2d(np.zeros((4, 3)).T)
    assert not K.rows_2d(np.zeros(3))
    with pytest.raises(TypeError):
        K.rows_minus_max(np.zeros((4, 3)).T)
    with pytest.raises(ValueError):
        K.rows_log_softmax_finish(np.zeros((2, 3)), np.zeros((3, 2)))
    frozen = np.zeros((2, 3))
    frozen.flags.writeable = False
    with pytest.raises(ValueError):
        K.rows_divide_by_sum(frozen)
    # the public functions take any layout and dtype: the NumPy path
    x = np.random.default_rng(0).standard_normal((4, 5))
    for arr in (x.T, x.astype(np.float32)):
        z, e, s = _softmax_numpy(arr)
        np.testing.assert_allclose(ad.nn.functional.softmax(ad.tensor(arr), dim=-1).numpy(),
                                   e / s, rtol=1e-6)


def test_shape_and_memory_order_kept():
    rng = np.random.default_rng(RNG_SEED)
    x = np.asfortranarray(rng.standard_normal((30, 40)))
    assert K.usable(x)
    out = K.sin(x)
    assert out.shape == x.shape and out.flags.f_contiguous and not out.flags.c_contiguous
    assert np.array_equal(out, K.sin(np.ascontiguousarray(x)))
    g = np.asfortranarray(rng.standard_normal((30, 40)))
    assert K.usable_pair(g, x) and not K.usable_pair(np.ascontiguousarray(g), x)
    assert np.array_equal(K.sin_backward(g, x), g * K.cos(x))
    z = K.cos(np.zeros((0, 5)))
    assert z.shape == (0, 5)


def test_kernels_refuse_what_they_cannot_take():
    x = np.linspace(0, 1, 64)
    with pytest.raises(TypeError):
        K.sin(x.astype(np.float32))
    with pytest.raises(TypeError):
        K.cos(x[::2])
    with pytest.raises(TypeError):
        K.sin([1.0, 2.0])
    with pytest.raises(ValueError):
        K.sin_backward(np.ones(63), x)
    with pytest.raises(ValueError):
        K.set_num_threads(0)


def differs_from_libm(n=20_000):
    """Random points on which the kernel and libm differ somewhere (so equality with
    np.sin shows that NumPy, not the kernel, computed a result)."""
    x = np.random.default_rng(RNG_SEED).uniform(-10, 10, n)
    assert not np.array_equal(K.sin(x), np.sin(x)) and not np.array_equal(K.cos(x), np.cos(x))
    return x


@pytest.mark.parametrize("case", ["strided", "float32", "small", "0-d", "scalar", "big-endian",
                                  "subclass", "list"])
def test_fast_falls_back_to_numpy(case):
    x = differs_from_libm()
    arg = {"strided": x[::2], "float32": x.astype(np.float32), "small": x[:K.MIN_SIZE - 1],
           "0-d": np.array(x[0]), "scalar": np.float64(x[0]), "big-endian": x.astype(">f8"),
           "subclass": x.view(np.recarray), "list": [float(v) for v in x[:100]]}[case]
    assert not K.usable(arg)
    for fast, ref in [(_fast.sin, np.sin), (_fast.cos, np.cos)]:
        got, want = fast(arg), ref(arg)
        assert type(got) is type(want)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        assert np.array_equal(got, want)


def test_fast_uses_the_kernel_for_big_float64():
    x = differs_from_libm()
    assert K.usable(x)
    assert np.array_equal(_fast.sin(x), K.sin(x)) and np.array_equal(_fast.cos(x), K.cos(x))
    g = np.random.default_rng(1).standard_normal(x.size)
    assert np.array_equal(_fast.sin_backward(g, x), K.sin_backward(g, x))
    assert np.array_equal(_fast.cos_backward(g, x), K.cos_backward(g, x))


def test_fast_backward_with_a_g_the_kernel_cannot_take():
    x = differs_from_libm()
    g = np.broadcast_to(np.float64(1.5), x.shape)        # stride 0, as from sum's VJP
    assert not K.usable_pair(g, x)
    assert np.array_equal(_fast.sin_backward(g, x), g * K.cos(x))
    assert np.array_equal(_fast.cos_backward(g, x), -g * K.sin(x))
    g32 = np.ones(x.shape, np.float32)
    assert _fast.sin_backward(g32, x).dtype == np.float64


def test_identical_results_on_1_and_2_threads(threads):
    rng = np.random.default_rng(RNG_SEED)
    n = 3 * K.PARALLEL_MIN + 12345
    x = signed_uniform(rng, 0, 2 * MAX, n)
    x[::977] = np.nan
    g = rng.standard_normal(n)
    results = []
    for nt in (1, 2):
        K.set_num_threads(nt)
        assert K.get_num_threads() == (nt if K.OPENMP else 1)
        results.append([K.sin(x), K.cos(x), K.sin_backward(g, x), K.cos_backward(g, x)])
    for a, b in zip(*results):
        assert np.array_equal(a, b, equal_nan=True)
    # and a single block computed alone: no dependence on where the split falls
    assert np.array_equal(K.sin(x[1000:1100]), results[0][0][1000:1100], equal_nan=True)


def run_python(code):
    root = os.path.dirname(os.path.dirname(os.path.abspath(ad.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("OMP_NUM_THREADS", None)
    # run from the folder that holds the imported autodiff: `python -c` puts the working
    # directory first on sys.path, where an unbuilt source checkout would shadow it
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, timeout=120,
                          capture_output=True, text=True, cwd=root)


def test_thread_count_follows_omp_num_threads():
    proc = run_python("""
        import os
        os.environ["OMP_NUM_THREADS"] = "3"
        from autodiff import _kernels as K
        print(K.get_num_threads(), K.OPENMP)
    """)
    assert proc.returncode == 0, proc.stderr
    nt, openmp = proc.stdout.split()
    assert int(nt) == (3 if openmp == "True" else 1)


def test_forked_child_does_not_hang():
    # GNU OpenMP hangs in a forked child whose parent ran a parallel region; the
    # kernels run single-threaded there. (Windows has no fork: nothing to check.)
    proc = run_python("""
        import os, sys
        import numpy as np
        from autodiff import _kernels as K
        K.set_num_threads(2)
        x = np.linspace(-50, 50, 4 * K.PARALLEL_MIN)
        a = K.sin(x)
        if hasattr(os, "fork"):
            pid = os.fork()
            if pid == 0:
                ok = K.get_num_threads() == 1 and np.array_equal(K.sin(x), a)
                os._exit(0 if ok else 3)
            _, status = os.waitpid(pid, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
    """)
    assert proc.returncode == 0, proc.stderr


# -- through autodiff's ops ---------------------------------------------------------

def w3_chain(x, steps, sin=np.sin):
    y = x
    for _ in range(steps):
        y = sin(y) * y + 0.5 * y
    return y


def test_w3_chain_gradient_matches_finite_differences():
    rng = np.random.default_rng(RNG_SEED)
    x0 = rng.standard_normal(4096)
    assert K.usable(x0)
    x = ad.tensor(x0, requires_grad=True)
    w3_chain(x, 4, ad.sin).sum().backward()
    h = 1e-6   # elementwise chain: d sum / d x_i = (y(x_i + h) - y(x_i - h)) / 2h
    fd = (w3_chain(x0 + h, 4) - w3_chain(x0 - h, 4)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("op", ["sin", "cos"])
def test_large_array_first_and_second_derivatives(op):
    rng = np.random.default_rng(RNG_SEED)
    x0 = rng.uniform(-20, 20, 5000)
    f, d1, d2 = {"sin": (np.sin, np.cos, lambda v: -np.sin(v)),
                 "cos": (np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v))}[op]
    x = ad.tensor(x0, requires_grad=True)
    y = getattr(ad, op)(x)
    assert max_ulp(y.detach().numpy(), f(x0)) <= 2
    (g,) = ad.autograd.grad(y.sum(), x, create_graph=True)   # rules see Tensors here
    np.testing.assert_allclose(g.detach().numpy(), d1(x0), rtol=1e-14, atol=1e-15)
    (gg,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), d2(x0), rtol=1e-14, atol=1e-15)


def test_large_array_forward_mode():
    rng = np.random.default_rng(RNG_SEED)
    x0, t0 = rng.uniform(-5, 5, 3000), rng.standard_normal(3000)
    out, tangent = ad.func.jvp(lambda v: ad.cos(ad.sin(v)), (ad.tensor(x0),), (ad.tensor(t0),))
    np.testing.assert_allclose(out.numpy(), np.cos(np.sin(x0)), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(tangent.numpy(), -np.sin(np.sin(x0)) * np.cos(x0) * t0,
                               rtol=1e-13, atol=1e-15)


def test_large_tanh_first_and_second_derivatives_through_the_kernel():
    rng = np.random.default_rng(RNG_SEED)
    x0 = rng.uniform(-4, 4, 5000)
    t = np.tanh(x0)
    x = ad.tensor(x0, requires_grad=True)
    y = ad.tanh(x)
    y.backward(ad.tensor(np.full(x0.shape, 2.0)))
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (1 - t * t), rtol=1e-14, atol=1e-15)
    (g,) = ad.autograd.grad(ad.tanh(x).sum(), x, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), -2 * t * (1 - t * t), rtol=1e-12, atol=1e-15)


# -- tanh: compiled for x86-64-v4 (AVX-512 + FMA) only; NumPy's elsewhere ------------

def tanh_reference(x):
    """tanh in extended precision (x86's 80-bit long double: 11 more bits than float64),
    rounded to float64 only at the end."""
    assert np.finfo(np.longdouble).nmant >= 63, "need an extended long double for the reference"
    return np.tanh(np.asarray(x, dtype=np.longdouble))


def tanh_ulp(got, ref):
    """|got - ref| in units of got's last place (ref in long double)."""
    return float(np.max(np.abs(got.astype(np.longdouble) - ref) / np.spacing(np.abs(got))))


TANH_RANGES = {"tiny": (1e-300, 1e-8), "[1e-8, 0.55]": (1e-8, 0.55),
               "the branch change [0.5, 0.7]": (0.5, 0.7), "[0.7, 5]": (0.7, 5.0),
               "[5, 25]": (5.0, 25.0)}


@pytest.mark.parametrize("name", list(TANH_RANGES))
def test_tanh_within_1_5_ulp(name):
    lo, hi = TANH_RANGES[name]
    rng = np.random.default_rng(RNG_SEED)
    a = np.exp(rng.uniform(np.log(lo), np.log(hi), 20_000)) if name == "tiny" else \
        rng.uniform(lo, hi, 20_000)
    x = a * rng.choice([-1.0, 1.0], a.size)
    if not K.TANH_FAST:
        with pytest.raises(RuntimeError, match="TANH_FAST"):
            K.tanh(x)
        assert np.array_equal(_fast.tanh(x), np.tanh(x))
        return
    assert tanh_ulp(K.tanh(x), tanh_reference(x)) <= 1.5


def test_tanh_special_values_exact():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2e-308, -1e-310,
                  19.1, -19.1, 20.0, -20.0, 1e300, -1e300] * 2)   # twice: a vector's worth
    want = np.tanh(x)
    got = K.tanh(x) if K.TANH_FAST else _fast.tanh(x)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_tanh_is_the_kernel_on_big_float64_and_numpy_otherwise():
    x = np.random.default_rng(RNG_SEED).uniform(-3, 3, 20_000)
    if K.TANH_FAST:
        # the two differ somewhere, so equality below says which one computed
        assert not np.array_equal(K.tanh(x), np.tanh(x))
        assert np.array_equal(_fast.tanh(x), K.tanh(x))
        assert np.array_equal(ad.tanh(ad.tensor(x)).numpy(), K.tanh(x))
    else:
        assert np.array_equal(ad.tanh(ad.tensor(x)).numpy(), np.tanh(x))
    for arg in (x[::2], x.astype(np.float32), x[:K.MIN_SIZE - 1], np.float64(x[0]),
                x.astype(">f8")):
        got, want = _fast.tanh(arg), np.tanh(arg)
        assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
        assert np.array_equal(got, want)


def test_tanh_identical_on_1_and_2_threads_and_keeps_memory_order(threads):
    rng = np.random.default_rng(RNG_SEED)
    x = rng.uniform(-20, 20, 3 * K.PARALLEL_MIN + 12345)
    x[::977] = np.nan
    if not K.TANH_FAST:
        with pytest.raises(RuntimeError, match="TANH_FAST"):
            K.tanh(x)
        return
    results = []
    for nt in (1, 2):
        K.set_num_threads(nt)
        results.append(K.tanh(x))
    assert np.array_equal(results[0], results[1], equal_nan=True)
    f = np.asfortranarray(x[:1200].reshape(30, 40))
    out = K.tanh(f)
    assert out.flags.f_contiguous and not out.flags.c_contiguous
    assert np.array_equal(out, results[0][:1200].reshape(30, 40), equal_nan=True)


# -- the buffer pool of autograd.functional.hessian ----------------------------------
def _handler_name():
    from numpy._core.multiarray import get_handler_name
    return get_handler_name()


@pytest.fixture
def pool():
    K.pool_clear()
    token = K.pool_enter()
    assert token is not None and _handler_name() == "autodiff_pool"
    try:
        yield
    finally:
        K.pool_exit(token)
        K.pool_clear()
    assert _handler_name() == "default_allocator"


def test_pool_hands_a_freed_buffer_back_zeroed_to_zeros(pool):
    n = K.POOL_MIN_BLOCK // 8 * 3
    a = np.full(n, np.nan)
    del a                                          # kept by the pool, full of nan
    assert K.pool_stats() == (1, n * 8)
    z = np.zeros(n)                                # calloc: must not see the nan
    assert K.pool_stats() == (0, 0)
    assert not z.any()
    e = np.empty(n)                                # malloc of a new size: a new buffer
    del z
    assert K.pool_stats() == (1, n * 8)
    del e


def test_pool_keeps_only_large_buffers_and_is_bounded(pool):
    small = np.ones(K.POOL_MIN_BLOCK // 8 - 1)
    huge = np.ones(K.POOL_MAX_BYTES // 8 + 1)
    del small, huge
    assert K.pool_stats() == (0, 0)
    arrays = [np.ones(K.POOL_MIN_BLOCK // 8 * (2 + i % 3)) for i in range(3 * K.POOL_SLOTS)]
    del arrays
    count, kept = K.pool_stats()
    assert count == K.POOL_SLOTS and kept <= K.POOL_MAX_BYTES
    big = [np.ones(K.POOL_MAX_BYTES // 8 // 3) for _ in range(4)]
    del big                                        # the oldest make room, within the bytes
    count, kept = K.pool_stats()
    assert count <= K.POOL_SLOTS and kept <= K.POOL_MAX_BYTES


def test_pool_reuses_a_buffer_of_the_same_size(pool):
    n = K.POOL_MIN_BLOCK // 8 * 2
    a = np.ones(n)
    address = a.__array_interface__["data"][0]
    del a
    b = np.empty(n)
    assert b.__array_interface__["data"][0] == address


def test_pool_leaves_another_handler_in_place(pool):
    assert K.pool_enter() is None                  # already on: nested use is a no-op
    K.pool_exit(None)
    assert _handler_name() == "autodiff_pool"
