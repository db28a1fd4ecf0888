"""Cache look-ups for readers (notebooks): which entry answers (model, data set, prompt set).

A reader may not have the images (no ``--data-root``), so it matches what it can recompute:
the model key (format version, weights, preprocessing), the data-set protocol, and the file
fingerprint when known (shipped sets, or ``data_root`` given). Entries made under an older key
are reported as *stale* and never returned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .. import cache, datasets, prompts
from ..cache import CacheMiss, Outputs
from .config import dataset_protocol, head_name, head_spec, model_key
from .heads import cached_head, head_classnames, head_key
from .models import EntryLike, is_clip, resolve_entry, select_entries
from .runner import derive_scores


def expected_key(entry: EntryLike, dataset: str, data_root: str | Path | None = None,
                 seed: int = 0) -> dict[str, Any]:
    """The key items a reader can compute now (see module docstring)."""
    want = {**model_key(entry, seed), **dataset_protocol(dataset)}
    if datasets.get(dataset).shipped or data_root is not None:
        try:
            want["files_sha"] = datasets.fingerprint(dataset, data_root)
        except datasets.DatasetError:
            pass  # images not here: match without the file fingerprint
    return want


def _derived(src: Outputs, weights: Any, head: dict[str, str]) -> Outputs:
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
         seed: int = 0, mmap: bool = True) -> Outputs:
    """See :func:`cliprobust.cache.load`."""
    entry = resolve_entry(model)
    prompt_set = prompt_set or prompts.default_prompt_set()
    want = expected_key(entry, dataset, data_root, seed)
    head = head_spec(entry, prompt_set)
    hits = cache.find(entry.id, dataset, {**want, "head": head})
    if hits:
        return cache.read_entry(Path(hits[0]["path"]), mmap=mmap)
    if is_clip(entry):
        sources = cache.find(entry.id, dataset, want)
        weights = cached_head(head_key(entry, head_classnames(), prompt_set, seed)) if sources else None
        if weights is not None:
            return _derived(cache.read_entry(Path(sources[0]["path"]), mmap=mmap), weights, head)
    raise _miss(entry, dataset, prompt_set, data_root)


def _partial(entry: EntryLike, dataset: str, want: dict[str, Any]) -> bool:
    keys = (cache.read_json(p / "key.json") for p in cache.partial_entries(entry.id, dataset))
    return any(all(k.get(n) == v for n, v in want.items()) for k in keys)


def _status(entry: EntryLike, dataset: str, prompt_set: str, data_root: Any) -> dict[str, Any]:
    head = head_spec(entry, prompt_set)
    row = {"model": entry.id, "dataset": dataset, "head": head_name(head), "status": "missing",
           "n_samples": pd.NA, "n_excluded": pd.NA, "completed_at": None, "entry": None}
    if not cache.slot_dir(entry.id, dataset).is_dir():
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
    if _partial(entry, dataset, {**want, "head": head}):
        return {**row, "status": "partial"}
    if cache.complete_entries(entry.id, dataset):
        return {**row, "status": "stale"}
    return row


def ls(models: str | Iterable[Any], dataset_names: str | Iterable[str], prompt_set: str | None = None,
       *, data_root: str | Path | None = None) -> pd.DataFrame:
    """See :func:`cliprobust.cache.ls`."""
    names = [d.strip() for d in dataset_names.split(",")] if isinstance(dataset_names, str) else list(dataset_names)
    prompt_set = prompt_set or prompts.default_prompt_set()
    rows = [_status(e, d, prompt_set, data_root) for e in select_entries(models) for d in names if d]
    return pd.DataFrame(rows, columns=["model", "dataset", "head", "status", "n_samples", "n_excluded",
                                       "completed_at", "entry"])
