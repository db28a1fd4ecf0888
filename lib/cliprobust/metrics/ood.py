"""Out-of-distribution detection: post-hoc scores and threshold-free / threshold metrics.

Tu et al. (NeurIPS 2023) §5 compare CLIP with ImageNet models on OOD detection with ImageNet-1K as
in-distribution (ID). Every score here follows one sign convention: **higher = more
in-distribution**. Scores are computed from a model's per-sample outputs (logits, or for CLIP
zero-shot the cosine similarities to the class text embeddings); metrics take 1-D arrays of ID
and OOD scores.

Scores: :func:`msp` (Hendrycks & Gimpel 2017), :func:`max_logit` (Hendrycks et al. 2022),
:func:`energy` (Liu et al. 2020), :func:`mcm` (Ming et al. 2022), :func:`neg_entropy`.
Metrics: :func:`auroc`, :func:`aupr_id_positive` / :func:`aupr_ood_positive`,
:func:`fpr_at_95_tpr_id_positive` / :func:`fpr_at_95_tpr_ood_positive`, :func:`ood_table`.

Pure numpy/pandas: no torch, no file I/O.
"""

from __future__ import annotations

import functools
from typing import Literal, Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from ._validate import finite_args

#: Softmax temperature of the MCM score (Ming et al. 2022, "Delving into OOD detection with
#: vision-language representations"): MCM = max_k softmax(cos(x, t_k) / T) over **raw cosine
#: similarities** (not multiplied by CLIP's logit scale), and the paper's default is T = 1.
#: With T = 1 the softmax over cosines in [-1, 1] is nearly flat, so MCM values sit close to 1/K;
#: only their ranking matters for AUROC/FPR. docs/protocols.md §4.
MCM_TEMPERATURE: float = 1.0

#: Default temperature of the energy score E(x) = T·logsumexp(logits / T) (Liu et al. 2020, T = 1).
ENERGY_TEMPERATURE: float = 1.0

#: Target true-positive rate of the FPR@TPR metrics (the field's "FPR@95").
TPR_LEVEL: float = 0.95

FprConvention = Literal["id_positive", "ood_positive"]

#: Which FPR@95 the library reports by default (docs/protocols.md §1). ``"id_positive"``: ID is the
#: positive class; the threshold keeps 95 % of ID samples and the FPR is the fraction of OOD
#: samples still accepted as ID. This is the convention of Hendrycks & Gimpel, MCM (Ming et al.
#: 2022), and NINCO (Bitterwolf et al. 2023) — the CLIP OOD literature Tu et al. compare with —
#: so our numbers are comparable with the NINCO table in the data mirror. The alternative
#: ``"ood_positive"`` (OpenOOD, pytorch-ood) is :func:`fpr_at_95_tpr_ood_positive`.
DEFAULT_FPR_CONVENTION: FprConvention = "id_positive"


# --------------------------------------------------------------------------- numerics


@finite_args("x")
def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log Σ_k exp(x_k) along ``axis`` (max-shift trick)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


@finite_args("logits")
def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z)_k = z_k − logsumexp(z), computed stably."""
    z = np.asarray(logits, dtype=np.float64)
    return z - np.expand_dims(logsumexp(z, axis=axis), axis)


@finite_args("logits")
def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(z)_k = exp(z_k) / Σ_j exp(z_j), computed stably."""
    return np.exp(log_softmax(logits, axis=axis))


def _as_2d(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_samples, n_classes) array, got shape {a.shape}")
    return a


# --------------------------------------------------------------------------- scores


