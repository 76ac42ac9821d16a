"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` end to end.

Checks that the run produces the table, the JSON (with machine, versions,
samples and the gradient cross-check) and the chart when matplotlib is
installed, not the timings. Works with no peer installed (CI has only autodiff
and the floors). The subprocess runs outside the repository root so that
``autodiff`` resolves to the same package this test process imported (in CI,
the installed one, not the uncompiled source tree).
"""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import autodiff

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Peers quick to start; any that are not installed are simply absent from the run.
PEERS = "autograd,mygrad"


def _env() -> dict:
    autodiff_parent = os.path.dirname(os.path.dirname(os.path.abspath(autodiff.__file__)))
    path = [autodiff_parent, ROOT, os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--rounds", "2", "--peers", PEERS,
           "--json", str(out / "r.json"), "--plot", str(out / "r.png")]
    proc = subprocess.run(cmd, cwd=out, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out


def test_quick_run_prints_table(quick_run):
    proc, _ = quick_run
    assert "| workload | mode | unit |" in proc.stdout
    for key in ("W1", "W2", "W3", "W4", "W5", "W6"):
        assert f"| {key} " in proc.stdout
    assert "Gradient cross-check" in proc.stdout
    assert "[6/6]" in proc.stderr  # progress is shown
    # the implementations took turns: autodiff was timed again after the others
    assert any("after 2 rounds:" in line and "autodiff fwd+bwd" in line
               for line in proc.stderr.splitlines())


def test_quick_run_writes_json(quick_run):
    _, out = quick_run
    results = json.loads((out / "r.json").read_text())
    assert {"platform", "cpu", "python"} <= set(results["machine"])
    assert "numpy" in results["versions"] and "autodiff" in results["versions"]
    assert {"numpy", "pytape", "autodiff"} <= set(results["implementations"])
    checks = results["gradient_check"]["cells"]
    assert any(c["impl"] == "autodiff" and c["reference"] == "numpy" for c in checks)
    assert all(c["rel_err"] <= 1e-6 for c in checks if c["status"] == "ok")
    for row in results["rows"]:
        cell = row["cells"]["autodiff"]
        assert cell["status"] == "ok", (row["label"], cell)
        assert cell["samples_s"] and cell["median"] > 0
        assert cell["memory_peak_bytes"] > 0 or row["mode"] == "bwd"


def test_quick_run_plots_or_says_why_not(quick_run):
    proc, out = quick_run
    if importlib.util.find_spec("matplotlib") is None:
        # the chart is optional (matplotlib is in the bench extra): the run says so
        assert "matplotlib not installed: no chart" in proc.stderr
        assert not (out / "r.png").exists()
    else:
        assert (out / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradient_mismatch_names_workload_and_peer():
    sys.path.insert(0, ROOT)
    try:
        from benchmarks.run import GradientMismatch, check
        from benchmarks.workloads import WORKLOADS
    finally:
        if ROOT in sys.path:   # importing benchmarks may already have dropped an unbuilt checkout
            sys.path.remove(ROOT)
    w = WORKLOADS["W3"]
    ref = [np.ones(3)]
    assert check(w, w.quick[0], "somepeer", [np.ones(3) * (1 + 1e-9)], ref, "numpy") < 1e-6
    with pytest.raises(GradientMismatch, match="W3 elementwise chain.*somepeer.*numpy"):
        check(w, w.quick[0], "somepeer", [np.ones(3) * 1.01], ref, "numpy")


def test_main_job_command_runs_in_the_checkout(tmp_path):
    # README's `python -m benchmarks`, run from the repository root as a user would:
    # the checkout's autodiff/ may be unbuilt (after `pip install .`), and the suite
    # must then use the installed package rather than fail to import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--peers", "none", "--workloads",
           "W2", "--plot", "none", "--json", str(tmp_path / "r.json")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| W2 " in proc.stdout and json.loads((tmp_path / "r.json").read_text())["rows"]
