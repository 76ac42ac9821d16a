"""The benchmark runner: gradient cross-check, timing, memory, isolation.

For every workload row, each implementation computes its gradient once (this
call is also the warm-up); the gradient is compared with the reference (the
first implementation that produced one: the hand-written floor) and a
mismatch stops the run, naming the workload and the implementation. Then the
fwd+bwd and backward-only modes are timed: repeats until ``--repeat`` samples
or the per-cell time budget is used, median reported (a call slower than ten
budgets is not repeated: the checked call is the sample). tracemalloc then
records the peak of one more step for autodiff and the floors.

The timing of a row is split into ``--rounds`` rounds, each taking its share of
the budget and of the repeats, and the implementations take turns: round 1 runs
every implementation, then round 2 every one again, and so on. On a shared
machine whose speed drifts (other tenants, slow phases of seconds), every
implementation is then sampled across the same stretch of time, so the ratios
in the table compare like with like. A cell whose calls each take longer than
a round's budget is timed in round 1 only.

Cells of workloads marked ``isolate`` (the 100,000-node chain) run in a
subprocess with a timeout, so a recursion error, a crash or a compile that
never ends is recorded as a failure of that peer, not the end of the suite.
The subprocess receives the reference gradient and checks before timing.
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field

import numpy as np

from . import peers
from .workloads import FWD_BWD, WORKLOADS, Workload

RTOL = 1e-6
SLOW_CALLS = 10  # a first call longer than this many budgets is the only sample


class GradientMismatch(RuntimeError):
    """An implementation's gradient differs from the reference; the run stops."""


@dataclass
class Cell:
    """Result of one implementation on one workload row (all modes)."""

    workload: str
    row: int
    impl: str
    status: str = "ok"                      # ok | failed | n/a
    error: str = ""
    rel_err: float | None = None
    reference: str = ""
    first_call_s: float | None = None
    samples: dict = field(default_factory=dict)   # mode -> seconds per call
    memory_peak_bytes: int | None = None
    single_call: bool = False               # too slow to repeat: one (checked) call


def rel_error(grads: list, ref: list) -> float:
    """Largest norm-wise relative difference over the gradient arrays."""
    if len(grads) != len(ref):
        return float("inf")
    worst = 0.0
    for g, r in zip(grads, ref):
        if g.shape != r.shape:
            return float("inf")
        scale = max(np.linalg.norm(r), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.linalg.norm(g - r) / scale))
    return worst


def check(workload: Workload, params: dict, impl: str, grads: list, ref: list | None,
          ref_name: str) -> float:
    """Relative error of ``grads`` against ``ref``; raise GradientMismatch above RTOL."""
    if ref is None:
        return 0.0
    err = rel_error(grads, ref)
    if not err <= RTOL:
        raise GradientMismatch(
            f"gradient mismatch on {workload.label(params)}: {impl} differs from {ref_name} "
            f"by {err:.3g} (relative, tolerance {RTOL:g})")
    return err


def sample(fn, budget: float, repeat: int, prepare=None) -> list[float]:
    """Seconds per call of ``fn(prepare())`` (prepare not timed), until repeat or budget."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (not times or time.perf_counter() - start < budget):
        arg = prepare() if prepare else None
        t0 = time.perf_counter()
        fn(arg) if prepare else fn()
        times.append(time.perf_counter() - t0)
        arg = None      # free this graph before the next is built (as a fwd+bwd step does)
    return times


def memory_peak(step) -> int:
    """Peak bytes traced by tracemalloc during one call (NumPy reports its buffers)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_cell(workload: Workload, row: int, impl: peers.Implementation, params: dict,
             ref: list | None, ref_name: str, budget: float, repeat: int,
             measure_memory: bool = True) -> tuple[Cell, list | None, peers.Case | None]:
    """Check and time one implementation on one row in this process.

    Returns the cell, the gradient (None when it failed) and the case, which
    ``time_cell`` times again in later rounds. A gradient mismatch propagates as
    GradientMismatch.
    """
    cell = Cell(workload.key, row, impl.name, reference=ref_name)
    impl.enter()
    try:
        case = impl.build(workload.key, workload.inputs(params))
        if case is None:
            cell.status = "n/a"
            return cell, None, None
        t0 = time.perf_counter()
        grads = peers.to_numpy(case.step())
        cell.first_call_s = time.perf_counter() - t0
    except Exception as exc:  # a peer that cannot run a workload is a failure
        cell.status, cell.error = "failed", _describe(exc)
        return cell, None, None
    cell.rel_err = check(workload, params, impl.name, grads, ref, ref_name)
    if not case.compiles and cell.first_call_s > SLOW_CALLS * budget:
        # Minutes per call: the checked call is the one sample; backward-only is skipped.
        cell.samples[FWD_BWD] = [cell.first_call_s]
        cell.single_call = True
        return cell, grads, case
    time_cell(workload, cell, case, budget, repeat)
    if cell.status == "ok" and measure_memory and impl.trace_memory:
        try:
            cell.memory_peak_bytes = memory_peak(case.step)
        except Exception as exc:
            cell.status, cell.error = "failed", _describe(exc)
    return cell, grads, case


