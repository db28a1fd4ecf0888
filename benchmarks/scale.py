"""Scale of the full profile, measured on SYNTHETIC caches (``cliprobust simulate``): a rehearsal.

    .venv/bin/python benchmarks/scale.py [--fractions 0.002,0.005,0.01] [--notebooks 01,03,05]
                                         [--budget-s 900] [--work /tmp/cliprobust-scale]

1. ``cliprobust simulate`` of the paper zoo (210 models) x the 12 test sets at each fraction:
   wall time and bytes on disk per entry (float16 scores and features), extrapolated to 100 %.
2. ``cliprobust cache ls`` over the full grid (2,520 pairs) at the smallest fraction, all complete
   and with half the (model, data set) folders moved away (complete and missing mixed); cold (the
   first call resolves and stores the model configs) and warm; whether torch was imported.
3. A fully cached ``cliprobust evaluate`` (the smoke models on the shipped sets, real random-init
   outputs in ``data/smoke-outputs``): seconds, and whether torch was imported. Synthetic entries
   cannot serve ``evaluate``: their keys carry ``synthetic: true`` by design.
4. Each notebook with ``-p profile rehearsal`` on the synthetic caches of each fraction, in its own
   process tree: wall time and peak RSS (``ru_maxrss`` of the waited-for descendants, i.e. the
   kernel), linear fits in the number of images, extrapolated to 100 %.

Numbers go to stdout as JSON lines and to ``benchmarks/results-scale.md`` (with ``--write``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
FULL_DATASETS = ("imagenet,imagenet-v2,imagenet-r,imagenet-sketch,objectnet,imagenet-a,imagenet-o,inaturalist,"
                 "sun,places,textures,cue-conflict")

#: A child Python that runs the CLI in process and reports the time and whether torch got imported.
_PROBE = """
import sys, time, io, contextlib
t0 = time.perf_counter()
from cliprobust import cli
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = cli.main(sys.argv[1:])
print({"rc": rc, "seconds": round(time.perf_counter() - t0, 3), "torch": "torch" in sys.modules,
       "open_clip": "open_clip" in sys.modules, "lines": buf.getvalue().count(chr(10))})
"""

#: A child Python that runs one command (argv[2:]) and reports the peak RSS of its process tree (KiB on
#: Linux), stderr to the file argv[1].
_RSS = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "w"))
print({"rc": rc, "seconds": round(time.perf_counter() - t0, 2),
       "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)})
"""


def log(record: dict) -> dict:
    """Print one measurement as a JSON line (and return it)."""
    print(json.dumps(record), flush=True)
    return record


def _env(cache_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CLIPROBUST_CACHE_DIR": str(cache_dir), **extra}


def simulate(cache_dir: Path, fraction: float, models: str) -> dict:
    """Run ``cliprobust simulate`` for the grid; wall seconds, entries, bytes."""
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "cliprobust"), "simulate", "--models", models, "--datasets", FULL_DATASETS,
                    "--fraction", str(fraction), "--cache-dir", str(cache_dir), "--no-progress"],
                   check=True, env=_env(cache_dir), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    per_set: dict[str, list[int]] = {}
    n_images: dict[str, int] = {}
    for meta_path in (cache_dir / "entries").glob("*/*/*/meta.json"):
        size = sum(p.stat().st_size for p in meta_path.parent.iterdir() if p.is_file())
        per_set.setdefault(meta_path.parent.parent.name, []).append(size)
        if meta_path.parent.parent.name not in n_images:
            n_images[meta_path.parent.parent.name] = json.loads(meta_path.read_text())["n_samples"]
    return {"step": "simulate", "fraction": fraction, "wall_s": round(wall, 1),
            "entries": sum(len(v) for v in per_set.values()), "bytes": sum(sum(v) for v in per_set.values()),
            "bytes_per_set": {k: sum(v) for k, v in per_set.items()}, "images_per_set": n_images}


def probe(args: list[str], env: dict[str, str]) -> dict:
    """Run the CLI in a fresh interpreter; returns its report dict."""
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True, timeout=900)
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    try:
        return eval(last)  # noqa: S307 -- our own child's dict literal
    except SyntaxError:
        return {"rc": out.returncode, "error": out.stderr[-300:]}


