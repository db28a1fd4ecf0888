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

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np
from filelock import FileLock

from .. import cache, prompts
from ..keys import cached_head, head_classnames, head_key, head_path
from ..model_entries import resolve_entry

if TYPE_CHECKING:  # torch only for type hints: reading heads never imports it
    import torch

    from .models import LoadedModel

#: Prompts per text-tower forward pass when building a head (memory vs. per-call overhead).
TEXTS_PER_BATCH = 1024


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


# --------------------------------------------------------------------------- the head store (writing)


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


def build_heads(pairs: Iterable[tuple[str, str]], seed: int = 0, device: str = "cpu") -> list[tuple[str, str]]:
    """Build the text heads of the (model, prompt set) ``pairs`` that are not stored yet; returns the
    pairs built. Each such model is loaded once (its text tower runs; torch). With a head stored,
    :func:`cliprobust.outputs.load` derives that prompt set's scores from the cached image features
    (no image pass): the explicit step a notebook calls before reading a new prompt set."""
    from .models import load_model

    todo: dict[str, list[str]] = {}
    for model, prompt_set in pairs:
        if cached_head(head_key(resolve_entry(model), head_classnames(), prompt_set, seed)) is None:
            todo.setdefault(model, []).append(prompt_set)
    built = []
    for model, sets in todo.items():
        loaded = load_model(model, device, seed)
        for prompt_set in dict.fromkeys(sets):
            text_head(loaded, head_classnames(), prompt_set, seed)
            built.append((model, prompt_set))
    return built
