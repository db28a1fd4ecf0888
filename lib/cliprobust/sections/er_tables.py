"""Effective robustness (ER) tables of notebook 01: which models, which protocol, which draws.

The model table joins four published sources (imagenet-testbed, open_clip, the LAION scaling-laws
checkpoints, timm) into one row per model; :class:`Protocol` names the choices a careful
researcher could make differently (baseline set, x-axis, de-duplication of QuickGELU rows,
ObjectNet in or out); :func:`er_frame` gives tidy ER rows under one protocol and :func:`er_draws`
the bootstrap draws every interval of the section is built from (baseline models resampled AND
every accuracy redrawn with its binomial image-sampling error). Every resampling goes through
:mod:`cliprobust.metrics.stats`, every line fit through :mod:`cliprobust.metrics.robustness`.
Protocol choices and their sources: ``docs/protocols.md``.

Model groups (``group``, ``source``): ``imagenet``/``testbed`` (the STANDARD baseline models),
``imagenet-more-data``/``testbed`` (the testbed's MORE_DATA classifiers), ``clip-zeroshot``/
``testbed`` (the testbed's own evaluation of OpenAI RN50 and ViT-B/32), ``imagenet``/``timm``
(timm ImageNet-1k-only supervised models), ``clip-zeroshot``/``open_clip`` (open_clip's zero-shot
table: CLIP and other image-text families), ``clip-zeroshot``/``scaling`` (LAION scaling-laws
checkpoints + 3 OpenAI models), ``clip-ft``/``timm`` (the zoo's 32 CLIP fine-tunes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import datasets, labels, published, zoo
from ..metrics import robustness, stats
from ..zoo import rules as zoo_rules
from ._base import Run

# --------------------------------------------------------------------------- protocol choices

ID_TEST_SET = published.IMAGENET
SHIFTS: tuple[str, ...] = published.SHIFTS
#: The four shifts timm publishes (no ObjectNet): CLIP-FT, the timm baseline and claim C12.
FT_SHIFTS: tuple[str, ...] = ("imagenet-v2", "imagenet-r", "imagenet-sketch", "imagenet-a")
#: Fang et al.'s headline ER: ER of the mean OOD accuracy over the protocol's shifts against the
#: baseline fit of mean OOD accuracy (``robustness.er_of_mean_accuracy``).
MEAN_SHIFT = robustness.MEAN_SHIFT
#: The same over :data:`FT_SHIFTS` (models without ObjectNet: CLIP-FT, timm; claim C12).
MEAN_SHIFT_4 = "mean-shift-4"
#: Mean of a model's per-shift ERs (``robustness.er_average``), reported beside the headline.
MEAN_OF_SHIFT_ER = "mean-er"
ER_SHIFTS: tuple[str, ...] = SHIFTS + (MEAN_SHIFT, MEAN_SHIFT_4)

#: Baseline sets. Headline: the imagenet-testbed STANDARD models (Taori et al. 2020's line-fit
#: rule, ``published.testbed_baseline_models``; 85 models, R covers 80).
BASELINE_TESTBED = "testbed-standard"
#: STANDARD plus the testbed's MORE_DATA classifiers (BiT, Instagram, JFT, ...; its two CLIP rows
#: excluded): the testbed's plots draw them apart, a researcher may pool them.
BASELINE_MORE_DATA = "testbed-more-data"
#: timm models trained on ImageNet-1k only with plain supervised training (:func:`timm_in1k_rule`),
#: at their default resolution: another evaluation pipeline, ~10x more models, 4 shifts.
BASELINE_TIMM = "timm-in1k"
BASELINES: tuple[str, ...] = (BASELINE_TESTBED, BASELINE_MORE_DATA, BASELINE_TIMM)
BASELINE = BASELINE_TESTBED

#: x-axis. Headline: FULL ImageNet val top-1 for every shift (Fang et al.'s plots): the open_clip
#: and scaling-laws tables have no class-subset ImageNet accuracies.
X_FULL = "full-imagenet"
#: The class-subset convention (``docs/protocols.md`` §3): ImageNet val on the 200 R / 200 A
#: classes and on the ObjectNet classes, where the table has it (testbed, timm ``-clean``).
X_SUBSET = "class-subset"
X_AXES: tuple[str, ...] = (X_FULL, X_SUBSET)
SHIFT_ID: dict[str, str] = dict(published.SHIFT_BASELINE_FULL_IMAGENET)
SHIFT_ID_SUBSET: dict[str, str] = dict(published.SHIFT_BASELINE)

#: open_clip de-duplication. Headline: the loader drops the 3 openai ``-quickgelu`` duplicates
#: (121 -> 118) and this section drops the 5 plain rows (ViT-B-32 laion400m_e31/e32, RN50
#: cc12m/yfcc15m, RN101 yfcc15m) whose weights were trained with QuickGELU and whose
#: ``-quickgelu`` twin row is in the table: same weights evaluated with the wrong activation
#: (``docs/protocols.md`` §10; ``zoo.published_ids`` prefers the twin) -> 113 weight sets.
DEDUP_TWINS = "quickgelu-rows"
#: The alternative: keep the plain rows of those 5 weight sets and drop their twins.
DEDUP_PLAIN = "plain-rows"
DEDUPS: tuple[str, ...] = (DEDUP_TWINS, DEDUP_PLAIN)

#: ObjectNet. The open_clip rows use a 113-name zero-shot head without the 2-px border crop
#: (CLIP_benchmark), the testbed baseline 1000-way logits mapped to 113 classes with the crop
#: (``datasets.OBJECTNET_PROTOCOL``): two protocols on one axis. Headline keeps ObjectNet (as Fang
#: et al. do); ``drop`` removes it from every shift list and from the mean.
OBJECTNET_KEEP = "keep"
OBJECTNET_DROP = "drop"
OBJECTNET_CHOICES: tuple[str, ...] = (OBJECTNET_KEEP, OBJECTNET_DROP)

#: Which CLIP rows a claim counts. Headline: the zoo's zero-shot CLIP rule (``zoo.rules``
#: rule 1a-c: CLIP architecture and loss, the paper's data sources, >= 1B samples seen).
MODEL_SET_ZOO = "zoo-clip"
#: Every open_clip row (SigLIP, CoCa, EVA, CLIPA, NLLB/RoBERTa towers, MetaCLIP, DFN, ...) except
#: near-chance rows (:data:`NEAR_CHANCE`).
MODEL_SET_ALL = "all-open-clip"
#: Every open_clip row, near-chance ones included (the table as published).
MODEL_SET_ALL_RAW = "all-open-clip+near-chance"
#: The testbed's own evaluation of OpenAI RN50 and ViT-B/32: the baseline's pipeline on every
#: shift (ObjectNet mapped logits + crop) and class-subset accuracies -- 2 models.
MODEL_SET_TESTBED = "testbed-clip"
MODEL_SETS: tuple[str, ...] = (MODEL_SET_ZOO, MODEL_SET_ALL, MODEL_SET_ALL_RAW, MODEL_SET_TESTBED)

#: Rows below this ImageNet top-1 are near chance for ER (DataComp's small/medium filtering probes,
#: a COCO fine-tune at 0.8 %): their ER is compressed towards 0 by the logit line's curvature.
NEAR_CHANCE = 0.30

#: Images per class in ImageNet val (class-subset ID sets: 50 x number of classes).
IMAGENET_VAL_PER_CLASS = 50


def _test_set_sizes() -> dict[str, int]:
    """Images per test set (``cliprobust.datasets``), for binomial image-sampling error. The
    class-subset ID sets are ImageNet val restricted to the shift's classes (200 for R/A; the
    ImageNet classes mapped to ObjectNet's 113)."""
    sizes = {name: spec.expected_counts[0] for name, spec in datasets.DATASETS.items()}
    on_classes = sum(len(v) for v in labels.objectnet_to_imagenet().values())
    sizes["imagenet-r-classes"] = IMAGENET_VAL_PER_CLASS * datasets.DATASETS["imagenet-r"].num_folders
    sizes["imagenet-a-classes"] = IMAGENET_VAL_PER_CLASS * datasets.DATASETS["imagenet-a"].num_folders
    sizes["objectnet-classes"] = IMAGENET_VAL_PER_CLASS * on_classes
    return sizes


