"""Notebook 02, claim C2 (Tu et al. NeurIPS 2023 §4.1): "CLIP models trained on LAION demonstrate higher
robustness on Shape factor than those trained on WIT, while this reverses for Background and Pose factors".

Cache-based: ImageNet-X publishes no LAION CLIP row, so C2 needs per-sample caches of LAION- and
WIT-trained zero-shot CLIPs on ImageNet val (their factor ER against the published baseline lines,
:func:`.caches.factor_er_from_cache`). Statistic per named factor: the direction-signed difference
of mean factor ER (positive = the paper's direction), its interval from resampling models within
each data group (the group's members are the variation the claim is about). Headline: every named
direction by :data:`C2_RULE` (:func:`cliprobust.verdicts.all_of`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ... import zoo
from ...metrics import stats
from ...verdicts import GREATER, Claim, Estimate, Rule, Spec, all_of, evaluate, normal_design_oc
from .._base import CachePlan

#: C2 (Tu et al. §4.1): LAION-trained CLIP has higher factor ER than WIT-trained on these factors …
C2_LAION_HIGHER: tuple[str, ...] = ("shape",)
#: … and lower on these.
C2_WIT_HIGHER: tuple[str, ...] = ("background", "pose")
#: The smallest difference of mean factor ER that matters: the floor of evaluation noise, as C1's margin
#: (:data:`.c1.C1_MARGIN`: two published evaluations of the same weights differ by 0.012 on average).
C2_MARGIN: float = 0.012
C2_RULE = Rule(GREATER, C2_MARGIN)
C2_STATEMENT = ('"CLIP models trained on LAION demonstrate higher robustness on Shape factor than those trained on '
                'WIT, while this reverses for Background and Pose factors" (Tu et al. 2023, §4.1)')
#: Columns of :func:`c2_differences`.
DIFF_COLUMNS: tuple[str, ...] = ("factor", "direction", "diff", "low", "high", "n_laion", "n_wit")


def data_groups(models: pd.Series) -> np.ndarray:
    """``LAION`` (any LAION-*), ``WIT`` or ``""`` per zoo model id (pre-training data)."""
    data = models.map(lambda m: zoo.get(m).pretrain_data if m in zoo.REGISTRY else "").fillna("")
    return np.where(data.str.startswith("LAION"), "LAION", np.where(data.str.startswith("WIT"), "WIT", ""))


def c2_group_er(cached_er: pd.DataFrame) -> pd.DataFrame:
    """Mean factor ER per pretraining-data group (``LAION``, ``WIT``) of zoo models."""
    sub = cached_er.assign(data_group=data_groups(cached_er["model"]))
    sub = sub[sub["data_group"] != ""]
    return sub.groupby(["data_group", "factor"]).agg(er=("er", "mean"), n_models=("model", "nunique")).reset_index()


def _signed_difference(sign: int) -> Callable[[np.ndarray, np.ndarray], float]:
    def stat(values: np.ndarray, groups: np.ndarray) -> float:
        return float(sign * (values[groups == "LAION"].mean() - values[groups == "WIT"].mean()))
    return stat


def c2_differences(cached_er: pd.DataFrame, n_boot: int = stats.N_BOOT, seed: int = stats.SEED) -> pd.DataFrame:
    """Per named factor: direction-signed difference of mean ER (paper's direction > 0) with a 95 %
    interval from resampling models within each data group."""
    grp = data_groups(cached_er["model"])
    rows = []
    for f, sign in [*((f, 1) for f in C2_LAION_HIGHER), *((f, -1) for f in C2_WIT_HIGHER)]:
        keep = (cached_er["factor"] == f).to_numpy() & (grp != "")
        v, g = cached_er.loc[keep, "er"].to_numpy(float), grp[keep]
        if not {"LAION", "WIT"} <= set(g):
            continue
        ci = stats.bootstrap(_signed_difference(sign), v, g, n_boot=n_boot, seed=seed, strata=g)
        rows.append({"factor": f, "direction": "LAION > WIT" if sign > 0 else "WIT > LAION", "diff": ci.value,
                     "low": ci.low, "high": ci.high, "n_laion": int((g == "LAION").sum()),
                     "n_wit": int((g == "WIT").sum())})
    return pd.DataFrame(rows, columns=list(DIFF_COLUMNS))


def directions_estimate(diffs: pd.DataFrame, factors: tuple[str, ...], rule: Rule = C2_RULE) -> Estimate:
    """Every named direction of ``factors`` by ``rule`` (:func:`all_of`); statistic and interval of the
    direction with the lowest lower bound. Missing when a direction lacks LAION or WIT models."""
    d = diffs[diffs["factor"].isin(factors)]
    if len(d) < len(factors):
        return Estimate.missing("no cached factor ER of both LAION- and WIT-trained CLIPs")
    worst = d.loc[d["low"].idxmin()]
    outcome = all_of(rule.outcome(r.low, r.high) for r in d.itertuples())
    note = "; ".join(f"{r.factor} {r.direction}: {r.diff:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in d.itertuples())
    return Estimate(float(worst["diff"]), float(worst["low"]), float(worst["high"]), outcome,
                    int(worst["n_laion"] + worst["n_wit"]), note)


def claim_c2(diffs: pd.DataFrame, plan: CachePlan) -> Claim:
    """C2 from :func:`c2_differences` of the run's cached factor ER (not testable without LAION and WIT
    caches: ``plan`` names the evaluation that would make it testable). The caller guards it
    (random-init or synthetic caches never judge it: :func:`cliprobust.verdicts.guard_run`)."""
    every = (*C2_LAION_HIGHER, *C2_WIT_HIGHER)
    head = Spec("headline", "every named direction's difference above 0, not below the margin",
                lambda: directions_estimate(diffs, every))
    variants = [Spec("margin=0", "any difference in the paper's direction counts (no minimum size)",
                     lambda: directions_estimate(diffs, every, Rule(GREATER, 0.0))),
                Spec("factors=shape", "only the LAION > WIT half (shape)",
                     lambda: directions_estimate(diffs, C2_LAION_HIGHER)),
                Spec("factors=background,pose", "only the reversal (WIT > LAION on background and pose)",
                     lambda: directions_estimate(diffs, C2_WIT_HIGHER))]
    needs = (f"per-sample caches of LAION- and WIT-trained zero-shot CLIP on {plan.id_set!r} (cliprobust evaluate "
             f"--models {plan.models} --datasets {plan.id_set} --data-root DIR); ImageNet-X publishes no LAION row")
    return evaluate("C2", "smallest direction-signed difference of mean factor ER, LAION − WIT CLIP", head, variants,
                    rule=C2_RULE, needs=needs, oc=lambda e: normal_design_oc(C2_RULE, e),
                    evidence=lambda e: f"The paper: {C2_STATEMENT}. Cached zero-shot CLIP (intervals resample models "
                                       f"within each data group): {e.note}")
