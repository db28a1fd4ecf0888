"""Where the evaluation jobs run: in this process, or as cluster jobs through submitit.

A cluster job is :class:`EvaluateJob` on a list of picklable :class:`RunConfig`: by default every
missing pair of one model (``job_per="model"``: one Python start and one weights load per model),
or one (model, data set) pair (``job_per="pair"``, for models too long for one job). The cache
makes jobs idempotent, so a cluster run is: drop the pairs whose entry is already complete, group
the rest into jobs, submit them as one job array (``map_array``), wait while printing a progress
summary (jobs and pairs), and report every pair -- a failed pair with its job's log, never dropped.
Re-submitting the same command runs only what is missing (or failed).

Preemption and time limits: submitit asks Slurm for SIGUSR2 shortly before the time limit (sent at
preemption too where ``PreemptParameters=send_user_signal``); :meth:`EvaluateJob.checkpoint` then has the job
requeued (``scontrol requeue``) and the requeued job resumes from the chunks already in the cache.
Requeues are capped (:data:`MAX_REQUEUES`) and counted in the report. A job killed without that
signal (an admin's ``scontrol requeue``, a node failure) is requeued by Slurm itself
(``--requeue``) and resumes the same way.

Executors (:data:`EXECUTORS`): ``local`` (in-process, one model load per model), ``slurm``
(submitit on Slurm), ``submitit-local`` (submitit's LocalExecutor: the same jobs as local
subprocesses; a dry run before going to the cluster).
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from . import cache, datasets, paths
from .inference.config import RunConfig, entry_folder
from .model_entries import resolve_entry

EXECUTORS = ("local", "slurm", "submitit-local")
#: submitit's cluster name for each submitit executor.
_CLUSTER = {"slurm": "slurm", "submitit-local": "local"}
#: How pairs are grouped into jobs: all missing pairs of a model (one load), or one pair per job.
JOB_PER = ("model", "pair")
#: Requeues one job may ask for after SIGUSR2 (preemption or time limit) before it is reported failed.
MAX_REQUEUES = 3
#: Environment variables a job needs to find the same data and cache as the submitting process.
JOB_ENV = (paths.DATA_ENV, paths.MIRROR_ENV, paths.CACHE_ENV, "CLIPROBUST_PROMPT_SET")


@dataclass(frozen=True)
class ClusterOptions:
    """Resources of one job; defaults suit one ViT-L's data sets on one GPU. ``time_min=None``:
    estimated per job from the model and its images (:func:`estimate_minutes`)."""

    partition: str | None = None
    account: str | None = None
    gres: str | None = None  # e.g. "gpu:a100:1"; replaces gpus_per_job when given
    gpus_per_job: int = 1
    cpus_per_job: int = 8  # image decoding workers = cpus_per_job - 1
    mem_gb: int = 32
    time_min: int | None = None
    array_parallelism: int = 32  # jobs of the array running at once
    job_per: str = "model"
    max_requeues: int = MAX_REQUEUES
    log_folder: str = "logs/submitit"
    poll_s: float = 30.0  # seconds between progress summaries

    def __post_init__(self) -> None:
        if self.job_per not in JOB_PER:
            raise ValueError(f"job_per {self.job_per!r}: expected one of {JOB_PER}")


@dataclass(frozen=True)
class JobReport:
    """Outcome of one pair: ``cached`` (complete before submission), ``done`` or ``failed``;
    ``requeues``: how often its job was requeued after preemption or its time limit."""

    config: RunConfig
    status: str
    entry: str | None = None
    error: str | None = None
    log: str | None = None
    job_id: str | None = None
    requeues: int = 0


def _evaluate_all(configs: list[RunConfig]) -> dict[int, BaseException]:
    """``runner.evaluate`` (keep going); the failed configs' errors by position, tracebacks to stderr."""
    from .inference.runner import EvaluationErrors, evaluate  # torch: only in the job

    failed: dict[int, BaseException] = {}
    try:
        evaluate(configs, keep_going=True)
    except EvaluationErrors as exc:
        for config, error in exc.failures:
            failed[configs.index(config)] = error
            print(f"--- {config.model} | {config.dataset} failed:", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)
    return failed


@dataclass(frozen=True)
class JobOutcome:
    """What a job returns: per config (in order) its entry folder or its error line."""

    entries: list[str | None]
    errors: list[str | None]
    requeues: int = 0


def _error_text(exc: BaseException) -> str:
    name = type(exc).__qualname__
    module = type(exc).__module__
    head = f"{name}" if module == "builtins" else f"{module}.{name}"
    lines = str(exc).strip().splitlines()
    return f"{head}: {lines[0]}" if lines else head