@dataclass(frozen=True)
class Protocol:
    """The frame-level protocol choices (hashable: frames and draws are cached per protocol)."""

    baseline: str = BASELINE
    x_axis: str = X_FULL
    dedup: str = DEDUP_TWINS
    objectnet: str = OBJECTNET_KEEP

    def __post_init__(self) -> None:
        for value, allowed in ((self.baseline, BASELINES), (self.x_axis, X_AXES), (self.dedup, DEDUPS),
                               (self.objectnet, OBJECTNET_CHOICES)):
            if value not in allowed:
                raise ValueError(f"unknown protocol choice {value!r}; choose one of {allowed}")

    @classmethod
    def from_run(cls, run: Run) -> "Protocol":
        """The notebook's choices (``baseline``, ``x_axis``, ``dedup``, ``objectnet`` options)."""
        return cls(run.option("baseline", BASELINE), run.option("x_axis", X_FULL),
                   run.option("dedup", DEDUP_TWINS), run.option("objectnet", OBJECTNET_KEEP))

    def but(self, **changes: str) -> "Protocol":
        """The same protocol with some choices replaced (how a variant is built)."""
        return replace(self, **changes)

    @property
    def shifts(self) -> tuple[str, ...]:
        """Shifts under this protocol (timm has no ObjectNet; ``objectnet='drop'`` removes it)."""
        out = FT_SHIFTS if self.baseline == BASELINE_TIMM else SHIFTS
        return tuple(s for s in out if not (s == "objectnet" and self.objectnet == OBJECTNET_DROP))

    @property
    def shift_id(self) -> dict[str, str]:
        """ID column of each shift (full ImageNet or the class subset)."""
        ids = SHIFT_ID_SUBSET if self.x_axis == X_SUBSET else SHIFT_ID
        return {s: ids[s] for s in self.shifts}


