"""Effective robustness (ER) tables of notebook 01: which models, and their ER under one protocol.

The model table joins four published sources (imagenet-testbed, open_clip, the LAION scaling-laws
checkpoints, timm) into one row per model; :func:`er_frame` gives tidy ER rows under one
:class:`~.options.Options` (every line fit through :mod:`cliprobust.metrics.robustness`).

Model groups (``group``, ``source``): ``imagenet``/``testbed`` (the STANDARD baseline models),
``imagenet-more-data``/``testbed`` (the testbed's MORE_DATA classifiers), ``clip-zeroshot``/
``testbed`` (the testbed's own evaluation of OpenAI RN50 and ViT-B/32), ``imagenet``/``timm``
(timm ImageNet-1k-only supervised models), ``clip-zeroshot``/``open_clip`` (open_clip's zero-shot
table: CLIP and other image-text families), ``clip-zeroshot``/``scaling`` (LAION scaling-laws
checkpoints + 3 OpenAI models), ``clip-ft``/``timm`` (the zoo's 32 CLIP fine-tunes).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from ... import datasets, labels, published, zoo
from ...metrics import robustness
from ...zoo import rules as zoo_rules
from .options import (
    BASELINE, BASELINE_CLIP_RANGE, BASELINE_MORE_DATA, BASELINE_TESTBED, BASELINE_TIMM, BASELINES, DEDUP_PLAIN,
    DEDUP_TWINS, DEDUPS, ER_SHIFTS, FT_SHIFTS, ID_TEST_SET, MEAN_SHIFT, MEAN_SHIFT_4, MODEL_SET_ALL, MODEL_SET_ALL_RAW, MODEL_SET_TESTBED,
    MODEL_SET_ZOO, MODEL_SETS, NEAR_CHANCE, SHIFTS, Options,
)

#: Images per class in ImageNet val (class-subset ID sets: 50 x number of classes).
IMAGENET_VAL_PER_CLASS = 50


def test_set_sizes() -> dict[str, int]:
    """Images per test set (``cliprobust.datasets``), for binomial image-sampling error. The
    class-subset ID sets are ImageNet val restricted to the shift's classes (200 for R/A; the
    ImageNet classes mapped to ObjectNet's 113)."""
    sizes = {name: spec.expected_counts[0] for name, spec in datasets.DATASETS.items()}
    on_classes = sum(len(v) for v in labels.objectnet_to_imagenet().values())
    sizes["imagenet-r-classes"] = IMAGENET_VAL_PER_CLASS * datasets.DATASETS["imagenet-r"].num_folders
    sizes["imagenet-a-classes"] = IMAGENET_VAL_PER_CLASS * datasets.DATASETS["imagenet-a"].num_folders
    sizes["objectnet-classes"] = IMAGENET_VAL_PER_CLASS * on_classes
    return sizes


# --------------------------------------------------------------------------- model table

META_COLUMNS = ["model", "source", "group", "pretrain_data", "arch", "samples_seen", "finetune_data",
                "zoo_clip", "arch_family"]
SUBSET_COLUMNS = ["imagenet-r-classes", "imagenet-a-classes", "objectnet-classes"]
ACC_COLUMNS = [ID_TEST_SET, *SHIFTS, *SUBSET_COLUMNS]

#: Image-text families other than CLIP in open_clip's table, read from the architecture name
#: (their own markers in Fang et al.-style figures). Anything else is ``CLIP``.
IMAGE_TEXT_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"siglip", "SigLIP"), (r"^coca_", "CoCa"), (r"^EVA", "EVA"), (r"CLIPA", "CLIPA"),
    (r"(nllb|roberta)", "other text tower"),
)


def image_text_family(arch: str) -> str:
    """``SigLIP``, ``CoCa``, ``EVA``, ``CLIPA``, ``other text tower`` or ``CLIP`` (first match)."""
    for pattern, family in IMAGE_TEXT_FAMILIES:
        if re.search(pattern, arch, flags=re.IGNORECASE):
            return family
    return "CLIP"


