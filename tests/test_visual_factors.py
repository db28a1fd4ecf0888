"""Section 02 (visual factors): published ImageNet-X tables, re-aggregation, factor ER and its draws, the
noise checks, the group view, caches, figures and the section interface (claims: test_visual_factors_claims)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import special
from statsmodels.stats.multitest import multipletests

from cliprobust import fetch, published, runs, verdicts
from cliprobust.metrics import factors as F
from cliprobust.metrics import stats
from cliprobust.sections import _base as B
from cliprobust.sections import visual_factors as V
from cliprobust.sections.visual_factors import caches as K
from cliprobust.sections.visual_factors import checks as CK
from cliprobust.sections.visual_factors import figures as FG
from cliprobust.sections.visual_factors import groups as G
from cliprobust.sections.visual_factors import lines as L
from cliprobust.sections.visual_factors import tables as T
from cliprobust.runs import Run

TESTBED_CSV = "imagenetx/results/val/top_factor/imagenet_testbed/class/accuracies_per_factor.csv"
TYPES_CSV = "published/imagenet-testbed/model_types.csv"
NB = 200  # bootstrap draws in tests (the notebooks use stats.N_BOOT)


@pytest.fixture(scope="module")
def design(mirror: Path) -> L.FactorDesign:
    return V.published_design(NB)


@pytest.fixture(scope="module")
def ann(design) -> pd.DataFrame:
    return design.annotations


@pytest.fixture(scope="module")
def table(design) -> pd.DataFrame:
    return design.table


@pytest.fixture(scope="module")
def er(table, ann) -> pd.DataFrame:
    return L.factor_er_frame(table, ann, n_boot=NB)


def test_published_table_matches_raw_csv(mirror: Path) -> None:
    raw = pd.read_csv(fetch.fetch(TESTBED_CSV)).set_index("model")
    tab = T.published_factor_table()
    assert len(tab) == 335  # docs/tables.md: imagenet_testbed group has 335 rows
    assert {T.CLIP_ROWS[k].model for k in ("vit-b-32", "rn50")} <= set(tab.index)
    ours = tab.rename(index=lambda m: m.split(":", 1)[1]).loc[raw.index]
    cols = [*F.FACTORS, F.WORST, F.AVERAGE]
    np.testing.assert_allclose(ours[cols].to_numpy(), raw[cols].to_numpy(), rtol=0, atol=0)


def test_factor_table_holds_every_clip_row_once(table) -> None:
    assert table.index.is_unique
    assert {r.model for r in T.CLIP_ROWS.values()} <= set(table.index)
    assert table.index.str.startswith(T.MVH_PREFIX).sum() == 54  # the modelvshuman group


def test_baseline_is_testbed_standard_without_ablations(table, mirror: Path) -> None:
    types = pd.read_csv(fetch.fetch(TYPES_CSV)).set_index("model")["type"]
    ids = T.baseline_ids(table)
    names = [i.split(":", 1)[1] for i in ids]
    assert len(ids) == len(set(ids)) == 85
    assert all(types[n] == "STANDARD" for n in names)
    assert not any(t in n for n in names for t in ("aws", "batch64", "subsample"))
    with pytest.raises(ValueError, match="lack ImageNet-X rows"):
        T.baseline_ids(table.drop(index=ids[0]))


@pytest.mark.parametrize("key", [k for k in T.BASELINES if k.startswith("testbed-")])
def test_other_testbed_baselines_are_that_type(table, key: str, mirror: Path) -> None:
    types = pd.read_csv(fetch.fetch(TYPES_CSV)).set_index("model")["type"]
    ids = T.baseline_ids(table, key)
    assert len(ids) >= 10 and all(types[i.split(":", 1)[1]] == T.BASELINES[key] for i in ids)
    assert not any(t in i for i in ids for t in published.TESTBED_EXCLUDE)


def test_modelvshuman_baseline_drops_broken_and_clip_distilled_rows(table) -> None:
    ids = T.baseline_ids(table, "imagenetx-modelvshuman")
    assert all(i.startswith(T.MVH_PREFIX) for i in ids)
    assert table.loc[ids, F.AVERAGE].min() >= T.MVH_BASELINE_MIN_ACC
    assert not {r.model for r in T.CLIP_ROWS.values()} & set(ids)
    assert not any("clip" in i.lower() for i in ids)
    assert len(ids) == 54 - 2 - 2 - 2  # 2 CLIP rows, 2 near-chance selecsls, 2 CLIP-label ResNets


def test_mvh_clip_row_equals_loop(ann) -> None:
    row = T.mvh_clip_factor_table(ann).iloc[0]
    dec = published.imagenet_val_decisions("clip").set_index("file_name")
    correct = dec.loc[ann.index, "response_index"].to_numpy() == ann["label"].to_numpy()
    for f in F.FACTORS:
        mask = ann[f].to_numpy()
        assert row[f] == pytest.approx(correct[mask].mean(), abs=1e-12), f
    assert row[F.AVERAGE] == pytest.approx(correct.mean(), abs=1e-12)
    # docs/tables.md: top-1 of these decisions on all 50,000 val images is 0.68344; the annotated
    # (non-prototype) subset of 46,110 images is a little harder
    assert dec["correct"].mean() == pytest.approx(0.68344, abs=1e-12)
    assert len(ann) == 46110 and 0.66 < row[F.AVERAGE] < 0.68344


def test_base_prediction_files_reaggregate_to_published_table(ann) -> None:
    cons = T.base_consistency(ann)
    assert len(cons) == 4
    assert cons["max_abs_diff"].max() < 1e-12


def test_factor_er_frame_structure(er, ann, table) -> None:
    clip = er[er["family"] == "clip-zeroshot"]
    assert set(clip["model"]) == {r.model for r in T.CLIP_ROWS.values()}
    assert (er["ci_low"] <= er["er"] + 1e-12).all() and (er["er"] <= er["ci_high"] + 1e-12).all()
    assert ((er["sign"] == "+") == (er["ci_low"] > 0)).all() and ((er["sign"] == "-") == (er["ci_high"] < 0)).all()
    counts = ann[list(F.PAPER_FACTORS)].sum()
    assert (er["n_images"] == er["factor"].map(counts)).all()
    base = er[er["model"].isin(T.baseline_ids(table))]
    assert base.groupby("factor")["er"].mean().abs().max() < 0.02


def test_factor_er_equals_independent_logit_fit(er, table) -> None:
    base = table.loc[T.baseline_ids(table)]
    model = "imagenetx:vit_b_32_clip_zeroshot"
    for f in ("pose", "texture"):
        slope, icpt = np.polyfit(special.logit(base[F.AVERAGE]), special.logit(base[f]), 1)
        pred = special.expit(slope * special.logit(table.loc[model, F.AVERAGE]) + icpt)
        row = er[(er["model"] == model) & (er["factor"] == f)].iloc[0]
        assert row["er"] == pytest.approx(table.loc[model, f] - pred, abs=1e-9)


# --------------------------------------------------------------------------- draws and per-factor tests


def test_c1_tests_without_image_noise_equal_the_er_table(design, er) -> None:
    """The line draws of FactorDesign (robustness.ols_rows on the same resamples) equal
    metrics.robustness.er_table's."""
    t = L.c1_factor_tests(design, "vit-b-32", image_noise=False).set_index("factor")
    ref = er[er["model"] == T.CLIP_ROWS["vit-b-32"].model].set_index("factor")
    np.testing.assert_allclose(t["er"], ref.loc[t.index, "er"], atol=1e-12)
    np.testing.assert_allclose(t["low"], ref.loc[t.index, "ci_low"], atol=1e-9)
    np.testing.assert_allclose(t["high"], ref.loc[t.index, "ci_high"], atol=1e-9)