# --------------------------------------------------------------------------- C12 pairing rule

#: Ordered (regex on a timm CLIP-FT name, open_clip id of the zero-shot weights it was fine-tuned
#: from); first match wins. ViT: the CLIP source in the tag (``openai``/``laion2b``) with the
#: architecture's 224-px tower, whatever the fine-tune resolution; timm's pre-1.0 pretrained cfgs
#: pointed its ``*.laion2b`` towers at laion/CLIP-ViT-B-32-laion2B-s34B-b79K, -B-16-...-s34B-b88K,
#: -L-14-...-s32B-b82K, -H-14-...-s32B-b79K. ConvNeXt: timm's ``convnext_base`` /
#: ``convnext_large_mlp`` towers are open_clip's ``convnext_base_w`` / ``convnext_large_d``; the
#: tag's qualifiers pick the run (``augreg``; ``laiona_augreg`` exists only as the 320-px tower;
#: ``soup`` = ``convnext_large_d_320`` ft-soup; xxlarge ``soup`` = ``augreg_soup``).
FT_PAIRING_RULES: tuple[tuple[str, str], ...] = (
    (r"vit_base_patch32_clip_\d+\.openai_ft_", "ViT-B-32/openai"),
    (r"vit_base_patch16_clip_\d+\.openai_ft_", "ViT-B-16/openai"),
    (r"vit_large_patch14_clip_\d+\.openai_ft_", "ViT-L-14/openai"),
    (r"vit_base_patch32_clip_\d+\.laion2b_ft_", "ViT-B-32/laion2b_s34b_b79k"),
    (r"vit_base_patch16_clip_\d+\.laion2b_ft_", "ViT-B-16/laion2b_s34b_b88k"),
    (r"vit_large_patch14_clip_\d+\.laion2b_ft_", "ViT-L-14/laion2b_s32b_b82k"),
    (r"vit_huge_patch14_clip_\d+\.laion2b_ft_", "ViT-H-14/laion2b_s32b_b79k"),
    (r"convnext_base\.clip_laion2b_augreg_ft_", "convnext_base_w/laion2b_s13b_b82k_augreg"),
    (r"convnext_base\.clip_laiona_augreg_ft_", "convnext_base_w_320/laion_aesthetic_s13b_b82k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_augreg_ft_", "convnext_large_d/laion2b_s26b_b102k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_soup_ft_", "convnext_large_d_320/laion2b_s29b_b131k_ft_soup"),
    (r"convnext_xxlarge\.clip_laion2b_soup_ft_", "convnext_xxlarge/laion2b_s34b_b82k_augreg_soup"),
)
#: Pairing variant: the one OpenAI fine-tune at 336 px whose zero-shot weights also exist as a
#: 336-px tower (``ViT-L-14-336/openai``); timm's cfg for it names the 336-px OpenAI checkpoint.
FT_PAIRING_336: tuple[tuple[str, str], ...] = (
    (r"vit_large_patch14_clip_336\.openai_ft_", "ViT-L-14-336/openai"),
)
PAIRING_224 = "224-tower"
PAIRING_336 = "336-tower"
PAIRINGS: tuple[str, ...] = (PAIRING_224, PAIRING_336)


