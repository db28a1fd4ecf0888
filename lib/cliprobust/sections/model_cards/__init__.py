"""Section 09 -- model cards: one row per model that two or more published sources evaluate.

Each paper measures one robustness property on its own models. Joining the published tables on
the model gives, for the models they share, a card with every property side by side -- and asks
the question no paper answers: do these properties move together across models?

Properties (each from the section that already computes it; nothing is recomputed here):

- ``er:<shift>`` -- effective robustness per natural shift, on the mean accuracy of the 5 shifts
  (``er:mean-shift``) and of the 4 without ObjectNet (``er:mean-shift-4``)
  (:func:`..effective_robustness.tables.er_frame`, testbed STANDARD baseline line in logit space by default; interval
  from the ER section's draws, :func:`..effective_robustness.draws.er_draws`: baseline models resampled and every
  accuracy redrawn from its binomial image-sampling distribution). Sources: open_clip / testbed / timm.
  ObjectNet has two protocols across them (open_clip's zero-shot head without the border crop, the
  testbed's mapped logits with it; :data:`.cards.OBJECTNET_PROTOCOLS`): the rows that include it name
  theirs in ``note``, the cards carry ``objectnet_protocol``, and the correlations use
  ``er:mean-shift-4`` (every source, one protocol per shift).
- ``factor_er:mean`` -- mean factor-level ER over the 10 ImageNet-X factors of Tu et al. §4.1, with
  an interval from the visual-factors section's C1 draws (lines refitted on resampled baseline
  models × image sampling of every accuracy; :mod:`.factor_er`). Source: ImageNet-X (and
  model-vs-human's ImageNet-val decisions of CLIP ViT-B/16 aggregated on ImageNet-X's annotations).
  ``imagenetx_accuracy`` -- ImageNet-X's overall accuracy on its annotated val images, the x of the
  factor lines (the top-1 factor ER rests on).
- ``shape_bias`` -- model-vs-human cue-conflict shape bias (:func:`..shape_bias.trials.shape_bias_table`,
  CI from resampling trials).
- ``ood_auroc:cood`` -- COOD OOD AUROC with the softmax score averaged over its 11 severity levels
  (:func:`..ood_detection.cood.cood_summary`); the source gives no per-sample data, so no interval.
- ``ood_auroc:ninco`` -- NINCO AUROC on its fixed OOD classes (MSP; zero-shot CLIPs only have MCM in
  NINCO's table, which the ``note`` says). Interval: normal, from the ood-detection section's
  image-sampling SE of each AUROC (``metrics.ood.auroc_se``; NINCO publishes no per-image scores).
- ``confidence_gap`` -- COOD's mean ImageNet-val softmax confidence minus top-1 accuracy (an ID-only
  lower bound on calibration error, as in claim C7). Interval: the Wilson interval of the accuracy
  on the 50,000 val images; the mean confidence has no per-sample data, so its error is not in it.
- ``imagenet_top1`` -- ImageNet-val top-1 as each source reports it (Wilson interval), the check of
  the join: the same weights must score the same in every source.

The join rule (:func:`.join.canonical_key`): two rows are one model when they share the canonical key
``"<architecture> | <pretraining>"``. Keys are assigned by explicit, per-source name rules, and only
where the sources name the same weights:

1. OpenAI CLIP, zero-shot (pretraining ``WIT-400M (OpenAI CLIP)``): open_clip ``<arch>/openai``;
   testbed and ImageNet-X ``resnet50_clip_zeroshot`` / ``vit_b_32_clip_zeroshot``; model-vs-human ``clip`` (its
   model zoo loads OpenAI ViT-B/16); COOD ``CLIP_<arch>``; NINCO ``clip-<arch>``.
2. OpenAI / LAION-2B CLIP fine-tuned on ImageNet (timm): timm ``vit_*_clip_<res>.<src>_ft_<ft>``
   and NINCO ``vit_*_<res>_<src>_<ft>`` (NINCO's ``in21k_in1k`` is timm's ``in12k_in1k`` tag: the
   12k set is a subset of ImageNet-21k, and timm ships no other such weights).
3. Supervised ImageNet-1k models with torchvision weights (pretraining ``ImageNet-1k
   (torchvision)``): the testbed and ImageNet-X names equal to a torchvision builder name
   (:data:`.join.TORCHVISION_ARCHS`; both list the testbed's models under the same names), COOD's
   ``<name>_torchvision``, and model-vs-human's ``resnet50-sup`` (its ``resnet50`` twin loads
   torchvision's weights).
4. Other imagenet-testbed models: the testbed and ImageNet-X's ``imagenet_testbed`` group (which
   evaluates the testbed's models under the testbed's names) -- key ``<testbed name> | ImageNet-1k
   (imagenet-testbed weights)``, or ``more than ImageNet-1k`` for the testbed's MORE_DATA type. ImageNet-X's model-vs-human group (``imagenetx-mvh:*``) is not
   joined: its names (``clip``, ``resnet50``) do not say which weights it loaded.

Bare timm names without a pretrained tag (COOD, NINCO) are never joined to tagged timm rows: the
same bare name has pointed to different weights across timm versions. A card is kept when at least
:data:`.join.MIN_SOURCES` distinct published sources contribute to it.

Correlations (:func:`.correlations.property_correlations`): Spearman rank correlation of two properties across
the cards that have both, with a percentile interval from resampling models
(:func:`cliprobust.metrics.stats.correlation_interval`), within each model group and over all
cards; with fewer than :data:`.correlations.MIN_N_CORRELATION` models no correlation is reported, and the row
says so, and so does a row whose models' ObjectNet protocols differ
(:func:`.correlations.objectnet_mix`). Beside it, the partial rank correlation given ImageNet top-1
(:func:`cliprobust.metrics.stats.partial_spearman`, same resampling): how much of the co-movement
survives once plain accuracy is held fixed. One top-1 source per comparison
(:func:`.correlations.comparison_top1`, the ``top1_source`` column): the control, and ImageNet top-1
when it is one of the two, come from the source the properties rest on (the ER tables for ER,
COOD for COOD's AUROC and confidence gap, ImageNet-X for factor ER); a pair resting on two
sources gets no partial. Withheld also where top-1 ranks almost identically with one of the two
(:data:`.correlations.PARTIAL_MAX_CONTROL_RHO`).

The section interface lives here (a section without caches or claims: :class:`Options` with the ER
baseline set, no cache plan, ``claims(run) == ()``) with :func:`card_long_for`, the cards of a run;
callers import every other name from where it lives: :mod:`.join` (the join rule),
:mod:`.properties` (one reader per property), :mod:`.factor_er`, :mod:`.cards`, :mod:`.correlations`, :mod:`.figures`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import pandas as pd

from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim
from .._base import CachePlan, no_cache_inventory, no_cache_plan
from ..effective_robustness.options import BASELINE, BASELINES
from . import cards, properties


@dataclass(frozen=True)
class Options(BaseOptions):
    """Notebook 09's protocol options (the ``parameters`` cell)."""

    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = {"baseline": BASELINES}

    #: Baseline set of the effective-robustness line behind every ``er:*`` property (the ER section's
    #: :data:`..effective_robustness.options.BASELINES`; the testbed's STANDARD models by default).
    baseline: str = BASELINE


#: This section reads published tables only: no cache plan in any profile.
PAPER_PLAN: CachePlan | None = None
SMOKE_PLAN: CachePlan | None = None
cache_plan, cache_inventory = no_cache_plan, no_cache_inventory


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """No claims: the cards ask a question no paper states (do the properties move together?)."""
    return ()


def card_long_for(run: Run = Run()) -> pd.DataFrame:
    """:func:`.cards.card_long` of every property reader under the run's options."""
    opts = run.options_for(Options)
    return cards.card_long([properties.er_rows(baseline=opts.baseline), properties.factor_rows(),
                            properties.shape_rows(), properties.cood_rows(), properties.ninco_rows()])