@finite_args("logits")
def msp(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Maximum softmax probability max_k softmax(z / T)_k (Hendrycks & Gimpel 2017)."""
    z = _as_2d(logits, "logits") / temperature
    return np.exp(np.max(log_softmax(z), axis=1))


@finite_args("logits")
def max_logit(logits: np.ndarray) -> np.ndarray:
    """Maximum logit max_k z_k (Hendrycks et al. 2022, "Scaling OOD detection")."""
    return np.max(_as_2d(logits, "logits"), axis=1)


@finite_args("logits")
def energy(logits: np.ndarray, temperature: float = ENERGY_TEMPERATURE) -> np.ndarray:
    """Negative free energy T·logsumexp(z / T) (Liu et al. 2020); higher = more ID."""
    return temperature * logsumexp(_as_2d(logits, "logits") / temperature, axis=1)


@finite_args("cosine_similarities")
def mcm(cosine_similarities: np.ndarray, temperature: float = MCM_TEMPERATURE) -> np.ndarray:
    """Maximum Concept Matching max_k softmax(s / T)_k on raw cosine similarities s (Ming et al. 2022).

    Pass cosine similarities between L2-normalised image and class-text embeddings (values in
    [-1, 1]); do **not** pass CLIP logits (cosine × logit scale) — see :data:`MCM_TEMPERATURE`.
    """
    s = _as_2d(cosine_similarities, "cosine_similarities")
    if np.nanmax(np.abs(s)) > 1.0 + 1e-3:
        raise ValueError(
            "mcm expects raw cosine similarities in [-1, 1]; got values up to "
            f"{np.nanmax(np.abs(s)):.3g}. Divide CLIP logits by the logit scale first."
        )
    return msp(s, temperature=temperature)


@finite_args("logits")
def neg_entropy(logits: np.ndarray) -> np.ndarray:
    """Negative predictive entropy Σ_k p_k log p_k of p = softmax(z); higher = more ID."""
    logp = log_softmax(_as_2d(logits, "logits"))
    return np.sum(np.exp(logp) * logp, axis=1)


# --------------------------------------------------------------------------- metrics


def _check_scores(id_scores: np.ndarray, ood_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s_id = np.asarray(id_scores, dtype=np.float64).ravel()
    s_ood = np.asarray(ood_scores, dtype=np.float64).ravel()
    if s_id.size == 0 or s_ood.size == 0:
        raise ValueError(f"need ID and OOD scores, got {s_id.size} ID and {s_ood.size} OOD samples")
    if not (np.all(np.isfinite(s_id)) and np.all(np.isfinite(s_ood))):
        raise ValueError("scores contain NaN/inf: clean or drop those samples before scoring")
    return s_id, s_ood


@finite_args("id_scores", "ood_scores")
def auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """Area under the ROC curve for separating ID (positive, higher score) from OOD.

    Computed as the Mann–Whitney U statistic: P(s_ID > s_OOD) + ½·P(s_ID = s_OOD), with mid-ranks
    for ties. Symmetric in the positive class: swapping roles (and negating scores) gives the same value.
    """
    s_id, s_ood = _check_scores(id_scores, ood_scores)
    ranks = _midranks(np.concatenate([s_id, s_ood]))
    n_id, n_ood = s_id.size, s_ood.size
    u = ranks[:n_id].sum() - n_id * (n_id + 1) / 2.0
    return float(u / (n_id * n_ood))


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends + 1) / 2.0  # mean of 1-based positions start+1 .. end
    ranks = np.empty_like(xs)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def _average_precision(pos: np.ndarray, neg: np.ndarray) -> float:
    """AP = Σ_n (R_n − R_{n−1}) P_n over distinct thresholds, positives scoring higher."""
    scores = np.concatenate([pos, neg])
    is_pos = np.r_[np.ones(pos.size), np.zeros(neg.size)]
    order = np.argsort(-scores, kind="mergesort")
    scores, is_pos = scores[order], is_pos[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tp = np.cumsum(is_pos)[last_of_value]
    predicted = last_of_value + 1.0
    recall = tp / pos.size
    precision = tp / predicted
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@finite_args("id_scores", "ood_scores")
def aupr_id_positive(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """AUPR-In: average precision with ID as positive and the score as is (step-wise AP).

    AP = Σ_n (R_n − R_{n−1}) P_n (sklearn ``average_precision_score``); OpenOOD instead
    integrates the PR curve with the trapezoid rule, which reads slightly higher.
    """
    s_id, s_ood = _check_scores(id_scores, ood_scores)
    return _average_precision(s_id, s_ood)


@finite_args("id_scores", "ood_scores")
def aupr_ood_positive(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """AUPR-Out: average precision with OOD as positive, ranked by the negated score."""
    s_id, s_ood = _check_scores(id_scores, ood_scores)
    return _average_precision(-s_ood, -s_id)


@finite_args("id_scores", "ood_scores")
def fpr_at_95_tpr_id_positive(
    id_scores: np.ndarray, ood_scores: np.ndarray, tpr: float = TPR_LEVEL
) -> float:
    """FPR on OOD at the threshold that keeps ``tpr`` of ID samples (ID positive; MCM/NINCO).

    Threshold t = the (1 − tpr) quantile of the ID scores with numpy's default linear
    interpolation; FPR = fraction of OOD scores **≥ t** (NINCO ``utils.fpr_at_tpr``: ties with the
    threshold count as accepted-as-ID, i.e. as false positives). One deliberate difference: NINCO
    passes ``1 - 0.95`` = 0.050000000000000044, which lifts t a hair (~1e-15) above the order
    statistic it lands on; we round the level to 0.05, so results differ only when an OOD score
    exactly equals that ID score.
    """
    s_id, s_ood = _check_scores(id_scores, ood_scores)
    threshold = np.quantile(s_id, round(1.0 - tpr, 12))
    return float(np.mean(s_ood >= threshold))


@finite_args("id_scores", "ood_scores")
def fpr_at_95_tpr_ood_positive(
    id_scores: np.ndarray, ood_scores: np.ndarray, tpr: float = TPR_LEVEL
) -> float:
    """FPR on ID at the threshold that detects ``tpr`` of OOD samples (OOD positive; OpenOOD).

    A sample is flagged OOD when its score ≤ t; t is the smallest OOD score value with
    mean(s_OOD ≤ t) ≥ tpr (the first ROC point reaching the TPR, as OpenOOD's
    ``fpr_list[argmax(tpr_list >= 0.95)]`` on ``roc_curve(ood, -score)``); FPR = mean(s_ID ≤ t).
    OpenOOD's literal call keeps sklearn's ``drop_intermediate=True``, which can drop that ROC
    point when it lies on a straight (tied-score) segment and then reports a higher FPR; with
    untied scores the two agree.
    """
    s_id, s_ood = _check_scores(id_scores, ood_scores)
    sorted_ood = np.sort(s_ood)
    reached = np.arange(1, sorted_ood.size + 1) / sorted_ood.size >= tpr
    threshold = sorted_ood[int(np.argmax(reached))]
    return float(np.mean(s_id <= threshold))


@finite_args("id_scores", "ood_scores")
def fpr_at_95_tpr(
    id_scores: np.ndarray,
    ood_scores: np.ndarray,
    convention: FprConvention = DEFAULT_FPR_CONVENTION,
    tpr: float = TPR_LEVEL,
) -> float:
    """FPR@``tpr`` in the named convention (default :data:`DEFAULT_FPR_CONVENTION`)."""
    funcs = {"id_positive": fpr_at_95_tpr_id_positive, "ood_positive": fpr_at_95_tpr_ood_positive}
    if convention not in funcs:
        raise ValueError(f"unknown FPR convention {convention!r}; use one of {sorted(funcs)}")
    return funcs[convention](id_scores, ood_scores, tpr=tpr)


#: Metrics reported by :func:`ood_table`, name → function(id_scores, ood_scores).
OOD_METRICS = {
    "auroc": auroc,
    "aupr_in": aupr_id_positive,
    "aupr_out": aupr_ood_positive,
    "fpr95_id_positive": fpr_at_95_tpr_id_positive,
    "fpr95_ood_positive": fpr_at_95_tpr_ood_positive,
}


@finite_args("id_scores")
def ood_table(id_scores: np.ndarray, ood_scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Tidy table of OOD metrics: one row per (ood_dataset, metric).

    Columns ``ood_dataset, metric, value, n_id, n_ood``; metrics are :data:`OOD_METRICS`
    (all fractions in [0, 1]). ``ood_scores`` maps an OOD set name to its scores.
    """
    s_id = np.asarray(id_scores, dtype=np.float64).ravel()
    rows = [
        {"ood_dataset": name, "metric": metric, "value": fn(s_id, s_ood),
         "n_id": s_id.size, "n_ood": np.asarray(s_ood).size}
        for name, s_ood in ood_scores.items()
        for metric, fn in OOD_METRICS.items()
    ]
    return pd.DataFrame(rows, columns=["ood_dataset", "metric", "value", "n_id", "n_ood"])


# --------------------------------------------------------------------------- AUROC uncertainty


def hanley_mcneil_se(auroc: np.ndarray | float, n_id: np.ndarray | int, n_ood: np.ndarray | int) -> np.ndarray:
    """Standard error of an AUROC from its value and the two sample sizes (Hanley & McNeil 1982,
    Radiology 143:29, eq. 1 with their exponential approximations Q1 = A/(2-A), Q2 = 2A^2/(1+A)).
    Exact for exponentially distributed scores; it underestimates the spread of binormal scores
    at high AUROC (by ~25 % at A = 0.92, see the tests), hence :func:`auroc_se`."""
    a = np.clip(np.asarray(auroc, dtype=float), 1e-9, 1 - 1e-9)
    return _auroc_se_from_q(a, a / (2 - a), 2 * a ** 2 / (1 + a), n_id, n_ood)


def _auroc_se_from_q(a: np.ndarray, q1: np.ndarray, q2: np.ndarray, n_id: np.ndarray | int,
                     n_ood: np.ndarray | int) -> np.ndarray:
    """Hanley-McNeil eq. 1: Var = [A(1-A) + (n_id-1)(Q1-A^2) + (n_ood-1)(Q2-A^2)] / (n_id n_ood), with
    Q1 = P(two ID scores both above one OOD score), Q2 = P(one ID score above two OOD scores)."""
    n1, n2 = np.asarray(n_id, dtype=float), np.asarray(n_ood, dtype=float)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a ** 2) + (n2 - 1) * (q2 - a ** 2)) / (n1 * n2)
    return np.sqrt(np.maximum(var, 0.0))


