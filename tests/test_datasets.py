"""cliprobust.datasets: registry, layouts and errors, labels, class-subset and ObjectNet protocols."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _tiny import imagenet_r_tree, sample_files

from cliprobust import datasets, fetch

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")


def _lines(name: str) -> list[str]:
    return fetch.fetch(name).read_text().split()


WNIDS = "published/label-maps/imagenet_wnids.txt"


def test_registry_has_every_canonical_set_once():
    wanted = {"imagenet", "imagenet-v2", "imagenet-r", "imagenet-a", "imagenet-sketch", "objectnet",
              "imagenet-o", "inaturalist", "sun", "places", "textures", "cue-conflict", "imagenet-sample"}
    assert wanted == set(datasets.names())
    counts = {n: datasets.get(n).expected_counts[0] for n in wanted}
    assert counts["imagenet"] == 50_000 and counts["imagenet-v2"] == 10_000 and counts["imagenet-r"] == 30_000
    assert counts["imagenet-a"] == 7_500 and counts["imagenet-sketch"] == 50_889 and counts["imagenet-o"] == 2_000
    assert [counts[n] for n in ("inaturalist", "sun", "places", "textures")] == [10_000, 10_000, 10_000, 5_640]
    with pytest.raises(KeyError, match="known"):
        datasets.get("imagenet-c")


def test_imagenet_sample_needs_no_data_root_and_labels_are_wnid_indices(tmp_cache):
    files = datasets.resolve("imagenet-sample")
    assert len(files) == 100  # README-images: 100 files, every 10th class
    np.testing.assert_array_equal(files.labels, np.arange(0, 1000, 10))
    wnids = _lines(WNIDS)
    assert all(Path(f).name[:9] == wnids[y] for f, y in zip(files.file_ids, files.labels))
    local = datasets.materialize(files)
    assert all(p.is_file() and str(p).startswith(str(tmp_cache)) for p in local.paths)


def test_cue_conflict_labels_and_textures_match_readme(tmp_cache):
    files = datasets.resolve("cue-conflict")
    assert len(files) == 1280
    cats = datasets.cue_conflict_categories()
    assert len(cats) == 16 and list(cats) == sorted(cats)
    assert Counter(files.labels.tolist()) == {i: 80 for i in range(16)}  # 80 images per category
    textures = [datasets.cue_conflict_texture(f) for f in files.file_ids]
    assert Counter(textures) == {c: 80 for c in cats}  # README: each texture category occurs 80 times
    same = sum(cats[y] == t for y, t in zip(files.labels, textures))
    assert same == 80  # README: 80 images have the same shape and texture
    assert datasets.cue_conflict_texture("airplane/airplane1-bicycle2.png") == "bicycle"


def test_missing_set_and_missing_root_name_the_expected_layout(tmp_path):
    with pytest.raises(datasets.DatasetError, match=r"imagenet/val/<wnid>"):
        datasets.resolve("imagenet", tmp_path)
    with pytest.raises(datasets.DatasetError, match="--data-root"):
        datasets.resolve("imagenet-r")


def test_mislaid_sets_raise(tmp_path):
    img = sample_files(1)[0]
    flat = tmp_path / "imagenet-r"
    flat.mkdir()
    shutil.copyfile(img, flat / "a.jpg")
    with pytest.raises(datasets.DatasetError, match="not in class folders"):
        datasets.resolve("imagenet-r", tmp_path, check_count=False)
    (flat / "a.jpg").unlink()
    (flat / "not_a_wnid").mkdir()
    shutil.copyfile(img, flat / "not_a_wnid" / "a.jpg")
    with pytest.raises(datasets.DatasetError, match="not class folders"):
        datasets.resolve("imagenet-r", tmp_path, check_count=False)
    shutil.rmtree(flat / "not_a_wnid")
    tench = "n01440764"  # an ImageNet class that is not an ImageNet-R class
    assert tench not in _lines("published/label-maps/imagenet_r_wnids.txt")
    (flat / tench).mkdir()
    shutil.copyfile(img, flat / tench / "a.jpg")
    with pytest.raises(datasets.DatasetError, match="not imagenet-r classes"):
        datasets.resolve("imagenet-r", tmp_path, check_count=False)


def test_counts_are_checked_unless_partial_allowed(tmp_path):
    r_wnids = _lines("published/label-maps/imagenet_r_wnids.txt")
    imagenet_r_tree(tmp_path, r_wnids[:3], per_class=2)
    with pytest.raises(datasets.DatasetError, match="30,000"):
        datasets.resolve("imagenet-r", tmp_path)
    files = datasets.resolve("imagenet-r", tmp_path, check_count=False)
    wnids = _lines(WNIDS)
    assert len(files) == 6
    assert [wnids[y] for y in files.labels] == [w for w in r_wnids[:3] for _ in range(2)]


def test_index_folders_of_imagenet_v2(tmp_path):
    imgs = sample_files(3)
    for cls, src in zip((0, 7, 999), imgs):
        d = tmp_path / "imagenetv2-matched-frequency-format-val" / str(cls)
        d.mkdir(parents=True)
        shutil.copyfile(src, d / "x.jpeg")
    files = datasets.resolve("imagenet-v2", tmp_path, check_count=False)
    assert files.labels.tolist() == [0, 7, 999]
    bad = tmp_path / "imagenetv2-matched-frequency-format-val" / "1000"
    bad.mkdir()
    shutil.copyfile(imgs[0], bad / "x.jpeg")
    with pytest.raises(datasets.DatasetError, match="not class folders"):
        datasets.resolve("imagenet-v2", tmp_path, check_count=False)


def _objectnet_truth() -> tuple[list[str], dict[str, list[int]]]:
    """Independent reading of the testbed json files: sorted mapped folders -> ImageNet indices."""
    meta = "published/imagenet-testbed/objectnet_metadata/"
    folder_to_label = json.loads(fetch.fetch(meta + "folder_to_objectnet_label.json").read_text())
    label_to_names = json.loads(fetch.fetch(meta + "objectnet_to_imagenet_1k.json").read_text())
    idx_to_name = json.loads(fetch.fetch(meta + "imagenet_to_labels.json").read_text())
    name_to_idx = {v: int(k) for k, v in idx_to_name.items()}
    folders = {f: [name_to_idx[n] for n in label_to_names[lab].split("; ")]
               for f, lab in folder_to_label.items() if lab in label_to_names}
    return sorted(folders), folders


def test_objectnet_keeps_mapped_folders_and_crops_border(tmp_path):
    order, mapping = _objectnet_truth()
    assert len(order) == 113 and sum(len(v) for v in mapping.values()) == 125
    unmapped = next(f for f in json.loads(fetch.fetch(
        "published/imagenet-testbed/objectnet_metadata/folder_to_objectnet_label.json").read_text())
        if f not in mapping)
    imgs = sample_files(3)
    for folder, src in zip([order[5], order[40], unmapped], imgs):
        (tmp_path / "objectnet-1.0/images" / folder).mkdir(parents=True)
        shutil.copyfile(src, tmp_path / "objectnet-1.0/images" / folder / "x.png")
    files = datasets.resolve("objectnet", tmp_path, check_count=False)
    assert files.labels.tolist() == [5, 40] and len(files) == 2
    assert files.spec.border_px == 2


def test_objectnet_logits_match_a_testbed_style_loop():
    order, mapping = _objectnet_truth()
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 1000))
    got = datasets.objectnet_logits(logits)
    want = np.array([[max(row[i] for i in mapping[f]) for f in order] for row in logits])
    np.testing.assert_array_equal(got, want)


def test_restrict_to_subset_matches_hand_made_mapping():
    wnids = _lines(WNIDS)
    r_wnids = _lines("published/label-maps/imagenet_r_wnids.txt")
    hand = {wnids.index(w): k for k, w in enumerate(sorted(r_wnids))}  # ImageFolder order = sorted wnids
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(50, 1000)).astype(np.float32)
    labels = rng.choice(sorted(hand), size=50)
    sub, new = datasets.restrict_to_subset(logits, labels, "imagenet-r")
    assert sub.shape == (50, 200)
    for i in range(50):
        for k_in_1k, k in hand.items():
            assert sub[i, k] == logits[i, k_in_1k]
        assert new[i] == hand[labels[i]]
    with pytest.raises(ValueError, match="not among"):
        datasets.restrict_to_subset(logits, np.zeros(50, dtype=int), "imagenet-r")  # tench is not an R class
    a_idx = datasets.subset_indices("imagenet-a")
    assert len(a_idx) == 200 and a_idx.min() == 6 and a_idx.max() == 988  # docs/tables.md (label maps)


def test_fingerprint_tracks_file_changes(tmp_path):
    r_wnids = _lines("published/label-maps/imagenet_r_wnids.txt")
    imagenet_r_tree(tmp_path, r_wnids[:2], per_class=1)
    a = datasets.resolve("imagenet-r", tmp_path, check_count=False).fingerprint
    assert datasets.resolve("imagenet-r", tmp_path, check_count=False).fingerprint == a
    one = next((tmp_path / "imagenet-r").rglob("*.jpg"))
    one.write_bytes(one.read_bytes() + b"\0")
    b = datasets.resolve("imagenet-r", tmp_path, check_count=False).fingerprint
    shutil.copyfile(one, one.with_name("extra.jpg"))
    c = datasets.resolve("imagenet-r", tmp_path, check_count=False).fingerprint
    assert len({a, b, c}) == 3
