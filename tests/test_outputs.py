"""cliprobust.outputs (the one reader) and the integrity of stored entries (cache manifest, verify),
plus the persisted model configs that let a reader build keys without open_clip / timm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tiny import SAMPLE, TINY_CLIP, TINY_VIT

from cliprobust import cache, datasets, outputs, paths
from cliprobust import keys, model_entries
from cliprobust.inference import config, entries

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/


def _write_entry(model: str = TINY_VIT, dataset: str = SAMPLE, n: int = 6, classes: int = 5, seed: int = 0,
                 **key_items) -> Path:
    """A complete entry written by the storage writer (init, chunks, finalize) under the engine's key."""
    rng = np.random.default_rng(seed)
    entry = model_entries.resolve_entry(model)
    files = datasets.resolve(dataset)
    cfg = config.RunConfig(model=model, dataset=dataset, prompt_set="photo")
    key = {**config.entry_key(cfg, entry, files), **key_items}
    sha = keys.canonical_sha(key)
    path = cache.entry_path(key, sha)
    cache.init_entry(path, key, {"chunk_size": n, "batch_size": n})
    cache.write_chunk(path, 0, {"index": np.arange(n), "scores": rng.normal(size=(n, classes)).astype(np.float16),
                                "features": rng.normal(size=(n, 4)).astype(np.float16),
                                "failed_index": np.zeros(0, np.int64), "failed_error": np.zeros(0, str)})
    meta = {"format_version": key["format_version"], "model_id": model, "dataset": dataset, "head": "classifier",
            "key": key, "key_sha": sha, "config": cfg.to_dict(), "scores_kind": "logits", "completed_at": "now"}
    cache.finalize(path, np.arange(n) % classes, [f"f{i}" for i in range(n)], meta)
    return path


def _flip_last_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-1] ^= 0x01
    file.write_bytes(bytes(data))


# --------------------------------------------------------------------------- integrity


