"""cliprobust.cache: content-addressed keys, atomic writes, concurrent writers, staleness, the
reader API (load / ls / Outputs) and prompt sets derived from cached features."""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
from pathlib import Path

import numpy as np
import open_clip
import pytest
import timm
from _tiny import SAMPLE, TINY_CLIP, TINY_VIT, fast_config, imagenet_r_tree, run_in_child, small_config, small_tree
from scipy.special import softmax

from cliprobust import cache, datasets, outputs, paths
from cliprobust import model_entries as entries
from cliprobust.inference import entry_key, image_key, run_one, runner
from cliprobust.inference.heads import build_heads
from cliprobust.keys import canonical_sha
from cliprobust.model_entries import parse_model_id

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/


class _Count:
    def __init__(self, fail_at=None):
        self.calls, self.fail_at, self.real = 0, fail_at, runner.encode_batch

    def __call__(self, *a, **k):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("injected failure")
        return self.real(*a, **k)


@pytest.fixture
def count(monkeypatch):
    def install(fail_at=None):
        c = _Count(fail_at)
        monkeypatch.setattr(runner, "encode_batch", c)
        return c
    return install


def new_release(mp: pytest.MonkeyPatch) -> None:
    """Pretend open_clip and timm were upgraded: the persisted model configs no longer apply."""
    bumped = {k: v + ".post1" for k, v in entries.library_versions().items()}
    mp.setattr(entries, "library_versions", lambda: bumped)


# --------------------------------------------------------------------------- keys and writes


def test_canonical_sha_ignores_dict_order_but_not_values():
    a = {"x": 1, "y": {"b": [1, 2], "a": "s"}}
    b = {"y": {"a": "s", "b": [1, 2]}, "x": 1}
    assert canonical_sha(a) == canonical_sha(b)
    assert canonical_sha({**a, "x": 2}) != canonical_sha(a)
    assert canonical_sha({**a, "y": {"b": [2, 1], "a": "s"}}) != canonical_sha(a)


def test_key_covers_model_weights_preprocessing_files_precision_and_head(tmp_cache):
    files = datasets.resolve(SAMPLE)
    clip = parse_model_id(TINY_CLIP)
    base = entry_key(fast_config(TINY_CLIP), clip, files)
    assert {"format_version", "model_id", "weights_id", "architecture_sha", "preprocess", "dataset", "files_sha",
            "precision", "head", "image_key_sha"} <= set(base)
    other_prompts = entry_key(fast_config(TINY_CLIP, prompt_set="classname"), clip, files)
    assert other_prompts["image_key_sha"] == base["image_key_sha"] and other_prompts["head"] != base["head"]
    variants = [fast_config(TINY_CLIP, precision="amp"), fast_config(TINY_CLIP, seed=1)]
    shas = {canonical_sha(image_key(c, clip, files)) for c in variants} | {base["image_key_sha"]}
    assert len(shas) == 3
    fewer = dataclasses.replace(files, fingerprint="0" * 64)
    assert canonical_sha(image_key(fast_config(TINY_CLIP), clip, fewer)) != base["image_key_sha"]
    configs = open_clip.factory._MODEL_CONFIGS  # a changed architecture under the same name ...
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(configs, "cliprobust-tiny", {**configs["cliprobust-tiny"], "embed_dim": 16})
        new_release(mp)  # ... arrives with a new open_clip release
        assert entry_key(fast_config(TINY_CLIP), clip, files)["image_key_sha"] != base["image_key_sha"]
    # parameters that cannot change the numbers are not in the key
    same = entry_key(fast_config(TINY_CLIP, batch_size=3, workers=2, chunk_size=7, strict=True), clip, files)
    assert canonical_sha(same) == canonical_sha(base)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x" / "scores.npy"

    def crash(fh):
        fh.write(b"partial bytes")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write(target, crash)
    assert not target.exists() and list(target.parent.iterdir()) == []
    cache.write_json(target.with_suffix(".json"), {"a": 1})
    assert cache.read_json(target.with_suffix(".json")) == {"a": 1}


