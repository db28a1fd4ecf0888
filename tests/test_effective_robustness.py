"""Section 01 (effective robustness): real-data structure and direction checks, cross-checked against
independent fits (numpy/scipy on logits), the zoo's registry-derived facts and a second baseline."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import special, stats  # noqa: E402

from cliprobust import published, zoo  # noqa: E402
from cliprobust.sections import effective_robustness as E  # noqa: E402

pytestmark = pytest.mark.usefixtures("mirror")

CLIP_GROUPS = ("clip-zeroshot", "clip-ft")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return E.er_frame()


@pytest.fixture(scope="module")
def summary(frame: pd.DataFrame) -> pd.DataFrame:
    return E.group_summary(frame)


# --------------------------------------------------------------------------- tables


def test_model_table_sources_match_the_loaders_and_the_zoo() -> None:
    mt = E.model_table()
    n = mt.groupby(["group", "source"]).size()
    oc = published.open_clip_results()
    assert n[("imagenet", "testbed")] == len(published.testbed_baseline_models()) == 85
    assert n[("clip-zeroshot", "open_clip")] == oc["model"].nunique() - len(E.activation_twins(oc)) == 113
    assert n[("clip-zeroshot", "scaling")] == 32  # README-tables: 29 LAION + 3 OpenAI
    assert n[("clip-ft", "timm")] == len(zoo.collection("clip-ft")) == 32
    assert n[("imagenet", "timm")] > 100
    assert not mt["model"].duplicated().any()
    acc = mt[E.ACC_COLUMNS].to_numpy(float)
    assert np.nanmin(acc) >= 0 and np.nanmax(acc) <= 1
    assert mt.loc[mt["source"] == "timm", "objectnet"].isna().all()  # timm has no ObjectNet table


def test_activation_twins_are_quickgelu_weights_in_the_zoo() -> None:
    oc = published.open_clip_results()
    twins = E.activation_twins(oc)
    assert len(twins) == 5 and not any("openai" in t for t in twins)
    ids = set(oc["model"])
    for t in twins:
        arch, tag = t.removeprefix("open_clip:").split("/")
        assert f"open_clip:{arch}-quickgelu/{tag}" in ids
        if t in zoo.REGISTRY:  # independent: the zoo reads the activation from open_clip's registry
            assert zoo.get(t).quick_gelu


def test_er_frame_columns_and_no_nan_for_clip(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == E.ER_FRAME_COLUMNS
    assert set(frame["shift"]) == set(E.ER_SHIFTS)
    clip = frame[frame["group"].isin(CLIP_GROUPS)]
    assert clip[["er", "ci_low", "ci_high", "id_acc", "ood_acc"]].notna().all().all()
    assert (frame["ci_low"] <= frame["ci_high"]).all()
    assert (frame["id_acc"] == frame.merge(E.model_table(), on="model")["imagenet"].to_numpy()).all()
    # every open_clip model has all 7 rows; CLIP-FT has no ObjectNet nor 5-shift mean
    per = clip.groupby(["source", "model"]).size()
    assert (per["open_clip"] == len(E.ER_SHIFTS)).all()
    assert (per["timm"] == len(E.FT_SHIFTS) + 1).all()


# --------------------------------------------------------------------------- the baseline


@pytest.mark.parametrize("shift", E.ER_SHIFTS)
def test_line_is_least_squares_over_exactly_the_baseline_models(frame: pd.DataFrame, shift: str) -> None:
    rows = frame[(frame["shift"] == shift) & frame["in_baseline"]]
    rows = rows[(rows["ood_acc"] > 0) & (rows["ood_acc"] < 1)]
    resid = special.logit(rows["ood_acc"]) - special.logit(rows["predicted"])
    # normal equations of OLS in logit space: residuals sum to 0 and are orthogonal to logit(id)
    assert abs(resid.mean()) < 1e-9
    assert abs(np.dot(resid, special.logit(rows["id_acc"]))) < 1e-7
    assert abs(rows["er"].mean()) < 0.02  # ≈ 0 in accuracy units too (A: 0.013, curvature)


@pytest.mark.parametrize("model", ["open_clip:ViT-B-32/openai", "timm:vit_base_patch16_clip_224.openai_ft_in1k"])
def test_er_equals_an_independent_polyfit(frame: pd.DataFrame, model: str) -> None:
    mt = E.model_table().set_index("model")
    base = mt.loc[published.testbed_baseline_models()]
    for shift in E.SHIFTS:
        if pd.isna(mt.loc[model, shift]):
            continue
        b = base[[shift, "imagenet"]].dropna()
        b = b[(b[shift] > 0) & (b[shift] < 1)]  # robustness.DROP_DEGENERATE (ResNet-50 on ImageNet-A: 0)
        slope, icpt = np.polyfit(special.logit(b["imagenet"]), special.logit(b[shift]), 1)
        want = mt.loc[model, shift] - special.expit(slope * special.logit(mt.loc[model, "imagenet"]) + icpt)
        got = frame.loc[(frame["model"] == model) & (frame["shift"] == shift), "er"].item()
        assert got == pytest.approx(want, abs=1e-10)


def test_headline_uses_the_mean_over_five_shifts(frame: pd.DataFrame) -> None:
    mt = E.model_table().set_index("model")
    rows = frame[frame["shift"] == E.MEAN_SHIFT].set_index("model")
    np.testing.assert_allclose(rows["ood_acc"], mt.loc[rows.index, list(E.SHIFTS)].mean(axis=1), rtol=1e-12)
    rows4 = frame[frame["shift"] == E.MEAN_SHIFT_4].set_index("model")
    np.testing.assert_allclose(rows4["ood_acc"], mt.loc[rows4.index, list(E.FT_SHIFTS)].mean(axis=1), rtol=1e-12)


def test_er_draws_reproduce_the_per_model_cis(frame: pd.DataFrame) -> None:
    draws = E.er_draws(frame, "imagenet-r")
    rows = frame[frame["shift"] == "imagenet-r"].set_index("model")
    low, high = np.nanpercentile(draws.to_numpy(), [2.5, 97.5], axis=0)
    np.testing.assert_allclose(low, rows.loc[draws.columns, "ci_low"], atol=1e-12)
    np.testing.assert_allclose(high, rows.loc[draws.columns, "ci_high"], atol=1e-12)


def test_second_baseline_agrees_with_the_testbed_line() -> None:
    """timm ImageNet-1k models (another eval pipeline, ~10x more models) give nearly the same line:
    testbed models' mean ER under it stays near 0, and CLIP's ER barely moves."""
    cmp = E.baseline_comparison().set_index(["group", "source", "shift"])
    cmp = cmp.sort_index()
    testbed = cmp.loc[("imagenet", "testbed")]
    assert (testbed[f"er_{E.BASELINE_TIMM}"].abs() < 0.02).all()
    clip = cmp.loc[("clip-zeroshot", "open_clip")]
    assert ((clip[f"er_{E.BASELINE_TIMM}"] - clip[f"er_{E.BASELINE_TESTBED}"]).abs() < 0.03).all()


def test_same_weights_in_two_tables_get_the_same_er(frame: pd.DataFrame) -> None:
    """The scaling-laws table re-evaluates 3 OpenAI models: an independent run of the same weights."""
    rows = frame[frame["shift"] == E.MEAN_SHIFT].set_index("model")["er"]
    for arch in ("ViT-B-32", "ViT-B-16", "ViT-L-14"):
        assert rows[f"scaling:{arch}/openai"] == pytest.approx(rows[f"open_clip:{arch}/openai"], abs=0.02)


# --------------------------------------------------------------------------- groups


def test_group_summary_structure_and_direction(frame: pd.DataFrame, summary: pd.DataFrame) -> None:
    assert {"group", "source", "shift", "n", "er_mean", "ci_low", "ci_high", "er_median", "er_std"} <= set(summary)
    assert (summary["ci_low"] <= summary["er_mean"] + 1e-12).all()
    assert (summary["er_mean"] <= summary["ci_high"] + 1e-12).all()
    n = frame.groupby(["group", "source", "shift"]).size()
    s = summary[summary["shift"] != E.MEAN_OF_SHIFT_ER].set_index(["group", "source", "shift"])
    assert (s["n"] == n[s.index]).all()
    base = summary[(summary["group"] == "imagenet") & (summary["source"] == "testbed")]
    assert (base["er_mean"].abs() < 0.02).all()
    clip = summary[(summary["group"] == "clip-zeroshot") & (summary["source"] == "open_clip")]
    assert (clip["er_mean"] > 0).all()


def test_mean_of_shift_er_matches_er_average(frame: pd.DataFrame) -> None:
    pm = E.per_model_table(frame).set_index("model")
    m = "open_clip:ViT-L-14/openai"
    per_shift = frame[(frame["model"] == m) & frame["shift"].isin(E.SHIFTS)]["er"]
    assert pm.loc[m, "er_mean_of_shifts"] == pytest.approx(per_shift.mean(), abs=1e-12)
    assert pm.loc[pm["group"] == "clip-ft", "er_mean_of_shifts"].isna().all()  # 4 shifts only
    assert pm.loc[pm["group"] == "clip-ft", "er_mean-shift-4"].notna().all()


# --------------------------------------------------------------------------- C12 pairing


@pytest.mark.parametrize("name, want", [
    ("vit_base_patch16_clip_224.openai_ft_in1k", "open_clip:ViT-B-16/openai"),
    ("timm:vit_base_patch16_clip_384.laion2b_ft_in12k_in1k", "open_clip:ViT-B-16/laion2b_s34b_b88k"),
    ("vit_base_patch32_clip_448.laion2b_ft_in12k_in1k", "open_clip:ViT-B-32/laion2b_s34b_b79k"),
    ("vit_large_patch14_clip_336.openai_ft_in12k_in1k", "open_clip:ViT-L-14/openai"),
    ("vit_huge_patch14_clip_224.laion2b_ft_in1k", "open_clip:ViT-H-14/laion2b_s32b_b79k"),
    ("convnext_base.clip_laiona_augreg_ft_in1k_384", "open_clip:convnext_base_w_320/laion_aesthetic_s13b_b82k_augreg"),
    ("convnext_xxlarge.clip_laion2b_soup_ft_in1k", "open_clip:convnext_xxlarge/laion2b_s34b_b82k_augreg_soup"),
    ("eva_giant_patch14_224.clip_ft_in1k", None),  # MIM tower, no zero-shot counterpart
    ("vit_so400m_patch14_siglip_378.webli_ft_in1k", None),
    ("resnet50.a1_in1k", None),
])
def test_pairing_known_names(name: str, want: str | None) -> None:
    assert E.zeroshot_counterpart(name) == want


def test_every_zoo_clip_ft_pairs_to_its_own_data_and_architecture() -> None:
    oc = E.model_table().set_index("model")
    patch = {"patch32": "-32", "patch16": "-16", "patch14": "-14"}
    for entry in zoo.collection("clip-ft"):
        zs = E.zeroshot_counterpart(entry.id)
        assert zs in oc.index and oc.loc[zs, "source"] == "open_clip", entry.id
        tag = zs.split("/", 1)[1]
        # zoo reads the data from the timm tag; the pair's open_clip tag must name the same data
        assert published.pretrain_data_from_tag(tag) == entry.pretrain_data, entry.id
        size = next((v for k, v in patch.items() if k in entry.arch), None)
        if size:
            assert size in oc.loc[zs, "arch"], entry.id
        # fine-tuning on ImageNet always raises ImageNet accuracy over the zero-shot weights
        assert oc.loc[entry.id, "imagenet"] > oc.loc[zs, "imagenet"], entry.id


def test_finetune_pairs_table(frame: pd.DataFrame) -> None:
    p = E.finetune_pairs(frame)
    assert set(p["shift"]) == set(E.FT_SHIFTS) | {E.MEAN_SHIFT_4}
    assert p.groupby("shift").size().eq(32).all()
    np.testing.assert_allclose(p["delta"], p["er_ft"] - p["er_zs"])
    assert p[["er_zs", "er_ft", "id_zs", "id_ft"]].notna().all().all()


# --------------------------------------------------------------------------- data-source study


def test_source_spread_against_scipy_anova(frame: pd.DataFrame) -> None:
    sp = E.source_spread(frame)
    study = E.data_study_set(frame)
    oc = study[study["source"] == "open_clip"]
    oc = oc[oc.groupby("pretrain_data")["er"].transform("size") >= E.MIN_MODELS_PER_SOURCE]
    groups = [g["er"].to_numpy() for _, g in oc.groupby("pretrain_data")]
    f = stats.f_oneway(*groups).statistic
    k, n = len(groups), len(oc)
    assert sp["eta2_open_clip"] == pytest.approx(f * (k - 1) / (f * (k - 1) + n - k), rel=1e-9)
    sl = study[study["source"] == "scaling"]
    ss = sum(((g["er"] - g["er"].mean()) ** 2).sum() for _, g in sl.groupby("pretrain_data"))
    assert sp["within_sd_scaling"] == pytest.approx(np.sqrt(ss / (len(sl) - 3)), rel=1e-12)
    assert sp["n_sources_scaling"] == 3 and set(sl["pretrain_data"]) == {"LAION-80M", "LAION-400M", "LAION-2B"}


def test_data_study_set_rules(frame: pd.DataFrame) -> None:
    study = E.data_study_set(frame)
    oc = study[study["source"] == "open_clip"]
    assert oc["arch"].map(lambda a: bool(zoo.CLIP_ARCH.match(a))).all()
    assert not (oc["samples_seen"] < zoo.MIN_SAMPLES_SEEN).any()
    assert not {"WebLI", "Merged-2B"} & set(oc["pretrain_data"])  # SigLIP and EVA architectures
    assert (study.loc[study["source"] == "scaling", "pretrain_data"] != "WIT-400M").all()


def test_source_lines_against_linregress(frame: pd.DataFrame) -> None:
    lines = E.source_lines(frame).set_index("pretrain_data")
    sl = E.data_study_set(frame)
    g = sl[(sl["source"] == "scaling") & (sl["pretrain_data"] == "LAION-2B")]
    ref = stats.linregress(special.logit(g["id_acc"]), special.logit(g["ood_acc"]))
    assert lines.loc["LAION-2B", "slope"] == pytest.approx(ref.slope, rel=1e-10)
    assert lines.loc["LAION-2B", "r"] == pytest.approx(ref.rvalue, rel=1e-10)
    assert "baseline" in lines.index and lines.loc["baseline", "n"] == 80


# --------------------------------------------------------------------------- claims and figures


def test_claims_return_valid_verdicts(frame: pd.DataFrame, summary: pd.DataFrame) -> None:
    claims = [E.claim_c10(summary), E.claim_c11(frame), E.claim_c12(frame)]
    for c, name in zip(claims, ("C10", "C11", "C12")):
        assert c["claim"] == name and c["verdict"] in E.VERDICTS
        assert isinstance(c["evidence"], str) and len(c["evidence"]) > 20
    c10, c11, c12 = claims
    head = summary[(summary["source"] == "open_clip") & (summary["shift"] == "imagenet-r")]["er_mean"].item()
    assert c10["er_mean"]["imagenet-r"] == pytest.approx(head, abs=1e-4)
    assert c11["ratio"] == pytest.approx(c11["within_sd_scaling"] / c11["between_sd"], abs=1e-3)
    assert c12["n_pairs"] == 32 and c12["delta_ci"][0] <= c12["delta_mean"] <= c12["delta_ci"][1]
    assert c12["er_ft_mean"] - c12["er_zs_mean"] == pytest.approx(c12["delta_mean"], abs=1e-3)


def test_claim_c12_not_testable_without_pairs(frame: pd.DataFrame) -> None:
    assert E.claim_c12(frame[frame["group"] != "clip-ft"])["verdict"] == "not testable here"


def test_figures_draw(frame: pd.DataFrame) -> None:
    figs = [E.plot_er_scatter(frame), E.plot_er_by_data_source(frame), E.plot_er_scaling(frame)]
    assert [len(f.axes) for f in figs] == [6, 1, 2]
    band = E.baseline_band(frame, "imagenet-r", np.array([0.6, 0.7, 0.8]))
    assert (band["low"] <= band["predicted"]).all() and (band["predicted"] <= band["high"]).all()
    for f in figs:
        plt.close(f)
