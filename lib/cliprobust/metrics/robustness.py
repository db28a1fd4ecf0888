"""Class-subset accuracy and effective robustness (Taori et al. 2020; Fang et al. 2022).

Effective robustness (ER) of a model on a distribution shift is its OOD accuracy minus the OOD
accuracy that a *baseline* of ImageNet-trained models predicts from its in-distribution (ID)
accuracy. The baseline is a least-squares line in transformed (logit) space::

    T(ood) ≈ slope · T(id) + intercept,      ER = ood − T⁻¹(slope · T(id) + intercept)

ER is reported in accuracy units (fractions), as in both papers (docs/protocols.md §9). Which models
form the baseline changes the numbers: callers name the baseline set (``testbed_baseline`` gives
imagenet-testbed's). Every accuracy here is a fraction in [0, 1]; percent tables are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special
from . import stats
from ._validate import finite_args

# --------------------------------------------------------------------------- accuracy helpers

#: Value of :func:`class_map_from_groups` for ImageNet classes that map to no target class.
UNMAPPED = -1


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy, ``mean(pred == labels)``, as a fraction."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or pred.ndim != 1 or pred.size == 0:
        raise ValueError(f"pred {pred.shape} and labels {labels.shape} must be equal-length, non-empty 1-D")
    return float(np.mean(pred == labels))


@finite_args("logits")
def subset_logits(logits: np.ndarray, indices: Sequence[int]) -> np.ndarray:
    """Columns ``indices`` (0-based ImageNet indices, no duplicates) of an (n, 1000) logit matrix.

    This is the 200-class ImageNet-R/-A head of a 1000-way model (Hendrycks et al.; imagenet-testbed
    ``class_sublist``): sub-select logits *before* softmax/argmax (docs/protocols.md §3).
    """
    logits, idx = np.asarray(logits), np.asarray(indices, dtype=int)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (n_samples, n_classes), got shape {logits.shape}")
    if idx.ndim != 1 or idx.size == 0 or np.unique(idx).size != idx.size:
        raise ValueError("indices must be a non-empty 1-D list of distinct class indices")
    return logits[:, idx]


@finite_args("logits")
def subset_predict(logits: np.ndarray, indices: Sequence[int]) -> np.ndarray:
    """ImageNet index of the arg-max over the class subset: ``indices[argmax(logits[:, indices])]``."""
    idx = np.asarray(indices, dtype=int)
    return idx[subset_logits(logits, idx).argmax(axis=1)]


@finite_args("logits")
def subset_accuracy(logits: np.ndarray, labels: np.ndarray, indices: Sequence[int]) -> float:
    """Accuracy of the class-subset head; ``labels`` are 0-based ImageNet indices inside ``indices``.

    Used for ImageNet-R/-A and for the ID baselines ``imagenet-r-classes`` etc. Labels given as
    positions 0..k-1 in subset order (an ImageFolder over the R/A folders) map back with
    ``np.asarray(indices)[labels]``.
    """
    labels = np.asarray(labels)
    outside = ~np.isin(labels, np.asarray(indices))
    if outside.any():
        raise ValueError(f"{outside.sum()} labels are not in the class subset (e.g. {labels[outside][:3]}); "
                         "labels must be ImageNet indices — map subset positions with indices[labels]")
    return accuracy(subset_predict(logits, indices), labels)


def class_map_from_groups(groups: Sequence[Iterable[int]], n_classes: int = 1000) -> np.ndarray:
    """Many-to-one map ``m`` of length ``n_classes``: ``m[i] = g`` if ImageNet index ``i`` is in
    ``groups[g]``, else :data:`UNMAPPED`. An index in two groups is an error."""
    m = np.full(n_classes, UNMAPPED, dtype=int)
    for g, members in enumerate(groups):
        for i in members:
            if m[i] != UNMAPPED:
                raise ValueError(f"ImageNet index {i} is in target classes {m[i]} and {g}; the map must be many-to-one")
            m[i] = g
    return m


@finite_args("logits")
def mapped_predict(logits: np.ndarray, class_map: np.ndarray) -> np.ndarray:
    """Target-class predictions of a 1000-way model through a many-to-one class map.

    imagenet-testbed ObjectNet convention (``src/eval_settings/objectnet.py``; docs/protocols.md §2): take the
    arg-max over the ImageNet classes that map to some ObjectNet class (125 indices for 113 classes) and
    count the prediction as the ObjectNet class of that index. Note the testbed's ID baseline
    ``val-on-objectnet-classes`` instead requires the exact ImageNet index (use :func:`subset_accuracy`).
    """
    cm = np.asarray(class_map, dtype=int)
    return cm[subset_predict(logits, np.flatnonzero(cm != UNMAPPED))]


@finite_args("logits")
def mapped_accuracy(logits: np.ndarray, labels: np.ndarray, class_map: np.ndarray) -> float:
    """Accuracy of :func:`mapped_predict` against target-class labels (positions in the groups list)."""
    return accuracy(mapped_predict(logits, class_map), labels)


# --------------------------------------------------------------------------- transforms and the fit

#: Accuracies are clipped to [ACC_EPS, 1 − ACC_EPS] before a transform so that 0 and 1 stay finite.
#: 1e-6 is below 1/n for every test set used here, so clipping never changes a non-degenerate value.
ACC_EPS = 1e-6

#: Baseline points with an accuracy of exactly 0 or 1 (e.g. ResNet-50 on ImageNet-A, which was filtered
#: against it) are dropped from the fit: in logit space they sit at ±infinity (±13.8 after clipping) and
#: would dominate least squares. imagenet-testbed instead splits its line at such a pivot model.
DROP_DEGENERATE = True


@dataclass(frozen=True)
class Transform:
    """An axis scaling for the baseline fit: ``forward`` maps (clipped) accuracy to the line's space."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        return self.forward(np.clip(np.asarray(acc, dtype=float), ACC_EPS, 1 - ACC_EPS))


