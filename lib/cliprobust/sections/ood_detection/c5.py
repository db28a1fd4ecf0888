"""C5: within one training source, ImageNet accuracy correlates strongly with OOD detection (COOD, NINCO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import published
from ...metrics import stats
from .._base import Claim, Run, Variant, judge
from .cood import COOD_SCORES, cood_summary
from .ninco import NINCO_BENCHMARK, ninco_accuracy_correlation, ninco_table
from .sources import EXTRA_DATA_PRETRAIN, NOT_ONE_SOURCE

#: C5 headline score (run option ``score``).
C5_SCORE: str = "msp"

#: C5 headline sources (run option ``c5_sources``): the two single training sources the claim
#: contrasts -- zero-shot CLIP on WIT-400M and ImageNet-1k-only classifiers.
C5_SOURCES: tuple[str, ...] = ("clip-zeroshot", "imagenet-1k")
#: C5 y-axis (run option ``ood_auroc``): ``mean`` of COOD's 11 severity levels, or ``easiest`` /
#: ``hardest`` level.
C5_OOD_AUROC: str = "mean"
#: "Strong" correlation: Spearman rho >= 0.5 (Cohen 1988's "large" effect size for r), with the
#: lower end of its 95 % bootstrap interval (resampling models) above 0.
C5_MIN_RHO: float = 0.5
#: Fewest models a training source needs for its correlation to be judged (issue: every source with >= 5).
C5_MIN_MODELS: int = 5


def source_correlations(summary: pd.DataFrame, by: str = "training_source", y: str = "ood_auroc",
                        method: str = "spearman", memo: dict | None = None) -> pd.DataFrame:
    """Within-source correlation of id_top1 with ``y``, one row per value of ``by``.

    Columns ``source, n, rho, low, high`` (``stats.correlation_interval``: percentile interval from
    resampling models), ``pearson``, ``judged`` (>= :data:`C5_MIN_MODELS` models and one training
    source), ``holds`` (:data:`C5_MIN_RHO` rule; None when not judged). ``memo`` caches intervals by
    (method, x, y) bytes across calls (the multiverse reuses many groups).
    """
    memo = {} if memo is None else memo
    rows = []
    for name, sub in summary.groupby(by, sort=True):
        x, v = sub["id_top1"].to_numpy(float), sub[y].to_numpy(float)
        key = (method, x.tobytes(), v.tobytes())
        if key not in memo:
            memo[key] = stats.correlation_interval(x, v, method=method)
        iv = memo[key]
        pear = float(np.corrcoef(x, v)[0, 1]) if len(sub) >= 3 else np.nan
        judged = len(sub) >= C5_MIN_MODELS and name not in NOT_ONE_SOURCE
        rows.append({"source": name, "n": len(sub), "rho": iv.value, "low": iv.low, "high": iv.high,
                     "pearson": pear, "judged": judged, "holds": _c5_holds(iv) if judged else None})
    return pd.DataFrame(rows)


def _c5_holds(iv: stats.Interval) -> bool:
    return bool(iv.value >= C5_MIN_RHO and iv.low > 0)


# --------------------------------------------------------------------------- C5


@dataclass(frozen=True)
class C5Result:
    """The C5 rule under one protocol: the weakest judged source's correlation decides."""

    value: float
    low: float
    high: float
    holds: bool | None
    n: int
    per_source: str


def _c5_on(summary: pd.DataFrame, sources: Sequence[str], by: str = "training_source", y: str = "ood_auroc",
           method: str = "spearman", memo: dict | None = None) -> C5Result:
    """Rule over ``sources``: each with >= :data:`C5_MIN_MODELS` models must hold; the statistic is
    the smallest correlation among them (with its own interval). Groups that are not one training
    source (:data:`NOT_ONE_SOURCE`) are reported, never judged (``holds`` None)."""
    table = source_correlations(summary[summary[by].isin(sources)], by=by, y=y, method=method, memo=memo)
    table = table[table["n"] >= C5_MIN_MODELS]
    if table.empty:
        return C5Result(np.nan, np.nan, np.nan, None, 0, "no source with enough models")
    worst = table.loc[table["rho"].idxmin()]
    text = "; ".join(f"{r.source} n={r.n} {r.rho:.3f} [{r.low:.3f}, {r.high:.3f}]" for r in table.itertuples())
    judged = table[table["judged"]]
    holds = bool(judged["holds"].all()) if len(judged) else None
    if not len(judged):
        text += " (not one training source: reported, not judged)"
    return C5Result(float(worst["rho"]), float(worst["low"]), float(worst["high"]), holds, int(table["n"].sum()), text)