def _with_meta(acc: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Join wide accuracies (index model) to per-model metadata; missing columns become NaN."""
    out = acc.reindex(columns=ACC_COLUMNS).join(meta.set_index("model"), how="inner")
    return out.rename_axis("model").reset_index().reindex(columns=META_COLUMNS + ACC_COLUMNS)


def _testbed_models() -> pd.DataFrame:
    """Testbed rows: the STANDARD baseline, the MORE_DATA classifiers and its 2 CLIP rows."""
    tb = published.testbed_results()
    base = set(published.testbed_baseline_models())
    types = tb.drop_duplicates("model").set_index("model")["type"]
    clip = {f"testbed:{m}" for m in published.TESTBED_CLIP_ZEROSHOT}
    more = set(types.index[types.to_numpy() == "MORE_DATA"]) - clip
    keep = sorted(base | more | clip)
    group = ["clip-zeroshot" if m in clip else "imagenet" if m in base else "imagenet-more-data" for m in keep]
    meta = pd.DataFrame({"model": keep, "source": "testbed", "group": group,
                         "pretrain_data": ["WIT-400M" if m in clip else "ImageNet-1k" if m in base else "more data"
                                           for m in keep],
                         "arch": [m.removeprefix("testbed:") for m in keep], "zoo_clip": False,
                         "arch_family": ["CLIP" if m in clip else "imagenet" for m in keep]})
    return _with_meta(published.wide(tb[tb["model"].isin(keep)]), meta)


def activation_twins(oc: pd.DataFrame) -> list[str]:
    """Plain open_clip ids whose ``<arch>-quickgelu`` row with the same tag is also in ``oc``."""
    ids = set(oc["model"])
    plain = oc.drop_duplicates("model")
    twin = "open_clip:" + plain["arch"] + "-quickgelu/" + plain["pretrained"]
    return sorted(plain.loc[twin.isin(ids).to_numpy(), "model"])


def _quickgelu_twin(model: str) -> str:
    arch, tag = model.removeprefix("open_clip:").split("/", 1)
    return f"open_clip:{arch}-quickgelu/{tag}"


def _open_clip_models(dedup: str) -> pd.DataFrame:
    """open_clip zero-shot rows, one per weight set (:data:`DEDUPS` picks which row of a twin)."""
    oc = published.open_clip_results()
    plain = activation_twins(oc)
    drop = plain if dedup == DEDUP_TWINS else [_quickgelu_twin(m) for m in plain]
    oc = oc[~oc["model"].isin(drop)]
    meta = oc.drop_duplicates("model").assign(source="open_clip", group="clip-zeroshot")
    meta["zoo_clip"] = [zoo_rules.zeroshot_candidate(a, t) for a, t in zip(meta["arch"], meta["pretrained"])]
    meta["arch_family"] = meta["arch"].map(image_text_family)
    return _with_meta(published.wide(oc), meta)


def _scaling_models() -> pd.DataFrame:
    """LAION scaling-laws checkpoints (80M/400M/2B x 3B/13B/34B samples) + 3 OpenAI references."""
    sl = published.scaling_laws_results()
    meta = sl.drop_duplicates("model").assign(source="scaling", group="clip-zeroshot", zoo_clip=False,
                                              arch_family="CLIP")
    return _with_meta(published.wide(sl), meta)


def timm_in1k_rule(name: str) -> bool:
    """timm baseline rule: tag names no extra data (``zoo_rules.timm_pretrain_data`` = ImageNet-1k),
    plain supervised training (``zoo_rules.timm_training``), no language supervision in the tag."""
    tag = name.partition(".")[2]
    return (zoo_rules.timm_pretrain_data(name) == zoo_rules.IMAGENET_1K and zoo_rules.timm_training(name) == "supervised"
            and not zoo_rules.LANGUAGE_SUPERVISED.search(tag) and published.timm_family(name) == "imagenet")


def _timm_models() -> pd.DataFrame:
    """The zoo's 32 CLIP-FT models and the timm ImageNet-1k baseline models, default resolution
    (with timm's ``-clean`` class-subset ImageNet accuracies for R and A)."""
    ft = {e.id: e for e in zoo.collection("clip-ft")}
    tm = published.timm_results(test_sets=(ID_TEST_SET, *FT_SHIFTS, "imagenet-r-classes", "imagenet-a-classes"))
    tm = tm[tm["model"].isin(ft) | tm["name"].map(timm_in1k_rule)]
    tm = published.timm_default_resolution(tm)
    meta = tm.drop_duplicates("model")[["model", "arch"]].assign(source="timm", zoo_clip=False)
    meta["group"] = np.where(meta["model"].isin(ft), "clip-ft", "imagenet")
    meta["arch_family"] = np.where(meta["model"].isin(ft), "CLIP", "imagenet")
    meta["pretrain_data"] = [ft[m].pretrain_data if m in ft else zoo_rules.IMAGENET_1K for m in meta["model"]]
    meta["finetune_data"] = [ft[m].finetune_data if m in ft else None for m in meta["model"]]
    return _with_meta(published.wide(tm), meta)


@lru_cache(maxsize=len(DEDUPS))
def _model_table(dedup: str) -> pd.DataFrame:
    parts = [_testbed_models(), _open_clip_models(dedup), _scaling_models(), _timm_models()]
    out = pd.concat(parts, ignore_index=True)
    out["zoo_clip"] = out["zoo_clip"].astype(bool)
    if out["model"].duplicated().any():
        dup = out.loc[out["model"].duplicated(), "model"].tolist()[:3]
        raise ValueError(f"duplicate model ids across sources, e.g. {dup}: fix the source prefixes")
    return out


def model_table(dedup: str = DEDUP_TWINS) -> pd.DataFrame:
    """One row per model: :data:`META_COLUMNS` + accuracies (fractions, :data:`ACC_COLUMNS`)."""
    return _model_table(dedup).copy()


def baseline_models(baseline: str = BASELINE, dedup: str = DEDUP_TWINS) -> list[str]:
    """Model ids of a named baseline set (:data:`BASELINES`, or :data:`BASELINE_CLIP_RANGE`)."""
    if baseline == BASELINE_TESTBED:
        return published.testbed_baseline_models()
    mt = _model_table(dedup)
    if baseline == BASELINE_CLIP_RANGE:
        low, high = clip_accuracy_range()
        top1 = mt.set_index("model").loc[published.testbed_baseline_models(), ID_TEST_SET]
        return top1.index[(top1 >= low) & (top1 <= high)].tolist()
    if baseline == BASELINE_MORE_DATA:
        return sorted(published.testbed_baseline_models()
                      + mt.loc[mt["group"] == "imagenet-more-data", "model"].tolist())
    if baseline == BASELINE_TIMM:
        return mt.loc[(mt["source"] == "timm") & (mt["group"] == "imagenet"), "model"].tolist()
    raise ValueError(f"unknown baseline {baseline!r}; choose one of {BASELINES}")


def clip_members(frame: pd.DataFrame, model_set: str = MODEL_SET_ZOO) -> list[str]:
    """Zero-shot CLIP model ids of ``frame`` that a claim counts under ``model_set``
    (:data:`MODEL_SETS`)."""
    rows = frame.drop_duplicates("model")
    oc = rows[(rows["source"] == "open_clip")]
    if model_set == MODEL_SET_ZOO:
        sel = oc[oc["zoo_clip"]]
    elif model_set == MODEL_SET_ALL:
        sel = oc[oc["model"].map(_imagenet_top1()) >= NEAR_CHANCE]
    elif model_set == MODEL_SET_ALL_RAW:
        sel = oc
    elif model_set == MODEL_SET_TESTBED:
        sel = rows[(rows["source"] == "testbed") & (rows["group"] == "clip-zeroshot")]
    else:
        raise ValueError(f"unknown model set {model_set!r}; choose one of {MODEL_SETS}")
    return sel["model"].tolist()


@lru_cache(maxsize=1)
def clip_accuracy_range() -> tuple[float, float]:
    """Lowest and highest ImageNet top-1 of the zoo's zero-shot CLIP rows (:data:`MODEL_SET_ZOO`)."""
    mt = _model_table(DEDUP_TWINS)
    top1 = mt.loc[(mt["source"] == "open_clip") & mt["zoo_clip"], ID_TEST_SET]
    return float(top1.min()), float(top1.max())


@lru_cache(maxsize=1)
def _imagenet_top1() -> pd.Series:
    """Full-ImageNet top-1 per model of either de-duplication (the near-chance rule reads it
    whatever the x-axis)."""
    mt = _model_table(DEDUP_TWINS)
    return pd.concat([mt, _model_table(DEDUP_PLAIN)]).drop_duplicates("model").set_index("model")[ID_TEST_SET]


# --------------------------------------------------------------------------- ER frame

def _frame_models(options: Options) -> pd.DataFrame:
    """Rows of the model table an ER frame covers: every model under the default options (other
    sections read the ER of timm ImageNet models from it) and under the timm baseline; the variant
    protocols leave out the 859 timm ImageNet-1k models, a population no claim reads whose bootstrap
    intervals would triple the cost of every variant (:func:`.draws.baseline_comparison` reads them
    under each line explicitly)."""
    mt = _model_table(options.dedup)
    if options == Options() or options.baseline == BASELINE_TIMM:
        return mt
    return mt[~((mt["source"] == "timm") & (mt["group"] == "imagenet"))]


ER_FRAME_COLUMNS = META_COLUMNS + ["in_baseline", "baseline", "shift", "id_acc", "ood_acc", "predicted",
                                   "er", "ci_low", "ci_high"]


@lru_cache(maxsize=16)
def _er_frame(options: Options) -> pd.DataFrame:
    mt = _frame_models(options)
    acc = mt.set_index("model")[ACC_COLUMNS]
    base = baseline_models(options.baseline, options.dedup)
    tr = options.transform
    parts = [robustness.er_table(acc, options.shift_id, base, transform=tr)]
    parts.append(robustness.er_of_mean_accuracy(acc, options.shifts, ID_TEST_SET, base, transform=tr))
    mean4 = robustness.er_of_mean_accuracy(acc, FT_SHIFTS, ID_TEST_SET, base, transform=tr)
    parts.append(mean4.assign(shift=MEAN_SHIFT_4))
    er = pd.concat(parts, ignore_index=True).merge(mt[META_COLUMNS], on="model", how="left")
    er["in_baseline"] = er["model"].isin(base)
    er["baseline"] = options.baseline
    return er[ER_FRAME_COLUMNS]


def cached_frame(options: Options = Options()) -> pd.DataFrame:
    """The ER frame of ``options`` WITHOUT a copy (cached per frame-level options): for readers
    inside the section that never modify it; callers outside use :func:`er_frame`."""
    return _er_frame(options.frame_options())


def er_frame(options: Options | str = Options()) -> pd.DataFrame:
    """Tidy ER rows, one per (model, shift) incl. :data:`MEAN_SHIFT` (mean over the options'
    shifts, always against full ImageNet) and :data:`MEAN_SHIFT_4`.

    Columns :data:`ER_FRAME_COLUMNS`: metadata, ``in_baseline``, ``baseline`` (set name),
    ``id_acc`` (the options' x-axis), ``ood_acc``, ``predicted`` (the line), ``er`` =
    ood_acc − predicted, ``ci_low``/``ci_high`` (95 % CI from resampling baseline models only;
    :func:`.draws.er_draws` adds image-sampling error). A baseline name is accepted for ``options``.
    """
    if isinstance(options, str):
        options = Options(baseline=options)
    return cached_frame(options).copy()


def per_model_table(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model: metadata, ImageNet accuracy, ``er_<shift>`` for :data:`ER_SHIFTS`, the
    headline's CI (``er_mean-shift_ci_low``/``_ci_high``) and ``er_mean_of_shifts`` (mean of
    the per-shift ERs, ``robustness.er_average``; NaN unless the model has all 5)."""
    frame = er_frame() if frame is None else frame
    er = frame.pivot(index="model", columns="shift", values="er")
    er = er.reindex(columns=[s for s in ER_SHIFTS if s in er.columns]).add_prefix("er_")
    avg = robustness.er_average(frame[frame["shift"].isin(SHIFTS)]).set_index("model")
    er["er_mean_of_shifts"] = avg["er_mean"].where(avg["n_shifts"] == len(SHIFTS))
    head = frame[frame["shift"] == MEAN_SHIFT].set_index("model")[["ci_low", "ci_high"]]
    head = head.add_prefix(f"er_{MEAN_SHIFT}_")
    meta = frame.drop_duplicates("model").set_index("model")[META_COLUMNS[1:] + ["in_baseline"]]
    ids = frame[frame["shift"] == MEAN_SHIFT_4].set_index("model")["id_acc"].rename("id_acc")
    out = meta.join(ids).join(er).join(head).rename_axis("model").reset_index()
    return out.sort_values(["group", "source", "model"]).reset_index(drop=True)

