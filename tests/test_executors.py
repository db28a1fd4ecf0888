"""cliprobust.executors: submitit jobs (LocalExecutor: real subprocesses) fill the same cache as an
in-process run, re-submission runs only what is missing, and a failed pair is reported with its log."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from _tiny import TINY_CLIP, small_config, small_tree, truncate

from cliprobust import cache, cli, executors, paths
from cliprobust.inference import is_done, run_one

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/

def _jobs(log_folder: Path) -> list[Path]:
    return sorted(p for p in log_folder.iterdir() if p.is_dir() and p.name[0].isdigit()) if log_folder.is_dir() else []


def test_submitit_jobs_fill_the_cache_and_resubmission_runs_only_what_is_missing(tmp_path, monkeypatch):
    good = small_tree(tmp_path / "good")
    bad = small_tree(tmp_path / "bad")
    truncate(sorted((bad / "imagenet-r").rglob("*.jpg"))[3])  # a different file list (sizes are in the key)
    configs = [small_config(TINY_CLIP, good), small_config(TINY_CLIP, bad, strict=True)]
    logs = tmp_path / "logs"
    options = executors.ClusterOptions(poll_s=0.2, time_min=5, log_folder=str(logs))
    said: list[str] = []

    reports = executors.submit(configs, "submitit-local", options, say=said.append)
    assert [r.status for r in reports] == ["done", "failed"]
    assert len(_jobs(logs)) == 2 and "submitting 2" in said[0]
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
    again = executors.submit(configs, "submitit-local", options, say=said.append)
    assert [r.status for r in again] == ["cached", "failed"]
    assert len(_jobs(logs)) == 3  # only the failed pair was submitted again
    assert "1 already complete, submitting 1" in said[0] and again[1].log != failed.log


def test_cli_cluster_executor_submits_nothing_when_all_is_cached(tmp_path, capsys):
    root = small_tree(tmp_path)
    run_one(small_config(TINY_CLIP, root, batch_size=64, chunk_size=1024))
    logs = tmp_path / "logs"
    argv = ["evaluate", "--models", TINY_CLIP, "--datasets", "imagenet-r", "--data-root", str(root),
            "--allow-partial", "--prompt-set", "photo", "--executor", "submitit-local", "--log-folder", str(logs),
            "--no-progress", "--poll", "0.2"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 already complete, submitting 0" in out and "0 failed" in out
    assert not _jobs(logs)


def test_slurm_options_reach_the_sbatch_script(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")  # submitit's Slurm executor looks for srun
    args = cli.build_parser().parse_args(
        ["evaluate", "--models", "x", "--datasets", "y", "--executor", "slurm", "--partition", "gpu",
         "--gpus-per-job", "2", "--time-limit", "90", "--array-parallelism", "7", "--log-folder", str(tmp_path)])
    assert cli.EXECUTORS[args.executor] is cli.EXECUTORS["submitit-local"]
    options = executors.ClusterOptions(partition=args.partition, gpus_per_job=args.gpus_per_job,
                                       time_min=args.time_limit, array_parallelism=args.array_parallelism,
                                       log_folder=args.log_folder)
    ex = executors.make_executor("slurm", options)
    assert ex._executor.parameters["array_parallelism"] == 7
    script = ex._executor._make_submission_file_text("python -m job", "%j")
    for line in ("--partition=gpu", "--gpus-per-node=2", "--time=90", f"--output={tmp_path}/%j/"):
        assert f"#SBATCH {line}" in script
