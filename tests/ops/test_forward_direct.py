"""OpSpec.forward_direct: the engine calls it instead of the forward's Python function,
so for every op that declares one the two must compute the same thing."""
import numpy as np
import pytest

import autodiff as ad
from autodiff.ops._registry import OPS

DIRECT = sorted(name for name, spec in OPS.items() if spec.forward_direct is not None)
RNG = np.random.default_rng(7)
# broadcastable with one another: arrays (one strided, one of ints, one big enough for
# the compiled kernels), NumPy and Python scalars
ARRAYS = [RNG.uniform(0.5, 2.0, (3, 4)), RNG.uniform(0.5, 2.0, 4), np.float64(1.5),
          np.arange(1, 5), RNG.uniform(0.5, 2, (3, 8))[:, ::2], np.float32(0.75), 2]
BIG = RNG.uniform(0.5, 2.0, 300)


def test_the_hot_ops_have_one():
    assert {"add", "sub", "mul", "div", "neg", "exp", "log", "sin", "cos", "tanh",
            "matmul"} <= set(DIRECT)


@pytest.mark.parametrize("name", DIRECT)
def test_same_values_dtypes_and_types_as_the_forward(name):
    spec = OPS[name]
    if spec.n_inputs == 1:
        cases = [(a,) for a in ARRAYS + [BIG]]
    elif name == "matmul":
        a, b, v = RNG.uniform(size=(3, 4)), RNG.uniform(size=(4, 2)), RNG.uniform(size=4)
        cases = [(a, b), (v, b), (a, v), (v, v), (np.stack([a, a]), b)]
    else:
        cases = [(x, y) for x in ARRAYS for y in ARRAYS] + [(BIG, BIG)]
    for args in cases:
        want, got = spec.forward(*args), spec.forward_direct(*args)
        assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
        assert np.array_equal(got, want)


@pytest.mark.parametrize("name", DIRECT)
def test_the_engine_result_is_the_forwards(name):
    spec = OPS[name]
    n = 1 if spec.n_inputs == 1 else 2
    x = RNG.uniform(0.5, 2.0, (5, 5))
    inputs = [ad.tensor(x, requires_grad=True) for _ in range(n)]
    out = spec.module_func(*inputs)
    assert np.array_equal(out.detach().numpy(), spec.forward(*[x] * n))
    assert out.grad_fn is not None


def test_matmul_node_names_cached_per_ndims_in_any_order():
    m = ad.tensor(np.ones((3, 3)), requires_grad=True)
    v = ad.tensor(np.ones(3), requires_grad=True)
    b = ad.tensor(np.ones((2, 3, 3)), requires_grad=True)
    want = [(m, m, "MmBackward0"), (m, v, "MvBackward0"), (v, m, "SqueezeBackward4"),
            (v, v, "DotBackward0"), (b, m, "UnsafeViewBackward0")]
    for order in (want, want[::-1], want + want):
        for x, y, name in order:
            assert type((x @ y).grad_fn).__name__ == name
