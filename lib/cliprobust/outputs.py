"""The one reader of cached per-sample outputs: :func:`load`, :func:`ls`, :func:`inventory`.

Every section and notebook reads model outputs through this module. It matches a request
(model, data set, prompt set) against the entries :mod:`cliprobust.cache` stores, and never
runs a model: a missing entry raises :class:`CacheMiss` naming the ``cliprobust evaluate``
command that makes it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import cache, datasets, prompts
from .cache import CacheMiss, CorruptEntryError, Outputs
from .keys import cached_head, dataset_protocol, head_classnames, head_key, head_name, head_spec, model_key
from .model_entries import EntryLike, is_clip, resolve_entry, select_entries, split_names

__all__ = ["AVAILABLE", "CacheMiss", "CorruptEntryError", "Outputs", "derive_scores", "has_slot", "inventory", "load",
           "ls"]

#: Statuses of :func:`ls` that :func:`load` can serve (``derivable``: CLIP scores derived in memory
#: from cached image features and a cached text head).
AVAILABLE: tuple[str, ...] = ("complete", "derivable")

#: Rows of features per block in :func:`derive_scores` (bounds the float32 temporary).
DERIVE_BLOCK = 8192
#: ``F.normalize``'s default floor on the norm (torch.nn.functional.normalize, eps=1e-12).
NORM_EPS = 1e-12

LS_COLUMNS = ["model", "dataset", "head", "status", "n_samples", "n_excluded", "completed_at", "entry"]
INVENTORY_COLUMNS = ["model", "dataset", "prompt_set", "status"]


def has_slot(model: str, dataset: str) -> bool:
    """True when anything was ever written for (model, data set) (cheap: one ``stat``)."""
    return cache.slot_dir(model, dataset).is_dir()


def expected_key(entry: EntryLike, dataset: str, data_root: str | Path | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """The key items a reader can compute now: the model key (format version, weights,
    preprocessing), the data-set protocol, and the file fingerprint when known (shipped sets, or
    ``data_root`` given). A reader may not have the images, so it matches without the rest."""
    want = {**model_key(entry, seed), **dataset_protocol(dataset)}
    if datasets.get(dataset).shipped or data_root is not None:
        try:
            want["files_sha"] = datasets.fingerprint(dataset, data_root)
        except datasets.DatasetError:
            pass  # images not here: match without the file fingerprint
    return want


def cosine_scores(features: np.ndarray, head: np.ndarray) -> np.ndarray:
    """float32 CLIP cosines ``normalize(f) @ W`` of float16-rounded features (the stored precision)."""
    f = np.asarray(features).astype(np.float16).astype(np.float32)
    norm = np.maximum(np.linalg.norm(f, axis=1, keepdims=True), np.float32(NORM_EPS))
    return (f / norm) @ np.asarray(head, dtype=np.float32)


def derive_scores(features: np.ndarray, head: np.ndarray, block: int = DERIVE_BLOCK) -> np.ndarray:
    """float16 cosine scores of (cached) features against a (D, C) head, in row blocks. The engine's
    forward pass stores exactly these, so derived and directly computed scores are the same numbers."""
    out = [cosine_scores(features[i:i + block], head).astype(np.float16) for i in range(0, len(features), block)]
    return np.concatenate(out) if out else np.zeros((0, np.shape(head)[1]), dtype=np.float16)


def _derived(src: Outputs, weights: np.ndarray, head: dict[str, str]) -> Outputs:
    meta = {**src.meta, "head": head_name(head), "derived_from": src.meta["key_sha"], "derived_in_memory": True}
    return replace(src, head=head_name(head), scores=derive_scores(src.features, weights), meta=meta)


def _miss(entry: EntryLike, dataset: str, prompt_set: str, data_root: Any) -> CacheMiss:
    stale = cache.complete_entries(entry.id, dataset)
    root = "" if datasets.get(dataset).shipped else f" --data-root {data_root or 'DIR'}"
    ps = f" --prompt-set {prompt_set}" if is_clip(entry) else ""
    note = (f" {len(stale)} entr{'y' if len(stale) == 1 else 'ies'} exist under an older key (weights, "
            f"preprocessing, file list or format changed) and are not used." if stale else "")
    return CacheMiss(f"no cached outputs for {entry.id} on {dataset}.{note} Make them with: cliprobust evaluate "
                     f"--models {entry.id} --datasets {dataset}{root}{ps}")


def load(model: Any, dataset: str, prompt_set: str | None = None, *, data_root: str | Path | None = None,
         seed: int = 0, mmap: bool = True, verify: bool = False) -> Outputs:
    """Outputs of ``model`` (zoo id or entry) on ``dataset`` from the cache; never recomputes images.

    The entry must match what the model's key is *now* (format version, weights, preprocessing,
    data-set protocol; and the exact file list when it can be known: shipped sets, or
    ``data_root`` given); among several matches the newest wins. A CLIP prompt set with no
    entry of its own is derived from cached image features when its text head is cached.
    Shapes, dtypes and sizes are always checked against the entry's ``meta.json``; ``verify``
    also checks the stored files' sha256 (:class:`CorruptEntryError` on a mismatch).
    """
    entry = resolve_entry(model)
    prompt_set = prompt_set or prompts.default_prompt_set()
    if not has_slot(entry.id, dataset):
        raise _miss(entry, dataset, prompt_set, data_root)
    want = expected_key(entry, dataset, data_root, seed)
    head = head_spec(entry, prompt_set)
    hits = cache.find(entry.id, dataset, {**want, "head": head})
    if hits:
        return cache.read_entry(Path(hits[0]["path"]), mmap=mmap, verify=verify)
    if is_clip(entry):
        sources = cache.find(entry.id, dataset, want)
        weights = cached_head(head_key(entry, head_classnames(), prompt_set, seed)) if sources else None
        if weights is not None:
            src = cache.read_entry(Path(sources[0]["path"]), mmap=mmap, verify=verify)
            return _derived(src, weights, head)
    raise _miss(entry, dataset, prompt_set, data_root)


def _status(entry: EntryLike, dataset: str, prompt_set: str, data_root: Any) -> dict[str, Any]:
    head = head_spec(entry, prompt_set)
    row = {"model": entry.id, "dataset": dataset, "head": head_name(head), "status": "missing",
           "n_samples": pd.NA, "n_excluded": pd.NA, "completed_at": None, "entry": None}
    if not has_slot(entry.id, dataset):
        return row  # nothing ever written: skip the key (it lists and hashes the data set's files)
    want = expected_key(entry, dataset, data_root)
    hits = cache.find(entry.id, dataset, {**want, "head": head})
    if hits:
        m = hits[0]
        rel = Path(m["path"]).relative_to(cache.paths.cache_dir()).as_posix()
        return {**row, "status": "complete", "n_samples": m["n_samples"], "n_excluded": m["n_excluded"],
                "completed_at": m["completed_at"], "entry": rel}
    if is_clip(entry) and cache.find(entry.id, dataset, want):
        # features cached: "derivable" (load works now) when the text head is cached too,
        # else "needs-head" (cliprobust evaluate builds the head and derives, no image pass)
        ready = cached_head(head_key(entry, head_classnames(), prompt_set)) is not None
        return {**row, "status": "derivable" if ready else "needs-head"}
    if cache.partial_entries(entry.id, dataset, {**want, "head": head}):
        return {**row, "status": "partial"}
    if cache.complete_entries(entry.id, dataset):
        return {**row, "status": "stale"}
    return row


def ls(models: str | Iterable[Any], datasets: str | Iterable[str], prompt_set: str | None = None,
       *, data_root: str | Path | None = None) -> pd.DataFrame:
    """One row per (model, data set): ``status`` is ``complete``; ``derivable`` (CLIP features and
    the prompt set's text head cached: :func:`load` derives the scores in memory); ``needs-head``
    (features cached, head not: ``cliprobust evaluate`` derives without an image pass);
    ``partial`` (an interrupted run); ``stale`` (entries only under an older key); ``missing``
    (also, without computing any key, every pair with no cache folder). ``models`` may be a zoo
    selector."""
    prompt_set = prompt_set or prompts.default_prompt_set()
    rows = [_status(e, d, prompt_set, data_root) for e in select_entries(models) for d in split_names(datasets)]
    return pd.DataFrame(rows, columns=LS_COLUMNS)


def inventory(models: str | Iterable[str], datasets: str | Iterable[str],
              prompt_sets: Iterable[str] | None = None) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` for every combination (:func:`ls` statuses).

    A (model, data set) without a cache folder is ``missing`` without computing any key, so a
    profile with no caches never builds keys. ``prompt_sets`` None: the default prompt set.
    """
    names = split_names(datasets)
    sets = list(prompt_sets) if prompt_sets is not None else [prompts.default_prompt_set()]
    rows = []
    for entry in select_entries(models):
        for d in names:
            for ps in sets:
                status = _status(entry, d, ps, None)["status"] if has_slot(entry.id, d) else "missing"
                rows.append((entry.id, d, ps, status))
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS)
