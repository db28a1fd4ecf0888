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

#: A child Python that runs one command and reports the peak RSS of its process tree (KiB on Linux).
_RSS = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[-1] + ".stderr", "w"))
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
    cmd = [sys.executable, "-c", _RSS, "timeout", str(int(timeout_s)), str(BIN / "papermill"), "--no-progress-bar",
           "--log-level", "ERROR", "-k", "cliprobust", str(nb), str(out_nb), "-p", "profile", "rehearsal"]
    res = subprocess.run(cmd, env=_env(cache_dir, CLIPROBUST_FIGURES_DIR=str(out_dir / "figures")),
                         capture_output=True, text=True)
    rec = eval(res.stdout.strip().splitlines()[-1]) if res.stdout.strip() else {"rc": res.returncode}  # noqa: S307
    if rec.get("rc"):
        err = Path(str(out_nb) + ".stderr")
        tail = err.read_text()[-400:] if err.is_file() else res.stderr[-400:]
        rec["error"] = " ".join(line for line in tail.splitlines() if line.strip())[-300:]
    return rec


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
    args = p.parse_args()
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
