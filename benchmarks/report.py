"""Results: the JSON document, the printed table and the bar chart of ratios."""
from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata

import numpy as np



def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS", "XLA_FLAGS") if k in os.environ}
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError):
        blas = "unknown"
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "usable_cpus": usable, "python": sys.version.split()[0],
            "implementation": platform.python_implementation(), "numpy_blas": blas,
            "thread_env": threads}


def versions(libraries: set) -> dict:
    """Installed version of each library used (Python's own for the pure-Python floor)."""
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for lib in sorted(libraries - {"python"}):
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = getattr(sys.modules.get(lib), "__version__", "unknown")
    return out


def describe_run(args) -> str:
    """One line on how the run is set up (printed before it and under the table)."""
    threads = "each library's default threads" if args.threads is None else \
        f"{args.threads} thread{'s' if args.threads != 1 else ''}"
    other = "" if args.run == "full" else "; --full for the long run"
    return (f"{args.run} run: {threads}, {args.rounds} interleaved round"
            f"{'s' if args.rounds != 1 else ''}, {args.budget:g} s of timing per cell and "
            f"mode (at most {args.repeat} samples), {args.limit:g} s limit per cell{other}")


def collect(workloads, impls, missing, cells, args, seconds: float) -> dict:
    """One JSON-ready document with every sample, the check and the medians/ratios."""
    from .peers import autodiff_peer

    names = [i.name for i in impls]
    by_key = {(c.workload, c.row, c.impl): c for c in cells}
    rows, checks = [], []
    for w in workloads:
        for r, params in enumerate(w.rows(args.run)):
            for impl in names:
                c = by_key.get((w.key, r, impl))
                if c and c.status != "n/a":
                    checks.append({"workload": w.label(params), "impl": impl,
                                   "reference": c.reference or impl, "status": c.status,
                                   "rel_err": c.rel_err, "error": c.error})
            for mode in w.modes:
                row = {"workload": w.key, "label": w.label(params), "title": w.title,
                       "params": params, "mode": mode, "unit": w.unit, "notes": w.notes,
                       "gradients": w.gradients, "cells": {}}
                for impl in names:
                    row["cells"][impl] = _cell_entry(w, params, mode, by_key.get((w.key, r, impl)))
                base = row["cells"].get("autodiff", {}).get("median")
                for entry in row["cells"].values():
                    if base and entry.get("median") is not None:
                        entry["ratio_to_autodiff"] = entry["median"] / base
                rows.append(row)
    return {
        "machine": machine(),
        "versions": versions({i.library for i in impls}),
        "options": {k: v for k, v in vars(args).items()},
        "run": describe_run(args),
        "implementations": names,
        "not_installed": missing,
        "autodiff_fallbacks": sorted(autodiff_peer.FALLBACKS),
        "gradient_check": {"rtol": 1e-6, "cells": checks},
        "rows": rows,
        "seconds": seconds,
    }


def _cell_entry(w, params, mode, cell) -> dict:
    if cell is None:
        return {"status": "not run"}
    entry = {"status": cell.status}
    if cell.error:
        entry["error"] = cell.error
    if cell.status == "ok" and mode not in cell.samples:
        entry["status"] = "skipped: too slow to repeat" if cell.single_call else "n/a"
    if mode in cell.samples:
        samples = cell.samples[mode]
        entry.update(median=w.convert(float(np.median(samples)), params),
                     samples_s=samples, first_call_s=cell.first_call_s,
                     memory_peak_bytes=cell.memory_peak_bytes, rel_err=cell.rel_err,
                     single_call=cell.single_call)
    return entry


def _text(e: dict) -> str:
    """Table text of a cell without a median."""
    return {"not run": "", "n/a": "n/a", "failed": "FAIL", "timeout": "timeout²"}.get(
        e["status"], "—")


