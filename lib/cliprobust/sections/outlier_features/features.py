"""Outlier-feature statistics of cached image features, reduced one model at a time, and the published
ER they are joined with (section 07, :mod:`cliprobust.sections.outlier_features`).

Per cached model: per-dimension kurtosis, mean |activation| ratio to the median dimension, outlier
counts at several thresholds (``metrics.features``), in bounded memory (:func:`reduce_features`);
joined with the model's published effective robustness (notebook 01's ER of the mean accuracy over
V2, R, Sketch and A). A seeded synthetic check shows the detector on planted outliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ... import outputs, prompts, style, zoo
from ...metrics import features as F
from ...metrics._validate import check_finite
from ..effective_robustness.tables import per_model_table

#: Robust models of the study (zero-shot CLIP) and the less robust ones (ImageNet-trained, and CLIP
#: fine-tuned on ImageNet).
ROBUST_GROUPS: tuple[str, ...] = ("clip-zeroshot",)
LESS_ROBUST_GROUPS: tuple[str, ...] = ("imagenet", "clip-ft")
#: ER that orders models by robustness: ER of the mean accuracy over V2, R, Sketch, A (the 4 shifts
#: every zoo group has in the published tables), testbed baseline (notebook 01).
ER_COLUMN: str = "er_mean-shift-4"
#: Outlier-ratio thresholds (x the median dimension's mean |activation|): the headline
#: (``metrics.features.OUTLIER_RATIO_THRESHOLD`` = 10) and a lenient / strict variant.
OUTLIER_THRESHOLDS: tuple[float, ...] = (5.0, F.OUTLIER_RATIO_THRESHOLD, 20.0)
#: Kurtosis criterion of the ``criterion=kurtosis`` variant: mean per-sample kurtosis across the
#: embedding dimensions above this value (Gaussian features: 3) counts as heavy-tailed. A declared
#: choice of this project, not a number from the paper.
KURTOSIS_HIGH: float = 10.0


#: Rows of one model's features reduced at a time: the float64 working copies of a block are
#: ``REDUCE_ROWS x width x 8`` bytes (16 MiB at width 1024), so peak memory does not grow with the
#: number of images (50,000 ImageNet val images x 210 models at the full profile).
REDUCE_ROWS: int = 2048


@dataclass(frozen=True)
class FeatureStats:
    """What the section keeps of one model's features (never the per-image array): per-dimension
    kurtosis and activation ratio, and the scalar kurtoses of :func:`metrics.features.feature_summary`."""

    n_samples: int
    n_dims: int
    kurtosis: np.ndarray  # (n_dims,) per-dimension kurtosis over samples
    ratio: np.ndarray  # (n_dims,) mean |activation| / median dimension's
    mean_sample_kurtosis: float
    flat_kurtosis: float

    def row(self) -> dict[str, float]:
        """``metrics.features.feature_summary``'s keys plus the outlier count at every threshold of
        :data:`OUTLIER_THRESHOLDS`."""
        return {"n_samples": self.n_samples, "n_dims": self.n_dims,
                "mean_kurtosis": float(np.nanmean(self.kurtosis)), "max_kurtosis": float(np.nanmax(self.kurtosis)),
                "mean_sample_kurtosis": self.mean_sample_kurtosis, "flat_kurtosis": self.flat_kurtosis,
                "max_activation_ratio": float(self.ratio.max()),
                **{n_col(t): int(np.sum(self.ratio > t)) for t in OUTLIER_THRESHOLDS}}

    def profile(self) -> np.ndarray:
        """Activation ratios of all dimensions, sorted descending (for the figure)."""
        return np.sort(self.ratio)[::-1]


def _blocks(features: np.ndarray, rows: int):
    for i in range(0, features.shape[0], rows):
        block = np.asarray(features[i:i + rows], dtype=np.float64)
        check_finite("outlier_features.reduce_features()", "features", block)
        yield block


def _kurt(m2: np.ndarray | float, m4: np.ndarray | float, fisher: bool) -> np.ndarray:
    """m4 / m2² (− 3 if ``fisher``), NaN where m2 = 0 (``metrics.features``' convention)."""
    m2, m4 = np.asarray(m2, dtype=np.float64), np.asarray(m4, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)
    return k - 3.0 if fisher else k


def reduce_features(features: np.ndarray, rows: int = REDUCE_ROWS,
                    fisher: bool = F.KURTOSIS_FISHER) -> FeatureStats:
    """:class:`FeatureStats` of a (n_samples, n_dims) feature array -- typically a read-only memory
    map of the cache -- in two passes over blocks of ``rows`` rows (pass 1: means, mean |activation|,
    per-sample kurtosis; pass 2: central moments about those means), so memory stays bounded by the
    block size. Same numbers as ``metrics.features`` on the whole array (tested), up to float
    rounding of the summation order."""
    if features.ndim != 2 or features.shape[0] < 2 or features.shape[1] < 1:
        raise ValueError(f"features must be (n_samples >= 2, n_dims >= 1), got shape {features.shape}")
    n, d = features.shape
    total, total_abs = np.zeros(d), np.zeros(d)
    sk_sum, sk_n = 0.0, 0
    for b in _blocks(features, rows):
        total += b.sum(axis=0)
        total_abs += np.abs(b).sum(axis=0)
        c = b - b.mean(axis=1, keepdims=True)
        sk = _kurt(np.mean(c**2, axis=1), np.mean(c**4, axis=1), fisher)
        sk_sum, sk_n = sk_sum + float(np.nansum(sk)), sk_n + int(np.sum(~np.isnan(sk)))
    mean, mean_abs = total / n, total_abs / n
    grand = float(total.sum()) / (n * d)
    m2, m4, g2, g4 = np.zeros(d), np.zeros(d), 0.0, 0.0
    for b in _blocks(features, rows):
        c = b - mean
        m2 += np.sum(c**2, axis=0)
        m4 += np.sum(c**4, axis=0)
        c = b - grand
        g2 += float(np.sum(c**2))
        g4 += float(np.sum(c**4))
    med = np.median(mean_abs)
    if med == 0:
        raise ValueError("the median dimension is never active (median mean |activation| = 0)")
    return FeatureStats(int(n), int(d), _kurt(m2 / n, m4 / n, fisher), mean_abs / med,
                        sk_sum / sk_n if sk_n else float("nan"), float(_kurt(g2 / (n * d), g4 / (n * d), fisher)))


def model_stats(model: str, dataset: str, loader: Callable = outputs.load) -> FeatureStats | None:
    """:class:`FeatureStats` of ``model``'s cached image features on ``dataset`` (any prompt set:
    features do not depend on it), read memory-mapped and reduced block by block; None when there is
    no cache folder or no usable entry."""
    if not outputs.has_slot(model, dataset):
        return None
    for ps in dict.fromkeys((prompts.default_prompt_set(), *prompts.PROMPT_SETS)):
        try:
            out = loader(model, dataset, ps)
        except outputs.CacheMiss:
            continue
        return None if out.features is None else reduce_features(out.features)
    return None


@lru_cache(maxsize=1)
def published_er() -> pd.DataFrame:
    """Published ER (:data:`ER_COLUMN`) of every model of notebook 01's per-model table, with group,
    source and family (the robustness axis of C14); zero-shot rows only where the zoo's CLIP rule
    keeps them."""
    t = per_model_table()
    if "zoo_clip" in t:  # zero-shot rows: the zoo's CLIP rule (no SigLIP/CoCa/EVA, no near-chance rows)
        t = t[(t["group"] != "clip-zeroshot") | t["zoo_clip"].astype(bool)]
    return t.dropna(subset=[ER_COLUMN])[["model", "group", "pretrain_data", "arch_family", ER_COLUMN]].rename(
        columns={ER_COLUMN: "er"}).reset_index(drop=True)


def model_er() -> pd.Series:
    """Published ER per model id (:func:`published_er`)."""
    return published_er().set_index("model")["er"]


def n_col(threshold: float) -> str:
    """The feature-table column counting outlier dimensions above ``threshold`` x the median dimension."""
    return "n_outliers" if threshold == F.OUTLIER_RATIO_THRESHOLD else f"n_outliers_{threshold:g}x"


FEATURE_COLUMNS = ["model", "group", "pretrain_data", "arch_family", "n_samples", "n_dims", "mean_kurtosis",
                   "max_kurtosis", "mean_sample_kurtosis", "flat_kurtosis", "max_activation_ratio",
                   *[n_col(t) for t in OUTLIER_THRESHOLDS], "er"]


def feature_row(features: np.ndarray) -> dict[str, float]:
    """:meth:`FeatureStats.row` of ``features`` (:func:`reduce_features`)."""
    return reduce_features(features).row()


def feature_table(models: Sequence[str], dataset: str, loader: Callable = outputs.load,
                  er: pd.Series | None = None,
                  profiles: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """(:meth:`FeatureStats.row` per cached model with group, source, family and published ER; models
    without features). One model's features at a time, reduced (:func:`model_stats`); its sorted
    activation ratios go into ``profiles`` when given. Random-init models (``pretrained`` None) get no ER."""
    rows, missing = [], []
    for m in models:
        st = model_stats(m, dataset, loader)
        if st is None:
            missing.append(m)
            continue
        if profiles is not None:
            profiles[m] = st.profile()
        if er is None:
            er = model_er()
        e = zoo.get(m)
        # random-init entries share an id with published weights (timm test models): their ER is not theirs
        er_m = float(er.get(m, np.nan)) if e.pretrained is not None else np.nan
        rows.append({"model": m, "group": e.group, "pretrain_data": e.pretrain_data or "none",
                     "arch_family": style.model_family(m), **st.row(), "er": er_m})
    return pd.DataFrame(rows, columns=FEATURE_COLUMNS), missing


def activation_profile(features: np.ndarray) -> np.ndarray:
    """Activation ratios of all dimensions, sorted descending (for the figure)."""
    return reduce_features(features).profile()


#: Seeded synthetic check of the detector: i.i.d. Gaussian features, and the same with
#: :data:`SYNTHETIC_PLANTED` dimensions scaled by :data:`SYNTHETIC_SCALE` (planted outlier features).
SYNTHETIC_SHAPE: tuple[int, int] = (1000, 512)
SYNTHETIC_PLANTED: int = 4
SYNTHETIC_SCALE: float = 30.0
SYNTHETIC_SEED: int = 0


def synthetic_features(seed: int = SYNTHETIC_SEED) -> dict[str, np.ndarray]:
    """Gaussian features without and with planted outlier dimensions (the detector check's inputs)."""
    g = np.random.default_rng(seed).standard_normal(SYNTHETIC_SHAPE)
    planted = g.copy()
    planted[:, :SYNTHETIC_PLANTED] *= SYNTHETIC_SCALE
    return {"Gaussian": g, f"Gaussian + {SYNTHETIC_PLANTED} dims x{SYNTHETIC_SCALE:g}": planted}


def synthetic_check(seed: int = SYNTHETIC_SEED) -> pd.DataFrame:
    """:func:`feature_row` of the synthetic features (:func:`synthetic_features`)."""
    return pd.DataFrame([{"features": k, **feature_row(f)} for k, f in synthetic_features(seed).items()])


