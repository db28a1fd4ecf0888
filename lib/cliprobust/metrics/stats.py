"""Resampling, intervals and tests: every bootstrap and interval of the project goes through here.

Pure numpy/scipy, no torch, no file access. Conventions (declared once):

- :data:`N_BOOT` = 1000 seeded resamples and :data:`SEED` = 0 (imagenet-testbed's
  ``num_bootstrap_samples=1000``); :data:`CI_LEVEL` = 0.95.
- Intervals are percentile intervals of the bootstrap distribution unless a function says otherwise
  (:func:`bca_interval` is the bias-corrected and accelerated alternative, cross-checked against
  ``scipy.stats.bootstrap``).
- Binomial intervals are Wilson score intervals (Wilson 1927), which keep coverage near 0 and 1
  where the normal approximation fails.
- Multiple comparisons: Holm's step-down correction (Holm 1979), which controls the family-wise
  error rate without independence assumptions.

The API in one list: :func:`resample_indices`, :func:`percentile_interval`, :func:`bootstrap`,
:func:`bca_interval`, :func:`cluster_mean_interval`, :func:`pooled_within_sd`, :func:`wilson_interval`,
:func:`binomial_draws`, :func:`correlation_interval`, :func:`rowwise_correlation`,
:func:`fisher_interval`, :func:`holm`, :func:`line_equality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
from scipy import stats as sps

from ._validate import finite_args

#: Bootstrap defaults: 1000 seeded resamples (imagenet-testbed ``num_bootstrap_samples=1000``).
N_BOOT: int = 1000
#: Seed of every resampling in the project (results are reproducible run to run).
SEED: int = 0
#: Two-sided confidence level of every interval.
CI_LEVEL: float = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval at ``level``."""

    value: float
    low: float
    high: float
    level: float = CI_LEVEL

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0."""
        return bool(self.low > 0 or self.high < 0)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.value, self.low, self.high)


def resample_indices(n: int, n_boot: int = N_BOOT, seed: int = SEED,
                     strata: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, n) row indices drawn with replacement; with ``strata`` each stratum is resampled
    within itself (so group sizes stay fixed, as in a paired design with fixed groups)."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    strata = np.asarray(strata)
    out = np.empty((n_boot, n), dtype=np.int64)
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        out[:, members] = members[rng.integers(0, members.size, size=(n_boot, members.size))]
    return out


def percentile_interval(draws: np.ndarray, level: float = CI_LEVEL, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap ``draws`` along ``axis`` (NaN draws ignored; without NaN the
    vectorised ``np.percentile`` is used — ``nanpercentile`` loops over columns)."""
    tail = 100 * (1 - level) / 2
    draws = np.asarray(draws, dtype=float)
    pct = np.percentile if not np.isnan(draws).any() else np.nanpercentile
    low, high = pct(draws, [tail, 100 - tail], axis=axis)
    return low, high


def bootstrap(statistic: Callable[..., float], *samples: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED,
              level: float = CI_LEVEL, strata: np.ndarray | None = None) -> Interval:
    """Paired percentile bootstrap of ``statistic(*samples)``: the same rows of every sample are drawn
    together (e.g. per-image correctness of two models, or x and y of a correlation)."""
    arrays = [np.asarray(s) for s in samples]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"paired samples need equal lengths, got {[len(a) for a in arrays]}")
    idx = resample_indices(n, n_boot, seed, strata)
    draws = np.array([statistic(*(a[i] for a in arrays)) for i in idx], dtype=float)
    low, high = percentile_interval(draws, level)
    return Interval(float(statistic(*arrays)), float(low), float(high), level)


def bca_interval(statistic: Callable[..., float], *samples: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED,
                 level: float = CI_LEVEL) -> Interval:
    """Bias-corrected and accelerated (BCa) interval (Efron 1987) of a paired statistic; the
    acceleration comes from the jackknife. Matches ``scipy.stats.bootstrap(method='BCa')`` up to
    Monte-Carlo error."""
    arrays = [np.asarray(s) for s in samples]
    n = len(arrays[0])
    theta = float(statistic(*arrays))
    idx = resample_indices(n, n_boot, seed)
    draws = np.array([statistic(*(a[i] for a in arrays)) for i in idx], dtype=float)
    z0 = sps.norm.ppf(np.clip(np.mean(draws < theta), 1 / (n_boot + 1), n_boot / (n_boot + 1)))
    keep = np.ones(n, dtype=bool)
    jack = np.empty(n)
    for i in range(n):
        keep[i] = False
        jack[i] = statistic(*(a[keep] for a in arrays))
        keep[i] = True
    d = jack.mean() - jack
    denom = 6.0 * (d ** 2).sum() ** 1.5
    accel = (d ** 3).sum() / denom if denom > 0 else 0.0
    z = sps.norm.ppf([(1 - level) / 2, 1 - (1 - level) / 2])
    adj = sps.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.nanpercentile(draws, 100 * adj)
    return Interval(theta, float(low), float(high), level)


