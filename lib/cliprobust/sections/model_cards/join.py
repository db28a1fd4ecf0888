"""Section 09, the join rule: which rows of which published sources are one model (the canonical
key ``"<architecture> | <pretraining>"``, :func:`canonical_key`), and the keyed long rows every
property reader returns (:func:`keyed`). The rule itself is in the package docstring."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from ... import published

#: A card needs this many distinct published sources (one source alone is that paper's table).
MIN_SOURCES: int = 2
#: ImageNet validation images (denominator of every published ImageNet top-1 here).
IMAGENET_VAL_N: int = 50_000
#: Largest ImageNet top-1 difference (fraction) allowed between two sources joined on one key; the
#: sources use different prompts (CLIP) or resize/crop code (torchvision), a few tenths of a point.
JOIN_TOP1_TOLERANCE: float = 0.015

#: Pretraining labels of the canonical key.
OPENAI_CLIP = "WIT-400M (OpenAI CLIP)"
TORCHVISION_IN1K = "ImageNet-1k (torchvision)"
TESTBED_WEIGHTS = "ImageNet-1k (imagenet-testbed weights)"
TESTBED_MORE_DATA = "more than ImageNet-1k (imagenet-testbed weights)"
#: Model groups of the cards (correlations are reported within each and over all).
GROUP_CLIP, GROUP_CLIP_FT, GROUP_IMAGENET, GROUP_MORE_DATA = "clip-zeroshot", "clip-ft", "imagenet", "imagenet-more-data"

#: torchvision's ImageNet-1k classification builders of the published era (torchvision <= 0.12),
#: the names under which torchvision weights appear in the testbed, ImageNet-X and COOD.
TORCHVISION_ARCHS: frozenset[str] = frozenset({
    "alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "googlenet", "inception_v3",
    "mnasnet0_5", "mnasnet1_0", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "resnet18",
    "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1", "vgg11", "vgg11_bn",
    "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "wide_resnet50_2", "wide_resnet101_2",
})

#: The published sources a card can join (``timm`` rows are timm's own ImageNet results).
SOURCES: tuple[str, ...] = ("open_clip", "testbed", "timm", "imagenetx", "model-vs-human", "cood", "ninco")

LONG_COLUMNS = ["key", "arch", "pretraining", "group", "property", "value", "low", "high", "source", "name",
                "interval", "note"]

_CLIP_ARCH = re.compile(r"(?:CLIP_|clip-)?(RN\d+(?:x\d+)?|ViT-([BLHg])[-~/]?(\d+)(?:[-@](\d+)(?:px)?)?)")
_CLIP_FT = re.compile(r"vit_(base|large)_patch(\d+)_(?:clip_)?(\d+)[._](openai|laion2b)_(?:ft_)?(in1k|in1[2]k_in1k|in21k_in1k)")


def clip_arch(raw: str) -> str | None:
    """Display architecture of an OpenAI CLIP tower from any source's spelling (``ViT-B-32``,
    ``ViT-B~32``, ``ViT-B16``, ``ViT-L-14-336``, ``ViT-L~14@336px``, ``RN50x4``), else None."""
    m = _CLIP_ARCH.fullmatch(raw)
    if m is None:
        return None
    if m.group(2) is None:
        return m.group(1)
    return f"ViT-{m.group(2)}/{m.group(3)}" + (f"@{m.group(4)}" if m.group(4) else "")


def _clip_ft_key(name: str) -> tuple[str, str] | None:
    m = _CLIP_FT.fullmatch(name)
    if m is None:
        return None
    size, patch, res, src, ft = m.groups()
    data = "WIT-400M" if src == "openai" else "LAION-2B"
    ft_label = "IN-1k" if ft == "in1k" else "IN-12k -> IN-1k"
    return f"ViT-{size[0].upper()}/{patch}@{res}", f"{data} CLIP, fine-tuned {ft_label} (timm)"


def canonical_key(source: str, name: str) -> tuple[str, str, str] | None:
    """``(architecture, pretraining, group)`` of a source's model name under the join rule of this
    module's docstring, or None when the name joins nothing."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {SOURCES}")
    zeroshot = {"open_clip": name[:-len("/openai")] if name.endswith("/openai") else None,
                "imagenetx": {**_TESTBED_CLIP, "mvh:clip": "ViT-B-16"}.get(name),
                "testbed": _TESTBED_CLIP.get(name),
                "model-vs-human": "ViT-B-16" if name == "clip" else None,
                "cood": name if name in published.COOD_CLIP_ZEROSHOT else None,
                "ninco": name if name in published.NINCO_CLIP_ZEROSHOT else None}.get(source)
    if zeroshot is not None and clip_arch(zeroshot):
        return clip_arch(zeroshot), OPENAI_CLIP, GROUP_CLIP
    if source in ("timm", "ninco") and _clip_ft_key(name):
        return (*_clip_ft_key(name), GROUP_CLIP_FT)
    torchvision = {"testbed": name, "imagenetx": name,
                   "cood": name[:-len("_torchvision")] if name.endswith("_torchvision") else None,
                   "model-vs-human": "resnet50" if name == "resnet50-sup" else None}.get(source)
    if torchvision in TORCHVISION_ARCHS:
        return torchvision, TORCHVISION_IN1K, GROUP_IMAGENET
    if source in ("testbed", "imagenetx") and name in _testbed_types():
        more = _testbed_types()[name] == "MORE_DATA"
        return name, TESTBED_MORE_DATA if more else TESTBED_WEIGHTS, GROUP_MORE_DATA if more else GROUP_IMAGENET
    return None


#: The testbed's (and ImageNet-X's) names of its two zero-shot OpenAI CLIP rows -> architecture.
_TESTBED_CLIP: dict[str, str] = {"resnet50_clip_zeroshot": "RN50", "vit_b_32_clip_zeroshot": "ViT-B-32"}


@lru_cache(maxsize=1)
def _testbed_types() -> dict[str, str]:
    """imagenet-testbed model name -> its type (STANDARD, MORE_DATA, ...), CLIP rows left out."""
    t = published.testbed_model_types()
    return {m: ty for m, ty in zip(t["model"], t["type"]) if m not in _TESTBED_CLIP}


def keyed(rows: pd.DataFrame, source: pd.Series | str) -> pd.DataFrame:
    """Rows with ``source``/``name`` columns, keyed; rows that join nothing are dropped."""
    rows = rows.assign(source=source)
    keys = [canonical_key(s, n) for s, n in zip(rows["source"], rows["name"])]
    rows = rows.assign(arch=[k[0] if k else None for k in keys], pretraining=[k[1] if k else None for k in keys],
                       group=[k[2] if k else None for k in keys])
    rows = rows[rows["arch"].notna()].copy()
    rows["key"] = rows["arch"] + " | " + rows["pretraining"]
    for col in ("low", "high"):
        if col not in rows:
            rows[col] = np.nan
    rows["note"] = rows["note"] if "note" in rows else ""
    return rows[LONG_COLUMNS].reset_index(drop=True)


def strip_prefix(models: pd.Series) -> pd.Series:
    return models.str.split(":", n=1).str[1]
