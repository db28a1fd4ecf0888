"""Section 05 (calibration): ImageNet-X / uncertainty-baselines assembly, cache path, C7/C8 rules."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from imagenet_x.aggregate import estimated_calibration_error  # noqa: E402

from statsmodels.stats.multitest import multipletests  # noqa: E402

from cliprobust import datasets, plots, published  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import calibration as C  # noqa: E402
from cliprobust.sections import calibration as S  # noqa: E402
from cliprobust.sections._base import FRAGILE, NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, Run  # noqa: E402

# --------------------------------------------------------------------------- ImageNet-X


@pytest.fixture(scope="module")
def ix(mirror) -> pd.DataFrame:
    return S.imagenetx_calibration()


def test_imagenetx_ece_matches_imagenet_x_package(ix):
    assert list(ix["model"]) == [f"imagenetx:{m}" for m in published.IMAGENETX_PREDICTION_MODELS]
    for name, row in zip(published.IMAGENETX_PREDICTION_MODELS, ix.itertuples()):
        df = published.imagenetx_predictions(name)
        ref = estimated_calibration_error(df["correct"].astype(float).to_numpy(),
                                          df["predicted_probability"].to_numpy(), n_bins=15)
        assert row.ece == pytest.approx(ref, abs=1e-12)
        assert row.n == 50_000 and row.accuracy == pytest.approx(df["correct"].mean())
    assert ix["ece"].between(0, 0.5, inclusive="neither").all()
    assert ix["ece_equal_mass"].between(0, 0.5, inclusive="neither").all()
    # top-label ECE is at least |mean confidence - accuracy| (triangle inequality over bins)
    assert (ix["ece"] >= ix["overconfidence"].abs() - 1e-12).all()


def test_imagenetx_reliability_tables(ix):
    rel = S.imagenetx_reliability(published.IMAGENETX_PREDICTION_MODELS[:2])
    for model, r in rel.groupby("model"):
        assert len(r) == C.ECE_BINS and r["count"].sum() == 50_000
        full = r["count"] > 0  # ECE recomputed from the table
        ece = np.sum(r.loc[full, "count"] / 50_000 * (r.loc[full, "accuracy"] - r.loc[full, "confidence"]).abs())
        assert ece == pytest.approx(ix.set_index("model").loc[model, "ece"], abs=1e-12)
    fig = S.plot_reliability(rel)
    assert len(fig.axes) == 4  # a reliability diagram and its bin counts per model
    assert plots.check_layout(fig) == []
    plt.close(fig)


# --------------------------------------------------------------------------- uncertainty-baselines


@pytest.fixture(scope="module")
def ub(mirror) -> pd.DataFrame:
    return S.uncertainty_baselines_table()


def test_uncertainty_baselines_table_structure(ub):
    raw = published.uncertainty_baselines_results()
    raw = raw[raw["test_set"].isin(S.UB_TEST_SETS) & raw["metric"].isin(["top1", "ece", "nll"])]
    assert ub[["top1", "ece", "nll"]].notna().sum().sum() == len(raw)  # nothing lost in the pivot
    assert (ub.loc[ub["arch"] == "ResNet-50", "method"].nunique()) == 17  # README: 17 ResNet-50 methods
    flagged = ub[ub["suspect"]]
    assert len(flagged) == 1 and flagged["arch"].item() == "EfficientNet-B0" and flagged["ece"].item() > 0.4
    assert ub.loc[~ub["suspect"], "ece"].dropna().between(0, 0.5, inclusive="neither").all()


def test_calibration_degrades_under_shift(ub):
    # Direction fact of the published table: every ResNet-50 method with both values has a higher
    # ECE and NLL on ImageNet-C than on ImageNet val.
    w = ub[ub["arch"] == "ResNet-50"].pivot_table(index="method", columns="test_set", values=["ece", "nll"],
                                                  observed=True)
    for metric in ("ece", "nll"):
        both = w[metric][["imagenet", "imagenet-c"]].dropna()
        assert len(both) >= 10 and (both["imagenet-c"] > both["imagenet"]).all()


def test_plot_uncertainty_baselines_one_series_per_test_set(ub):
    fig = S.plot_uncertainty_baselines(ub)
    for ax in fig.axes:
        assert len(ax.lines) == 0  # categorical test sets are never joined by lines
        assert len(ax.collections) == len(S.UB_TEST_SETS)
    assert plots.check_layout(fig) == []  # includes: no two series share colour and marker
    plt.close(fig)


def test_reference_ece(ix, ub):
    ref = S.reference_ece(ix, ub)
    assert len(ref) == 4 + 4 and all(0 < v < 0.5 for v in ref.values())


# --------------------------------------------------------------------------- C7 (COOD confidence gaps)


@pytest.fixture(scope="module")
def gaps(mirror) -> pd.DataFrame:
    return S.confidence_gaps()


def test_confidence_gaps_and_broken_rule(gaps):
    raw = published.cood_results().query("confidence == 'softmax'")
    assert len(gaps) == raw["name"].nunique()
    assert np.allclose(gaps["gap"], gaps["mean_confidence"] - gaps["id_top1"])
    broken = set(gaps.loc[gaps["broken"], "name"])
    # facts of the data: the 7 linear probes store near-uniform probabilities, the 3 untrained EfficientNets
    assert broken == {n for n in gaps["name"] if n.startswith("CLIP_finetuned")} | {
        "efficientnet_b5", "efficientnet_b6", "efficientnet_b7"}
    assert gaps.loc[gaps["broken"], "mean_confidence"].max() < 0.003
    assert (gaps["family"] == "clip-zeroshot").sum() == 9 and not gaps.loc[gaps["family"] == "clip-zeroshot", "broken"].any()


def _gap_rows(clip_gap: float, ref_gap: float, n_ref: int = 40, seed: int = 0) -> pd.DataFrame:
    """confidence_gaps-shaped rows: 9 zero-shot CLIPs and n_ref ImageNet-1k models at 0.6-0.8 top-1."""
    rng = np.random.default_rng(seed)
    rows = []
    for fam, n, g, src in (("clip-zeroshot", 9, clip_gap, "clip-zeroshot"), ("imagenet", n_ref, ref_gap, "imagenet-1k")):
        for i, acc in enumerate(rng.uniform(0.62, 0.78, n)):
            gap = g + rng.normal(0, 0.002)
            rows.append({"name": f"{fam}{i}", "family": fam, "source": src, "id_top1": acc,
                         "mean_confidence": acc + gap, "gap": gap, "abs_gap": abs(gap), "broken": False})
    return pd.DataFrame(rows)


def test_matched_gap_differences_neighbours_and_holm():
    g = _gap_rows(0.08, 0.01)
    ref = S.reference_models("cood-imagenet", g)
    t = S.matched_gap_differences(g, ref, window=0.03)
    for r in t.itertuples():  # neighbour counts and medians by a brute-force loop
        nb = [abs(a - r.id_top1) <= 0.03 for a in ref["id_top1"]]
        assert r.n_ref == sum(nb)
        if r.n_ref >= S.C7_MIN_NEIGHBOURS:
            assert r.ref_median == pytest.approx(np.median(ref.loc[nb, "error"]))
            assert r.d == pytest.approx(r.abs_gap - r.ref_median) and r.low <= r.d <= r.high
    ok = t["p"].notna()
    assert np.allclose(t.loc[ok, "p_holm"], multipletests(t.loc[ok, "p"], method="holm")[1])
    assert (t.loc[ok, "p_holm"] < S.C7_ALPHA).all()  # a 0.07 excess is far beyond image and model sampling
    near = S.matched_gap_differences(g, ref, k_nearest=5)
    assert (near["n_ref"] == 5).all()


def _ix_ub(ece: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    ix = pd.DataFrame({"model": [f"imagenetx:m{i}" for i in range(4)], "accuracy": [0.66, 0.7, 0.74, 0.77],
                       "ece": ece, "mean_confidence": [0.66 + ece, 0.7 + ece, 0.74 + ece, 0.77 + ece]})
    ub = pd.DataFrame({"arch": "ResNet-50", "method": [f"m{i}" for i in range(6)], "test_set": "imagenet",
                       "top1": np.linspace(0.63, 0.78, 6), "ece": ece, "nll": 1.0, "suspect": False})
    return ix, ub


def _cood_from_gaps(g: pd.DataFrame) -> pd.DataFrame:
    """COOD-shaped softmax rows from confidence_gaps-shaped rows (``*_torchvision``: ImageNet-1k)."""
    names = np.where(g["family"] == "imagenet", g["name"] + "_torchvision", g["name"])
    return pd.DataFrame({"model": "cood:" + names, "family": g["family"], "name": names, "confidence": "softmax",
                         "severity": 0, "ood_auroc": 0.8, "id_top1": g["id_top1"], "id_avg_conf": g["mean_confidence"]})


def test_claim_c7_tiers_on_synthetic_data(mirror):
    ix, ub = _ix_ub(0.01)
    good = S.claim_c7(cood=_cood_from_gaps(_gap_rows(0.08, 0.01)), ix=ix, ub=ub)
    assert good.tier == REPRODUCED, good.evidence
    assert "ID-only lower bound" in good.evidence and sum(v.headline for v in good.variants) == 1
    ix_hi, ub_hi = _ix_ub(0.2)  # published reference ECEs far above every CLIP gap
    fragile = S.claim_c7(cood=_cood_from_gaps(_gap_rows(0.08, 0.01)), ix=ix_hi, ub=ub_hi)
    assert fragile.tier == FRAGILE and set(fragile.breaking_variants) == {"reference=imagenetx-ece", "reference=ub-ece"}
    bad = S.claim_c7(cood=_cood_from_gaps(_gap_rows(0.0, 0.03)), ix=ix, ub=ub)
    assert bad.tier == NOT_REPRODUCED and bad.value < 0
    wide = S.claim_c7(Run(options={"match_window": 0.2}), cood=_cood_from_gaps(_gap_rows(0.08, 0.01)), ix=ix, ub=ub)
    assert wide.variants[0].name.endswith("window=0.2")


def test_claim_c7_real_data_facts(gaps, ix, ub):
    c = S.claim_c7(ix=ix, ub=ub)
    t = c.numbers["table"]
    assert len(t) == 9 and t["n_ref"].min() >= S.C7_MIN_NEIGHBOURS  # every CLIP has matched ImageNet models at 0.05
    top = t.loc[t["d"].idxmax()]
    assert c.value == pytest.approx(top["d"]) and c.low <= c.value <= c.high
    assert (c.tier == NOT_REPRODUCED) == (not (t["p_holm"] < S.C7_ALPHA).any())
    clip = gaps[gaps["family"] == "clip-zeroshot"].set_index("name")
    assert np.allclose(t.set_index("name")["abs_gap"], clip.loc[t["name"], "abs_gap"])


def test_plot_confidence_gap_and_ece_vs_accuracy(gaps, ix, ub):
    for fig in (S.plot_confidence_gap(gaps), S.plot_ece_vs_accuracy(ub, ix, gaps)):
        assert plots.check_layout(fig) == []
        plt.close(fig)


# --------------------------------------------------------------------------- cache path (synthetic Outputs)


def _outputs(dataset: str, scores: np.ndarray, labels: np.ndarray, clip: bool) -> Outputs:
    return Outputs("m", dataset, "head", scores.astype(np.float32), None, labels.astype(np.int64),
                   tuple(f"f{i}" for i in range(len(labels))), 50.0 if clip else None, None,
                   {"scores_kind": "cosine" if clip else "logits"})


def _calibrated(n: int, k: int, rng: np.random.Generator, sharpen: float) -> tuple[np.ndarray, np.ndarray]:
    """Logits z / sharpen whose labels are drawn from softmax(z): calibrated at T = 1 / sharpen... i.e.
    returned logits are over-confident by the factor ``sharpen``."""
    z = rng.normal(0, 2.0, (n, k))
    cdf = np.cumsum(C.softmax(z), axis=1)
    y = (rng.random((n, 1)) > cdf).sum(axis=1).clip(max=k - 1)
    return z * sharpen, y


def test_task_logits_follow_protocols():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 1000))
    idx = datasets.subset_indices("imagenet-r")
    zr, yr = S.task_logits("imagenet-r", z, idx[[0, 5, 10, 199]])
    assert zr.shape == (4, 200) and list(yr) == [0, 5, 10, 199] and np.array_equal(zr, z[:, idx])
    zo, _ = S.task_logits("objectnet", z, np.zeros(4, int))
    assert zo.shape == (4, 113)
    zi, yi = S.task_logits("imagenet", z, np.arange(4))
    assert zi is z or np.array_equal(zi, z)


def test_model_calibration_fits_temperature_and_helps():
    rng = np.random.default_rng(1)
    z, y = _calibrated(5000, 10, rng, sharpen=3.0)
    z2, y2 = _calibrated(2000, 10, rng, sharpen=3.0)
    outs = {"imagenet": _outputs("imagenet", z, y, False), "imagenet-v2": _outputs("imagenet-v2", z2, y2, False)}
    t = S.model_calibration(outs, "imagenet")
    assert set(t["test_set"]) == {"imagenet", "imagenet-v2"} and len(t) == 4
    fit, rest = C.split_indices(len(y))
    assert t.loc[t["test_set"] == "imagenet", "n"].unique().tolist() == [rest.size]
    temp = t["temperature"].max()
    assert temp == pytest.approx(C.fit_temperature(z[fit], y[fit]))
    assert 2.5 < temp < 3.5  # the over-confidence factor is recovered
    for _, g in t.groupby("test_set"):
        before, after = g.set_index("stage").loc["uncalibrated"], g.set_index("stage").loc["temperature_scaled"]
        assert after["ece"] < before["ece"] and after["nll"] < before["nll"]
        assert after["accuracy"] == before["accuracy"]
    # NLL cross-checked with torch on the shifted set
    row = t[(t["test_set"] == "imagenet-v2") & (t["stage"] == "temperature_scaled")]
    ref = F.cross_entropy(torch.from_numpy(z2.astype(np.float32).astype(np.float64) / temp), torch.from_numpy(y2))
    assert row["nll"].item() == pytest.approx(ref.item(), rel=1e-6)


def test_cache_calibration_table_uses_clip_logit_scale():
    rng = np.random.default_rng(2)
    z, y = _calibrated(1000, 10, rng, sharpen=1.0)
    cos = z / 50.0  # stored cosines; Outputs.logits multiplies back by the logit scale 50
    outs = {("clip", "imagenet"): _outputs("imagenet", cos, y, True),
            ("clf", "imagenet"): _outputs("imagenet", z, y, False)}
    inv = pd.DataFrame([(m, d, "complete") for m, d in outs] + [("clf", "imagenet-a", "missing"),
                                                               ("gone", "imagenet", "missing")],
                       columns=["model", "dataset", "status"])
    t = S.cache_calibration_table(inv, "imagenet", loader=lambda m, d: outs[(m, d)],
                                  info_of=lambda m: {"group": "g", "pretrain_data": "d"})
    assert list(t.columns) == S.CACHE_COLUMNS and set(t["model"]) == {"clip", "clf"}
    a, b = (t[t["model"] == m].set_index("stage") for m in ("clip", "clf"))
    assert np.allclose(a[["ece", "nll", "temperature"]], b[["ece", "nll", "temperature"]], atol=1e-5)
    assert 0.8 < a.loc["temperature_scaled", "temperature"] < 1.25  # calibrated at the learned scale
    empty = S.cache_calibration_table(inv.assign(status="missing"), "imagenet", loader=None, info_of=None)
    assert empty.empty and list(empty.columns) == S.CACHE_COLUMNS


def test_cache_reliability_before_after():
    rng = np.random.default_rng(3)
    z, y = _calibrated(3000, 10, rng, sharpen=3.0)
    rel = S.cache_reliability({"imagenet": _outputs("imagenet", z, y, False)}, "imagenet")
    assert set(rel["stage"]) == set(S.STAGES)
    ece = {s: np.nansum(r["count"] / r["count"].sum() * (r["accuracy"] - r["confidence"]).abs())
           for s, r in rel.groupby("stage")}
    assert ece["temperature_scaled"] < ece["uncalibrated"]


# --------------------------------------------------------------------------- claims


def _claim_table(clip_ece: float, clip_ts_ece: float, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """Synthetic cache table: n ImageNet models and n CLIPs (2 pre-training sources) on 2 test sets."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for group, ece, ts in (("imagenet", 0.05, 0.03), ("clip-zeroshot", clip_ece, clip_ts_ece)):
            src = "A" if i % 2 else "B"
            shift = 0.04 if (group == "clip-zeroshot" and src == "A") else 0.0
            for test_set in ("imagenet", "imagenet-v2"):
                acc = 0.7 + 0.013 * i
                for stage, e in (("uncalibrated", ece + shift), ("temperature_scaled", ts)):
                    rows.append({"model": f"{group}-{i}", "group": group, "pretrain_data": src,
                                 "test_set": test_set, "stage": stage, "temperature": 1.0, "t_at_bound": False,
                                 "n": 100, "accuracy": acc, "ece": e + rng.normal(0, 0.002), "nll": 1.0,
                                 "brier": 0.5})
    return pd.DataFrame(rows)


