"""Notebook 02, factor-level effective robustness: per factor, a logit-space line of factor accuracy on
overall accuracy over baseline models; ER = factor accuracy − line (:mod:`cliprobust.metrics.factors`).

The ER draws behind C1 cover two sources of error: the baseline models (resampled with replacement,
line refit: :func:`cliprobust.metrics.robustness.ols_rows`) and the images (a CLIP row's factor and
overall accuracies redrawn: a paired bootstrap over images where per-image decisions exist,
binomial draws from the published accuracy and the factor's image count otherwise).
:class:`FactorDesign` draws each of them once per notebook run and shares them across every
protocol (baseline set, CLIP row, image noise on or off), so a multiverse costs a few array sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from ...metrics import factors as F
from ...metrics import robustness, stats
from .tables import (CLIP_ROWS, DEFAULT_BASELINE, PAPER_FACTORS, annotations_by_file, baseline_ids, factor_counts,
                     factor_table, model_families)

#: Family-wise error level of the per-factor tests (:func:`c1_factor_tests`, the FWER variant of C1).
ALPHA = 0.05


def factor_er_frame(table: pd.DataFrame | None = None, annotations: pd.DataFrame | None = None,
                    baseline: str = DEFAULT_BASELINE, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
                    ) -> pd.DataFrame:
    """Tidy factor-level ER of every model of ``table`` against ``baseline`` on the 10 paper factors,
    CIs from resampling baseline models only (the uncertainty of the line; C1's intervals add the
    images: :func:`c1_factor_tests`).

    Columns of :func:`~cliprobust.metrics.factors.factor_er_table` plus ``family``, ``label``,
    ``n_images``, ``acc_se`` (binomial SE of the factor accuracy) and ``sign`` (``+`` if ci_low > 0,
    ``-`` if ci_high < 0, else ``0``). Default ``table``: :func:`factor_table`.
    """
    ann = annotations_by_file() if annotations is None else annotations
    tab = factor_table(ann) if table is None else table
    er = F.factor_er_table(tab, baseline_ids(tab, baseline), n_boot=n_boot, seed=seed)
    counts = factor_counts(ann)
    er["family"] = model_families(er["model"])
    er["label"] = er["model"].map({r.model: r.label for r in CLIP_ROWS.values()}).fillna(er["model"])
    er["n_images"] = er["factor"].map(counts).astype(int)
    er["acc_se"] = np.sqrt(er["ood_acc"] * (1 - er["ood_acc"]) / er["n_images"])
    er["sign"] = np.select([er["ci_low"] > 0, er["ci_high"] < 0], ["+", "-"], "0")
    return er


# --------------------------------------------------------------------------- draws


def paired_means(values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(B, models, groups) bootstrap means of per-image ``values`` (models, n) within each 0/1 column
    of ``groups`` (n, groups), images resampled with replacement (the same draw for every model).

    Exact and fast: the means depend on a resample only through how often it drew each distinct
    image pattern (groups × values), so one multinomial draw over the few distinct patterns per
    bootstrap replaces n resampled indices (the same distribution as resampling the images)."""
    patterns, inverse = np.unique(np.column_stack([groups, values.T]), axis=0, return_inverse=True)
    n = groups.shape[0]
    w = np.random.default_rng(seed).multinomial(n, np.bincount(inverse.ravel()) / n, size=n_boot).astype(float)
    g, v = patterns[:, :groups.shape[1]], patterns[:, groups.shape[1]:]
    den = w @ g
    return np.stack([(w @ (g * v[:, [i]])) / den for i in range(v.shape[1])], axis=1)


