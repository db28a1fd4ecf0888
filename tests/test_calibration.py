"""Calibration metrics cross-checked against torchmetrics, ImageNet-X's own ECE, sklearn, torch,
a dense grid search for temperature scaling, and the real ImageNet-X top-1 predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from imagenet_x.aggregate import estimated_calibration_error
from sklearn.metrics import brier_score_loss
from torchmetrics.functional.classification import binary_calibration_error, multiclass_calibration_error

from cliprobust import fetch
from cliprobust.metrics import calibration as C
from cliprobust.metrics.ood import softmax


def _random_logits(seed: int, n: int = 2000, k: int = 20, scale: float = 3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, (n, k)), rng.integers(0, k, n)


def _calibrated_logits(seed: int, n: int, k: int = 10, scale: float = 2.0):
    """Logits whose labels are drawn from softmax(logits): perfectly calibrated at T = 1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, scale, (n, k))
    cdf = np.cumsum(softmax(z), axis=1)
    y = (rng.random((n, 1)) > cdf).sum(axis=1).clip(max=k - 1)
    return z, y


# --------------------------------------------------------------------------- ECE


@pytest.mark.parametrize(("seed", "n", "k", "scale"), [(0, 1000, 10, 1.0), (1, 5000, 100, 3.0), (2, 3000, 1000, 6.0)])
def test_ece_matches_torchmetrics(seed, n, k, scale):
    z, y = _random_logits(seed, n, k, scale)
    p = softmax(z)
    ref = multiclass_calibration_error(
        torch.from_numpy(p), torch.from_numpy(y), num_classes=k, n_bins=C.ECE_BINS, norm="l1"
    ).item()
    assert C.ece(p, y) == pytest.approx(ref, abs=1e-6)  # measured: <= 3e-8 (torchmetrics float32 edges)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 400), st.sampled_from([5, 10, 15]))
def test_ece_matches_imagenet_x_including_edge_values(seed, n, n_bins):
    # ImageNet-X's estimated_calibration_error uses the same (lower, upper] rule, so values sitting
    # exactly on bin edges (here: half the samples) must agree too.
    rng = np.random.default_rng(seed)
    conf = rng.random(n)
    on_edge = rng.random(n) < 0.5
    conf[on_edge] = rng.integers(0, n_bins + 1, on_edge.sum()) / n_bins
    corr = rng.random(n) < 0.7
    ref = estimated_calibration_error(corr.astype(float), conf, n_bins=n_bins)
    assert C.ece(conf, corr, n_bins=n_bins) == pytest.approx(ref, abs=1e-12)


def test_ece_accepts_probs_and_labels():
    z, y = _random_logits(3)
    p = softmax(z)
    conf, corr = C.top_label(p, y)
    assert C.ece(p, y) == C.ece(conf, corr)
    assert C.ece(p, y, binning="equal_mass") == C.ece(conf, corr, binning="equal_mass")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.5, 5.0), st.floats(0.5, 5.0))
def test_perfectly_calibrated_predictions_have_small_ece(seed, a, b):
    rng = np.random.default_rng(seed)
    conf = rng.beta(a, b, 50_000)
    correct = rng.random(conf.size) < conf  # P(correct | conf) = conf
    assert C.ece(conf, correct) < 0.02  # sampling noise ~ sqrt(B / n) / 2 ~ 0.009
    assert C.ece(conf, correct, binning="equal_mass") < 0.02
    overconfident = rng.random(conf.size) < conf**3
    assert C.ece(conf, overconfident) > 0.05  # and the metric does see miscalibration


def test_equal_mass_bins_and_brute_force():
    rng = np.random.default_rng(4)
    conf, corr = rng.beta(5, 2, 3001), rng.random(3001) < 0.6
    table = C.reliability_diagram(conf, corr, n_bins=15, binning="equal_mass")
    assert table["count"].max() - table["count"].min() <= 2
    edges = np.quantile(conf, np.linspace(0, 1, 16))
    ece = 0.0
    for i in range(15):  # brute force, bins (lower, upper], the first one closed
        m = (conf > edges[i]) & (conf <= edges[i + 1]) if i else (conf <= edges[1])
        ece += m.sum() / conf.size * abs(corr[m].mean() - conf[m].mean())
    assert C.ece(conf, corr, binning="equal_mass") == pytest.approx(ece, abs=1e-12)