#: The signal submitit's handler answers with checkpoint-and-requeue (its default, ``SUBMITIT_PREEMPT_SIGNAL``).
PREEMPT_SIGNAL = "SIGUSR2"


class JobStopped(BaseException):
    """submitit's "not requeued" (requeue cap reached), raised inside its signal handler, wherever the
    job was. A BaseException, so the engine's ``except Exception`` (per image, per pair) cannot mistake
    it for an unreadable image or a failed pair."""


def _guard_preempt_handler() -> None:
    """Re-raise any Exception of submitit's signal handler as :class:`JobStopped`."""
    import signal

    sig = getattr(signal, PREEMPT_SIGNAL)
    handler = signal.getsignal(sig)
    if not callable(handler):
        return

    def guarded(signum: int, frame: Any) -> None:
        try:
            handler(signum, frame)
        except Exception as exc:  # noqa: BLE001 -- carried up as a BaseException
            raise JobStopped(str(exc)) from exc

    signal.signal(sig, guarded)


@dataclass(frozen=True)
class EvaluateJob:
    """The cluster job: ``runner.evaluate`` on its configs (one model load per model), with the
    submitting process's cliprobust environment. Picklable; ``checkpoint`` makes it requeue itself."""

    max_requeues: int = MAX_REQUEUES
    requeues: int = 0

    def __call__(self, configs: Sequence[RunConfig], environ: dict[str, str]) -> JobOutcome:
        os.environ.update(environ)
        _guard_preempt_handler()
        try:
            failed = _evaluate_all(list(configs))
        except JobStopped as stop:  # submitit records this as the job's error (chunks stay in the cache)
            raise RuntimeError(f"preempted or at its time limit and not requeued after {self.requeues} "
                               f"requeue(s) (cap {self.max_requeues}): {stop}") from None
        entries = [None if i in failed else str(entry_folder(c)) for i, c in enumerate(configs)]
        errors = [_error_text(failed[i]) if i in failed else None for i in range(len(configs))]
        return JobOutcome(entries, errors, self.requeues)

    def checkpoint(self, configs: Sequence[RunConfig], environ: dict[str, str]) -> Any:
        """Called by submitit on SIGUSR2: the same job again (the cache holds its progress), or
        None (no requeue; the job is reported failed) once :attr:`max_requeues` is reached."""
        if self.requeues >= self.max_requeues:
            print(f"cliprobust: not requeued: {self.requeues} requeue(s) already (cap {self.max_requeues})",
                  file=sys.stderr)
            return None
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(replace(self, requeues=self.requeues + 1), configs, environ)


def _job_environ() -> dict[str, str]:
    env = {k: os.environ[k] for k in JOB_ENV if os.environ.get(k)}
    env.setdefault(paths.DATA_ENV, str(paths.data_dir()))  # jobs may start elsewhere: pin absolute paths
    return env


# --------------------------------------------------------------------------- time limit


#: Images per second of one GPU by model size class, from timm's published RTX 5090 AMP inference
#: table (``published/timm/benchmark-infer-amp-nchw-pt291-cu130-5090.csv``, rounded down): the size
#: class is read from the architecture name (first match wins; unknown -> the ViT-L rate).
GPU_IMAGES_PER_S = (("bigG", 100), ("-g-", 270), ("giant", 270), ("-H-", 400), ("huge", 400),
                    ("-L-", 830), ("large", 830), ("-B-", 3000), ("base", 3000), ("convnext", 2000),
                    ("resnet", 4000), ("RN", 3000), ("-S-", 8000), ("small", 8000), ("tiny", 10000),
                    ("test_", 10000))
#: One job decodes JPEGs with ``cpus - 1`` workers at ~150 img/s each (6.6 ms per JPEG per core,
#: measured in benchmarks/results.md): the cap on any model's rate.
DECODE_IMAGES_PER_S_PER_CPU = 150
#: CPU-only jobs: a random ViT-B/32 ran at ~8 img/s on 2 cores against ~14,000 on the 5090 (README).
CPU_SLOWDOWN = 1750
#: Minutes added to every job: interpreter start, weights load, text head (80 templates x 1,000 classes).
STARTUP_MIN = 5
#: The estimate is multiplied by this (slower GPUs than a 5090, shared file systems).
SAFETY = 3.0
#: Longest limit the estimate gives (a day); pass --time-limit for anything else.
MAX_MIN = 24 * 60


def _images_per_s(arch: str, options: ClusterOptions) -> float:
    rate = next((r for token, r in GPU_IMAGES_PER_S if token.lower() in arch.lower()), 830)
    if options.gpus_per_job == 0 and not options.gres:
        return max(rate / CPU_SLOWDOWN * options.cpus_per_job / 2, 0.5)
    return min(rate, DECODE_IMAGES_PER_S_PER_CPU * max(options.cpus_per_job - 1, 1))


