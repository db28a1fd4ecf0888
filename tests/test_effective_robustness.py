"""Section 01 (effective robustness): the Section interface, tables and ER cross-checked against
independent fits (numpy/scipy on logits and probits), the bootstrap draws against ``metrics.stats``,
the C12 pairing rule, the newly testable checks, and every figure against the layout rules of
``plots.check_layout``. The claims: ``tests/test_effective_robustness_claims.py``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import special  # noqa: E402

from cliprobust import plots, published, runs, zoo  # noqa: E402
from cliprobust.metrics import stats  # noqa: E402
from cliprobust.sections import effective_robustness as E  # noqa: E402
from cliprobust.sections.effective_robustness import draws as D  # noqa: E402
from cliprobust.sections.effective_robustness import extras as X  # noqa: E402
from cliprobust.sections.effective_robustness import figures as F  # noqa: E402
from cliprobust.sections.effective_robustness import options as O  # noqa: E402
from cliprobust.sections.effective_robustness import pairing as P  # noqa: E402
from cliprobust.sections.effective_robustness import sources as S  # noqa: E402
from cliprobust.sections.effective_robustness import tables as T  # noqa: E402

pytestmark = pytest.mark.usefixtures("mirror")

CLIP_GROUPS = ("clip-zeroshot", "clip-ft")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return T.er_frame()


# --------------------------------------------------------------------------- tables


def test_model_table_sources_match_the_loaders_and_the_zoo() -> None:
    mt = T.model_table()
    n = mt.groupby(["group", "source"]).size()
    oc = published.open_clip_results()
    assert n[("imagenet", "testbed")] == len(published.testbed_baseline_models()) == 85
    assert n[("clip-zeroshot", "testbed")] == len(published.TESTBED_CLIP_ZEROSHOT) == 2
    assert n[("imagenet-more-data", "testbed")] == 41  # MORE_DATA without the testbed's 2 CLIP rows
    assert n[("clip-zeroshot", "open_clip")] == oc["model"].nunique() - len(T.activation_twins(oc)) == 113
    assert n[("clip-zeroshot", "scaling")] == 32  # 29 LAION + 3 OpenAI
    assert n[("clip-ft", "timm")] == len(zoo.collection("clip-ft")) == 32
    assert n[("imagenet", "timm")] > 100
    assert not mt["model"].duplicated().any()
    acc = mt[T.ACC_COLUMNS].to_numpy(float)
    assert np.nanmin(acc) >= 0 and np.nanmax(acc) <= 1
    assert mt.loc[mt["source"] == "timm", "objectnet"].isna().all()  # timm has no ObjectNet table
    assert mt.loc[mt["source"] == "open_clip", T.SUBSET_COLUMNS].isna().all().all()  # nor open_clip subsets


def test_zoo_clip_set_is_the_zoos_rule_on_the_table(frame: pd.DataFrame) -> None:
    members = set(T.clip_members(frame, O.MODEL_SET_ZOO))
    # independent: the registry's 51 zero-shot entries, each found under its preferred published id
    want = {next(i for i in zoo.published_ids(e) if i in set(frame["model"])) for e in zoo.collection("clip-zeroshot")}
    assert members == want and len(members) == 51
    top1 = T.model_table().set_index("model")["imagenet"]
    assert (top1[list(members)] >= O.NEAR_CHANCE).all()
    every = set(T.clip_members(frame, O.MODEL_SET_ALL_RAW))
    near = {m for m in every if top1[m] < O.NEAR_CHANCE}
    assert len(every) == 113 and len(near) == 16
    assert set(T.clip_members(frame, O.MODEL_SET_ALL)) == every - near


def test_dedup_variant_swaps_the_five_twin_rows() -> None:
    a, b = T.model_table(O.DEDUP_TWINS), T.model_table(O.DEDUP_PLAIN)
    oc_a, oc_b = set(a.loc[a["source"] == "open_clip", "model"]), set(b.loc[b["source"] == "open_clip", "model"])
    assert len(oc_a) == len(oc_b) == 113 and len(oc_a - oc_b) == 5
    assert all("-quickgelu/" in m for m in oc_a - oc_b) and not any("-quickgelu/" in m for m in oc_b - oc_a)


def test_image_text_families() -> None:
    got = {a: T.image_text_family(a) for a in ("ViT-B-16-SigLIP", "coca_ViT-L-14", "EVA02-L-14", "ViT-H-14-CLIPA",
                                               "nllb-clip-base", "xlm-roberta-base-ViT-B-32", "ViT-B-32", "RN50")}
    assert got == {"ViT-B-16-SigLIP": "SigLIP", "coca_ViT-L-14": "CoCa", "EVA02-L-14": "EVA",
                   "ViT-H-14-CLIPA": "CLIPA", "nllb-clip-base": "other text tower",
                   "xlm-roberta-base-ViT-B-32": "other text tower", "ViT-B-32": "CLIP", "RN50": "CLIP"}


def test_options_from_params_and_unknown_choices() -> None:
    run = runs.Run.from_params("published", O.Options, baseline=O.BASELINE_TIMM, objectnet="drop")
    p = run.options_for(O.Options)
    assert p == O.Options(baseline=O.BASELINE_TIMM, objectnet="drop")
    assert p.shifts == O.FT_SHIFTS and "objectnet" not in O.Options(objectnet="drop").shifts
    assert O.Options(x_axis=O.X_SUBSET).shift_id["imagenet-r"] == "imagenet-r-classes"
    assert O.Options(model_set=O.MODEL_SET_ALL).frame_options() == O.Options()
    with pytest.raises(ValueError, match="is not one of"):
        O.Options(baseline="imagenet-21k")
    with pytest.raises(runs.UnknownOptionError, match="baseline"):
        runs.Run.from_params("published", O.Options, baselin="timm-in1k")


def test_section_interface_reads_no_caches() -> None:
    run = runs.Run("published", O.Options())
    assert E.PAPER_PLAN is None and E.SMOKE_PLAN is None and E.cache_plan(run) is None
    inv = E.cache_inventory(run)
    assert len(inv) == 0 and list(inv.columns) == ["model", "dataset", "prompt_set", "status"]


def test_default_frame_covers_timm_imagenet_models_for_other_sections(frame: pd.DataFrame) -> None:
    pm = T.per_model_table(frame).set_index("model")
    timm_in1k = pm[(pm["source"] == "timm") & (pm["group"] == "imagenet")]
    assert len(timm_in1k) > 100 and timm_in1k["er_mean-shift-4"].notna().mean() > 0.99
    variant = T.er_frame(O.Options(baseline=O.BASELINE_MORE_DATA))
    assert not ((variant["source"] == "timm") & (variant["group"] == "imagenet")).any()


def test_er_frame_columns_and_no_nan_for_clip(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == T.ER_FRAME_COLUMNS
    assert set(frame["shift"]) == set(O.ER_SHIFTS)
    clip = frame[frame["group"].isin(CLIP_GROUPS)]
    assert clip[["er", "ci_low", "ci_high", "id_acc", "ood_acc"]].notna().all().all()
    assert (frame["ci_low"] <= frame["ci_high"]).all()
    per = clip.groupby(["source", "model"]).size()
    assert (per["open_clip"] == len(O.ER_SHIFTS)).all()
    assert (per["timm"] == len(O.FT_SHIFTS) + 1).all()


def test_class_subset_x_axis_uses_the_subset_columns() -> None:
    f = T.er_frame(O.Options(x_axis=O.X_SUBSET))
    mt = T.model_table().set_index("model")
    r = f[f["shift"] == "imagenet-r"].set_index("model")
    np.testing.assert_allclose(r["id_acc"], mt.loc[r.index, "imagenet-r-classes"])
    assert not r.index.str.startswith("open_clip:").any()  # open_clip has no class-subset accuracy


# --------------------------------------------------------------------------- the baseline


@pytest.mark.parametrize("shift", O.ER_SHIFTS)
def test_line_is_least_squares_over_exactly_the_baseline_models(frame: pd.DataFrame, shift: str) -> None:
    rows = frame[(frame["shift"] == shift) & frame["in_baseline"]]
    rows = rows[(rows["ood_acc"] > 0) & (rows["ood_acc"] < 1)]
    resid = special.logit(rows["ood_acc"]) - special.logit(rows["predicted"])
    assert abs(resid.mean()) < 1e-9  # OLS normal equations in logit space
    assert abs(np.dot(resid, special.logit(rows["id_acc"]))) < 1e-7
    assert abs(rows["er"].mean()) < 0.02


@pytest.mark.parametrize("model", ["open_clip:ViT-B-32/openai", "timm:vit_base_patch16_clip_224.openai_ft_in1k"])
def test_er_equals_an_independent_polyfit(frame: pd.DataFrame, model: str) -> None:
    mt = T.model_table().set_index("model")
    base = mt.loc[published.testbed_baseline_models()]
    for shift in O.SHIFTS:
        if pd.isna(mt.loc[model, shift]):
            continue
        b = base[[shift, "imagenet"]].dropna()
        b = b[(b[shift] > 0) & (b[shift] < 1)]
        slope, icpt = np.polyfit(special.logit(b["imagenet"]), special.logit(b[shift]), 1)
        want = mt.loc[model, shift] - special.expit(slope * special.logit(mt.loc[model, "imagenet"]) + icpt)
        got = frame.loc[(frame["model"] == model) & (frame["shift"] == shift), "er"].item()
        assert got == pytest.approx(want, abs=1e-10)


def test_probit_axes_equal_an_independent_probit_polyfit() -> None:
    f = T.er_frame(O.Options(axes=O.AXES_PROBIT))
    mt = T.model_table().set_index("model")
    b = mt.loc[published.testbed_baseline_models(), ["imagenet", "imagenet-r"]].dropna()
    slope, icpt = np.polyfit(special.ndtri(b["imagenet"]), special.ndtri(b["imagenet-r"]), 1)
    m = "open_clip:ViT-B-32/openai"
    want = mt.loc[m, "imagenet-r"] - special.ndtr(slope * special.ndtri(mt.loc[m, "imagenet"]) + icpt)
    got = f.loc[(f["model"] == m) & (f["shift"] == "imagenet-r"), "er"].item()
    assert got == pytest.approx(want, abs=1e-10)


def test_clip_range_baseline_is_the_standard_models_inside_the_clip_range() -> None:
    low, high = T.clip_accuracy_range()
    top1 = T.model_table().set_index("model")["imagenet"]
    zoo_top1 = top1[T.clip_members(T.er_frame())]
    assert (low, high) == (zoo_top1.min(), zoo_top1.max())
    inside = T.baseline_models(O.BASELINE_CLIP_RANGE)
    std = published.testbed_baseline_models()
    assert set(inside) == {m for m in std if low <= top1[m] <= high} and len(inside) < len(std)


def test_headline_uses_the_mean_over_five_shifts(frame: pd.DataFrame) -> None:
    mt = T.model_table().set_index("model")
    rows = frame[frame["shift"] == O.MEAN_SHIFT].set_index("model")
    np.testing.assert_allclose(rows["ood_acc"], mt.loc[rows.index, list(O.SHIFTS)].mean(axis=1), rtol=1e-12)


def test_baseline_sets() -> None:
    std, more = T.baseline_models(O.BASELINE_TESTBED), T.baseline_models(O.BASELINE_MORE_DATA)
    assert set(std) < set(more) and len(more) == len(std) + 41
    assert not any("clip" in m for m in more)
    timm = T.baseline_models(O.BASELINE_TIMM)
    assert all(m.startswith("timm:") and T.timm_in1k_rule(m.removeprefix("timm:")) for m in timm)


def test_second_baseline_agrees_with_the_testbed_line() -> None:
    cmp = D.baseline_comparison().set_index(["group", "source", "shift"]).sort_index()
    testbed = cmp.loc[("imagenet", "testbed")]
    assert (testbed[f"er_{O.BASELINE_TIMM}"].abs() < 0.02).all()
    clip = cmp.loc[("clip-zeroshot", "open_clip")]
    assert ((clip[f"er_{O.BASELINE_TIMM}"] - clip[f"er_{O.BASELINE_TESTBED}"]).abs() < 0.03).all()


# --------------------------------------------------------------------------- draws and intervals


def test_draws_without_image_noise_reproduce_the_per_model_cis(frame: pd.DataFrame) -> None:
    for shift in ("imagenet-r", O.MEAN_SHIFT):
        draws = D.er_draws(O.Options(), shift, image_noise=False)
        rows = frame[frame["shift"] == shift].set_index("model")
        low, high = np.percentile(draws.to_numpy(), [2.5, 97.5], axis=0)
        np.testing.assert_allclose(low, rows.loc[draws.columns, "ci_low"], atol=1e-12)
        np.testing.assert_allclose(high, rows.loc[draws.columns, "ci_high"], atol=1e-12)


def test_image_noise_draws_scatter_around_the_point_er(frame: pd.DataFrame) -> None:
    draws = D.er_draws(O.Options(), "imagenet-a", image_noise=True)
    rows = frame[frame["shift"] == "imagenet-a"].set_index("model")
    clip = [m for m in T.clip_members(frame) if m in draws.columns]
    bias = (draws[clip].mean() - rows.loc[clip, "er"]).abs()
    sd_noise, sd_line = draws[clip].std(), D.er_draws(O.Options(), "imagenet-a", image_noise=False)[clip].std()
    assert bias.max() < 0.01 and (sd_noise >= 0.95 * sd_line).all()  # noise adds spread, never removes it


def test_group_interval_equals_stats_bootstrap_for_constant_draws() -> None:
    rng = np.random.default_rng(1)
    values = pd.Series(rng.normal(0.3, 0.05, 23), index=[f"m{i}" for i in range(23)])
    draws = pd.DataFrame(np.tile(values.to_numpy(), (stats.N_BOOT, 1)), columns=values.index)
    got = D.group_interval(draws, values.index, values)
    want = stats.bootstrap(np.mean, values.to_numpy())
    assert got.as_tuple() == pytest.approx(want.as_tuple(), abs=1e-12)


def test_cluster_draws_interval_equals_stats_cluster_mean_interval() -> None:
    rng = np.random.default_rng(2)
    clusters = np.repeat(np.arange(9), [1, 2, 3, 4, 2, 3, 5, 1, 2])
    values = rng.normal(-0.2, 0.04, clusters.size)
    got = D.cluster_draws_interval(values, np.tile(values, (stats.N_BOOT, 1)), clusters)
    want = stats.cluster_mean_interval(values, clusters)
    assert got.as_tuple() == pytest.approx(want.as_tuple(), abs=1e-12)


def test_group_summary_structure_and_direction() -> None:
    summary = D.group_summary()
    assert (summary["ci_low"] <= summary["er_mean"] + 1e-12).all()
    assert (summary["er_mean"] <= summary["ci_high"] + 1e-12).all()
    base = summary[(summary["group"] == "imagenet") & (summary["source"] == "testbed")]
    assert (base["er_mean"].abs() < 0.02).all()
    clip = summary[(summary["group"] == "clip-zeroshot") & (summary["source"] == "open_clip")]
    assert (clip["er_mean"] > 0).all()


# --------------------------------------------------------------------------- C12 pairing


@pytest.mark.parametrize("name, want", [
    ("vit_base_patch16_clip_224.openai_ft_in1k", "open_clip:ViT-B-16/openai"),
    ("timm:vit_base_patch16_clip_384.laion2b_ft_in12k_in1k", "open_clip:ViT-B-16/laion2b_s34b_b88k"),
    ("vit_large_patch14_clip_336.openai_ft_in12k_in1k", "open_clip:ViT-L-14/openai"),
    ("convnext_xxlarge.clip_laion2b_soup_ft_in1k", "open_clip:convnext_xxlarge/laion2b_s34b_b82k_augreg_soup"),
    ("eva_giant_patch14_224.clip_ft_in1k", None),
    ("resnet50.a1_in1k", None),
])
def test_pairing_known_names(name: str, want: str | None) -> None:
    assert P.zeroshot_counterpart(name) == want


def test_every_zoo_clip_ft_pairs_to_its_own_data_and_architecture() -> None:
    oc = T.model_table().set_index("model")
    for entry in zoo.collection("clip-ft"):
        zs = P.zeroshot_counterpart(entry.id)
        assert zs in oc.index and oc.loc[zs, "source"] == "open_clip", entry.id
        assert published.pretrain_data_from_tag(zs.split("/", 1)[1]) == entry.pretrain_data, entry.id
        assert oc.loc[entry.id, "imagenet"] > oc.loc[zs, "imagenet"], entry.id


# --------------------------------------------------------------------------- newly testable


def test_matched_accuracy_pairs_are_matched() -> None:
    m = X.matched_accuracy()
    assert len(m) > 20 and ((m["imagenet_clip"] - m["imagenet_base"]).abs() <= X.MATCH_TOLERANCE).all()
    assert m["clip_model"].isin(T.clip_members(T.er_frame())).all()
    s = X.matched_gap_summary(m).set_index("shift")
    assert (s["ci_low"] <= s["gap_mean"]).all() and (s["gap_mean"] <= s["ci_high"]).all()


def test_evaluation_agreement_of_the_same_weights() -> None:
    ea = X.evaluation_agreement()
    assert len(ea) == len(X.SAME_WEIGHTS) * (1 + len(O.SHIFTS))
    imagenet = ea[ea["test_set"] == "imagenet"]
    assert (imagenet["diff_pp"].abs() < 0.1).all()  # both pipelines agree on ImageNet to < 0.1 pp
    assert np.allclose(ea["diff_pp"], 100 * (ea["acc_a"] - ea["acc_b"]))


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("draw", [F.plot_er_scatter, F.plot_er_by_data_source, F.plot_er_scaling,
                                  F.plot_finetune_pairs])
def test_figures_pass_the_layout_rules(frame: pd.DataFrame, draw) -> None:
    fig = draw(frame)
    plots.stamp(fig, "published tables", published_only=True, run=runs.Run("published"))
    assert plots.check_layout(fig) == []
    plt.close(fig)


def test_baseline_band_brackets_the_line(frame: pd.DataFrame) -> None:
    band = F.baseline_band(frame, "imagenet-r", np.array([0.6, 0.7, 0.8]))
    assert (band["low"] <= band["predicted"]).all() and (band["predicted"] <= band["high"]).all()


def test_source_lines_are_each_sizes_own_polyfit(frame: pd.DataFrame) -> None:
    lines = S.source_lines(frame).set_index("pretrain_data")
    rows = frame[(frame["shift"] == O.MEAN_SHIFT) & (frame["source"] == "scaling")]
    for data in ("LAION-80M", "LAION-400M", "LAION-2B"):
        g = rows[rows["pretrain_data"] == data]
        slope, icpt = np.polyfit(special.logit(g["id_acc"]), special.logit(g["ood_acc"]), 1)
        assert (lines.loc[data, "slope"], lines.loc[data, "intercept"]) == pytest.approx((slope, icpt), abs=1e-9)
        assert lines.loc[data, "n"] == len(g)