def test_line_fit_equals_polyfit_and_guards_zero_variance(table) -> None:
    base = table.loc[T.baseline_ids(table)]
    fit = L.fit_lines(base, 50, 0)
    x = special.logit(base[F.AVERAGE])
    for j, f in enumerate(T.PAPER_FACTORS):
        slope, icpt = np.polyfit(x, special.logit(base[f]), 1)
        assert fit.slope[j] == pytest.approx(slope) and fit.intercept[j] == pytest.approx(icpt)
    assert fit.slopes.shape == (50, 10) and fit.n == len(base)
    flat = base.iloc[:3].copy()
    flat[F.AVERAGE] = 0.5  # no spread in overall accuracy (logit 0): the slope is undefined, not a division by zero
    assert np.isnan(L.fit_lines(flat, 5, 0).slope).all()


def test_image_noise_widens_every_interval_most_where_images_are_few(design) -> None:
    off = L.c1_factor_tests(design, "vit-b-32", image_noise=False).set_index("factor")
    on = L.c1_factor_tests(design, "vit-b-32").set_index("factor")
    w_on, w_off = on["high"] - on["low"], off["high"] - off["low"]
    assert (w_on > w_off).all()
    np.testing.assert_allclose(on["er"], off["er"])
    # the widening follows the binomial SE: larger (150 images) widens far more than pose (15,064)
    assert (w_on - w_off)["larger"] > 5 * (w_on - w_off)["pose"]