def estimate_minutes(configs: Sequence[RunConfig], options: ClusterOptions,
                     counts: dict[str, int] | None = None) -> int:
    """Time limit of a job running ``configs`` (one model): startup plus its images at the model's
    rate (:data:`GPU_IMAGES_PER_S`), times :data:`SAFETY`; ``counts``: images per data set."""
    counts = counts or {}
    images = sum(counts.get(c.dataset, datasets.get(c.dataset).expected_counts[0]) for c in configs)
    rate = _images_per_s(resolve_entry(configs[0].model).arch, options)
    return int(min(MAX_MIN, SAFETY * (STARTUP_MIN + images / rate / 60) + 1))


# --------------------------------------------------------------------------- submission


def _executor_params(kind: str, options: ClusterOptions, time_min: int) -> dict[str, Any]:
    if kind == "submitit-local":
        return {"name": "cliprobust", "timeout_min": time_min, "gpus_per_node": 0}
    params: dict[str, Any] = {
        "name": "cliprobust", "timeout_min": time_min, "cpus_per_task": options.cpus_per_job,
        "mem_gb": options.mem_gb, "slurm_array_parallelism": options.array_parallelism,
        "slurm_additional_parameters": {"requeue": True}}
    if options.gres:
        params["slurm_gres"] = options.gres
    elif options.gpus_per_job:
        params["gpus_per_node"] = options.gpus_per_job
    for name in ("partition", "account"):
        if getattr(options, name):
            params[f"slurm_{name}"] = getattr(options, name)
    return params


def make_executor(kind: str, options: ClusterOptions, time_min: int | None = None) -> Any:
    """A configured ``submitit.AutoExecutor`` for ``kind`` (``slurm`` or ``submitit-local``)."""
    import submitit

    folder = Path(options.log_folder).resolve() / "%j"
    extra = {"slurm_max_num_timeout": options.max_requeues} if kind == "slurm" else {}
    executor = submitit.AutoExecutor(folder=folder, cluster=_CLUSTER[kind], **extra)
    executor.update_parameters(**_executor_params(kind, options, time_min or options.time_min or 60))
    return executor


