"""Notebook 02, claim C2 (Tu et al. §4.1): LAION-trained CLIP more robust than WIT-trained on shape, less
on background and pose. Cache-based: needs factor ER of cached LAION and WIT zero-shot CLIPs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import zoo
from ...metrics import stats
from .._base import Claim, Run, Variant, guard_run, judge, not_testable
from .._base import CachePlan

#: C2 (Tu et al. §4.1): LAION-trained CLIP has higher factor ER than WIT-trained on these factors …
C2_LAION_HIGHER: tuple[str, ...] = ("shape",)
#: … and lower on these.
C2_WIT_HIGHER: tuple[str, ...] = ("background", "pose")

def c2_group_er(cached_er: pd.DataFrame) -> pd.DataFrame:
    """Mean factor ER per pretraining-data group (``LAION`` = LAION-*, ``WIT``) of zoo models."""
    data = cached_er["model"].map(lambda m: zoo.get(m).pretrain_data if m in zoo.REGISTRY else None)
    grp = np.select([data.str.startswith("LAION", na=False), data.str.startswith("WIT", na=False)],
                    ["LAION", "WIT"], "other")
    sub = cached_er.assign(data_group=grp)
    sub = sub[sub["data_group"] != "other"]
    return sub.groupby(["data_group", "factor"]).agg(er=("er", "mean"), n_models=("model", "nunique")).reset_index()


def _c2_differences(cached_er: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Per named factor: direction-signed difference of mean ER (paper's direction > 0) with a 95 %
    interval from resampling models within each data group."""
    data = cached_er["model"].map(lambda m: zoo.get(m).pretrain_data if m in zoo.REGISTRY else "")
    grp = np.where(data.str.startswith("LAION"), "LAION", np.where(data.str.startswith("WIT"), "WIT", ""))
    rows = []
    for f, sign in [*((f, 1) for f in C2_LAION_HIGHER), *((f, -1) for f in C2_WIT_HIGHER)]:
        d = cached_er.assign(g=grp)
        d = d[(d["factor"] == f) & (d["g"] != "")]
        v, g = d["er"].to_numpy(float), d["g"].to_numpy()
        stat = lambda vv, gg: sign * (vv[gg == "LAION"].mean() - vv[gg == "WIT"].mean())  # noqa: E731
        ci = stats.bootstrap(stat, v, g, n_boot=n_boot, seed=seed, strata=g)
        rows.append({"factor": f, "direction": "LAION > WIT" if sign > 0 else "WIT > LAION", "diff": ci.value,
                     "low": ci.low, "high": ci.high, "n_laion": int((g == "LAION").sum()),
                     "n_wit": int((g == "WIT").sum())})
    return pd.DataFrame(rows)


def claim_c2(run: Run, cached_er: pd.DataFrame, plan: CachePlan, n_boot: int | None = None) -> Claim:
    """C2: LAION CLIP has higher factor ER than WIT CLIP on shape, lower on background and pose.

    Needs factor ER of cached zero-shot CLIP models on ImageNet val with ≥ 1 LAION and ≥ 1 WIT model
    (default: the run's caches, :func:`factor_er_from_cache`); otherwise not testable. Headline: the
    three direction-signed mean-ER differences have intervals (models resampled within each data
    group) above 0; variant ``rule=direction-only``: point estimates in the paper's direction.
    Guarded: random-init or synthetic caches never judge it."""
    nb = int(run.option("n_boot", stats.N_BOOT) if n_boot is None else n_boot)
    groups = c2_group_er(cached_er) if len(cached_er) else pd.DataFrame(columns=["data_group", "factor", "er"])
    have = sorted(set(groups["data_group"]))
    stat = "smallest direction-signed difference of mean factor ER, LAION − WIT CLIP"
    if not {"LAION", "WIT"} <= set(have):
        return not_testable(
            "C2", stat, needs=f"per-sample caches of LAION- and WIT-trained zero-shot CLIP on {plan.id_set!r} "
            f"(cliprobust evaluate --models {plan.models} --datasets {plan.id_set} --data-root DIR)",
            evidence=f"No published LAION factor accuracies; data groups cached: {have or 'none'}.")
    diffs = _c2_differences(cached_er, nb, stats.SEED)
    worst = diffs.loc[diffs["low"].idxmin()]
    holds = bool((diffs["low"] > 0).all())
    variants = (Variant("headline", "every named direction's interval above 0", float(worst["diff"]),
                        float(worst["low"]), float(worst["high"]), holds, True, int(worst["n_laion"] + worst["n_wit"])),
                Variant("rule=direction-only", "point estimates in the paper's direction", float(diffs["diff"].min()),
                        holds=bool((diffs["diff"] > 0).all())))
    ev = "; ".join(f"{r.factor} {r.direction}: {r.diff:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in diffs.itertuples())
    claim = Claim("C2", judge(holds, variants), stat, float(worst["diff"]), float(worst["low"]), float(worst["high"]),
                  f"Cached zero-shot CLIP, {int(worst['n_laion'])} LAION vs {int(worst['n_wit'])} WIT models "
                  f"(intervals resample models within each group): {ev}.", variants, numbers={"diffs": diffs})
    return guard_run(claim, run, cache_based=True)