def test_c8_not_testable_without_caches():
    out = S.claim_c8(Run())
    assert out.tier == NOT_TESTABLE and "logits" in out.needs
    smoke_only = _claim_table(0.02, 0.01).assign(group="smoke")
    out = S.claim_c8(table=smoke_only)
    assert out.tier == NOT_TESTABLE and "smoke 16" in out.evidence


def test_c7_cache_variant():
    mixed = S._c7_cache_variant(_claim_table(clip_ece=0.06, clip_ts_ece=0.02))  # CLIP worse, sources differ
    assert len(mixed) == 1 and mixed[0].holds is True and mixed[0].name == "data=caches"
    always = _claim_table(clip_ece=0.01, clip_ts_ece=0.02)
    always.loc[always["group"] == "clip-zeroshot", "ece"] = 0.01  # uniformly better, no source effect
    assert S._c7_cache_variant(always)[0].holds is False and S._c7_cache_variant(None) == []


def test_claim_c8_rules():
    assert S.claim_c8(table=_claim_table(0.06, clip_ts_ece=0.01)).tier == REPRODUCED
    assert S.claim_c8(table=_claim_table(0.06, clip_ts_ece=0.05)).tier == NOT_REPRODUCED
    far = _claim_table(0.06, 0.01)
    far.loc[far["group"] == "clip-zeroshot", "accuracy"] = 0.3  # no ImageNet model of similar accuracy
    assert S.claim_c8(table=far).tier == NOT_TESTABLE
    pairs = S.c8_pairs(_claim_table(0.06, 0.01).query("stage == 'temperature_scaled'"))
    for _, p in pairs.iterrows():  # neighbour counts by a brute-force loop
        assert p["n_neighbours"] == sum(abs(0.7 + 0.013 * i - p["accuracy"]) <= S.C8_ACC_WINDOW
                                        for i in range(8))


def test_reliability_count_axes_do_not_label_minor_ticks():
    """Counts within about one decade (a small cached sample): matplotlib would label the minor log
    ticks (6x10^0 next to 10^1) and the labels overlap on the short count axes."""
    edges = np.linspace(0, 1, C.ECE_BINS + 1)
    counts = np.array([3, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 22, 25])
    conf = (edges[:-1] + edges[1:]) / 2
    rel = pd.concat([pd.DataFrame({"model": m, "lower": edges[:-1], "upper": edges[1:], "count": counts,
                                   "confidence": conf, "accuracy": np.clip(conf + d, 0, 1)})
                     for m, d in (("uncalibrated", -0.05), ("temperature scaled", 0.0))])
    fig = S.plot_reliability(rel)
    plots.stamp(fig, "test")
    assert plots.check_layout(fig) == []
    plt.close(fig)
