"""Notebook 02, claim C1 (Tu et al. NeurIPS 2023 §4.1): zero-shot CLIP has "higher robustness than other
ImageNet models on 6 out of 10 visual factors, but can be less robust on factors like object pose".

The paper states a **count** of factors, so C1 is judged on the count, not by a test per factor.
Per bootstrap draw (baseline models resampled and lines refitted × the CLIP rows' accuracies
redrawn over images) every factor's ER is drawn; the count of factors above a threshold is ≥ 6
exactly when the 6th largest factor ER is above it. The headline statistic is therefore the ER of
the 6th most robust factor, judged by :data:`C1_RULE` on an interval whose lower bound comes from the
joint draws (supports: in 97.5 % of draws ≥ 6 factors have ER > 0, the count's lower bound ≥ 6) and
whose upper bound is the 6th largest of the factors' own upper bounds (contradicts: fewer than 6
factors are compatible with an effect as large as the margin; see :func:`count_estimate`),
together with pose by :data:`C1_POSE_RULE` (:func:`cliprobust.verdicts.all_of`). The population is
the CLIP group (the mean factor ER of the three CLIP weights with ImageNet-X rows); each row alone,
every row, the rows resampled, the other evaluation of the same weights, other baseline sets, no
image noise, the per-factor FWER rule and a stricter support rule are variants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from ...metrics import stats
from ...verdicts import (CODE, GREATER, LESS, Claim, Estimate, OperatingCharacteristics, Rule, Spec, all_of,
                         evaluate, simulated_oc)
from .lines import ALPHA, FactorDesign
from .tables import ALL_CLIPS, BASELINES, CLIP_GROUP, CLIP_ROWS, PAPER_FACTORS, SAME_WEIGHTS

if TYPE_CHECKING:
    from . import Options

#: The smallest factor-level ER that matters (accuracy units): the measured floor of evaluation noise,
#: the mean |Δ factor accuracy| between two published ImageNet-X evaluations of the same OpenAI
#: ViT-B/32 weights on the same images (0.0117; RN50: 0.0110; :func:`.checks.evaluation_agreement`).
#: A factor effect below it is within what re-running the evaluation pipeline changes.
C1_MARGIN: float = 0.012
#: The count rule on the 6th largest factor ER (see the module docstring).
C1_RULE = Rule(GREATER, C1_MARGIN)
#: Pose: supports when its ER interval lies below 0, contradicts when it excludes a loss of C1_MARGIN.
C1_POSE_RULE = Rule(LESS, C1_MARGIN)
#: "6 out of 10 visual factors" (Tu et al. §4.1).
C1_MIN_POSITIVE = 6
#: The factor the paper names as one where CLIP "can be less robust".
C1_NAMED_NEGATIVE = "pose"
#: Factors the paper or its extended version (Tu et al. 2024, arXiv 2410.01534) name as CLIP's weak ones.
PAPER_NAMED_NEGATIVE: tuple[str, ...] = ("pose", "partial_view")
#: The paper's words.
C1_STATEMENT = ('"higher robustness than other ImageNet models on 6 out of 10 visual factors, but can be less '
                'robust on factors like object pose" (Tu et al. 2023, §4.1)')
#: Inner bootstrap draws per simulated data set in the operating characteristics.
OC_INNER_DRAWS = 200
_POSE = PAPER_FACTORS.index(C1_NAMED_NEGATIVE)


def population(clip_model: str) -> tuple[str, ...]:
    """CLIP row keys of the ``clip_model`` option: the group (:data:`CLIP_GROUP`) or one row."""
    return CLIP_GROUP if clip_model == ALL_CLIPS else (clip_model,)


def other_evaluation(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The same weights under the other published evaluation (model-vs-human) where there is one."""
    swap = dict(SAME_WEIGHTS)
    return tuple(swap.get(k, k) for k in keys)


def population_label(keys: tuple[str, ...]) -> str:
    """Display name of a population of CLIP rows."""
    labels = [CLIP_ROWS[k].label.removeprefix("CLIP ") for k in keys]
    return f"CLIP {labels[0]}" if len(keys) == 1 else f"CLIP group (mean of {', '.join(labels)})"


