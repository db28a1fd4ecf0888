"""cliprobust.cli: evaluate / cache ls / fetch / datasets subcommands and their exit codes."""

from __future__ import annotations

import pickle

import pytest
from _tiny import TINY_CLIP, TINY_RESNET, small_tree

from cliprobust import cache, cli, paths
from cliprobust.inference import RunConfig

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/


def test_evaluate_then_cache_ls(tmp_cache, tmp_path, capsys):
    root = small_tree(tmp_path / "root")
    rc = cli.main(["evaluate", "--models", f"{TINY_CLIP},{TINY_RESNET}", "--datasets", "imagenet-r",
                   "--data-root", str(root), "--allow-partial", "--prompt-set", "photo", "--workers", "0",
                   "--batch-size", "4", "--no-progress", "--device", "cpu"])
    assert rc == 0
    assert "2 cache entries complete" in capsys.readouterr().out
    assert len(cache.load(TINY_CLIP, "imagenet-r", "photo", data_root=root)) == 8
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