@functools.lru_cache(maxsize=1)
def _binormal_q_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A grid, Q1, Q2) of the equal-variance binormal model, by quadrature on a fixed grid (once)."""
    a = np.linspace(1e-4, 1 - 1e-4, 2001)
    d = np.sqrt(2) * sps.norm.ppf(a)
    y = np.linspace(-10, 10, 2001)[:, None]
    w = sps.norm.pdf(y)
    q1 = np.trapezoid(w * sps.norm.cdf(d - y) ** 2, y, axis=0)
    q2 = np.trapezoid(w * sps.norm.cdf(y + d) ** 2, y, axis=0)
    return a, q1, q2


def binormal_se(auroc: np.ndarray | float, n_id: np.ndarray | int, n_ood: np.ndarray | int) -> np.ndarray:
    """SE of an AUROC if the scores were equal-variance normal (ID ~ N(d, 1), OOD ~ N(0, 1),
    A = Phi(d / sqrt 2)): Q1 = E_Y[Phi(d - Y)^2], Q2 = E_X[Phi(X)^2] (quadrature, interpolated in A),
    then Hanley-McNeil eq. 1."""
    grid, q1, q2 = _binormal_q_table()
    a = np.clip(np.asarray(auroc, dtype=float), grid[0], grid[-1])
    return _auroc_se_from_q(a, np.interp(a, grid, q1), np.interp(a, grid, q2), n_id, n_ood)


def auroc_se(auroc: np.ndarray | float, n_id: np.ndarray | int, n_ood: np.ndarray | int) -> np.ndarray:
    """Image-sampling SE of an AUROC where per-image scores are not published (NINCO's results
    file): the larger of the exponential (:func:`hanley_mcneil_se`) and the equal-variance binormal
    (:func:`binormal_se`) approximations -- the conservative choice between the two standard score
    models. For a mean over k classes with disjoint OOD images and a shared ID set the class errors
    are combined as independent (:func:`ninco_auroc_se`), ignoring the small ID-side correlation."""
    return np.maximum(hanley_mcneil_se(auroc, n_id, n_ood), binormal_se(auroc, n_id, n_ood))
