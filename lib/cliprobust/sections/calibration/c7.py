"""Claim C7 on published data: a zero-shot CLIP's calibration error bound against the published ECE of
accuracy-matched ImageNet models (ImageNet val).

The paper (Tu et al. 2023, abstract): "CLIP models are not consistently more calibrated than other
ImageNet models, which contradicts existing findings"; §6.1: "CLIP models trained on LAION-80M dataset
exhibit much lower calibration performance when compared to standard models". A negation of "CLIPs
are better calibrated": it holds when some CLIP is not better than comparable ImageNet models.

What the published data allow: COOD (Galil et al. 2023) gives each OpenAI (WIT) CLIP's mean
max-softmax confidence and top-1 on ImageNet val, so ``|confidence − accuracy|`` -- a **lower bound** on
its top-label ECE (triangle inequality over the bins) -- and ImageNet-X / uncertainty-baselines give
*actual* ECEs of ImageNet models. ``|gap_CLIP| > ECE_ref`` implies ``ECE_CLIP > ECE_ref``: a valid
one-way comparison. The converse is not: the bound can never show a CLIP *better* calibrated, so the
headline cannot reach "contradicts" (the per-sample caches, which give CLIP ECE itself, can).
"""

from __future__ import annotations

from functools import lru_cache
from statistics import NormalDist
from typing import Any, Callable

import numpy as np
import pandas as pd

from ... import published
from ...metrics import stats
from ...runs import Options
from ...verdicts import (NOT_WORSE, Claim, Estimate, OperatingCharacteristics, Outcome, Rule, Spec, any_of,
                         evaluate, simulated_oc)
from ..ood_detection.sources import cood_source, timm_pretrain_labels
from .tables import imagenetx_calibration, uncertainty_baselines_table

#: Images of ImageNet val behind every COOD / ImageNet-X accuracy and mean confidence.
IMAGENET_VAL_N: int = 50_000
#: Broken-row rule (declared): a COOD row whose mean max-softmax confidence is below this value is
#: dropped. A 1000-way softmax averages at least 0.001 (uniform), and a classifier above 5 % top-1
#: that averages < 5 % confidence is emitting near-uniform probabilities -- a scale bug in the
#: stored outputs, not a calibration property: COOD's 7 CLIP linear-probe rows (0.0018-0.0024 at
#: 72-84 % top-1) and the untrained efficientnet_b5-b7 rows (0.1 % top-1).
C7_MIN_MEAN_CONFIDENCE: float = 0.05
#: The smallest ECE difference that matters: one point of top-label ECE, about what deep ensembles
#: and SNGP gain over the deterministic ResNet-50 in uncertainty-baselines (0.032 -> 0.013-0.017),
#: the smallest improvements that calibration literature reports as gains. A CLIP "better calibrated"
#: by less than this is not better in any sense the claim is about.
C7_MARGIN: float = 0.01
#: Headline rule: statistic = ECE_CLIP − ECE_ref (positive: the CLIP is worse, the claim's side);
#: "not better" is supported when the interval excludes an improvement of the margin or more.
C7_RULE = Rule(NOT_WORSE, C7_MARGIN)
#: Image-sampling standard error of a published top-label ECE on 50,000 ImageNet val images (the
#: reference side): a bootstrap of ImageNet-X ResNet-50's per-image predictions gives 0.0016
#: (``tests/test_calibration_section.py``); rounded up.
REF_ECE_SE: float = 0.002
#: Reference sets with actual ECEs on ImageNet val (option ``reference``): both published tables
#: (headline), only the 4 ImageNet-X models (15-bin ECE from their per-image predictions), only the
#: uncertainty-baselines ImageNet models (ECE as published; the suspect EfficientNet-B0 row left out).
REFERENCES: tuple[str, ...] = ("published-ece", "imagenetx-ece", "ub-ece")
#: What a CLIP is compared with among its matched references (option ``compare``): their median
#: (headline: "comparable ImageNet models" as a typical one), the best-calibrated (looser: not better
#: than some comparable model), the worst-calibrated (stricter: worse than every comparable model).
COMPARE: dict[str, Callable[..., np.ndarray]] = {"median": np.median, "best-calibrated": np.min,
                                                 "worst-calibrated": np.max}
#: Correction over the compared CLIPs (option ``correction``): Bonferroni-adjusted intervals, so that
#: "some CLIP is not better" holds simultaneously (the most favourable of many CLIPs is selected).
CORRECTIONS: tuple[str, ...] = ("bonferroni", "none")
C7_ALPHA: float = 0.05
#: Fewest matched references for a CLIP to be compared (the published ECE tables are small).
C7_MIN_NEIGHBOURS: int = 1
#: What would make the rest of C7 testable.
C7_NEEDS = ("per-sample logits of LAION-80M/400M/2B zero-shot CLIPs and ImageNet models on ImageNet val and its "
            "shifts (profile 'full'): CLIP ECE itself, the LAION-80M part and the shifted test sets")