@dataclass
class _Plan:
    """The pairs to submit, grouped into jobs (indices into the caller's configs)."""

    groups: list[list[int]] = field(default_factory=list)
    folders: dict[int, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _plan(configs: Sequence[RunConfig], job_per: str) -> _Plan:
    """Complete pairs are left out; the rest grouped by model (in order) or one per job."""
    plan, lists, by_model = _Plan(), {}, {}
    for i, c in enumerate(configs):
        where = (c.dataset, c.data_root, c.check_count)
        if where not in lists:
            lists[where] = datasets.resolve(c.dataset, c.data_root, check_count=c.check_count)
            plan.counts[c.dataset] = len(lists[where])
        folder = entry_folder(c, lists[where])
        if cache.is_complete(folder):
            continue
        plan.folders[i] = folder
        if job_per == "pair":
            plan.groups.append([i])
        else:
            by_model.setdefault(c.model, []).append(i)
    plan.groups += list(by_model.values())
    return plan


def _summary(jobs: Sequence[Any], plan: _Plan) -> str:
    finished = [j.done() for j in jobs]
    done = sum(finished)
    running = sum(j.state == "RUNNING" for j, f in zip(jobs, finished) if not f)  # done may precede the state
    pairs = sum(cache.is_complete(f) for f in plan.folders.values())
    return (f"{done}/{len(jobs)} jobs finished, {running} running, {len(jobs) - done - running} queued; "
            f"{pairs}/{len(plan.folders)} pairs complete")


def _wait(jobs: Sequence[Any], plan: _Plan, poll_s: float, say: Callable[[str], None]) -> None:
    last = ""
    while not all(j.done() for j in jobs):
        line = _summary(jobs, plan)
        if line != last:
            say(line)
            last = line
        time.sleep(poll_s)
    say(_summary(jobs, plan))


_ERROR_LINE = re.compile(r"^\s*[\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def _error_line(exc: BaseException) -> str:
    """The job's own ``SomeError: message`` line out of submitit's failure text (else its first line)."""
    lines = str(exc).strip().splitlines()
    found = [m.group(0).strip() for m in map(_ERROR_LINE.match, lines) if m]
    return found[-1] if found else (lines[0] if lines else type(exc).__name__)


def _reports(configs: Sequence[RunConfig], group: list[int], job: Any, options: ClusterOptions) -> list[JobReport]:
    """One report per pair of one finished job (all failed, with the job's error, if the job failed)."""
    log = str(job.paths.stderr)
    try:
        outcome = job.result()
    except Exception as exc:  # noqa: BLE001 -- every failure becomes a report line
        line = _error_line(exc)
        requeues = options.max_requeues if "not requeued" in line or "too many times" in line else 0
        return [JobReport(configs[i], "failed", error=line, log=log, job_id=job.job_id, requeues=requeues)
                for i in group]
    return [JobReport(configs[i], "failed" if err else "done", entry=entry, error=err, log=log if err else None,
                      job_id=job.job_id, requeues=outcome.requeues)
            for i, entry, err in zip(group, outcome.entries, outcome.errors)]


def _job_configs(configs: Sequence[RunConfig], group: list[int], kind: str,
                 options: ClusterOptions) -> list[RunConfig]:
    if kind != "slurm":
        return [configs[i] for i in group]
    workers = max(0, options.cpus_per_job - 1)
    return [replace(configs[i], workers=workers, progress=False) for i in group]


#: Time limits an array may get (minutes): each job's estimate is rounded up to one of these, and
#: jobs with the same limit share one array, so a small model does not wait behind a ViT-g's limit.
TIME_LADDER = (15, 30, 60, 120, 240, 480, 960, MAX_MIN)


def _limits(jobs_configs: list[list[RunConfig]], options: ClusterOptions, counts: dict[str, int]) -> list[int]:
    """Per job: ``options.time_min``, else its estimate rounded up onto :data:`TIME_LADDER`."""
    if options.time_min:
        return [options.time_min] * len(jobs_configs)
    estimates = [estimate_minutes(j, options, counts) for j in jobs_configs]
    return [next(t for t in TIME_LADDER if t >= e) for e in estimates]


def _submit_arrays(kind: str, options: ClusterOptions, jobs_configs: list[list[RunConfig]],
                   limits: list[int], say: Callable[[str], None]) -> list[Any]:
    """One job array per distinct time limit; the jobs in the order of ``jobs_configs``."""
    job, env, jobs = EvaluateJob(max_requeues=options.max_requeues), _job_environ(), [None] * len(jobs_configs)
    for limit in sorted(set(limits)):
        idx = [k for k, t in enumerate(limits) if t == limit]
        array = make_executor(kind, options, limit).map_array(job, [jobs_configs[k] for k in idx], [env] * len(idx))
        say(f"submitted job array {array[0].job_id.split('_')[0]}: {len(idx)} job(s), time limit {limit} min")
        for k, j in zip(idx, array):
            jobs[k] = j
    return jobs


def submit(configs: Sequence[RunConfig], kind: str = "slurm", options: ClusterOptions = ClusterOptions(),
           say: Callable[[str], None] = print) -> list[JobReport]:
    """Submit one job per model (or per pair) with pairs not yet complete; wait; one report per pair
    (input order). Each job's time limit is ``options.time_min`` or its estimate (:func:`_limits`)."""
    plan = _plan(configs, options.job_per)
    todo = sum(len(g) for g in plan.groups)
    say(f"{len(configs)} pairs: {len(configs) - todo} already complete, submitting {todo} in "
        f"{len(plan.groups)} job(s), one per {options.job_per} ({kind}, logs in {options.log_folder})")
    reports = {i: JobReport(c, "cached") for i, c in enumerate(configs) if i not in plan.folders}
    if plan.groups:
        jobs_configs = [_job_configs(configs, g, kind, options) for g in plan.groups]
        limits = _limits(jobs_configs, options, plan.counts)
        jobs = _submit_arrays(kind, options, jobs_configs, limits, say)
        _wait(jobs, plan, options.poll_s, say)
        for group, j in zip(plan.groups, jobs):
            reports.update(zip(group, _reports(configs, group, j, options)))
    return [reports[i] for i in range(len(configs))]


def failures_text(reports: Sequence[JobReport]) -> str:
    """One line per failed pair: model | data set: error (log: path)."""
    return "\n".join(f"  {r.config.model} | {r.config.dataset}: {r.error} (log: {r.log})"
                     + (f" after {r.requeues} requeue(s)" if r.requeues else "")
                     for r in reports if r.status == "failed")


def requeue_text(reports: Sequence[JobReport]) -> str:
    """``N job(s) requeued (R requeues in all)`` over the jobs of ``reports``, or ''."""
    per_job = {r.job_id: r.requeues for r in reports if r.requeues}
    if not per_job:
        return ""
    return f"{len(per_job)} job(s) requeued after preemption or time limit ({sum(per_job.values())} requeue(s) in all)"