def _fmt(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def table(results: dict) -> str:
    """Markdown table: rows workloads x modes, columns implementations, median (ratio)."""
    names = results["implementations"]
    lines = ["| workload | mode | unit | " + " | ".join(names) + " |",
             "|---|---|---|" + "---:|" * len(names)]
    failures, timeouts = [], []
    for row in results["rows"]:
        out = []
        for impl in names:
            e = row["cells"][impl]
            if e.get("median") is None:
                out.append(_text(e))
                if row["mode"] == "fwd+bwd" and e["status"] in ("failed", "timeout"):
                    (failures if e["status"] == "failed" else timeouts).append(
                        f"{row['label']}, {impl}" + (f": {e['error']}" if e["status"] == "failed"
                                                     else ""))
                continue
            text = _fmt(e["median"]) + ("¹" if e.get("single_call") else "")
            if impl == "autodiff":
                text = f"**{text}**"
            elif "ratio_to_autodiff" in e:
                text += f" ({e['ratio_to_autodiff']:.2g}x)"
            out.append(text)
        lines.append(f"| {row['label']} | {row['mode']} | {row['unit']} | " + " | ".join(out) + " |")
    limit = results["options"].get("limit")
    notes = ["", "Each cell: median (its ratio to autodiff; above 1x the peer is slower). "
             "n/a: the library cannot express the workload or mode; ¹: one timed call, too "
             "slow to repeat within the budget or the limit (the first call, with the library's "
             "one-time set-up, when a second did not fit in the limit; — its backward-only "
             "time was skipped); FAIL: see Failures."]
    if timeouts:
        notes += ["", f"² timeout, skipped: too slow for this run's limit of {limit:g} s per "
                  "cell (first call with compilation, gradient check and timing); "
                  "`--cell-limit S` or `--full` (60 s) gives it longer: "
                  + "; ".join(timeouts) + "."]
    notes += ["", "Run: " + results.get("run", "")]
    memory = _memory_lines(results)
    if memory:
        notes += ["", "Peak traced memory of one fwd+bwd step (MB, tracemalloc):", *memory]
    if failures:
        notes += ["", "Failures:", *(f"- {f}" for f in failures)]
    if results["not_installed"]:
        notes += ["", "Not installed: " + ", ".join(results["not_installed"])]
    if results["autodiff_fallbacks"]:
        notes += ["", "autodiff composed from existing ops in place of: "
                  + ", ".join(results["autodiff_fallbacks"])]
    checks = results["gradient_check"]["cells"]
    worst = max((c["rel_err"] for c in checks if c["rel_err"] is not None), default=0.0)
    notes += ["", f"Gradient cross-check: {sum(c['rel_err'] is not None for c in checks)} "
              f"implementation/workload pairs agree with the reference within relative "
              f"{results['gradient_check']['rtol']:g} (largest difference {worst:.1e})."]
    return "\n".join(lines + notes)


def _memory_lines(results: dict) -> list[str]:
    lines = []
    for row in results["rows"]:
        if row["mode"] != "fwd+bwd":
            continue
        peaks = [f"{impl} {e['memory_peak_bytes'] / 1e6:.3g}"
                 for impl, e in row["cells"].items() if e.get("memory_peak_bytes")]
        if peaks:
            lines.append(f"- {row['label']}: " + ", ".join(peaks))
    return lines


def write_json(results: dict, path: str) -> None:
    """Write the results document (creating the directory)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=_jsonable)


def _jsonable(x):
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def plot(results: dict, path: str) -> bool:
    """Bar chart of each peer's time relative to autodiff (log scale); False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = figure(results)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")   # "tight" keeps the outside legend
    plt.close(fig)
    return True


MARKS = {"timeout": "timeout", "failed": "FAIL"}


def figure(results: dict):
    """The chart as a matplotlib Figure: a bar per peer and row; a cell that timed out or
    failed is an "x" on the 1x line labelled "timeout"/"FAIL"; the legend is outside
    the axes, on the right, so that it covers no bar."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names = [n for n in results["implementations"] if n != "autodiff"]
    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(rows)), 4.5))
    width = 0.8 / max(len(names), 1)
    marked = False
    for j, impl in enumerate(names):
        xs, ys = [], []
        color = f"C{j % 10}"
        for i, row in enumerate(rows):
            x = i + (j - (len(names) - 1) / 2) * width
            entry = row["cells"][impl]
            ratio = entry.get("ratio_to_autodiff")
            if ratio:
                xs.append(x)
                ys.append(ratio)
            elif entry["status"] in MARKS:
                ax.plot([x], [1.0], marker="x", markersize=7, markeredgewidth=2, color=color,
                        linestyle="none")
                ax.annotate(MARKS[entry["status"]], (x, 1.0), xytext=(0, 6),
                            textcoords="offset points", rotation=90, fontsize=6,
                            ha="center", va="bottom", color=color)
                marked = True
        ax.bar(xs, ys, width, label=impl, color=color)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r['label']}\n{r['mode']}" for r in rows], fontsize=7, rotation=30,
                       ha="right")
    ax.set_ylabel("time / autodiff's time (log)")
    ax.set_title("Time relative to autodiff (above 1: slower than autodiff)")
    handles, labels = ax.get_legend_handles_labels()
    if marked:
        handles.append(Line2D([], [], marker="x", color="gray", markeredgewidth=2,
                              linestyle="none"))
        labels.append("timeout / FAIL: no time")
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    fig.tight_layout()
    return fig
