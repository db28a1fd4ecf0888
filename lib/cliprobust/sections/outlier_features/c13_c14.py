"""C13 and C14 on cached image features ("Interpreting CLIP", TMLR 2024), on the claims engine.

C13 -- "robust zero-shot CLIP encoders have outlier features": the share of cached zero-shot CLIP
encoders with >= 1 outlier dimension, Wilson 95 % interval over models, :data:`C13_RULE`.
C14 -- "outlier features appear only in the robust models of the study": the share of the less robust
models (ImageNet-trained, CLIP fine-tuned on ImageNet) with one, an equivalence test against 0 with
:data:`C14_MARGIN` (:data:`C14_RULE`). Variants: the outlier threshold, the kurtosis criterion, each
architecture family, each pre-training source left out (C13); the thresholds, each less robust group,
the robust-minus-less-robust difference and the ER-correlation reading (C14). Image sampling is not
resampled (features of every image of the set are reduced once per model).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ... import style
from ...metrics import features as F
from ...metrics import stats
from ...verdicts import EQUIVALENT, GREATER, Claim, Estimate, Rule, Spec, evaluate, share_oc
from .features import KURTOSIS_HIGH, LESS_ROBUST_GROUPS, OUTLIER_THRESHOLDS, ROBUST_GROUPS, n_col

#: Fewest cached models per side (robust / less robust) for a share to be computed.
MIN_MODELS: int = 5
#: C13's margin: the paper's generic "robust CLIP encoders have outlier features" is read as "at least
#: half of them" -- a property of fewer than half of the encoders would not be a property of robust
#: CLIP encoders (a choice of this project; the paper reports it for its 16 encoders without a rate).
C13_MARGIN: float = 0.5
#: C13's rule: the share's interval excludes 0 and is not wholly below one half (supports); wholly
#: below one half (contradicts).
C13_RULE = Rule(GREATER, C13_MARGIN)
#: C14's margin: the share of less robust models with outlier features that still reads as "only in
#: the robust models" -- one in ten (a choice of this project: a rare exception among the less robust
#: models, far below C13's one half).
C14_MARGIN: float = 0.1
#: C14's rule: equivalence of the less robust side's share with 0 (TOST): the interval inside
#: [0, 0.1) supports (needs >= 35 models with none: Wilson's upper bound 3.84 / (n + 3.84)); wholly
#: above 0.1 contradicts.
C14_RULE = Rule(EQUIVALENT, C14_MARGIN)
#: The ER-correlation reading of C14 (a variant): Spearman(max activation ratio, published ER) over
#: models, bootstrap interval; 0.3 = a moderate correlation (Cohen 1988), the least that "tracks" means.
C14_CORR_RULE = Rule(GREATER, 0.3)
C13_STATISTIC = "share of zero-shot CLIP encoders with >= 1 outlier feature"
C14_STATISTIC = "share of less robust models (ImageNet, CLIP fine-tuned) with >= 1 outlier feature"


def has_outliers(table: pd.DataFrame, criterion: str) -> pd.Series:
    """Per model: >= 1 outlier dimension by an outlier-count column, or (``kurtosis``) a mean
    per-sample kurtosis above :data:`~.features.KURTOSIS_HIGH`."""
    if criterion == "kurtosis":
        return table["mean_sample_kurtosis"] > KURTOSIS_HIGH
    return table[criterion] > 0


def robust(table: pd.DataFrame) -> pd.DataFrame:
    """The robust side: zero-shot CLIP rows."""
    return table[table["group"].isin(list(ROBUST_GROUPS))]


def less_robust(table: pd.DataFrame, groups: Sequence[str] = LESS_ROBUST_GROUPS) -> pd.DataFrame:
    """The less robust side: ImageNet-trained and CLIP fine-tuned rows (or ``groups``)."""
    return table[table["group"].isin(list(groups))]


def share(rows: pd.DataFrame, criterion: str, rule: Rule) -> Estimate:
    """Share of ``rows`` with outlier features by ``criterion``, Wilson 95 % interval over models,
    judged by ``rule`` (missing below :data:`MIN_MODELS` models)."""
    n = int(len(rows))
    if n < MIN_MODELS:
        return Estimate.missing(f"{n} cached models (< {MIN_MODELS})", n)
    k = int(has_outliers(rows, criterion).sum())
    low, high = stats.wilson_interval(k, n)
    return Estimate.judged(rule, k / n, low, high, n, detail={"k": k})


def difference(table: pd.DataFrame, criterion: str) -> Estimate:
    """Robust minus less robust share (Newcombe's hybrid score interval from the two Wilson
    intervals), judged by :data:`C13_RULE`'s margin: "only in the robust models" as a large gap."""
    a, b = share(robust(table), criterion, C13_RULE), share(less_robust(table), criterion, C14_RULE)
    if a.outcome is None or b.outcome is None:
        return Estimate.missing(a.note or b.note)
    d = a.value - b.value
    low = d - np.hypot(a.value - a.low, b.high - b.value)
    high = d + np.hypot(a.high - a.value, b.value - b.low)
    return Estimate.judged(C13_RULE, d, low, high, min(a.n, b.n), note="Newcombe hybrid score interval")


