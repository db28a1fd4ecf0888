"""Section 09 (model cards): the join rule on names from every source, the n rule of the
correlations, and facts of the published join (the same weights score the same in every source)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cliprobust.metrics import factors as FAC
from cliprobust.metrics import stats
from cliprobust.runs import Run, UnknownOptionError
from cliprobust.sections import model_cards as MC
from cliprobust.sections.effective_robustness.options import Options as EROptions
from cliprobust.sections.effective_robustness.tables import er_frame
from cliprobust.sections.model_cards import cards as C
from cliprobust.sections.model_cards import factor_er as FE
from cliprobust.sections.model_cards import correlations as R
from cliprobust.sections.model_cards import join as J
from cliprobust.sections.visual_factors import published_design
from cliprobust.sections.visual_factors.lines import FactorDesign, c1_factor_tests
from cliprobust.sections.visual_factors.tables import CLIP_ROWS, DEFAULT_BASELINE, PAPER_FACTORS, baseline_ids

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
    w = pd.DataFrame({"group": J.GROUP_CLIP, "a": x, "b": y, C.top1_column(R.DEFAULT_TOP1): z})
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
    clip = corr[(corr["group"] == J.GROUP_CLIP) & (corr["x"] == "er:mean-shift-4") & (corr["y"] == "ood_auroc:cood")]
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


# --------------------------------------------------------------------------- one ObjectNet protocol per correlation


def test_correlated_er_leaves_objectnet_out_and_equals_the_er_section_without_it(long):
    assert not set(R.CORRELATED) & set(C.OBJECTNET_PROPERTIES)
    er4 = long[long["property"] == "er:mean-shift-4"]
    assert set(er4["source"]) == {"open_clip", "testbed", "timm"} and (er4["note"] == "").all()
    # independent recomputation: the ER section's frame with ObjectNet dropped, ER of the mean of the other 4
    drop = er_frame(EROptions(objectnet="drop"))
    drop = drop[(drop["shift"] == "mean-shift") & drop["source"].isin(["open_clip", "testbed"])]
    by_name = er4.set_index(["source", "name"])["value"]
    theirs = drop.set_index(["source", drop["model"].str.split(":", n=1).str[1]])["er"]
    common = by_name.index.intersection(theirs.index)
    assert len(common) >= 120
    np.testing.assert_allclose(by_name.loc[common].to_numpy(), theirs.loc[common].to_numpy(), atol=1e-12)


def test_objectnet_rows_name_their_protocol(long):
    on = long[long["property"].isin(C.OBJECTNET_PROPERTIES)]
    assert set(on["source"]) == {"open_clip", "testbed"}
    for src, protocol in C.OBJECTNET_PROTOCOLS.items():
        assert (on.loc[on["source"] == src, "note"] == "ObjectNet: " + protocol).all()


def test_no_reported_correlation_mixes_objectnet_protocols(long):
    wide = C.cards(long)
    corr = R.property_correlations(wide, properties=("er:mean-shift", "factor_er:mean", "ood_auroc:cood"))
    for r in corr.dropna(subset=["rho"]).itertuples():
        if {r.x, r.y} & set(C.OBJECTNET_PROPERTIES):
            sub = wide if r.group == R.GROUP_ALL else wide[wide["group"] == r.group]
            keys = sub.dropna(subset=[r.x, r.y])["key"]
            # the ER source of each compared model, read from the long rows (independent of the cards' column)
            src = long[long["key"].isin(keys) & (long["property"] == "er:objectnet")]
            src = src.sort_values("source", key=lambda s: s.map(J.SOURCES.index)).drop_duplicates("key")["source"]
            assert src.map(C.OBJECTNET_PROTOCOLS).nunique() == 1, (r.group, r.x, r.y)
    pooled = corr[(corr["group"] == R.GROUP_ALL) & (corr["x"] == "er:mean-shift") & (corr["y"] == "factor_er:mean")]
    assert pooled["rho"].isna().all() and pooled["note"].str.startswith("mixes ObjectNet protocols").all()
    clip = corr[(corr["group"] == J.GROUP_CLIP) & (corr["x"] == "er:mean-shift") & (corr["y"] == "ood_auroc:cood")]
    assert np.isfinite(clip["rho"].item())  # one protocol (open_clip's) within the zero-shot CLIPs
    assert R.property_correlations(wide)["note"].str.contains("ObjectNet").sum() == 0  # headline: nothing to mix


def test_objectnet_guard_on_a_synthetic_mix():
    w = _wide(20).rename(columns={"a": "er:objectnet"})
    w["objectnet_protocol"] = ["p1"] * 10 + ["p2"] * 10
    row = R.property_correlations(w, properties=("er:objectnet", "b"), groups=(R.GROUP_ALL,)).iloc[0]
    assert np.isnan(row["rho"]) and "mixes ObjectNet protocols (p1; p2)" in row["note"]
    one = R.property_correlations(w.assign(objectnet_protocol="p1"), properties=("er:objectnet", "b"),
                                  groups=(R.GROUP_ALL,)).iloc[0]
    assert one["rho"] == pytest.approx(sps.spearmanr(w["er:objectnet"], w["b"]).statistic)
    with pytest.raises(ValueError, match="objectnet_protocol"):
        R.property_correlations(w.drop(columns="objectnet_protocol"), properties=("er:objectnet", "b"))


# --------------------------------------------------------------------------- factor ER with image noise


def _design_on_testbed_lines(mirror_design, p: np.ndarray, n: int, n_boot: int = 4000):
    """A FactorDesign over the published testbed baseline names, whose baseline factor accuracies are all
    0.5 (flat lines: the prediction is 0.5 in every draw), one target row ``p``, n images per factor."""
    ids = baseline_ids(mirror_design.table, DEFAULT_BASELINE)
    table = pd.DataFrame(0.5, index=[*ids, "imagenetx:target"], columns=[*PAPER_FACTORS, FAC.AVERAGE])
    table[FAC.AVERAGE] = np.r_[np.linspace(0.5, 0.8, len(ids)), 0.7]
    table.loc["imagenetx:target", list(PAPER_FACTORS)] = p
    ann = pd.DataFrame(np.kron(np.eye(len(PAPER_FACTORS), dtype=int), np.ones((n, 1), dtype=int)),
                       columns=list(PAPER_FACTORS))
    return FactorDesign(table, ann, n_boot=n_boot, seed=3)


def test_factor_er_interval_matches_an_exact_recomputation(mirror):
    p, n = np.linspace(0.3, 0.8, len(PAPER_FACTORS)), 100
    design = _design_on_testbed_lines(published_design(), p, n)
    assert FE.factors_disjoint(design.annotations)
    got = FE.mean_factor_er(design, ["imagenetx:target"]).iloc[0]
    # exact: the mean factor ER is sum_j X_j / (10 n) - 0.5 with X_j ~ Binomial(n, p_j) independent
    pmf = np.array([1.0])
    for pj in p:
        pmf = np.convolve(pmf, sps.binom.pmf(np.arange(n + 1), n, pj))
    cdf = np.cumsum(pmf)
    exact = [np.searchsorted(cdf, q) / (len(p) * n) - 0.5 for q in (0.025, 0.975)]
    assert got["value"] == pytest.approx(p.mean() - 0.5, abs=1e-9)
    assert got["low"] == pytest.approx(exact[0], abs=0.003) and got["high"] == pytest.approx(exact[1], abs=0.003)
    flat = FE.mean_factor_er(design, ["imagenetx:target"], image_noise=False).iloc[0]
    assert flat["high"] - flat["low"] == pytest.approx(0, abs=1e-12)  # flat lines: only images vary


def test_factor_er_falls_back_to_the_mean_of_bounds_when_factors_share_images():
    rng = np.random.default_rng(0)
    common = rng.normal(size=(2000, 1))
    draws = common + 0.5 * rng.normal(size=(2000, len(PAPER_FACTORS)))
    joint, bounds = FE.mean_interval(draws, disjoint=True), FE.mean_interval(draws, disjoint=False)
    lo, hi = stats.percentile_interval(draws)
    assert bounds == pytest.approx((lo.mean(), hi.mean()))
    assert bounds[1] - bounds[0] > joint[1] - joint[0]
    shared = pd.DataFrame(np.ones((3, len(PAPER_FACTORS)), dtype=int), columns=list(PAPER_FACTORS))
    assert not FE.factors_disjoint(shared)


def test_published_factor_er_includes_image_noise(mirror):
    design = published_design()
    assert FE.factors_disjoint(design.annotations)  # ImageNet-X: one top factor per annotated image
    noisy = FE.mean_factor_er(design).set_index("model")
    lines_only = FE.mean_factor_er(design, image_noise=False).set_index("model")
    width, width0 = noisy["high"] - noisy["low"], lines_only["high"] - lines_only["low"]
    assert (width >= width0).all() and width.median() > 2 * width0.median()
    np.testing.assert_allclose(noisy["value"], lines_only["value"])
    # the CLIP rows use C1's own draws: per factor, the bounds of the visual-factors section's C1 table
    for key in ("vit-b-32", "vit-b-16"):
        er, draws = FE.row_factor_er(design, CLIP_ROWS[key].model)
        tests = c1_factor_tests(design, key)
        lo, hi = stats.percentile_interval(draws)
        np.testing.assert_allclose(lo, tests["low"])
        np.testing.assert_allclose(hi, tests["high"])
        assert er.mean() == pytest.approx(noisy.loc[CLIP_ROWS[key].model, "value"])


def test_card_factor_er_rows_carry_the_image_noise_interval(long):
    f = long[long["property"] == "factor_er:mean"]
    assert (f["interval"] == FE.FACTOR_INTERVAL[True]).all()
    acc = long[long["property"] == C.IMAGENETX_ACCURACY]
    assert set(acc["key"]) == set(f["key"]) and acc["value"].between(0, 1).all()


# --------------------------------------------------------------------------- one top-1 source per comparison


@pytest.mark.parametrize("x, y, source", [
    ("imagenet_top1", "confidence_gap", "cood"), ("ood_auroc:cood", "confidence_gap", "cood"),
    ("imagenet_top1", "er:mean-shift-4", "er"), ("imagenet_top1", "factor_er:mean", "imagenetx"),
    ("imagenet_top1", "shape_bias", R.DEFAULT_TOP1), ("er:mean-shift-4", "confidence_gap", None),
    ("er:mean-shift-4", "factor_er:mean", None),
])
def test_each_comparison_has_one_top1_source(x, y, source):
    assert R.comparison_top1(x, y) == source


def test_partial_holds_fixed_the_top1_of_the_properties_source():
    rng = np.random.default_rng(4)
    z_cood, z_er = rng.normal(size=80), rng.normal(size=80)
    w = pd.DataFrame({"group": J.GROUP_IMAGENET, "ood_auroc:cood": z_cood + rng.normal(size=80),
                      "confidence_gap": z_cood + rng.normal(size=80), "er:mean-shift-4": rng.normal(size=80),
                      "top1:cood": z_cood, "top1:er": z_er, R.CONTROL: z_er})
    corr = R.property_correlations(w, properties=("imagenet_top1", "er:mean-shift-4", "ood_auroc:cood",
                                                  "confidence_gap"), groups=(J.GROUP_IMAGENET,)).set_index(["x", "y"])
    row = corr.loc[("ood_auroc:cood", "confidence_gap"), :]
    expect = stats.partial_spearman(w["ood_auroc:cood"], w["confidence_gap"], w["top1:cood"])
    assert row["top1_source"] == "cood" and row["partial_rho"] == pytest.approx(expect, abs=1e-12)
    top = corr.loc[("imagenet_top1", "confidence_gap"), :]  # top-1 itself is COOD's when compared with a COOD property
    assert top["rho"] == pytest.approx(sps.spearmanr(w["top1:cood"], w["confidence_gap"]).statistic)
    mixed = corr.loc[("er:mean-shift-4", "confidence_gap"), :]
    assert np.isnan(mixed["partial_rho"]) and "no single top-1 source" in mixed["note"]


def test_published_correlations_take_top1_from_the_source_they_name(long):
    wide = C.cards(long)
    corr = R.property_correlations(wide)
    reported = corr.dropna(subset=["rho"])
    assert reported["top1_source"].isin([*C.TOP1_SOURCES, "none (two sources)"]).all()
    two = reported[reported["top1_source"] == "none (two sources)"]
    assert len(two) > 0 and two["partial_rho"].isna().all() and two["note"].str.contains("no single top-1").all()
    for r in reported[reported["x"] == R.CONTROL].itertuples():
        prop, sources = C.TOP1_SOURCES[r.top1_source]
        # independent recomputation from the long rows: that source's top-1 against y, by key
        top = long[(long["property"] == prop) & long["source"].isin(sources)]
        top = top.sort_values("source", key=lambda s: s.map(J.SOURCES.index)).drop_duplicates("key")
        sub = wide if r.group == R.GROUP_ALL else wide[wide["group"] == r.group]
        both = sub.set_index("key")[[r.y]].join(top.set_index("key")["value"], how="inner").dropna()
        assert len(both) == r.n and r.rho == pytest.approx(sps.spearmanr(both["value"], both[r.y]).statistic)
    gap = reported[(reported["x"] == R.CONTROL) & (reported["y"] == "confidence_gap")]
    assert (gap["top1_source"] == "cood").all() and len(gap) >= 2