@finite_args("values")
def cluster_mean_interval(values: np.ndarray, clusters: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED,
                          level: float = CI_LEVEL) -> Interval:
    """Mean over cluster means, with a percentile interval from resampling whole clusters (so
    many near-identical members of one cluster, e.g. one pretraining source, count once)."""
    values = np.asarray(values, dtype=float)
    clusters = np.asarray(clusters)
    names = np.unique(clusters)
    means = np.array([values[clusters == c].mean() for c in names])
    idx = resample_indices(means.size, n_boot, seed)
    low, high = percentile_interval(means[idx].mean(axis=1), level)
    return Interval(float(means.mean()), float(low), float(high), level)


@finite_args("values")
def pooled_within_sd(values: np.ndarray, groups: np.ndarray) -> float:
    """Pooled within-group standard deviation: sqrt(sum_g sum_i (x_gi - mean_g)^2 / (N - G)),
    the residual SD of a one-way ANOVA; groups of one member add no degrees of freedom."""
    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups)
    ss, dof = 0.0, 0
    for g in np.unique(groups):
        v = values[groups == g]
        ss += float(((v - v.mean()) ** 2).sum())
        dof += v.size - 1
    return float(np.sqrt(ss / dof)) if dof > 0 else float("nan")


def wilson_interval(successes: np.ndarray | int, n: np.ndarray | int, level: float = CI_LEVEL
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (vectorised); agrees with
    ``statsmodels.stats.proportion.proportion_confint(method='wilson')``."""
    k, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    z = sps.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    return centre - half, centre + half


def binomial_draws(p: np.ndarray | float, n: np.ndarray | int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """(n_boot, *shape) parametric-bootstrap draws of accuracies ``p`` measured on ``n`` images: the
    image-sampling error of a published accuracy when per-image decisions are not available."""
    p, n = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(n))
    rng = np.random.default_rng(seed)
    return rng.binomial(n.astype(np.int64), np.clip(p, 0, 1), size=(n_boot, *p.shape)) / n


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of (B, n) arrays; NaN where a row is constant."""
    da = a - a.mean(axis=1, keepdims=True)
    db = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (da * db).sum(axis=1) / denom, np.nan)


