"""Cue-conflict shape bias (Geirhos et al. 2019; model-vs-human, Geirhos et al. 2021).

A cue-conflict stimulus has the shape of one of 16 categories and the texture of another; its name is
``<shape><i>-<texture><j>.png``. Shape bias = shape hits / (shape hits + texture hits) over trials
whose shape and texture categories differ (80 of the 1,280 stimuli agree and are dropped), where a
hit is a 16-class decision equal to that cue (docs/protocols.md §7).

Two named protocols turn a model's output into a 16-class decision:

- :data:`MVH_MAPPING` — model-vs-human's ``ImageNetProbabilitiesTo16ClassesMapping``: 1000-way softmax
  probabilities → per category the MEAN probability over its ImageNet indices → arg-max
  (:func:`decisions_16`). Used for every model in model-vs-human, CLIP included.
- :data:`DIRECT_16` — CLIP scores the 16 category names directly; arg-max over those 16 logits
  (:func:`decisions_direct_16`).
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import stats
from .robustness import BootstrapResult
from .stats import CI_LEVEL, N_BOOT, SEED
from ._validate import finite_args

#: The 16 categories in model-vs-human order (alphabetical, ``get_human_object_recognition_categories``).
CATEGORIES_16: tuple[str, ...] = (
    "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair", "clock", "dog",
    "elephant", "keyboard", "knife", "oven", "truck",
)

#: Protocol names for the 16-class decision of a model.
MVH_MAPPING = "mvh-1000-to-16"
DIRECT_16 = "clip-16-names"

#: model-vs-human's aggregation of a category's ImageNet probabilities (its default ``np.mean``, not sum).
MVH_REDUCE: Callable[..., np.ndarray] = np.mean

_CUE = re.compile(r"^([a-z]+)\d*$")


@finite_args("probs")
def probabilities_to_16(probs: np.ndarray, category_indices: Mapping[str, Sequence[int]],
                        reduce: Callable[..., np.ndarray] = MVH_REDUCE) -> np.ndarray:
    """(n, 16) category scores: column k = ``reduce(probs[:, indices_k], axis=1)`` for the k-th key of
    ``category_indices`` (category → 0-based ImageNet indices; model-vs-human's mapping, MEAN by default)."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[1] != 1000:
        raise ValueError(f"probs must be (n_samples, 1000) ImageNet softmax probabilities, got {p.shape}")
    cols = []
    for name, idx in category_indices.items():
        if len(idx) == 0:
            raise ValueError(f"category {name!r} has no ImageNet indices")
        cols.append(reduce(p[:, np.asarray(idx, dtype=int)], axis=1))
    return np.stack(cols, axis=1)


@finite_args("probs")
def decisions_16(probs: np.ndarray, category_indices: Mapping[str, Sequence[int]],
                 reduce: Callable[..., np.ndarray] = MVH_REDUCE) -> np.ndarray:
    """16-class decisions (category names) under :data:`MVH_MAPPING`: arg-max of :func:`probabilities_to_16`."""
    names = np.asarray(list(category_indices))
    return names[probabilities_to_16(probs, category_indices, reduce).argmax(axis=1)]


@finite_args("logits_16")
def decisions_direct_16(logits_16: np.ndarray, categories: Sequence[str] = CATEGORIES_16) -> np.ndarray:
    """16-class decisions under :data:`DIRECT_16`: arg-max over a zero-shot head of the category names,
    columns in the order of ``categories``."""
    z = np.asarray(logits_16)
    if z.ndim != 2 or z.shape[1] != len(categories):
        raise ValueError(f"logits_16 must be (n_samples, {len(categories)}), got {z.shape}")
    return np.asarray(categories)[z.argmax(axis=1)]


def stimulus_cues(imagenames: Sequence[str] | pd.Series) -> pd.DataFrame:
    """Shape and texture category of each stimulus name (``..._<shape><i>-<texture><j>.png``), parsed
    as model-vs-human's ``get_texture_category``: last ``_`` field, drop the extension, drop digits."""
    rows = []
    for name in imagenames:
        stem = str(name).split("_")[-1].split(".")[0]
        parts = stem.split("-")
        cues = [_CUE.match(p) for p in parts]
        if len(parts) != 2 or not all(cues):
            raise ValueError(f"stimulus name {name!r} is not <shape><i>-<texture><j>.png")
        rows.append((cues[0].group(1), cues[1].group(1)))
    return pd.DataFrame(rows, columns=["shape", "texture"])


def _hits(shape, texture, decision) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial shape-hit and texture-hit indicators, zero on trials without a cue conflict."""
    s, t, d = np.asarray(shape), np.asarray(texture), np.asarray(decision)
    if not (s.shape == t.shape == d.shape) or s.ndim != 1:
        raise ValueError(f"shape {s.shape}, texture {t.shape} and decision {d.shape} must be equal-length 1-D")
    conflict = s != t
    return conflict & (d == s), conflict & (d == t)


def shape_bias(shape: Sequence[str], texture: Sequence[str], decision: Sequence[str]) -> float:
    """Shape hits / (shape hits + texture hits) over cue-conflict trials (shape ≠ texture);
    NaN when no trial hits either cue."""
    sh, th = _hits(shape, texture, decision)
    total = sh.sum() + th.sum()
    return float(sh.sum() / total) if total else float("nan")


def shape_bias_by_category(shape: Sequence[str], texture: Sequence[str],
                           decision: Sequence[str]) -> pd.Series:
    """Shape bias per *shape* category (model-vs-human's matrix plot: trials with ``category == c``)."""
    sh, th = _hits(shape, texture, decision)
    g = pd.DataFrame({"category": np.asarray(shape), "s": sh, "t": th}).groupby("category")[["s", "t"]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (g["s"] / (g["s"] + g["t"])).rename("shape_bias")


def shape_bias_ci(shape: Sequence[str], texture: Sequence[str], decision: Sequence[str],
                  stimulus: Sequence[str] | None = None, n_boot: int = N_BOOT, level: float = CI_LEVEL,
                  seed: int = SEED) -> BootstrapResult:
    """Shape bias with a percentile CI from resampling stimuli with replacement (all trials of a drawn
    stimulus together, e.g. the 10 human observers' responses to it); ``stimulus=None`` resamples trials."""
    sh, th = _hits(shape, texture, decision)
    keys = np.arange(sh.size) if stimulus is None else pd.factorize(np.asarray(stimulus))[0]
    s_per, t_per = np.bincount(keys, weights=sh), np.bincount(keys, weights=th)
    idx = stats.resample_indices(s_per.size, n_boot, seed)
    s_b, t_b = s_per[idx].sum(axis=1), t_per[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = s_b / (s_b + t_b)
    low, high = stats.percentile_interval(draws, level)
    return BootstrapResult(shape_bias(shape, texture, decision), float(low), float(high), n_boot, level)