def zeroshot_counterpart(timm_name: str, pairing: str = PAIRING_224) -> str | None:
    """open_clip id of the zero-shot CLIP weights a timm CLIP-FT model was fine-tuned from.

    ``vit_base_patch16_clip_224.openai_ft_in1k`` -> ``open_clip:ViT-B-16/openai``; rules in
    :data:`FT_PAIRING_RULES` (``timm:`` prefix accepted), preceded by :data:`FT_PAIRING_336` when
    ``pairing='336-tower'``; None for names no rule covers (EVA ``clip_ft_in1k``, SigLIP).
    """
    name = timm_name.removeprefix("timm:")
    rules = (FT_PAIRING_336 if pairing == PAIRING_336 else ()) + FT_PAIRING_RULES
    for pattern, target in rules:
        if re.match(pattern, name):
            return f"open_clip:{target}"
    return None


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
    """Model ids of a named baseline set (:data:`BASELINES`)."""
    if baseline == BASELINE_TESTBED:
        return published.testbed_baseline_models()
    mt = _model_table(dedup)
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
def _imagenet_top1() -> pd.Series:
    """Full-ImageNet top-1 per model of either de-duplication (the near-chance rule reads it
    whatever the x-axis)."""
    mt = _model_table(DEDUP_TWINS)
    return pd.concat([mt, _model_table(DEDUP_PLAIN)]).drop_duplicates("model").set_index("model")[ID_TEST_SET]


# --------------------------------------------------------------------------- ER frame

def _frame_models(protocol: Protocol) -> pd.DataFrame:
    """Rows of the model table an ER frame covers: every model under the default protocol (other
    sections read the ER of timm ImageNet models from it) and under the timm baseline; the variant
    protocols leave out the 859 timm ImageNet-1k models, a population no claim reads whose bootstrap
    intervals would triple the cost of every variant (:func:`baseline_comparison` reads them under
    each line explicitly)."""
    mt = _model_table(protocol.dedup)
    if protocol == Protocol() or protocol.baseline == BASELINE_TIMM:
        return mt
    return mt[~((mt["source"] == "timm") & (mt["group"] == "imagenet"))]


ER_FRAME_COLUMNS = META_COLUMNS + ["in_baseline", "baseline", "shift", "id_acc", "ood_acc", "predicted",
                                   "er", "ci_low", "ci_high"]


@lru_cache(maxsize=16)
def _er_frame(protocol: Protocol) -> pd.DataFrame:
    mt = _frame_models(protocol)
    acc = mt.set_index("model")[ACC_COLUMNS]
    base = baseline_models(protocol.baseline, protocol.dedup)
    parts = [robustness.er_table(acc, protocol.shift_id, base)]
    parts.append(robustness.er_of_mean_accuracy(acc, protocol.shifts, ID_TEST_SET, base))
    mean4 = robustness.er_of_mean_accuracy(acc, FT_SHIFTS, ID_TEST_SET, base)
    parts.append(mean4.assign(shift=MEAN_SHIFT_4))
    er = pd.concat(parts, ignore_index=True).merge(mt[META_COLUMNS], on="model", how="left")
    er["in_baseline"] = er["model"].isin(base)
    er["baseline"] = protocol.baseline
    return er[ER_FRAME_COLUMNS]