def _rowwise_corr(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """Row-wise correlation; Spearman = Pearson of mid-ranks (ties averaged, as ``scipy.stats.spearmanr``)."""
    if method == "spearman":
        return _rowwise_pearson(sps.rankdata(a, axis=1), sps.rankdata(b, axis=1))
    if method == "pearson":
        return _rowwise_pearson(a, b)
    raise ValueError(f"unknown correlation {method!r}: 'spearman' or 'pearson'")


@finite_args("x", "y")
def correlation_interval(x: np.ndarray, y: np.ndarray, method: str = "spearman", n_boot: int = N_BOOT,
                         seed: int = SEED, level: float = CI_LEVEL) -> Interval:
    """Correlation of paired ``x, y`` with a percentile interval from resampling pairs (models),
    vectorised over resamples. Degenerate resamples (constant x or y) give NaN and are ignored."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size != y.size:
        raise ValueError(f"paired samples need equal lengths, got {x.size} and {y.size}")
    if x.size < 3:
        return Interval(float("nan"), float("nan"), float("nan"), level)
    value = float(_rowwise_corr(x[None], y[None], method)[0])
    idx = resample_indices(x.size, n_boot, seed)
    low, high = percentile_interval(_rowwise_corr(x[idx], y[idx], method), level)
    return Interval(value, float(low), float(high), level)


def rowwise_correlation(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> np.ndarray:
    """Correlation of each row pair of (B, n) arrays: vectorised simulations and resamples."""
    return _rowwise_corr(np.asarray(a, dtype=float), np.asarray(b, dtype=float), method)


def fisher_interval(r: np.ndarray | float, n: np.ndarray | int, method: str = "spearman",
                    level: float = CI_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Fisher-z interval(s) of correlation(s) ``r`` from ``n`` pairs, vectorised: SE of atanh(r) is
    1/sqrt(n-3) for Pearson and sqrt((1 + r^2/2)/(n-3)) for Spearman (Bonett & Wright 2000,
    Psychometrika 65:23), which keeps coverage for the few models of one training source where a
    percentile bootstrap of rank correlations does not. |r| = 1 gives a degenerate interval at r."""
    r = np.clip(np.asarray(r, dtype=float), -1 + 1e-12, 1 - 1e-12)
    n = np.asarray(n, dtype=float)
    if method not in ("spearman", "pearson"):
        raise ValueError(f"unknown correlation {method!r}: 'spearman' or 'pearson'")
    var = (1 + r ** 2 / 2) if method == "spearman" else np.ones_like(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = sps.norm.ppf(0.5 + level / 2) * np.sqrt(np.where(n > 3, var / (n - 3), np.nan))
    z = np.arctanh(r)
    return np.tanh(z - half), np.tanh(z + half)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control; equals
    ``statsmodels.stats.multitest.multipletests(method='holm')[1]``)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = p.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


#: Multiple-comparison corrections a section option may name (``correction=...``).
CORRECTIONS: tuple[str, ...] = ("holm", "none")


def adjust(pvalues: Sequence[float], correction: str) -> np.ndarray:
    """P-values adjusted by the named ``correction`` (:data:`CORRECTIONS`): Holm, or unchanged."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; choose one of {CORRECTIONS}")
    p = np.asarray(pvalues, dtype=float)
    return holm(p) if correction == "holm" else p.copy()


@dataclass(frozen=True)
class LineTest:
    """F-test that several groups share one regression line (ANCOVA: common slope and intercept
    vs one line per group)."""

    f: float
    df_num: int
    df_den: int
    p: float
    rss_common: float
    rss_separate: float


def _rss(x: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(((y - design @ coef) ** 2).sum())


@finite_args("x", "y")
def line_equality(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> LineTest:
    """Do the groups lie on one line y = a + b x? F = ((RSS_common - RSS_sep)/(2(G-1))) /
    (RSS_sep/(N-2G)) with one least-squares line per group in RSS_sep (equals statsmodels'
    ``anova_lm`` of ``y ~ x`` vs ``y ~ x * C(group)``). Groups need >= 3 members."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    groups = np.asarray(groups)
    names = np.unique(groups)
    if len(names) < 2 or any((groups == g).sum() < 3 for g in names):
        raise ValueError("line_equality needs >= 2 groups of >= 3 points each")
    rss_c = _rss(x, y)
    rss_s = sum(_rss(x[groups == g], y[groups == g]) for g in names)
    df_num, df_den = 2 * (len(names) - 1), x.size - 2 * len(names)
    f = ((rss_c - rss_s) / df_num) / (rss_s / df_den)
    return LineTest(float(f), df_num, df_den, float(sps.f.sf(f, df_num, df_den)), rss_c, rss_s)


def resample_counts(sizes: Sequence[int], n_boot: int = N_BOOT, seed: int = SEED) -> Iterator[tuple[np.ndarray, ...]]:
    """Per draw, one float array of resample counts (how often each row was drawn) per sample size
    in ``sizes``, all from one seeded stream: memory stays O(n) even for 50,000-image test sets,
    where (n_boot, n) index matrices would not fit. Weighted means with these counts are the
    bootstrap means (independent resampling of each sample, the same draw for every model)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield tuple(np.bincount(rng.integers(0, n, n), minlength=n).astype(float) for n in sizes)


def bootstrap_p(estimate: np.ndarray | float, draws: np.ndarray) -> np.ndarray:
    """Two-sided p-value of H0: effect = 0 per column of (B, k) bootstrap ``draws``, from the
    bootstrap standard error (Wald z = estimate / SD of the draws; Efron & Tibshirani 1993 §16).
    Its resolution does not depend on B: a tail count cannot go below 2/(B+1), which Holm over 10
    tests at B = 200 could never reject."""
    sd = np.nanstd(np.asarray(draws, dtype=float), axis=0, ddof=1)
    est = np.asarray(estimate, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, np.abs(est) / sd, np.where(est != 0, np.inf, 0.0))
    return 2 * sps.norm.sf(z)


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman partial correlation of x and y given z: Pearson correlation of the ranks of x and y
    after each is regressed (OLS) on the ranks of z; NaN when a rank vector or residual is constant."""
    rx, ry, rz = (sps.rankdata(a) for a in (x, y, z))
    if np.ptp(rz) == 0 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    res = [r - np.polyval(np.polyfit(rz, r, 1), rz) for r in (rx, ry)]
    if np.ptp(res[0]) < 1e-12 or np.ptp(res[1]) < 1e-12:
        return float("nan")
    return float(np.corrcoef(res[0], res[1])[0, 1])
