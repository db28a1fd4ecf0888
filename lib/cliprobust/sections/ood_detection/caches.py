"""Per-sample caches (iNaturalist/SUN/Places/Textures/ImageNet-O vs ImageNet val) read through
:mod:`cliprobust.outputs`: MSP / MaxLogit / energy / MCM and :mod:`cliprobust.metrics.ood`
(FPR@95 ID-positive, ``docs/protocols.md`` §1)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ... import outputs, zoo
from ...metrics import ood as M
from .._base import status_counts

def cache_scores(out: Any) -> dict[str, np.ndarray]:
    """MSP, MaxLogit, energy on ``out.logits`` (CLIP: learned logit scale) and, for CLIP, MCM on ``out.cosine``."""
    z = np.asarray(out.logits, dtype=np.float64)
    scores = {"msp": M.msp(z), "max_logit": M.max_logit(z), "energy": M.energy(z)}
    if out.is_clip:
        scores["mcm"] = M.mcm(np.asarray(out.cosine, dtype=np.float64))
    return scores


def _id_accuracy(out: Any) -> float:
    """Top-1 accuracy on the ID set when it has 1000-way labels (NaN otherwise)."""
    y = np.asarray(out.labels)
    z = np.asarray(out.logits)
    if y.size == 0 or y.min() < 0 or y.max() >= z.shape[1]:
        return float("nan")
    return float(np.mean(z.argmax(axis=1) == y))


def _model_ood_rows(id_out: Any, ood_outs: Mapping[str, Any]) -> pd.DataFrame:
    """ood_table rows for every score of one model (columns of :func:`cliprobust.metrics.ood.ood_table`)."""
    id_scores = cache_scores(id_out)
    ood_scores = {name: cache_scores(o) for name, o in ood_outs.items()}
    parts = [M.ood_table(s_id, {n: s[score] for n, s in ood_scores.items()}).assign(score=score)
             for score, s_id in id_scores.items()]
    return pd.concat(parts).assign(id_top1=_id_accuracy(id_out))


def cache_ood_table(inventory: pd.DataFrame, id_dataset: str, loader: Callable = outputs.load,
                    group_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    """OOD metrics for every model whose ID and at least one OOD cache are available.

    ``inventory``: ``outputs.inventory``-style rows ``model, dataset, status``; only statuses in
    ``outputs.AVAILABLE`` are loaded (with ``loader(model, dataset)``). Columns ``model, group,
    score, ood_dataset, metric, value, n_id, n_ood, id_top1``.
    """
    group_of = group_of or zoo_group
    ok = inventory[inventory["status"].isin(outputs.AVAILABLE)]
    parts = []
    for model, rows in ok.groupby("model", sort=True):
        oods = sorted(set(rows["dataset"]) - {id_dataset})
        if id_dataset not in set(rows["dataset"]) or not oods:
            continue
        part = _model_ood_rows(loader(model, id_dataset), {d: loader(model, d) for d in oods})
        parts.append(part.assign(model=model, group=group_of(model)))
    cols = ["model", "group", "score", "ood_dataset", "metric", "value", "n_id", "n_ood", "id_top1"]
    return pd.concat(parts)[cols].reset_index(drop=True) if parts else pd.DataFrame(columns=cols)


def zoo_group(model: str) -> str:
    """The zoo group of a model id (clip-zeroshot, clip-ft, ...)."""
    return zoo.get(model).group


def cache_status(inventory: pd.DataFrame) -> pd.DataFrame:
    """Cache statuses per (group, data set): counts of ``status_counts`` as a wide table."""
    rows = [{"group": g, "dataset": d, **status_counts(sub)} for (g, d), sub in inventory.groupby(["group", "dataset"])]
    return pd.DataFrame(rows).fillna(0).set_index(["group", "dataset"]).astype(int)


def cache_auroc_wide(table: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """``metric`` per (model, score) x OOD set, plus the mean over OOD sets and ID top-1."""
    sub = table[table["metric"] == metric]
    wide = sub.pivot_table(index=["group", "model", "score"], columns="ood_dataset", values="value")
    wide["mean"] = wide.mean(axis=1)
    acc = sub.groupby(["group", "model", "score"])["id_top1"].first()
    return wide.assign(id_top1=acc).reset_index()
