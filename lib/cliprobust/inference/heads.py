"""Zero-shot heads: the prompt-ensemble math, the on-disk head store, and cosine scores (numpy).

Prompt ensembling (Radford et al. 2021; open_clip ``build_zero_shot_classifier``): for class c
with templates t_1..t_T, ``w_c = normalize(mean_t normalize(text_encoder(t_j(name_c))))``; the
zero-shot logit of an image is ``logit_scale * <normalize(f_img), w_c> (+ logit_bias)``.

A head is the (D, C) matrix of :func:`build_classifier`, computed once per (model, weights,
class names, templates) and stored under ``<cache>/text-heads/<model>/<sha>.npz`` (``sha``
hashes that key), written atomically under a file lock, never recomputed. Reading a head and
:func:`derive_scores` need numpy only; torch is imported by the functions that run a text tower.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from filelock import FileLock

from .. import cache, paths, prompts
from .entries import EntryLike, weights_id

if TYPE_CHECKING:  # torch only for type hints: reading heads never imports it
    import torch

    from .models import LoadedModel

#: The class names of every CLIP head in the cache: the 1000 OpenAI-curated ImageNet names, so
#: R/A (sub-select), ObjectNet (collapse to 113), cue-conflict (model-vs-human 16-class mapping)
#: and OOD scores all use the same 1000 columns as the supervised models' logits.
HEAD_CLASSNAMES = "openai-imagenet-1k"
#: Prompts per text-tower forward pass when building a head (memory vs. per-call overhead).
TEXTS_PER_BATCH = 1024
#: Rows of features per block in :func:`derive_scores` (bounds the float32 temporary).
DERIVE_BLOCK = 8192
#: ``F.normalize``'s default floor on the norm (torch.nn.functional.normalize, eps=1e-12).
NORM_EPS = 1e-12


# --------------------------------------------------------------------------- ensembling (torch)


def ensemble(embeddings: "torch.Tensor") -> "torch.Tensor":
    """Prompt ensemble: (C, T, D) text embeddings -> (D, C) classifier weights.

    ``w_c = normalize(mean_t normalize(e_ct))`` -- each template embedding is L2-normalized, the
    mean is taken over templates and renormalized (open_clip ``build_zero_shot_classifier``).
    """
    import torch.nn.functional as F

    mean = F.normalize(embeddings.float(), dim=-1).mean(dim=1)
    return F.normalize(mean, dim=-1).T.contiguous()


def build_classifier(encode_text: Callable[[list[str]], "torch.Tensor"], classnames: Sequence[str],
                     templates: Sequence[str], classes_per_batch: int | None = None) -> "torch.Tensor":
    """Zero-shot head (D, C): :func:`ensemble` of ``encode_text`` over ``templates x classnames``.

    ``encode_text`` maps a list of strings to (n, D) embeddings (tokenization included). By
    default about :data:`TEXTS_PER_BATCH` prompts go through the text tower at once.
    """
    import torch

    classes_per_batch = classes_per_batch or max(1, TEXTS_PER_BATCH // len(templates))
    parts = []
    with torch.no_grad():
        for start in range(0, len(classnames), classes_per_batch):
            batch = classnames[start:start + classes_per_batch]
            texts = [t.format(c) for c in batch for t in templates]
            emb = encode_text(texts).reshape(len(batch), len(templates), -1)
            parts.append(ensemble(emb))
    return torch.cat(parts, dim=1)


# --------------------------------------------------------------------------- cosine scores (numpy)


def cosine_scores(features: np.ndarray, head: np.ndarray) -> np.ndarray:
    """float32 CLIP cosines ``normalize(f) @ W`` of float16-rounded features (the stored precision)."""
    f = np.asarray(features).astype(np.float16).astype(np.float32)
    norm = np.maximum(np.linalg.norm(f, axis=1, keepdims=True), np.float32(NORM_EPS))
    return (f / norm) @ np.asarray(head, dtype=np.float32)


def derive_scores(features: np.ndarray, head: np.ndarray, block: int = DERIVE_BLOCK) -> np.ndarray:
    """float16 cosine scores of (cached) features against a (D, C) head, in row blocks; the forward
    pass stores exactly these, so derived and directly computed scores are the same numbers."""
    out = [cosine_scores(features[i:i + block], head).astype(np.float16) for i in range(0, len(features), block)]
    return np.concatenate(out) if out else np.zeros((0, np.shape(head)[1]), dtype=np.float16)


# --------------------------------------------------------------------------- the head store


def head_key(entry: EntryLike, classnames: Sequence[str], prompt_set: str, seed: int = 0) -> dict[str, str]:
    """What a text head depends on: model, weights, class names and templates (hashes)."""
    return {"model_id": entry.id, "weights_id": weights_id(entry, seed),
            "classnames_sha": prompts.sha_of(classnames), "templates_sha": prompts.get(prompt_set).sha}


def _sha(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def head_path(key: dict[str, str]) -> Path:
    """Where the head of ``key`` lives in the cache."""
    return paths.cache_dir() / "text-heads" / cache.slug(key["model_id"]) / f"{_sha(key)[:24]}.npz"


def cached_head(key: dict[str, str]) -> np.ndarray | None:
    """The stored (D, C) float32 head of ``key``, or None when it was never computed."""
    path = head_path(key)
    if not path.is_file():
        return None
    with np.load(path) as z:
        return z["weights"]


def _save(path: Path, weights: np.ndarray, key: dict[str, str]) -> None:
    cache.atomic_write(path, lambda fh: np.savez(fh, weights=weights, key=np.asarray(json.dumps(key))))


def text_head(loaded: "LoadedModel", classnames: Sequence[str], prompt_set: str, seed: int = 0) -> np.ndarray:
    """The (D, C) zero-shot head of ``loaded`` for ``classnames`` x ``prompt_set`` (cached on disk)."""
    import torch

    key = head_key(loaded.entry, classnames, prompt_set, seed)
    path = head_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        found = cached_head(key)
        if found is not None:
            return found
        templates = prompts.get(prompt_set).templates
        weights = build_classifier(loaded.encode_text, list(classnames), templates)
        weights = weights.to(torch.float32).cpu().numpy()
        _save(path, weights, key)
        return weights


def head_classnames(name: str = HEAD_CLASSNAMES) -> tuple[str, ...]:
    """The class names of a named head class list (only :data:`HEAD_CLASSNAMES` today)."""
    if name != HEAD_CLASSNAMES:
        raise KeyError(f"unknown head class list {name!r}; known: {HEAD_CLASSNAMES}")
    return prompts.imagenet_classnames()
