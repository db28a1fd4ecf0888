"""Label maps: how the classes of each evaluation set line up with the 1000 ImageNet-1k indices.

Pinned public files (wnid lists, class subsets, the ObjectNet mapping, model-vs-human's 16
categories) read through :func:`cliprobust.fetch.fetch`; :mod:`cliprobust.datasets` builds its
label spaces from them and :mod:`cliprobust.published` re-exports them. Labels are keyed on
wnids and ImageNet indices, never on class-name strings (``docs/protocols.md``). This module also
holds the cached readers of pinned files that :mod:`cliprobust.published` shares.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from .fetch import fetch

LABEL_MAPS = "published/label-maps/"
#: imagenet-testbed's ObjectNet metadata folder (folder -> label, label -> ImageNet names).
OBJECTNET_META = "published/imagenet-testbed/objectnet_metadata/"


# --------------------------------------------------------------------------- readers of pinned files


@lru_cache(maxsize=None)
def _csv_cached(name: str, thousands: str | None) -> pd.DataFrame:
    return pd.read_csv(fetch(name), thousands=thousands)


def read_csv(name: str, thousands: str | None = None) -> pd.DataFrame:
    """A fresh copy of a pinned CSV (parsed once per process, so callers may modify the copy)."""
    return _csv_cached(name, thousands).copy()


@lru_cache(maxsize=None)
def read_json(name: str) -> object:
    """A pinned JSON file, parsed once per process (treat the result as read-only)."""
    with open(fetch(name), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=None)
def read_lines(name: str) -> tuple[str, ...]:
    """The non-empty, stripped lines of a pinned text file, read once per process."""
    with open(fetch(name), encoding="utf-8") as fh:
        return tuple(line.strip() for line in fh if line.strip())


# --------------------------------------------------------------------------- ImageNet and its subsets


def imagenet_wnids() -> list[str]:
    """The 1000 ImageNet-1k wnids in sorted order; position i is class index i (timm synsets file)."""
    return list(read_lines(LABEL_MAPS + "imagenet_wnids.txt"))


def imagenet_r_wnids() -> list[str]:
    """The 200 ImageNet-R wnids in 1k-index order (hendrycks/imagenet-r ``eval.py``)."""
    return list(read_lines(LABEL_MAPS + "imagenet_r_wnids.txt"))


def imagenet_a_wnids() -> list[str]:
    """The 200 ImageNet-A wnids in 1k-index order (hendrycks/natural-adv-examples)."""
    return list(read_lines(LABEL_MAPS + "imagenet_a_wnids.txt"))


def wnid_indices(wnids: list[str]) -> list[int]:
    """0-based ImageNet-1k indices of ``wnids`` (e.g. the 200 R/A columns to keep of 1000 logits)."""
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    missing = [w for w in wnids if w not in index]
    if missing:
        raise KeyError(f"wnids not in ImageNet-1k ({LABEL_MAPS}imagenet_wnids.txt): {missing[:5]}")
    return [index[w] for w in wnids]


# --------------------------------------------------------------------------- model-vs-human


def mvh_16_categories() -> dict[str, list[int]]:
    """model-vs-human's 16 categories -> ascending ImageNet indices (``HumanCategories``), alphabetical.

    Use: a 16-way score is the MEAN softmax probability over a category's indices
    (``docs/protocols.md``, shape-bias aggregation).
    """
    df = read_csv(LABEL_MAPS + "model_vs_human_16_categories.csv")
    return {c: sorted(g["imagenet_index"].astype(int)) for c, g in df.groupby("category", sort=True)}


# --------------------------------------------------------------------------- ObjectNet (testbed metadata)


def imagenet_index_to_name() -> dict[int, str]:
    """ImageNet index -> WordNet class name string (testbed ``imagenet_to_labels.json``); display only."""
    raw = read_json(OBJECTNET_META + "imagenet_to_labels.json")
    return {int(k): v for k, v in raw.items()}


def objectnet_folder_to_label() -> dict[str, str]:
    """ObjectNet image folder -> ObjectNet class label (313 folders; testbed metadata)."""
    return dict(read_json(OBJECTNET_META + "folder_to_objectnet_label.json"))


def objectnet_to_imagenet() -> dict[str, list[int]]:
    """The 113 ObjectNet classes overlapping ImageNet -> their ImageNet indices (125 in total).

    Source ``objectnet_to_imagenet_1k.json`` lists ImageNet class names joined by ``"; "``; they
    are resolved to indices through ``imagenet_to_labels.json``, refusing ambiguous names.
    """
    names = imagenet_index_to_name()
    by_name: dict[str, list[int]] = {}
    for i, n in names.items():
        by_name.setdefault(n, []).append(i)
    out: dict[str, list[int]] = {}
    for label, joined in read_json(OBJECTNET_META + "objectnet_to_imagenet_1k.json").items():
        idx = [by_name.get(n, []) for n in joined.split("; ")]
        if any(len(i) != 1 for i in idx):
            raise ValueError(f"objectnet_to_imagenet_1k.json: {label!r} -> {joined!r} has a missing or "
                             f"ambiguous ImageNet name; fix the mapping by index")
        out[label] = sorted(i[0] for i in idx)
    return out


def objectnet_folder_to_imagenet() -> dict[str, list[int]]:
    """ObjectNet folder -> ImageNet indices, for the 113 overlapping classes' folders only."""
    labels = objectnet_to_imagenet()
    return {f: labels[lab] for f, lab in objectnet_folder_to_label().items() if lab in labels}