def time_cell(workload: Workload, cell: Cell, case: peers.Case, budget: float,
              repeat: int) -> None:
    """Add samples of every mode to ``cell`` (one round; the caller has run the
    implementation's ``enter()``); an error fails the cell."""
    try:
        for mode in workload.modes:
            if mode == FWD_BWD:
                found = sample(case.step, budget, repeat)
            elif case.forward is not None:
                found = sample(case.backward, budget, repeat, case.forward)
            else:
                continue
            cell.samples.setdefault(mode, []).extend(found)
    except Exception as exc:
        cell.status, cell.error = "failed", _describe(exc)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:297] + "..."


# -- isolation ------------------------------------------------------------------
def run_isolated(workload: Workload, row: int, impl: peers.Implementation, params: dict,
                 ref: list | None, ref_name: str, budget: float, repeat: int,
                 timeout: float, measure_memory: bool = True) -> tuple[Cell, list | None]:
    """``run_cell`` in a subprocess; a crash, a non-zero exit or a timeout is a failure."""
    with tempfile.TemporaryDirectory() as tmp:
        job = os.path.join(tmp, "job.pkl")
        out = os.path.join(tmp, "out.pkl")
        with open(job, "wb") as f:
            pickle.dump({"workload": workload.key, "row": row, "impl": impl.name,
                         "module": impl.module, "params": params, "ref": ref, "ref_name": ref_name, "budget": budget,
                         "repeat": repeat, "memory": measure_memory, "out": out}, f)
        cmd = [sys.executable, "-m", "benchmarks.run", "--cell", job]
        try:
            proc = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return Cell(workload.key, row, impl.name, "failed", f"timeout after {timeout:g} s",
                        reference=ref_name), None
        if proc.returncode != 0 or not os.path.exists(out):
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            why = lines[-1] if lines else ""
            if proc.returncode < 0:
                why = f"killed by signal {-proc.returncode}" + (f" ({why})" if why else "")
            return Cell(workload.key, row, impl.name, "failed",
                        why or f"exit code {proc.returncode}", reference=ref_name), None
        with open(out, "rb") as f:
            result = pickle.load(f)
    if "mismatch" in result:
        raise GradientMismatch(result["mismatch"])
    return Cell(**result["cell"]), result["grads"]


