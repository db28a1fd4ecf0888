"""Cache keys, torch-free: what a stored entry's numbers depend on, computed without running anything.

A cache entry is keyed by the sha256 of a canonical JSON of everything its numbers depend on: the
*model key* (:func:`model_key`: format version, model id, weights id, architecture config, the
model's own preprocessing), the data set (:func:`dataset_protocol`: name, label space, protocol;
plus the fingerprint and count of the exact files), the numeric precision, and the head
(:func:`head_spec`: the classifier, or a zero-shot prompt set + class names). The *image key*
(:func:`image_key`) is the same without the head: CLIP entries that share it share image features,
so a new prompt set is a matrix product, not an image pass. A zero-shot text head is stored under a
key of its own (:func:`head_key`; looked up by :func:`cached_head`). :func:`entry_meta` builds the
``meta.json`` fields that every writer (the engine, ``cliprobust simulate``) shares.

Below both the one reader (:mod:`cliprobust.outputs`) and the engine (:mod:`cliprobust.inference`),
so neither climbs to the other for a key; imports no torch.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import __version__, cache, datasets, paths, prompts
from .model_entries import EntryLike, architecture_config, is_clip, preprocess_config, weights_id

#: Bump when the on-disk layout or the meaning of a stored array changes: old entries are then
#: never read again (their keys differ).
FORMAT_VERSION = 1
#: The class names of every CLIP head in the cache: the 1000 OpenAI-curated ImageNet names, so
#: R/A (sub-select), ObjectNet (collapse to 113), cue-conflict (model-vs-human 16-class mapping)
#: and OOD scores all use the same 1000 columns as the supervised models' logits.
HEAD_CLASSNAMES = "openai-imagenet-1k"


def canonical_sha(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --------------------------------------------------------------------------- the parts of a key


def model_key(entry: EntryLike, seed: int = 0, store: Path | None = None) -> dict[str, Any]:
    """The model side of the key: computable from the entry alone (no weights, no data); ``store``:
    where resolved model configs are persisted (default: the output cache)."""
    return {"format_version": FORMAT_VERSION, "model_id": entry.id, "weights_id": weights_id(entry, seed, store),
            "architecture_sha": canonical_sha(architecture_config(entry, store)),
            "preprocess": preprocess_config(entry, store)}


def dataset_protocol(name: str) -> dict[str, Any]:
    """The data-set side of the key that does not need the files: name and evaluation protocol."""
    spec = datasets.get(name)
    return {"dataset": name, "label_space": spec.label_space, "border_px": spec.border_px,
            "protocol": datasets.OBJECTNET_PROTOCOL if name == "objectnet" else "standard"}


def head_classnames(name: str = HEAD_CLASSNAMES) -> tuple[str, ...]:
    """The class names of a named head class list (only :data:`HEAD_CLASSNAMES` today)."""
    if name != HEAD_CLASSNAMES:
        raise KeyError(f"unknown head class list {name!r}; known: {HEAD_CLASSNAMES}")
    return prompts.imagenet_classnames()


def head_spec(entry: EntryLike, prompt_set: str) -> dict[str, str]:
    """The head part of the key: the model's classifier, or a zero-shot prompt set."""
    if not is_clip(entry):
        return {"kind": "classifier"}
    return {"kind": "zeroshot", "prompt_set": prompt_set, "templates_sha": prompts.get(prompt_set).sha,
            "classnames": HEAD_CLASSNAMES, "classnames_sha": prompts.sha_of(head_classnames())}


def head_name(head: Mapping[str, str]) -> str:
    """Short display name of a head spec: ``classifier`` or ``zeroshot:<prompt set>``."""
    return head["kind"] if head["kind"] == "classifier" else f"zeroshot:{head['prompt_set']}"


def image_key(entry: EntryLike, dataset: str, files_sha: str, n_files: int, *, precision: str = "fp32",
              seed: int = 0, extra: Mapping[str, Any] | None = None, store: Path | None = None) -> dict[str, Any]:
    """Everything the image pass depends on (no head); ``extra`` items join it (``synthetic: true``)."""
    return {**model_key(entry, seed, store), **dataset_protocol(dataset), "files_sha": files_sha,
            "n_files": n_files, "precision": precision, **(extra or {})}


def entry_key(entry: EntryLike, dataset: str, files_sha: str, n_files: int, prompt_set: str, *,
              precision: str = "fp32", seed: int = 0, extra: Mapping[str, Any] | None = None,
              store: Path | None = None) -> dict[str, Any]:
    """The full key of a cache entry: the image key, its sha, and the head."""
    ikey = image_key(entry, dataset, files_sha, n_files, precision=precision, seed=seed, extra=extra, store=store)
    return {**ikey, "image_key_sha": canonical_sha(ikey), "head": head_spec(entry, prompt_set)}


# --------------------------------------------------------------------------- the text-head store (lookup)


def head_key(entry: EntryLike, classnames: Sequence[str], prompt_set: str, seed: int = 0) -> dict[str, str]:
    """What a text head depends on: model, weights, class names and templates (hashes)."""
    return {"model_id": entry.id, "weights_id": weights_id(entry, seed),
            "classnames_sha": prompts.sha_of(classnames), "templates_sha": prompts.get(prompt_set).sha}


def head_path(key: Mapping[str, str]) -> Path:
    """Where the head of ``key`` lives: ``<cache>/text-heads/<model>/<sha>.npz``."""
    sha = hashlib.sha256(json.dumps(dict(key), sort_keys=True).encode()).hexdigest()
    return paths.cache_dir() / "text-heads" / cache.slug(key["model_id"]) / f"{sha[:24]}.npz"


def cached_head(key: Mapping[str, str]) -> np.ndarray | None:
    """The stored (D, C) float32 head of ``key``, or None when it was never computed."""
    path = head_path(key)
    if not path.is_file():
        return None
    with np.load(path) as z:
        return z["weights"]


# --------------------------------------------------------------------------- meta.json


def now() -> str:
    """UTC time stamp of meta.json (microseconds: the newest entry wins among matches)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def base_versions() -> dict[str, str]:
    """The versions every writer records (the engine adds torch, timm, open_clip, ...)."""
    return {"python": sys.version.split()[0], "numpy": np.__version__, "cliprobust": __version__}


def entry_dict(entry: EntryLike) -> dict[str, Any]:
    """The entry as stored in meta.json (every field of a zoo entry; the four an ad-hoc id has)."""
    if is_dataclass(entry):
        return asdict(entry)
    return {k: getattr(entry, k) for k in ("id", "source", "arch", "pretrained")}


def entry_meta(entry: EntryLike, key: Mapping[str, Any], sha: str, config: Mapping[str, Any],
               versions: Mapping[str, str], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The ``meta.json`` of a finished entry (before the storage layer adds counts and checksums):
    what was computed (key, head, scores kind, label space), how (config, versions, host), when."""
    return {"format_version": key["format_version"], "model_id": entry.id, "dataset": key["dataset"],
            "head": head_name(key["head"]), "key": dict(key), "key_sha": sha, "config": dict(config),
            "entry": entry_dict(entry), "scores_kind": "cosine" if is_clip(entry) else "logits",
            "label_space": key["label_space"], "versions": dict(versions), "host": platform.node(),
            "completed_at": now(), **extra}