def er_frame(protocol: Protocol | str = Protocol()) -> pd.DataFrame:
    """Tidy ER rows, one per (model, shift) incl. :data:`MEAN_SHIFT` (mean over the protocol's
    shifts, always against full ImageNet) and :data:`MEAN_SHIFT_4`.

    Columns :data:`ER_FRAME_COLUMNS`: metadata, ``in_baseline``, ``baseline`` (set name),
    ``id_acc`` (the protocol's x-axis), ``ood_acc``, ``predicted`` (the line), ``er`` =
    ood_acc − predicted, ``ci_low``/``ci_high`` (95 % CI from resampling baseline models only;
    :func:`er_draws` adds image-sampling error). A baseline name is accepted for ``protocol``.
    """
    if isinstance(protocol, str):
        protocol = Protocol(baseline=protocol)
    return _er_frame(protocol).copy()


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


# --------------------------------------------------------------------------- bootstrap draws

def _accuracy_draws(acc: pd.DataFrame, image_noise: bool) -> dict[str, np.ndarray]:
    """(N_BOOT, models) draws of every accuracy column: binomial image-sampling draws
    (``stats.binomial_draws``, one seed per column so columns are independent) or the point values."""
    sizes = _test_set_sizes()
    out = {}
    for i, col in enumerate(acc.columns):
        p = acc[col].to_numpy(float)
        if image_noise:
            d = stats.binomial_draws(np.nan_to_num(p), sizes[col], seed=stats.SEED + 1 + i)
            d[:, np.isnan(p)] = np.nan
        else:
            d = np.broadcast_to(p, (stats.N_BOOT, p.size))
        out[col] = d
    return out


