"""The frozen run configuration, its cache key and entry folder, and "is this job already done".

The key itself (what an entry's numbers depend on) is built by :mod:`cliprobust.keys`, below the
engine and the reader; here a :class:`RunConfig` and a resolved file list are turned into it.
Batch size, workers and device are not in the key. Everything here is computed without torch, so
"is this job already done" (:func:`is_done`) costs a file listing and a few JSON reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import cache, datasets, keys, prompts
from ..datasets import FileList
from ..model_entries import EntryLike, resolve_entry, select_entries, split_names

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


def image_key(config: RunConfig, entry: EntryLike, files: FileList) -> dict[str, Any]:
    """Everything the image pass of ``config`` depends on (:func:`cliprobust.keys.image_key`)."""
    return keys.image_key(entry, config.dataset, files.fingerprint, len(files), precision=config.precision,
                          seed=config.seed)


def entry_key(config: RunConfig, entry: EntryLike, files: FileList) -> dict[str, Any]:
    """The full key of the cache entry of ``config`` (:func:`cliprobust.keys.entry_key`)."""
    return keys.entry_key(entry, config.dataset, files.fingerprint, len(files), config.prompt_set,
                          precision=config.precision, seed=config.seed)


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
    sha = keys.canonical_sha(key)
    return entry, files, key, sha, cache.entry_path(key, sha)


def entry_folder(config: RunConfig, files: FileList | None = None) -> Path:
    """The cache folder ``runner.run_one`` fills for ``config`` (computed without loading the model)."""
    return locate(config, files)[4]


def is_done(config: RunConfig, files: FileList | None = None) -> bool:
    """True when the entry of ``config`` is complete (what an executor skips before submitting)."""
    return cache.is_complete(entry_folder(config, files))
