"""cliprobust.cli: evaluate / cache ls / cache verify / fetch / datasets / simulate, exit codes, warm paths."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
from _tiny import TINY_CLIP, TINY_RESNET, small_config, small_tree

from cliprobust import cli, outputs, paths
from cliprobust.inference import RunConfig, run_one

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/


def test_evaluate_then_cache_ls(tmp_cache, tmp_path, capsys):
    root = small_tree(tmp_path / "root")
    rc = cli.main(["evaluate", "--models", f"{TINY_CLIP},{TINY_RESNET}", "--datasets", "imagenet-r",
                   "--data-root", str(root), "--allow-partial", "--prompt-set", "photo", "--workers", "0",
                   "--batch-size", "4", "--no-progress", "--device", "cpu"])
    assert rc == 0
    assert "2 cache entries complete" in capsys.readouterr().out
    assert len(outputs.load(TINY_CLIP, "imagenet-r", "photo", data_root=root)) == 8
    rc = cli.main(["cache", "ls", "--models", f"{TINY_CLIP},{TINY_RESNET}", "--datasets", "imagenet-r,cue-conflict",
                   "--prompt-set", "photo", "--data-root", str(root), "--csv"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = [line.split(",") for line in out.splitlines()[1:5]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (TINY_CLIP, "imagenet-r", "complete"), (TINY_CLIP, "cue-conflict", "missing"),
        (TINY_RESNET, "imagenet-r", "complete"), (TINY_RESNET, "cue-conflict", "missing")]
    assert "# 4 pairs: 2 complete, 2 missing" in out


def test_evaluate_refuses_missing_data_before_running_anything(tmp_cache, tmp_path, capsys):
    rc = cli.main(["evaluate", "--models", TINY_RESNET, "--datasets", "imagenet-sample,imagenet",
                   "--data-root", str(tmp_path), "--no-progress"])
    assert rc == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "imagenet/val/<wnid>" in err and "--data-root" in err
    assert not (paths.cache_dir() / "entries").exists()
    assert cli.main(["evaluate", "--models", TINY_RESNET, "--datasets", "imagenet-q"]) == cli.EXIT_USAGE
    assert "unknown data set" in capsys.readouterr().err
    assert cli.main(["evaluate", "--models", "no-such-collection", "--datasets", "imagenet-sample"]) == cli.EXIT_USAGE
    assert "model selector" in capsys.readouterr().err


def test_partial_copy_needs_allow_partial(tmp_cache, tmp_path, capsys):
    root = small_tree(tmp_path / "root")
    assert cli.main(["evaluate", "--models", TINY_RESNET, "--datasets", "imagenet-r", "--data-root", str(root),
                     "--no-progress"]) == cli.EXIT_USAGE
    assert "30,000" in capsys.readouterr().err


def test_fetch_subcommand(tmp_cache, capsys):
    assert cli.main(["fetch", "images/imagenet-sample/n01440764"]) == 0
    assert (tmp_cache / "images/imagenet-sample/n01440764_tench.JPEG").is_file()
    assert "1 files verified" in capsys.readouterr().out
    assert cli.main(["fetch", "no/such/prefix"]) == cli.EXIT_USAGE


def test_datasets_subcommand_lists_layouts(tmp_cache, tmp_path, capsys):
    small_tree(tmp_path)
    assert cli.main(["datasets", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "imagenet-sample" in out and "100 found" in out and "objectnet-1.0/images" in out
    assert "8 found (incomplete)" in [line for line in out.splitlines() if line.startswith("imagenet-r ")][0]


def test_run_configs_are_picklable_jobs_and_executors_are_pluggable():
    config = RunConfig(model=TINY_CLIP, dataset="imagenet-sample", prompt_set="photo")
    assert pickle.loads(pickle.dumps(config)) == config  # what a cluster executor submits
    assert "local" in cli.EXECUTORS
    args = cli.build_parser().parse_args(["evaluate", "--models", "x", "--datasets", "y"])
    assert args.executor == "local" and args.prompt_set is None and args.precision == "fp32"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["evaluate", "--models", "x", "--datasets", "y", "--executor", "nope"])


# --------------------------------------------------------------------------- warm paths, ids, integrity


def _heavy_after_main(argv: list[str]) -> tuple[int, list[str], str]:
    """Run ``cli.main(argv)`` in a fresh interpreter (same environment); exit code, heavy modules, output."""
    code = ("import json, sys\nfrom cliprobust import cli\ntry:\n    rc = cli.main(%r)\nexcept SystemExit as e:\n"
            "    rc = e.code\nprint(json.dumps([rc, [m for m in ('torch', 'open_clip', 'timm') if m in sys.modules]]))"
            % (argv,))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ)
    rc, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    return rc, heavy, done.stdout + done.stderr


def test_help_datasets_and_a_cached_evaluate_import_no_torch(tmp_cache, tmp_path):
    assert _heavy_after_main(["--help"])[:2] == (0, [])
    assert _heavy_after_main(["datasets"])[:2] == (0, [])
    rc, heavy, out = _heavy_after_main(["cache", "ls", "--models", "paper", "--datasets", "imagenet-sample,imagenet-r"])
    assert (rc, heavy) == (0, []) and "# 420 pairs: 420 missing" in out  # empty cache: no config resolved
    root = small_tree(tmp_path / "root")
    args = ["--models", f"{TINY_CLIP},{TINY_RESNET}", "--datasets", "imagenet-r", "--data-root", str(root)]
    assert cli.main(["evaluate", *args, "--allow-partial", "--prompt-set", "photo", "--workers", "0",
                     "--no-progress", "--device", "cpu"]) == 0  # cold, in this process: an image pass
    rc, heavy, out = _heavy_after_main(["evaluate", *args, "--allow-partial", "--prompt-set", "photo"])
    assert (rc, heavy) == (0, []) and "(all were cached)" in out  # warm: keys from stored configs, no model
    rc, heavy, out = _heavy_after_main(["cache", "ls", *args, "--prompt-set", "photo"])
    assert (rc, heavy) == (0, []) and "# 2 pairs: 2 complete" in out
    rc, heavy, out = _heavy_after_main(["cache", "ls", *args, "--prompt-set", "classname"])
    assert (rc, heavy) == (0, []) and "needs-head" in out


def test_unknown_model_id_exits_2_with_close_names_before_any_job(tmp_cache, capsys):
    assert cli.main(["evaluate", "--models", f"{TINY_RESNET},timm:resnet5O", "--datasets", "imagenet-sample"]) == 2
    err = capsys.readouterr().err
    assert "timm has no model 'resnet5O'" in err and "timm:resnet50" in err
    assert not (paths.cache_dir() / "entries").exists()  # the valid model did not run either
    assert cli.main(["cache", "ls", "--models", "open_clip:ViT-B-3/openai", "--datasets", "imagenet-sample"]) == 2
    assert "open_clip:ViT-B-32/openai" in capsys.readouterr().err


def test_cache_verify_names_a_changed_entry_and_how_to_rebuild_it(tmp_cache, tmp_path, capsys):
    root = small_tree(tmp_path / "root")
    path = run_one(small_config(TINY_RESNET, root))
    run_one(small_config(TINY_CLIP, root))
    assert cli.main(["cache", "verify", "--no-progress"]) == 0
    assert "# 2 entries: 2 ok, 0 corrupt" in capsys.readouterr().out
    data = bytearray((path / "scores.npy").read_bytes())
    data[-3] ^= 0x10  # one bit of one stored logit
    (path / "scores.npy").write_bytes(bytes(data))
    assert cli.main(["cache", "verify", "--no-progress"]) == 1
    out = capsys.readouterr()
    assert f"CORRUPT {path}: scores.npy: sha256 differs" in out.err
    assert f"cliprobust evaluate --models {TINY_RESNET} --datasets imagenet-r --data-root {root}" in out.err
    assert "# 2 entries: 1 ok, 1 corrupt" in out.out
    assert cli.main(["cache", "verify", "--models", TINY_CLIP, "--no-progress"]) == 0  # selection by model


def test_simulate_passes_its_arguments_to_the_simulate_package(monkeypatch):
    from cliprobust import simulate

    calls = {}
    monkeypatch.setattr(simulate, "main", lambda args: calls.setdefault("fraction", args.fraction) and 0)
    assert cli.main(["simulate", "--fraction", "0.05"]) == 0 and calls == {"fraction": 0.05}
    with pytest.raises(SystemExit):
        cli.main(["datasets", "--no-such-flag"])
