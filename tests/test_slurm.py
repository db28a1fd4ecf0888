"""``cliprobust evaluate --executor slurm`` against a real Slurm: sbatch job arrays, caches equal to a
local run bit for bit, nothing resubmitted when all is cached, a failed pair listed with its Slurm
log, ``--array-parallelism`` seen in squeue, a job preempted mid-pass that requeues itself and
resumes from its cached chunks to an entry bit-identical to an uninterrupted run (requeues capped and
reported), and a job requeued by Slurm (``scontrol requeue``) that resumes the same way.

The module fixture starts a throwaway one-node cluster (``tests/slurm/start.sh``: munge, MariaDB,
slurmdbd, slurmctld, slurmd; all state in a temp folder) and stops exactly those daemons after this module.
It needs the Slurm binaries and root (CI installs them, see ``.ci/run``); without them these tests
are skipped with the reason. ``CLIPROBUST_SLURM_CLUSTER=existing`` runs them on the cluster that
``sbatch`` reaches instead (README: "On a Slurm cluster").
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _tiny import TINY_CLIP, TINY_RESNET, sample_files, small_tree, truncate

from cliprobust import cli, paths

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("mirror", "tmp_cache")]

HERE = Path(__file__).parent / "slurm"
#: Daemons and clients the private test cluster needs (Debian: slurm-wlm, slurmdbd, munge, mariadb-server).
BINARIES = ("slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "munged", "mariadbd", "mariadb-install-db")
#: Arguments of every test command: tiny jobs that fit the one-node cluster (a user's cluster adds
#: partition / account / gres through CLIPROBUST_SLURM_ARGS, which come after these and win).
JOB_ARGS = ["--executor", "slurm", "--cpus-per-job", "1", "--gpus-per-job", "0", "--mem-gb", "1",
            "--time-limit", "10", "--poll", "0.5", "--prompt-set", "photo", "--no-progress", "--device", "cpu"]


def _missing() -> str | None:
    """Why the private cluster cannot start here, or None."""
    absent = [b for b in BINARIES if shutil.which(b) is None]
    if absent:
        return (f"Slurm tests skipped: {', '.join(absent)} not installed (CI installs slurm-wlm, slurmdbd, munge "
                f"and mariadb-server; the tests never install anything)")
    if os.geteuid() != 0:
        return "Slurm tests skipped: the private test cluster runs slurmd, which needs root"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory):
    """A reachable Slurm: the private one-node cluster (started here, stopped at the end) or, with
    CLIPROBUST_SLURM_CLUSTER=existing, the user's; yields the extra evaluate arguments."""
    extra = shlex.split(os.environ.get("CLIPROBUST_SLURM_ARGS", ""))
    if os.environ.get("CLIPROBUST_SLURM_CLUSTER") == "existing":
        yield extra
        return
    reason = _missing()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm-cluster")
    old = os.environ.get("SLURM_CONF")
    try:
        subprocess.run(["bash", str(HERE / "start.sh"), str(state)], check=True, timeout=300)
        os.environ["SLURM_CONF"] = str(state / "etc" / "slurm.conf")
        yield extra
    finally:
        subprocess.run(["bash", str(HERE / "stop.sh"), str(state)], timeout=120)
        os.environ.pop("SLURM_CONF", None) if old is None else os.environ.__setitem__("SLURM_CONF", old)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A folder the compute nodes see: tmp_path here, under $CLIPROBUST_SLURM_TMP on a user's cluster."""
    base = os.environ.get("CLIPROBUST_SLURM_TMP")
    if not base:
        return tmp_path
    d = Path(base) / f"cliprobust-test-{os.getpid()}-{tmp_path.name}"
    d.mkdir(parents=True)
    return d


def _sacct(job: str, wait_s: float = 60) -> list[tuple[str, str]]:
    """(job id, state) of every array task of ``job`` (allocations only, requeued runs included), once
    none is still running (submitit sees the result file a moment before the task ends)."""
    deadline = time.time() + wait_s
    while True:
        out = subprocess.run(["sacct", "-j", job, "-X", "-n", "-P", "-D", "-o", "JobID,State"], check=True,
                             capture_output=True, text=True).stdout
        rows = [tuple(line.split("|")[:2]) for line in out.splitlines() if line.strip()]
        if time.time() > deadline or not any(s in ("RUNNING", "COMPLETING", "PENDING") for _, s in rows):
            return rows
        time.sleep(0.5)


def _squeue() -> list[tuple[str, str, str]]:
    """(job id, state, reason) of this user's cliprobust jobs."""
    out = subprocess.run(["squeue", "-h", "--me", "-n", "cliprobust", "-r", "-o", "%i|%T|%r"],
                         capture_output=True, text=True).stdout
    return [tuple(line.split("|")) for line in out.splitlines() if line.strip()]