def test_reliability_diagram_is_consistent_with_ece():
    z, y = _random_logits(5)
    conf, corr = C.top_label(softmax(z), y)
    t = C.reliability_diagram(conf, corr)
    assert list(t.columns) == ["bin", "lower", "upper", "confidence", "accuracy", "count"]
    assert len(t) == C.ECE_BINS and t["count"].sum() == conf.size
    np.testing.assert_allclose(t["upper"] - t["lower"], 1 / C.ECE_BINS)
    full = t[t["count"] > 0]
    assert ((full["confidence"] > full["lower"] - 1e-12) & (full["confidence"] <= full["upper"])).all()
    recomputed = np.sum(full["count"] / conf.size * (full["accuracy"] - full["confidence"]).abs())
    assert recomputed == pytest.approx(C.ece(conf, corr), abs=1e-12)


def test_ece_input_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        C.ece(np.array([50.0, 90.0]), np.array([True, False]))  # percent, not fractions
    with pytest.raises(ValueError, match="equal-length"):
        C.ece(np.array([0.5, 0.9]), np.array([True]))
    with pytest.raises(ValueError, match="binning"):
        C.ece(np.array([0.5]), np.array([1]), binning="adaptive")
    with pytest.raises(ValueError, match="labels"):
        C.ece(np.full((2, 3), 1 / 3), np.array([0, 3]))


# --------------------------------------------------------------------------- NLL / Brier


@pytest.mark.parametrize("seed", range(3))
def test_nll_matches_torch_cross_entropy_and_t1_is_identity(seed):
    z, y = _random_logits(seed, scale=20.0)  # large logits: needs a stable log-softmax
    ref = F.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
    assert C.nll(z, y) == pytest.approx(ref, abs=1e-10)
    assert C.nll(C.temperature_scale(z, 1.0), y) == C.nll(z, y)
    assert C.nll(z, y, temperature=2.0) == pytest.approx(F.cross_entropy(torch.from_numpy(z / 2), torch.from_numpy(y)).item(), abs=1e-10)


def test_brier_matches_sklearn():
    z, y = _random_logits(6, k=7)
    p = softmax(z)
    ref = brier_score_loss(y, p, labels=np.arange(7), scale_by_half=False)
    assert C.brier(p, y) == pytest.approx(ref, abs=1e-12)


def test_accuracy_unchanged_by_temperature():
    z, y = _random_logits(7)
    assert C.accuracy(z, y) == C.accuracy(C.temperature_scale(z, 3.7), y) == np.mean(z.argmax(1) == y)


# --------------------------------------------------------------------------- temperature scaling


@pytest.mark.parametrize("seed", range(3))
def test_fit_temperature_matches_dense_grid(seed):
    z, y = _calibrated_logits(seed, n=3000)
    z = z * (0.5 + seed)  # miscalibrate by a known factor
    log_grid = np.linspace(np.log(0.05), np.log(20.0), 2001)
    step = log_grid[1] - log_grid[0]
    nlls = np.array([C.nll(z, y, temperature=np.exp(g)) for g in log_grid])
    t_grid = np.exp(log_grid[nlls.argmin()])
    t_fit = C.fit_temperature(z, y)
    assert abs(np.log(t_fit) - np.log(t_grid)) <= step  # measured: well inside one grid step
    assert C.nll(z, y, temperature=t_fit) <= nlls.min() + 1e-9


@settings(max_examples=12, deadline=None)
@given(st.floats(0.2, 20.0), st.integers(0, 1000))
def test_fit_temperature_recovers_logit_scaling(c, seed):
    z, y = _calibrated_logits(seed, n=20_000)
    t = C.fit_temperature(c * z, y)
    assert t == pytest.approx(c, rel=0.06)


def test_fit_temperature_warns_at_bound():
    z, y = _random_logits(8)  # labels independent of logits: the optimum is T -> infinity
    with pytest.warns(UserWarning, match="bound"):
        C.fit_temperature(z, y, bounds=(0.1, 10.0))


def test_split_is_seeded_disjoint_and_complete():
    fit, rest = C.split_indices(1000)
    assert fit.size == round(C.TEMPERATURE_SPLIT * 1000)
    assert np.intersect1d(fit, rest).size == 0 and np.union1d(fit, rest).size == 1000
    np.testing.assert_array_equal(fit, C.split_indices(1000)[0])
    assert not np.array_equal(fit, C.split_indices(1000, seed=1)[0])


