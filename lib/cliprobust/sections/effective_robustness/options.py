"""The protocol options of notebook 01 (effective robustness) and the constants they choose from.

:class:`Options` is the section's protocol (the notebook's ``parameters`` cell): which baseline line,
which x-axis, which de-duplication of QuickGELU rows, ObjectNet in or out (the *frame-level*
choices: every table and bootstrap draw is cached per :meth:`Options.frame_options`), which CLIP
rows a claim counts and how the C12 fine-tunes are paired. Protocol choices and their sources:
``docs/protocols.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Mapping

from ... import published
from ...metrics import robustness
from ...runs import Options as BaseOptions

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
#: timm models trained on ImageNet-1k only with plain supervised training (``tables.timm_in1k_rule``),
#: at their default resolution: another evaluation pipeline, ~10x more models, 4 shifts.
BASELINE_TIMM = "timm-in1k"
BASELINES: tuple[str, ...] = (BASELINE_TESTBED, BASELINE_MORE_DATA, BASELINE_TIMM)
#: A claims variant, not a baseline set of its own: the STANDARD models whose ImageNet top-1 lies
#: inside the zoo CLIPs' range (``tables.clip_accuracy_range``), so no CLIP is judged against a line
#: extrapolated beyond the ImageNet models it was fitted on at the top end.
BASELINE_CLIP_RANGE = "testbed-clip-range"
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

#: Axes of the baseline line. Headline: logit (Taori et al. 2020; Fang et al. 2022); probit is the
#: alternative of Miller et al. 2021 ("accuracy on the line"), equally linear on these data.
AXES_LOGIT = "logit"
AXES_PROBIT = "probit"
AXES: tuple[str, ...] = (AXES_LOGIT, AXES_PROBIT)
TRANSFORMS: dict[str, robustness.Transform] = {AXES_LOGIT: robustness.LOGIT, AXES_PROBIT: robustness.PROBIT}

#: C12 pairing of the one OpenAI fine-tune at 336 px: with the 224-px zero-shot tower of the same
#: architecture (headline, like every other fine-tune) or with the 336-px OpenAI tower.
PAIRING_224 = "224-tower"
PAIRING_336 = "336-tower"
PAIRINGS: tuple[str, ...] = (PAIRING_224, PAIRING_336)


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol of notebook 01 (hashable: frames and draws are cached per frame-level options)."""

    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = {
        "baseline": BASELINES + (BASELINE_CLIP_RANGE,), "x_axis": X_AXES, "model_set": MODEL_SETS, "dedup": DEDUPS,
        "objectnet": OBJECTNET_CHOICES, "ft_pairing": PAIRINGS, "axes": AXES}

    #: Which ImageNet models form the baseline line (:data:`BASELINES`).
    baseline: str = BASELINE
    #: ImageNet accuracy on the x-axis: full val or the shift's class subset (:data:`X_AXES`).
    x_axis: str = X_FULL
    #: Which CLIP rows a claim counts (:data:`MODEL_SETS`).
    model_set: str = MODEL_SET_ZOO
    #: Which row of a QuickGELU-trained open_clip weight set is kept (:data:`DEDUPS`).
    dedup: str = DEDUP_TWINS
    #: ObjectNet kept or dropped (CLIP and baseline rows use different protocols; :data:`OBJECTNET_CHOICES`).
    objectnet: str = OBJECTNET_KEEP
    #: C12 pairing of the 336-px OpenAI ViT-L/14 fine-tune (:data:`PAIRINGS`).
    ft_pairing: str = PAIRING_224
    #: Axes on which the baseline line is straight (:data:`AXES`).
    axes: str = AXES_LOGIT

    def frame_options(self) -> "Options":
        """The options that decide ER frames and draws (the others at their defaults): the cache key."""
        return replace(self, model_set=MODEL_SET_ZOO, ft_pairing=PAIRING_224)

    @property
    def transform(self) -> robustness.Transform:
        """The axis transform of the baseline line."""
        return TRANSFORMS[self.axes]

    @property
    def shifts(self) -> tuple[str, ...]:
        """Shifts under these options (timm has no ObjectNet; ``objectnet='drop'`` removes it)."""
        out = FT_SHIFTS if self.baseline == BASELINE_TIMM else SHIFTS
        return tuple(s for s in out if not (s == "objectnet" and self.objectnet == OBJECTNET_DROP))

    @property
    def shift_id(self) -> dict[str, str]:
        """ID column of each shift (full ImageNet or the class subset)."""
        ids = SHIFT_ID_SUBSET if self.x_axis == X_SUBSET else SHIFT_ID
        return {s: ids[s] for s in self.shifts}