def _arrays(text: str) -> list[str]:
    return [line.split()[3].rstrip(":") for line in text.splitlines() if line.startswith("submitted job array")]


def _evaluate(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """``cliprobust evaluate`` in a child process (the test watches squeue meanwhile)."""
    return subprocess.Popen([sys.executable, "-m", "cliprobust.cli", "evaluate", *argv], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def _arrays_bytes(entry: Path) -> dict[str, bytes]:
    """Every stored array of an entry (meta.json holds times and hosts, so it is left out)."""
    return {p.name: p.read_bytes() for p in sorted(entry.glob("*.npy"))}


def _entries(cache_dir: Path) -> dict[str, Path]:
    return {p.parent.relative_to(cache_dir).as_posix(): p.parent for p in cache_dir.rglob("meta.json")
            if p.parent.parent.name != "model-configs"}


def test_slurm_array_equals_a_local_run_and_a_second_command_submits_nothing(slurm, shared, monkeypatch, capsys):
    root = small_tree(shared / "root")
    argv = ["--models", f"{TINY_CLIP},{TINY_RESNET}", "--datasets", "imagenet-sample,imagenet-r", "--data-root",
            str(root), "--allow-partial", "--batch-size", "16", "--chunk-size", "32"]
    cluster_cache, local_cache = shared / "cache-slurm", shared / "cache-local"
    monkeypatch.setenv(paths.CACHE_ENV, str(cluster_cache))
    assert cli.main(["evaluate", *argv, *JOB_ARGS, "--log-folder", str(shared / "logs"), *slurm]) == 0
    out = capsys.readouterr().out
    assert "submitting 4 in 2 job(s), one per model" in out and "4 computed, 0 failed" in out
    (array,) = _arrays(out)
    assert sorted(_sacct(array)) == [(f"{array}_0", "COMPLETED"), (f"{array}_1", "COMPLETED")]

    monkeypatch.setenv(paths.CACHE_ENV, str(local_cache))
    assert cli.main(["evaluate", *argv, "--prompt-set", "photo", "--no-progress", "--device", "cpu",
                     "--workers", "0"]) == 0
    ours, theirs = _entries(local_cache), _entries(cluster_cache)
    assert len(ours) == 4 and ours.keys() == theirs.keys()  # the same keys
    for key in ours:
        assert _arrays_bytes(ours[key]) == _arrays_bytes(theirs[key]), key  # bit for bit

    monkeypatch.setenv(paths.CACHE_ENV, str(cluster_cache))
    capsys.readouterr()
    assert cli.main(["evaluate", *argv, *JOB_ARGS, "--log-folder", str(shared / "logs"), *slurm]) == 0
    out = capsys.readouterr().out
    assert "4 already complete, submitting 0 in 0 job(s)" in out and not _arrays(out)


def _watch_squeue(stop: threading.Event, seen: list[list[tuple[str, str, str]]]) -> None:
    while not stop.is_set():
        seen.append(_squeue())
        time.sleep(0.3)


def test_a_failed_pair_is_listed_with_its_slurm_log_and_parallelism_is_honoured(slurm, shared):
    root = small_tree(shared / "root")
    truncate(sorted((root / "imagenet-r").rglob("*.jpg"))[3])  # a strict run of imagenet-r fails
    env = {paths.CACHE_ENV: str(shared / "cache")}
    argv = ["--models", TINY_RESNET, "--datasets", "imagenet-sample,imagenet-r", "--data-root", str(root),
            "--allow-partial", "--strict", "--job-per", "pair", "--array-parallelism", "1", *JOB_ARGS,
            "--log-folder", str(shared / "logs"), *slurm]
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_watch_squeue, args=(stop, seen))
    watcher.start()
    try:
        proc = _evaluate(argv, env)
        out, err = proc.communicate(timeout=600)
    finally:
        stop.set()
        watcher.join()
    assert proc.returncode == cli.EXIT_FAILED, out + err
    assert "submitting 2 in 2 job(s), one per pair" in out and "1 computed, 1 failed" in out
    running = [sum(state == "RUNNING" for _, state, _ in snap) for snap in seen]
    assert max(running) == 1  # never two tasks of the array at once
    assert any(reason == "JobArrayTaskLimit" for snap in seen for _, _, reason in snap)  # the throttle held them
    (line,) = [x for x in err.splitlines() if "| imagenet-r:" in x]
    assert "UnreadableImagesError: 1 unreadable image(s)" in line
    log = Path(line.split("(log: ")[1].split(")")[0])
    assert log.is_file() and "UnreadableImagesError" in log.read_text()  # the job's own traceback
    (array,) = _arrays(out)
    assert len(_sacct(array)) == 2


def _long_tree(root: Path, n: int = 2000) -> Path:
    """``n`` files in a partial ImageNet-R layout (hard links to the 100 shipped ImageNet-sample JPEGs, 20
    classes): JPEG decoding makes the pass last long enough (~15 s) to be interrupted mid-way anywhere."""
    from cliprobust import datasets

    images, wnids = sample_files(100), datasets.subset_wnids("imagenet-r")[:20]
    for i in range(n):
        dest = root / "imagenet-r" / wnids[i % len(wnids)] / f"img{i:05d}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(images[i % len(images)], dest)
        except OSError:  # another file system
            shutil.copyfile(images[i % len(images)], dest)
    return root


def _chunks(cache_dir: Path) -> int:
    return len(list(cache_dir.rglob("chunks/*.npz")))


#: What Slurm sends before the time limit, and at preemption with PreemptParameters=send_user_signal.
USR2 = ["scancel", "--signal=USR2"]
#: An admin's (or a signal-less preemption's) requeue: SIGTERM, SIGKILL after KillWait, job back in the queue.
REQUEUE = ["scontrol", "requeue"]


def _interrupt_mid_pass(cache_dir: Path, proc: subprocess.Popen, after: int, how: list[str] = USR2) -> str:
    """Wait until more than ``after`` chunks are on disk while the job runs, then run ``how`` on the
    job; returns the job id."""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        running = [i for i, state, _ in _squeue() if state == "RUNNING"]
        if running and _chunks(cache_dir) > after:
            subprocess.run([*how, running[0]], check=True)
            return running[0]
        time.sleep(0.1)
    raise AssertionError(f"no running job with more than {after} chunks on disk")


def test_a_preempted_job_requeues_itself_and_resumes_to_a_bit_identical_entry(slurm, shared, monkeypatch):
    cache_dir, local_cache = shared / "cache", shared / "cache-local"
    data = ["--models", TINY_CLIP, "--datasets", "imagenet-r", "--data-root", str(_long_tree(shared / "root")),
            "--allow-partial", "--batch-size", "4", "--chunk-size", "16"]  # 125 chunks: room to interrupt twice
    argv = [*data, *JOB_ARGS, "--log-folder", str(shared / "logs"), *slurm]
    env = {paths.CACHE_ENV: str(cache_dir)}
    # 1. no requeue allowed: the preempted job is reported failed (cap and count in the report), chunks kept
    proc = _evaluate([*argv, "--max-requeues", "0"], env)
    _interrupt_mid_pass(cache_dir, proc, after=0)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == cli.EXIT_FAILED, out + err
    assert "| imagenet-r:" in err and "not requeued" in err
    first = _chunks(cache_dir)
    assert first > 0 and not _entries(cache_dir)  # chunks kept, no entry finished short of an image

    # 2. the same command: the job resumes, is preempted again, requeues itself and finishes on its own
    proc = _evaluate(argv, env)
    job = _interrupt_mid_pass(cache_dir, proc, after=first)
    second = _chunks(cache_dir)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    assert "1 computed, 0 failed" in out and "1 job(s) requeued" in out
    states = [state for _, state in _sacct(job)]
    assert len(states) >= 2 and states[-1] == "COMPLETED", states  # Slurm ran the same job id again
    (entry,) = _entries(cache_dir).values()
    timings = json.loads((entry / "meta.json").read_text())["timings"]
    assert timings["chunks_resumed"] >= second > first  # each run went on from the chunks on disk

    # 3. bit-identical to an uninterrupted run (in this process)
    monkeypatch.setenv(paths.CACHE_ENV, str(local_cache))
    assert cli.main(["evaluate", *data, "--prompt-set", "photo", "--no-progress", "--device", "cpu",
                     "--workers", "0"]) == 0
    (uninterrupted,) = _entries(local_cache).values()
    assert _arrays_bytes(entry) == _arrays_bytes(uninterrupted)


def test_a_job_requeued_by_slurm_resumes_from_its_chunks(slurm, shared):
    """``scontrol requeue``: submitit ignores the SIGTERM, the job is killed after the grace period,
    Slurm puts it back in the queue (``--requeue``) and its next run resumes from the chunks."""
    cache_dir = shared / "cache"
    argv = ["--models", TINY_CLIP, "--datasets", "imagenet-r", "--data-root", str(_long_tree(shared / "root")),
            "--allow-partial", "--batch-size", "4", "--chunk-size", "16", *JOB_ARGS,
            "--log-folder", str(shared / "logs"), *slurm]
    proc = _evaluate(argv, {paths.CACHE_ENV: str(cache_dir)})
    job = _interrupt_mid_pass(cache_dir, proc, after=0, how=REQUEUE)
    at = _chunks(cache_dir)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    assert "1 computed, 0 failed" in out
    states = [state for _, state in _sacct(job)]
    assert states[0] == "REQUEUED" and states[-1] == "COMPLETED", states
    (entry,) = _entries(cache_dir).values()
    assert json.loads((entry / "meta.json").read_text())["timings"]["chunks_resumed"] >= at > 0