def confidence_gaps(cood: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per COOD model (MSP rows): ``name, family, source, id_top1, mean_confidence, gap`` (= mean
    confidence - accuracy, > 0 over-confident), ``abs_gap`` (a lower bound on top-label ECE) and
    ``broken`` (:data:`C7_MIN_MEAN_CONFIDENCE` rule)."""
    cood = published.cood_results() if cood is None else cood
    rows = cood[cood["confidence"] == "softmax"]
    out = rows.groupby(["name", "family"], sort=True).agg(id_top1=("id_top1", "first"),
                                                           mean_confidence=("id_avg_conf", "first")).reset_index()
    pretrain = timm_pretrain_labels().to_dict()
    out.insert(2, "source", [cood_source(n, f, pretrain) for n, f in zip(out["name"], out["family"])])
    out["gap"] = out["mean_confidence"] - out["id_top1"]
    out["abs_gap"] = out["gap"].abs()
    out["broken"] = out["mean_confidence"] < C7_MIN_MEAN_CONFIDENCE
    return out


def reference_models(reference: str, ix: pd.DataFrame | None = None, ub: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """ImageNet models with a published top-label ECE on ImageNet val: ``name, id_top1, ece``
    (:data:`REFERENCES`)."""
    if reference not in REFERENCES:
        raise ValueError(f"unknown C7 reference {reference!r}; choose one of {REFERENCES}")
    parts = []
    if reference in ("published-ece", "imagenetx-ece"):
        ix = imagenetx_calibration() if ix is None else ix
        parts.append(pd.DataFrame({"name": ix["model"], "id_top1": ix["accuracy"], "ece": ix["ece"]}))
    if reference in ("published-ece", "ub-ece"):
        ub = uncertainty_baselines_table() if ub is None else ub
        d = ub[(ub["test_set"] == "imagenet") & ~ub["suspect"]].dropna(subset=["ece", "top1"])
        parts.append(pd.DataFrame({"name": "ub:" + d["arch"] + "/" + d["method"], "id_top1": d["top1"],
                                   "ece": d["ece"]}))
    return pd.concat(parts, ignore_index=True)


def clip_rows(gaps: pd.DataFrame) -> pd.DataFrame:
    """The zero-shot CLIPs of :func:`confidence_gaps` (broken rows dropped)."""
    return gaps[(gaps["family"] == "clip-zeroshot") & ~gaps["broken"]].reset_index(drop=True)


def _bound_draws(clip: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) image-sampling draws of each CLIP's |confidence − accuracy|. Accuracy and mean
    confidence are drawn as independent binomial proportions on 50,000 images: the binomial variance
    is the largest a mean of values in [0, 1] can have, and independence ignores their positive
    per-image correlation, so the draws are conservative."""
    acc = stats.binomial_draws(clip["id_top1"].to_numpy(), IMAGENET_VAL_N, n_boot, seed)
    conf = stats.binomial_draws(clip["mean_confidence"].clip(0, 1).to_numpy(), IMAGENET_VAL_N, n_boot, seed + 1)
    return np.abs(conf - acc)


def _reference_draws(ece: np.ndarray, matched: np.ndarray, compare: str, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot,) draws of the compared reference ECE: the matched reference models resampled (the
    models of the comparison are a sample) and each ECE drawn with its image noise (:data:`REF_ECE_SE`)."""
    rng = np.random.default_rng(seed)
    members = matched[rng.integers(0, matched.size, (n_boot, matched.size))]
    noisy = ece[members] + REF_ECE_SE * rng.standard_normal(members.shape)
    return COMPARE[compare](noisy, axis=1)


def matched_bounds(gaps: pd.DataFrame, ref: pd.DataFrame, window: float, compare: str = "median",
                   correction: str = "bonferroni", n_boot: int = stats.N_BOOT, seed: int = stats.SEED
                   ) -> pd.DataFrame:
    """Per zero-shot CLIP: ``b = |gap_CLIP| − ECE_ref`` (a lower bound on ECE_CLIP − ECE_ref), where
    ECE_ref is the ``compare`` statistic of the references within ``window`` top-1, with a bootstrap
    interval (CLIP image sampling, reference models resampled, reference image noise), Bonferroni-
    adjusted over the compared CLIPs unless ``correction='none'``. Columns ``name, id_top1, gap,
    abs_gap, n_ref, ref_ece, b, low, high, level``; NaN where fewer than :data:`C7_MIN_NEIGHBOURS` match."""
    clip = clip_rows(gaps)
    bound = _bound_draws(clip, n_boot, seed)
    ece, acc = ref["ece"].to_numpy(float), ref["id_top1"].to_numpy(float)
    matched = [np.flatnonzero(np.abs(acc - a) <= window + 1e-12) for a in clip["id_top1"]]
    k = sum(m.size >= C7_MIN_NEIGHBOURS for m in matched)
    level = 1 - C7_ALPHA / max(k, 1) if correction == "bonferroni" else 1 - C7_ALPHA
    rows = []
    for i, (c, m) in enumerate(zip(clip.itertuples(), matched)):
        row = {"name": c.name, "id_top1": c.id_top1, "gap": c.gap, "abs_gap": c.abs_gap, "n_ref": m.size}
        if m.size < C7_MIN_NEIGHBOURS:
            rows.append({**row, **dict.fromkeys(["ref_ece", "b", "low", "high"], np.nan)})
            continue
        ref_ece = float(COMPARE[compare](ece[m]))
        low, high = stats.percentile_interval(bound[:, i] - _reference_draws(ece, m, compare, n_boot, seed + 7 + i),
                                              level=level)
        rows.append({**row, "ref_ece": ref_ece, "b": c.abs_gap - ref_ece, "low": float(low), "high": float(high)})
    return pd.DataFrame(rows).assign(level=level)


def bound_outcomes(table: pd.DataFrame, rule: Rule = C7_RULE) -> list[Outcome | None]:
    """Each compared CLIP's outcome under ``rule``, with "contradicts" out of reach: the interval is
    on a lower bound of ECE_CLIP − ECE_ref, so it can show a CLIP *not better* (low > −margin), never
    better (its true upper end is unbounded)."""
    out = []
    for r in table.itertuples():
        o = rule.outcome(r.low, r.high)
        out.append(Outcome.INCONCLUSIVE if o is Outcome.CONTRADICTS else o)
    return out


def bound_estimate(table: pd.DataFrame, rule: Rule = C7_RULE) -> Estimate:
    """"Some CLIP is not better" (:func:`~cliprobust.verdicts.any_of` of :func:`bound_outcomes`):
    the value and interval of the CLIP with the highest lower end (the most favourable one, selected
    under the simultaneous intervals)."""
    judged = table[table["b"].notna()]
    if judged.empty:
        return Estimate.missing("no zero-shot CLIP has an accuracy-matched reference model with a published ECE")
    outcomes = bound_outcomes(judged, rule)
    top = judged.loc[judged["low"].idxmax()]
    n_not_better = sum(o is Outcome.SUPPORTS for o in outcomes)
    note = (f"{len(judged)}/{len(table)} CLIPs matched; {n_not_better} shown not better by {rule.margin:g} or more; "
            f"most favourable {top['name']} (|gap| {top['abs_gap']:.4f} vs reference ECE {top['ref_ece']:.4f}, "
            f"{int(top['n_ref'])} references)")
    return Estimate(float(top["b"]), float(top["low"]), float(top["high"]), any_of(outcomes), len(judged), note,
                    {"table": table})


def c7_bound(opts: Options, gaps: pd.DataFrame, ix: pd.DataFrame | None, ub: pd.DataFrame | None,
             rule: Rule = C7_RULE) -> Estimate:
    """The published-data protocol of C7 under options ``opts`` (``reference``, ``match_window``,
    ``compare``, ``correction``, ``n_boot``)."""
    ref = reference_models(opts.reference, ix, ub)
    table = matched_bounds(gaps, ref, opts.match_window, opts.compare, opts.correction, opts.n_boot)
    return bound_estimate(table, rule)


#: Variants of C7 on published data: (name, description, option changes, rule).
C7_VARIANTS: tuple[tuple[str, str, dict[str, Any], Rule], ...] = (
    ("reference=imagenetx-ece", "only the 4 ImageNet-X models (ECE from their per-image predictions)",
     {"reference": "imagenetx-ece"}, C7_RULE),
    ("reference=ub-ece", "only uncertainty-baselines' ImageNet models (ResNet-50 methods)", {"reference": "ub-ece"},
     C7_RULE),
    ("window=0.02", "accuracy-matched = within 0.02 top-1", {"match_window": 0.02}, C7_RULE),
    ("window=0.10", "accuracy-matched = within 0.10 top-1", {"match_window": 0.10}, C7_RULE),
    ("compare=best-calibrated", "looser: not better than the best-calibrated matched model",
     {"compare": "best-calibrated"}, C7_RULE),
    ("compare=worst-calibrated", "stricter: worse than every matched model", {"compare": "worst-calibrated"}, C7_RULE),
    ("correction=none", "per-CLIP 95 % intervals, no correction for picking the most favourable CLIP",
     {"correction": "none"}, C7_RULE),
    ("margin=0", "stricter: some CLIP's bound significantly above its references (the previous burden)", {},
     Rule(NOT_WORSE, 0.0)),
)


def c7_specs(opts: Options, gaps: pd.DataFrame, ix: pd.DataFrame | None, ub: pd.DataFrame | None
             ) -> tuple[Spec, list[Spec]]:
    """The headline spec (the run's options) and the published-data variant specs (those that differ)."""
    head = Spec(f"headline: reference={opts.reference}, window={opts.match_window:g}, compare={opts.compare}",
                "a CLIP's |confidence − accuracy| vs the published ECE of accuracy-matched ImageNet models",
                lambda: c7_bound(opts, gaps, ix, ub))
    specs = []
    for name, desc, change, rule in C7_VARIANTS:
        alt = opts.but(**change)
        if alt == opts and rule == C7_RULE:
            continue
        specs.append(Spec(name, desc, lambda alt=alt, rule=rule: c7_bound(alt, gaps, ix, ub, rule)))
    return head, specs


@lru_cache(maxsize=32)
def _oc_codes(below: tuple[float, ...], above: tuple[float, ...], level: float, margin: float, effect: float,
              n: int, seed: int) -> np.ndarray:
    """Outcome codes of the headline rule on simulated bounds: every compared CLIP's true bound at
    ``effect``, its estimate drawn normal with the SE its own interval (at ``level``) implies, and
    judged with that interval's half-widths (asymmetry kept)."""
    lo, hi = np.asarray(below), np.asarray(above)
    se = np.maximum((lo + hi) / (2 * NormalDist().inv_cdf(0.5 + level / 2)), 1e-12)
    z = effect + se * np.random.default_rng(seed).standard_normal((n, lo.size))
    sup = ((z - lo) > -margin).any(axis=1)
    return np.where(sup, 1, 0)


def c7_oc(head: Estimate, rule: Rule = C7_RULE) -> OperatingCharacteristics | None:
    """Operating characteristics of the headline rule on its own design (each compared CLIP's
    interval widths, Bonferroni kept), in the engine's convention for a not-worse rule: "at the
    margin" = every CLIP better by the margin (b = −margin: the claim false, so "supports" there is
    the error rate); "at zero" = every CLIP exactly as calibrated as its references (b = 0: the claim
    holds, so "supports" there is the power). "Contradicts" is unreachable by construction."""
    t = head.detail.get("table")
    if t is None:
        return None
    t = t[t["b"].notna()]
    below, above = tuple((t["b"] - t["low"]).round(6)), tuple((t["high"] - t["b"]).round(6))

    def simulate(effect: float, rng: np.random.Generator, n: int) -> np.ndarray:
        return _oc_codes(below, above, float(t["level"].iloc[0]), rule.margin, effect, n, int(rng.integers(1 << 31)))

    return simulated_oc(simulate, -rule.margin, 0.0, method="simulated per compared model with its own interval; "
                        "'margin' = each better by the margin (the claim false), 'zero' = each as calibrated as "
                        "its references (the claim holds)")


#: The headline statistic, as the claims table names it.
C7_STATISTIC = ("|confidence − accuracy| of the most favourable zero-shot CLIP minus the published ECE of "
                "accuracy-matched ImageNet models (ImageNet val; a lower bound on the ECE difference)")


def c7_evidence(gaps: pd.DataFrame) -> Callable[[Estimate], str]:
    """The evidence text of the headline estimate: scope, data, what the bound can and cannot show."""
    dropped = gaps[gaps["broken"]]

    def text(head: Estimate) -> str:
        return (f"Scope: WIT (OpenAI) zero-shot CLIPs on ImageNet val only; the paper's evidence (LAION-80M CLIPs, "
                f"shifted test sets) needs caches. COOD MSP rows, {len(dropped)} broken rows dropped (mean confidence "
                f"< {C7_MIN_MEAN_CONFIDENCE}). |mean confidence − accuracy| <= top-label ECE, so |gap_CLIP| − ECE_ref "
                f"bounds ECE_CLIP − ECE_ref from below: it can show a CLIP not better calibrated, never better -- "
                f"'contradicts' is unreachable on published data (the data=caches variants can reach it). "
                f"Headline: {head.note}; interval: CLIP image sampling (conservative binomial), matched reference "
                f"models resampled, reference ECE image noise (SE {REF_ECE_SE}), Bonferroni over the compared CLIPs")
    return text


def claim(opts: Options, gaps: pd.DataFrame, ix: pd.DataFrame | None, ub: pd.DataFrame | None,
          extra: list[Spec]) -> Claim:
    """C7 on the engine: the published-data headline and variants plus ``extra`` (cache) specs."""
    head, specs = c7_specs(opts, gaps, ix, ub)
    return evaluate("C7", C7_STATISTIC, head, specs + extra, rule=C7_RULE, needs=C7_NEEDS,
                    evidence=c7_evidence(gaps), oc=c7_oc, numbers={"gaps": gaps})
