"""Claim C11 (Fang et al., ICML 2022, §4-5): a larger TRAINING SET does not by itself give more
effective robustness -- what matters is the training distribution.

Fang et al. struck out the "large training set size" hypothesis by training on differently sized
samples of one distribution. Here: the LAION scaling-laws checkpoints (Cherti et al. 2023) trained
on LAION-80M, -400M and -2B with the same architectures and samples seen. The dataset-size effect is
the signed gap between the size's own logit lines at a common ImageNet accuracy (largest minus
smallest training set; positive = more data, more ER at equal ImageNet accuracy), judged as an
EQUIVALENCE test with :data:`C11_MARGIN` ("size has no effect", TOST). The one-sided reading "more
data does not raise ER" is a variant (:data:`NOT_RAISE_RULE`).

Caveat (stated in the evidence): LAION-80M/400M/2B are not "one distribution at three sizes":
400M and 2B were filtered with different CLIP-score thresholds, and at equal samples seen the 80M
models repeat their data 37-425 times against 1.5-17 for 2B, so size is confounded with repeats.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ...metrics import robustness, stats
from ...runs import Run
from ...verdicts import (EQUIVALENT, NOT_WORSE, Claim, Estimate, Rule, Spec, all_of, evaluate, leave_one_out,
                         normal_design_oc)
from .draws import model_accuracy_draws
from .options import AXES_PROBIT, ID_TEST_SET, MEAN_SHIFT, Options
from .sources import source_lines
from .tables import cached_frame, clip_members

#: The LAION scaling-laws training sets, smallest first.
C11_SIZES: tuple[str, ...] = ("LAION-80M", "LAION-400M", "LAION-2B")
#: Headline comparison: the largest against the smallest training set (25x the data).
SMALL, LARGE = "LAION-80M", "LAION-2B"
#: "Size has no effect": a gap between the size lines under 3 accuracy points. 3 pp is a tenth of
#: zero-shot CLIP's ER (~30 pp): a size effect below it cannot account for CLIP's robustness, which
#: is Fang et al.'s argument; it is also under twice the spread of ImageNet models' ER around their
#: own line (SD 1.7 pp on the mean shift), the resolution of any ER comparison here.
C11_MARGIN: float = 0.03
C11_RULE = Rule(EQUIVALENT, C11_MARGIN)
#: One-sided reading "more data does not raise ER" (statistic: smaller minus larger set's line).
NOT_RAISE_RULE = Rule(NOT_WORSE, C11_MARGIN)
#: ImageNet accuracy at which the lines are compared: this quantile of the compared models' top-1.
X0_QUANTILE = 0.5
#: Different pre-training distributions of the run's CLIP set (sizes of one distribution pooled),
#: for the "distribution matters" half of the claim (reported, with >= MIN_LINE_MODELS models each).
DISTRIBUTION_FAMILIES: dict[str, tuple[str, ...]] = {
    "LAION": ("LAION-400M", "LAION-2B", "LAION-5B"), "WIT": ("WIT-400M",), "DataComp": ("DataComp-1B",),
    "MetaCLIP": ("MetaCLIP-400M", "MetaCLIP-2.5B"), "DFN": ("DFN-2B", "DFN-5B"),
}
#: Fewest models for a group's own line (>= 1 residual degree of freedom).
MIN_LINE_MODELS = 3
#: Nominal samples-seen buckets of the scaling-laws checkpoints (3B / 13B / 34B): bucket edges.
SAMPLES_EDGES: tuple[float, float] = (6e9, 2.4e10)
STATISTIC = "ER gap LAION-2B − LAION-80M lines at equal ImageNet accuracy (mean over shifts)"


def ancova_tests(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Equal-slope and equal-intercept F tests of groups' lines (ANCOVA): slopes by separate lines vs
    parallel lines; intercepts by parallel lines vs one common line (equals statsmodels' ``anova_lm``
    of ``y ~ x + C(g)`` against ``y ~ x * C(g)`` and ``y ~ x``)."""
    names = np.unique(groups)
    k, n = len(names), len(x)
    dummies = np.column_stack([(groups == g).astype(float) for g in names])
    rss = [_rss(np.column_stack([np.ones(n), x]), y), _rss(np.column_stack([dummies, x]), y),
           sum(_rss(np.column_stack([np.ones((groups == g).sum()), x[groups == g]]), y[groups == g]) for g in names)]
    f_slope = ((rss[1] - rss[2]) / (k - 1)) / (rss[2] / (n - 2 * k))
    f_icpt = ((rss[0] - rss[1]) / (k - 1)) / (rss[1] / (n - k - 1))
    return {"f_slope": f_slope, "p_slope": float(sps.f.sf(f_slope, k - 1, n - 2 * k)),
            "f_intercept": f_icpt, "p_intercept": float(sps.f.sf(f_icpt, k - 1, n - k - 1))}


