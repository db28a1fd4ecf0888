"""The data-source study of notebook 01 (claim C11's tables): ER by pre-training source, and each
LAION scaling-laws source's own logit line.

Study set: open_clip models with a standard CLIP architecture and loss and >= 1B samples seen, plus
the 29 LAION scaling-laws checkpoints (LAION-80M/400M/2B x ViT-B/32..g/14 x 3B/13B/34B samples).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ...metrics import robustness, stats
from ...zoo import rules as zoo_rules
from .options import MEAN_SHIFT
from .tables import er_frame

#: Data-source study set: open_clip models with a standard CLIP architecture and loss
#: (``zoo_rules.CLIP_ARCH``: drops SigLIP, CoCa, EVA, NLLB/RoBERTa text towers, so that sources differ
#: in data) and >= 1B samples seen where the tag states it (``zoo_rules.MIN_SAMPLES_SEEN``).
DATA_STUDY_ARCH = zoo_rules.CLIP_ARCH
DATA_STUDY_MIN_SAMPLES = zoo_rules.MIN_SAMPLES_SEEN
#: Model size order of the scaling-laws architectures (Cherti et al. 2023), smallest first.
#: (MODEL size, the architecture -- not the training-set size C11 is about; reported beside it.)
SCALING_SIZE_ORDER: tuple[str, ...] = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14")


def data_study_set(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """ER rows of the data-source study: open_clip models passing :data:`DATA_STUDY_ARCH` and
    :data:`DATA_STUDY_MIN_SAMPLES` (NaN samples = not stated = kept), plus the 29 LAION
    scaling-laws checkpoints (the 3 OpenAI scaling rows repeat open_clip's)."""
    frame = er_frame() if frame is None else frame
    rows = frame[frame["shift"] == shift]
    oc = rows[(rows["source"] == "open_clip") & rows["arch"].map(lambda a: bool(DATA_STUDY_ARCH.match(a)))
              & ~(rows["samples_seen"] < DATA_STUDY_MIN_SAMPLES)]
    sl = rows[(rows["source"] == "scaling") & (rows["pretrain_data"] != "WIT-400M")]
    return pd.concat([oc, sl], ignore_index=True)


def data_source_summary(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Per (source table, pretrain_data) of :func:`data_study_set`: n, mean/std/min/max of ER."""
    study = data_study_set(frame, shift)
    g = study.groupby(["source", "pretrain_data"])["er"]
    out = g.agg(n="size", er_mean="mean", er_std="std", er_min="min", er_max="max").reset_index()
    return out.sort_values("er_mean", ascending=False).reset_index(drop=True)


def _line_row(rows: pd.DataFrame, label: str) -> dict:
    """A logit line fitted over ``rows`` (``robustness.fit_baseline``) and its residual SD."""
    fit = robustness.fit_baseline(rows["id_acc"], rows["ood_acc"])
    resid = np.asarray(robustness.transformed_residual(rows["id_acc"], rows["ood_acc"], fit))
    return {"pretrain_data": label, "n": len(rows), "slope": fit.slope, "intercept": fit.intercept,
            "r": fit.r, "resid_sd": float(np.std(resid, ddof=2)),
            "_resid": resid}


def source_lines(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Per LAION scaling-laws source: its OWN logit line (slope, intercept, r; ``resid_sd`` = SD of
    logit residuals, ddof 2) and the Spearman rho of model size
    (:data:`SCALING_SIZE_ORDER`) with ER (``rho_size_er``, with its interval ``rho_size_er_low`` /
    ``_high`` from ``stats.correlation_interval``), with ImageNet accuracy (``rho_size_id``) and
    with the residual from the source line (``rho_size_resid``). Last row: the baseline models."""
    frame = er_frame() if frame is None else frame
    study = data_study_set(frame, shift)
    sl = study[study["source"] == "scaling"]
    size = sl["arch"].map({a: i for i, a in enumerate(SCALING_SIZE_ORDER)}).astype(float)
    rows = []
    for data, g in sl.groupby("pretrain_data"):
        row = _line_row(g, data)
        resid = row.pop("_resid")
        er = stats.correlation_interval(size[g.index].to_numpy(), g["er"].to_numpy(float))
        rho = {k: float(spearmanr(size[g.index], v).statistic) for k, v in (("id", g["id_acc"]), ("resid", resid))}
        rows.append(row | {"rho_size_er": er.value, "rho_size_er_low": er.low, "rho_size_er_high": er.high}
                    | {f"rho_size_{k}": v for k, v in rho.items()})
    base = _line_row(frame[(frame["shift"] == shift) & frame["in_baseline"]], "baseline")
    base.pop("_resid")
    return pd.DataFrame(rows + [base])
