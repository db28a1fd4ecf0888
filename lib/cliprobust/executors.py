"""Where the (model, data set) jobs run: in this process, or one cluster job per pair via submitit.

Every job is :func:`cliprobust.inference.run_one` on one picklable :class:`RunConfig`. The
cache makes jobs idempotent, so a cluster run is simply: drop the pairs whose entry is already
complete, submit the rest as one job array (``AutoExecutor.map_array``), wait while printing a
progress summary, and report every pair -- a failed pair with its job's log path, never dropped.
Re-submitting the same command therefore runs only what is missing (or failed).

Executors (:data:`EXECUTORS`): ``local`` (in-process, one model load per model), ``slurm``
(submitit on Slurm), ``submitit-local`` (submitit's LocalExecutor: the same code path, jobs in
local subprocesses; used by the tests and for a quick check before going to the cluster).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from . import paths
from .inference.config import RunConfig, is_done

EXECUTORS = ("local", "slurm", "submitit-local")
#: submitit's cluster name for each submitit executor.
_CLUSTER = {"slurm": "slurm", "submitit-local": "local"}
#: Environment variables a job needs to find the same data and cache as the submitting process.
JOB_ENV = (paths.DATA_ENV, paths.MIRROR_ENV, paths.CACHE_ENV, "CLIPROBUST_PROMPT_SET")


@dataclass(frozen=True)
class ClusterOptions:
    """Resources of one job (one (model, data set) pair); defaults suit one ViT-L on ImageNet val."""

    partition: str | None = None
    gpus_per_job: int = 1
    cpus_per_job: int = 8  # image decoding workers = cpus_per_job - 1
    mem_gb: int = 32
    time_min: int = 120
    array_parallelism: int = 32  # jobs of the array running at once
    log_folder: str = "logs/submitit"
    poll_s: float = 30.0  # seconds between progress summaries


@dataclass(frozen=True)
class JobReport:
    """Outcome of one pair: ``cached`` (complete before submission), ``done`` or ``failed``."""

    config: RunConfig
    status: str
    entry: str | None = None
    error: str | None = None
    log: str | None = None
    job_id: str | None = None


def run_job(config: RunConfig, environ: dict[str, str]) -> str:
    """The cluster job: ``run_one(config)`` with the submitting process's cliprobust environment."""
    os.environ.update(environ)
    from .inference.runner import run_one  # torch: only in the job

    return str(run_one(config))


def _job_environ() -> dict[str, str]:
    env = {k: os.environ[k] for k in JOB_ENV if os.environ.get(k)}
    env.setdefault(paths.DATA_ENV, str(paths.data_dir()))  # jobs may start elsewhere: pin absolute paths
    return env


def make_executor(kind: str, options: ClusterOptions) -> Any:
    """A configured ``submitit.AutoExecutor`` for ``kind`` (``slurm`` or ``submitit-local``)."""
    import submitit

    executor = submitit.AutoExecutor(folder=Path(options.log_folder).resolve() / "%j", cluster=_CLUSTER[kind])
    params: dict[str, Any] = {"name": "cliprobust", "timeout_min": options.time_min,
                              "gpus_per_node": options.gpus_per_job, "cpus_per_task": options.cpus_per_job,
                              "mem_gb": options.mem_gb, "slurm_array_parallelism": options.array_parallelism}
    if kind == "submitit-local":
        params = {"name": "cliprobust", "timeout_min": options.time_min, "gpus_per_node": 0}
    if options.partition and kind == "slurm":
        params["slurm_partition"] = options.partition
    executor.update_parameters(**params)
    return executor


def _summary(jobs: Sequence[Any]) -> str:
    states = [j.state for j in jobs]
    done = sum(j.done() for j in jobs)
    running = sum(s == "RUNNING" for s in states)
    return f"{done}/{len(jobs)} jobs finished, {running} running, {len(jobs) - done - running} queued"


def _wait(jobs: Sequence[Any], poll_s: float, say: Callable[[str], None]) -> None:
    last = ""
    while not all(j.done() for j in jobs):
        line = _summary(jobs)
        if line != last:
            say(line)
            last = line
        time.sleep(poll_s)
    say(_summary(jobs))


_ERROR_LINE = re.compile(r"^\s*[\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def _error_line(exc: BaseException) -> str:
    """The job's own ``SomeError: message`` line out of submitit's failure text (else its first line)."""
    lines = str(exc).strip().splitlines()
    found = [m.group(0).strip() for m in map(_ERROR_LINE.match, lines) if m]
    return found[-1] if found else (lines[0] if lines else type(exc).__name__)


def _report(config: RunConfig, job: Any) -> JobReport:
    try:
        return JobReport(config, "done", entry=job.result(), job_id=job.job_id)
    except Exception as exc:  # noqa: BLE001 -- every failure becomes a report line
        return JobReport(config, "failed", error=_error_line(exc), log=str(job.paths.stderr), job_id=job.job_id)


def submit(configs: Sequence[RunConfig], kind: str = "slurm", options: ClusterOptions = ClusterOptions(),
           say: Callable[[str], None] = print) -> list[JobReport]:
    """One job per pair not yet complete, via submitit; waits and reports every pair (input order)."""
    reports: dict[int, JobReport] = {}
    todo = []
    for i, config in enumerate(configs):
        if is_done(config):
            reports[i] = JobReport(config, "cached")
        else:
            todo.append(i)
    say(f"{len(configs)} pairs: {len(configs) - len(todo)} already complete, submitting {len(todo)} "
        f"({kind}, logs in {options.log_folder})")
    if todo:
        workers = max(0, options.cpus_per_job - 1) if kind == "slurm" else None
        jobs_configs = [configs[i] if workers is None else replace(configs[i], workers=workers, progress=False)
                        for i in todo]
        executor = make_executor(kind, options)
        env = _job_environ()
        jobs = executor.map_array(run_job, jobs_configs, [env] * len(todo))
        _wait(jobs, options.poll_s, say)
        reports.update({i: _report(configs[i], job) for i, job in zip(todo, jobs)})
    return [reports[i] for i in range(len(configs))]


def failures_text(reports: Sequence[JobReport]) -> str:
    """One line per failed pair: model | data set: error (log: path)."""
    return "\n".join(f"  {r.config.model} | {r.config.dataset}: {r.error} (log: {r.log})"
                     for r in reports if r.status == "failed")
