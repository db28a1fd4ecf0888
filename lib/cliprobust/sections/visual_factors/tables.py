"""Notebook 02, published tables: ImageNet-X factor accuracies, the CLIP rows, baseline sets, re-aggregation.

Inputs, all real: ImageNet-X published per-factor accuracies of the ``imagenet_testbed`` group
(335 models, incl. zero-shot CLIP ViT-B/32 and RN50) and of the ``modelvshuman`` group (54 models,
incl. a second, independent evaluation of the same OpenAI ViT-B/32 and RN50 weights; ids
``imagenetx-mvh:<name>``); the ImageNet-val top-1 decisions of CLIP ViT-B/16 from the kayburns
model-vs-human fork, re-aggregated with the ImageNet-X annotations into a third CLIP row
(``mvh:clip``); the 4 ImageNet-X base-model prediction files (a consistency check).
Tables: ``docs/tables.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import pandas as pd

from ... import published, zoo
from ...metrics import factors as F

#: The 10 factors of Tu et al. §4.1 (:data:`cliprobust.metrics.factors.PAPER_FACTORS`).
PAPER_FACTORS: tuple[str, ...] = F.PAPER_FACTORS
#: ImageNet-X result groups: the testbed group (both zero-shot CLIP rows, all testbed models) and
#: the model-vs-human group (a second evaluation of the same CLIP weights).
IMAGENETX_GROUP = "imagenet_testbed"
MVH_GROUP = "modelvshuman"
#: Id prefix of the modelvshuman-group rows (their names overlap with testbed names).
MVH_PREFIX = "imagenetx-mvh:"
#: ViT-B/16 row re-aggregated from per-image decisions (kayburns fork: OpenAI ViT-B/16).
MVH_CLIP = "mvh:clip"


@dataclass(frozen=True)
class ClipRow:
    """One published evaluation of a zero-shot CLIP model on ImageNet-X."""

    key: str
    model: str
    label: str
    evaluation: str


#: Every zero-shot CLIP row, by the key the ``clip_model`` option takes.
CLIP_ROWS: dict[str, ClipRow] = {r.key: r for r in (
    ClipRow("vit-b-32", "imagenetx:vit_b_32_clip_zeroshot", "CLIP ViT-B/32", "imagenet-testbed"),
    ClipRow("rn50", "imagenetx:resnet50_clip_zeroshot", "CLIP RN50", "imagenet-testbed"),
    ClipRow("vit-b-16", MVH_CLIP, "CLIP ViT-B/16", "model-vs-human per-image decisions"),
    ClipRow("vit-b-32-mvh", MVH_PREFIX + "clip", "CLIP ViT-B/32 (mvh eval)", "model-vs-human"),
    ClipRow("rn50-mvh", MVH_PREFIX + "clipRN50", "CLIP RN50 (mvh eval)", "model-vs-human"),
)}
#: The two published evaluations of the same OpenAI weights (testbed row, model-vs-human row).
SAME_WEIGHTS: tuple[tuple[str, str], ...] = (("vit-b-32", "vit-b-32-mvh"), ("rn50", "rn50-mvh"))
#: The three distinct CLIP weights with an ImageNet-X row: C1's population (the paper's claim is
#: about CLIP models as a group; these are every zero-shot CLIP the published data cover).
CLIP_GROUP: tuple[str, ...] = ("vit-b-32", "rn50", "vit-b-16")
#: The ``clip_model`` option's key for the group (the mean factor ER of :data:`CLIP_GROUP`).
ALL_CLIPS = "all"

#: Baseline sets of the factor lines, by the key the ``baseline`` option takes: imagenet-testbed
#: model types (Taori et al. 2020; the ablation rows of :data:`published.TESTBED_EXCLUDE` dropped as
#: in the testbed's line fit), or the ImageNet models of ImageNet-X's modelvshuman group.
#: Tu et al. used their own 127 ImageNet models, which are not published; STANDARD is the
#: testbed's own line (docs/protocols.md, effective robustness).
BASELINES: dict[str, str] = {
    "testbed-standard": "STANDARD", "testbed-more-data": "MORE_DATA", "testbed-robust-intv": "ROBUST_INTV",
    "testbed-lp-adv": "LP_ADV", "testbed-low-accuracy-cnn": "LOW_ACCURACY_CNN",
    "imagenetx-modelvshuman": MVH_GROUP,
}
#: modelvshuman-group rows left out of that baseline: near-chance rows (average < 1 %, broken
#: evaluations) and ResNet-50s trained on CLIP's labels (CLIP-distilled, not ImageNet-only).
MVH_BASELINE_MIN_ACC = 0.01
MVH_BASELINE_EXCLUDE: tuple[str, ...] = ("resnet50_clip_hard_labels", "resnet50_clip_soft_labels")

#: The testbed's own line (docs/protocols.md, effective robustness): the default baseline set.
DEFAULT_BASELINE = "testbed-standard"

#: Testbed groups drawn in the per-factor scatter, in legend order (the rest: ``other``).
SCATTER_GROUPS: tuple[str, ...] = ("STANDARD", "MORE_DATA", "ROBUST_INTV", "LP_ADV", "LOW_ACCURACY_CNN")


# --------------------------------------------------------------------------- published tables


def published_factor_table(group: str = IMAGENETX_GROUP) -> pd.DataFrame:
    """Models (``imagenetx:<name>``) × (16 factors, ``worst_factor``, ``average``), fractions."""
    long = published.imagenetx_factor_accuracies(group)
    wide = long.pivot(index="model", columns="factor", values="accuracy")[list(F.FACTORS)]
    summary = long.drop_duplicates("model").set_index("model")[[F.WORST, F.AVERAGE]]
    return wide.join(summary).rename_axis(index="model", columns=None)


def mvh_group_table() -> pd.DataFrame:
    """The modelvshuman-group table with ids ``imagenetx-mvh:<name>``."""
    tab = published_factor_table(MVH_GROUP)
    return tab.rename(index=lambda m: MVH_PREFIX + m.split(":", 1)[1])


@lru_cache(maxsize=1)
def _testbed_families() -> pd.Series:
    long = published.imagenetx_factor_accuracies(IMAGENETX_GROUP)
    return long.drop_duplicates("model").set_index("model")["family"]


def families(group: str = IMAGENETX_GROUP) -> pd.Series:
    """Model id -> family (testbed type, ``clip-zeroshot`` for the CLIP rows)."""
    if group == IMAGENETX_GROUP:
        return _testbed_families().copy()
    long = published.imagenetx_factor_accuracies(group)
    return long.drop_duplicates("model").set_index("model")["family"]


def model_families(models: pd.Series) -> pd.Series:
    """Family of each id: testbed rows their testbed type, CLIP rows ``clip-zeroshot``, modelvshuman
    rows ``imagenetx-modelvshuman``, zoo ids their zoo group."""
    fam = _testbed_families()
    clip = {r.model for r in CLIP_ROWS.values()}

    def one(m: str) -> str:
        if m in clip:
            return "clip-zeroshot"
        if m in fam.index:
            return fam[m]
        if m.startswith(MVH_PREFIX):
            return "imagenetx-modelvshuman"
        return zoo.get(m).group if m in zoo.REGISTRY else "other"
    return models.map(one)


def baseline_ids(table: pd.DataFrame, baseline: str = DEFAULT_BASELINE) -> list[str]:
    """Ids of the ``baseline`` set (a key of :data:`BASELINES`); every one must be a row of ``table``."""
    if baseline not in BASELINES:
        raise ValueError(f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
    if baseline == "imagenetx-modelvshuman":
        tab = mvh_group_table()
        clip = {r.model for r in CLIP_ROWS.values()}
        keep = (tab[F.AVERAGE] >= MVH_BASELINE_MIN_ACC) & ~tab.index.isin(clip)
        keep &= ~tab.index.isin([MVH_PREFIX + n for n in MVH_BASELINE_EXCLUDE])
        ids = list(tab.index[keep])
    else:
        types = published.testbed_model_types().set_index("model")["type"]
        relabel = types.where(types == BASELINES[baseline], "other").replace(BASELINES[baseline],
                                                                              published.TESTBED_BASELINE_TYPE)
        mask = published.testbed_baseline(relabel)  # the testbed's line rule applied to this type
        ids = ["imagenetx:" + m for m in mask.index[mask]]
        if baseline != DEFAULT_BASELINE:  # non-STANDARD types: the rows ImageNet-X evaluated
            ids = [m for m in ids if m in table.index]
    missing = sorted(set(ids) - set(table.index))
    if missing:
        raise ValueError(f"{len(missing)} {baseline} baseline models lack ImageNet-X rows, e.g. {missing[:3]}")
    return ids


def factor_counts(annotations: pd.DataFrame, factors: Sequence[str] = F.PAPER_FACTORS) -> pd.Series:
    """Images per factor in the annotation table (denominator of each factor accuracy)."""
    return annotations[list(factors)].sum().astype(int).rename("n_images")


def annotations_by_file() -> pd.DataFrame:
    """ImageNet-X top-factor val annotations (prototypes dropped, as the published tables), by file name."""
    return published.imagenetx_annotations("top").set_index("file_name")


# --------------------------------------------------------------------------- re-aggregation


def _factor_table(predictions: Mapping[str, pd.Series], annotations: pd.DataFrame) -> pd.DataFrame:
    correct = F.correctness_table(predictions, annotations["label"])
    return F.factor_accuracies(correct, annotations[list(F.FACTORS)])


def mvh_clip_correct(annotations: pd.DataFrame) -> pd.Series:
    """Per-image correctness of CLIP ViT-B/16 (kayburns decisions) on the annotated images."""
    dec = published.imagenet_val_decisions("clip").set_index("file_name")["response_index"]
    return F.is_correct(dec.rename(MVH_CLIP), annotations["label"])


def mvh_clip_factor_table(annotations: pd.DataFrame) -> pd.DataFrame:
    """One-row factor table of CLIP ViT-B/16 from its kayburns ImageNet-val decisions."""
    return F.factor_accuracies(mvh_clip_correct(annotations).to_frame(), annotations[list(F.FACTORS)])


def base_consistency(annotations: pd.DataFrame) -> pd.DataFrame:
    """Re-aggregate the 4 shipped ImageNet-X prediction files and compare with the published ``base``
    table: per model, max |ours − published| over 16 factors + worst_factor + average."""
    preds = {f"imagenetx:{n}": published.imagenetx_predictions(n).set_index("file_name")["predicted_class"]
             for n in published.IMAGENETX_PREDICTION_MODELS}
    ours = _factor_table(preds, annotations)
    pub = published_factor_table("base").loc[ours.index, ours.columns]
    out = pd.DataFrame({"average": ours[F.AVERAGE], "max_abs_diff": (ours - pub).abs().max(axis=1)})
    return out.rename_axis("model").reset_index()


def factor_table(annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Testbed table + the ViT-B/16 row + the modelvshuman group (ids ``imagenetx-mvh:``)."""
    ann = annotations_by_file() if annotations is None else annotations
    return pd.concat([published_factor_table(), mvh_clip_factor_table(ann), mvh_group_table()])

