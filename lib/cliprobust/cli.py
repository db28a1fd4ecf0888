"""The ``cliprobust`` command line: evaluate models into the cache, list and verify the cache, fetch data.

    cliprobust evaluate --models paper --datasets imagenet,imagenet-r --data-root /datasets
    cliprobust cache ls --models smoke --datasets imagenet-sample,cue-conflict
    cliprobust cache verify [--models SEL] [--datasets NAMES]
    cliprobust fetch [--mirror DIR] [PREFIX ...]
    cliprobust datasets [--data-root DIR]
    cliprobust simulate ...   (synthetic caches for rehearsing the full grid; see cliprobust.simulate)

Each subcommand builds its inputs and calls the library (``inference.evaluate``, ``outputs.ls``,
``cache.verify_entry``, ``fetch.fetch_many``); nothing here computes anything itself. ``--executor``
picks where the jobs run (:data:`EXECUTORS`; on Slurm one job per model by default, ``--job-per pair``
for one per (model, data set)).
Library modules are imported inside the subcommands, and torch only when a job has work left, so
``--help``, ``datasets``, ``cache ls`` and a fully cached ``evaluate`` start in well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from . import card_cli, paths, prompts

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _pending(configs: list) -> list:
    """The configs whose entry is not complete yet (keys only: no model, no torch; one file walk per set)."""
    from . import datasets
    from .inference.config import is_done

    lists: dict[tuple, Any] = {}
    out = []
    for c in configs:
        where = (c.dataset, c.data_root, c.check_count)
        if where not in lists:
            lists[where] = datasets.resolve(c.dataset, c.data_root, check_count=c.check_count)
        if not is_done(c, lists[where]):
            out.append(c)
    return out


def _run_local(configs: list, args: argparse.Namespace) -> int:
    """Run every job in this process, one model load per model (torch is imported only if work is left)."""
    if not _pending(configs):
        print(f"{len(configs)} cache entries complete under {paths.cache_dir()} (all were cached)")
        return EXIT_OK
    from .inference.runner import EvaluationErrors, evaluate

    try:
        done = evaluate(configs, keep_going=not args.fail_fast)
    except EvaluationErrors as exc:
        print(f"cliprobust evaluate: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(done)} cache entries complete under {paths.cache_dir()}")
    return EXIT_OK


def _cluster_options(args: argparse.Namespace) -> Any:
    from . import executors

    return executors.ClusterOptions(
        partition=args.partition, account=args.account, gres=args.gres, gpus_per_job=args.gpus_per_job,
        cpus_per_job=args.cpus_per_job, mem_gb=args.mem_gb, time_min=args.time_limit,
        array_parallelism=args.array_parallelism, job_per=args.job_per, max_requeues=args.max_requeues,
        log_folder=args.log_folder, poll_s=args.poll)


def _run_submitit(configs: list, args: argparse.Namespace) -> int:
    """One submitit job per model (or per pair) with missing pairs; wait; report failures with log paths."""
    from . import executors

    reports = executors.submit(configs, args.executor, _cluster_options(args))
    failed = [r for r in reports if r.status == "failed"]
    counts = {s: sum(r.status == s for r in reports) for s in ("cached", "done", "failed")}
    print(f"{len(reports)} pairs: {counts['cached']} already complete, {counts['done']} computed, "
          f"{counts['failed']} failed (cache: {paths.cache_dir()})")
    if executors.requeue_text(reports):
        print(executors.requeue_text(reports))
    if failed:
        print(f"cliprobust evaluate: {len(failed)} pair(s) failed (re-run the same command to retry only "
              f"these):\n{executors.failures_text(reports)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


#: Where jobs run (:mod:`cliprobust.executors`): ``local`` here; ``slurm`` submitit jobs on Slurm
#: (one per model by default); ``submitit-local`` the same jobs through submitit's local subprocesses.
EXECUTORS: dict[str, Callable[[list, argparse.Namespace], int]] = {
    "local": _run_local, "slurm": _run_submitit, "submitit-local": _run_submitit}


def _cluster_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster (--executor slurm / submitit-local)")
    g.add_argument("--partition", default=None, help="Slurm partition")
    g.add_argument("--account", default=None, help="Slurm account to charge")
    g.add_argument("--gres", default=None, help="Slurm generic resources, e.g. gpu:a100:1 (replaces --gpus-per-job)")
    g.add_argument("--gpus-per-job", type=int, default=1)
    g.add_argument("--cpus-per-job", type=int, default=8, help="CPUs per job (image decoding: this minus 1)")
    g.add_argument("--mem-gb", type=int, default=32)
    g.add_argument("--time-limit", type=int, default=None,
                   help="minutes per job (default: estimated from the model's size and its images)")
    g.add_argument("--job-per", default="model", choices=["model", "pair"],
                   help="model: all of a model's data sets in one job, one weights load (default); "
                        "pair: one job per (model, data set), for models too long for one job")
    g.add_argument("--max-requeues", type=int, default=3,
                   help="requeues per job after preemption or its time limit before it is reported failed")
    g.add_argument("--array-parallelism", type=int, default=32, help="jobs of the array running at once")
    g.add_argument("--log-folder", default="logs/submitit", help="job logs (on a shared file system)")
    g.add_argument("--poll", type=float, default=30.0, help="seconds between progress summaries")


def _evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run models on data sets into the per-sample cache")
    p.add_argument("--models", required=True, help="zoo selector: collection(s), pattern(s) or ids, comma-separated")
    p.add_argument("--datasets", required=True,
                   help="comma-separated data set names (`cliprobust datasets` lists them)")
    p.add_argument("--data-root", default=None, help="folder holding the non-shipped data sets")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="image-decoding processes")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--prompt-set", default=None, choices=list(prompts.PROMPT_SETS),
                   help=f"CLIP prompt set (default: ${prompts.PROMPT_SET_ENV} or {prompts.DEFAULT_PROMPT_SET})")
    p.add_argument("--precision", default="fp32", choices=["fp32", "amp"], help="amp: bf16 autocast")
    p.add_argument("--chunk-size", type=int, default=1024, help="images per atomically saved chunk")
    p.add_argument("--seed", type=int, default=0, help="initialisation seed of random-init models")
    p.add_argument("--strict", action="store_true", help="unreadable images are an error (default: excluded)")
    p.add_argument("--allow-partial", action="store_true", help="accept data sets with an unexpected image count")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failing job")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--decode-cache", action="store_true",
                   help="decode each image once per (data set, preprocessing) into a uint8 cache shared by models")
    p.add_argument("--executor", default="local", choices=sorted(EXECUTORS),
                   help="local: in this process; slurm: submitit jobs (one per model, see --job-per)")
    _cluster_arguments(p)
    p.set_defaults(func=cmd_evaluate)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _message(exc: BaseException) -> str:
    return str(exc).strip("'\"")


def _check_models(selector: str) -> str | None:
    """Resolve every model id and the configs its keys need before any job starts (builds no model);
    the problem as a message (naming the closest known names), or None."""
    from .inference.entries import check_models

    try:
        check_models(selector)
    except (KeyError, ValueError) as exc:  # unknown id / selector, unparseable id
        return _message(exc)
    return None


def _check_data(names: list[str], data_root: str | None, check_count: bool) -> str | None:
    """Resolve every data set before any model runs; the first problem as a message, or None."""
    from . import datasets

    for name in names:
        try:
            datasets.resolve(name, data_root, check_count=check_count)
        except (KeyError, datasets.DatasetError) as exc:
            return _message(exc)
    return None


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``cliprobust evaluate``: every (model, data set) pair into the cache."""
    from .inference.config import configs_for

    names = _split(args.datasets)
    problem = _check_data(names, args.data_root, not args.allow_partial) or _check_models(args.models)
    if problem:
        print(f"cliprobust evaluate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        configs = configs_for(args.models, names, data_root=args.data_root,
                              prompt_set=args.prompt_set or prompts.default_prompt_set(),
                              batch_size=args.batch_size, workers=args.workers, device=args.device,
                              precision=args.precision, seed=args.seed, chunk_size=args.chunk_size,
                              strict=args.strict, check_count=not args.allow_partial,
                              progress=not args.no_progress, decode_cache=args.decode_cache)
    except (KeyError, ValueError) as exc:
        print(f"cliprobust evaluate: {_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return EXECUTORS[args.executor](configs, args)


def _cache_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="inspect the per-sample cache")
    csub = p.add_subparsers(dest="cache_command", required=True)
    ls = csub.add_parser("ls", help="which (model, data set) outputs exist and which are missing")
    ls.add_argument("--models", required=True)
    ls.add_argument("--datasets", required=True)
    ls.add_argument("--prompt-set", default=None, choices=list(prompts.PROMPT_SETS))
    ls.add_argument("--data-root", default=None)
    ls.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    ls.set_defaults(func=cmd_cache_ls)
    ver = csub.add_parser("verify", help="check every stored array against the checksums in its meta.json")
    ver.add_argument("--models", default=None, help="zoo selector (default: every entry in the cache)")
    ver.add_argument("--datasets", default=None, help="comma-separated data set names (default: all)")
    ver.add_argument("--no-progress", action="store_true", help="no progress bar")
    ver.set_defaults(func=cmd_cache_verify)