def er_correlation(table: pd.DataFrame) -> Estimate:
    """Spearman(max activation ratio, published ER) over the models with ER, bootstrap over models."""
    known = table.dropna(subset=["er"])
    if len(known) < MIN_MODELS:
        return Estimate.missing(f"{len(known)} models with ER (< {MIN_MODELS})", len(known))
    rho = stats.correlation_interval(known["max_activation_ratio"].to_numpy(), known["er"].to_numpy())
    return Estimate.judged(C14_CORR_RULE, rho.value, rho.low, rho.high, len(known), note="bootstrap over models")


def c13_specs(table: pd.DataFrame, threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> tuple[Spec, list[Spec]]:
    """Headline (ratio > ``threshold`` x the median dimension, every cached zero-shot CLIP) and the
    variants: the other thresholds, the kurtosis criterion, each architecture family alone, each
    pre-training source left out."""
    rows, col = robust(table), n_col(threshold)

    def spec(name: str, text: str, sub: pd.DataFrame, criterion: str = col) -> Spec:
        return Spec(name, text, lambda: share(sub, criterion, C13_RULE))

    head = spec("headline", f"ratio > {threshold:g}x median dimension, all zero-shot CLIP", rows)
    out = [spec(f"threshold={t:g}", f"ratio > {t:g}x median dimension", rows, n_col(t))
           for t in OUTLIER_THRESHOLDS if t != threshold]
    out.append(spec("criterion=kurtosis", f"mean per-sample kurtosis > {KURTOSIS_HIGH:g}", rows, "kurtosis"))
    out += [spec(f"family={fam}", f"{fam} encoders only", rows[rows["arch_family"] == fam])
            for fam in sorted(set(rows["arch_family"]))]
    out += [spec(f"drop-source={src}", f"without {style.display(src)} models", rows[rows["pretrain_data"] != src])
            for src in sorted(set(rows["pretrain_data"]))]
    return head, out


def c14_specs(table: pd.DataFrame, threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> tuple[Spec, list[Spec]]:
    """Headline (ratio > ``threshold``; less robust = ImageNet + CLIP fine-tuned) and the variants:
    the other thresholds, each less robust group alone, the difference to the robust side, the
    ER-correlation reading."""
    col = n_col(threshold)

    def spec(name: str, text: str, sub: pd.DataFrame, criterion: str = col) -> Spec:
        return Spec(name, text, lambda: share(sub, criterion, C14_RULE))

    head = spec("headline", f"ratio > {threshold:g}x; less robust = ImageNet + CLIP fine-tuned", less_robust(table))
    out = [spec(f"threshold={t:g}", f"ratio > {t:g}x", less_robust(table), n_col(t))
           for t in OUTLIER_THRESHOLDS if t != threshold]
    out += [spec(f"less-robust={g}", f"less robust side: {style.group_label(g)} only", less_robust(table, (g,)))
            for g in LESS_ROBUST_GROUPS]
    out += [Spec("reading=difference", "robust minus less robust share > 0, margin 0.5",
                 lambda: difference(table, col)),
            Spec("reading=er-correlation", "Spearman(max activation ratio, published ER) > 0, margin 0.3",
                 lambda: er_correlation(table))]
    return head, out


def _evidence(what: str) -> Callable[[Estimate], str]:
    def text(head: Estimate) -> str:
        return (f"{what}: {head.value:.2f} [{head.low:.2f}, {head.high:.2f}] of {head.n} models (Wilson 95 % over "
                f"models; image sampling not resampled)")
    return text


def claim_c13(table: pd.DataFrame, needs: str, threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> Claim:
    """C13 on a feature table (:func:`.features.feature_table`) under the headline ``threshold``."""
    head, variants = c13_specs(table, threshold)
    return evaluate("C13", C13_STATISTIC, head, variants, rule=C13_RULE, needs=needs,
                    evidence=_evidence("zero-shot CLIP encoders with outlier features"),
                    oc=lambda h: share_oc(C13_RULE, h.n, stats.wilson_interval))


def claim_c14(table: pd.DataFrame, needs: str, threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> Claim:
    """C14 on a feature table: at the margin the less robust share is 0.1 (the claim just false), at
    zero it is 0 (the claim true): supports-at-zero is the rule's power here."""
    head, variants = c14_specs(table, threshold)
    robust_side = share(robust(table), n_col(threshold), C13_RULE)
    side = (f"; robust side {robust_side.value:.2f} [{robust_side.low:.2f}, {robust_side.high:.2f}] of "
            f"{robust_side.n}" if robust_side.outcome is not None else "")
    return evaluate("C14", C14_STATISTIC, head, variants, rule=C14_RULE, needs=needs,
                    evidence=lambda h: _evidence("less robust models with outlier features")(h) + side,
                    oc=lambda h: share_oc(C14_RULE, h.n, stats.wilson_interval, C14_MARGIN, 0.0))
