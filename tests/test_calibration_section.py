"""Section 05 (calibration): published tables, cache path and figures; the C7/C8 claims are in
``tests/test_calibration_claims.py``."""

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

from cliprobust import datasets, plots, published  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import calibration as C  # noqa: E402
from cliprobust.runs import Run, UnknownOptionError  # noqa: E402
from cliprobust.sections import calibration as sec  # noqa: E402
from cliprobust.sections.calibration import c7, caches, figures, tables  # noqa: E402

# --------------------------------------------------------------------------- ImageNet-X


@pytest.fixture(scope="module")
def ix(mirror) -> pd.DataFrame:
    return tables.imagenetx_calibration()


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
    rel = tables.imagenetx_reliability(published.IMAGENETX_PREDICTION_MODELS[:2])
    for model, r in rel.groupby("model"):
        assert len(r) == C.ECE_BINS and r["count"].sum() == 50_000
        full = r["count"] > 0  # ECE recomputed from the table
        ece = np.sum(r.loc[full, "count"] / 50_000 * (r.loc[full, "accuracy"] - r.loc[full, "confidence"]).abs())
        assert ece == pytest.approx(ix.set_index("model").loc[model, "ece"], abs=1e-12)
    fig = figures.plot_reliability(rel)
    assert len(fig.axes) == 4  # a reliability diagram and its bin counts per model
    assert plots.check_layout(fig) == []
    plt.close(fig)


# --------------------------------------------------------------------------- uncertainty-baselines


@pytest.fixture(scope="module")
def ub(mirror) -> pd.DataFrame:
    return tables.uncertainty_baselines_table()


def test_uncertainty_baselines_table_structure(ub):
    raw = published.uncertainty_baselines_results()
    raw = raw[raw["test_set"].isin(tables.UB_TEST_SETS) & raw["metric"].isin(["top1", "ece", "nll"])]
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
    fig = figures.plot_uncertainty_baselines(ub)
    for ax in fig.axes:
        assert len(ax.lines) == 0  # categorical test sets are never joined by lines
        assert len(ax.collections) == len(tables.UB_TEST_SETS)
    assert plots.check_layout(fig) == []  # includes: no two series share colour and marker
    plt.close(fig)


def test_reference_ece(ix, ub):
    ref = tables.reference_ece(ix, ub)
    assert len(ref) == 4 + 4 and all(0 < v < 0.5 for v in ref.values())


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
    zr, yr = caches.task_logits("imagenet-r", z, idx[[0, 5, 10, 199]])
    assert zr.shape == (4, 200) and list(yr) == [0, 5, 10, 199] and np.array_equal(zr, z[:, idx])
    zo, _ = caches.task_logits("objectnet", z, np.zeros(4, int))
    assert zo.shape == (4, 113)
    zi, yi = caches.task_logits("imagenet", z, np.arange(4))
    assert zi is z or np.array_equal(zi, z)


def test_model_calibration_fits_temperature_and_helps():
    rng = np.random.default_rng(1)
    z, y = _calibrated(5000, 10, rng, sharpen=3.0)
    z2, y2 = _calibrated(2000, 10, rng, sharpen=3.0)
    outs = {"imagenet": _outputs("imagenet", z, y, False), "imagenet-v2": _outputs("imagenet-v2", z2, y2, False)}
    t = caches.model_calibration(outs, "imagenet")
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
    t = caches.cache_calibration_table(inv, "imagenet", loader=lambda m, d: outs[(m, d)],
                                  info_of=lambda m: {"group": "g", "pretrain_data": "d"})
    assert list(t.columns) == caches.CACHE_COLUMNS and set(t["model"]) == {"clip", "clf"}
    a, b = (t[t["model"] == m].set_index("stage") for m in ("clip", "clf"))
    assert np.allclose(a[["ece", "nll", "temperature"]], b[["ece", "nll", "temperature"]], atol=1e-5)
    assert 0.8 < a.loc["temperature_scaled", "temperature"] < 1.25  # calibrated at the learned scale
    empty = caches.cache_calibration_table(inv.assign(status="missing"), "imagenet", loader=None, info_of=None)
    assert empty.empty and list(empty.columns) == caches.CACHE_COLUMNS


def test_cache_reliability_before_after():
    rng = np.random.default_rng(3)
    z, y = _calibrated(3000, 10, rng, sharpen=3.0)
    rel = caches.cache_reliability({"imagenet": _outputs("imagenet", z, y, False)}, "imagenet")
    assert set(rel["stage"]) == set(caches.STAGES)
    ece = {s: np.nansum(r["count"] / r["count"].sum() * (r["accuracy"] - r["confidence"]).abs())
           for s, r in rel.groupby("stage")}
    assert ece["temperature_scaled"] < ece["uncalibrated"]




def test_plot_confidence_gap_and_ece_vs_accuracy(mirror, ix, ub):
    gaps = c7.confidence_gaps()
    for fig in (figures.plot_confidence_gap(gaps), figures.plot_ece_vs_accuracy(ub, ix, gaps)):
        assert plots.check_layout(fig) == []
        plt.close(fig)


def test_reference_ece_image_noise_constant(mirror):
    """REF_ECE_SE is at least the bootstrap SE of a published ECE on 50,000 images (ImageNet-X ResNet-50)."""
    df = published.imagenetx_predictions("ResNet50")
    conf, cor = df["predicted_probability"].to_numpy(), df["correct"].to_numpy()
    rng = np.random.default_rng(0)
    draws = [C.ece(conf[i], cor[i]) for i in rng.integers(0, conf.size, (60, conf.size))]
    assert 0.0008 < np.std(draws) < c7.REF_ECE_SE


# --------------------------------------------------------------------------- interface


def test_section_interface():
    for name in ("Options", "PAPER_PLAN", "SMOKE_PLAN", "cache_plan", "cache_inventory", "claims", "claim_c7",
                 "claim_c8"):
        assert hasattr(sec, name), name
    assert sec.cache_plan(Run("smoke")) is sec.SMOKE_PLAN and sec.cache_plan(Run()) is sec.PAPER_PLAN
    with pytest.raises(UnknownOptionError, match="match_window"):
        Run.from_params("published", sec.Options, match_windw=0.02)
    with pytest.raises(ValueError, match="reference"):
        sec.Options(reference="cood-imagenet")
    assert Run.from_params("published", sec.Options, compare=None).options == sec.Options()


def test_reliability_count_axes_do_not_label_minor_ticks():
    """Counts within about one decade (a small cached sample): matplotlib would label the minor log
    ticks (6x10^0 next to 10^1) and the labels overlap on the short count axes."""
    edges = np.linspace(0, 1, C.ECE_BINS + 1)
    counts = np.array([3, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18, 20, 22, 25])
    conf = (edges[:-1] + edges[1:]) / 2
    rel = pd.concat([pd.DataFrame({"model": m, "lower": edges[:-1], "upper": edges[1:], "count": counts,
                                   "confidence": conf, "accuracy": np.clip(conf + d, 0, 1)})
                     for m, d in (("uncalibrated", -0.05), ("temperature scaled", 0.0))])
    fig = figures.plot_reliability(rel)
    plots.stamp(fig, "test", run=Run("published"))
    assert plots.check_layout(fig) == []
    plt.close(fig)
