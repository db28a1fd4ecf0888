"""Section 04 -- OOD detection (Tu et al. NeurIPS 2023 §5; claims C5 and C6, see ``docs/claims.md``).

The section interface (``Options``, the cache plans, ``cache_inventory``, ``claims``) lives here; the
work is split by job, and notebooks import the submodules they need:

* :mod:`.sources` -- training sources of the COOD models (timm pre-training labels, display names, colours);
* :mod:`.cood` -- COOD (Galil et al. ICLR 2023): ImageNet accuracy and OOD AUROC of 706 models;
* :mod:`.ninco` -- NINCO (Bitterwolf et al. ICML 2023): 12 scores for 31 models, AUROC image-sampling SEs;
* :mod:`.fine_tunes` -- the C6 comparisons: fine-tune pairs (part a), zero-shot deficits with max-T (part b);
* :mod:`.c5`, :mod:`.c6` -- the claims on the :mod:`cliprobust.verdicts` engine;
* :mod:`.openood` -- OpenOOD v1.5 (supervised reference);
* :mod:`.caches` -- per-sample caches scored with MSP / MaxLogit / energy / MCM;
* :mod:`.figures` -- the section's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ... import outputs
from ...metrics import stats
from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim
from .._base import CachePlan, plan_for
from . import c5, c6
from .caches import zoo_group
from .cood import COOD_SCORES
from .fine_tunes import A_INTERVALS, B_CORRECTIONS, C6_FT_SCORE, C6_ZS_SCORE


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol options of notebook 04: the headline of C5 and C6 (variants change one at a time)."""

    #: C5: COOD confidence score (:data:`.cood.COOD_SCORES`); MSP is Tu et al.'s classifier score.
    score: str = "msp"
    #: C5: y axis, COOD's severity levels averaged (``mean``) or the easiest / hardest level.
    ood_auroc: str = "mean"
    #: C5: rank (Spearman) or linear (Pearson) correlation.
    correlation: str = "spearman"
    #: C5: interval over models, Fisher z (Bonett-Wright SE) or percentile bootstrap.
    interval: str = "fisher"
    #: C5: the training sources judged (every one must show it): COOD's zero-shot CLIPs (WIT).
    c5_sources: tuple[str, ...] = c5.C5_SOURCES
    #: C5: "strongly" = correlation at least this (:data:`.c5.C5_MARGIN`).
    c5_margin: float = c5.C5_MARGIN
    #: C6: score of the CLIP fine-tunes (a NINCO method).
    ft_score: str = C6_FT_SCORE
    #: C6: score of zero-shot CLIP (``mcm-clip`` or ``cosine-clip``).
    zs_score: str = C6_ZS_SCORE
    #: C6: ``declared`` scores, or ``best-of-same``: equal score sets on both sides.
    pairing: str = "declared"
    #: C6 (a): interval of a pair's gain (:data:`.fine_tunes.A_INTERVALS`).
    a_interval: str = "ood-classes"
    #: C6 (b): simultaneous (``max-t``) or marginal (``none``) intervals over the comparisons.
    correction: str = "max-t"
    #: C6 (b): every NINCO benchmark, or its 46 classes only.
    benchmarks: str = "all"
    #: C6: NINCO's cleaned popular subsets (``ood``) or as drawn (``full``).
    popular: str = "ood"
    #: C6: intervals, or point estimates only (``none``).
    uncertainty: str = "interval"
    #: C6: the smallest AUROC difference that matters (:data:`.c6.C6_MARGIN`).
    c6_margin: float = c6.C6_MARGIN
    #: Bootstrap draws of every bootstrap interval.
    n_boot: int = stats.N_BOOT

    CHOICES = {"score": tuple(COOD_SCORES), "ood_auroc": tuple(c5.OOD_AUROC_COLUMNS), "correlation": c5.CORRELATIONS,
               "interval": c5.INTERVALS, "pairing": c6.PAIRINGS, "a_interval": A_INTERVALS,
               "correction": B_CORRECTIONS, "benchmarks": c6.BENCHMARK_SETS, "popular": ("ood", "full"),
               "uncertainty": c6.UNCERTAINTIES}


#: What the cache-driven part reads (Tu et al. §5: ImageNet-1K val as ID; the MOS/MCM subsets of
#: iNaturalist, SUN, Places and Textures, plus ImageNet-O). Smoke: the shipped 100-image ImageNet
#: sample as ID, cue-conflict stimuli as a stand-in "OOD" set -- a pipeline check, never a result.
PAPER_PLAN = CachePlan("paper", "imagenet", ("inaturalist", "sun", "places", "textures", "imagenet-o"))
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample", ("cue-conflict",))


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``outputs.inventory`` of the run's plan on its ID and OOD sets (with each model's group)."""
    plan = cache_plan(run)
    inv = outputs.inventory(plan.models, plan.all_sets)
    return inv.assign(group=inv["model"].map(zoo_group))


def claim_c5(run: Run = Run(), *, cood: pd.DataFrame | None = None, ninco: pd.DataFrame | None = None) -> Claim:
    """C5: "For CLIP models from the same training source, their in-distribution accuracy strongly
    correlates with OOD detection performance" (:mod:`.c5`; published COOD and NINCO tables)."""
    return c5.claim(run.options_for(Options), cood, ninco)


def claim_c6(run: Run = Run(), *, ninco: pd.DataFrame | None = None) -> Claim:
    """C6: ImageNet-12k/21k -> 1k fine-tuning detects OOD better than 1k only; some CLIP fine-tunes
    detect worse than zero-shot CLIP (:mod:`.c6`; published NINCO tables, 2 pairs)."""
    return c6.claim(run.options_for(Options), ninco)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """The section's claims under the run's options."""
    return (claim_c5(run), claim_c6(run))
