"""Section 03 -- shape bias on cue-conflict stimuli (Tu et al. NeurIPS 2023 §4.2; claims C3, C4).

The section interface (``Options``, ``PAPER_PLAN``/``SMOKE_PLAN``, ``cache_plan``, ``cache_inventory``,
``claims``, ``claim_c3``, ``claim_c4``); the work lives in modules by job, which notebook 03 imports:

* :mod:`.trials` -- the published model-vs-human trials (10 humans, 11 deduplicated models; one CLIP
  model, OpenAI ViT-B/16), hits, shape bias with stimulus and two-level (members, then stimuli) bootstraps.
* :mod:`.caches` -- cue-conflict trials from per-sample caches of zoo models (model-vs-human's 1,000 ->
  16 mapping; CLIP softmax at 100·cosine).
* :mod:`.c3` -- C3 on the published trials; :mod:`.c4` -- C4 from the caches.
* :mod:`.figures` -- shape bias per decision maker, per category, CLIP against each model.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ... import outputs
from ...metrics import stats
from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim, guard_run
from .._base import CachePlan, plan_for
from . import c3, c4
from .caches import CACHE_DATASET, cached_trials
from .trials import AGGREGATIONS


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol options of notebook 03 (C3's headline; variants change them one at a time)."""

    #: CLIP compared with each ``group`` or each ``model`` (:data:`.c3.UNITS`).
    unit: str = "group"
    #: A group's shape bias: pooled trials, member mean or category mean (:data:`.trials.AGGREGATIONS`).
    aggregation: str = "pooled"
    #: Over the comparisons (:data:`.c3.CORRECTIONS`; none: an intersection-union test).
    correction: str = "none"
    #: The Stylized-IN DeiT-S: own group (not compared), supervised, or a compared group (:data:`.c3.STYLIZED`).
    stylized: str = "own-group"
    #: Bootstrap draws of every interval.
    n_boot: int = stats.N_BOOT

    CHOICES = {"unit": c3.UNITS, "aggregation": AGGREGATIONS, "correction": c3.CORRECTIONS,
               "stylized": c3.STYLIZED}


#: Cache-driven part: C4 needs zero-shot CLIP and CLIP-FT cached on the stimuli.
PAPER_PLAN = CachePlan(models="clip-zeroshot,clip-ft,imagenet", id_set=CACHE_DATASET)
SMOKE_PLAN = CachePlan(models="smoke", id_set=CACHE_DATASET)


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """:func:`cliprobust.outputs.inventory` of the run's plan on the stimuli (model, dataset, prompt_set,
    status); models without a cache folder are ``missing`` without any key computed."""
    plan = cache_plan(run)
    return outputs.inventory(plan.models, [plan.id_set])


def claim_c3(run: Run = Run(), *, trials: pd.DataFrame | None = None) -> Claim:
    """C3: "CLIP models are more likely to make predictions based on shape compared to the other three
    groups" -- one CLIP model in the published trials (:mod:`.c3`)."""
    return c3.claim(run.options_for(Options), trials)


def claim_c4(run: Run = Run(), *, cached: pd.DataFrame | None = None) -> Claim:
    """C4: CLIP's shape bias "diminishes after fine-tuning on ImageNet" (:mod:`.c4`; the run's caches
    unless ``cached`` is given). Random-init or synthetic caches never judge it."""
    tr = cached_trials(cache_inventory(run)) if cached is None else cached
    return guard_run(c4.claim(run.options_for(Options), tr), run.banner, cache_based=True)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """The section's claims under ``run``."""
    return claim_c3(run), claim_c4(run)