#: log(p / (1 − p)); the papers' choice (Taori et al. 2020; Fang et al. 2022; imagenet-testbed plots).
LOGIT = Transform("logit", special.logit, special.expit)
#: Φ⁻¹(p), the standard-normal quantile (Miller et al. 2021, "Accuracy on the line"); an alternative.
PROBIT = Transform("probit", special.ndtri, special.ndtr)


def _fractions(values: np.ndarray | Sequence[float] | float, what: str) -> np.ndarray:
    """Float array of accuracies; NaN or values outside [0, 1] raise with the fix."""
    a = np.asarray(values, dtype=float)
    if np.isnan(a).any():
        raise ValueError(f"{what} contains NaN; drop models without this accuracy first")
    if ((a < 0) | (a > 1)).any():
        raise ValueError(f"{what} has values outside [0, 1] (max {np.max(a):.4g}): accuracies must be fractions — "
                         "divide percent tables (timm, imagenet-testbed, OpenOOD) by 100")
    return a


def _scalar_or_array(a: np.ndarray) -> float | np.ndarray:
    return float(a) if np.ndim(a) == 0 else a


@dataclass(frozen=True)
class BaselineFit:
    """Least-squares line ``T(ood) = slope · T(id) + intercept`` over ``n`` baseline models;
    ``r`` is the Pearson correlation in transformed space."""

    slope: float
    intercept: float
    transform: Transform
    n: int
    r: float

    def predict_transformed(self, id_acc: np.ndarray | float) -> float | np.ndarray:
        """The line in transformed space at ``T(id_acc)``."""
        return _scalar_or_array(self.slope * self.transform(_fractions(id_acc, "id_acc")) + self.intercept)

    def predict(self, id_acc: np.ndarray | float) -> float | np.ndarray:
        """Predicted OOD accuracy (fraction): ``T⁻¹(slope · T(id_acc) + intercept)``."""
        return _scalar_or_array(self.transform.inverse(np.asarray(self.predict_transformed(id_acc))))


