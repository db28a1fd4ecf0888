"""The frozen run configuration and the content-addressed cache key derived from it.

A cache entry is keyed by the sha256 of a canonical JSON of everything its numbers depend on:
format version, model id, weights id, architecture config, the model's preprocessing, the data
set (name, protocol, fingerprint of the exact files), numeric precision, and the head
(classifier, or zero-shot prompt set + class names). Batch size, workers and device are not in the key.
The *image key* is the same without the head: CLIP entries that share it share image features,
so a new prompt set is a matrix product, not an image pass. Everything here is computed without
torch (model configs come from the store of :mod:`cliprobust.inference.entries`), so "is this job
already done" (:func:`is_done`) costs a file listing and a few JSON reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import cache, datasets, prompts
from ..datasets import FileList
from .entries import (EntryLike, architecture_config, is_clip, preprocess_config, resolve_entry, select_entries,
                      weights_id)
from .heads import HEAD_CLASSNAMES, head_classnames

#: Bump when the on-disk layout or the meaning of a stored array changes: old entries are then
#: never read again (their keys differ).
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "amp")


@dataclass(frozen=True)
class RunConfig:
    """All parameters of one (model, data set) evaluation, as given by the CLI or a notebook."""

    model: str  # model id (zoo id, or a parseable open_clip/timm id)
    dataset: str
    data_root: str | None = None
    prompt_set: str = field(default_factory=prompts.default_prompt_set)  # CLIP only
    batch_size: int = 64
    workers: int = 0
    device: str = "auto"  # "auto" = cuda when available, else cpu
    precision: str = "fp32"  # "amp": bf16 autocast on CUDA (part of the key)
    seed: int = 0  # initialisation seed of random-init models (part of their weights id)
    chunk_size: int = 1024  # images per atomically written chunk (resume granularity)
    strict: bool = False  # unreadable images: error (True) or excluded with a warning (False)
    check_count: bool = True  # refuse data sets whose image count differs from the registry
    progress: bool = True
    decode_cache: bool = False  # reuse decoded uint8 images across models (inference.decoded; not in the key)

    def __post_init__(self) -> None:
        datasets.get(self.dataset)
        prompts.get(self.prompt_set)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {PRECISIONS}")
        if self.batch_size < 1 or self.chunk_size < 1:
            raise ValueError("batch_size and chunk_size must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (written into the entry's meta.json)."""
        return asdict(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of all parameters (used by the CLI to build configs)."""
        return tuple(f.name for f in fields(cls))


def canonical_sha(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj`` (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def head_spec(entry: EntryLike, prompt_set: str) -> dict[str, str]:
    """The head part of the key: the model's classifier, or a zero-shot prompt set."""
    if not is_clip(entry):
        return {"kind": "classifier"}
    return {"kind": "zeroshot", "prompt_set": prompt_set, "templates_sha": prompts.get(prompt_set).sha,
            "classnames": HEAD_CLASSNAMES, "classnames_sha": prompts.sha_of(head_classnames())}


def head_name(head: dict[str, str]) -> str:
    """Short display name of a head spec: ``classifier`` or ``zeroshot:<prompt set>``."""
    return head["kind"] if head["kind"] == "classifier" else f"zeroshot:{head['prompt_set']}"


def model_key(entry: EntryLike, seed: int = 0) -> dict[str, Any]:
    """The model side of the key: computable from the entry alone (no weights, no data)."""
    return {"format_version": FORMAT_VERSION, "model_id": entry.id, "weights_id": weights_id(entry, seed),
            "architecture_sha": canonical_sha(architecture_config(entry)), "preprocess": preprocess_config(entry)}


def dataset_protocol(name: str) -> dict[str, Any]:
    """The data-set side of the key that does not need the files: name and evaluation protocol."""
    spec = datasets.get(name)
    return {"dataset": name, "label_space": spec.label_space, "border_px": spec.border_px,
            "protocol": datasets.OBJECTNET_PROTOCOL if name == "objectnet" else "standard"}


def image_key(config: RunConfig, entry: EntryLike, files: FileList) -> dict[str, Any]:
    """Everything the image pass depends on (no head)."""
    return {**model_key(entry, config.seed), **dataset_protocol(config.dataset),
            "files_sha": files.fingerprint, "n_files": len(files), "precision": config.precision}


def entry_key(config: RunConfig, entry: EntryLike, files: FileList) -> dict[str, Any]:
    """The full key of the cache entry of ``config``: the image key plus the head."""
    ikey = image_key(config, entry, files)
    return {**ikey, "image_key_sha": canonical_sha(ikey), "head": head_spec(entry, config.prompt_set)}


def split_names(names: str | Any) -> list[str]:
    """A comma-separated string or a list of names -> the non-empty names, in order."""
    items = names.split(",") if isinstance(names, str) else list(names)
    return [n.strip() for n in items if n and n.strip()]


def configs_for(models: Any, dataset_names: Any, **params: Any) -> list[RunConfig]:
    """One :class:`RunConfig` per (model, data set); ``models`` is a zoo selector or a list."""
    names = split_names(dataset_names)
    return [RunConfig(model=e.id, dataset=d, **params) for e in select_entries(models) for d in names]


def locate(config: RunConfig, files: FileList | None = None) -> tuple[EntryLike, FileList, dict[str, Any], str, Path]:
    """(entry, file list, key, key sha, entry folder) of ``config``; ``files`` an already resolved list."""
    entry = resolve_entry(config.model)
    if files is None or files.dataset != config.dataset:
        files = datasets.resolve(config.dataset, config.data_root, check_count=config.check_count)
    key = entry_key(config, entry, files)
    sha = canonical_sha(key)
    return entry, files, key, sha, cache.entry_path(key, sha)


def entry_folder(config: RunConfig, files: FileList | None = None) -> Path:
    """The cache folder ``runner.run_one`` fills for ``config`` (computed without loading the model)."""
    return locate(config, files)[4]


def is_done(config: RunConfig, files: FileList | None = None) -> bool:
    """True when the entry of ``config`` is complete (what an executor skips before submitting)."""
    return cache.is_complete(entry_folder(config, files))
