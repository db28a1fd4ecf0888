"""Closed loop of the rehearsal: synthetic caches written by ``cliprobust simulate`` and read back by
the engine's reader must recover the published numbers they were drawn from.

Expected values come from the published tables read here directly (not through the simulator) and
from the metric modules, each within its sampling error at the fraction simulated.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprobust import datasets, paths, published, simulate
from cliprobust.simulate import files, model_plan, targets
from cliprobust.metrics import calibration, ood, robustness, shape_bias

CLIP = "open_clip:ViT-B-32/openai"  # published in open_clip's table and in model-vs-human ("clip")
FT = "timm:convnext_base.clip_laion2b_augreg_ft_in1k"  # CLIP-FT, published in timm's tables
SUP = "timm:beit_base_patch16_224.in22k_ft_in22k_in1k"  # ImageNet model, published in timm's tables
MODELS = (CLIP, FT, SUP)
SETS = ("imagenet", "imagenet-r", "inaturalist", "cue-conflict")
FRACTION = 0.05  # 2,500 ImageNet, 1,500 ImageNet-R, 500 iNaturalist images; cue-conflict in full
Z = 3.5  # tolerance in standard errors


@pytest.fixture(scope="module")
def grid(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """Simulate the small grid once into a fresh cache (passed as an argument: the environment is not
    touched by the simulator), then point the reader at it; yield its folder."""
    root = tmp_path_factory.mktemp("synthetic")
    before = dict(os.environ)
    folders = list(simulate.simulate(",".join(MODELS), list(SETS), FRACTION, root, seed=0, progress_bar=False))
    assert dict(os.environ) == before
    old = os.environ.get(paths.CACHE_ENV)
    os.environ[paths.CACHE_ENV] = str(root)
    try:
        yield root, folders
    finally:
        if old is None:
            os.environ.pop(paths.CACHE_ENV, None)
        else:
            os.environ[paths.CACHE_ENV] = old


def _load(model: str, dataset: str):
    from cliprobust import outputs

    return outputs.load(model, dataset)


def _published(model: str, test_set: str) -> float:
    if model.startswith("open_clip:"):
        t = published.open_clip_results()
    else:
        t = published.timm_results(default_resolution=True)
    row = t[(t["model"] == model) & (t["test_set"] == test_set)]
    assert len(row) == 1, (model, test_set)
    return float(row["top1"].iloc[0])


def _accuracy(model: str, dataset: str) -> tuple[float, int]:
    out = _load(model, dataset)
    logits, labels = np.asarray(out.logits), np.asarray(out.labels)
    subset = datasets.get(dataset).class_subset
    if subset:
        logits, labels = datasets.restrict_to_subset(logits, labels, subset)
    return robustness.accuracy(logits.argmax(axis=1), labels), len(labels)


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def test_every_entry_is_marked_synthetic(grid) -> None:
    root, folders = grid
    assert len(folders) == len(MODELS) * len(SETS)
    for folder in folders:
        key = json.loads((folder / "key.json").read_text())
        meta = json.loads((folder / "meta.json").read_text())
        assert key["synthetic"] is True and meta["key"]["synthetic"] is True
        assert meta["synthetic"] is True and "never a result" in meta["synthetic_note"]
        assert Path(folder).is_relative_to(root)
        scores = np.load(folder / "scores.npy")
        assert scores.dtype == np.float16 and np.isfinite(scores).all(), folder  # float16 overflow guard
    out = _load(CLIP, "imagenet")
    if hasattr(type(out), "synthetic"):  # Outputs.synthetic (engine reader)
        assert out.synthetic is True


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", ("imagenet", "imagenet-r"))
def test_accuracy_equals_published(grid, model: str, dataset: str) -> None:
    acc, n = _accuracy(model, dataset)
    want = _published(model, dataset)
    assert abs(acc - want) <= Z * _se(want, n) + 1 / n


def _testbed_fit(shift: str) -> robustness.BaselineFit:
    tb = published.testbed_results()
    wide = tb.pivot_table(index="model", columns="test_set", values="top1")
    mask = published.testbed_baseline(tb.drop_duplicates("model").set_index("model")["type"])
    both = wide.loc[mask.reindex(wide.index, fill_value=False).to_numpy(), ["imagenet", shift]].dropna()
    return robustness.fit_baseline(both["imagenet"].to_numpy(), both[shift].to_numpy())


@pytest.mark.parametrize("model", MODELS)
def test_effective_robustness_recovered(grid, model: str) -> None:
    """ER (ImageNet -> ImageNet-R, testbed line) from the caches = ER from the published accuracies,
    within the sampling error propagated through the line (delta method)."""
    fit = _testbed_fit("imagenet-r")
    id_acc, n_id = _accuracy(model, "imagenet")
    ood_acc, n_ood = _accuracy(model, "imagenet-r")
    id_pub, ood_pub = _published(model, "imagenet"), _published(model, "imagenet-r")
    er_cache = robustness.effective_robustness(id_acc, ood_acc, fit)
    er_pub = robustness.effective_robustness(id_pub, ood_pub, fit)
    h = 1e-4
    slope = (fit.predict(id_pub + h) - fit.predict(id_pub - h)) / (2 * h)
    se = np.hypot(_se(ood_pub, n_ood), slope * _se(id_pub, n_id))
    assert abs(er_cache - er_pub) <= Z * se + 2 / min(n_id, n_ood)


@pytest.mark.parametrize("model", MODELS)
def test_ece_lands_in_range(grid, model: str) -> None:
    out = _load(model, "imagenet")
    got = calibration.ece(out.probs(), np.asarray(out.labels))
    target = out.meta["simulation"]["ece_target_imagenet"]
    lo, hi = targets.ECE_RANGE
    assert lo <= target <= hi
    # finite-sample ECE (15 bins, 2,500 images) is biased up by ~0.01-0.02
    assert target - 0.02 <= got <= target + 0.035
    assert lo - 0.02 <= got <= hi + 0.035


def _published_shape_bias(subject: str) -> float:
    t = published.cue_conflict_trials()
    t = t[(t["subject"] == subject) & (t["shape"] != t["texture"])]
    return shape_bias.shape_bias(t["shape"], t["texture"], t["response"])


def test_shape_bias_close_to_published(grid) -> None:
    out = _load(CLIP, "cue-conflict")
    cats = published.mvh_16_categories()
    decisions = shape_bias.decisions_16(out.probs(), cats)
    cues = shape_bias.stimulus_cues([Path(f).name for f in out.file_ids])
    got = shape_bias.shape_bias(cues["shape"], cues["texture"], decisions)
    assert abs(got - _published_shape_bias("clip")) <= 0.01
    # a group default for a model without a published number: between CLIP's and ResNet-50's
    ft = _load(FT, "cue-conflict")
    got_ft = shape_bias.shape_bias(cues["shape"], cues["texture"], shape_bias.decisions_16(ft.probs(), cats))
    lo, hi = sorted((_published_shape_bias("clip"), _published_shape_bias("resnet50")))
    assert lo - 0.01 <= got_ft <= hi + 0.01


@pytest.mark.parametrize("model", MODELS)
def test_ood_auroc_in_published_range(grid, model: str) -> None:
    id_out, ood_out = _load(model, "imagenet"), _load(model, "inaturalist")
    got = ood.auroc(ood.msp(id_out.logits), ood.msp(ood_out.logits))
    lo, hi = targets.AUROC_RANGES["inaturalist"]
    se = 0.5 / np.sqrt(len(ood_out))  # crude bound on the AUROC standard error (Hanley & McNeil)
    assert lo - Z * se <= got <= hi + Z * se


def test_widths_are_the_models_own(grid) -> None:
    import open_clip

    assert _load(CLIP, "imagenet").features.shape[1] == open_clip.get_model_config("ViT-B-32")["embed_dim"]
    assert _load(SUP, "imagenet").features.shape[1] == 768  # BEiT-B: width 768


def test_deterministic_given_seed(grid, tmp_path: Path) -> None:
    root, folders = grid
    first = next(f for f in folders if f.parent.name == "imagenet-r" and "beit" in str(f))
    again = list(simulate.simulate(SUP, ["imagenet-r"], FRACTION, tmp_path / "again", seed=0, progress_bar=False))[0]
    assert again.is_relative_to(tmp_path / "again")
    assert again.name == first.name  # same key
    for name in ("scores.npy", "features.npy", "labels.npy"):
        assert np.array_equal(np.load(first / name), np.load(again / name))


def test_refuses_the_real_output_cache(tmp_cache: Path) -> None:
    args = argparse.Namespace(models=SUP, datasets="imagenet-r", fraction=0.01, seed=0, prompt_set=None,
                              cache_dir=str(paths.data_dir() / "outputs"), chunk_size=1024, no_progress=True)
    with pytest.raises(SystemExit, match="real output cache"):
        simulate.main(args)


def test_fast_auroc_matches_the_metric() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.beta(3, 1, 4000), rng.beta(2, 1.5, 3000)
    assert model_plan.auroc_sorted(np.sort(a), b) == pytest.approx(ood.auroc(a, b), abs=1e-6)


def test_imagenet_ids_are_real_imagenetx_files(grid) -> None:
    from cliprobust import labels as label_maps
    from cliprobust.sections.visual_factors import tables as visual_factors

    ann = visual_factors.annotations_by_file()
    wnids = label_maps.imagenet_wnids()
    for model in MODELS:
        out = _load(model, "imagenet")
        ids, y = list(out.file_ids), np.asarray(out.labels)
        assert len(ids) == round(FRACTION * 50_000) == len(set(ids))
        folders, names = zip(*(f.split("/") for f in ids))
        assert set(names) <= set(ann.index)  # real ImageNet val file names, all annotated by ImageNet-X
        assert np.array_equal(y, ann.loc[list(names), "label"].to_numpy())  # with their real labels
        assert list(folders) == [wnids[c] for c in y]  # the engine's <wnid>/<file> layout


def test_factor_table_from_synthetic_imagenet(grid) -> None:
    from cliprobust import outputs
    from cliprobust.metrics import factors as F
    from cliprobust.sections.visual_factors import caches, tables

    # the factor tables need a prediction for every annotated image: restrict to the simulated ones
    # (the same images for every model at one seed and fraction)
    names = [f.split("/")[-1] for f in _load(FT, "imagenet").file_ids]
    ann = tables.annotations_by_file().loc[names]
    inv = outputs.inventory(list(MODELS), ["imagenet"])
    table = caches.cached_factor_table(inv, ann)
    assert sorted(table.index) == sorted(MODELS)
    paper = table[list(F.PAPER_FACTORS)].to_numpy(dtype=float)
    assert np.isfinite(paper).all() and ((paper >= 0) & (paper <= 1)).all()
    # independent recomputation (plain pandas) of one model's factor accuracies
    out = _load(FT, "imagenet")
    correct = pd.Series(np.asarray(out.scores).argmax(axis=1) == ann.loc[names, "label"].to_numpy(), index=names)
    for factor in F.PAPER_FACTORS:
        tagged = ann.loc[names, factor].to_numpy(dtype=bool)
        assert table.loc[FT, factor] == pytest.approx(correct[tagged].mean())


def test_small_imagenet_draw_covers_every_factor() -> None:
    from cliprobust.metrics import factors as F

    for seed in range(3):
        rows = files.imagenetx_sample(100, seed)  # 0.2 % of val: a uniform draw usually misses `larger`
        assert len(rows) == 100 == rows.index.nunique()
        assert rows[list(F.FACTORS)].any(axis=0).all()
    assert len(files.imagenetx_sample(60_000, 0)) == 46_110  # capped at the annotated images


def test_ad_hoc_model_ids_get_published_or_default_targets(mirror):
    """A model outside the zoo (an ad-hoc timm/open_clip id) is simulated too: its own published row
    where one exists, the documented defaults otherwise."""
    from cliprobust.model_entries import resolve_entry

    entry = resolve_entry("timm:resnet50.a1_in1k")
    got = targets.accuracy_targets(entry)
    assert 0.5 < got["imagenet"]["acc"] < 0.9 and got["imagenet"]["source"]
