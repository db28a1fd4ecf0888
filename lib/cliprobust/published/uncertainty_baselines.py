"""google/uncertainty-baselines' ImageNet table (transcribed): accuracy, ECE, NLL, robustness of
ResNet-50 x 17 uncertainty methods and EfficientNet-B0..B2 (``docs/tables.md``)."""

from __future__ import annotations

import pandas as pd

from ._common import read_csv

UB_RESULTS = "published/literature/uncertainty_baselines_imagenet.csv"

#: uncertainty-baselines test-set strings -> canonical names (others lower-cased source names).
UB_TEST_SETS: dict[str, str] = {
    "ImageNet-1K val": "imagenet", "ImageNetV2 matched-frequency": "imagenet-v2",
    "ImageNet-A": "imagenet-a", "ObjectNet": "objectnet",
    "ImageNet-C (mean over types and severities)": "imagenet-c",
    "ImageNet-Vid-Robust": "imagenet-vid-robust", "YTBB-Robust": "ytbb-robust",
}


def uncertainty_baselines_results() -> pd.DataFrame:
    """google/uncertainty-baselines ImageNet table (transcribed), long, percent metrics -> fractions.

    Metrics: ``top1`` (from top1_acc_pct), ``mce`` and ``pm_k_acc`` (from *_pct), ``ece``
    (fraction, repo-default binning, before temperature scaling), ``nll``. ResNet-50 x 17 methods
    plus EfficientNet-B0..B2; ``model`` = ``ub:<model>/<method>``.
    """
    raw = read_csv(UB_RESULTS)
    pct = raw["metric"].str.endswith("_pct")
    value = raw["value"].where(~pct, raw["value"] / 100.0)
    metric = raw["metric"].str.removesuffix("_pct").replace({"top1_acc": "top1"})
    return pd.DataFrame({
        "model": "ub:" + raw["model"] + "/" + raw["method"], "family": "imagenet",
        "arch": raw["model"], "method": raw["method"],
        "test_set": raw["test_set"].map(lambda t: UB_TEST_SETS.get(t, t)),
        "metric": metric, "value": value,
    })
