"""The model zoo: the 210 models of Tu et al. (NeurIPS 2023) plus tiny smoke-test models.

Tu et al. study 51 zero-shot CLIP models (open_clip), 32 CLIP models fine-tuned on ImageNet
("CLIP-FT", timm) and 127 ImageNet classifiers (timm), but published no model list. The list is
therefore rebuilt from the open_clip and timm registries by three written rules
(:mod:`cliprobust.zoo.rules`, where each rule is documented). What the rules produced with
open_clip 3.3.0 / timm 1.0.31 is frozen as data in ``models.csv`` beside this file (so a new
library release cannot silently change the zoo); ``tests/test_zoo.py`` re-runs the rules on the
installed registries and asserts they regenerate that file exactly. These are *a* principled
reconstruction with the paper's counts and groups, not the paper's list.

This module is the registry: frozen :class:`ModelEntry` rows loaded from ``models.csv`` at
import, named collections, glob/selector resolution and duplicate-id rejection. It imports
neither torch, open_clip nor timm. The ``smoke`` collection (not part of ``paper``) holds
random-init models for pipeline tests; its rows are written by hand in the same file. Ids follow
the project convention ``open_clip:<arch>/<tag>`` and ``timm:<name.tag>``.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any

import pandas as pd

# --------------------------------------------------------------------------- entries

#: Groups in the paper, and their sizes in Tu et al. (NeurIPS 2023), Sec. 3.
PAPER_GROUPS: tuple[str, ...] = ("clip-zeroshot", "clip-ft", "imagenet")
PAPER_COUNTS: dict[str, int] = {"clip-zeroshot": 51, "clip-ft": 32, "imagenet": 127}
GROUPS: tuple[str, ...] = PAPER_GROUPS + ("smoke",)
#: Named collections for :func:`collection` / :func:`select`: ``paper`` is the 210 paper models.
COLLECTIONS: tuple[str, ...] = ("paper",) + GROUPS


@dataclass(frozen=True)
class ModelEntry:
    """One model of the zoo (one row of ``models.csv``).

    ``pretrain_data``: the (image-text or image) data the weights were trained on before any
    ImageNet fine-tune; ``finetune_data``: ``in1k`` / ``in12k→in1k`` for CLIP-FT, ``in1k`` for
    ImageNet models pre-trained on extra data, else None; ``extra_data``: trained on more than
    ImageNet-1k; ``arch_family``: ``ResNet`` / ``ViT`` / ``ConvNeXt`` across groups, other
    ImageNet families keep their timm module name (``efficientnet``, ``swin_transformer``...);
    ``training``: ``contrastive`` (zero-shot
    CLIP), ``contrastive+ft`` (CLIP-FT), ``supervised``, ``weakly-supervised``,
    ``semi-supervised``, ``self-supervised``, ``distilled``, ``adversarial`` or ``random-init``.
    """

    id: str
    source: str  # "open_clip" | "timm"
    arch: str  # open_clip model name, or timm architecture (random-init timm: "name.tag")
    pretrained: str | None  # open_clip / timm pretrained tag; None = random init
    group: str  # one of GROUPS
    arch_family: str  # "ResNet", "ViT", "ConvNeXt", ...
    pretrain_data: str | None
    training: str
    extra_data: bool
    samples_seen: int | None = None
    finetune_data: str | None = None
    quick_gelu: bool = False  # open_clip: weights trained with QuickGELU
    aliases: tuple[str, ...] = ()  # other registry ids of the same weights

    @property
    def name(self) -> str:
        """Registry name: timm ``arch.tag`` (what ``timm.create_model`` takes) or open_clip arch.

        Random-init timm entries (``pretrained=None``) keep a config tag in ``arch``
        (``test_vit.r160_in1k``): ``timm.create_model(name, pretrained=False)``."""
        if self.source == "timm" and self.pretrained:
            return f"{self.arch}.{self.pretrained}"
        return self.arch


def open_clip_id(arch: str, tag: str | None) -> str:
    """``open_clip:<arch>/<tag>`` (``none`` for random init)."""
    return f"open_clip:{arch}/{tag or 'none'}"


def timm_id(name: str) -> str:
    """``timm:<name.tag>``."""
    return f"timm:{name}"


def published_ids(entry: ModelEntry) -> tuple[str, ...]:
    """Ids under which published tables may list ``entry``, preferred first.

    For open_clip weights trained with QuickGELU the ``-quickgelu`` alias comes first: its row was
    evaluated with the training activation (open_clip table, ViT-B-32 laion400m_e32: 0.6293 top-1
    for the ``-quickgelu`` row vs 0.6024 for the plain one; openai rows are identical).
    """
    return entry.aliases + (entry.id,) if entry.quick_gelu else (entry.id,) + entry.aliases


# --------------------------------------------------------------------------- models.csv

#: The frozen model lists, shipped as package data beside this module.
MODELS_CSV = "models.csv"
#: ``models.csv`` columns: the :class:`ModelEntry` fields, in order.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ModelEntry))
_OPTIONAL = frozenset({"pretrained", "pretrain_data", "finetune_data"})  # "" = None
_BOOLS = frozenset({"extra_data", "quick_gelu"})  # "True" / "False"
ALIAS_SEP = ";"


def entry_from_row(row: dict[str, str]) -> ModelEntry:
    """A :class:`ModelEntry` from one ``models.csv`` row (all cells strings; see :func:`entry_to_row`)."""
    if tuple(row) != COLUMNS:
        raise ValueError(f"models.csv columns {tuple(row)} != ModelEntry fields {COLUMNS}")
    value: dict[str, Any] = {k: (v or None) if k in _OPTIONAL else v for k, v in row.items()}
    for k in _BOOLS:
        if row[k] not in ("True", "False"):
            raise ValueError(f"{row['id']}: {k} must be True or False, got {row[k]!r}")
        value[k] = row[k] == "True"
    value["samples_seen"] = int(row["samples_seen"]) if row["samples_seen"] else None
    value["aliases"] = tuple(row["aliases"].split(ALIAS_SEP)) if row["aliases"] else ()
    return ModelEntry(**value)


def entry_to_row(entry: ModelEntry) -> dict[str, str]:
    """The ``models.csv`` row of an entry: None -> empty cell, aliases joined by ``;``."""
    row = {k: "" if v is None else str(v) for k, v in asdict(entry).items()}
    row["aliases"] = ALIAS_SEP.join(entry.aliases)
    return row


def to_csv_text(entries: Iterable[ModelEntry]) -> str:
    """``models.csv`` content for ``entries`` (header + one row each, ``\\n`` line ends)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entry_to_row(e) for e in entries)
    return buf.getvalue()


