"""Calibration: top-label ECE, reliability diagrams, NLL, Brier, temperature scaling.

Tu et al. (NeurIPS 2023) §6 compare the calibration of CLIP with ImageNet models, before and after
temperature scaling (Guo et al. 2017, "On calibration of modern neural networks"). Inputs are
per-sample logits (n, K) with integer labels, or — for published tables that keep only the top-1
prediction, such as ImageNet-X's ``model_predictions`` — top-1 ``(confidence, correct)`` arrays.

Pure numpy/pandas/scipy: no torch, no file I/O.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .ood import log_softmax, logsumexp, softmax
from ._validate import finite_args

#: Number of ECE bins. 15 equal-width bins is the common default (torchmetrics
#: ``calibration_error``, OpenOOD, ImageNet-X ``estimated_calibration_error``; Guo et al. 2017).
#: docs/protocols.md §8.
ECE_BINS: int = 15

Binning = Literal["equal_width", "equal_mass"]

#: Default binning. ``"equal_width"``: edges linspace(0, 1, n_bins + 1). ``"equal_mass"``: edges at
#: the empirical quantiles of the confidences (≈ n / n_bins samples per bin; Nixon et al. 2019).
#: Both use half-open bins (lower, upper], the first bin also holding its lower edge — Guo et
#: al.'s and ImageNet-X's rule. torchmetrics uses [lower, upper) and gives confidence == 1.0 a bin
#: of its own; the two agree unless a confidence sits exactly on an edge.
DEFAULT_BINNING: Binning = "equal_width"

#: Fraction of a test set used to fit the temperature; the metrics are reported on the remaining
#: samples (docs/protocols.md §8: fit T on a held-out split, report on the rest). 20 % of ImageNet val
#: is 10,000 images — ample for one scalar parameter (the NLL curve in T is smooth and convex in
#: 1/T) — and leaves 40,000 images for the reported numbers.
TEMPERATURE_SPLIT: float = 0.2

#: Seed of the random fit/report split (numpy ``default_rng``), so the split is reproducible.
TEMPERATURE_SEED: int = 0

#: Search interval for T. Covers logit-scaled CLIP outputs (T ≈ 1) as well as raw cosine
#: similarities (T ≈ 0.01) and over-/under-confident classifiers.
TEMPERATURE_BOUNDS: tuple[float, float] = (1e-3, 1e3)

#: How CLIP zero-shot logits are formed for calibration metrics: ``"learned"`` = cosine similarity
#: × exp(logit_scale) (+ logit_bias for SigLIP), i.e. the scale the model was trained with — not the
#: constant 100 hard-coded by CLIP_benchmark / open_clip's zero-shot eval (docs/protocols.md §4).
#: Accuracy does not depend on the scale; ECE, NLL, Brier and MSP do. See :func:`clip_logits`.
CLIP_LOGIT_SCALE_CONVENTION: str = "learned"


# --------------------------------------------------------------------------- inputs


@finite_args("cosine")
def clip_logits(cosine: np.ndarray, logit_scale: float, logit_bias: float = 0.0) -> np.ndarray:
    """CLIP logits z = s · logit_scale + logit_bias from cosine similarities s.

    ``logit_scale`` is the *exponentiated* learned scale (``model.logit_scale.exp()``, ≤ 100 for
    OpenAI CLIP); see :data:`CLIP_LOGIT_SCALE_CONVENTION`.
    """
    if logit_scale <= 0:
        raise ValueError(f"logit_scale must be the positive exp(logit_scale), got {logit_scale}")
    return np.asarray(cosine, dtype=np.float64) * logit_scale + logit_bias


def _labels(labels: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {n} integer class indices, got {y.dtype} array of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}); got range [{y.min()}, {y.max()}]")
    return y


@finite_args("probs")
def top_label(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-label (confidence, correct): max_k p_k and 1[argmax_k p_k = y]."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n_samples, n_classes), got shape {p.shape}")
    y = _labels(labels, p.shape[0], p.shape[1])
    return p.max(axis=1), p.argmax(axis=1) == y


def _conf_correct(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D (confidence, correct); a 2-D ``confidence`` is read as probs with labels."""
    if np.ndim(confidence) == 2:
        conf, hit = top_label(confidence, correct)
        return conf, hit.astype(np.float64)
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    corr = np.asarray(correct).ravel()
    if conf.shape != corr.shape or conf.size == 0:
        raise ValueError(f"confidence and correct must be equal-length, non-empty; got {conf.shape}, {corr.shape}")
    if not np.all((conf >= 0) & (conf <= 1)):
        raise ValueError("confidence must lie in [0, 1] (probabilities, not logits or percent)")
    if not np.all((corr == 0) | (corr == 1)):
        raise ValueError("correct must be boolean / 0-1")
    return conf, corr.astype(np.float64)