def _baseline_points(id_acc, ood_acc, drop_degenerate: bool) -> tuple[np.ndarray, np.ndarray]:
    x, y = _fractions(id_acc, "baseline id_acc"), _fractions(ood_acc, "baseline ood_acc")
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"baseline id_acc {x.shape} and ood_acc {y.shape} must be equal-length 1-D")
    if drop_degenerate:
        keep = (x > 0) & (x < 1) & (y > 0) & (y < 1)
        x, y = x[keep], y[keep]
    return x, y


def fit_baseline(id_acc: np.ndarray, ood_acc: np.ndarray, transform: Transform = LOGIT,
                 drop_degenerate: bool = DROP_DEGENERATE) -> BaselineFit:
    """Least-squares fit of ``T(ood_acc)`` on ``T(id_acc)`` over baseline models (Taori et al. 2020)."""
    x, y = _baseline_points(id_acc, ood_acc, drop_degenerate)
    tx, ty = transform(x), transform(y)
    if tx.size < 2 or np.ptp(tx) == 0:
        raise ValueError(f"need ≥ 2 baseline models with distinct ID accuracy, got {tx.size}")
    slope, intercept = np.polyfit(tx, ty, 1)
    r = float(np.corrcoef(tx, ty)[0, 1]) if np.ptp(ty) > 0 else float("nan")
    return BaselineFit(float(slope), float(intercept), transform, int(tx.size), r)


def effective_robustness(id_acc: np.ndarray | float, ood_acc: np.ndarray | float,
                         fit: BaselineFit) -> float | np.ndarray:
    """ER = ood_acc − fit.predict(id_acc), in accuracy units (Taori et al. 2020, eq. 1)."""
    ood = _fractions(ood_acc, "ood_acc")
    return _scalar_or_array(ood - np.asarray(fit.predict(id_acc)))


def transformed_residual(id_acc: np.ndarray | float, ood_acc: np.ndarray | float,
                         fit: BaselineFit) -> float | np.ndarray:
    """Residual in transformed space, ``T(ood_acc) − (slope · T(id_acc) + intercept)``."""
    ty = fit.transform(_fractions(ood_acc, "ood_acc"))
    return _scalar_or_array(ty - np.asarray(fit.predict_transformed(id_acc)))


# --------------------------------------------------------------------------- bootstrap

#: Bootstrap defaults (declared once in :mod:`cliprobust.metrics.stats`).
N_BOOT, CI_LEVEL, SEED = stats.N_BOOT, stats.CI_LEVEL, stats.SEED


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate (from the full data) and a percentile bootstrap interval."""

    estimate: float
    ci_low: float
    ci_high: float
    n_boot: int
    level: float


def ols_rows(tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of least squares for each row of (B, n) arrays; NaN where var(tx) = 0."""
    dx = tx - tx.mean(axis=1, keepdims=True)
    sxx = (dx * dx).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, (dx * (ty - ty.mean(axis=1, keepdims=True))).sum(axis=1) / sxx, np.nan)
    return slope, ty.mean(axis=1) - slope * tx.mean(axis=1)


def _er_draws(slopes: np.ndarray, intercepts: np.ndarray, transform: Transform,
              id_acc: np.ndarray, ood_acc: np.ndarray) -> np.ndarray:
    """(B, k) ER of k models under B bootstrap lines."""
    pred = transform.inverse(slopes[:, None] * transform(id_acc)[None, :] + intercepts[:, None])
    return ood_acc[None, :] - pred


