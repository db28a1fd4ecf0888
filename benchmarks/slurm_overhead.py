"""Cost of the Slurm job layout, measured on a real (local, one-node) Slurm in one run.

    .venv/bin/python benchmarks/slurm_overhead.py [--models smoke] [--datasets imagenet-sample,cue-conflict]
                                                  [--parallelism 2] [--work /tmp/cliprobust-slurm-bench]

Starts the test cluster (``tests/slurm/start.sh``; or uses the one ``$SLURM_CONF`` names with
``--existing``), then runs the same grid twice with ``cliprobust evaluate --executor slurm`` into two
fresh caches: ``--job-per pair`` (one job per (model, data set)) and ``--job-per model`` (the
default: one job, one weights load, per model), same parallelism, same CPUs per job. Per job it
reads Slurm's own submit and start times (``sacct``) and the moment its first model was loaded
(``started_at + load_s`` in the entry's ``meta.json``):

- queue: submit -> start, for the jobs that started without waiting for the array's throttle;
- start -> loaded: interpreter, imports, weights, text head (the per-job overhead the GPU idles through);
- the wall time of each whole command.

Images are read once before both runs (warm page cache for both). The table goes to stdout and, with
``--write``, is appended to ``benchmarks/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, STOP = REPO / "tests" / "slurm" / "start.sh", REPO / "tests" / "slurm" / "stop.sh"


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="smoke")
    p.add_argument("--datasets", default="imagenet-sample,cue-conflict")
    p.add_argument("--parallelism", type=int, default=2, help="--array-parallelism of both runs")
    p.add_argument("--cpus-per-job", type=int, default=1)
    p.add_argument("--order", default="pair,model", help="which layout runs first (order effects: run both)")
    p.add_argument("--work", default="/tmp/cliprobust-slurm-bench")
    p.add_argument("--existing", action="store_true", help="use the cluster $SLURM_CONF names")
    p.add_argument("--write", action="store_true", help="append the table to benchmarks/results.md")
    return p.parse_args()


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _sacct(array: str) -> dict[str, tuple[float, float]]:
    """task id -> (submit, start) in epoch seconds (Slurm's 1 s resolution)."""
    for _ in range(60):
        out = subprocess.run(["sacct", "-j", array, "-X", "-n", "-P", "-o", "JobID,State,Submit,Start"],
                             capture_output=True, text=True, check=True).stdout
        rows = [r.split("|") for r in out.splitlines() if r.strip()]
        if rows and all(r[1] not in ("RUNNING", "PENDING", "COMPLETING") for r in rows):
            return {r[0]: (_ts(r[2]), _ts(r[3])) for r in rows}
        time.sleep(1)
    raise RuntimeError(f"sacct: array {array} did not finish")


def _loaded(cache: Path) -> dict[str, list[float]]:
    """job id -> moments (epoch s) at which its entries' models were loaded (from meta.json)."""
    out: dict[str, list[float]] = {}
    for meta_path in cache.rglob("meta.json"):
        meta = json.loads(meta_path.read_text())
        if "timings" not in meta or "load_s" not in meta["timings"]:
            continue
        job = _ENTRY_JOB.get(str(meta_path.parent), "?")
        out.setdefault(job, []).append(_ts(meta["started_at"]) + meta["timings"]["load_s"])
    return out


#: entry folder -> the Slurm task that computed it (filled by :func:`_index_logs`).
_ENTRY_JOB: dict[str, str] = {}


def _index_logs(logs: Path) -> None:
    """entry folder -> task id, from each job's submitit result (the pickled JobOutcome)."""
    import pickle

    for result in logs.rglob("*_result.pkl"):
        status, outcome = pickle.loads(result.read_bytes())
        task = result.name.removesuffix("_0_result.pkl")
        if status == "success":
            for entry in outcome.entries:
                if entry:
                    _ENTRY_JOB[entry] = task


def _run(mode: str, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict:
    cache, logs = work / f"cache-{mode}", work / f"logs-{mode}"
    cmd = [str(REPO / ".venv/bin/cliprobust") if (REPO / ".venv/bin/cliprobust").exists() else "cliprobust",
           "evaluate", "--models", args.models, "--datasets", args.datasets, "--executor", "slurm",
           "--job-per", mode, "--array-parallelism", str(args.parallelism), "--cpus-per-job", str(args.cpus_per_job),
           "--gpus-per-job", "0", "--mem-gb", "2", "--time-limit", "60", "--poll", "1", "--device", "cpu",
           "--log-folder", str(logs)]
    t0 = time.time()
    done = subprocess.run(cmd, env={**env, "CLIPROBUST_CACHE_DIR": str(cache)}, capture_output=True, text=True)
    wall = time.time() - t0
    if done.returncode:
        raise RuntimeError(f"{mode}: {done.stdout}\n{done.stderr}")
    arrays = [line.split()[3].rstrip(":") for line in done.stdout.splitlines() if line.startswith("submitted job array")]
    tasks = {k: v for a in arrays for k, v in _sacct(a).items()}
    _index_logs(logs)
    loaded = _loaded(cache)
    return _summarize(mode, wall, tasks, loaded, args.parallelism)


def _summarize(mode: str, wall: float, tasks: dict[str, tuple[float, float]], loaded: dict[str, list[float]],
               parallelism: int) -> dict:
    first = sorted(tasks, key=lambda t: tasks[t][1])[:parallelism]  # started without the throttle
    queue = [tasks[t][1] - tasks[t][0] for t in first]
    to_loaded = [min(loaded[t]) - tasks[t][1] for t in tasks if t in loaded]
    return {"mode": mode, "jobs": len(tasks), "wall_s": round(wall, 1),
            "queue_s": round(statistics.median(queue), 1),
            "start_to_loaded_s": round(statistics.median(to_loaded), 1), "n_loaded": len(to_loaded)}


def _warm(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Materialize and read every image once, so both runs start from the same page cache."""
    code = ("import sys; from cliprobust import datasets\n"
            "for d in sys.argv[1].split(','):\n"
            "    files = datasets.materialize(datasets.resolve(d))\n"
            "    [open(p, 'rb').read() for p in files.paths]\n")
    subprocess.run([sys.executable, "-c", code, args.datasets], env=env, check=True)


def _table(rows: list[dict], args: argparse.Namespace, when: str) -> str:
    pair, model = rows
    lines = [
        f"\n## Slurm job layout: one job per model vs one per pair ({when})\n",
        f"`benchmarks/slurm_overhead.py --models {args.models} --datasets {args.datasets} --parallelism "
        f"{args.parallelism}`: a real Slurm 22.05 (one node, `tests/slurm/start.sh`) on {platform.node()} "
        f"({os.cpu_count()} cores, shared with other work; CPU only, random-init smoke models, "
        f"`--cpus-per-job {args.cpus_per_job}`). Both runs in one session ({args.order} first), warm page cache.\n",
        "| layout | jobs (= model loads) | queue (submit→start, s) | start→model and head ready (s, median) | wall (s) |",
        "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| one per {r['mode']} | {r['jobs']} | {r['queue_s']} | "
                     f"{r['start_to_loaded_s']} | {r['wall_s']} |")
    lines.append(f"\nRatios: wall(pair) / wall(model) = {pair['wall_s'] / model['wall_s']:.2f}; "
                 f"jobs {pair['jobs']} / {model['jobs']}; per-job overhead (queue + start→loaded) "
                 f"{pair['queue_s'] + pair['start_to_loaded_s']:.1f} s per pair job, "
                 f"{model['queue_s'] + model['start_to_loaded_s']:.1f} s per model job.\n")
    return "\n".join(lines)


def main() -> int:
    args = _parse()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLIPROBUST_PROMPT_SET": "photo"}
    state = work / "cluster"
    if not args.existing:
        subprocess.run(["bash", str(START), str(state)], check=True)
        os.environ["SLURM_CONF"] = env["SLURM_CONF"] = str(state / "etc" / "slurm.conf")  # sacct here too
    try:
        _warm(args, env)
        rows = {mode: _run(mode, args, work, env) for mode in args.order.split(",")}
    finally:
        if not args.existing:
            subprocess.run(["bash", str(STOP), str(state)])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for r in rows.values():
        print(json.dumps(r))
    text = _table([rows["pair"], rows["model"]], args, when)
    print(text)
    if args.write:
        with open(REPO / "benchmarks" / "results.md", "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