def test_holm_matches_statsmodels_and_signs_follow_adjusted_p(design) -> None:
    t = L.c1_factor_tests(design, "rn50")
    np.testing.assert_allclose(t["p_adj"], multipletests(t["p"], method="holm")[1])
    sig = t["p_adj"] < L.ALPHA
    assert ((t["sign"] == "+") == (sig & (t["er"] > 0))).all()
    assert ((t["sign"] == "-") == (sig & (t["er"] < 0))).all()
    none = L.c1_factor_tests(design, "rn50", correction="none")
    assert (none["sign"] != "0").sum() >= (t["sign"] != "0").sum()


def test_paired_means_is_the_image_bootstrap() -> None:
    """The multinomial-over-patterns shortcut has the distribution of resampling the images: its
    means and SDs agree with an explicit index bootstrap of the same data."""
    rng = np.random.default_rng(1)
    n = 60
    groups = np.zeros((n, 2))
    groups[np.arange(n), rng.integers(0, 2, n)] = 1
    values = (rng.random((2, n)) < [[0.7], [0.4]]).astype(float)
    fast = L.paired_means(values, groups, 4000, 3)
    idx = rng.integers(0, n, (4000, n))
    slow = np.stack([(values[:, idx] * groups[idx, g]).sum(-1) / groups[idx, g].sum(-1) for g in range(2)], -1)
    slow = slow.transpose(1, 0, 2)  # (B, models, groups)
    np.testing.assert_allclose(fast.mean(0), slow.mean(0), atol=0.01)
    np.testing.assert_allclose(fast.std(0), slow.std(0), rtol=0.08)


def test_paired_image_bootstrap_of_vit_b_16_matches_binomial_scale(design, ann) -> None:
    """ViT-B/16 has per-image decisions: its paired image bootstrap and the binomial draws used for the
    published rows must agree in scale (SDs within 25 %)."""
    row = design.table.loc[T.MVH_CLIP]
    fac, _ = L.accuracy_draws(row, design.counts, len(ann), None, None, 2000, 0)
    pfac, _ = L.accuracy_draws(row, design.counts, len(ann), T.mvh_clip_correct(ann), ann, 2000, 0)
    ratio = pfac.std(axis=0) / fac.std(axis=0)
    assert ((ratio > 0.75) & (ratio < 1.25)).all(), ratio
    np.testing.assert_allclose(pfac.mean(axis=0), row[list(T.PAPER_FACTORS)].to_numpy(float), atol=0.01)


def test_aligned_draws_keep_each_rows_distribution_and_rank_correlate(design) -> None:
    a32, _ = design.aligned_accuracy_draws("vit-b-32")
    a50, _ = design.aligned_accuracy_draws("rn50")
    raw, _ = design.accuracy_draws("vit-b-32")
    np.testing.assert_allclose(np.sort(a32, axis=0), np.sort(raw, axis=0))
    for j in range(10):
        r = np.corrcoef(np.argsort(np.argsort(a32[:, j])), np.argsort(np.argsort(a50[:, j])))[0, 1]
        assert r > 0.99


def test_image_noise_check_binomial_is_not_smaller_than_paired(ann) -> None:
    chk = CK.image_noise_check(ann, n_boot=150)
    assert list(chk["factor"]) == list(T.PAPER_FACTORS)
    # measured: the paired difference to ImageNet models is ~0.85-1.0x the binomial SD of CLIP alone
    assert chk["ratio"].between(0.7, 1.15).all(), chk


def test_evaluation_agreement_of_the_same_weights(design, table) -> None:
    agree = CK.evaluation_agreement(design)
    vit = agree[agree["weights"] == "CLIP ViT-B/32"].set_index("factor")
    np.testing.assert_allclose(vit["acc_diff"], table.loc[T.CLIP_ROWS["vit-b-32-mvh"].model, list(T.PAPER_FACTORS)]
                               - table.loc[T.CLIP_ROWS["vit-b-32"].model, list(T.PAPER_FACTORS)])
    # data fact (issue 11): the 150-image 'larger' factor changes ER sign between the two evaluations
    assert vit.loc["larger", "sign_flip"] and vit.loc["larger", "er_testbed"] > 0 > vit.loc["larger", "er_mvh"]
    summ = CK.agreement_summary(agree).set_index("weights")
    assert "larger" in summ.loc["CLIP ViT-B/32", "er_sign_flips"]
    assert summ["max_abs_acc_diff"].max() == pytest.approx(agree["acc_diff"].abs().max())
    # C1's margin is this measured floor (mean |diff| of the ViT-B/32 evaluations), rounded
    from cliprobust.sections.visual_factors.c1 import C1_MARGIN
    assert summ.loc["CLIP ViT-B/32", "mean_abs_acc_diff"] == pytest.approx(C1_MARGIN, abs=0.0005)