def _rss(design: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(((y - design @ coef) ** 2).sum())


def _heights(tx: np.ndarray, ty: np.ndarray, groups: np.ndarray, names: Sequence[str], t0: float,
             parallel: bool, idx: np.ndarray) -> np.ndarray:
    """(draws, groups) line heights at ``t0`` (transformed units) of each group's own line (or of
    parallel lines with one common slope), for resampled rows ``idx`` (draws, n); ``tx``/``ty`` are
    point values (n,) or per-draw values (draws, n)."""
    xs = [_pick(tx, idx[:, groups == g]) for g in names]
    ys = [_pick(ty, idx[:, groups == g]) for g in names]
    if not parallel:
        fits = [robustness.ols_rows(x, y) for x, y in zip(xs, ys)]
        return np.stack([s * t0 + i for s, i in fits], axis=1)
    dx = [x - x.mean(axis=1, keepdims=True) for x in xs]
    sxy = sum((d * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) for d, y in zip(dx, ys))
    slope = sxy / sum((d * d).sum(axis=1) for d in dx)
    return np.stack([y.mean(axis=1) + slope * (t0 - x.mean(axis=1)) for x, y in zip(xs, ys)], axis=1)



def _pick(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return values[idx] if values.ndim == 1 else np.take_along_axis(values, idx, axis=1)


def _noisy_xy(options: Options, rows: pd.DataFrame, shift: str) -> tuple[np.ndarray, np.ndarray]:
    """(N_BOOT, n) transformed ID and OOD accuracies of ``rows`` redrawn with their binomial
    image-sampling error (:func:`.draws.model_accuracy_draws`), the OOD side as the frame defines it."""
    models, acc = model_accuracy_draws(options.dedup)
    pos = models.get_indexer(rows["model"])
    xcol = ID_TEST_SET if shift == MEAN_SHIFT else options.shift_id[shift]
    ood = options.shifts if shift == MEAN_SHIFT else (shift,)
    tr = options.transform
    return tr(acc[xcol][:, pos]), tr(np.mean([acc[c][:, pos] for c in ood], axis=0))


def _size_rows(options: Options, shift: str, sizes: Sequence[str], drop_archs: Sequence[str] = ()) -> pd.DataFrame:
    frame = cached_frame(options)
    rows = frame[(frame["shift"] == shift) & (frame["source"] == "scaling")]
    return rows[rows["pretrain_data"].isin(sizes) & ~rows["arch"].isin(drop_archs)]


def size_gap(options: Options, shift: str = MEAN_SHIFT, small: str = SMALL, large: str = LARGE,
             x0_quantile: float = X0_QUANTILE, parallel: bool = False, drop_archs: tuple[str, ...] = (),
             rule: Rule = C11_RULE) -> Estimate:
    """Signed gap (accuracy) between the ``large`` and ``small`` training sets' own lines at the
    ``x0_quantile`` of their models' ImageNet top-1; draws resample models within each set and
    redraw every accuracy with its image-sampling error. Under
    :data:`NOT_RAISE_RULE` the sign flips (positive = the larger set has no more ER)."""
    rows = _size_rows(options, shift, (small, large), drop_archs)
    counts = rows["pretrain_data"].value_counts()
    if min(counts.get(small, 0), counts.get(large, 0)) < MIN_LINE_MODELS:
        return Estimate.missing(f"fewer than {MIN_LINE_MODELS} {small} or {large} models on {shift}", len(rows))
    tr = options.transform
    tx, ty = tr(rows["id_acc"].to_numpy(float)), tr(rows["ood_acc"].to_numpy(float))
    groups, x0 = rows["pretrain_data"].to_numpy(), float(rows["id_acc"].quantile(x0_quantile))
    idx, t0 = stats.resample_indices(len(rows), strata=groups), float(tr(x0))
    point = tr.inverse(_heights(tx, ty, groups, (small, large), t0, parallel, np.arange(len(rows))[None, :]))
    heights = tr.inverse(_heights(*_noisy_xy(options, rows, shift), groups, (small, large), t0, parallel, idx))
    gap, draws = float(point[0, 1] - point[0, 0]), heights[:, 1] - heights[:, 0]
    sign = -1.0 if rule.kind == NOT_WORSE else 1.0
    low, high = np.sort(sign * np.asarray(stats.percentile_interval(draws)))
    note = f"{large} − {small} at ImageNet {x0:.2f}: {100 * gap:+.1f} pp ({counts[small]}+{counts[large]} models)"
    return Estimate.judged(rule, sign * gap, low, high, len(rows), note, {"gap": gap, "x0": x0})


def _every_shift(options: Options) -> Estimate:
    """Every shift on its own must show no size effect (gaps of opposite sign can cancel in a mean)."""
    per = {s: size_gap(options, s) for s in options.shifts}
    worst = max(per, key=lambda s: abs(per[s].value))
    e = per[worst]
    return Estimate(e.value, e.low, e.high, all_of(x.outcome for x in per.values()), e.n, f"largest on {worst}; {e.note}")


def paired_er(options: Options, small: str = SMALL, large: str = LARGE) -> Estimate:
    """ER(large) − ER(small) of checkpoints with the same architecture and nominal samples seen
    (3B/13B/34B), mean over those cells, cells resampled: equal compute, ImageNet accuracy NOT held equal."""
    rows = _size_rows(options, MEAN_SHIFT, (small, large))
    cell = rows.assign(bucket=np.digitize(rows["samples_seen"].to_numpy(float), SAMPLES_EDGES))
    wide = cell.pivot_table(index=["arch", "bucket"], columns="pretrain_data", values="er").dropna()
    if len(wide) < 3:
        return Estimate.missing("fewer than 3 matched (architecture, samples seen) cells", len(wide))
    diff = (wide[large] - wide[small]).to_numpy()
    iv = stats.bootstrap(np.mean, diff)
    return Estimate.judged(C11_RULE, iv.value, iv.low, iv.high, len(diff), f"{len(diff)} matched cells")


def _spec(name: str, text: str, options: Options, **kw) -> Spec:
    return Spec(name, text, partial(size_gap, options, **kw))


def c11_specs(options: Options) -> tuple[Spec, list[Spec]]:
    """The headline spec and the variant table of C11."""
    o = options
    head = _spec(f"sizes={SMALL}-vs-{LARGE}", "headline protocol", o)
    out = [_spec("reading=more-data-does-not-raise", "one-sided: the larger set's line is not above the smaller's "
                 f"by {C11_MARGIN:g} or more (statistic: smaller − larger)", o, rule=NOT_RAISE_RULE),
           _spec("sizes=LAION-400M-vs-LAION-2B", "without LAION-80M: 400M against 2B", o, small="LAION-400M"),
           _spec("sizes=LAION-80M-vs-LAION-400M", "80M against 400M", o, large="LAION-400M"),
           _spec("lines=parallel", "one common slope for both sets (the gap is the intercept difference)", o,
                 parallel=True),
           _spec("x0=q25", "lines compared at the 25th percentile of ImageNet top-1", o, x0_quantile=0.25),
           _spec("x0=q75", "lines compared at the 75th percentile of ImageNet top-1", o, x0_quantile=0.75)]
    if o.axes != AXES_PROBIT:
        out.append(_spec("axes=probit", "lines straight on probit axes", o.but(axes=AXES_PROBIT)))
    out += [_spec(f"shift={s}", f"the gap on {s} alone", o, shift=s) for s in o.shifts]
    out.append(Spec("shift=every", "every shift on its own (opposite gaps cannot cancel; largest shown)",
                    partial(_every_shift, o)))
    out.append(Spec("reading=paired-er", "ER(2B) − ER(80M) at equal architecture and samples seen (ImageNet "
                    "accuracy not held equal)", partial(paired_er, o)))
    archs = sorted(_size_rows(o, MEAN_SHIFT, (SMALL, LARGE))["arch"].unique())
    out.append(Spec("drop-one-arch", "each architecture left out in turn (worst shown)",
                    lambda: leave_one_out(archs, lambda kept: size_gap(
                        o, drop_archs=tuple(a for a in archs if a not in kept)))))
    return head, out


@lru_cache(maxsize=8)
def distribution_lines(options: Options, x0: float) -> tuple[pd.Series, stats.LineTest | None]:
    """Each pre-training distribution's own line height at ImageNet ``x0`` (accuracy) over the run's
    CLIP set (:data:`DISTRIBUTION_FAMILIES`, >= :data:`MIN_LINE_MODELS` models), and the line-equality
    F test across them: the "what matters is the distribution" half, reported beside the verdict."""
    frame = cached_frame(options)
    rows = frame[(frame["shift"] == MEAN_SHIFT) & frame["model"].isin(clip_members(frame, options.model_set))]
    fam = rows["pretrain_data"].map({d: f for f, ds in DISTRIBUTION_FAMILIES.items() for d in ds})
    counts = fam.value_counts()
    keep = fam.isin(counts.index[counts >= MIN_LINE_MODELS]).to_numpy()
    if keep.sum() == 0 or (counts >= MIN_LINE_MODELS).sum() < 2:
        return pd.Series(dtype=float), None
    tr, r, g = options.transform, rows[keep], fam[keep].to_numpy()
    tx, ty = tr(r["id_acc"].to_numpy(float)), tr(r["ood_acc"].to_numpy(float))
    names = sorted(set(g))
    h = tr.inverse(_heights(tx, ty, g, names, float(tr(x0)), False, np.arange(len(r))[None, :]))[0]
    return pd.Series(h, index=names), stats.line_equality(tx, ty, g)


def _ancova_text(options: Options) -> str:
    rows = _size_rows(options, MEAN_SHIFT, C11_SIZES)
    tr = options.transform
    t = ancova_tests(tr(rows["id_acc"].to_numpy(float)), tr(rows["ood_acc"].to_numpy(float)),
                     rows["pretrain_data"].to_numpy())
    lines = source_lines(cached_frame(options)).set_index("pretrain_data")
    own = ", ".join(f"{k} slope {r.slope:.2f} intercept {r.intercept:+.2f}" for k, r in lines.iterrows()
                    if k in C11_SIZES)
    return (f"Across the three sizes (n={len(rows)}): equal slopes F={t['f_slope']:.1f} p={t['p_slope']:.2g}, "
            f"equal intercepts given a common slope F={t['f_intercept']:.1f} p={t['p_intercept']:.2g} (reported, not "
            f"the rule: a significance test rewards imprecision); each size's own logit line: {own} (baseline slope "
            f"{lines.loc['baseline', 'slope']:.2f})")


def _distribution_text(options: Options, x0: float) -> str:
    heights, test = distribution_lines(options, x0)
    if test is None:
        return "Distributions: fewer than 2 with >= 3 models in this CLIP set"
    h = ", ".join(f"{k} {v:.3f}" for k, v in heights.sort_values().items())
    return (f"Distributions ({options.model_set}), own lines at ImageNet {x0:.2f}: {h} (mean OOD accuracy); one "
            f"line for all F({test.df_num},{test.df_den})={test.f:.1f} p={test.p:.2g}")


def _evidence(options: Options, head: Estimate) -> str:
    mid = size_gap(options, small="LAION-400M")
    direction = "below" if head.value < 0 else "above"
    return (f"{head.note}: the larger training set's line lies {direction} the smaller's (400M vs 2B "
            f"{100 * mid.value:+.1f} pp); 'no effect' = within ±{C11_MARGIN:g} (a tenth of CLIP's ~30 pp ER). "
            f"{_ancova_text(options)}. {_distribution_text(options, head.detail['x0'])}. Caveat: LAION-80M/400M/2B "
            f"are not one distribution at three sizes (different CLIP-score filters; at equal samples seen 80M "
            f"models repeat their data 37-425 times vs 1.5-17 for 2B, so size is confounded with repeats). "
            f"Intervals: 95 % percentile, models resampled within each training set and every accuracy redrawn "
            f"with its binomial image-sampling error (the baseline line cancels in a gap at equal ImageNet accuracy)")


def claim_c11(run: Run = Run()) -> Claim:
    """C11 (Fang et al. 2022): a larger training set does not by itself give more ER."""
    options = run.options_for(Options)
    head, variants = c11_specs(options)
    return evaluate("C11", STATISTIC, head, variants, rule=C11_RULE,
                    needs=f">= {MIN_LINE_MODELS} LAION-80M and LAION-2B scaling-laws checkpoints on the shift",
                    evidence=partial(_evidence, options), oc=partial(normal_design_oc, C11_RULE))