def cmd_cache_ls(args: argparse.Namespace) -> int:
    """``cliprobust cache ls``: a table of present / missing entries and a summary line."""
    from . import outputs

    problem = _check_models(args.models)
    if problem:
        print(f"cliprobust cache ls: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        table = outputs.ls(args.models, _split(args.datasets), args.prompt_set, data_root=args.data_root)
    except KeyError as exc:
        print(f"cliprobust cache ls: {_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    shown = table.drop(columns=["completed_at"])
    print(shown.to_csv(index=False) if args.csv else shown.to_string(index=False))
    counts = table["status"].value_counts()
    print(f"# {len(table)} pairs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
          + f" (cache: {paths.cache_dir()})")
    return EXIT_OK


def _verify_selection(args: argparse.Namespace) -> list[dict[str, Any]]:
    """meta.json (+ ``path``) of the complete entries ``cache verify`` checks."""
    from . import cache
    from .model_entries import select_entries

    ids = {e.id for e in select_entries(args.models)} if args.models else None
    sets = set(_split(args.datasets)) if args.datasets else None
    return [m for m in cache.iter_entries()
            if (ids is None or m["model_id"] in ids) and (sets is None or m["dataset"] in sets)]


def cmd_cache_verify(args: argparse.Namespace) -> int:
    """``cliprobust cache verify``: sha256 of every stored file against its meta.json; exit 1 on a mismatch."""
    from pathlib import Path

    from .progress import progress as tqdm

    from . import cache

    try:
        metas = _verify_selection(args)
    except (KeyError, ValueError) as exc:
        print(f"cliprobust cache verify: {_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    bad, unchecked = [], []
    for m in tqdm(metas, unit="entry", desc="verify", disable=args.no_progress, file=sys.stderr):
        status, problems = cache.verify_entry(Path(m["path"]))
        if status == "corrupt":
            bad.append((m, problems))
        elif status == "no-checksum":
            unchecked.append((m, problems))
    for m, problems in unchecked:
        print(f"unchecked {m['path']}: {'; '.join(problems)}")
    for m, problems in bad:
        print(f"CORRUPT {m['path']}: {'; '.join(problems)}\n  delete the folder, then run: "
              f"{cache.rebuild_command(m)}", file=sys.stderr)
    print(f"# {len(metas)} entries: {len(metas) - len(bad) - len(unchecked)} ok, {len(bad)} corrupt, "
          f"{len(unchecked)} without checksums (cache: {paths.cache_dir()})")
    return EXIT_FAILED if bad else EXIT_OK


def _fetch_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="fetch pinned data (sha256-verified) into the data cache")
    p.add_argument("prefixes", nargs="*", default=[""], help="artifact name prefixes (default: everything)")
    p.add_argument("--mirror", default=None, help=f"local mirror folder (default: ${paths.MIRROR_ENV})")
    p.set_defaults(func=cmd_fetch)


def cmd_fetch(args: argparse.Namespace) -> int:
    """``cliprobust fetch``: wraps :func:`cliprobust.fetch.fetch_many`."""
    from . import fetch

    names = sorted({a.name for p in args.prefixes for a in fetch.select(p)})
    if not names:
        print(f"cliprobust fetch: no artifact matches {args.prefixes}", file=sys.stderr)
        return EXIT_USAGE
    try:
        fetch.fetch_many(names, mirror=args.mirror)
    except (fetch.FetchError, KeyError) as exc:
        print(f"cliprobust fetch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(names)} files verified in {paths.data_dir()}")
    return EXIT_OK


def _datasets_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list the evaluation sets, their layout, and whether they are found")
    p.add_argument("--data-root", default=None)
    p.set_defaults(func=cmd_datasets)


def cmd_datasets(args: argparse.Namespace) -> int:
    """``cliprobust datasets``: one line per set: name, images expected/found, layout."""
    from . import datasets

    for name, spec in datasets.DATASETS.items():
        print(f"{name:16s} {spec.expected_counts[0]:>7,} expected, {_found(name, args.data_root):>20s}  {spec.layout}")
    return EXIT_OK


def _found(name: str, data_root: str | None) -> str:
    """``N found``, ``N found (incomplete)`` or ``not found``."""
    from . import datasets

    for check in (True, False):
        try:
            n = len(datasets.resolve(name, data_root, check_count=check))
            return f"{n:,} found" + ("" if check else " (incomplete)")
        except datasets.DatasetError:
            continue
    return "not found"


def _simulate_parser(sub: argparse._SubParsersAction) -> None:
    """``simulate``: its arguments come from ``cliprobust.simulate.add_arguments``, imported only
    when the subcommand is used (``parse_args`` below), so ``--help`` stays instant."""
    p = sub.add_parser("simulate", help="write synthetic cache entries (a rehearsal of the full grid, never a result)",
                       add_help=False)
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    """``cliprobust simulate``: parse the rest with ``simulate.add_arguments``, run ``simulate.main``."""
    from . import simulate

    parser = argparse.ArgumentParser(prog="cliprobust simulate", description=(simulate.__doc__ or "").split("\n\n")[0])
    simulate.add_arguments(parser)
    return int(simulate.main(parser.parse_args(args.rest)))


#: Subcommand registrations, in ``--help`` order: a new subcommand adds its ``_x_parser`` here.
SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _evaluate_parser, _cache_parser, _fetch_parser, _datasets_parser, _simulate_parser, card_cli.add_parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = argparse.ArgumentParser(prog="cliprobust", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cliprobust``; returns the exit status."""
    args, rest = build_parser().parse_known_args(argv)
    if args.command != "simulate" and rest:
        build_parser().parse_args(argv)  # the usual "unrecognized arguments" error (exit 2)
    args.rest = rest
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
