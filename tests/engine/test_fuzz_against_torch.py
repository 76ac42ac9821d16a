"""Hypothesis writes random programs (elementwise ops, reductions, broadcasting,
indexing, views, matmul, in-place ops on results and on views of them) over
inputs in odd memory layouts, and each program must give PyTorch's values, first
and second derivatives (see torch_programs.py for the program model and where
NumPy's meaning is kept over PyTorch's).

The example count follows the hypothesis profile (tests/conftest.py):
HYPOTHESIS_PROFILE=thorough runs ten times as many as CI."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import autodiff as ad  # noqa: E402

import torch_programs as tp  # noqa: E402

# the profile's max_examples (25 in CI) times 40: a thousand programs per CI run (~8 s)
EXAMPLES = settings.default.max_examples * 40
# Shrinking a failing program can take minutes (hypothesis gives it up to 5 per bug):
# off unless AUTODIFF_FUZZ_SHRINK=1; the program is printed either way.
PHASES = tuple(Phase) if os.environ.get("AUTODIFF_FUZZ_SHRINK") == "1" else \
    (Phase.explicit, Phase.reuse, Phase.generate)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_program_matches_torch(data):
    tp.check(tp.Builder(tp.HypothesisDraws(data)))


def run_programs(count, *flags):
    """Check ``count`` seeded programs in a child process: (returncode, stdout, stderr)."""
    root = Path(ad.__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(Path(tp.__file__)), "0", str(count), *flags],
                          env=env, cwd=root, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_risky_programs_match_torch_without_crashing():
    # hooks returning arrays in odd layouts, the compiled fast paths (0-d float64 ops,
    # stack of scalars, softmax of short vectors, x[i]) and indexing with 30-40 dims:
    # a segfault here must fail this test, not kill pytest
    rc, out, err = run_programs(settings.default.max_examples * 24, "--risky")
    if rc < 0:
        last = "=== seed" + out.rsplit("=== seed", 1)[-1]
        pytest.fail(f"the child died with signal {-rc} running this program:\n{last}\n"
                    f"--- failures before it:\n{err[:6000]}")
    # each failure names its seed: `python torch_programs.py SEED 1 --risky` reruns it
    assert rc == 0, f"the child found mismatches:\n{err[:12000]}"
