"""Run every script in examples/ (with --quick when it takes that flag); each asserts its results."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autodiff

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# The walkthroughs the documentation points to; the glob above must find them.
REQUIRED = {
    "quadratic_sgd.py", "nonscalar_backward.py", "second_derivative.py", "multiple_outputs.py",
    "hooks.py", "custom_function.py", "logistic_regression.py", "scipy_minimize.py",
    "newton_hessian.py",
}


def test_required_examples_exist():
    assert REQUIRED <= {p.name for p in SCRIPTS}


def _env() -> dict:
    # The scripts import the same autodiff as this test process (installed or in-tree).
    env = dict(os.environ)
    package_parent = str(Path(autodiff.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_runs(script, tmp_path):
    args = ["--quick"] if "--quick" in script.read_text() else []
    proc = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"