# --------------------------------------------------------------------------- ECE


@finite_args("confidence")
def bin_edges(confidence: np.ndarray, n_bins: int = ECE_BINS, binning: Binning = DEFAULT_BINNING) -> np.ndarray:
    """The n_bins + 1 bin edges: equal-width on [0, 1], or confidence quantiles (equal-mass)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if binning == "equal_width":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if binning == "equal_mass":
        return np.quantile(np.asarray(confidence, dtype=np.float64), np.linspace(0.0, 1.0, n_bins + 1))
    raise ValueError(f"unknown binning {binning!r}; use 'equal_width' or 'equal_mass'")


def _bin_stats(conf: np.ndarray, corr: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-bin (count, mean confidence, accuracy) with bins (lower, upper]; first bin closed."""
    n_bins = edges.size - 1
    idx = np.searchsorted(edges[1:-1], conf, side="left")
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=corr, minlength=n_bins) / count
    return count, mean_conf, acc


@finite_args("confidence")
def reliability_diagram(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS, binning: Binning = DEFAULT_BINNING
) -> pd.DataFrame:
    """Tidy reliability table: ``bin, lower, upper, confidence, accuracy, count`` (empty bins: NaN).

    ``confidence``/``correct`` are top-1 arrays, or (probs, labels) — see :func:`ece`.
    """
    conf, corr = _conf_correct(confidence, correct)
    edges = bin_edges(conf, n_bins, binning)
    count, mean_conf, acc = _bin_stats(conf, corr, edges)
    return pd.DataFrame({
        "bin": np.arange(n_bins), "lower": edges[:-1], "upper": edges[1:],
        "confidence": mean_conf, "accuracy": acc, "count": count.astype(np.int64),
    })


@finite_args("confidence")
def ece(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS, binning: Binning = DEFAULT_BINNING
) -> float:
    """Top-label expected calibration error Σ_b (n_b / n) |acc_b − conf_b| (Guo et al. 2017).

    Pass top-1 ``confidence`` in [0, 1] and ``correct`` (bool), or class probabilities (n, K) as
    ``confidence`` with integer labels as ``correct``. Bins: :data:`ECE_BINS`, :data:`DEFAULT_BINNING`.
    """
    conf, corr = _conf_correct(confidence, correct)
    count, mean_conf, acc = _bin_stats(conf, corr, bin_edges(conf, n_bins, binning))
    full = count > 0
    return float(np.sum(count[full] / conf.size * np.abs(acc[full] - mean_conf[full])))


# --------------------------------------------------------------------------- proper scores


def _logits(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits must be (n_samples, n_classes), got shape {z.shape}")
    return z


@finite_args("logits")
def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood −(1/n) Σ_i log softmax(z_i / T)_{y_i} (stable log-softmax)."""
    z = _logits(logits)
    y = _labels(labels, z.shape[0], z.shape[1])
    logp = log_softmax(z / temperature)
    return float(-np.mean(logp[np.arange(z.shape[0]), y]))


@finite_args("probs")
def brier(probs: np.ndarray, labels: np.ndarray) -> float:
    """Multiclass Brier score (1/n) Σ_i Σ_k (p_ik − 1[y_i = k])² (Brier 1950), in [0, 2]."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n_samples, n_classes), got shape {p.shape}")
    y = _labels(labels, p.shape[0], p.shape[1])
    sq = np.sum(p**2, axis=1) - 2.0 * p[np.arange(p.shape[0]), y] + 1.0
    return float(np.mean(sq))


