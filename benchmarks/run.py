"""The benchmark runner: gradient cross-check, timing, memory, time limits, isolation.

For every workload row, each implementation computes its gradient once (this
call is also the warm-up, and includes a jitted library's compilation); the
gradient is compared with the reference (the first implementation that
produced one: the hand-written floor) and a mismatch stops the run, naming the
workload and the implementation. Then the fwd+bwd and backward-only modes are
timed: repeats until ``--repeat`` samples or the per-cell time budget is used
(at least one), median reported. tracemalloc then records the peak of one more
step for autodiff and the floors.

Every cell has a time limit (``--cell-limit``): a cell whose checked first call
does not finish within it is stopped and shown as ``timeout`` (a cell whose
first call fits but leaves no room for more calls keeps that call as its one
sample). In this process the limit is a SIGALRM, which stops Python code (an
eager library's loop); cells of workloads marked ``isolate`` (the scalar
graphs) run in a worker process that is killed at the limit, so a compile that
never ends, a recursion error or a crash is recorded as that peer's timeout or
failure, not the end of the suite. The worker receives the reference gradient
and checks before timing; its library's import is not counted in the limit.

The timing of a row is split into ``--rounds`` rounds, each taking its share of
the budget and of the repeats, and the implementations take turns: round 1 runs
every implementation, then round 2 every one again, and so on (a worker stays
alive between its rounds). On a shared machine whose speed drifts (other
tenants, slow phases of seconds), every implementation is then sampled across
the same stretch of time, so the ratios in the table compare like with like. A
cell whose calls each take longer than a round's budget is timed in round 1 only.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from . import peers
from .workloads import FWD_BWD, WORKLOADS, Workload

RTOL = 1e-6
SLOW_CALLS = 10  # a first call longer than this many budgets is the only sample
IMPORT_LIMIT = 180.0  # seconds for a worker to import its library (not the cell's limit)
GRACE = 3.0  # seconds a worker gets beyond the limit to report its own timeout


class GradientMismatch(RuntimeError):
    """An implementation's gradient differs from the reference; the run stops."""


class CellTimeout(Exception):
    """A cell went past its time limit."""


@dataclass
class Cell:
    """Result of one implementation on one workload row (all modes)."""

    workload: str
    row: int
    impl: str
    status: str = "ok"                      # ok | failed | timeout | n/a
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


@contextmanager
def time_limit(seconds: float | None):
    """Raise CellTimeout in this (main) thread after ``seconds``; no limit where SIGALRM
    is missing (Windows) or off the main thread. Python code stops at once; a C call
    (a compile) at its return."""
    if not seconds or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise CellTimeout(f"timeout after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fail(cell: Cell, exc: BaseException) -> None:
    if isinstance(exc, CellTimeout):
        cell.status, cell.error = "timeout", str(exc)
    else:
        cell.status, cell.error = "failed", _describe(exc)


def run_cell(workload: Workload, row: int, impl: peers.Implementation, params: dict,
             ref: list | None, ref_name: str, budget: float, repeat: int,
             limit: float | None = None,
             measure_memory: bool = True) -> tuple[Cell, list | None, peers.Case | None]:
    """Check and time one implementation on one row in this process, within ``limit``.

    Returns the cell, the gradient (None when it failed) and the case, which
    ``time_cell`` times again in later rounds. A gradient mismatch propagates as
    GradientMismatch.
    """
    cell = Cell(workload.key, row, impl.name, reference=ref_name)
    start = time.perf_counter()
    impl.enter()
    try:
        with time_limit(limit):
            case = impl.build(workload.key, workload.inputs(params))
            if case is None:
                cell.status = "n/a"
                return cell, None, None
            t0 = time.perf_counter()
            grads = peers.to_numpy(case.step())
            cell.first_call_s = time.perf_counter() - t0
    except Exception as exc:  # a peer that cannot run a workload is a failure
        _fail(cell, exc)
        return cell, None, None
    cell.rel_err = check(workload, params, impl.name, grads, ref, ref_name)
    # the fewest calls timing takes: one per fwd+bwd, a forward and a backward per bwd
    calls = sum(1 if m == FWD_BWD or case.forward is None else 2 for m in workload.modes)

    def left() -> float | None:
        return None if not limit else max(limit - (time.perf_counter() - start), 0.001)

    def too_slow(seconds: float) -> bool:
        room = left()
        return seconds > SLOW_CALLS * budget or (room is not None and seconds * calls > room)

    if not case.compiles and too_slow(cell.first_call_s):
        # A first call may include the library's one-time set-up (JAX's eager op
        # compiles, torch.func's): a second one, if it finishes within the limit, says
        # whether the calls themselves are slow.
        one = cell.first_call_s
        try:
            with time_limit(left()):
                t0 = time.perf_counter()
                case.step()
                one = time.perf_counter() - t0
        except CellTimeout:
            pass                # no room for it: the first call stands
        except Exception as exc:
            _fail(cell, exc)
            return cell, grads, case
        if too_slow(one):
            # Too slow to repeat (or to repeat within the limit): one call is the sample;
            # backward-only is skipped.
            cell.samples[FWD_BWD] = [one]
            cell.single_call = True
            return cell, grads, case
    time_cell(workload, cell, case, budget, repeat, left())
    if cell.status == "ok" and measure_memory and impl.trace_memory:
        try:
            cell.memory_peak_bytes = memory_peak(case.step)
        except Exception as exc:
            _fail(cell, exc)
    return cell, grads, case


def time_cell(workload: Workload, cell: Cell, case: peers.Case, budget: float,
              repeat: int, limit: float | None = None) -> None:
    """Add samples of every mode to ``cell`` (one round; the caller has run the
    implementation's ``enter()``); an error or the limit fails the cell."""
    try:
        with time_limit(limit):
            for mode in workload.modes:
                if mode == FWD_BWD:
                    found = sample(case.step, budget, repeat)
                elif case.forward is not None:
                    found = sample(case.backward, budget, repeat, case.forward)
                else:
                    continue
                cell.samples.setdefault(mode, []).extend(found)
    except Exception as exc:
        _fail(cell, exc)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:297] + "..."