def bootstrap_lines(base_id: np.ndarray, base_ood: np.ndarray, transform: Transform = LOGIT,
                    n_boot: int = N_BOOT, seed: int = SEED,
                    drop_degenerate: bool = DROP_DEGENERATE) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and intercepts of ``n_boot`` baseline fits on baseline models resampled with replacement."""
    x, y = _baseline_points(base_id, base_ood, drop_degenerate)
    idx = stats.resample_indices(x.size, n_boot, seed)
    return ols_rows(transform(x)[idx], transform(y)[idx])


def bootstrap_er(base_id: np.ndarray, base_ood: np.ndarray, id_acc: np.ndarray | float,
                 ood_acc: np.ndarray | float, transform: Transform = LOGIT, n_boot: int = N_BOOT,
                 level: float = CI_LEVEL, seed: int = SEED) -> BootstrapResult:
    """ER of one model (scalars) or mean ER of a group (arrays), with a percentile CI from resampling
    the baseline models (the uncertainty of the line; imagenet-testbed's seeded bootstrap)."""
    ids, oods = np.atleast_1d(_fractions(id_acc, "id_acc")), np.atleast_1d(_fractions(ood_acc, "ood_acc"))
    est = float(np.mean(effective_robustness(ids, oods, fit_baseline(base_id, base_ood, transform))))
    slopes, intercepts = bootstrap_lines(base_id, base_ood, transform, n_boot, seed)
    draws = _er_draws(slopes, intercepts, transform, ids, oods).mean(axis=1)
    low, high = stats.percentile_interval(draws, level)
    return BootstrapResult(est, float(low), float(high), n_boot, level)


def _resampled_accuracies(correct: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Accuracy of each row of a (m, n) correctness matrix under resample counts (n,)."""
    return correct @ counts / counts.sum()


def bootstrap_er_samples(base_id_correct: np.ndarray, base_ood_correct: np.ndarray,
                         id_correct: np.ndarray, ood_correct: np.ndarray, transform: Transform = LOGIT,
                         n_boot: int = N_BOOT, level: float = CI_LEVEL, seed: int = SEED) -> BootstrapResult:
    """Mean ER of the model rows of ``id_correct``/``ood_correct`` ((n,) or (k, n) 0/1 arrays), with a
    CI from resampling *test images*: ID and OOD images are resampled independently, the same draw for
    every model (paired), and the baseline line (rows of ``base_*_correct``, (m, n)) is refit each draw."""
    bi, bo = np.asarray(base_id_correct, float), np.asarray(base_ood_correct, float)
    mi, mo = np.atleast_2d(np.asarray(id_correct, float)), np.atleast_2d(np.asarray(ood_correct, float))
    if bi.shape[1] != mi.shape[1] or bo.shape[1] != mo.shape[1] or bi.shape[0] != bo.shape[0]:
        raise ValueError(f"shape mismatch: baseline {bi.shape}/{bo.shape}, models {mi.shape}/{mo.shape}")
    keep = ~np.isin(bi.mean(1), (0.0, 1.0)) & ~np.isin(bo.mean(1), (0.0, 1.0))  # as DROP_DEGENERATE
    bi, bo = bi[keep], bo[keep]
    fit = fit_baseline(bi.mean(1), bo.mean(1), transform)
    est = float(np.mean(effective_robustness(mi.mean(1), mo.mean(1), fit)))
    draws = np.empty(n_boot)
    for b, (ci, co) in enumerate(stats.resample_counts((bi.shape[1], bo.shape[1]), n_boot, seed)):
        x, y = _resampled_accuracies(bi, ci), _resampled_accuracies(bo, co)
        slope, intercept = ols_rows(transform(x)[None], transform(y)[None])
        er = _er_draws(slope, intercept, transform, _resampled_accuracies(mi, ci), _resampled_accuracies(mo, co))
        draws[b] = er.mean()
    low, high = stats.percentile_interval(draws, level)
    return BootstrapResult(est, float(low), float(high), n_boot, level)


# --------------------------------------------------------------------------- tables

#: Name of the pseudo-shift holding the mean OOD accuracy in :func:`er_of_mean_accuracy`.
MEAN_SHIFT = "mean-shift"

ER_COLUMNS = ["model", "shift", "id_acc", "ood_acc", "predicted", "er", "ci_low", "ci_high"]


def wide_accuracies(long: pd.DataFrame, model: str = "model", test_set: str = "test_set",
                    value: str = "acc") -> pd.DataFrame:
    """Pivot a tidy (model, test_set, acc) table to one row per model, one column per test set."""
    if long.duplicated([model, test_set]).any():
        raise ValueError(f"duplicate ({model}, {test_set}) rows; deduplicate (e.g. quickgelu twins) first")
    return long.pivot(index=model, columns=test_set, values=value)


def _as_mask(baseline: pd.Series | Sequence[str], index: pd.Index) -> np.ndarray:
    """Boolean mask over ``index`` from a boolean Series or a list of model ids (all must exist)."""
    if isinstance(baseline, pd.Series) and baseline.dtype == bool:
        return baseline.reindex(index, fill_value=False).to_numpy()
    missing = pd.Index(baseline).difference(index)
    if len(missing):
        raise ValueError(f"{len(missing)} baseline models are not rows of the accuracy table, e.g. {list(missing[:3])}")
    return index.isin(baseline)


def _shift_rows(acc: pd.DataFrame, ood_col: str, id_col: str, base: np.ndarray, transform: Transform,
                n_boot: int, level: float, seed: int) -> pd.DataFrame:
    """ER rows of every model with both accuracies for one shift."""
    have = acc[[id_col, ood_col]].notna().all(axis=1).to_numpy()
    x, y = acc[id_col].to_numpy(float), acc[ood_col].to_numpy(float)
    try:
        fit = fit_baseline(x[base & have], y[base & have], transform)
    except ValueError as err:
        raise ValueError(f"shift {ood_col!r} (ID column {id_col!r}): {err}") from err
    slopes, intercepts = bootstrap_lines(x[base & have], y[base & have], transform, n_boot, seed)
    low, high = stats.percentile_interval(_er_draws(slopes, intercepts, transform, _fractions(x[have], id_col),
                                         _fractions(y[have], ood_col)), level)
    pred = np.asarray(fit.predict(x[have]))
    return pd.DataFrame({"model": acc.index[have], "shift": ood_col, "id_acc": x[have], "ood_acc": y[have],
                         "predicted": pred, "er": y[have] - pred, "ci_low": low, "ci_high": high})


def er_table(acc: pd.DataFrame, shifts: Mapping[str, str], baseline: pd.Series | Sequence[str],
             transform: Transform = LOGIT, n_boot: int = N_BOOT, level: float = CI_LEVEL,
             seed: int = SEED) -> pd.DataFrame:
    """Tidy ER rows ``(model, shift, id_acc, ood_acc, predicted, er, ci_low, ci_high)``.

    ``acc``: one row per model (index = model id), one column per test set, fractions (see
    :func:`wide_accuracies`). ``shifts``: OOD column → its ID column, e.g. ``{"imagenet-r":
    "imagenet-r-classes", "imagenet-v2": "imagenet"}``. ``baseline``: model ids or a boolean mask.
    Per shift, one baseline fit; models missing either accuracy are left out of that shift.
    CIs resample baseline models (:func:`bootstrap_lines`, same seed for every shift).
    """
    base = _as_mask(baseline, acc.index)
    parts = [_shift_rows(acc, ood, idc, base, transform, n_boot, level, seed) for ood, idc in shifts.items()]
    return pd.concat(parts, ignore_index=True)[ER_COLUMNS]


def er_average(table: pd.DataFrame) -> pd.DataFrame:
    """Mean of per-shift ER per model (Fang et al. 2022 average over shifts): columns
    ``model, er_mean, n_shifts``. Compare models only at equal ``n_shifts``."""
    g = table.groupby("model", sort=False)["er"]
    return pd.DataFrame({"er_mean": g.mean(), "n_shifts": g.size()}).reset_index()


def er_of_mean_accuracy(acc: pd.DataFrame, ood_cols: Sequence[str], id_col: str,
                        baseline: pd.Series | Sequence[str], **kwargs) -> pd.DataFrame:
    """Alternative average: ER of the *mean OOD accuracy* against one ID column (the y-axis of
    Fang et al.'s scatter plots, "average over 5 shifts"), one fit. Rows as :func:`er_table`, shift
    :data:`MEAN_SHIFT`; models missing any shift are dropped."""
    mean = acc[list(ood_cols)].mean(axis=1, skipna=False).rename(MEAN_SHIFT)
    return er_table(pd.concat([acc[[id_col]], mean], axis=1), {MEAN_SHIFT: id_col}, baseline, **kwargs)