def read_models_csv() -> str:
    """The shipped ``models.csv`` as text."""
    return resources.files(__name__).joinpath(MODELS_CSV).read_text(encoding="utf-8")


def load_entries(text: str | None = None) -> list[ModelEntry]:
    """Entries of ``models.csv`` (or of ``text`` in its format), in file order."""
    text = read_models_csv() if text is None else text
    return [entry_from_row(row) for row in csv.DictReader(io.StringIO(text))]


# --------------------------------------------------------------------------- registry

_GLOB_CHARS = frozenset("*?[")


class Registry:
    """Model entries keyed by id, in registration order; duplicate ids are rejected."""

    def __init__(self, entries: Iterable[ModelEntry] = ()) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: ModelEntry) -> None:
        """Add one entry; raises ValueError on a duplicate id or an inconsistent entry."""
        if entry.id in self._entries:
            raise ValueError(f"duplicate model id {entry.id!r}: each id may be registered once")
        if entry.group not in GROUPS:
            raise ValueError(f"{entry.id}: unknown group {entry.group!r}; use one of {GROUPS}")
        expected = (open_clip_id(entry.arch, entry.pretrained) if entry.source == "open_clip"
                    else timm_id(entry.name) if entry.source == "timm" else None)
        if entry.id != expected:
            raise ValueError(f"{entry.id}: id must be {expected!r} for source {entry.source!r}")
        self._entries[entry.id] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._entries

    def get(self, model_id: str) -> ModelEntry:
        """The entry with this id; KeyError names close matches."""
        try:
            return self._entries[model_id]
        except KeyError:
            close = difflib.get_close_matches(model_id, list(self._entries), n=3)
            raise KeyError(f"no model {model_id!r} in the zoo; did you mean {close}? "
                           f"(zoo.list_models('*pattern*') lists ids)") from None

    def list_models(self, pattern: str | None = None, group: str | None = None) -> list[str]:
        """Ids matching a glob ``pattern`` (case-sensitive, over the full id) and/or ``group``."""
        if group is not None and group not in GROUPS:
            raise ValueError(f"unknown group {group!r}; groups are {GROUPS}")
        return [e.id for e in self if (group is None or e.group == group)
                and (pattern is None or fnmatch.fnmatchcase(e.id, pattern))]

    def collection(self, name: str) -> list[ModelEntry]:
        """A named collection (:data:`COLLECTIONS`): ``paper`` = the three paper groups."""
        if name not in COLLECTIONS:
            raise KeyError(f"unknown collection {name!r}; collections are {COLLECTIONS}")
        groups = PAPER_GROUPS if name == "paper" else (name,)
        return [e for e in self if e.group in groups]

    def select(self, selector: str) -> list[ModelEntry]:
        """Entries named by a CLI selector, in order, without repeats.

        A selector is a comma-separated list of parts; each part is a collection name
        (``paper``, ``clip-zeroshot``, ``clip-ft``, ``imagenet``, ``smoke``), a glob over ids
        (``open_clip:ViT-B-*``) or an exact id. A glob that matches nothing is an error.
        """
        out: dict[str, ModelEntry] = {}
        for part in (p.strip() for p in selector.split(",")):
            if not part:
                continue
            if part in COLLECTIONS:
                hits = self.collection(part)
            elif _GLOB_CHARS & set(part):
                hits = [self.get(i) for i in self.list_models(part)]
                if not hits:
                    raise KeyError(f"selector part {part!r} matches no model id")
            else:
                hits = [self.get(part)]
            out.update((e.id, e) for e in hits)
        if not out:
            raise ValueError(f"empty model selector {selector!r}; give a collection, glob or id")
        return list(out.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per entry, columns = :class:`ModelEntry` fields plus ``name``."""
        rows = [{**asdict(e), "name": e.name} for e in self]
        return pd.DataFrame(rows).astype({"samples_seen": "Int64"})


#: The zoo: the 210 paper models then the smoke-test models, as listed in ``models.csv``.
REGISTRY = Registry(load_entries())


def get(model_id: str) -> ModelEntry:
    """The zoo entry with this id (see :meth:`Registry.get`)."""
    return REGISTRY.get(model_id)


def list_models(pattern: str | None = None, group: str | None = None) -> list[str]:
    """Zoo ids matching a glob and/or group (see :meth:`Registry.list_models`)."""
    return REGISTRY.list_models(pattern, group)


def collection(name: str) -> list[ModelEntry]:
    """A named collection of the zoo (see :meth:`Registry.collection`)."""
    return REGISTRY.collection(name)


def select(selector: str) -> list[ModelEntry]:
    """Zoo entries named by a CLI selector (see :meth:`Registry.select`)."""
    return REGISTRY.select(selector)


def to_frame() -> pd.DataFrame:
    """The whole zoo as a DataFrame (see :meth:`Registry.to_frame`)."""
    return REGISTRY.to_frame()
