"""The benchmark suite: ``python -m benchmarks --quick`` end to end, and its time limits.

Checks that the run produces the table (with the progress bar on stderr, apart
from it), the JSON (with machine, versions, samples and the gradient
cross-check) and the chart when matplotlib is installed, not the timings; that
a cell past its time limit is stopped and shown as a timeout with a note, in
this process and in a worker process; and that the chart marks such cells.
Works with no peer installed (CI has only autodiff and the floors). The
subprocess runs outside the repository root so that ``autodiff`` resolves to
the same package this test process imported (in CI, the installed one, not the
uncompiled source tree).
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

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
    assert "quick run: 1 thread" in proc.stdout     # how it was run, under the table
    # the table is whole: the progress bar went to stderr, not between its lines
    assert "\r" not in proc.stdout
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("|")]
    assert len(rows) == 2 + 10 and len({ln.count("|") for ln in rows}) == 1


def test_quick_run_shows_progress(quick_run):
    proc, _ = quick_run
    screens = proc.stderr.replace("\r", "\n").splitlines()
    if importlib.util.find_spec("tqdm") is None:
        # the bar is optional (tqdm is in the bench extra): the run says so
        assert "tqdm not installed (it is in the bench extra): no progress bar" in proc.stderr
    else:
        # tqdm's bar, counting cells, up to all of them
        assert any(re.search(r"\|\s*\d+/\d+ cells \[", ln) for ln in screens)
        assert any("100%" in ln for ln in screens)
    assert "[6/6] W6 deep chain n=1000: autodiff fwd+bwd" in proc.stderr  # one line per cell
    # the implementations took turns: autodiff was timed again after the others
    assert any(re.search(r"after 2 rounds, fwd\+bwd in .*: .*autodiff \d", ln)
               for ln in screens)


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


@pytest.fixture(scope="module")
def bench():
    """The benchmarks package, imported from the checkout."""
    sys.path.insert(0, ROOT)
    try:
        from benchmarks import peers, report, run
        from benchmarks.workloads import WORKLOADS
    finally:
        if ROOT in sys.path:   # importing benchmarks may already have dropped an unbuilt checkout
            sys.path.remove(ROOT)
    return SimpleNamespace(peers=peers, report=report, run=run, WORKLOADS=WORKLOADS)


def test_gradient_mismatch_names_workload_and_peer(bench):
    w = bench.WORKLOADS["W3"]
    ref = [np.ones(3)]
    check, GradientMismatch = bench.run.check, bench.run.GradientMismatch
    assert check(w, w.quick[0], "somepeer", [np.ones(3) * (1 + 1e-9)], ref, "numpy") < 1e-6
    with pytest.raises(GradientMismatch, match="W3 elementwise chain.*somepeer.*numpy"):
        check(w, w.quick[0], "somepeer", [np.ones(3) * 1.01], ref, "numpy")


def test_default_run_is_short_single_threaded_and_limited(bench):
    from benchmarks.__main__ import _threads

    a = bench.run.parse_args([])
    assert (a.run, a.threads, a.rounds, a.limit) == ("default", 1, 2, 10.0)
    full = bench.run.parse_args(["--full"])
    assert (full.run, full.threads, full.rounds, full.budget, full.limit) == (
        "full", 1, 3, 1.0, 60.0)
    w1 = bench.WORKLOADS["W1"]
    assert [p["n"] for p in w1.rows("default")] == [1000]
    assert [p["n"] for p in w1.rows("full")] == [1000, 10000]
    assert bench.run.parse_args(["--default-threads"]).threads is None
    assert bench.run.parse_args(["--threads", "2", "--cell-limit", "5"]).limit == 5.0
    # what __main__ pins before NumPy is imported
    assert (_threads([]), _threads(["--threads=3"]), _threads(["--default-threads"])) == (1, 3, None)


def _impl(bench, name, step):
    return bench.peers.Implementation(name, name, {"W3": lambda inp: bench.peers.Case(step=step)})


def test_cell_past_its_limit_stops_and_is_a_timeout(bench):
    w = bench.WORKLOADS["W3"]
    t0 = time.perf_counter()
    cell, grads, _ = bench.run.run_cell(w, 0, _impl(bench, "sleepy", lambda: time.sleep(30)),
                                        w.quick[0], None, "", 0.05, 10, limit=0.5)
    assert time.perf_counter() - t0 < 5
    assert cell.status == "timeout" and cell.error == "timeout after 0.5 s" and grads is None


def test_slow_cell_within_its_limit_is_one_call_after_the_warm_up(bench):
    w = bench.WORKLOADS["W3"]
    calls = []

    def step():      # a slow first call (set-up), then slow calls
        time.sleep(0.4 if not calls else 0.2)
        calls.append(1)
        return [np.ones(3)]

    cell, grads, _ = bench.run.run_cell(w, 0, _impl(bench, "slow", step), w.quick[0], None, "",
                                        0.01, 10, limit=2.0)
    assert cell.status == "ok" and cell.single_call and len(calls) == 2
    assert cell.samples["fwd+bwd"][0] < 0.35 <= cell.first_call_s


SLOW_PEERS = textwrap.dedent("""
    import os
    import signal
    import time

    from benchmarks.peers import Case, Implementation

    def stuck(inp):
        def step():
            signal.signal(signal.SIGALRM, signal.SIG_IGN)  # as in a C call that never returns
            time.sleep(60)
        return Case(step=step)

    def crash(inp):
        return Case(step=lambda: os._exit(3))

    IMPLEMENTATIONS = [Implementation("stuck", "stuck", {"W1": stuck}),
                       Implementation("crash", "crash", {"W1": crash})]
