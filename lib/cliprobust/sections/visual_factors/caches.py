"""Notebook 02, per-sample caches: top-1 predictions of cached outputs on ImageNet val, joined to the
ImageNet-X annotations by file name, and their factor ER against the published baseline lines (C2)."""

from __future__ import annotations

import warnings
from pathlib import PurePosixPath
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import outputs
from ...metrics import factors as F
from ...metrics import stats
from .lines import factor_er_frame
from .tables import _factor_table, annotations_by_file, published_factor_table

def outputs_predictions(out: Any) -> pd.Series:
    """Top-1 ImageNet index per image of cached outputs (``scores`` (N, 1000), ``file_ids``), indexed by
    the file's base name (cache ids may carry a class folder; ImageNet-X keys on ``ILSVRC2012_val_*``)."""
    scores = np.asarray(out.scores)
    if scores.ndim != 2 or scores.shape[1] != 1000:
        raise ValueError(f"{getattr(out, 'model', '?')}: need (N, 1000) ImageNet scores, got {scores.shape}")
    names = [PurePosixPath(f).name for f in out.file_ids]
    return pd.Series(scores.argmax(axis=1), index=pd.Index(names, name="file_name"), name=getattr(out, "model", None))



def cached_predictions(inventory: pd.DataFrame) -> dict[str, pd.Series]:
    """Top-1 predictions (index = file name) of every model whose cache :func:`outputs.load` can serve."""
    usable = inventory.loc[inventory["status"].isin(outputs.AVAILABLE), ["model", "dataset"]].drop_duplicates()
    return {m: outputs_predictions(outputs.load(m, d)) for m, d in usable.itertuples(index=False)}


def covered_annotations(preds: Mapping[str, pd.Series], annotations: pd.DataFrame) -> pd.DataFrame:
    """The annotation rows of the images every model has a prediction for. A full-profile cache covers
    all annotated val images (less any unreadable ones it excluded); a rehearsal covers a sample.
    Factor accuracies and their image counts (hence the intervals) then refer to these images only;
    a warning says how many annotated images were left out."""
    common = set(annotations.index)
    for p in preds.values():
        common &= set(p.index)
    dropped = len(annotations) - len(common)
    if dropped:
        warnings.warn(f"ImageNet-X: {dropped} of {len(annotations)} annotated images have no cached prediction in "
                      f"every model; factor accuracies use the {len(common)} covered images", stacklevel=2)
    return annotations.loc[annotations.index.isin(common)]


def cached_factor_table(inventory: pd.DataFrame, annotations: pd.DataFrame) -> pd.DataFrame:
    """Factor table of every model whose cache :func:`outputs.load` can serve, over the annotated
    images all of them cover (:func:`covered_annotations`); empty if none."""
    preds = cached_predictions(inventory)
    if not preds:
        return pd.DataFrame(columns=[*F.FACTORS, F.WORST, F.AVERAGE])
    return _factor_table(preds, covered_annotations(preds, annotations))


def cached_factor_er(cached: pd.DataFrame, annotations: pd.DataFrame, n_boot: int = stats.N_BOOT,
                     seed: int = stats.SEED) -> pd.DataFrame:
    """Factor ER of cache-derived rows against the same published baseline lines (rows of ``cached`` only)."""
    if cached.empty:
        return pd.DataFrame(columns=["model", "factor", "er", "ci_low", "ci_high", "family", "label", "sign"])
    er = factor_er_frame(pd.concat([published_factor_table(), cached]), annotations, n_boot=n_boot, seed=seed)
    return er[er["model"].isin(cached.index)].reset_index(drop=True)


def factor_er_from_cache(inventory: pd.DataFrame, annotations: pd.DataFrame | None = None,
                         n_boot: int = stats.N_BOOT) -> pd.DataFrame:
    """:func:`cached_factor_er` of every usable cache of ``inventory`` (the section's ``cache_inventory(run)``)."""
    inv = inventory
    if not inv["status"].isin(outputs.AVAILABLE).any():
        return cached_factor_er(pd.DataFrame(), pd.DataFrame())
    ann = annotations_by_file() if annotations is None else annotations
    preds = cached_predictions(inv)
    ann = covered_annotations(preds, ann)
    return cached_factor_er(_factor_table(preds, ann), ann, n_boot)

