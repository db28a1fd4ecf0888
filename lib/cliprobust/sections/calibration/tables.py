"""Published calibration tables of ImageNet models: ImageNet-X per-image top-1 predictions (top-label
ECE, reliability) and uncertainty-baselines (ResNet-50 x 17 methods; NLL/ECE on ImageNet and shifts)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ... import published
from ...metrics import calibration as C

# --------------------------------------------------------------------------- ImageNet-X (published)

IMAGENETX_MODELS: tuple[str, ...] = published.IMAGENETX_PREDICTION_MODELS


def _imagenetx_top1(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of one ImageNet-X base model on the 50,000 val images."""
    df = published.imagenetx_predictions(name)
    return df["predicted_probability"].to_numpy(np.float64), df["correct"].to_numpy(bool)


def imagenetx_calibration(models: Sequence[str] = IMAGENETX_MODELS) -> pd.DataFrame:
    """Top-label calibration of the ImageNet-X models on ImageNet val (published top-1 predictions).

    Columns ``model, n, accuracy, mean_confidence, overconfidence`` (= mean confidence − accuracy),
    ``ece`` (:data:`~cliprobust.metrics.calibration.ECE_BINS` equal-width bins) and ``ece_equal_mass``.
    NLL needs the true class's probability, which the published files keep only for correct images.
    """
    rows = []
    for name in models:
        conf, correct = _imagenetx_top1(name)
        rows.append({"model": f"imagenetx:{name}", "n": conf.size, "accuracy": correct.mean(),
                     "mean_confidence": conf.mean(), "overconfidence": conf.mean() - correct.mean(),
                     "ece": C.ece(conf, correct), "ece_equal_mass": C.ece(conf, correct, binning="equal_mass")})
    return pd.DataFrame(rows)


def imagenetx_reliability(models: Sequence[str] = IMAGENETX_MODELS) -> pd.DataFrame:
    """Reliability tables (``metrics.calibration.reliability_diagram``) of the ImageNet-X models, stacked."""
    parts = [C.reliability_diagram(*_imagenetx_top1(name)).assign(model=f"imagenetx:{name}") for name in models]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- uncertainty-baselines (published)

#: Test sets of the uncertainty-baselines table with NLL/ECE, in plotting order.
UB_TEST_SETS: tuple[str, ...] = ("imagenet", "imagenet-v2", "imagenet-c", "imagenet-a")
#: Published values that look like typos (README-literature.md): kept, flagged, left out of figures.
#: EfficientNet-B0's ImageNet ECE 0.497 is impossible next to its 75.6 % accuracy and NLL 1.04.
UB_SUSPECT: frozenset[tuple[str, str, str, str]] = frozenset({("EfficientNet-B0", "Deterministic", "imagenet", "ece")})


def uncertainty_baselines_table() -> pd.DataFrame:
    """uncertainty-baselines NLL / ECE / top-1 per (arch, method, test set), wide in metric.

    Columns ``arch, method, test_set, top1, ece, nll, suspect`` (:data:`UB_SUSPECT` -> ``ece`` kept,
    ``suspect`` True). Only :data:`UB_TEST_SETS`; ECE is before temperature scaling.
    """
    ub = published.uncertainty_baselines_results()
    ub = ub[ub["test_set"].isin(UB_TEST_SETS) & ub["metric"].isin(["top1", "ece", "nll"])]
    wide = ub.pivot_table(index=["arch", "method", "test_set"], columns="metric", values="value").reset_index()
    wide.columns.name = None
    keys = zip(wide["arch"], wide["method"], wide["test_set"])
    wide["suspect"] = [(a, m, t, "ece") in UB_SUSPECT for a, m, t in keys]
    wide["test_set"] = pd.Categorical(wide["test_set"], UB_TEST_SETS, ordered=True)
    return wide.sort_values(["arch", "method", "test_set"]).reset_index(drop=True)[
        ["arch", "method", "test_set", "top1", "ece", "nll", "suspect"]]


def reference_ece(ix: pd.DataFrame | None = None, ub: pd.DataFrame | None = None) -> dict[str, float]:
    """Published ImageNet-model ECEs (the reference side of C7): ImageNet-X models on ImageNet val,
    and the deterministic ResNet-50 of uncertainty-baselines on each of its test sets."""
    ix = imagenetx_calibration() if ix is None else ix
    ub = uncertainty_baselines_table() if ub is None else ub
    det = ub[(ub["arch"] == "ResNet-50") & (ub["method"] == "Deterministic")].dropna(subset=["ece"])
    out = {f"{m} (ImageNet val)": round(float(e), 4) for m, e in zip(ix["model"], ix["ece"])}
    out.update({f"ub:ResNet-50/Deterministic ({t})": round(float(e), 4) for t, e in zip(det["test_set"], det["ece"])})
    return out