def cache_ls(cache_dir: Path, models: str) -> list[dict]:
    """``cache ls`` over the grid: cold, warm, and with half the slots missing."""
    args = ["cache", "ls", "--models", models, "--datasets", FULL_DATASETS]
    env = _env(cache_dir)
    out = [log({"step": "cache ls", "state": "all complete, first call", **probe(args, env)}),
           log({"step": "cache ls", "state": "all complete, warm", **probe(args, env)})]
    hidden = cache_dir.parent / (cache_dir.name + "-hidden")
    slots = sorted((cache_dir / "entries").glob("*/*"))
    moved = []
    try:
        for i, slot in enumerate(slots):
            if i % 2:
                dest = hidden / slot.relative_to(cache_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                slot.rename(dest)
                moved.append((dest, slot))
        out.append(log({"step": "cache ls", "state": f"{len(slots) - len(moved)} complete, {len(moved)} missing",
                        **probe(args, env)}))
    finally:
        for dest, slot in moved:
            dest.rename(slot)
        shutil.rmtree(hidden, ignore_errors=True)
    return out


def cached_evaluate() -> dict:
    """A fully cached ``evaluate`` of the smoke models on the shipped sets (skipped unless complete)."""
    cache_dir = REPO / "data" / "smoke-outputs"
    env = _env(cache_dir, CLIPROBUST_PROMPT_SET="photo")
    sets = "imagenet-sample,cue-conflict"
    ls = probe(["cache", "ls", "--models", "smoke", "--datasets", sets], env)
    status = subprocess.run([str(BIN / "cliprobust"), "cache", "ls", "--models", "smoke", "--datasets", sets],
                            env=env, capture_output=True, text=True).stdout
    if not cache_dir.is_dir() or any(s in status for s in ("missing", "stale", "partial", "needs-head")):
        return log({"step": "evaluate (fully cached)", "skipped": "data/smoke-outputs is not complete under the "
                    "current keys (run ./run_all.sh --profile smoke)", "ls": ls})
    return log({"step": "evaluate (fully cached)", "grid": f"smoke x {sets}",
                **probe(["evaluate", "--models", "smoke", "--datasets", sets, "--no-progress"], env)})


def notebook(nb: Path, cache_dir: Path, out_dir: Path, timeout_s: float) -> dict:
    """One notebook, profile rehearsal, in its own process tree: wall seconds and peak RSS."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out_nb = out_dir / nb.name
    err = Path(str(out_nb) + ".stderr")
    cmd = [sys.executable, "-c", _RSS, str(err), "timeout", str(int(timeout_s)), str(BIN / "papermill"), "--no-progress-bar",
           "--log-level", "ERROR", "-k", "cliprobust", str(nb), str(out_nb), "-p", "profile", "rehearsal"]
    res = subprocess.run(cmd, env=_env(cache_dir, CLIPROBUST_FIGURES_DIR=str(out_dir / "figures")),
                         capture_output=True, text=True)
    rec = eval(res.stdout.strip().splitlines()[-1]) if res.stdout.strip() else {"rc": res.returncode}  # noqa: S307
    if rec.get("rc"):
        rec["error"] = notebook_error(out_nb) or ("timeout" if rec["rc"] == 124 else "")
    return rec


def notebook_error(out_nb: Path) -> str:
    """``ename: evalue`` of the first error output in an executed notebook ('' if none or unreadable)."""
    try:
        cells = json.loads(out_nb.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    for cell in cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                return f"{o['ename']}: {o['evalue']}"[:300]
    return ""


# --------------------------------------------------------------------------- report


def _fit(x: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares line y = a + b x (a, b); one point: through the origin."""
    import numpy as np

    if len(x) < 2:
        return 0.0, (y[0] / x[0]) if x and x[0] else 0.0
    b, a = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(a), float(b)


def bound_at(xs: list[float], ys: list[float], x: float) -> float:
    """Conservative extrapolation to ``x``: the largest measured y plus ALL the measured spread of y
    counted as growth (slope = (max y - min y) / (max x - min x)). At small fractions the spread is
    mostly noise, so a signed least-squares slope can be negative; this bound cannot."""
    spread = (max(ys) - min(ys)) / max(max(xs) - min(xs), 1e-9)
    return max(ys) + spread * max(x - max(xs), 0.0)


def full_counts() -> dict[str, int]:
    """Images per test set at 100 % (the registry's expected counts)."""
    from cliprobust import datasets

    return {d: datasets.get(d).expected_counts[0] for d in FULL_DATASETS.split(",")}


def _gib(b: float) -> str:
    return f"{b / 2**30:,.1f} GiB"


def report(records: list[dict]) -> str:
    """Markdown tables: disk, simulate, cache ls, evaluate, notebooks (+ fits and 100 % extrapolation)."""
    sims = sorted((r for r in records if r.get("step") == "simulate"), key=lambda r: r["fraction"])
    full = full_counts()
    out = ["# Scale of the full profile, rehearsed on synthetic caches", "",
           f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; 2-core CPU, shared with other jobs (timings noisy). "
           "Synthetic outputs (`cliprobust simulate`): a rehearsal of the pipeline at scale, never a result. "
           "Produced by `benchmarks/scale.py --report` from the JSON lines its runs append to `--results`.", ""]
    if sims:
        images = {r["fraction"]: sum(r["images_per_set"].values()) for r in sims}
        out += ["## Disk and simulate time", "",
                "| fraction | entries | images per model | bytes on disk | bytes per entry | simulate wall |",
                "|---|---|---|---|---|---|"]
        for r in sims:
            out.append(f"| {r['fraction']:.3%} | {r['entries']} | {images[r['fraction']]:,} | {_gib(r['bytes'])} | "
                       f"{r['bytes'] / r['entries'] / 2**20:,.2f} MiB | {r['wall_s']:.0f} s |")
        total = 0.0
        rows = []
        n_models = sims[-1]["entries"] / len(full)
        for d, n_full in full.items():
            xs = [r["images_per_set"].get(d, 0) for r in sims]
            ys = [r["bytes_per_set"].get(d, 0) for r in sims]
            a, b = _fit(xs, ys) if len(set(xs)) > 1 else (ys[-1], 0.0)
            est = ys[-1] if len(set(xs)) == 1 else a + b * n_full
            total += est
            per_img = b / n_models if len(set(xs)) > 1 else float("nan")
            rows.append(f"| {d} | {n_full:,} | {per_img:,.0f} | {_gib(est)} |")
        out += ["", "Per test set: bytes per image per model (slope over the fractions; scores float16 x 1000 "
                "classes = 2,000 B, features float16 x width), and the 100 % figure for the 210-model grid "
                "(shipped cue-conflict is simulated in full at every fraction).", "",
                "| test set | images at 100 % | bytes / image / model | grid at 100 % |", "|---|---|---|---|", *rows,
                "", f"**Real grid (210 models x 12 sets, 100 %): ~{_gib(total)} of cache on disk.**", ""]
    ls = [r for r in records if r.get("step") == "cache ls"]
    if ls:
        out += ["## `cliprobust cache ls` over the full grid (210 x 12 = 2,520 pairs)", "",
                "| state | seconds | rows | torch imported | open_clip imported |", "|---|---|---|---|---|"]
        out += [f"| {r['state']} | {r.get('seconds', 'n/a')} | {max(r.get('lines', 1) - 1, 0)} | {r.get('torch')} | "
                f"{r.get('open_clip')} |" for r in ls]
        out.append("")
    ev = [r for r in records if r.get("step") == "evaluate (fully cached)"]
    if ev:
        r = ev[-1]
        out += ["## Fully cached `cliprobust evaluate`", ""]
        out.append(f"- skipped: {r['skipped']}" if "skipped" in r else
                   f"- {r['grid']}: {r.get('seconds')} s, rc {r.get('rc')}, torch imported: {r.get('torch')}, "
                   f"open_clip imported: {r.get('open_clip')}")
        out.append("")
    nbs = [r for r in records if r.get("step") == "notebook"]
    if nbs and sims:
        images = {r["fraction"]: sum(r["images_per_set"].values()) for r in sims}
        out += ["## Notebooks, profile `rehearsal` (each in its own process tree)", "",
                "| notebook | " + " | ".join(f"{f:.1%}: wall / peak RSS" for f in images) +
                " | 100 %: bound (spread as growth) | < 4 GiB? |", "|---|" + "---|" * (len(images) + 2)]
        for name in sorted({r["notebook"] for r in nbs}):
            cells, xs, walls, rss = [], [], [], []
            for f in images:
                runs = [q for q in nbs if q["notebook"] == name and q["fraction"] == f]
                r = runs[-1] if runs else None  # the latest run of (notebook, fraction) counts
                if r is None or r.get("skipped"):
                    cells.append("not run" if r is None else f"skipped ({r['skipped']})")
                elif r.get("rc"):
                    cells.append(f"FAILED rc {r['rc']} ({(r.get('error') or '')[:120]})")
                else:
                    cells.append(f"{r['seconds']:.0f} s / {r['peak_rss_mib']:,.0f} MiB")
                    xs.append(images[f])
                    walls.append(r["seconds"])
                    rss.append(r["peak_rss_mib"])
            if len(xs) >= 2:
                n100 = sum(full.values())
                w100 = bound_at(xs, walls, n100)
                r100 = bound_at(xs, rss, n100)
                cells.append(f"<= {w100 / 60:,.0f} min / <= {r100 / 1024:,.1f} GiB")
                cells.append("yes" if r100 < 4096 and max(rss) < 4096 else "**no**")
            else:
                under = "yes (measured)" if rss and max(rss) < 4096 else "n/a"
                cells += ["n/a (< 2 fractions ran)", under]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fractions", default="0.002,0.005,0.01")
    p.add_argument("--models", default="paper")
    p.add_argument("--notebooks", default="", help="prefixes (e.g. 01,03); default: every notebook")
    p.add_argument("--notebook-timeout", type=float, default=300)
    p.add_argument("--budget-s", type=float, default=900, help="stop starting notebook runs after this")
    p.add_argument("--work", default="/tmp/cliprobust-scale")
    p.add_argument("--skip", default="", help="steps to skip: simulate,ls,evaluate,notebooks")
    p.add_argument("--results", default=str(HERE / "scale-results.jsonl"))
    p.add_argument("--report", nargs="?", const=str(HERE / "results-scale.md"), default=None,
                   help="only write the markdown report from --results (default benchmarks/results-scale.md)")
    args = p.parse_args()
    if args.report:
        records = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
        Path(args.report).write_text(report(records))
        print(Path(args.report).read_text())
        return 0
    t_start = time.perf_counter()
    work = Path(args.work)
    fractions = [float(f) for f in args.fractions.split(",")]
    skip = set(args.skip.split(","))
    records = []
    with open(args.results, "a") as sink:
        def keep(r: dict) -> None:
            r = {**r, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            records.append(r)
            sink.write(json.dumps(r) + "\n")
            sink.flush()

        for f in fractions:
            if "simulate" not in skip:
                keep(log(simulate(work / f"f{f}", f, args.models)))
        if "ls" not in skip:
            for r in cache_ls(work / f"f{fractions[0]}", args.models):
                keep(r)
        if "evaluate" not in skip:
            keep(cached_evaluate())
        if "notebooks" not in skip:
            nbs = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
            if args.notebooks:
                nbs = [nb for nb in nbs if nb.name[:2] in args.notebooks.split(",")]
            failed: set[str] = set()
            for f in fractions:
                for nb in nbs:
                    if nb.name in failed:
                        continue
                    if time.perf_counter() - t_start > args.budget_s:
                        keep(log({"step": "notebook", "notebook": nb.name, "fraction": f, "skipped": "budget"}))
                        continue
                    rec = notebook(nb, work / f"f{f}", work / "nb" / f"f{f}", args.notebook_timeout)
                    keep(log({"step": "notebook", "notebook": nb.name, "fraction": f, **rec}))
                    if rec.get("rc"):
                        failed.add(nb.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