def accuracy_draws(row: pd.Series, counts: pd.Series, n_total: int, correct: pd.Series | None,
                   annotations: pd.DataFrame | None, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, 10) factor-accuracy and (B,) overall-accuracy draws of one CLIP row: a paired bootstrap
    over images when per-image ``correct`` is given, else binomial draws from the published values."""
    factors = list(counts.index)
    if correct is None:
        fac = stats.binomial_draws(row[factors].to_numpy(float), counts.to_numpy(), n_boot, seed + 1)
        avg = stats.binomial_draws(float(row[F.AVERAGE]), n_total, n_boot, seed + 2)
        return fac, avg
    c = correct.reindex(annotations.index).to_numpy(float)[None]
    a = np.column_stack([annotations[factors].to_numpy(float), np.ones(c.shape[1])])
    draws = paired_means(c, a, n_boot, seed + 1)[:, 0]
    return draws[:, :-1], draws[:, -1]


@dataclass(frozen=True)
class LineFit:
    """Per-factor logit lines of one baseline set: the fit on every model and ``n_boot`` refits on
    resampled models (arrays (10,) and (B, 10))."""

    slope: np.ndarray
    intercept: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    n: int

    def predict(self, avg: float | np.ndarray, boot: bool = False) -> np.ndarray:
        """Predicted factor accuracy at overall accuracy ``avg`` ((B,) draws with ``boot``)."""
        if boot:
            lx = special.logit(np.clip(np.asarray(avg), 1e-6, 1 - 1e-6))[:, None]
            return special.expit(self.slopes * lx + self.intercepts)
        return special.expit(self.slope * special.logit(avg) + self.intercept)


def fit_lines(base: pd.DataFrame, n_boot: int, seed: int) -> LineFit:
    """:class:`LineFit` of the baseline rows ``base`` (models with a factor accuracy of 0 or 1 are
    dropped: infinite in logit space, as ``robustness.DROP_DEGENERATE``)."""
    cols = [F.AVERAGE, *PAPER_FACTORS]
    base = base[base[cols].gt(0).all(axis=1) & base[cols].lt(1).all(axis=1)]
    x, ys = special.logit(base[F.AVERAGE].to_numpy(float)), special.logit(base[list(PAPER_FACTORS)].to_numpy(float))
    idx = stats.resample_indices(x.size, n_boot, seed)
    full = [robustness.ols_rows(x[None], ys[None, :, j]) for j in range(ys.shape[1])]
    boot = [robustness.ols_rows(x[idx], ys[:, j][idx]) for j in range(ys.shape[1])]
    return LineFit(np.array([f[0][0] for f in full]), np.array([f[1][0] for f in full]),
                   np.column_stack([b[0] for b in boot]), np.column_stack([b[1] for b in boot]), int(x.size))


class FactorDesign:
    """The data behind every factor-ER draw of one run (table, annotations, bootstrap size and
    seed, and the per-image correctness of the CLIP rows that have it, by row key), each part drawn
    once: lines per baseline set, accuracy draws per CLIP row. Every protocol reads the same draws,
    so variants differ only in the choice they name."""

    def __init__(self, table: pd.DataFrame, annotations: pd.DataFrame, n_boot: int = stats.N_BOOT,
                 seed: int = stats.SEED, per_image: Mapping[str, pd.Series] | None = None) -> None:
        self.table, self.annotations, self.n_boot, self.seed = table, annotations, int(n_boot), int(seed)
        self.per_image = dict(per_image or {})
        self.counts = factor_counts(annotations)
        self._lines: dict[str, LineFit] = {}
        self._acc: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # one rank pattern per (draw, column), shared by every row: aligned draws are comonotone
        self._ranks = np.random.default_rng(self.seed + 3).random((self.n_boot, len(self.counts) + 1)).argsort(0)

    def lines(self, baseline: str) -> LineFit:
        """The baseline set's :class:`LineFit` (fitted on first use)."""
        if baseline not in self._lines:
            self._lines[baseline] = fit_lines(self.table.loc[baseline_ids(self.table, baseline)], self.n_boot,
                                              self.seed)
        return self._lines[baseline]

    def accuracy_draws(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """:func:`accuracy_draws` of the CLIP row ``key`` (paired over images where it has per-image
        correctness, binomial otherwise)."""
        if key not in self._acc:
            self._acc[key] = accuracy_draws(self.table.loc[CLIP_ROWS[key].model], self.counts, len(self.annotations),
                                            self.per_image.get(key), self.annotations, self.n_boot, self.seed)
        return self._acc[key]

    def aligned_accuracy_draws(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The row's accuracy draws re-ordered per column by one rank pattern shared by every row
        (each row's own distribution, perfectly rank-correlated across rows). The CLIP rows share
        their images, but only ViT-B/16 has per-image decisions, so their joint image noise is
        unknown: comonotone draws give a mean over rows the largest variance its parts allow."""
        fac, avg = self.accuracy_draws(key)
        both = np.sort(np.column_stack([fac, avg]), axis=0)
        ranks = self._ranks.argsort(0)
        aligned = np.take_along_axis(both, ranks, axis=0)
        return aligned[:, :-1], aligned[:, -1]

    def row_er(self, key: str, baseline: str, image_noise: bool = True, aligned: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """(10,) factor ER of the CLIP row ``key`` and its (B, 10) draws (lines × images; ``aligned``:
        the comonotone image draws of :meth:`aligned_accuracy_draws`, for means over rows)."""
        row, fit = self.table.loc[CLIP_ROWS[key].model], self.lines(baseline)
        acc, avg = row[list(PAPER_FACTORS)].to_numpy(float), float(row[F.AVERAGE])
        er = acc - fit.predict(avg)
        if not image_noise:
            return er, acc - fit.predict(np.full(self.n_boot, avg), boot=True)
        fac, avg_d = self.aligned_accuracy_draws(key) if aligned else self.accuracy_draws(key)
        return er, fac - fit.predict(avg_d, boot=True)


def c1_factor_tests(design: FactorDesign, clip_model: str, baseline: str = DEFAULT_BASELINE,
                    image_noise: bool = True, correction: str = "holm") -> pd.DataFrame:
    """Per factor of one CLIP row: ER against the ``baseline`` line, its 95 % interval (baseline
    models × images, :meth:`FactorDesign.row_er`), the two-sided bootstrap p-value, its adjustment
    over the 10 factors (:func:`cliprobust.metrics.stats.adjust`) and the sign that counts at
    :data:`ALPHA` (``+``/``-``/``0``). Columns: factor, model, label, baseline, n_baseline, n_images,
    acc, er, low, high, p, p_adj, sign."""
    row = CLIP_ROWS[clip_model]
    er, draws = design.row_er(clip_model, baseline, image_noise)
    low, high = stats.percentile_interval(draws)
    p = stats.bootstrap_p(er, draws)
    p_adj = stats.adjust(p, correction)
    sig = p_adj < ALPHA
    sign = np.where(sig & (er > 0), "+", np.where(sig & (er < 0), "-", "0"))
    return pd.DataFrame({"factor": list(PAPER_FACTORS), "model": row.model, "label": row.label, "baseline": baseline,
                         "n_baseline": design.lines(baseline).n, "n_images": design.counts.to_numpy(),
                         "acc": design.table.loc[row.model, list(PAPER_FACTORS)].to_numpy(float), "er": er,
                         "low": low, "high": high, "p": p, "p_adj": p_adj, "sign": sign})


def factor_tests_grid(design: FactorDesign, keys: Sequence[str], baselines: Sequence[str], image_noise: bool = True,
                      correction: str = "holm") -> pd.DataFrame:
    """:func:`c1_factor_tests` of every CLIP row of ``keys`` under every baseline set (tidy)."""
    return pd.concat([c1_factor_tests(design, k, b, image_noise, correction) for b in baselines for k in keys],
                     ignore_index=True)