def _c5_protocol(run: Run) -> dict[str, Any]:
    return {"score": run.option("score", C5_SCORE), "ood_auroc": run.option("ood_auroc", C5_OOD_AUROC),
            "c5_sources": tuple(run.option("c5_sources", C5_SOURCES))}


def _c5_variant_specs(head: Mapping[str, Any], summary: pd.DataFrame) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, description, protocol changes) of every C5 variant other than the headline."""
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for s, n in summary["training_source"].value_counts().sort_index().items():
        if s not in head["c5_sources"] and n >= C5_MIN_MODELS:
            specs.append((f"source={s}", f"the rule on the {n} COOD models of training source {s}",
                          {"c5_sources": (s,)}))
    specs.append(("imagenet=pooled", "all COOD ImageNet classifiers as one group (mixes training sources)",
                  {"pooled": True}))
    for score in COOD_SCORES:
        if score != head["score"]:
            specs.append((f"score={score}", f"COOD {COOD_SCORES[score]} confidence instead", {"score": score}))
    specs.append(("score=mcm", "MCM (zero-shot CLIP's cosine softmax): NINCO only", {"mcm": True}))
    for lvl in ("mean", "easiest", "hardest"):
        if lvl != head["ood_auroc"]:
            specs.append((f"ood-auroc={lvl}", f"y = AUROC at COOD's {lvl} severity level", {"ood_auroc": lvl}))
    specs.append(("protocol=ninco-fixed-ood", "NINCO's 46 fixed OOD classes, MSP, 25 ImageNet classifiers",
                  {"ninco": True}))
    specs.append(("correlation=pearson", "Pearson r instead of Spearman rho", {"method": "pearson"}))
    specs.append(("leave-one-out=clip", "worst zero-shot CLIP correlation with one of the 9 models left out",
                  {"loo": "clip-zeroshot"}))
    return specs


_Y = {"mean": "ood_auroc", "easiest": "ood_auroc_easiest", "hardest": "ood_auroc_hardest"}


def _c5_eval(protocol: Mapping[str, Any], cood: pd.DataFrame, ninco: pd.DataFrame | None,
             cache: dict[Any, Any]) -> C5Result:
    """The C5 rule under one protocol (a dict of the headline options with some replaced)."""
    if protocol.get("ninco"):
        table = ninco_table(ninco)
        n = int(((table["benchmark"] == NINCO_BENCHMARK) & (table["method"] == "MSP")
                 & (table["family"] == "imagenet")).sum())
        iv = ninco_accuracy_correlation(table)
        return C5Result(iv.value, iv.low, iv.high, _c5_holds(iv), n,
                        f"NINCO ImageNet classifiers n={n} {iv.value:.3f} [{iv.low:.3f}, {iv.high:.3f}]")
    if protocol.get("mcm"):
        return C5Result(np.nan, np.nan, np.nan, None, len(published.NINCO_CLIP_ZEROSHOT),
                        "NINCO has MCM for 2 zero-shot CLIPs only: no correlation from 2 points")
    score = protocol["score"]
    if score not in cache:
        cache[score] = cood_summary(score, cood=cood)
    summary, memo = cache[score], cache.setdefault("memo", {})
    y = _Y[protocol["ood_auroc"]]
    method = protocol.get("method", "spearman")
    if protocol.get("pooled"):
        summary = summary.assign(training_source=summary["family"].where(summary["family"] != "imagenet",
                                                                          "imagenet (pooled)"))
        sources = tuple("imagenet (pooled)" if s.startswith("imagenet") or s in EXTRA_DATA_PRETRAIN else s
                        for s in protocol["c5_sources"])
        return _c5_on(summary, sources, y=y, method=method, memo=memo)
    if protocol.get("loo"):
        return _c5_leave_one_out(summary, protocol["loo"], y, method)
    return _c5_on(summary, protocol["c5_sources"], y=y, method=method, memo=memo)


def _c5_leave_one_out(summary: pd.DataFrame, source: str, y: str, method: str) -> C5Result:
    """The weakest of the leave-one-model-out correlations within ``source`` (its interval from
    ``stats.correlation_interval``; the point correlations pick which model to leave out)."""
    sub = summary[summary["training_source"] == source].reset_index(drop=True)
    rho = [sps.spearmanr(*sub.drop(index=i)[["id_top1", y]].to_numpy(float).T).statistic if method == "spearman"
           else np.corrcoef(*sub.drop(index=i)[["id_top1", y]].to_numpy(float).T)[0, 1] for i in range(len(sub))]
    i = int(np.argmin(rho))
    r = _c5_on(sub.drop(index=i), (source,), y=y, method=method)
    return C5Result(r.value, r.low, r.high, r.holds, r.n, f"{r.per_source}, without {sub.loc[i, 'name']}")


def claim_c5(run: Run = Run(), *, cood: pd.DataFrame | None = None, ninco: pd.DataFrame | None = None) -> Claim:
    """C5: within one training source, ImageNet accuracy correlates strongly with OOD detection.

    Headline (run options, defaults :data:`C5_SCORE`, :data:`C5_OOD_AUROC`, :data:`C5_SOURCES`): COOD,
    MSP, OOD AUROC averaged over the 11 severities, within zero-shot CLIP (WIT-400M) and within
    ImageNet-1k-only classifiers. Rule: in every judged source (>= :data:`C5_MIN_MODELS` models)
    Spearman rho >= :data:`C5_MIN_RHO` with its 95 % interval (``stats.correlation_interval``,
    resampling models) above 0. Statistic: the smallest such rho. Variants: every other training
    source with >= 5 models, the pooled ImageNet group, every COOD score, MCM, the severity level,
    NINCO's fixed OOD classes, Pearson, leave-one-model-out. Tier by :func:`~._base.judge`.
    """
    cood = published.cood_results() if cood is None else cood
    ninco = published.ninco_results() if ninco is None else ninco
    head = _c5_protocol(run)
    cache: dict[Any, Any] = {}
    h = _c5_eval(head, cood, ninco, cache)
    variants = [Variant(f"headline: score={head['score']}", f"COOD {head['score']}, {head['ood_auroc']} AUROC, "
                        f"sources {', '.join(head['c5_sources'])}", h.value, h.low, h.high, h.holds, True, h.n,
                        h.per_source)]
    for name, desc, change in _c5_variant_specs(head, cache[head["score"]]):
        r = _c5_eval({**head, **change}, cood, ninco, cache)
        variants.append(Variant(name, desc, r.value, r.low, r.high, r.holds, False, r.n, r.per_source))
    tier = judge(bool(h.holds), variants)
    return Claim("C5", tier, "smallest within-source Spearman rho (ImageNet top-1 vs OOD AUROC)",
                 h.value, h.low, h.high, _c5_evidence(head, h, variants), tuple(variants))


def variant_outcomes(headline_holds: bool, variants: Sequence[Variant], describe: Callable[[Variant], str]) -> str:
    """The variants that change the verdict: those that fail when the headline holds ("Breaks
    under"), those that hold when it fails ("Holds under")."""
    flip = [v for v in variants if not v.headline and v.holds is (not headline_holds)]
    if not flip:
        return ""
    return (" Breaks under: " if headline_holds else " Holds under: ") + "; ".join(describe(v) for v in flip) + "."


def _c5_evidence(head: Mapping[str, Any], h: C5Result, variants: Sequence[Variant]) -> str:
    text = (f"COOD, {head['score']} score, {head['ood_auroc']} OOD AUROC over its 11 model-specific severity levels vs "
            f"ImageNet top-1, within each training source: {h.per_source}. Rule: Spearman >= {C5_MIN_RHO} with "
            f"its 95% interval above 0 in every source with >= {C5_MIN_MODELS} models; intervals resample models "
            f"only (no image-level data: COOD publishes per-model AUROCs).")
    return text + variant_outcomes(bool(h.holds), variants,
                                   lambda v: f"{v.name} ({v.value:.3f} [{v.low:.3f}, {v.high:.3f}], n={v.n})")

