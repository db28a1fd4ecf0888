"""Section 09, do the properties move together? Spearman rank correlations of every pair of card
properties across models, within each model group and over all cards, with intervals from
resampling models, and the partial correlation given ImageNet top-1."""

from __future__ import annotations

from itertools import combinations
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from ...metrics import stats
from .cards import OBJECTNET_PROPERTIES, PROPERTY_TOP1, top1_column
from .join import GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA

#: The pseudo-group of correlations over every joined model.
GROUP_ALL = "all"
#: Properties compared pairwise across models (one per paper question; per-shift ERs are summarised
#: by the ER of the mean accuracy over the 4 shifts without ObjectNet, the one shift whose protocol
#: differs between the ER sources (:data:`.cards.OBJECTNET_PROTOCOLS`): so no pooled CLIP + ImageNet
#: correlation mixes two ObjectNet protocols). ImageNet top-1 is not a robustness property; it is
#: included to show how much of a co-movement plain accuracy could explain (OOD AUROC and the
#: confidence gap track it). NINCO's AUROC is left out: within a group it has <= 4 models, and across
#: groups it mixes MCM (zero-shot) with MSP (fine-tuned) scores.
CORRELATED: tuple[str, ...] = ("imagenet_top1", "er:mean-shift-4", "factor_er:mean", "shape_bias", "ood_auroc:cood",
                               "confidence_gap")

#: Fewest models for a rank correlation with an interval: with n < 5 Spearman's rho takes so few
#: values that a bootstrap interval is meaningless (|rho| = 1 has p = 0.083 two-sided at n = 4).
MIN_N_CORRELATION: int = 5

CORRELATION_COLUMNS = ["group", "x", "y", "n", "rho", "low", "high", "note", "top1_source", "partial_rho",
                       "partial_low", "partial_high"]
#: The control of the partial correlations: ImageNet accuracy, which OOD AUROC, the confidence gap
#: and (within CLIP) ER all track. Each comparison takes it from one source
#: (:func:`comparison_top1`), the one its properties rest on.
CONTROL: str = "imagenet_top1"
#: The top-1 source of a comparison whose properties rest on none (the card's headline top-1).
DEFAULT_TOP1: str = "er"

#: No partial correlation when the control's rank correlation with x or y reaches this: the
#: residual ranks are then a few ties' worth of noise (n = 9 CLIPs with rho(top-1, ER) = 0.98 leave
#: nothing to correlate, and the bootstrap interval degenerates).
PARTIAL_MAX_CONTROL_RHO: float = 0.95
#: Groups of the correlations, each on its own, then all joined models together.
CORRELATION_GROUPS: tuple[str, ...] = (GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA, GROUP_ALL)


def top1_sources(x: str, y: str) -> set[str]:
    """The top-1 sources (:data:`.cards.PROPERTY_TOP1`) that the properties x and y rest on."""
    return {PROPERTY_TOP1[p] for p in (x, y) if p in PROPERTY_TOP1}


def comparison_top1(x: str, y: str) -> str | None:
    """The one top-1 source of the comparison of x and y: the one their properties rest on
    (:data:`DEFAULT_TOP1` when neither rests on any; ``imagenet_top1`` itself takes the other's);
    None when they rest on two different ones (then no partial correlation: no single control)."""
    used = top1_sources(x, y)
    return None if len(used) > 1 else next(iter(used), DEFAULT_TOP1)


def objectnet_mix(rows: pd.DataFrame, x: str, y: str) -> str:
    """The reason to withhold a comparison whose models' ObjectNet protocols differ, else ''."""
    if not {x, y} & set(OBJECTNET_PROPERTIES):
        return ""
    if "objectnet_protocol" not in rows:
        raise ValueError(f"{x} vs {y} includes ObjectNet: the cards need their objectnet_protocol column")
    protocols = sorted(rows["objectnet_protocol"].dropna().unique())
    return f"mixes ObjectNet protocols ({'; '.join(protocols)}): no correlation reported" if len(protocols) > 1 else ""


def _partial(sub: pd.DataFrame, x: str, y: str, source: str | None, min_n: int) -> tuple[float, float, float, str]:
    """Partial rho of x and y given the comparison's top-1 (``source``) with its bootstrap interval,
    or NaNs and the reason."""
    nan = (np.nan, np.nan, np.nan)
    if source is None:
        used = ", ".join(f"{p} on {PROPERTY_TOP1[p]}'s" for p in (x, y))
        return (*nan, f"; no partial: no single top-1 source ({used})")
    control = top1_column(source)
    if control in (x, y) or control not in sub:
        return (*nan, "")
    both = sub[[x, y, control]].dropna()
    if len(both) < min_n:
        return (*nan, "")
    rz = [abs(sps.spearmanr(both[c], both[control]).statistic) for c in (x, y)]
    if max(rz) >= PARTIAL_MAX_CONTROL_RHO:
        return (*nan, f"; no partial: ImageNet top-1 ranks {max(rz):.2f} with {x if rz[0] >= rz[1] else y}")
    iv = stats.bootstrap(stats.partial_spearman, *(both[c].to_numpy() for c in (x, y, control)))
    return iv.value, iv.low, iv.high, ""


def _pair(sub: pd.DataFrame, group: str, x: str, y: str, min_n: int) -> dict:
    """One row of :func:`property_correlations`: x and y over the cards of ``sub`` that have both."""
    source = comparison_top1(x, y)
    cx, cy = (top1_column(source) if p == CONTROL else p for p in (x, y))
    has = sub[[cx, cy]].dropna().index
    row = {"group": group, "x": x, "y": y, "n": len(has), "top1_source": source or "none (two sources)"}
    reason = objectnet_mix(sub.loc[has], x, y) or (
        f"n = {len(has)} < {min_n}: no correlation reported" if len(has) < min_n else "")
    if reason:
        return {**row, "rho": np.nan, "low": np.nan, "high": np.nan, "note": reason}
    iv = stats.correlation_interval(sub.loc[has, cx].to_numpy(), sub.loc[has, cy].to_numpy(), method="spearman")
    p = _partial(sub, cx, cy, source, min_n)
    return {**row, "rho": iv.value, "low": iv.low, "high": iv.high,
            "note": ("interval excludes 0" if iv.excludes_zero else "interval includes 0") + p[3],
            "partial_rho": p[0], "partial_low": p[1], "partial_high": p[2]}


def property_correlations(wide: pd.DataFrame, properties: Iterable[str] = CORRELATED,
                          groups: Iterable[str] = CORRELATION_GROUPS, min_n: int = MIN_N_CORRELATION) -> pd.DataFrame:
    """Spearman rho of every pair of ``properties`` across the cards that have both, within each
    group and over all cards, with a 95 % interval from resampling models, and the partial rho given
    the comparison's one top-1 source (``top1_source``, :func:`comparison_top1`; ``imagenet_top1``
    as x or y is that source's top-1). Pairs with n < ``min_n``, or whose models' ObjectNet protocols
    differ (:func:`objectnet_mix`), get no correlation and a note saying so."""
    props = [p for p in properties if p in wide.columns]
    rows = []
    for g in groups:
        sub = wide if g == GROUP_ALL else wide[wide["group"] == g]
        rows += [_pair(sub, g, x, y, min_n) for x, y in combinations(props, 2)]
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
