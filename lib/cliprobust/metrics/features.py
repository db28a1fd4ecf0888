"""Representation statistics: activation kurtosis and outlier feature dimensions.

"Interpreting CLIP" (Crabbé et al., TMLR 2024) find that robust zero-shot CLIP image encoders have
*outlier features*: a few representation dimensions whose activations are far larger than those
of the typical dimension, which shows up as high kurtosis (claims C13, C14). Every function takes
a feature matrix ``features`` of shape (n_samples, n_dims) — e.g. image embeddings before the
final L2 normalisation — and is pure numpy: no torch, no file I/O.
"""

from __future__ import annotations

import numpy as np
from ._validate import finite_args

#: Kurtosis convention. ``False`` = Pearson kurtosis m4 / m2² (a Gaussian reads 3), as in Elhage et
#: al. 2023 ("Privileged bases in the transformer residual stream"), the outlier-feature analysis
#: that Interpreting CLIP builds on; ``True`` = Fisher/excess kurtosis (Gaussian reads 0, scipy's
#: default). The paper text could not be checked here, so this is our declared choice; both use
#: the biased (population) moments, i.e. ``scipy.stats.kurtosis(..., bias=True)``.
KURTOSIS_FISHER: bool = False

#: Outlier-dimension rule: dimension j is an outlier feature when its mean absolute activation
#: E_x|f_j(x)| exceeds this many times the median of that quantity over all dimensions — "an order
#: of magnitude above the typical dimension". Our choice (the paper describes outliers "several
#: orders of magnitude above average"); i.i.d. Gaussian features give ratios of ~1 ± 0.1.
OUTLIER_RATIO_THRESHOLD: float = 10.0


def _features(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2 or f.shape[1] < 1:
        raise ValueError(f"features must be (n_samples >= 2, n_dims >= 1), got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("features contain NaN/inf: check the cached embeddings for overflow")
    return f


def _kurtosis(x: np.ndarray, axis: int, fisher: bool) -> np.ndarray:
    """m4 / m2² (− 3 if ``fisher``) along ``axis`` with biased central moments; NaN if m2 = 0."""
    centred = x - x.mean(axis=axis, keepdims=True)
    m2 = np.mean(centred**2, axis=axis)
    m4 = np.mean(centred**4, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)
    return k - 3.0 if fisher else k


@finite_args("features")
def activation_kurtosis(features: np.ndarray, fisher: bool = KURTOSIS_FISHER) -> np.ndarray:
    """Per-dimension kurtosis over samples: κ_j = m4_j / m2_j² (− 3 if ``fisher``); shape (n_dims,)."""
    return _kurtosis(_features(features), axis=0, fisher=fisher)


@finite_args("features")
def sample_kurtosis(features: np.ndarray, fisher: bool = KURTOSIS_FISHER) -> np.ndarray:
    """Per-sample kurtosis across dimensions (Elhage et al. 2023's measure); shape (n_samples,).

    An activation vector with a few huge coordinates has high kurtosis across its dimensions.
    """
    return _kurtosis(_features(features), axis=1, fisher=fisher)


@finite_args("features")
def mean_abs_activation(features: np.ndarray) -> np.ndarray:
    """Mean absolute activation per dimension, a_j = (1/n) Σ_i |f_ij|; shape (n_dims,)."""
    return np.mean(np.abs(_features(features)), axis=0)


@finite_args("features")
def activation_ratio(features: np.ndarray) -> np.ndarray:
    """a_j / median_k a_k: each dimension's mean |activation| relative to the median dimension."""
    a = mean_abs_activation(features)
    med = np.median(a)
    if med == 0:
        raise ValueError("the median dimension is never active (median mean |activation| = 0)")
    return a / med


@finite_args("features")
def outlier_dimensions(features: np.ndarray, threshold: float = OUTLIER_RATIO_THRESHOLD) -> np.ndarray:
    """Indices j (ascending) with activation_ratio_j > ``threshold`` (:data:`OUTLIER_RATIO_THRESHOLD`)."""
    return np.flatnonzero(activation_ratio(features) > threshold)


@finite_args("features")
def feature_summary(
    features: np.ndarray, threshold: float = OUTLIER_RATIO_THRESHOLD, fisher: bool = KURTOSIS_FISHER
) -> dict[str, float]:
    """One row of outlier-feature statistics for a model's features.

    Keys: ``n_samples, n_dims``; ``mean_kurtosis`` / ``max_kurtosis`` of the per-dimension
    kurtosis; ``mean_sample_kurtosis`` (across dimensions, averaged over samples);
    ``flat_kurtosis`` (of all activations pooled); ``max_activation_ratio``; ``n_outliers``.
    """
    f = _features(features)
    k_dim = activation_kurtosis(f, fisher)
    ratio = activation_ratio(f)
    return {
        "n_samples": int(f.shape[0]),
        "n_dims": int(f.shape[1]),
        "mean_kurtosis": float(np.nanmean(k_dim)),
        "max_kurtosis": float(np.nanmax(k_dim)),
        "mean_sample_kurtosis": float(np.nanmean(sample_kurtosis(f, fisher))),
        "flat_kurtosis": float(_kurtosis(f.ravel(), axis=0, fisher=fisher)),
        "max_activation_ratio": float(ratio.max()),
        "n_outliers": int(np.sum(ratio > threshold)),
    }
