"""ImageNet-X visual-factor metrics (Idrissi et al. 2022) and factor-level effective robustness (Tu et al. 2023).

Inputs are per-image correctness (one column per model, rows = ImageNet val images keyed by file
name) and the per-image factor annotations as 0/1 columns on the same rows. The annotation
variant is the caller's choice and only changes that input: :data:`TOP_FACTOR` (one factor per
image, the annotators' main one; ImageNet-X's published tables) or :data:`MULTI_FACTOR` (every
factor marked, an image counts toward each of its factors). ImageNet-X's tables also drop the
~2.8k "prototypical" images before aggregating (``imagenet_x.load_annotations(filter_prototypes=True)``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import robustness, stats

#: The 16 ImageNet-X factors, in the order of ``imagenet_x.FACTORS`` and of its published tables.
FACTORS: tuple[str, ...] = (
    "pose", "background", "pattern", "color", "smaller", "shape", "partial_view", "subcategory",
    "texture", "larger", "darker", "object_blocking", "person_blocking", "style", "brighter",
    "multiple_objects",
)
#: The 10 factors Tu et al. 2023 (§4.1) report. The paper does not list the dropped six here; we take
#: the 10 most frequent top factors of the ImageNet-X val annotations (each ≥ 150 images, the other six
#: < 125), which are also the first ten of FACTORS. tests/test_factors.py checks that ranking.
PAPER_FACTORS: tuple[str, ...] = FACTORS[:10]

#: Annotation variants (``imagenet_x.load_annotations(which_factor=...)``).
TOP_FACTOR = "top"
MULTI_FACTOR = "multi"

#: Column names of :func:`factor_accuracies`, as in ImageNet-X's ``accuracies_per_factor.csv``.
AVERAGE = "average"
WORST = "worst_factor"


def is_correct(predicted: pd.Series, labels: pd.Series) -> pd.Series:
    """Per-image correctness ``predicted == labels`` on the rows of ``labels`` (both indexed by file
    name, values 0-based ImageNet indices). Every labelled image needs a prediction."""
    missing = labels.index.difference(predicted.index)
    if len(missing):
        raise ValueError(f"{len(missing)} annotated images have no prediction (e.g. {list(missing[:2])}); "
                         "predictions must cover every image of the annotation table")
    return predicted.reindex(labels.index).eq(labels).rename(predicted.name)


def correctness_table(predictions: Mapping[str, pd.Series], labels: pd.Series) -> pd.DataFrame:
    """Images × models boolean table from per-model predictions (see :func:`is_correct`)."""
    return pd.DataFrame({name: is_correct(pred, labels) for name, pred in predictions.items()})


def factor_accuracies(correct: pd.DataFrame | pd.Series, annotations: pd.DataFrame,
                      factors: Sequence[str] = FACTORS) -> pd.DataFrame:
    """Models × (factors…, ``worst_factor``, ``average``) accuracy table (ImageNet-X ``compute_factor_accuracies``).

    acc_f = Σ_i c_i a_if / Σ_i a_if over images i with correctness c_i and annotation a_if ∈ {0, 1};
    ``worst_factor`` = min over ``factors``; ``average`` = mean_i c_i (all rows, annotated or not).
    ``correct`` and ``annotations`` must share the same index (image file names).
    """
    c = correct.to_frame() if isinstance(correct, pd.Series) else correct
    if not c.index.equals(annotations.index):
        raise ValueError("correctness and annotations must have the same row index (image file names); "
                         "align them first, e.g. correct.reindex(annotations.index)")
    a = annotations[list(factors)].to_numpy(dtype=float)
    cv = c.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = (cv.T @ a) / a.sum(axis=0)
    out = pd.DataFrame(acc, index=c.columns, columns=list(factors))
    out[WORST] = out[list(factors)].min(axis=1)
    out[AVERAGE] = cv.mean(axis=0)
    return out


def error_ratio(table: pd.DataFrame, factors: Sequence[str] | None = None) -> pd.DataFrame:
    """Error ratio per factor (Idrissi et al. 2022 §4): (1 − acc_f) / (1 − average); > 1 means the
    factor is harder than the model's overall error. ``factors`` defaults to the columns in FACTORS."""
    names = [f for f in FACTORS if f in table.columns] if factors is None else list(factors)
    return (1 - table[names]).div(1 - table[AVERAGE], axis=0)


def factor_er_table(table: pd.DataFrame, baseline: pd.Series | Sequence[str],
                    factors: Sequence[str] = PAPER_FACTORS, transform: robustness.Transform = robustness.LOGIT,
                    n_boot: int = stats.N_BOOT, level: float = stats.CI_LEVEL,
                    seed: int = stats.SEED) -> pd.DataFrame:
    """Factor-level effective robustness (Tu et al. 2023 §4.1): per factor, a logit-space line of factor
    accuracy on overall (``average``) accuracy over the baseline models; ER = factor acc − prediction.

    ``table``: models × factors + ``average`` (:func:`factor_accuracies` or a published ImageNet-X
    table). Rows ``(model, factor, id_acc, ood_acc, predicted, er, ci_low, ci_high)``; see
    :func:`cliprobust.metrics.robustness.er_table`.
    """
    shifts = {f: AVERAGE for f in factors}
    tab = robustness.er_table(table, shifts, baseline, transform, n_boot, level, seed)
    return tab.rename(columns={"shift": "factor"})
