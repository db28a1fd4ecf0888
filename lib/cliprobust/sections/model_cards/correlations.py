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
from .join import GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA

#: The pseudo-group of correlations over every joined model.
GROUP_ALL = "all"
#: Properties compared pairwise across models (one per paper question; per-shift ERs are summarised
#: by the mean-shift ER). ImageNet top-1 is not a robustness property; it is included to show how much
#: of a co-movement plain accuracy could explain (OOD AUROC and the confidence gap track it). NINCO's
#: AUROC is left out: within a group it has <= 4 models, and across groups it mixes MCM (zero-shot)
#: with MSP (fine-tuned) scores.
CORRELATED: tuple[str, ...] = ("imagenet_top1", "er:mean-shift", "factor_er:mean", "shape_bias", "ood_auroc:cood",
                               "confidence_gap")

#: Fewest models for a rank correlation with an interval: with n < 5 Spearman's rho takes so few
#: values that a bootstrap interval is meaningless (|rho| = 1 has p = 0.083 two-sided at n = 4).
MIN_N_CORRELATION: int = 5

CORRELATION_COLUMNS = ["group", "x", "y", "n", "rho", "low", "high", "note", "partial_rho", "partial_low",
                       "partial_high"]
#: The control of the partial correlations: ImageNet accuracy, which OOD AUROC, the confidence gap
#: and (within CLIP) ER all track.
CONTROL: str = "imagenet_top1"


#: No partial correlation when the control's rank correlation with x or y reaches this: the
#: residual ranks are then a few ties' worth of noise (n = 9 CLIPs with rho(top-1, ER) = 0.98 leave
#: nothing to correlate, and the bootstrap interval degenerates).
PARTIAL_MAX_CONTROL_RHO: float = 0.95


def _partial(both: pd.DataFrame, x: str, y: str, min_n: int) -> tuple[float, float, float, str]:
    """Partial rho given :data:`CONTROL` with its bootstrap interval, or NaNs and the reason."""
    nan = (np.nan, np.nan, np.nan)
    if CONTROL in (x, y) or CONTROL not in both or len(both) < min_n:
        return (*nan, "")
    rz = [abs(sps.spearmanr(both[c], both[CONTROL]).statistic) for c in (x, y)]
    if max(rz) >= PARTIAL_MAX_CONTROL_RHO:
        return (*nan, f"; no partial: ImageNet top-1 ranks {max(rz):.2f} with {x if rz[0] >= rz[1] else y}")
    iv = stats.bootstrap(stats.partial_spearman, *(both[c].to_numpy() for c in (x, y, CONTROL)))
    return iv.value, iv.low, iv.high, ""


#: Groups of the correlations, each on its own, then all joined models together.
CORRELATION_GROUPS: tuple[str, ...] = (GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA, GROUP_ALL)


def property_correlations(wide: pd.DataFrame, properties: Iterable[str] = CORRELATED,
                          groups: Iterable[str] = CORRELATION_GROUPS, min_n: int = MIN_N_CORRELATION) -> pd.DataFrame:
    """Spearman rho of every pair of ``properties`` across the cards that have both, within each
    group and over all cards, with a 95 % interval from resampling models, and the partial rho given
    :data:`CONTROL`; pairs with n < ``min_n`` get no correlation and a note saying so."""
    props = [p for p in properties if p in wide.columns]
    rows = []
    for g in groups:
        sub = wide if g == GROUP_ALL else wide[wide["group"] == g]
        for x, y in combinations(props, 2):
            both = sub[[x, y]].dropna()
            n = len(both)
            if n < min_n:
                rows.append({"group": g, "x": x, "y": y, "n": n, "rho": np.nan, "low": np.nan, "high": np.nan,
                             "note": f"n = {n} < {min_n}: no correlation reported"})
                continue
            iv = stats.correlation_interval(both[x].to_numpy(), both[y].to_numpy(), method="spearman")
            triple = sub[list(dict.fromkeys([x, y, CONTROL]))].dropna() if CONTROL in sub else both
            p = _partial(triple, x, y, min_n)
            rows.append({"group": g, "x": x, "y": y, "n": n, "rho": iv.value, "low": iv.low, "high": iv.high,
                         "note": ("interval excludes 0" if iv.excludes_zero else "interval includes 0") + p[3],
                         "partial_rho": p[0], "partial_low": p[1], "partial_high": p[2]})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