@finite_args("logits")
def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy mean_i 1[argmax_k z_ik = y_i] (a fraction)."""
    z = _logits(logits)
    return float(np.mean(z.argmax(axis=1) == _labels(labels, z.shape[0], z.shape[1])))


# --------------------------------------------------------------------------- temperature scaling


@finite_args("logits")
def temperature_scale(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled logits z / T (Guo et al. 2017); argmax and accuracy are unchanged."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return _logits(logits) / temperature


@finite_args("logits")
def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = TEMPERATURE_BOUNDS
) -> float:
    """T* = argmin_T NLL(z / T, y), by bounded Brent search over log T within ``bounds``.

    NLL is convex in 1/T, hence unimodal in log T, so the bounded scalar search finds the global
    minimum (to ~1e-5 in log T). Warns when T* sits at a bound (the optimum lies outside it).
    """
    z = _logits(logits)
    y = _labels(labels, z.shape[0], z.shape[1])
    z_true = z[np.arange(z.shape[0]), y]

    def objective(log_t: float) -> float:
        t = np.exp(log_t)
        return float(np.mean(logsumexp(z / t, axis=1) - z_true / t))

    lo, hi = np.log(bounds)
    res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    if min(res.x - lo, hi - res.x) < 1e-3:
        warnings.warn(f"fitted temperature {np.exp(res.x):.4g} is at the search bound {bounds}", stacklevel=2)
    return float(np.exp(res.x))


def split_indices(n: int, fit_fraction: float = TEMPERATURE_SPLIT, seed: int = TEMPERATURE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (fit, report) index split: round(fit_fraction · n) fit samples, rest report."""
    if not 0 < fit_fraction < 1:
        raise ValueError(f"fit_fraction must be in (0, 1), got {fit_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_fit = int(round(fit_fraction * n))
    if n_fit == 0 or n_fit == n:
        raise ValueError(f"{n} samples cannot be split {fit_fraction:.0%} / rest: need more samples")
    return np.sort(perm[:n_fit]), np.sort(perm[n_fit:])


@finite_args("logits")
def calibration_metrics(
    logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0, n_bins: int = ECE_BINS
) -> dict[str, float]:
    """accuracy, ECE (top-label, equal-width), NLL and Brier of softmax(z / T)."""
    z = temperature_scale(logits, temperature)
    p = softmax(z)
    return {"accuracy": accuracy(z, labels), "ece": ece(p, labels, n_bins=n_bins),
            "nll": nll(z, labels), "brier": brier(p, labels)}


@finite_args("logits")
def calibration_report(
    logits: np.ndarray,
    labels: np.ndarray,
    fit_fraction: float = TEMPERATURE_SPLIT,
    seed: int = TEMPERATURE_SEED,
    n_bins: int = ECE_BINS,
) -> pd.DataFrame:
    """Before/after temperature scaling on the held-out report split.

    T is fitted by :func:`fit_temperature` on a seeded random ``fit_fraction`` of the samples
    (:data:`TEMPERATURE_SPLIT`); both rows are measured on the remaining samples. Columns
    ``stage`` ("uncalibrated", "temperature_scaled"), ``temperature, n_fit, n_eval, accuracy,
    ece, nll, brier``.
    """
    z = _logits(logits)
    y = _labels(labels, z.shape[0], z.shape[1])
    fit, rest = split_indices(z.shape[0], fit_fraction, seed)
    t = fit_temperature(z[fit], y[fit])
    rows = [
        {"stage": stage, "temperature": temp, "n_fit": fit.size, "n_eval": rest.size,
         **calibration_metrics(z[rest], y[rest], temperature=temp, n_bins=n_bins)}
        for stage, temp in (("uncalibrated", 1.0), ("temperature_scaled", t))
    ]
    return pd.DataFrame(rows)
