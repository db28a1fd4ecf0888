"""Zero-shot prompts as data: class names and template sets (no torch, no open_clip import).

Class names and templates are open_clip's own metadata (``open_clip.zero_shot_metadata``), the
source CLIP_benchmark and the open_clip results tables use, stored as a JSON data file
(``_derived/prompts/open_clip_zero_shot_metadata.json``; ``tests/test_prompts.py`` checks it
against the installed open_clip). Templates are ``str.format`` strings (open_clip ships them as
lambdas; each was called with ``"{}"`` once). The prompt-ensemble math that turns them into a
zero-shot head lives with the heads (:mod:`cliprobust.inference.heads`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

#: The stored copy of open_clip's zero-shot metadata.
METADATA_PATH = Path(__file__).parent / "_derived" / "prompts" / "open_clip_zero_shot_metadata.json"


@lru_cache(maxsize=1)
def _metadata() -> dict[str, Any]:
    with open(METADATA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


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


_SETS: tuple[PromptSet, ...] = (
    PromptSet("openai-80", tuple(_metadata()["openai_imagenet_templates"]),
              "open_clip zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES (Radford et al. 2021, 80 templates)"),
    PromptSet("simple-7", tuple(_metadata()["simple_imagenet_templates"]),
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
    names = tuple(_metadata()["imagenet_classnames"])
    if len(names) != 1000:
        raise ValueError(f"{METADATA_PATH.name} has {len(names)} ImageNet class names, expected 1000")
    return names


def classnames_for(indices: Sequence[int]) -> tuple[str, ...]:
    """Class names of the given ImageNet indices (e.g. the 200 ImageNet-R classes) for a sub-head."""
    names = imagenet_classnames()
    return tuple(names[i] for i in indices)