def group_er(design: FactorDesign, keys: tuple[str, ...], baseline: str, image_noise: bool = True,
             members: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(10,) mean factor ER of the rows ``keys`` and its (B, 10) draws: shared line draws, comonotone
    image draws across rows (:meth:`FactorDesign.aligned_accuracy_draws`); ``members`` also resamples
    the rows with replacement per draw (the group's members as a source of variation)."""
    if len(keys) == 1:
        return design.row_er(keys[0], baseline, image_noise)
    parts = [design.row_er(k, baseline, image_noise, aligned=True) for k in keys]
    er = np.mean([p[0] for p in parts], axis=0)
    stacked = np.stack([p[1] for p in parts])  # (R, B, 10)
    if not members:
        return er, stacked.mean(axis=0)
    pick = np.random.default_rng(design.seed + 5).integers(0, len(keys), (design.n_boot, len(keys)))
    return er, stacked[pick, np.arange(design.n_boot)[:, None]].mean(axis=1)


def count_summary(er: np.ndarray, draws: np.ndarray) -> dict[str, float]:
    """Point counts and 95 % intervals of the number of factors with ER > 0 and with ER ≥ the margin."""
    out: dict[str, float] = {}
    for name, t in (("positive", 0.0), ("above_margin", C1_MARGIN)):
        n = (draws > t).sum(axis=1) if t == 0 else (draws >= t).sum(axis=1)
        out[f"n_{name}"] = float((er > t).sum() if t == 0 else (er >= t).sum())
        out[f"n_{name}_low"], out[f"n_{name}_high"] = (float(v) for v in np.percentile(n, [2.5, 97.5]))
    return out


def count_estimate(er: np.ndarray, draws: np.ndarray, offset: float = 0.0, level: float = stats.CI_LEVEL
                   ) -> Estimate:
    """The headline statistic of :data:`C1_RULE` and pose by :data:`C1_POSE_RULE`, combined by
    :func:`all_of`. The 6th largest factor ER with a lower bound from the joint draws (> 0 ⇔ in 97.5 %
    of draws ≥ 6 factors have ER > 0: the count's lower bound ≥ 6) and an upper bound that is the 6th
    largest of the factors' own upper bounds (< margin ⇔ fewer than 6 factors are compatible with an
    effect as large as the margin). A joint upper bound would contradict six factors that sit exactly
    at the margin most of the time (per draw about half of them fall below it), so the contradiction
    asks each factor on its own. ``offset`` > 0 (the stricter variant) asks the count's lower bound and pose's
    upper bound to clear ±offset instead of 0 (the margin then also decides "supports")."""
    k = C1_MIN_POSITIVE
    low = stats.percentile_interval(np.sort(draws, axis=1)[:, -k], level)[0]
    high = np.sort(stats.percentile_interval(draws, level)[1])[-k]
    p_low, p_high = stats.percentile_interval(draws[:, _POSE], level)
    rule = C1_RULE if offset == 0 else Rule(GREATER, C1_MARGIN - offset)
    pose_rule = C1_POSE_RULE if offset == 0 else Rule(LESS, C1_MARGIN - offset)
    outcome = all_of([rule.outcome(low - offset, high - offset), pose_rule.outcome(p_low + offset, p_high + offset)])
    counts = count_summary(er, draws)
    note = (f"ER > 0 on {counts['n_positive']:.0f}/10 factors (95 % of draws {counts['n_positive_low']:.0f}–"
            f"{counts['n_positive_high']:.0f}), ≥ {C1_MARGIN:g} on {counts['n_above_margin']:.0f}/10 "
            f"({counts['n_above_margin_low']:.0f}–{counts['n_above_margin_high']:.0f}); pose ER "
            f"{er[_POSE]:+.3f} [{p_low:+.3f}, {p_high:+.3f}]")
    return Estimate(float(np.sort(er)[-k]), float(low), float(high), outcome, len(PAPER_FACTORS), note,
                    {**counts, "pose": float(er[_POSE]), "pose_low": float(p_low), "pose_high": float(p_high)})


def fwer_estimate(er: np.ndarray, draws: np.ndarray) -> Estimate:
    """The per-factor reading (the previous rule): each counted factor and pose judged by its own
    simultaneous interval (Bonferroni over the 10 factors, level 1 − α/10); the statistic is the 6th
    largest factor ER between the 6th largest simultaneous lower and upper bounds."""
    sim_low, sim_high = stats.percentile_interval(draws, 1 - ALPHA / len(PAPER_FACTORS))
    k = C1_MIN_POSITIVE
    low, high = np.sort(sim_low)[-k], np.sort(sim_high)[-k]
    outcome = all_of([C1_RULE.outcome(low, high), C1_POSE_RULE.outcome(sim_low[_POSE], sim_high[_POSE])])
    n_sig = int((sim_low > 0).sum())
    return Estimate(float(np.sort(er)[-k]), float(low), float(high), outcome, len(PAPER_FACTORS),
                    f"{n_sig}/10 factors family-wise > 0; pose [{sim_low[_POSE]:+.3f}, {sim_high[_POSE]:+.3f}]")


def every_row_estimate(design: FactorDesign, keys: tuple[str, ...], baseline: str, image_noise: bool) -> Estimate:
    """Every CLIP row on its own must show it (:func:`all_of`); the worst row's statistic."""
    rows = {k: count_estimate(*design.row_er(k, baseline, image_noise)) for k in keys}
    worst = min(rows, key=lambda k: (CODE[rows[k].outcome], rows[k].value))
    e = rows[worst]
    return Estimate(e.value, e.low, e.high, all_of(r.outcome for r in rows.values()), e.n,
                    f"worst row {CLIP_ROWS[worst].label}: {e.note}")


def c1_oc(draws: np.ndarray, er: np.ndarray) -> OperatingCharacteristics:
    """Operating characteristics of the headline rule on its own design, simulated (vectorised): each
    simulated data set's factor ERs = truth + one bootstrap deviation of the real draws (the real
    factor image counts, baseline noise and their correlations), judged on an inner bootstrap of
    :data:`OC_INNER_DRAWS` deviations. At the margin: the six factors with the largest observed ER at
    +margin, pose at −margin, the rest at 0; at zero: every factor at 0."""
    dev = draws - draws.mean(axis=0)
    others = [j for j in np.argsort(er)[::-1] if j != _POSE][:C1_MIN_POSITIVE]
    favoured = np.isin(np.arange(er.size), others)

    def simulate(effect: float, rng: np.random.Generator, n: int) -> np.ndarray:
        truth = np.where(favoured, effect, 0.0)
        truth[_POSE] = -effect
        est = truth + dev[rng.integers(0, len(dev), n)]
        inner = est[:, None, :] + dev[rng.integers(0, len(dev), (n, OC_INNER_DRAWS))]
        lo = np.percentile(np.sort(inner, axis=2)[:, :, -C1_MIN_POSITIVE], 2.5, axis=1)
        hi = np.sort(np.percentile(inner, 97.5, axis=1), axis=1)[:, -C1_MIN_POSITIVE]
        p_lo, p_hi = np.percentile(inner[:, :, _POSE], [2.5, 97.5], axis=1)
        a, b = C1_RULE.codes(lo, hi), C1_POSE_RULE.codes(p_lo, p_hi)
        return np.where((a == -1) | (b == -1), -1, np.where((a == 1) & (b == 1), 1, 0))

    return simulated_oc(simulate, C1_MARGIN, method="bootstrap deviations of the real draws, count rule and pose")


def c1_specs(design: FactorDesign, opts: "Options") -> list[Spec]:
    """The headline spec (the run's options) and every variant spec, as data."""
    keys, base, noise = population(opts.clip_model), opts.baseline, opts.image_noise

    def count(ks: tuple[str, ...], b: str = base, image_noise: bool = noise, members: bool = False,
              offset: float = 0.0) -> Callable[[], Estimate]:
        return lambda: count_estimate(*group_er(design, ks, b, image_noise, members), offset=offset)

    label = population_label(keys)
    specs = [Spec("headline", f"{label}: count of factors with ER above the line, pose below", count(keys))]
    specs += [Spec(f"clip={k}", f"{population_label(population(k))} instead", count(population(k)))
              for k in (ALL_CLIPS, *CLIP_GROUP) if population(k) != keys]
    if len(keys) > 1:
        specs += [Spec("clip=every-row", "every CLIP row on its own must show it (stricter)",
                       lambda: every_row_estimate(design, keys, base, noise)),
                  Spec("clip=members-resampled", "the group's rows resampled with replacement per draw",
                       count(keys, members=True))]
    if other_evaluation(keys) != keys:
        specs.append(Spec("eval=modelvshuman", "the same weights, model-vs-human's evaluation rows",
                          count(other_evaluation(keys))))
    specs += [Spec(f"baseline={b}", f"factor lines over {b} models", count(keys, b)) for b in BASELINES if b != base]
    specs.append(Spec("image-noise=off" if noise else "image-noise=on", "intervals from baseline-model resampling "
                      "only (the protocol before the multiverse)" if noise else "intervals with image noise",
                      count(keys, image_noise=not noise)))
    specs.append(Spec("rule=fwer-per-factor", "each counted factor and pose significant on its own, family-wise "
                      "over the 10 factors (the previous rule)", lambda: fwer_estimate(*group_er(design, keys, base,
                                                                                                  noise))))
    specs.append(Spec("rule=support-needs-margin", f"supports only when ≥ 6 factors clear {C1_MARGIN:g} and pose "
                      f"−{C1_MARGIN:g} (stricter)", count(keys, offset=C1_MARGIN)))
    return specs


def _evidence(design: FactorDesign, opts: "Options", floor: str) -> Callable[[Estimate], str]:
    keys = population(opts.clip_model)

    def text(head: Estimate) -> str:
        rows = {k: design.row_er(k, opts.baseline)[0] for k in CLIP_GROUP}
        points = ", ".join(f"{(er > 0).sum()}/10 ({CLIP_ROWS[k].label.removeprefix('CLIP ')})"
                           for k, er in rows.items())
        pose = "negative for all three" if all(er[_POSE] < 0 for er in rows.values()) else "not negative for all"
        return (f"The paper: {C1_STATEMENT}, a count of factors. {population_label(keys)} against the "
                f"{opts.baseline} line ({design.lines(opts.baseline).n} models), 10 factors of "
                f"{design.counts.min():,}–{design.counts.max():,} images: {head.note}. Point estimates per row: "
                f"ER > 0 on {points}; pose {pose}. Intervals cover {'images and ' if opts.image_noise else ''}"
                f"baseline models. "
                f"Margin {C1_MARGIN:g}: the floor of evaluation noise (two published evaluations of the same weights: "
                f"{floor}). Population here: three OpenAI (WIT) CLIPs; the paper's: 83 CLIPs incl. LAION and DataComp")
    return text


def claim_c1(design: FactorDesign, opts: "Options", floor: str = "not measured") -> Claim:
    """C1 on ``design`` under the options ``opts`` (headline) and every variant of :func:`c1_specs`,
    judged by the one engine (:func:`cliprobust.verdicts.evaluate`); ``floor`` describes the measured
    evaluation-noise floor for the evidence."""
    head, *variants = c1_specs(design, opts)
    keys = population(opts.clip_model)
    stat = (f"ER of the {population_label(keys)}'s {C1_MIN_POSITIVE}th most robust factor (> 0 ⇔ ≥ 6 of 10 "
            f"factors above the line)")
    er, draws = group_er(design, keys, opts.baseline, opts.image_noise)
    return evaluate("C1", stat, head, variants, rule=C1_RULE, needs="ImageNet-X published factor accuracies",
                    evidence=_evidence(design, opts, floor), oc=lambda _: c1_oc(draws, er))


def directions(design: FactorDesign, tests: pd.DataFrame, image_noise: bool = True) -> pd.DataFrame:
    """Per (baseline, CLIP row) of a :func:`.lines.factor_tests_grid`: factors with a per-factor
    significant + / − sign, the point count of ER > 0, the headline count rule's outcome, and which
    of the paper's named weak factors come out negative."""
    rows = []
    for (b, label), t in tests.groupby(["baseline", "label"], sort=False):
        s = t.set_index("factor")["sign"]
        key = next(k for k, r in CLIP_ROWS.items() if r.label == label)
        est = count_estimate(*design.row_er(key, b, image_noise))
        rows.append({"baseline": b, "label": label, "n_baseline": int(t["n_baseline"].iloc[0]),
                     "n_er_positive": int((t["er"] > 0).sum()), "n_positive": int((s == "+").sum()),
                     "n_negative": int((s == "-").sum()), "positive": ", ".join(s.index[s == "+"]),
                     "negative": ", ".join(s.index[s == "-"]),
                     "named_negative_found": ", ".join(f for f in PAPER_NAMED_NEGATIVE if s.get(f) == "-"),
                     "count_outcome": est.outcome.value if est.outcome else None})
    return pd.DataFrame(rows)
