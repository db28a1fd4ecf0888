"""The one reader of cached per-sample outputs: :func:`load`, :func:`ls`, :func:`inventory`.

Every section and notebook reads model outputs through this module. It matches a request
(model, data set, prompt set) against the entries :mod:`cliprobust.cache` stores, and never
runs a model: a missing entry raises :class:`CacheMiss` naming the ``cliprobust evaluate``
command that makes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import cache
from .cache import CacheMiss, Outputs

__all__ = ["AVAILABLE", "CacheMiss", "Outputs", "has_slot", "inventory", "load", "ls"]

#: Statuses of :func:`ls` that :func:`load` can serve (``derivable``: CLIP scores derived in memory
#: from cached image features and a cached text head).
AVAILABLE: tuple[str, ...] = ("complete", "derivable")

LS_COLUMNS = ["model", "dataset", "head", "status", "n_samples", "n_excluded", "completed_at", "entry"]
INVENTORY_COLUMNS = ["model", "dataset", "prompt_set", "status"]


def has_slot(model: str, dataset: str) -> bool:
    """True when anything was ever written for (model, data set) (cheap: one ``stat``)."""
    return cache.slot_dir(model, dataset).is_dir()


def load(model: Any, dataset: str, prompt_set: str | None = None, *, data_root: str | Path | None = None,
         seed: int = 0, mmap: bool = True, verify: bool = False) -> Outputs:
    """Outputs of ``model`` (zoo id or entry) on ``dataset`` from the cache; never recomputes images.

    The entry must match what the model's key is *now* (format version, weights, preprocessing,
    data-set protocol; and the exact file list when it can be known: shipped sets, or
    ``data_root`` given); among several matches the newest wins. A CLIP prompt set with no
    entry of its own is derived from cached image features when its text head is cached.
    ``verify`` also checks the stored arrays' checksums (shapes, dtypes and sizes always).
    """
    from .inference import lookup

    return lookup.load(model, dataset, prompt_set, data_root=data_root, seed=seed, mmap=mmap)


def ls(models: str | Iterable[Any], datasets: str | Iterable[str], prompt_set: str | None = None,
       *, data_root: str | Path | None = None) -> pd.DataFrame:
    """One row per (model, data set): ``status`` is ``complete``; ``derivable`` (CLIP features and
    the prompt set's text head cached: :func:`load` derives the scores in memory); ``needs-head``
    (features cached, head not: ``cliprobust evaluate`` derives without an image pass);
    ``partial`` (an interrupted run); ``stale`` (entries only under an older key); ``missing``.
    ``models`` may be a zoo selector."""
    from .inference import lookup

    return lookup.ls(models, datasets, prompt_set, data_root=data_root)


def _names(items: str | Iterable[str]) -> list[str]:
    return [t.strip() for t in items.split(",") if t.strip()] if isinstance(items, str) else list(items)


def inventory(models: Iterable[str], datasets: Iterable[str],
              prompt_sets: Iterable[str] | None = None) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` for every combination (:func:`ls` statuses).

    A (model, data set) without a cache folder is ``missing`` without computing any key, so a
    profile with no caches never builds keys. ``prompt_sets`` None: the default prompt set.
    """
    from . import prompts

    models, datasets = _names(models), _names(datasets)
    sets = list(prompt_sets) if prompt_sets is not None else [prompts.default_prompt_set()]
    rows = {(m, d, ps): "missing" for m in models for d in datasets for ps in sets}
    present = [(m, d) for m in models for d in datasets if has_slot(m, d)]
    for ps in sets if present else ():
        for m in dict.fromkeys(m for m, _ in present):
            found = ls([m], [d for mm, d in present if mm == m], ps)
            for d, status in zip(found["dataset"], found["status"]):
                rows[(m, d, ps)] = status
    return pd.DataFrame([(*k, s) for k, s in rows.items()], columns=INVENTORY_COLUMNS)