""")


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGALRM"), reason="POSIX signals")
def test_isolated_cell_is_killed_at_its_limit_or_fails_when_it_crashes(bench, tmp_path,
                                                                          monkeypatch):
    (tmp_path / "slowpeers").mkdir()
    (tmp_path / "slowpeers" / "__init__.py").write_text("")
    (tmp_path / "slowpeers" / "adapter.py").write_text(SLOW_PEERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(ROOT)          # the worker imports benchmarks
    monkeypatch.setattr(bench.run, "GRACE", 0.5)
    impls, _ = bench.peers.load(["stuck", "crash"], modules=["slowpeers.adapter"])
    w = bench.WORKLOADS["W1"]
    cells = {}
    for impl in impls:
        t0 = time.perf_counter()
        worker = bench.run.Worker(w, 0, impl, w.quick[0], None, "", limit=1.0)
        try:
            cells[impl.name], grads = worker.first(0.05, 10)
        finally:
            worker.close()
        assert grads is None and not worker.proc.is_alive()
        assert time.perf_counter() - t0 < 15
    assert (cells["stuck"].status, cells["stuck"].error) == ("timeout", "timeout after 1 s")
    assert (cells["crash"].status, cells["crash"].error) == ("failed", "exit code 3")


def _results_with_a_timeout(bench):
    w = bench.WORKLOADS["W3"]
    impls = [_impl(bench, "autodiff", None), _impl(bench, "sleepy", None)]
    ok = bench.run.Cell("W3", 0, "autodiff", rel_err=0.0, first_call_s=0.01,
                        samples={"fwd+bwd": [0.001, 0.002], "bwd": [0.001]})
    late = bench.run.Cell("W3", 0, "sleepy", "timeout", "timeout after 0.5 s")
    args = bench.run.parse_args(["--quick", "--cell-limit", "0.5"])
    return bench.report.collect([w], impls, {}, [ok, late], args, 1.0)


def test_timed_out_cell_is_marked_in_the_table_with_a_note(bench):
    text = bench.report.table(_results_with_a_timeout(bench))
    rows = [ln for ln in text.splitlines() if ln.startswith("| W3 ")]
    assert len(rows) == 2 and all(ln.endswith("| timeout² |") for ln in rows)
    assert ("² timeout, skipped: too slow for this run's limit of 0.5 s per cell" in text
            and "W3 elementwise chain n=1000, sleepy." in text)
    assert "\nFailures:" not in text


def test_chart_marks_timed_out_cells_and_keeps_the_legend_off_the_bars(bench):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = _results_with_a_timeout(bench)
    results["implementations"].insert(1, "other")
    for row in results["rows"]:
        row["cells"]["other"] = {"status": "ok", "median": 1.0, "ratio_to_autodiff": 2.0}
    fig = bench.report.figure(results)
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.texts] == ["timeout", "timeout"]
        assert len([ln for ln in ax.lines if ln.get_marker() == "x"]) == 2
        assert len(ax.patches) == 2                        # the other peer's two bars
        fig.canvas.draw()
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [
            "other", "sleepy", "timeout / FAIL: no time"]
        assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    finally:
        plt.close(fig)


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