def test_atomic_write_fsyncs_only_when_durable(tmp_path, monkeypatch):
    """The engine's writes are durable (fsync before the rename); ``durable=False`` (synthetic
    entries) skips the fsync and still renames a complete file into place."""
    synced = []
    real = cache.os.fsync
    monkeypatch.setattr(cache.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    cache.write_json(tmp_path / "a.json", {"a": 1})
    assert len(synced) == 1
    cache.write_json(tmp_path / "b.json", {"b": 2}, durable=False)
    assert len(synced) == 1 and cache.read_json(tmp_path / "b.json") == {"b": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # no temp file left


def test_damaged_chunk_is_redone_and_coverage_is_checked(tmp_path):
    entry = tmp_path / "e"
    cache.write_chunk(entry, 0, {"index": np.arange(2), "scores": np.zeros((2, 3), np.float16),
                                 "features": np.zeros((2, 4), np.float16), "failed_index": np.zeros(0, int),
                                 "failed_error": np.zeros(0, str)})
    (entry / "chunks" / "000001.npz").write_bytes(b"not a zip")
    assert cache.done_chunks(entry) == {0}
    assert not (entry / "chunks" / "000001.npz").exists()
    with pytest.raises(RuntimeError, match="exactly once"):
        cache.finalize(entry, np.zeros(3, int), ["a", "b", "c"], {})


# --------------------------------------------------------------------------- concurrency, staleness


def test_two_concurrent_writers_end_with_one_valid_entry(tmp_cache, tmp_path):
    config = small_config(TINY_VIT, small_tree(tmp_path / "root"))
    ctx = multiprocessing.get_context("spawn")
    args = (config, str(paths.cache_dir()), str(paths.data_dir()))
    with ctx.Pool(2) as pool:
        got = pool.starmap(run_in_child, [args, args])
    assert got[0] == got[1]
    slot = Path(got[0]).parent
    assert [p.name for p in slot.iterdir() if p.is_dir()] == [Path(got[0]).name]
    out = cache.read_entry(Path(got[0]), mmap=False)
    assert out.scores.shape == (8, 1000) and out.meta["timings"]["images_this_session"] == 8
    assert not list(paths.cache_dir().rglob("*.part")) and not (Path(got[0]) / "chunks").exists()
    ref = cache.read_entry(run_one(dataclasses.replace(config)), mmap=False)  # warm: same entry
    np.testing.assert_array_equal(ref.scores, out.scores)


def test_preprocessing_change_is_never_served_a_stale_entry(tmp_cache, tmp_path, count):
    root = small_tree(tmp_path / "root")
    config = small_config(TINY_VIT, root)
    old_path = run_one(config)
    old = outputs.load(TINY_VIT, "imagenet-r", data_root=root)
    registry = timm.models._registry._model_pretrained_cfgs  # what a timm release changing crop_pct edits
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry, "test_vit.r160_in1k", dataclasses.replace(registry["test_vit.r160_in1k"], crop_pct=1.0))
        new_release(mp)
        assert outputs.ls([TINY_VIT], ["imagenet-r"], data_root=root)["status"].tolist() == ["stale"]
        with pytest.raises(outputs.CacheMiss, match="older key"):
            outputs.load(TINY_VIT, "imagenet-r", data_root=root)
        calls = count()
        new_path = run_one(config)
        assert new_path != old_path and calls.calls == 4
        new = outputs.load(TINY_VIT, "imagenet-r", data_root=root)
    assert new.meta["preprocess"]["crop_pct"] == 1.0 and old.meta["preprocess"]["crop_pct"] == 0.95
    assert "Resize(size=160" in new.meta["transform"] and "Resize(size=168" in old.meta["transform"]
    assert not np.array_equal(new.scores, old.scores)
    assert outputs.load(TINY_VIT, "imagenet-r").meta["key_sha"] == old.meta["key_sha"]  # both valid for their keys


def test_changed_image_files_make_a_new_entry(tmp_cache, tmp_path, count):
    root = imagenet_r_tree(tmp_path / "root", datasets.subset_wnids("imagenet-r")[:2], per_class=2)
    config = small_config(TINY_VIT, root, batch_size=16)
    first = run_one(config)
    victim = next((root / "imagenet-r").rglob("*.jpg"))
    shutil.copyfile(next(p for p in (root / "imagenet-r").rglob("*.jpg") if p != victim and
                         p.stat().st_size != victim.stat().st_size), victim)
    calls = count()
    second = run_one(config)
    assert second != first and calls.calls == 1
    assert outputs.load(TINY_VIT, "imagenet-r", data_root=root).meta["key_sha"] != cache.read_entry(first).meta["key_sha"]


# --------------------------------------------------------------------------- reader API


def test_load_and_ls_report_missing_partial_and_complete(tmp_cache, tmp_path, count):
    root = small_tree(tmp_path / "root")
    config = small_config(TINY_VIT, root)
    with pytest.raises(outputs.CacheMiss, match="cliprobust evaluate --models timm:test_vit.* --data-root"):
        outputs.load(TINY_VIT, "imagenet-r", data_root=root)
    count(fail_at=3)
    with pytest.raises(RuntimeError):
        run_one(config)
    table = outputs.ls([TINY_VIT], ["imagenet-r", "cue-conflict"], data_root=root)
    assert table["status"].tolist() == ["partial", "missing"]
    count()
    run_one(config)
    table = outputs.ls([TINY_VIT], "imagenet-r,cue-conflict", data_root=root)
    assert table["status"].tolist() == ["complete", "missing"] and table["n_samples"].tolist()[0] == 8
    out = outputs.load(TINY_VIT, "imagenet-r", data_root=root)
    assert out.meta["complete"] and out.meta["config"]["model"] == TINY_VIT
    assert {"torch", "timm", "open_clip", "cliprobust"} <= set(out.meta["versions"])
    assert out.meta["timings"]["images_this_session"] == 8 - 4  # chunk 0 came from the failed run
    assert outputs.load(TINY_VIT, "imagenet-r").meta["key_sha"] == out.meta["key_sha"]  # no data root: still found


def test_outputs_logits_and_probabilities():
    rng = np.random.default_rng(0)
    cos = rng.uniform(-0.3, 0.4, size=(6, 10)).astype(np.float16)
    meta = {"scores_kind": "cosine"}
    out = cache.Outputs("m", "d", "zeroshot:photo", cos, None, np.zeros(6, int), tuple("abcdef"), 50.0, -3.0, meta)
    np.testing.assert_allclose(out.logits, 50.0 * cos.astype(np.float32) - 3.0, rtol=1e-6)
    np.testing.assert_allclose(out.probs(), softmax(out.logits.astype(np.float64), axis=1), rtol=1e-5)
    np.testing.assert_allclose(out.probs(scale=100.0), softmax(100.0 * cos.astype(np.float64), axis=1), rtol=1e-4)
    np.testing.assert_allclose(out.probs().sum(axis=1), 1.0, rtol=1e-6)
    sup = dataclasses.replace(out, meta={"scores_kind": "logits"}, logit_scale=None, logit_bias=None)
    np.testing.assert_array_equal(sup.logits, cos.astype(np.float32))
    with pytest.raises(TypeError):
        sup.cosine


def test_new_prompt_set_is_derived_from_cached_features(tmp_cache, tmp_path, count, monkeypatch):
    root = small_tree(tmp_path / "root")
    run_one(small_config(TINY_CLIP, root))
    calls = count()
    derived = cache.read_entry(run_one(small_config(TINY_CLIP, root, prompt_set="classname")), mmap=False)
    assert calls.calls == 0 and derived.meta["derived_from"]
    assert outputs.ls([TINY_CLIP], ["imagenet-r"], "classname", data_root=root)["status"].tolist() == ["complete"]
    assert outputs.ls([TINY_CLIP], ["imagenet-r"], "simple-7")["status"].tolist() == ["needs-head"]
    with pytest.raises(outputs.CacheMiss, match="--prompt-set simple-7"):
        outputs.load(TINY_CLIP, "imagenet-r", "simple-7")
    pairs = [(TINY_CLIP, "simple-7"), (TINY_CLIP, "simple-7")]
    assert build_heads(pairs) == [(TINY_CLIP, "simple-7")]  # the explicit step: one head built, once
    assert build_heads(pairs) == []  # stored: nothing to build
    assert outputs.ls([TINY_CLIP], ["imagenet-r"], "simple-7")["status"].tolist() == ["derivable"]
    in_memory = outputs.load(TINY_CLIP, "imagenet-r", "simple-7")
    assert in_memory.meta["derived_in_memory"] and in_memory.head == "zeroshot:simple-7"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "load_model", lambda *a, **k: pytest.fail("head is cached: no model needed"))
        written = cache.read_entry(run_one(small_config(TINY_CLIP, root, prompt_set="simple-7")))
        np.testing.assert_array_equal(written.scores, in_memory.scores)
        assert calls.calls == 0
        mp.setenv("CLIPROBUST_PROMPT_SET", "simple-7")  # the environment's default prompt set
        assert outputs.ls([TINY_CLIP], ["imagenet-r"])["status"].tolist() == ["complete"]
        assert outputs.load(TINY_CLIP, "imagenet-r").head == "zeroshot:simple-7"
    monkeypatch.setenv("CLIPROBUST_CACHE_DIR", str(tmp_path / "direct"))
    direct = cache.read_entry(run_one(small_config(TINY_CLIP, root, prompt_set="classname")), mmap=False)
    assert calls.calls == 4  # an image pass in the empty cache
    np.testing.assert_array_equal(derived.features, direct.features)
    np.testing.assert_allclose(derived.scores.astype(np.float32), direct.scores.astype(np.float32), atol=1e-3)
    assert derived.file_ids == direct.file_ids and derived.logit_scale == direct.logit_scale
