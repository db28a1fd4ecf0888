"""cliprobust.executors: submitit jobs (LocalExecutor: real subprocesses) fill the same cache as an
in-process run, one job per model by default (``job_per="pair"``: one per pair), re-submission runs
only what is missing, a failed pair is reported with its log, a job requeues itself until its cap,
and time limits grow with the model and its images. tests/test_slurm.py runs the same on real Slurm."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from _tiny import TINY_CLIP, TINY_RESNET, small_config, small_tree, truncate

from cliprobust import cache, cli, executors, paths
from cliprobust.inference import RunConfig, is_done, run_one

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/

def _jobs(log_folder: Path) -> list[Path]:
    return sorted(p for p in log_folder.iterdir() if p.is_dir() and p.name[0].isdigit()) if log_folder.is_dir() else []


def test_submitit_jobs_fill_the_cache_and_resubmission_runs_only_what_is_missing(tmp_path, monkeypatch):
    good = small_tree(tmp_path / "good")
    bad = small_tree(tmp_path / "bad")
    truncate(sorted((bad / "imagenet-r").rglob("*.jpg"))[3])  # a different file list (sizes are in the key)
    configs = [small_config(TINY_CLIP, good), small_config(TINY_CLIP, bad, strict=True)]
    logs = tmp_path / "logs"
    options = executors.ClusterOptions(poll_s=0.2, time_min=5, log_folder=str(logs), job_per="pair")
    said: list[str] = []

    reports = executors.submit(configs, "submitit-local", options, say=said.append)
    assert [r.status for r in reports] == ["done", "failed"]
    assert len(_jobs(logs)) == 2 and "submitting 2 in 2 job(s), one per pair" in said[0]
    assert "2/2 pairs complete" not in said[-1] and "1/2 pairs complete" in said[-1]
    failed = reports[1]
    assert "UnreadableImagesError" in Path(failed.log).read_text()
    assert failed.error.startswith("cliprobust.inference.runner.UnreadableImagesError: 1 unreadable image(s)")
    assert failed.log in executors.failures_text(reports)
    assert is_done(configs[0]) and not is_done(configs[1])

    # the subprocess entries equal an in-process run of the same configs into a fresh cache
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "in-process"))
    ours = cache.read_entry(run_one(configs[0]), mmap=False)
    theirs = cache.read_entry(Path(reports[0].entry), mmap=False)
    assert len(theirs.labels) == 8
    np.testing.assert_array_equal(ours.scores, theirs.scores)
    np.testing.assert_array_equal(ours.features, theirs.features)
    np.testing.assert_array_equal(ours.labels, theirs.labels)
    monkeypatch.delenv(paths.CACHE_ENV)

    said.clear()
    again = executors.submit(configs, "submitit-local", replace(options, job_per="model"), say=said.append)
    assert [r.status for r in again] == ["cached", "failed"]
    assert len(_jobs(logs)) == 3  # only the failed pair was submitted again
    assert "1 already complete, submitting 1 in 1 job(s)" in said[0] and again[1].log != failed.log


def test_one_job_per_model_runs_all_its_pairs_and_reports_each(tmp_path):
    good, bad = small_tree(tmp_path / "good"), small_tree(tmp_path / "bad")
    truncate(sorted((bad / "imagenet-r").rglob("*.jpg"))[3])
    configs = [small_config(TINY_CLIP, good), small_config(TINY_RESNET, good),
               small_config(TINY_CLIP, bad, strict=True), small_config(TINY_RESNET, bad)]
    logs = tmp_path / "logs"
    said: list[str] = []
    options = executors.ClusterOptions(poll_s=0.2, time_min=5, log_folder=str(logs))
    reports = executors.submit(configs, "submitit-local", options, say=said.append)
    assert options.job_per == "model" and "submitting 4 in 2 job(s), one per model" in said[0]
    assert len(_jobs(logs)) == 2 and len({r.job_id for r in reports}) == 2
    assert [r.status for r in reports] == ["done", "done", "failed", "done"]
    assert reports[0].job_id == reports[2].job_id != reports[1].job_id == reports[3].job_id
    assert "UnreadableImagesError" in Path(reports[2].log).read_text()  # the job's traceback, in its log
    assert all(is_done(c) for i, c in enumerate(configs) if i != 2)
    assert "3/4 pairs complete" in said[-1]


def test_checkpoint_requeues_the_same_job_until_the_cap():
    from submitit.helpers import DelayedSubmission

    config = RunConfig(model=TINY_CLIP, dataset="imagenet-sample")
    job, env = executors.EvaluateJob(max_requeues=2), {"A": "1"}
    for n in (1, 2):
        delayed = job.checkpoint([config], env)
        assert isinstance(delayed, DelayedSubmission) and delayed.args == ([config], env)
        job = delayed.function
        assert job.requeues == n and job.max_requeues == 2
    assert job.checkpoint([config], env) is None  # the cap: submitit then ends the job as failed
    report = executors.JobReport(config, "failed", error="UncompletedJobError: not requeued", log="x.err",
                                 job_id="7_0", requeues=2)
    assert "after 2 requeue(s)" in executors.failures_text([report])
    assert executors.requeue_text([report, report]) == (
        "1 job(s) requeued after preemption or time limit (2 requeue(s) in all)")


def test_time_limits_grow_with_model_size_and_images():
    opts = executors.ClusterOptions()

    def limit(model: str, sets: str) -> int:
        return executors.estimate_minutes([RunConfig(model=model, dataset=d) for d in sets.split(",")], opts)

    big, small = "open_clip:ViT-L-14/openai", "open_clip:ViT-B-32/openai"
    assert limit(big, "imagenet") > limit(small, "imagenet")
    assert limit(big, "imagenet,imagenet-r,imagenet-sketch") > limit(big, "imagenet")
    assert limit(small, "imagenet-sample") >= executors.SAFETY * executors.STARTUP_MIN  # never below start-up
    cpu = executors.ClusterOptions(gpus_per_job=0, cpus_per_job=2)
    assert executors.estimate_minutes([RunConfig(model=big, dataset="imagenet")], cpu) > 10 * limit(big, "imagenet")
    jobs = [[RunConfig(model=small, dataset="imagenet-sample")], [RunConfig(model=big, dataset="imagenet")]]
    limits = executors._limits(jobs, opts, {})
    assert limits[0] <= limits[1] and set(limits) <= set(executors.TIME_LADDER)
    assert executors._limits(jobs, replace(opts, time_min=42), {}) == [42, 42]


def test_cli_cluster_executor_submits_nothing_when_all_is_cached(tmp_path, capsys):
    root = small_tree(tmp_path)
    run_one(small_config(TINY_CLIP, root, batch_size=64, chunk_size=1024))
    logs = tmp_path / "logs"
    argv = ["evaluate", "--models", TINY_CLIP, "--datasets", "imagenet-r", "--data-root", str(root),
            "--allow-partial", "--prompt-set", "photo", "--executor", "submitit-local", "--log-folder", str(logs),
            "--no-progress", "--poll", "0.2"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 already complete, submitting 0 in 0 job(s)" in out and "0 failed" in out
    assert not _jobs(logs)


def test_slurm_options_reach_the_sbatch_script(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")  # submitit's Slurm executor looks for srun
    args = cli.build_parser().parse_args(
        ["evaluate", "--models", "x", "--datasets", "y", "--executor", "slurm", "--partition", "gpu",
         "--account", "lab", "--gpus-per-job", "2", "--time-limit", "90", "--array-parallelism", "7",
         "--log-folder", str(tmp_path)])
    assert cli.EXECUTORS[args.executor] is cli.EXECUTORS["submitit-local"]
    options = cli._cluster_options(args)
    assert options.job_per == "model" and options.max_requeues == executors.MAX_REQUEUES
    ex = executors.make_executor("slurm", options)
    assert ex._executor.parameters["array_parallelism"] == 7 and ex._executor.max_num_timeout == 3
    script = ex._executor._make_submission_file_text("python -m job", "%j")
    for line in ("--partition=gpu", "--account=lab", "--gpus-per-node=2", "--time=90", "--requeue",
                 f"--output={tmp_path}/%j/", "--signal=USR2@90"):
        assert f"#SBATCH {line}" in script
    gres = executors.make_executor("slurm", replace(options, gres="gpu:a100:1"), time_min=30)
    script = gres._executor._make_submission_file_text("python -m job", "%j")
    assert "#SBATCH --gres=gpu:a100:1" in script and "--gpus-per-node" not in script and "#SBATCH --time=30" in script


def test_a_refused_requeue_is_not_swallowed_by_the_engine_as_an_unreadable_image():
    """submitit raises "not requeued" inside its SIGUSR2 handler, wherever the job is; the engine's
    per-image ``except Exception`` once recorded it as an unreadable image and finished a short entry."""
    import signal

    def submitit_like(signum, frame):
        raise RuntimeError("Job not requeued because: checkpoint function returned None.")

    old = signal.signal(signal.SIGUSR2, submitit_like)
    try:
        executors._guard_preempt_handler()
        with pytest.raises(executors.JobStopped, match="not requeued"):
            try:
                os.kill(os.getpid(), signal.SIGUSR2)  # the handler runs here, as it would mid-decode
            except Exception:  # noqa: BLE001 -- what the engine does per image
                pytest.fail("the stop was caught as an ordinary error")
    finally:
        signal.signal(signal.SIGUSR2, old)
