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


def collect(workloads, impls, missing, cells, args, seconds: float) -> dict:
    """One JSON-ready document with every sample, the check and the medians/ratios."""
    from .peers import autodiff_peer

    names = [i.name for i in impls]
    by_key = {(c.workload, c.row, c.impl): c for c in cells}
    rows, checks = [], []
    for w in workloads:
        for r, params in enumerate(w.quick if args.quick else w.sizes):
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
    if e["status"] == "failed":
        return "timeout" if e.get("error", "").startswith("timeout") else "FAIL"
    return {"not run": "", "n/a": "n/a"}.get(e["status"], "—")


def _fmt(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def table(results: dict) -> str:
    """Markdown table: rows workloads x modes, columns implementations, median (ratio)."""
    names = results["implementations"]
    lines = ["| workload | mode | unit | " + " | ".join(names) + " |",
             "|---|---|---|" + "---:|" * len(names)]
    failures = []
    for row in results["rows"]:
        out = []
        for impl in names:
            e = row["cells"][impl]
            if e.get("median") is None:
                out.append(_text(e))
                if e["status"] == "failed" and row["mode"] == "fwd+bwd":
                    failures.append(f"{row['label']}, {impl}: {e.get('error')}")
                continue
            text = _fmt(e["median"]) + ("¹" if e.get("single_call") else "")
            if impl == "autodiff":
                text = f"**{text}**"
            elif "ratio_to_autodiff" in e:
                text += f" ({e['ratio_to_autodiff']:.2g}x)"
            out.append(text)
        lines.append(f"| {row['label']} | {row['mode']} | {row['unit']} | " + " | ".join(out) + " |")
    notes = ["", "Each cell: median (its ratio to autodiff; above 1x the peer is slower). "
             "n/a: the library cannot express the workload or mode; ¹: one call, too slow "
             "to repeat (— its backward-only time was skipped); timeout/FAIL: see Failures."]
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

    names = [n for n in results["implementations"] if n != "autodiff"]
    rows = results["rows"]
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(rows)), 4.5))
    width = 0.8 / max(len(names), 1)
    for j, impl in enumerate(names):
        xs, ys = [], []
        for i, row in enumerate(rows):
            ratio = row["cells"][impl].get("ratio_to_autodiff")
            if ratio:
                xs.append(i + (j - (len(names) - 1) / 2) * width)
                ys.append(ratio)
        ax.bar(xs, ys, width, label=impl)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r['label']}\n{r['mode']}" for r in rows], fontsize=7, rotation=30,
                       ha="right")
    ax.set_ylabel("time / autodiff's time (log)")
    ax.set_title("Time relative to autodiff (above 1: slower than autodiff)")
    ax.legend(fontsize=7, ncol=min(len(names), 4))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