# -- isolation ------------------------------------------------------------------
class Worker:
    """One isolated cell: a spawned process that imports the implementation's library,
    runs the cell (``run_cell``) and then times later rounds on request.

    The parent waits for the import without a limit of its own (up to IMPORT_LIMIT),
    then at most ``limit`` (plus GRACE) for each reply; past that the process is killed
    and the cell is a timeout. A crash or an exit is a failure with the last line the
    process wrote to stderr.
    """

    def __init__(self, workload: Workload, row: int, impl: peers.Implementation, params: dict,
                 ref: list | None, ref_name: str, limit: float) -> None:
        self.key, self.row, self.impl, self.ref_name, self.limit = (
            workload.key, row, impl.name, ref_name, limit)
        self.log = tempfile.NamedTemporaryFile(prefix="bench-cell-", suffix=".log")
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as a user's
        self.conn, child = ctx.Pipe()
        job = {"workload": workload.key, "row": row, "impl": impl.name, "module": impl.module,
               "params": params, "ref": ref, "ref_name": ref_name, "limit": limit,
               "log": self.log.name}
        self.proc = ctx.Process(target=_worker_main, args=(child, job), daemon=True)
        self.proc.start()
        child.close()

    def first(self, budget: float, repeat: int) -> tuple[Cell, list | None]:
        """The checked, timed cell (round 1) and its gradient."""
        ready = self._reply(IMPORT_LIMIT, "importing its library")
        if isinstance(ready, Cell):
            return ready, None
        reply = self._send(("first", budget, repeat))
        if isinstance(reply, Cell):
            return reply, None
        if reply[0] == "mismatch":
            self.close()
            raise GradientMismatch(reply[1])
        return Cell(**reply[1]), reply[2]

    def again(self, cell: Cell, budget: float, repeat: int) -> None:
        """Time one more round; add its samples to ``cell`` (a failure fails it)."""
        reply = self._send(("again", budget, repeat))
        if isinstance(reply, Cell):
            cell.status, cell.error = reply.status, reply.error
            return
        more = Cell(**reply[1])
        if more.status != "ok":
            cell.status, cell.error = more.status, more.error
        for mode, found in more.samples.items():
            cell.samples.setdefault(mode, []).extend(found)

    def close(self) -> None:
        if self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.conn.close()
        self.log.close()

    def _send(self, msg):
        try:
            self.conn.send(msg)
        except OSError:
            return self._dead()
        return self._reply(self.limit + GRACE, f"timeout after {self.limit:g} s")

    def _reply(self, seconds: float, why: str):
        """The worker's next message, or a failed/timed-out Cell when there is none."""
        try:
            if self.conn.poll(seconds):
                return self.conn.recv()
        except (EOFError, OSError):
            return self._dead()
        if not self.proc.is_alive():
            return self._dead()
        self.proc.kill()
        self.proc.join()
        status = "timeout" if why.startswith("timeout") else "failed"
        return Cell(self.key, self.row, self.impl, status,
                    why if status == "timeout" else f"no answer after {seconds:g} s {why}",
                    reference=self.ref_name)

    def _dead(self) -> Cell:
        self.proc.join(5)
        code = self.proc.exitcode
        with open(self.log.name, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        why = lines[-1] if lines else ""
        if code is not None and code < 0:
            why = f"killed by signal {-code}" + (f" ({why})" if why else "")
        return Cell(self.key, self.row, self.impl, "failed", why or f"exit code {code}",
                    reference=self.ref_name)


def _worker_main(conn, job: dict) -> None:
    """Worker process: import the adapter, say so, then run what the parent asks."""
    fd = os.open(job["log"], os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)      # the library's own output must not break the parent's display
    os.dup2(fd, 2)
    impls, missing = peers.load([job["impl"]], modules=[job["module"]])
    impl = next((i for i in impls if i.name == job["impl"]), None)
    if impl is None:
        raise ImportError(f"{job['impl']} not available: {missing}")
    conn.send(("ready",))
    workload = WORKLOADS[job["workload"]]
    case = None
    while True:
        msg = conn.recv()
        if msg is None:
            return
        what, budget, repeat = msg
        if what == "first":
            try:
                cell, grads, case = run_cell(workload, job["row"], impl, job["params"],
                                             job["ref"], job["ref_name"], budget, repeat,
                                             job["limit"])
            except GradientMismatch as exc:
                conn.send(("mismatch", str(exc)))
                return
            conn.send(("cell", asdict(cell), grads))
        else:
            more = Cell(workload.key, job["row"], impl.name)
            impl.enter()
            time_cell(workload, more, case, budget, repeat, job["limit"])
            conn.send(("cell", asdict(more)))


# -- the suite ------------------------------------------------------------------
class Progress:
    """The live progress bar (tqdm, on stderr) and the one-line result of each cell.

    A background thread redraws the bar every second, so its clock runs during a
    long cell; the bar is closed before the table is printed. Without tqdm (it is
    in the ``bench`` extra) only the lines are printed.
    """

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            _progress("tqdm not installed (it is in the bench extra): no progress bar")
            return
        self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} cells "
                                   "[{elapsed}<{remaining}]")
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self.bar.refresh()

    def start(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(text, refresh=True)

    def note(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            _progress(line)

    def done(self, line: str | None = None) -> None:
        if line:
            self.note(line)
        if self.bar is not None:
            self.bar.update(1)

    def add(self, n: int) -> None:
        if self.bar is not None:
            self.bar.total += n
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self._stop.set()
            self._ticker.join()
            self.bar.set_description_str("done", refresh=False)
            self.bar.close()


def run_suite(workloads: list[Workload], impls: list[peers.Implementation], run: str,
              budget: float, repeat: int, limit: float, rounds: int = 1,
              progress: bool = True) -> list[Cell]:
    """Every implementation on every row, in ``rounds`` interleaved rounds of timing
    (see the module docstring); progress bar and per-cell lines on stderr."""
    rows = [(w, i, p) for w in workloads for i, p in enumerate(w.rows(run))]
    round_budget, round_repeat = budget / rounds, -(-repeat // rounds)
    bar = Progress(len(rows) * len(impls), progress)
    cells = []
    try:
        for n, (w, row, params) in enumerate(rows, 1):
            ref, ref_name = None, ""
            again = []              # (impl, cell, case or worker) timed in the later rounds
            workers = []
            for impl in impls:
                bar.start(f"[{n}/{len(rows)}] {w.label(params)}: {impl.name}")
                t0 = time.perf_counter()
                if w.key not in impl.cases:
                    cell, grads, case = Cell(w.key, row, impl.name, "n/a"), None, None
                elif w.isolate and not impl.floor:
                    case = Worker(w, row, impl, params, ref, ref_name, limit)
                    workers.append(case)
                    cell, grads = case.first(round_budget, round_repeat)
                else:
                    cell, grads, case = run_cell(w, row, impl, params, ref, ref_name,
                                                 round_budget, round_repeat, limit)
                if ref is None and grads is not None:
                    ref, ref_name = grads, impl.name
                cells.append(cell)
                bar.done(None if cell.status == "n/a" else
                         f"[{n}/{len(rows)}] {w.label(params)}: {impl.name} "
                         f"{_summary(w, params, cell)}  ({time.perf_counter() - t0:.1f} s)")
                if rounds > 1 and _fits_a_round(cell, round_budget):
                    again.append((impl, cell, case))
            bar.add((rounds - 1) * len(again))
            for r in range(2, rounds + 1):
                for impl, cell, case in again:
                    bar.start(f"[{n}/{len(rows)}] {w.label(params)}: {impl.name} "
                              f"(round {r}/{rounds})")
                    if cell.status == "ok":
                        if isinstance(case, Worker):
                            case.again(cell, round_budget, round_repeat)
                        else:
                            impl.enter()
                            time_cell(w, cell, case, round_budget, round_repeat, limit)
                    bar.done()
            for worker in workers:
                worker.close()
            if again:
                bar.note(f"[{n}/{len(rows)}] {w.label(params)} after {rounds} rounds, "
                         f"{FWD_BWD} in {w.unit}: " + ", ".join(
                             f"{impl.name} {_median(w, params, cell, FWD_BWD)}"
                             for impl, cell, _ in again))
    finally:
        bar.close()
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


def _median(w: Workload, params: dict, cell: Cell, mode: str) -> str:
    if cell.status != "ok" or mode not in cell.samples:
        return cell.status
    return f"{w.convert(float(np.median(cell.samples[mode])), params):.4g}"


def _progress(msg: str, end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


# Per run: rounds, seconds of timing per cell and mode, most samples, limit per cell.
RUNS = {"quick": dict(rounds=1, budget=0.05, repeat=100, limit=10.0),
        "default": dict(rounds=2, budget=0.5, repeat=100, limit=10.0),
        "full": dict(rounds=3, budget=1.0, repeat=100, limit=60.0)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m benchmarks``."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time autodiff against every installed peer. The default run takes a "
                    "few minutes on 2 cores; --full is the long run behind the README's "
                    "table; --quick is a smoke run of seconds.")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated workload keys (default: all, %(default)s)")
    p.add_argument("--peers", default=None,
                   help="comma-separated implementations or libraries, e.g. torch,jax-jit "
                        "(default: all installed; the floors and autodiff always run)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    size.add_argument("--full", action="store_true",
                      help="the long run: every size (W1 also at n=10000), 3 rounds, 1 s of "
                           "timing per cell and mode, up to 100 samples, 60 s per cell")
    p.add_argument("--repeat", type=int, default=None,
                   help="most timed samples per cell and mode (default 100)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds the timing of a row is split into (default 2; "
                        "3 with --full, 1 with --quick)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timing per cell and mode, over all rounds (default 0.5; "
                        "1.0 with --full, 0.05 with --quick)")
    p.add_argument("--cell-limit", "--timeout", dest="limit", type=float, default=None,
                   help="seconds a cell may take (its checked first call, with compilation, "
                        "and its timing) before it is stopped and shown as a timeout "
                        "(default 10; 60 with --full)")
    threads = p.add_mutually_exclusive_group()
    threads.add_argument("--threads", type=int, default=None,
                         help="threads for BLAS, OpenMP, torch and XLA (default 1, as in the "
                              "README's table)")
    threads.add_argument("--default-threads", action="store_true",
                         help="leave every library at its own default thread count")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (the per-cell lines are still printed on stderr)")
    p.add_argument("--json", default="bench_results/latest.json", help="JSON output path")
    p.add_argument("--plot", default="bench_results/latest.png",
                   help="PNG bar chart path (needs matplotlib; 'none' to skip)")
    args = p.parse_args(argv)
    unknown = set(args.workloads.split(",")) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads {sorted(unknown)}; choose from {list(WORKLOADS)}")
    args.run = "quick" if args.quick else "full" if args.full else "default"
    for name, value in RUNS[args.run].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be at least 1")
    if not args.default_threads and args.threads is None:
        args.threads = 1
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the suite; print the table; write the JSON and the chart. Returns an exit code."""
    from . import report

    args = parse_args(argv)
    if args.threads:
        if os.environ.get("OMP_NUM_THREADS") != str(args.threads):
            _progress(f"warning: BLAS and OpenMP were not limited to {args.threads} thread(s) "
                      "before NumPy was imported; run `python -m benchmarks` for that")
        _set_torch_threads(args.threads)
    names = args.peers.split(",") if args.peers else None
    impls, missing = peers.load(names)
    workloads = [WORKLOADS[k] for k in args.workloads.split(",")]
    _progress("implementations: " + ", ".join(i.name for i in impls)
              + (f"; not installed: {', '.join(missing)}" if missing else ""))
    _progress(report.describe_run(args))
    started = time.time()
    try:
        cells = run_suite(workloads, impls, args.run, args.budget, args.repeat, args.limit,
                          args.rounds, args.progress)
    except GradientMismatch as exc:
        _progress(f"\nstopped: {exc}")
        return 2
    results = report.collect(workloads, impls, missing, cells, args, time.time() - started)
    print(report.table(results), flush=True)
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
    sys.exit(main())
