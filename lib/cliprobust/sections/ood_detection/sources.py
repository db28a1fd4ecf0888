"""Training sources of the COOD models: which data each model was trained on (the C5 groups).

COOD (Galil et al. ICLR 2023) lists its models by name and family only; the ImageNet classifiers are
split by timm's 2022 pre-training labels, and every figure of the project colours the groups the same
way (:data:`SOURCE_COLORS`). ``sections.calibration`` uses these groups too.
"""

from __future__ import annotations

import re
from typing import Mapping

import pandas as pd

from ... import style
from ...fetch import fetch

#: timm's 2022 pre-training labels (old-style names, as COOD uses), for splitting ImageNet models by source.
TIMM_METADATA = "published/timm/model_metadata-in1k.csv"
#: timm ``pretrain`` labels that mean "trained on more than ImageNet-1k".
EXTRA_DATA_PRETRAIN = frozenset({"in21k", "jft300m-ns", "yfc-semisl", "ig1b-swsl", "in21k-selfsl", "ig1b-wsl"})
#: Name rule for COOD names missing from the metadata: ImageNet-21k/22k pre-training or SWAG (IG-3.6B).
EXTRA_DATA_NAME = re.compile(r"in2[12]|2[12]k|swag", re.IGNORECASE)

#: Coarse training-source groups of the COOD models (``source`` column).
COOD_SOURCES: tuple[str, ...] = ("clip-zeroshot", "clip-lp", "imagenet-1k", "imagenet+extra", "imagenet-unlisted")
#: Display names of the coarse groups (figures, tables): ``imagenet-unlisted`` are COOD ImageNet
#: classifiers that timm's 2022 metadata does not list and whose name states no extra data, so
#: their training data are unknown (DeiT-3, the original-weights ViTs, relative-position ViTs, ...).
SOURCE_LABELS: dict[str, str] = {
    "clip-zeroshot": "CLIP zero-shot (WIT-400M)",
    "clip-lp": "CLIP linear probe (WIT-400M + IN-1k)",
    "imagenet-1k": "ImageNet-1k only",
    "imagenet+extra": "ImageNet + extra data",
    "imagenet-unlisted": "ImageNet, training data not stated",
}
#: Fine training sources (``training_source`` column): the coarse group, except that ImageNet
#: models with extra data are split by timm's pretrain label (in21k, jft300m-ns, yfc-semisl, ...);
#: extra-data models found by name only are ``extra-by-name``.
NOT_ONE_SOURCE: frozenset[str] = frozenset({"imagenet-unlisted", "extra-by-name"})

#: Colours of the coarse COOD sources (the two CLIP groups keep the group colours of every figure).
SOURCE_COLORS: dict[str, str] = {
    "clip-zeroshot": style.group_color("clip-zeroshot"), "clip-lp": style.group_color("clip-ft"),
    "imagenet-1k": style.source_color("ImageNet-1k"), "imagenet+extra": style.source_color("ImageNet-21k"),
    "imagenet-unlisted": style.BASELINE_GREY,
}


def timm_pretrain_labels() -> pd.Series:
    """timm ``model_metadata-in1k.csv`` as name -> pretrain label."""
    return pd.read_csv(fetch(TIMM_METADATA)).set_index("model")["pretrain"]


def cood_source(name: str, family: str, pretrain: Mapping[str, str]) -> str:
    """Coarse training source of one COOD model (one of :data:`COOD_SOURCES`).

    CLIP entries keep their COOD family. ImageNet models: timm's 2022 ``pretrain`` label when the
    name is listed (extra data = :data:`EXTRA_DATA_PRETRAIN`), else ``*_torchvision`` -> ImageNet-1k,
    else :data:`EXTRA_DATA_NAME` -> extra data, else ``imagenet-unlisted`` (source not stated).
    """
    if family != "imagenet":
        return family
    if name in pretrain:
        return "imagenet+extra" if pretrain[name] in EXTRA_DATA_PRETRAIN else "imagenet-1k"
    if name.endswith("_torchvision"):
        return "imagenet-1k"
    return "imagenet+extra" if EXTRA_DATA_NAME.search(name) else "imagenet-unlisted"


def training_source(name: str, source: str, pretrain: Mapping[str, str]) -> str:
    """Fine training source: ``source``, or timm's pretrain label for ``imagenet+extra`` models."""
    if source != "imagenet+extra":
        return source
    return pretrain.get(name, "extra-by-name")


def source_label(s: str) -> str:
    """Display name of a coarse or fine training source."""
    return SOURCE_LABELS.get(s, {"extra-by-name": "IN + extra (by name)"}.get(s, f"IN + {s}"))
