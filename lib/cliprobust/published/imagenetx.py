"""ImageNet-X (Idrissi et al. ICLR 2023): per-factor accuracies, base-model predictions, annotations.

Published factor-accuracy tables per model group (fractions), the top-1 predictions of four
base models, and the per-image factor annotations shipped inside the ``imagenet_x`` package
(read from its folder, the package is never imported) (``docs/tables.md``, ImageNet-X).
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from ._common import read_csv
from .testbed import TESTBED_CLIP_ZEROSHOT, testbed_model_types

IMAGENETX_RESULTS = "imagenetx/results/val/top_factor/{group}/class/accuracies_per_factor{suffix}.csv"
IMAGENETX_PREDICTIONS = "imagenetx/model_predictions/base/{name}.csv"
IMAGENETX_GROUPS: tuple[str, ...] = (
    "adaptive_colorjitter", "base", "colorjitter", "colorjitter_crop", "crop", "gaussian_blur",
    "imagenet_testbed", "modelvshuman",
)
IMAGENETX_PREDICTION_MODELS: tuple[str, ...] = ("DINO", "ResNet50", "SimCLR", "ViT")

#: The 16 ImageNet-X factors, in the order of the published tables (= ``imagenet_x.FACTORS``).
IMAGENETX_FACTORS: tuple[str, ...] = (
    "pose", "background", "pattern", "color", "smaller", "shape", "partial_view", "subcategory",
    "texture", "larger", "darker", "object_blocking", "person_blocking", "style", "brighter",
    "multiple_objects",
)

#: The 10 factors Tu et al. (NeurIPS 2023) report (the 10 most frequent ImageNet-X factors).
PAPER_FACTORS: tuple[str, ...] = (
    "pose", "background", "pattern", "color", "smaller", "shape", "partial_view", "subcategory",
    "texture", "larger",
)

#: CLIP zero-shot rows of the ImageNet-X groups (``clip`` in modelvshuman = OpenAI ViT-B/32).
IMAGENETX_CLIP_ZEROSHOT: tuple[str, ...] = TESTBED_CLIP_ZEROSHOT + ("clip", "clipRN50")

#: The 16 named ImageNet-X metaclasses; other classes are ``other`` (``imagenet_x.METACLASSES``).
_IMAGENETX_METACLASSES: tuple[str, ...] = (
    "device", "dog", "commodity", "bird", "structure", "covering", "wheeled_vehicle", "food",
    "equipment", "insect", "vehicle", "furniture", "primate", "vessel", "snake", "natural_object",
)

#: Per-model summary columns of the ImageNet-X tables: ``average`` = accuracy over all annotated
#: (non-prototype) val images, ``worst_factor`` = min over the 16 factor accuracies,
#: ``worst_100_classes`` = mean accuracy of the 100 worst classes (absent in metaclass tables).
IMAGENETX_SUMMARY: tuple[str, ...] = ("average", "worst_factor", "worst_100_classes")


def _imagenetx_family(names: pd.Series, group: str) -> pd.Series:
    fam = pd.Series("imagenet", index=names.index)
    if group == "imagenet_testbed":
        types = testbed_model_types().set_index("model")["type"]
        fam = names.map(types).fillna("imagenet")
    return fam.where(~names.isin(IMAGENETX_CLIP_ZEROSHOT), "clip-zeroshot")


def imagenetx_factor_accuracies(group: str = "imagenet_testbed", metaclass: bool = False) -> pd.DataFrame:
    """ImageNet-X per-factor accuracies (fractions) of one group, long: model, family, factor,
    accuracy, name, plus the :data:`IMAGENETX_SUMMARY` columns repeated per row.

    Rows per group: imagenet_testbed 335, modelvshuman 54, crop 1272, colorjitter 664,
    gaussian_blur 161, base 4. ``metaclass=True`` reads the per-metaclass table (adds
    ``metaclass``; not mirrored for crop). ``family`` uses the testbed types for that group.
    """
    if group not in IMAGENETX_GROUPS:
        raise ValueError(f"unknown ImageNet-X group {group!r}; choose from {IMAGENETX_GROUPS}")
    if metaclass and group == "crop":
        raise ValueError("crop/class/accuracies_per_factor_metaclass.csv is not in the data mirror "
                         "(blob absent upstream); use metaclass=False for crop")
    raw = read_csv(IMAGENETX_RESULTS.format(group=group, suffix="_metaclass" if metaclass else ""))
    ids = ["model"] + (["metaclass"] if metaclass else []) + [c for c in IMAGENETX_SUMMARY if c in raw]
    df = raw.melt(id_vars=ids, value_vars=list(IMAGENETX_FACTORS), var_name="factor", value_name="accuracy")
    df = df.rename(columns={"model": "name"})
    df["model"] = "imagenetx:" + df["name"]
    df["family"] = _imagenetx_family(df["name"], group)
    df["group"] = group
    front = ["model", "family", "factor", "accuracy", "name", "group"]
    return df[front + [c for c in df.columns if c not in front]].reset_index(drop=True)


def imagenetx_predictions(name: str) -> pd.DataFrame:
    """Top-1 ImageNet-val predictions of an ImageNet-X base model (DINO, ResNet50, SimCLR, ViT):
    file_name, predicted_class (0-999), predicted_probability (softmax of the top-1 class only),
    label (from ``imagenet_x/annotations/filename_label.csv``), correct."""
    if name not in IMAGENETX_PREDICTION_MODELS:
        raise ValueError(f"no ImageNet-X predictions for {name!r}; mirrored: {IMAGENETX_PREDICTION_MODELS}")
    df = read_csv(IMAGENETX_PREDICTIONS.format(name=name))
    labels = _imagenetx_labels()
    df["label"] = df["file_name"].map(labels)
    if df["label"].isna().any():
        raise ValueError(f"{IMAGENETX_PREDICTIONS.format(name=name)}: file names missing from filename_label.csv")
    df["label"] = df["label"].astype(int)
    df["correct"] = df["predicted_class"] == df["label"]
    df.insert(0, "model", f"imagenetx:{name}")
    return df


def _imagenetx_annotation_dir():
    """The ``annotations`` folder shipped in the installed ``imagenet_x`` package (no import of it)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("imagenet_x")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("imagenet_x is not installed: pip install imagenet-x (--no-deps is enough)")
    return Path(list(spec.submodule_search_locations)[0]) / "annotations"