def test_factor_tests_grid(design) -> None:
    grid = L.factor_tests_grid(design, list(T.CLIP_ROWS), list(T.BASELINES))
    assert len(grid) == len(T.BASELINES) * len(T.CLIP_ROWS) * 10
    assert grid.groupby(["baseline", "label"]).size().eq(10).all()


def test_group_er_table_and_scatter(er, table) -> None:
    g = G.group_er_table(er)
    more = g[g["group"] == "MORE_DATA"].set_index("factor")
    assert (more["n_models"] >= 10).all()
    assert ((more["low"] <= more["mean_er"]) & (more["mean_er"] <= more["high"])).all()
    std = g[g["group"] == "STANDARD"]
    assert std["mean_er"].abs().max() < 0.02  # the line passes through its own models
    sc = G.scatter_frame(table)
    assert set(sc["factor"]) == set(T.PAPER_FACTORS)
    assert not sc["model"].str.startswith(T.MVH_PREFIX).any() or set(
        sc.loc[sc["model"].str.startswith(T.MVH_PREFIX), "group"]) == {"clip-zeroshot"}
    lines = G.baseline_lines(table)
    assert (lines["n"] == 85).all() and (lines["r"] > 0.8).all()


# --------------------------------------------------------------------------- the cache path and the interface


def _fake_outputs(ann: pd.DataFrame, model: str, wrong_every: int) -> SimpleNamespace:
    """Outputs-like object over the annotated images: correct except every ``wrong_every``-th image."""
    labels = ann["label"].to_numpy()
    pred = labels.copy()
    pred[::wrong_every] = (pred[::wrong_every] + 1) % 1000
    scores = np.zeros((len(ann), 1000), dtype=np.float16)
    scores[np.arange(len(ann)), pred] = 1
    ids = [f"n{lab:08d}/{name}" for lab, name in zip(labels, ann.index)]  # class-folder prefix, as on disk
    return SimpleNamespace(model=model, scores=scores, file_ids=ids, labels=labels)


def test_cache_path_with_synthetic_outputs(ann, monkeypatch) -> None:
    fakes = {"open_clip:ViT-B-32/openai": _fake_outputs(ann, "open_clip:ViT-B-32/openai", 3),
             "open_clip:ViT-B-32/laion2b_s34b_b79k": _fake_outputs(ann, "open_clip:ViT-B-32/laion2b_s34b_b79k", 4)}
    monkeypatch.setattr(K.outputs, "load", lambda m, d: fakes[m])
    inv = pd.DataFrame({"model": [*fakes, "open_clip:RN50/openai"], "dataset": "imagenet",
                        "status": ["complete", "derivable", "missing"]})
    assert B.status_counts(inv) == {"complete": 1, "derivable": 1, "missing": 1}
    tab = K.cached_factor_table(inv, ann)
    assert list(tab.index) == list(fakes)
    wrong = np.zeros(len(ann), dtype=bool)
    wrong[::3] = True
    for f in F.PAPER_FACTORS:
        assert tab.loc["open_clip:ViT-B-32/openai", f] == pytest.approx(1 - wrong[ann[f].to_numpy()].mean())
    er = K.cached_factor_er(tab, ann, n_boot=50)
    assert set(er["model"]) == set(fakes) and len(er) == 20
    assert set(er["family"]) == {"clip-zeroshot"}
    claim = V.claim_c2(Run("full", V.Options(n_boot=50)), cached_er=er)
    assert claim.tier != verdicts.NOT_TESTABLE and len(claim.variants) == 4


def test_cache_inventory_plans(tmp_path: Path, monkeypatch) -> None:
    from cliprobust import paths, zoo
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "outputs"))
    inv = V.cache_inventory(Run("smoke"))
    assert list(inv["model"]) == [e.id for e in zoo.select("smoke")] and set(inv["dataset"]) == {"imagenet"}
    assert B.status_counts(inv) == {"missing": len(inv)}
    full = V.cache_inventory(Run("full"))
    assert set(full["model"]) == {e.id for e in zoo.select("clip-zeroshot")}