def test_calibration_report_before_after():
    z, y = _calibrated_logits(9, n=10_000)
    report = C.calibration_report(4.0 * z, y)  # overconfident by 4x
    assert list(report["stage"]) == ["uncalibrated", "temperature_scaled"]
    before, after = report.iloc[0], report.iloc[1]
    assert before["n_fit"] == 2000 and before["n_eval"] == 8000
    assert before["temperature"] == 1.0 and after["temperature"] == pytest.approx(4.0, rel=0.1)
    assert before["accuracy"] == after["accuracy"]
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"] and after["brier"] < before["brier"]
    # numbers are the metrics of the held-out split only
    _, rest = C.split_indices(10_000)
    assert before["nll"] == pytest.approx(C.nll(4.0 * z[rest], y[rest]), abs=1e-12)


def test_clip_logit_scale_changes_calibration_not_accuracy():
    rng = np.random.default_rng(10)
    cos = np.tanh(rng.normal(0, 0.1, (2000, 50)))
    y = rng.integers(0, 50, 2000)
    learned, hard_coded = C.clip_logits(cos, 42.0), C.clip_logits(cos, 100.0)
    np.testing.assert_allclose(learned, cos * 42.0)
    assert C.accuracy(learned, y) == C.accuracy(hard_coded, y)
    assert C.nll(learned, y) != pytest.approx(C.nll(hard_coded, y), rel=1e-3)
    with pytest.raises(ValueError, match="exp"):
        C.clip_logits(cos, -1.0)


# --------------------------------------------------------------------------- real data: ImageNet-X


IMAGENET_X_MODELS = ("DINO", "ResNet50", "SimCLR", "ViT")


@pytest.fixture(scope="module")
def val_labels(mirror) -> pd.Series:
    """ImageNet val ground truth (0-based index) keyed by file name, from model-vs-human's file."""
    wnids = fetch.fetch("published/label-maps/imagenet_wnids.txt").read_text().split()
    gt = pd.read_csv(fetch.fetch(
        "model-vs-human/kayburns/raw-data/imagenet_validation/imagenet_validation_clip_session-1.csv"))
    index = {w: i for i, w in enumerate(wnids)}
    return gt.set_index("imagename")["category"].map(index).astype(np.int64)


def _imagenet_x_top1(model: str, labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) for one ImageNet-X base model, joined on the val file name."""
    pred = pd.read_csv(fetch.fetch(f"imagenetx/model_predictions/base/{model}.csv"))
    truth = labels.reindex(pred["file_name"])
    assert truth.notna().all(), f"{model}: file names missing from the ground truth"
    return pred["predicted_probability"].to_numpy(), (pred["predicted_class"].to_numpy() == truth.to_numpy())


def test_val_labels_agree_with_imagenet_x_annotations(val_labels):
    from imagenet_x.utils import get_annotation_path

    shipped = pd.read_csv(get_annotation_path() / "filename_label.csv").set_index("file_name")["label"]
    assert len(val_labels) == 50_000 and val_labels.index.is_unique
    assert (shipped.reindex(val_labels.index) == val_labels).all()


def test_imagenet_x_resnet50_accuracy_matches_testbed(val_labels):
    _, correct = _imagenet_x_top1("ResNet50", val_labels)
    testbed = pd.read_csv(fetch.fetch("published/imagenet-testbed/robustness_top1s.csv")).set_index("model")
    assert correct.mean() == pytest.approx(testbed.loc["resnet50", "val"] / 100, abs=1e-4)


@pytest.mark.parametrize("model", IMAGENET_X_MODELS)
def test_imagenet_x_top1_ece(model, val_labels):
    conf, correct = _imagenet_x_top1(model, val_labels)
    assert conf.size == 50_000 and 0.6 < correct.mean() < 0.85
    ours = C.ece(conf, correct)
    ref_ix = estimated_calibration_error(correct.astype(float), conf, n_bins=C.ECE_BINS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: read-only numpy buffer
        ref_tm = binary_calibration_error(
            torch.from_numpy(conf), torch.from_numpy(correct.astype(np.int64)), n_bins=C.ECE_BINS, norm="l1"
        ).item()
    assert ours == pytest.approx(ref_ix, abs=1e-12)
    assert ours == pytest.approx(ref_tm, abs=1e-6)
    assert 0.005 < ours < 0.1  # standard ImageNet classifiers: a few percent
    assert abs(ours - C.ece(conf, correct, binning="equal_mass")) < 0.01