@lru_cache(maxsize=1)
def _imagenetx_labels() -> pd.Series:
    df = pd.read_csv(_imagenetx_annotation_dir() / "filename_label.csv")
    return df.set_index("file_name")["label"]


@lru_cache(maxsize=4)
def _imagenetx_annotations(which_factor: str, partition: str) -> pd.DataFrame:
    d = _imagenetx_annotation_dir()
    ann = pd.read_json(d / f"imagenet_x_{partition}_{which_factor}_factor.jsonl", lines=True)
    meta = pd.read_csv(d / "imagenet_1k_classes_to_100_metaclasses.csv")["name"]
    known = set(_IMAGENETX_METACLASSES)
    meta = meta.where(meta.isin(known), "other")  # as imagenet_x.utils.to_metaclass
    ann["metaclass"] = meta.to_numpy()[ann["class"].to_numpy()]
    protos = set(pd.read_csv(d / "prototypical_paths.csv")["file_name"])
    ann["prototype"] = ann["file_name"].isin(protos)
    ann[list(IMAGENETX_FACTORS)] = ann[list(IMAGENETX_FACTORS)].astype(bool)
    return ann.rename(columns={"class": "label"})


def imagenetx_annotations(which_factor: str = "top", partition: str = "val",
                          filter_prototypes: bool = True, long: bool = False) -> pd.DataFrame:
    """Per-image ImageNet-X annotations from the installed ``imagenet_x`` package, keyed by file_name.

    Wide (default): file_name, label (0-999), metaclass (17 incl. ``other``), one bool column per
    factor of :data:`IMAGENETX_FACTORS`. ``long=True``: one row per (file_name, factor) that is
    set. Prototype images are dropped by default, as in ``imagenet_x.load_annotations``.
    """
    ann = _imagenetx_annotations(which_factor, partition)
    if filter_prototypes:
        ann = ann[~ann["prototype"]]
    cols = ["file_name", "label", "metaclass", *IMAGENETX_FACTORS]
    wide_df = ann[cols].reset_index(drop=True)
    if not long:
        return wide_df
    out = wide_df.melt(id_vars=["file_name", "label", "metaclass"], var_name="factor", value_name="set")
    return out[out["set"]].drop(columns="set").sort_values(["file_name", "factor"]).reset_index(drop=True)