def test_outputs_predictions_rejects_non_imagenet_scores() -> None:
    bad = SimpleNamespace(model="x", scores=np.zeros((3, 16)), file_ids=["a", "b", "c"])
    with pytest.raises(ValueError, match="1000"):
        K.outputs_predictions(bad)


def test_error_ratio_frame_and_summary(table) -> None:
    ratio = G.error_ratio_frame(table)
    model = "imagenetx:resnet50_clip_zeroshot"
    r = ratio[(ratio["model"] == model) & (ratio["factor"] == "texture")].iloc[0]
    assert r["error_ratio"] == pytest.approx((1 - table.loc[model, "texture"]) / (1 - table.loc[model, F.AVERAGE]))
    assert set(ratio.loc[ratio["model"] == T.MVH_CLIP, "family"]) == {"clip-zeroshot"}
    summ = G.group_summary(ratio, T.baseline_ids(table))
    assert list(summ["factor"]) == list(F.PAPER_FACTORS)
    assert (summ["baseline_accuracy_q25"] <= summ["baseline_accuracy_q50"]).all()


# --------------------------------------------------------------------------- figures


def test_figures_pass_the_layout_rules_and_share_model_styles(design, table, er) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cliprobust import layout, plots
    tests = pd.concat([L.c1_factor_tests(design, k) for k in ("vit-b-32", "rn50", "vit-b-16")])
    figs = {"02_factor_accuracy": FG.plot_factor_accuracy(G.error_ratio_frame(table), T.baseline_ids(table)),
            "02_factor_er": FG.plot_factor_er(tests, er),
            "02_factor_scatter": FG.plot_factor_scatter(G.scatter_frame(table), G.baseline_lines(table))}
    looks = {}
    for name, fig in figs.items():
        plots.stamp(fig, "test", run=Run("published"))
        assert plots.check_layout(fig) == [], name
        for ax in fig.axes:
            for h, lbl in zip(*ax.get_legend_handles_labels()):
                if lbl.startswith("CLIP"):
                    looks.setdefault(lbl, set()).add(layout._series_look(h)[:2][0])
        plt.close(fig)
    # the same CLIP row has the same colour in every figure, and the three rows are told apart
    assert set(looks) == {"CLIP ViT-B/32 (OpenAI)", "CLIP RN50 (OpenAI)", "CLIP ViT-B/16 (OpenAI)"}
    assert all(len(v) == 1 for v in looks.values()), looks
    markers = {m: FG._style(m)["marker"] for m in FG.CLIP_ZOO_IDS}
    assert len(set(markers.values())) == 3


def test_covered_annotations_keep_the_images_every_model_predicts() -> None:
    ann = pd.DataFrame({"pose": [True, False, True, False], "label": [0, 1, 2, 3]}, index=["a", "b", "c", "d"])
    preds = {"m1": pd.Series([0, 1, 2], index=["a", "b", "c"]), "m2": pd.Series([0, 2, 3], index=["a", "c", "d"])}
    with pytest.warns(UserWarning, match="2 of 4 annotated images"):
        kept = K.covered_annotations(preds, ann)
    assert list(kept.index) == ["a", "c"]
    full = {"m": pd.Series(range(4), index=list("abcd"))}
    assert K.covered_annotations(full, ann).equals(ann)  # full coverage: unchanged, no warning


# --------------------------------------------------------------------------- the Section interface


def test_options_defaults_choices_and_the_notebook_parameters() -> None:
    opts = V.Options()
    assert (opts.clip_model, opts.baseline, opts.image_noise, opts.correction, opts.n_boot) == (
        T.ALL_CLIPS, T.DEFAULT_BASELINE, True, "holm", stats.N_BOOT)
    with pytest.raises(ValueError, match="clip_model"):
        V.Options(clip_model="vit-l-14")
    with pytest.raises(ValueError, match="baseline"):
        V.Options(baseline="everything")
    with pytest.raises(runs.UnknownOptionError, match="clip_model"):
        Run.from_params("published", V.Options, clip_modle="rn50")
    run = Run.from_params("published", V.Options, clip_model="rn50")
    assert run.options_for(V.Options).clip_model == "rn50" and V.cache_plan(run) is V.PAPER_PLAN
    assert V.cache_plan(Run("smoke", opts)) is V.SMOKE_PLAN
