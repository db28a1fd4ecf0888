"""Notebook 02, the Tu-style group view: every testbed model's factor accuracy against overall accuracy by
testbed group, each group's mean factor ER against the standard line, the baseline lines themselves, and
ImageNet-X's error ratios (context for C1: CLIP is not the only group above the line on some factors)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from ...metrics import factors as F
from ...metrics import stats
from .tables import (CLIP_ROWS, DEFAULT_BASELINE, MVH_PREFIX, PAPER_FACTORS, SCATTER_GROUPS, baseline_ids,
                     model_families)

def scatter_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long (model, group, factor, imagenet_acc, factor_acc) over the testbed table and the CLIP rows;
    ``group`` is the testbed type (:data:`SCATTER_GROUPS`, else ``other``) or ``clip-zeroshot``."""
    fam = model_families(pd.Series(table.index, index=table.index))
    keep = ~table.index.str.startswith(MVH_PREFIX) | table.index.isin([r.model for r in CLIP_ROWS.values()])
    tab = table[keep]
    grp = fam[keep].where(fam[keep].isin([*SCATTER_GROUPS, "clip-zeroshot"]), "other")
    long = tab[list(PAPER_FACTORS)].rename_axis("model").reset_index().melt(
        id_vars="model", var_name="factor", value_name="factor_acc")
    long["imagenet_acc"] = long["model"].map(tab[F.AVERAGE])
    long["group"] = long["model"].map(grp)
    return long[["model", "group", "factor", "imagenet_acc", "factor_acc"]]


def group_er_table(er: pd.DataFrame, groups: Sequence[str] = SCATTER_GROUPS) -> pd.DataFrame:
    """Per testbed group and factor: mean ER against the STANDARD line with a 95 % interval from
    resampling the group's models, and n models (MORE_DATA and other groups as Tu-style context)."""
    rows = []
    for (grp, fac), d in er[er["family"].isin(groups)].groupby(["family", "factor"], sort=False):
        v = d["er"].to_numpy(float)
        ci = stats.bootstrap(np.mean, v) if v.size >= 3 else stats.Interval(float(v.mean()), np.nan, np.nan)
        rows.append({"group": grp, "factor": fac, "n_models": v.size, "mean_er": ci.value, "low": ci.low,
                     "high": ci.high})
    return pd.DataFrame(rows)


def baseline_lines(table: pd.DataFrame, baseline: str = DEFAULT_BASELINE) -> pd.DataFrame:
    """Per factor: slope, intercept (logit space), Pearson r and n of the baseline line."""
    base = table.loc[baseline_ids(table, baseline)]
    x = special.logit(base[F.AVERAGE].to_numpy(float))
    rows = []
    for f in PAPER_FACTORS:
        y = special.logit(base[f].to_numpy(float))
        slope, icpt = np.polyfit(x, y, 1)
        rows.append({"factor": f, "slope": slope, "intercept": icpt, "r": float(np.corrcoef(x, y)[0, 1]),
                     "n": x.size})
    return pd.DataFrame(rows)


def error_ratio_frame(table: pd.DataFrame, fam: pd.Series | None = None) -> pd.DataFrame:
    """Tidy (model, family, factor, accuracy, error_ratio) on the paper factors (ImageNet-X §4 error ratio)."""
    er = F.error_ratio(table, F.PAPER_FACTORS).rename_axis("model").reset_index()
    long = er.melt(id_vars="model", var_name="factor", value_name="error_ratio")
    acc = table[list(F.PAPER_FACTORS)].rename_axis("model").reset_index().melt(
        id_vars="model", var_name="factor", value_name="accuracy")
    out = acc.merge(long, on=["model", "factor"])
    out.insert(1, "family", model_families(out["model"]) if fam is None else out["model"].map(fam))
    return out


def group_summary(ratio: pd.DataFrame, baseline: Sequence[str],
                  clip_keys: Sequence[str] = ("vit-b-32", "rn50", "vit-b-16")) -> pd.DataFrame:
    """Per factor: the CLIP rows' accuracy / error ratio next to the baseline models' median and IQR."""
    base = ratio[ratio["model"].isin(baseline)].groupby("factor")[["accuracy", "error_ratio"]]
    q = base.quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = [f"baseline_{m}_q{int(p * 100)}" for m, p in q.columns]
    ids = {CLIP_ROWS[k].model: CLIP_ROWS[k].label for k in clip_keys}
    clip = ratio[ratio["model"].isin(ids)].pivot(index="factor", columns="model", values=["accuracy", "error_ratio"])
    clip.columns = [f"{m} {ids[c]}" for m, c in clip.columns]
    return q.join(clip).reindex(list(F.PAPER_FACTORS)).reset_index()

