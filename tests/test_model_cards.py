"""Section 09 (model cards): the join rule on names from every source, the n rule of the
correlations, and facts of the published join (the same weights score the same in every source)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cliprobust.metrics import stats
from cliprobust.runs import Run, UnknownOptionError
from cliprobust.sections import model_cards as MC
from cliprobust.sections.model_cards import cards as C
from cliprobust.sections.model_cards import correlations as R
from cliprobust.sections.model_cards import join as J

OPENAI, TV = J.OPENAI_CLIP, J.TORCHVISION_IN1K


@pytest.mark.parametrize("raw, arch", [
    ("RN50", "RN50"), ("RN50x64", "RN50x64"), ("ViT-B-32", "ViT-B/32"), ("ViT-B~16", "ViT-B/16"),
    ("CLIP_ViT-L~14@336px", "ViT-L/14@336"), ("ViT-L-14-336", "ViT-L/14@336"), ("clip-ViT-B16", "ViT-B/16"),
    ("convnext_base", None), ("ViT-B-32-quickgelu-extra", None),
])
def test_clip_arch_reads_every_spelling(raw, arch):
    assert J.clip_arch(raw) == arch


@pytest.mark.parametrize("rows, arch, pretraining", [
    ([("open_clip", "ViT-L-14-336/openai"), ("cood", "CLIP_ViT-L~14@336px"), ("ninco", "clip-ViT-L14-336")],
     "ViT-L/14@336", OPENAI),
    ([("open_clip", "ViT-B-16/openai"), ("model-vs-human", "clip"), ("imagenetx", "mvh:clip"),
      ("cood", "CLIP_ViT-B~16"), ("ninco", "clip-ViT-B16")], "ViT-B/16", OPENAI),
    ([("open_clip", "RN50/openai"), ("imagenetx", "resnet50_clip_zeroshot"), ("testbed", "resnet50_clip_zeroshot"),
      ("cood", "CLIP_RN50")], "RN50", OPENAI),
    ([("testbed", "resnet50"), ("imagenetx", "resnet50"), ("cood", "resnet50_torchvision"),
      ("model-vs-human", "resnet50-sup")], "resnet50", TV),
    ([("timm", "vit_base_patch16_clip_384.openai_ft_in12k_in1k"), ("ninco", "vit_base_patch16_384_openai_in21k_in1k")],
     "ViT-B/16@384", "WIT-400M CLIP, fine-tuned IN-12k -> IN-1k (timm)"),
])
def test_join_rule_gives_one_key_across_sources(rows, arch, pretraining):
    keys = {J.canonical_key(src, name)[:2] for src, name in rows}
    assert keys == {(arch, pretraining)}


@pytest.mark.parametrize("source, name", [
    ("cood", "resnet50"),  # bare timm name: weights changed across timm versions
    ("ninco", "resnet50"),
    ("open_clip", "ViT-B-32/laion2b_s34b_b79k"),  # not OpenAI weights
    ("imagenetx", "imagenetx-mvh:clip"),  # ImageNet-X's model-vs-human group: weights not named
    ("model-vs-human", "resnet50-dino"),
    ("cood", "CLIP_finetuned_RN50"),
])
def test_join_rule_refuses_ambiguous_names(source, name):
    assert J.canonical_key(source, name) is None


def test_testbed_more_data_models_are_their_own_group(mirror):
    assert J.canonical_key("testbed", "not_a_testbed_model") is None
    assert J.canonical_key("testbed", "instagram-resnext101_32x8d")[1:] == (J.TESTBED_MORE_DATA, J.GROUP_MORE_DATA)
    assert J.canonical_key("imagenetx", "efficientnet-b0")[1:] == (J.TESTBED_WEIGHTS, J.GROUP_IMAGENET)


def test_join_rule_keeps_openai_and_finetuned_apart():
    zs = J.canonical_key("open_clip", "ViT-B-16/openai")
    ft1 = J.canonical_key("timm", "vit_base_patch16_clip_384.openai_ft_in1k")
    ft12 = J.canonical_key("timm", "vit_base_patch16_clip_384.openai_ft_in12k_in1k")
    assert len({zs, ft1, ft12}) == 3 and zs[2] == J.GROUP_CLIP and ft1[2] == J.GROUP_CLIP_FT
    with pytest.raises(ValueError, match="unknown source"):
        J.canonical_key("imagenet-c", "resnet50")


def _part(source: str, names: list[str], prop: str, values: list[float]) -> pd.DataFrame:
    return J.keyed(pd.DataFrame({"name": names, "property": prop, "value": values, "interval": "x"}), source)


def test_card_long_drops_models_seen_by_one_source():
    parts = [_part("open_clip", ["RN50/openai", "RN101/openai"], "er:mean-shift", [0.24, 0.28]),
             _part("cood", ["CLIP_RN50"], "ood_auroc:cood", [0.71])]
    long = C.card_long(parts)
    assert set(long["key"]) == {"RN50 | " + OPENAI}
    wide = C.cards(long)
    assert wide.loc[0, "sources"] == "open_clip, cood" and wide.loc[0, "ood_auroc:cood"] == 0.71


def _wide(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"group": J.GROUP_CLIP, "a": x, "b": x + rng.normal(scale=0.5, size=n)})


def test_correlations_withheld_below_min_n():
    out = R.property_correlations(_wide(4), properties=("a", "b"), groups=(J.GROUP_CLIP,))
    row = out.iloc[0]
    assert row["n"] == 4 and np.isnan(row["rho"]) and "no correlation reported" in row["note"]


def test_correlations_match_scipy_and_bracket_the_point():
    w = _wide(30)
    row = R.property_correlations(w, properties=("a", "b"), groups=(R.GROUP_ALL,)).iloc[0]
    assert row["n"] == 30
    assert row["rho"] == pytest.approx(sps.spearmanr(w["a"], w["b"]).statistic)
    assert row["low"] <= row["rho"] <= row["high"] and row["note"] == "interval excludes 0"


def test_partial_spearman_matches_the_closed_form_and_removes_a_shared_driver():
    rng = np.random.default_rng(1)
    z = rng.normal(size=200)
    x, y = z + 0.3 * rng.normal(size=200), z + 0.3 * rng.normal(size=200)
    r = {k: sps.spearmanr(*v).statistic for k, v in {"xy": (x, y), "xz": (x, z), "yz": (y, z)}.items()}
    closed = (r["xy"] - r["xz"] * r["yz"]) / np.sqrt((1 - r["xz"] ** 2) * (1 - r["yz"] ** 2))
    assert stats.partial_spearman(x, y, z) == pytest.approx(closed, abs=1e-9)
    assert r["xy"] > 0.8 and abs(stats.partial_spearman(x, y, z)) < 0.2  # z drives both: nothing left
    x, y = z + rng.normal(size=200), z + rng.normal(size=200)  # control not collinear: a partial is reported
    closed = stats.partial_spearman(x, y, z)
    w = pd.DataFrame({"group": J.GROUP_CLIP, "a": x, "b": y, R.CONTROL: z})
    row = R.property_correlations(w, properties=("a", "b"), groups=(J.GROUP_CLIP,)).iloc[0]
    assert row["partial_rho"] == pytest.approx(closed, abs=1e-9) and row["partial_low"] <= row["partial_rho"]
    collinear = w.assign(a=z + 0.01 * rng.normal(size=200))
    row = R.property_correlations(collinear, properties=("a", "b"), groups=(J.GROUP_CLIP,)).iloc[0]
    assert np.isnan(row["partial_rho"]) and "no partial" in row["note"]


# --------------------------------------------------------------------------- published data


@pytest.fixture(scope="module")
def long(mirror) -> pd.DataFrame:
    return MC.card_long_for()


def test_every_card_joins_two_sources(long):
    assert (long.groupby("key")["source"].nunique() >= J.MIN_SOURCES).all()
    assert not long.duplicated(["key", "property", "source"]).any()


def test_joined_weights_score_the_same_imagenet_top1_everywhere(long):
    agree = C.top1_agreement(long)
    assert len(agree) >= 30  # 9 OpenAI CLIPs and 29 torchvision models have top-1 from two tables
    worst = agree.sort_values("max_diff").iloc[-1]
    assert worst["max_diff"] <= J.JOIN_TOP1_TOLERANCE, f"{worst['key']}: top-1 differs by {worst['max_diff']:.4f}"


def test_two_published_evaluations_of_the_same_clip_weights_agree_on_er(long):
    # the testbed evaluated OpenAI RN50 and ViT-B/32 itself; open_clip's rows are the same weights
    er = C.top1_agreement(long, "er:mean-shift").set_index("key")
    both = er.loc[["RN50 | " + OPENAI, "ViT-B/32 | " + OPENAI]]
    assert (both["n_sources"] == 2).all() and both["intervals_overlap"].all(), both


def test_published_cards_facts(long):
    wide = C.cards(long)
    counts = wide.groupby("group").size().to_dict()
    # facts of the published tables: 9 OpenAI CLIPs, 4 timm CLIP fine-tunes in NINCO, the testbed's 85 STANDARD
    # and 41 MORE_DATA models with ImageNet-X rows
    assert counts == {J.GROUP_CLIP: 9, J.GROUP_CLIP_FT: 4, J.GROUP_IMAGENET: 85, J.GROUP_MORE_DATA: 41}
    vit16 = wide.set_index("key").loc["ViT-B/16 | " + OPENAI]
    assert vit16["sources"] == "open_clip, imagenetx, model-vs-human, cood, ninco"
    ivs = C.card_intervals(long)
    has = ivs.dropna(subset=["low", "high"])
    assert ((has["low"] <= has["value"] + 1e-12) & (has["value"] <= has["high"] + 1e-12)).all()


def test_published_correlations_say_where_n_is_too_small(long):
    corr = R.property_correlations(C.cards(long))
    small = corr[corr["n"] < R.MIN_N_CORRELATION]
    assert small["rho"].isna().all() and small["note"].str.contains("no correlation").all()
    clip = corr[(corr["group"] == J.GROUP_CLIP) & (corr["x"] == "er:mean-shift") & (corr["y"] == "ood_auroc:cood")]
    assert clip["n"].item() == 9 and np.isfinite(clip["rho"].item())
    shape = corr[corr["x"].eq("shape_bias") | corr["y"].eq("shape_bias")]
    assert shape["rho"].isna().all()  # model-vs-human evaluates 2 of the joined models: never correlated


def test_section_interface_of_a_section_without_caches_or_claims():
    run = Run.from_params("published", MC.Options, baseline="timm-in1k")
    assert run.options_for(MC.Options).baseline == "timm-in1k" and MC.Options().baseline == "testbed-standard"
    assert MC.PAPER_PLAN is None and MC.SMOKE_PLAN is None and MC.cache_plan(run) is None
    inv = MC.cache_inventory(run)
    assert inv.empty and list(inv.columns) == ["model", "dataset", "prompt_set", "status"]
    assert MC.claims(run) == ()
    with pytest.raises(ValueError, match="baseline"):
        MC.Options(baseline="testbed-standrad")
    with pytest.raises(UnknownOptionError, match="baseline"):
        Run.from_params("published", MC.Options, baselin="testbed-standard")