def test_finalize_records_shape_dtype_size_and_sha256_of_every_file():
    path = _write_entry()
    meta = cache.read_json(path / "meta.json")
    assert meta["meta_format"] == cache.META_FORMAT and set(meta["arrays"]) == {"scores", "features", "labels",
                                                                               "index", "files"}
    import hashlib
    for name, item in meta["arrays"].items():
        file = path / ("files.txt" if name == "files" else f"{name}.npy")
        assert item["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()  # independent of the block reader
        assert item["bytes"] == file.stat().st_size
    assert meta["arrays"]["scores"]["shape"] == [6, 5] and meta["arrays"]["scores"]["dtype"] == "<f2"
    assert cache.verify_entry(path) == ("ok", [])


def test_a_flipped_bit_is_caught_by_verify_but_layout_checks_stay_cheap():
    path = _write_entry()
    _flip_last_byte(path / "scores.npy")  # same size, shape and dtype: only the checksum sees it
    assert len(cache.read_entry(path)) == 6  # the always-on check is shapes/dtypes/sizes only
    status, problems = cache.verify_entry(path)
    assert status == "corrupt" and problems == ["scores.npy: sha256 differs from meta.json (changed after the "
                                                "entry was written)"]
    with pytest.raises(cache.CorruptEntryError, match=f"cliprobust evaluate --models {TINY_VIT} --datasets {SAMPLE}"):
        cache.read_entry(path, verify=True)
    with pytest.raises(cache.CorruptEntryError, match="scores.npy: sha256"):
        outputs.load(TINY_VIT, SAMPLE, verify=True)


@pytest.mark.parametrize("damage", ["truncate", "reshape", "dtype", "delete"])
def test_layout_damage_is_caught_on_every_load(damage):
    path = _write_entry()
    file = path / "features.npy"
    if damage == "truncate":  # a partial copy between file systems
        file.write_bytes(file.read_bytes()[:-8])
    elif damage == "reshape":
        np.save(file, np.zeros((6, 5), np.float16))
    elif damage == "dtype":
        np.save(file, np.zeros((6, 2), np.float32))  # same byte count, other dtype and shape
    else:
        file.unlink()
    with pytest.raises(cache.CorruptEntryError, match="features.npy"):
        outputs.load(TINY_VIT, SAMPLE)
    assert cache.verify_entry(path)[0] == "corrupt"


def test_entries_written_before_checksums_are_reported_not_passed():
    path = _write_entry()
    meta = cache.read_json(path / "meta.json")
    del meta["arrays"], meta["meta_format"]
    cache.write_json(path / "meta.json", meta)
    assert cache.verify_entry(path) == ("no-checksum", [f"no checksum (meta format < {cache.META_FORMAT})"])
    assert len(outputs.load(TINY_VIT, SAMPLE, verify=True)) == 6  # readable: nothing to check against


# --------------------------------------------------------------------------- the reader


def test_ls_inventory_and_has_slot(monkeypatch):
    _write_entry()
    assert outputs.has_slot(TINY_VIT, SAMPLE) and not outputs.has_slot(TINY_VIT, "cue-conflict")
    table = outputs.ls([TINY_VIT], [SAMPLE, "cue-conflict"])
    assert list(table.columns) == outputs.LS_COLUMNS
    assert table["status"].tolist() == ["complete", "missing"] and table["n_samples"].tolist()[0] == 6
    inv = outputs.inventory([TINY_VIT, TINY_CLIP], [SAMPLE, "cue-conflict"], ["photo", "classname"])
    assert list(inv.columns) == ["model", "dataset", "prompt_set", "status"] and len(inv) == 8
    assert set(inv.query("status == 'complete'")["model"]) == {TINY_VIT}
    assert (inv.query("model == @TINY_CLIP")["status"] == "missing").all()
    # pairs without a cache folder never compute a key (no config resolution, no file listing)
    monkeypatch.setattr(outputs, "expected_key", lambda *a, **k: pytest.fail("key computed for a missing pair"))
    assert outputs.inventory([TINY_CLIP], ["cue-conflict", SAMPLE])["status"].tolist() == ["missing", "missing"]
    assert set(outputs.AVAILABLE) == {"complete", "derivable"}


def test_load_serves_the_entry_and_misses_name_the_command():
    path = _write_entry()
    out = outputs.load(TINY_VIT, SAMPLE, mmap=False)
    np.testing.assert_array_equal(out.scores, np.load(path / "scores.npy"))
    assert out.file_ids == tuple(f"f{i}" for i in range(6)) and out.labels.tolist() == [0, 1, 2, 3, 4, 0]
    assert not out.synthetic
    with pytest.raises(outputs.CacheMiss, match=f"cliprobust evaluate --models {TINY_VIT} --datasets cue-conflict"):
        outputs.load(TINY_VIT, "cue-conflict")


def test_synthetic_entries_say_so():
    _write_entry(synthetic=True)
    assert outputs.load(TINY_VIT, SAMPLE).synthetic


# --------------------------------------------------------------------------- persisted model configs


def _heavy_in_child(code: str) -> list[str]:
    heavy = "[m for m in ('torch', 'open_clip', 'timm') if m in sys.modules]"
    prog = f"import sys, json\n{code}\nprint(json.dumps({heavy}))"
    done = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_model_configs_are_persisted_so_keys_need_no_library():
    clip = model_entries.resolve_entry(TINY_CLIP)
    store = model_entries.config_path(clip)
    first = keys.model_key(clip)
    assert store.is_file() and store.is_relative_to(paths.cache_dir() / "model-configs")
    code = (f"from cliprobust import keys, model_entries\n"
            f"key = keys.model_key(model_entries.resolve_entry({TINY_CLIP!r}))\n"
            f"assert key == {first!r}, key")
    assert _heavy_in_child(code) == []  # the same key, from the stored JSON
    store.write_text("{ torn")  # a damaged store is recomputed (through open_clip) and rewritten
    model_entries._MEMO.clear()
    assert keys.model_key(clip) == first and json.loads(store.read_text())["preprocess"] == first["preprocess"]
    assert model_entries.resolved_config(clip) == model_entries.open_clip_config(clip)


def test_check_models_resolves_without_building_and_suggests_names(monkeypatch):
    import open_clip
    import timm

    monkeypatch.setattr(timm, "create_model", lambda *a, **k: pytest.fail("resolving built a model"))
    monkeypatch.setattr(open_clip, "create_model_and_transforms", lambda *a, **k: pytest.fail("built a model"))
    assert [e.id for e in entries.check_models(f"{TINY_CLIP},{TINY_VIT}")] == [TINY_CLIP, TINY_VIT]
    with pytest.raises(model_entries.UnknownModelError, match="closest known names: .*timm:resnet50"):
        entries.check_models("timm:resnet5O")
    with pytest.raises(model_entries.UnknownModelError, match="open_clip:ViT-B-32/openai"):
        entries.check_models("open_clip:ViT-B-3/openai")
    with pytest.raises(model_entries.UnknownModelError, match="unknown model selector 'no-such-collection'"):
        entries.check_models("no-such-collection")