def _child_env() -> dict:
    """Environment for a cell subprocess: same thread settings, same packages."""
    import autodiff

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    first = os.path.dirname(os.path.dirname(os.path.abspath(autodiff.__file__)))
    path = [first, here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _cell_main(job_path: str) -> None:
    """Subprocess entry: run one cell described by a pickled job, pickle the result."""
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    impls, _ = peers.load([job["impl"]], modules=[job["module"]])
    impl = next(i for i in impls if i.name == job["impl"])
    try:
        cell, grads, _ = run_cell(WORKLOADS[job["workload"]], job["row"], impl, job["params"],
                                  job["ref"], job["ref_name"], job["budget"], job["repeat"],
                                  job["memory"])
        result = {"cell": asdict(cell), "grads": grads}
    except GradientMismatch as exc:
        result = {"mismatch": str(exc)}
    with open(job["out"], "wb") as f:
        pickle.dump(result, f)


# -- the suite ------------------------------------------------------------------
def run_suite(workloads: list[Workload], impls: list[peers.Implementation], quick: bool,
              budget: float, repeat: int, timeout: float, rounds: int = 1) -> list[Cell]:
    """Every implementation on every row, in ``rounds`` interleaved rounds of timing
    (see the module docstring); progress on stderr."""
    rows = [(w, i, p) for w in workloads for i, p in enumerate(w.quick if quick else w.sizes)]
    round_budget, round_repeat = budget / rounds, -(-repeat // rounds)
    cells = []
    for n, (w, row, params) in enumerate(rows, 1):
        ref, ref_name = None, ""
        again = []              # (impl, cell, case) timed in the later rounds
        for impl in impls:
            _progress(f"[{n}/{len(rows)}] {w.label(params)}: {impl.name} ...", end="")
            t0 = time.perf_counter()
            case = None
            if w.isolate and not impl.floor:
                cell, grads = run_isolated(w, row, impl, params, ref, ref_name, round_budget,
                                           round_repeat, timeout)
            else:
                cell, grads, case = run_cell(w, row, impl, params, ref, ref_name,
                                             round_budget, round_repeat)
            if ref is None and grads is not None:
                ref, ref_name = grads, impl.name
            _progress(" " + _summary(w, params, cell) + f"  ({time.perf_counter() - t0:.1f} s)")
            cells.append(cell)
            if _fits_a_round(cell, round_budget):
                again.append((impl, cell, case))
        for _ in range(rounds - 1):
            for impl, cell, case in again:
                if cell.status != "ok":
                    continue
                if case is None:
                    more, _ = run_isolated(w, row, impl, params, ref, ref_name, round_budget,
                                           round_repeat, timeout, measure_memory=False)
                    if more.status != "ok":
                        cell.status, cell.error = more.status, more.error
                    for mode, found in more.samples.items():
                        cell.samples.setdefault(mode, []).extend(found)
                else:
                    impl.enter()
                    time_cell(w, cell, case, round_budget, round_repeat)
        if rounds > 1 and again:
            _progress(f"[{n}/{len(rows)}] {w.label(params)} after {rounds} rounds: " + "; ".join(
                f"{impl.name} {_summary(w, params, cell)}" for impl, cell, _ in again))
    return cells


def _fits_a_round(cell: Cell, round_budget: float) -> bool:
    """A cell timed again in the later rounds: every call so far within a round's budget."""
    return (cell.status == "ok" and not cell.single_call and bool(cell.samples)
            and max(max(s) for s in cell.samples.values()) <= round_budget)


def _summary(w: Workload, params: dict, cell: Cell) -> str:
    if cell.status != "ok":
        return cell.status + (f": {cell.error}" if cell.error else "")
    parts = [f"{mode} {w.convert(float(np.median(s)), params):.4g} {w.unit}"
             for mode, s in cell.samples.items()]
    return ", ".join(parts) + f"; grad rel err {cell.rel_err:.1e}"


def _progress(msg: str, end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m benchmarks``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="Time autodiff against every installed peer.")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated workload keys (default: all, %(default)s)")
    p.add_argument("--peers", default=None,
                   help="comma-separated implementations or libraries, e.g. torch,jax-jit "
                        "(default: all installed; the floors and autodiff always run)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    p.add_argument("--repeat", type=int, default=100, help="most timed repeats per cell and mode")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds the timing of a row is split into (default 3; "
                        "1 with --quick)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timing per cell and mode (default 1.0; 0.05 with --quick)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for BLAS, torch and XLA (default: each library's own)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before an isolated cell counts as failed (default 60)")
    p.add_argument("--json", default="bench_results/latest.json", help="JSON output path")
    p.add_argument("--plot", default="bench_results/latest.png",
                   help="PNG bar chart path (needs matplotlib; 'none' to skip)")
    args = p.parse_args(argv)
    unknown = set(args.workloads.split(",")) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads {sorted(unknown)}; choose from {list(WORKLOADS)}")
    if args.budget is None:
        args.budget = 0.05 if args.quick else 1.0
    if args.timeout is None:
        args.timeout = 60.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the suite; print the table; write the JSON and the chart. Returns an exit code."""
    from . import report

    args = parse_args(argv)
    if args.threads:
        _set_torch_threads(args.threads)
    names = args.peers.split(",") if args.peers else None
    impls, missing = peers.load(names)
    workloads = [WORKLOADS[k] for k in args.workloads.split(",")]
    _progress("implementations: " + ", ".join(i.name for i in impls)
              + (f"; not installed: {', '.join(missing)}" if missing else ""))
    started = time.time()
    try:
        cells = run_suite(workloads, impls, args.quick, args.budget, args.repeat, args.timeout,
                          args.rounds)
    except GradientMismatch as exc:
        _progress(f"\nstopped: {exc}")
        return 2
    results = report.collect(workloads, impls, missing, cells, args, time.time() - started)
    print(report.table(results))
    report.write_json(results, args.json)
    _progress(f"wrote {args.json}")
    if args.plot.lower() != "none":
        if report.plot(results, args.plot):
            _progress(f"wrote {args.plot}")
        else:
            _progress("matplotlib not installed: no chart")
    return 0


def _set_torch_threads(n: int) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cell":
        _cell_main(sys.argv[2])
    else:
        sys.exit(main())
