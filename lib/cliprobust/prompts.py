"""Zero-shot prompts: class names and template sets as data, and the prompt-ensemble math.

Class names and templates come from open_clip's own metadata (``open_clip.zero_shot_metadata``),
the source CLIP_benchmark and the open_clip results tables use. Templates are stored as
``str.format`` strings (open_clip ships them as lambdas; each is called with ``"{}"`` once).

Prompt ensembling (Radford et al. 2021; open_clip ``build_zero_shot_classifier``): for class c
with templates t_1..t_T, ``w_c = normalize(mean_t normalize(text_encoder(t_j(name_c))))``; the
zero-shot logit of an image is ``logit_scale * <normalize(f_img), w_c> (+ logit_bias)``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from open_clip import zero_shot_metadata as _meta


@dataclass(frozen=True)
class PromptSet:
    """A named tuple of templates, each a ``str.format`` string with one ``{}`` for the class name."""

    name: str
    templates: tuple[str, ...]
    source: str

    def texts(self, classname: str) -> list[str]:
        """All prompts of one class, in template order."""
        return [t.format(classname) for t in self.templates]

    @property
    def sha(self) -> str:
        """sha256 of the templates (part of the text-classifier cache key)."""
        return sha_of(self.templates)


def sha_of(strings: Sequence[str]) -> str:
    """sha256 of a canonical JSON list of strings (order matters)."""
    return hashlib.sha256(json.dumps(list(strings), ensure_ascii=False).encode()).hexdigest()


def _as_format(templates: Sequence[Callable[[str], str]]) -> tuple[str, ...]:
    return tuple(t("{}") for t in templates)


_SETS: tuple[PromptSet, ...] = (
    PromptSet("openai-80", _as_format(_meta.OPENAI_IMAGENET_TEMPLATES),
              "open_clip zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES (Radford et al. 2021, 80 templates)"),
    PromptSet("simple-7", _as_format(_meta.SIMPLE_IMAGENET_TEMPLATES),
              "open_clip zero_shot_metadata.SIMPLE_IMAGENET_TEMPLATES (7-template subset of the 80)"),
    PromptSet("photo", ("a photo of a {}.",), "single template 'a photo of a {}.' (CLIP paper baseline)"),
    PromptSet("classname", ("{}",), "the bare class name, no template"),
)


def _registry(sets: tuple[PromptSet, ...]) -> dict[str, PromptSet]:
    out: dict[str, PromptSet] = {}
    for s in sets:
        if s.name in out:
            raise ValueError(f"duplicate prompt set {s.name!r}")
        if not s.templates or any(t.count("{}") != 1 for t in s.templates):
            raise ValueError(f"prompt set {s.name!r}: every template needs exactly one '{{}}'")
        out[s.name] = s
    return out


#: Named prompt sets.
PROMPT_SETS: dict[str, PromptSet] = _registry(_SETS)

#: The paper default: the 80 OpenAI ImageNet templates, as used by open_clip's and
#: CLIP_benchmark's ImageNet zero-shot numbers (the published tables cliprobust compares with).
DEFAULT_PROMPT_SET = "openai-80"
#: Environment variable that replaces the default prompt set everywhere (runs, cache reads, CLI),
#: e.g. ``photo`` for CPU smoke runs where 80 templates x 1000 classes would dominate the time.
PROMPT_SET_ENV = "CLIPROBUST_PROMPT_SET"


def default_prompt_set() -> str:
    """``$CLIPROBUST_PROMPT_SET`` if set (must name a prompt set), else :data:`DEFAULT_PROMPT_SET`."""
    name = os.environ.get(PROMPT_SET_ENV) or DEFAULT_PROMPT_SET
    get(name)
    return name


def get(name: str) -> PromptSet:
    """A prompt set by name; unknown names list the known ones."""
    try:
        return PROMPT_SETS[name]
    except KeyError:
        raise KeyError(f"unknown prompt set {name!r}; known: {', '.join(PROMPT_SETS)}") from None


def imagenet_classnames() -> tuple[str, ...]:
    """The 1000 OpenAI-curated ImageNet class names in 1k-index order (open_clip metadata).

    Not unique ('missile', 'sunglasses' appear twice): use them to build heads, never as labels.
    """
    names = tuple(_meta.IMAGENET_CLASSNAMES)
    if len(names) != 1000:
        raise ValueError(f"open_clip IMAGENET_CLASSNAMES has {len(names)} names, expected 1000")
    return names


def classnames_for(indices: Sequence[int]) -> tuple[str, ...]:
    """Class names of the given ImageNet indices (e.g. the 200 ImageNet-R classes) for a sub-head."""
    names = imagenet_classnames()
    return tuple(names[i] for i in indices)


def ensemble(embeddings: torch.Tensor) -> torch.Tensor:
    """Prompt ensemble: (C, T, D) text embeddings -> (D, C) classifier weights.

    ``w_c = normalize(mean_t normalize(e_ct))`` -- each template embedding is L2-normalized, the
    mean is taken over templates and renormalized (open_clip ``build_zero_shot_classifier``).
    """
    mean = F.normalize(embeddings.float(), dim=-1).mean(dim=1)
    return F.normalize(mean, dim=-1).T.contiguous()


#: Prompts per text-tower forward pass when building a head (memory vs. per-call overhead).
TEXTS_PER_BATCH = 1024


def build_classifier(encode_text: Callable[[list[str]], torch.Tensor], classnames: Sequence[str],
                     templates: Sequence[str], classes_per_batch: int | None = None) -> torch.Tensor:
    """Zero-shot head (D, C): :func:`ensemble` of ``encode_text`` over ``templates x classnames``.

    ``encode_text`` maps a list of strings to (n, D) embeddings (tokenization included). By
    default about :data:`TEXTS_PER_BATCH` prompts go through the text tower at once.
    """
    classes_per_batch = classes_per_batch or max(1, TEXTS_PER_BATCH // len(templates))
    parts = []
    with torch.no_grad():
        for start in range(0, len(classnames), classes_per_batch):
            batch = classnames[start:start + classes_per_batch]
            texts = [t.format(c) for c in batch for t in templates]
            emb = encode_text(texts).reshape(len(batch), len(templates), -1)
            parts.append(ensemble(emb))
    return torch.cat(parts, dim=1)