def _shift_er_draws(x: np.ndarray, y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """ER draws of every model under lines fitted, draw by draw, to resampled baseline models.

    ``x``, ``y``: (N_BOOT, models) accuracy draws; ``base``: column positions of the baseline
    models (non-degenerate, both accuracies present). Row b of ``stats.resample_indices`` picks the
    baseline models of draw b (the same rows ``robustness.bootstrap_lines`` draws, so without image
    noise the per-model intervals equal :func:`er_frame`'s).
    """
    idx = base[stats.resample_indices(base.size)]
    bx, by = np.take_along_axis(x, idx, axis=1), np.take_along_axis(y, idx, axis=1)
    slope, icpt = robustness.ols_rows(robustness.LOGIT(bx), robustness.LOGIT(by))
    pred = robustness.LOGIT.inverse(slope[:, None] * robustness.LOGIT(x) + icpt[:, None])
    return y - pred


def _base_positions(frame_rows: pd.DataFrame, models: pd.Index) -> np.ndarray:
    """Positions in ``models`` of the non-degenerate baseline rows of one shift (``DROP_DEGENERATE``)."""
    b = frame_rows[frame_rows["in_baseline"]]
    keep = (b["id_acc"] > 0) & (b["id_acc"] < 1) & (b["ood_acc"] > 0) & (b["ood_acc"] < 1)
    return models.get_indexer(b.loc[keep, "model"])


@lru_cache(maxsize=4)
def _model_accuracy_draws(dedup: str, image_noise: bool) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Accuracy draws of every model of the table (shared by all protocols of one ``dedup``)."""
    mt = _model_table(dedup).set_index("model")
    return mt.index, _accuracy_draws(mt[ACC_COLUMNS], image_noise)


@lru_cache(maxsize=8)
def _all_draws(protocol: Protocol, image_noise: bool) -> dict[str, pd.DataFrame]:
    frame = _er_frame(protocol)
    models, acc = _model_accuracy_draws(protocol.dedup, image_noise)
    out = {}
    ys = {MEAN_SHIFT: np.mean([acc[s] for s in protocol.shifts], axis=0),
          MEAN_SHIFT_4: np.mean([acc[s] for s in FT_SHIFTS], axis=0)}
    xs = {**protocol.shift_id, MEAN_SHIFT: ID_TEST_SET, MEAN_SHIFT_4: ID_TEST_SET}
    for shift, xcol in xs.items():
        rows = frame[frame["shift"] == shift]
        have = models.get_indexer(rows["model"])
        y = ys.get(shift, acc.get(shift))
        d = _shift_er_draws(acc[xcol], y, _base_positions(rows, models))
        out[shift] = pd.DataFrame(d[:, have], columns=rows["model"].to_numpy())
    return out


def er_draws(protocol: Protocol = Protocol(), shift: str = MEAN_SHIFT, image_noise: bool = True) -> pd.DataFrame:
    """(N_BOOT, models) ER draws of every model with ``shift`` under ``protocol``: baseline models
    resampled (the line's uncertainty) and, with ``image_noise``, every accuracy -- baseline's and
    model's, ID and OOD -- redrawn from its binomial image-sampling distribution."""
    return _all_draws(protocol, image_noise)[shift]


def group_interval(draws: pd.DataFrame, members: Sequence[str], point: pd.Series) -> stats.Interval:
    """Mean ER of ``members`` with a percentile interval whose draw b pairs ER draw b (line and
    image noise) with resample b of the members (which models happen to be in the group)."""
    d = draws[list(members)].to_numpy()
    means = np.take_along_axis(d, stats.resample_indices(d.shape[1]), axis=1).mean(axis=1)
    low, high = stats.percentile_interval(means)
    return stats.Interval(float(point[list(members)].mean()), float(low), float(high))


def group_summary(protocol: Protocol = Protocol(), image_noise: bool = True) -> pd.DataFrame:
    """Per (group, source, shift): ``n``, ``er_mean`` with its 95 % interval (``ci_low``,
    ``ci_high``: baseline models, group members and, with ``image_noise``, binomial image
    sampling), ``er_median``, ``er_std``; plus :data:`MEAN_OF_SHIFT_ER` for models with every shift."""
    frame = _er_frame(protocol)
    rows = []
    for shift in [s for s in ER_SHIFTS if s in set(frame["shift"])]:
        sub = frame[frame["shift"] == shift]
        rows += _summary_rows(sub, er_draws(protocol, shift, image_noise), shift)
    per_shift = [er_draws(protocol, s, image_noise) for s in protocol.shifts]
    common = sorted(set.intersection(*(set(d.columns) for d in per_shift)))
    mean_draws = sum(d[common] for d in per_shift) / len(per_shift)
    sub = frame[frame["shift"].isin(protocol.shifts) & frame["model"].isin(common)]
    point = sub.groupby("model")["er"].mean()
    meta = frame.drop_duplicates("model").set_index("model").loc[point.index, ["group", "source"]]
    rows += _summary_rows(meta.assign(er=point).reset_index(), mean_draws, MEAN_OF_SHIFT_ER)
    return pd.DataFrame(rows)


def _summary_rows(sub: pd.DataFrame, draws: pd.DataFrame, shift: str) -> list[dict]:
    point = sub.set_index("model")["er"]
    rows = []
    for (group, source), members in sub.groupby(["group", "source"], sort=True):
        iv = group_interval(draws, members["model"], point)
        er = point[members["model"]]
        rows.append({"group": group, "source": source, "shift": shift, "n": len(er), "er_mean": iv.value,
                     "ci_low": iv.low, "ci_high": iv.high, "er_median": float(er.median()),
                     "er_std": float(er.std(ddof=1)) if len(er) > 1 else float("nan")})
    return rows


def baseline_comparison() -> pd.DataFrame:
    """Group mean ER on :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4` under every baseline set, every
    model of the table (timm ImageNet-1k included; point values only, so the fits skip the
    bootstrap), wide: (group, source, shift) x ``n_<baseline>``, ``er_<baseline>``."""
    parts = []
    for name in BASELINES:
        mt = _model_table(DEDUP_TWINS).set_index("model")
        acc = mt[ACC_COLUMNS]
        base = baseline_models(name)
        f = pd.concat([robustness.er_table(acc, {s: SHIFT_ID[s] for s in FT_SHIFTS}, base, n_boot=2),
                       robustness.er_of_mean_accuracy(acc, FT_SHIFTS, ID_TEST_SET, base, n_boot=2)
                       .assign(shift=MEAN_SHIFT_4)])
        f = f.join(mt[["group", "source"]], on="model")
        g = f.groupby(["group", "source", "shift"])["er"].agg(["size", "mean"])
        parts.append(g.rename(columns={"size": f"n_{name}", "mean": f"er_{name}"}))
    out = parts[0]
    for p in parts[1:]:
        out = out.join(p, how="inner")
    return out.reset_index()


# --------------------------------------------------------------------------- fine-tuning pairs (C12)

def finetune_pairs(frame: pd.DataFrame | None = None, pairing: str = PAIRING_224) -> pd.DataFrame:
    """CLIP-FT models joined to their zero-shot weights (:func:`zeroshot_counterpart`), long over
    :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4`: ``ft_model, zs_model, pretrain_data, finetune_data,
    shift, id_zs, id_ft, er_zs, er_ft, delta`` (= er_ft − er_zs). Unpaired fine-tunes are left out."""
    frame = er_frame() if frame is None else frame
    shifts = FT_SHIFTS + (MEAN_SHIFT_4,)
    sub = frame[frame["shift"].isin(shifts)].set_index(["model", "shift"])
    ft = frame.loc[(frame["group"] == "clip-ft") & frame["shift"].isin(shifts)].copy()
    ft["zs_model"] = ft["model"].map(lambda m: zeroshot_counterpart(m, pairing))
    ft = ft[pd.Index(list(zip(ft["zs_model"], ft["shift"]))).isin(sub.index)]
    zs = sub.loc[list(zip(ft["zs_model"], ft["shift"])), ["id_acc", "er"]].to_numpy()
    out = pd.DataFrame({"ft_model": ft["model"].to_numpy(), "zs_model": ft["zs_model"].to_numpy(),
                        "pretrain_data": ft["pretrain_data"].to_numpy(),
                        "finetune_data": ft["finetune_data"].to_numpy(), "shift": ft["shift"].to_numpy(),
                        "id_zs": zs[:, 0].astype(float), "id_ft": ft["id_acc"].to_numpy(),
                        "er_zs": zs[:, 1].astype(float), "er_ft": ft["er"].to_numpy()})
    out["delta"] = out["er_ft"] - out["er_zs"]
    return out.sort_values(["shift", "ft_model"]).reset_index(drop=True)


# --------------------------------------------------------------------------- data-source study (C11)

#: Data-source study set: open_clip models with a standard CLIP architecture and loss
#: (``zoo_rules.CLIP_ARCH``: drops SigLIP, CoCa, EVA, NLLB/RoBERTa text towers, so that sources differ
#: in data) and >= 1B samples seen where the tag states it (``zoo_rules.MIN_SAMPLES_SEEN``).
DATA_STUDY_ARCH = zoo_rules.CLIP_ARCH
DATA_STUDY_MIN_SAMPLES = zoo_rules.MIN_SAMPLES_SEEN
#: Sources need at least this many models to enter a within- or between-source spread.
MIN_MODELS_PER_SOURCE = 2
#: Model size order of the scaling-laws architectures (Cherti et al. 2023), smallest first.
SCALING_SIZE_ORDER: tuple[str, ...] = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14")


def data_study_set(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """ER rows of the data-source study: open_clip models passing :data:`DATA_STUDY_ARCH` and
    :data:`DATA_STUDY_MIN_SAMPLES` (NaN samples = not stated = kept), plus the 29 LAION
    scaling-laws checkpoints (the 3 OpenAI scaling rows repeat open_clip's)."""
    frame = er_frame() if frame is None else frame
    rows = frame[frame["shift"] == shift]
    oc = rows[(rows["source"] == "open_clip") & rows["arch"].map(lambda a: bool(DATA_STUDY_ARCH.match(a)))
              & ~(rows["samples_seen"] < DATA_STUDY_MIN_SAMPLES)]
    sl = rows[(rows["source"] == "scaling") & (rows["pretrain_data"] != "WIT-400M")]
    return pd.concat([oc, sl], ignore_index=True)


def data_source_summary(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Per (source table, pretrain_data) of :func:`data_study_set`: n, mean/std/min/max/range of ER."""
    study = data_study_set(frame, shift)
    g = study.groupby(["source", "pretrain_data"])["er"]
    out = g.agg(n="size", er_mean="mean", er_std="std", er_min="min", er_max="max").reset_index()
    out["er_range"] = out["er_max"] - out["er_min"]
    return out.sort_values("er_mean", ascending=False).reset_index(drop=True)


def _sources_with_min(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows.groupby("pretrain_data")["er"].transform("size") >= MIN_MODELS_PER_SOURCE]


def source_spread(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT,
                  drop_sources: Sequence[str] = ()) -> dict[str, float]:
    """Within- vs between-source spread of ER (sources with >= :data:`MIN_MODELS_PER_SOURCE` models,
    ``drop_sources`` left out): ``within_sd_scaling`` (pooled within-source SD over the LAION
    scaling-laws sources, ``stats.pooled_within_sd``), ``within_sd_open_clip``, ``between_sd`` /
    ``between_range`` (SD / range of open_clip source means) and ``eta2_open_clip`` (share of
    open_clip ER variance between sources)."""
    study = data_study_set(frame, shift)
    study = study[~study["pretrain_data"].isin(drop_sources)]
    sl = _sources_with_min(study[study["source"] == "scaling"])
    oc = _sources_with_min(study[study["source"] == "open_clip"])
    means = oc.groupby("pretrain_data")["er"].mean()
    ss_total = float(((oc["er"] - oc["er"].mean()) ** 2).sum())
    within = stats.pooled_within_sd(oc["er"].to_numpy(), oc["pretrain_data"].to_numpy())
    ss_within = within ** 2 * (len(oc) - oc["pretrain_data"].nunique())
    return {"within_sd_scaling": stats.pooled_within_sd(sl["er"].to_numpy(), sl["pretrain_data"].to_numpy()),
            "n_sources_scaling": int(sl["pretrain_data"].nunique()), "n_models_scaling": len(sl),
            "within_sd_open_clip": within, "n_sources_open_clip": int(oc["pretrain_data"].nunique()),
            "n_models_open_clip": len(oc), "between_sd": float(means.std(ddof=1)),
            "between_range": float(means.max() - means.min()), "eta2_open_clip": 1 - ss_within / ss_total}


def _line_row(rows: pd.DataFrame, label: str) -> dict:
    """A logit line fitted over ``rows`` (``robustness.fit_baseline``) and its residual SD."""
    fit = robustness.fit_baseline(rows["id_acc"], rows["ood_acc"])
    resid = np.asarray(robustness.transformed_residual(rows["id_acc"], rows["ood_acc"], fit))
    return {"pretrain_data": label, "n": len(rows), "slope": fit.slope, "intercept": fit.intercept,
            "r": fit.r, "resid_sd": float(np.std(resid, ddof=2)), "er_range": float(np.ptp(rows["er"])),
            "_resid": resid}


def source_lines(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Per LAION scaling-laws source: its OWN logit line (slope, intercept, r; ``resid_sd`` = SD of
    logit residuals, ddof 2), the ER range, and Spearman rho of model size
    (:data:`SCALING_SIZE_ORDER`) with ER (``rho_size_er``, with its interval ``rho_size_er_low`` /
    ``_high`` from ``stats.correlation_interval``), with ImageNet accuracy (``rho_size_id``) and
    with the residual from the source line (``rho_size_resid``). Last row: the baseline models."""
    frame = er_frame() if frame is None else frame
    study = data_study_set(frame, shift)
    sl = study[study["source"] == "scaling"]
    size = sl["arch"].map({a: i for i, a in enumerate(SCALING_SIZE_ORDER)}).astype(float)
    rows = []
    for data, g in sl.groupby("pretrain_data"):
        row = _line_row(g, data)
        resid = row.pop("_resid")
        er = stats.correlation_interval(size[g.index].to_numpy(), g["er"].to_numpy(float))
        rho = {k: float(spearmanr(size[g.index], v).statistic) for k, v in (("id", g["id_acc"]), ("resid", resid))}
        rows.append(row | {"rho_size_er": er.value, "rho_size_er_low": er.low, "rho_size_er_high": er.high}
                    | {f"rho_size_{k}": v for k, v in rho.items()})
    base = _line_row(frame[(frame["shift"] == shift) & frame["in_baseline"]], "baseline")
    base.pop("_resid")
    return pd.DataFrame(rows + [base])
