"""Batched forward mode on every op sample: a batch of tangents in one pass (batch rules,
aligned elementwise tangents, or the engine's per-element loop) equals reverse mode."""
import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
from autodiff.autograd import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
from op_db import SAMPLES  # noqa: E402

FORWARD = [s for s in SAMPLES if s.forward]


@pytest.mark.parametrize("sample", FORWARD, ids=[s.id or s.op for s in FORWARD])
def test_vectorised_forward_jacobian_equals_reverse(sample):
    inputs = tuple(x.detach() for x in sample.make_inputs(np.random.default_rng(3)))
    fwd = F.jacobian(sample.fn, inputs, strategy="forward-mode", vectorize=True)
    rev = F.jacobian(sample.fn, inputs)
    flat_f = [b for row in fwd for b in row] if isinstance(fwd[0], tuple) else list(fwd)
    flat_r = [b for row in rev for b in row] if isinstance(rev[0], tuple) else list(rev)
    for a, b in zip(flat_f, flat_r):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-10)
