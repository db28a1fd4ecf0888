"""Zero-shot text classifiers, computed once per (model, weights, class names, templates) and kept.

A head is the (D, C) matrix of :func:`cliprobust.prompts.build_classifier`. It is stored under
``<cache>/text-heads/<model>/<sha>.npz`` where ``sha`` hashes (model id, weights id, class-names
hash, templates hash), written atomically under a file lock, and never recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from filelock import FileLock

from .. import paths, prompts
from .models import EntryLike, LoadedModel, weights_id

#: The class names of every CLIP head in the cache: the 1000 OpenAI-curated ImageNet names, so
#: R/A (sub-select), ObjectNet (collapse to 113), cue-conflict (model-vs-human 16-class mapping)
#: and OOD scores all use the same 1000 columns as the supervised models' logits.
HEAD_CLASSNAMES = "openai-imagenet-1k"


def head_key(entry: EntryLike, classnames: Sequence[str], prompt_set: str, seed: int = 0) -> dict[str, str]:
    """What a text head depends on: model, weights, class names and templates (hashes)."""
    return {"model_id": entry.id, "weights_id": weights_id(entry, seed),
            "classnames_sha": prompts.sha_of(classnames), "templates_sha": prompts.get(prompt_set).sha}


def _sha(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def head_path(key: dict[str, str]) -> Path:
    """Where the head of ``key`` lives in the cache."""
    slug = "".join(c if c.isalnum() or c in "._-" else "_" for c in key["model_id"])
    return paths.cache_dir() / "text-heads" / slug / f"{_sha(key)[:24]}.npz"


def cached_head(key: dict[str, str]) -> np.ndarray | None:
    """The stored (D, C) float32 head of ``key``, or None when it was never computed."""
    path = head_path(key)
    if not path.is_file():
        return None
    with np.load(path) as z:
        return z["weights"]


def _save(path: Path, weights: np.ndarray, key: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, weights=weights, key=np.asarray(json.dumps(key)))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def text_head(loaded: LoadedModel, classnames: Sequence[str], prompt_set: str, seed: int = 0) -> np.ndarray:
    """The (D, C) zero-shot head of ``loaded`` for ``classnames`` x ``prompt_set`` (cached on disk)."""
    key = head_key(loaded.entry, classnames, prompt_set, seed)
    path = head_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        found = cached_head(key)
        if found is not None:
            return found
        templates = prompts.get(prompt_set).templates
        weights = prompts.build_classifier(loaded.encode_text, list(classnames), templates)
        weights = weights.to(torch.float32).cpu().numpy()
        _save(path, weights, key)
        return weights


def head_classnames(name: str = HEAD_CLASSNAMES) -> tuple[str, ...]:
    """The class names of a named head class list (only :data:`HEAD_CLASSNAMES` today)."""
    if name != HEAD_CLASSNAMES:
        raise KeyError(f"unknown head class list {name!r}; known: {HEAD_CLASSNAMES}")
    return prompts.imagenet_classnames()
