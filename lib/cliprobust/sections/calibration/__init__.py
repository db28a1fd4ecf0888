"""Section 05 -- calibration (Tu et al. NeurIPS 2023 §6.1; claims C7 and C8, see ``docs/claims.md``).

The section interface (``Options``, ``PAPER_PLAN``/``SMOKE_PLAN``, ``cache_plan``, ``cache_inventory``,
``claims``, ``claim_c7``, ``claim_c8``); the work lives in modules by job, which notebook 05 imports:

* :mod:`.tables` -- published ImageNet-model calibration: ImageNet-X per-image top-1 predictions
  (top-label ECE, reliability) and uncertainty-baselines (ResNet-50 x 17 methods; NLL/ECE on
  ImageNet, -V2, -A, -C, before temperature scaling).
* :mod:`.caches` -- per-sample caches of the zoo: ECE / NLL / Brier before and after temperature
  scaling (T fitted on a held-out split of ImageNet val, applied to every test set).
* :mod:`.c7` -- C7 on published data: a WIT CLIP's |confidence − accuracy| on ImageNet val (COOD), a
  lower bound on its ECE, against the published ECE of accuracy-matched ImageNet models.
* :mod:`.c8` -- the cache-based rules: C8 (after temperature scaling) and C7 on CLIP ECE itself.
* :mod:`.figures` -- reliability diagrams, uncertainty-baselines, ECE vs accuracy, confidence gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ... import outputs
from ...metrics import stats
from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim, evaluate, guard_run, normal_design_oc
from .._base import CachePlan, plan_for
from . import c7, c8
from .caches import FIT_SET, zoo_info


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol options of notebook 05 (the headline of C7; variants change them one at a time)."""

    #: C7 reference models with a published ECE (:data:`.c7.REFERENCES`).
    reference: str = "published-ece"
    #: C7: accuracy-matched = within this ImageNet top-1 of the CLIP.
    match_window: float = 0.05
    #: C7: what a CLIP is compared with among its matched references (:data:`.c7.COMPARE`).
    compare: str = "median"
    #: C7: correction over the compared CLIPs (:data:`.c7.CORRECTIONS`).
    correction: str = "bonferroni"
    #: Bootstrap draws of every C7 interval.
    n_boot: int = stats.N_BOOT

    CHOICES = {"reference": c7.REFERENCES, "compare": tuple(c7.COMPARE), "correction": c7.CORRECTIONS}


#: What the cache-driven part reads: ImageNet val (the temperature-fit set) and its natural shifts
#: (Tu et al. §6.1). Smoke: the shipped 100-image ImageNet sample with random-init models (pipeline check only).
PAPER_PLAN = CachePlan("paper", FIT_SET, ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a"))
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample")


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``outputs.inventory`` of the run's plan on its test sets, with each model's group."""
    plan = cache_plan(run)
    inv = outputs.inventory(plan.models, plan.all_sets)
    return inv.assign(group=inv["model"].map(lambda m: zoo_info(m)["group"]))


def claim_c7(run: Run = Run(), *, cood: pd.DataFrame | None = None, ix: pd.DataFrame | None = None,
             ub: pd.DataFrame | None = None, cache_table: pd.DataFrame | None = None) -> Claim:
    """C7: "CLIP models are not consistently more calibrated than other ImageNet models" (:mod:`.c7`);
    ``cache_table`` (:func:`.caches.cache_calibration_table`, real weights only) adds the variants on
    CLIP ECE itself."""
    extra = c8.c7_cache_specs(cache_table, c7.C7_MARGIN) if run.real_results else []
    return c7.claim(run.options_for(Options), c7.confidence_gaps(cood), ix, ub, extra)


def claim_c8(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C8: "After temperature scaling, CLIP models achieve better uncertainty calibration compared to
    other models at similar classification accuracy" (:mod:`.c8`; caches only). Random-init or
    synthetic caches never judge it."""
    head, specs = c8.c8_specs(table)
    claim = evaluate("C8", "mean over CLIPs of (accuracy-matched ImageNet median ECE − CLIP ECE) after "
                     "temperature scaling", head, specs, rule=c8.C8_RULE, needs=c8.C8_NEEDS,
                     evidence=lambda e: f"{e.note}; T fitted on the {FIT_SET} split; interval resamples CLIP models",
                     oc=lambda e: normal_design_oc(c8.C8_RULE, e))
    return guard_run(claim, run.banner, cache_based=True)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """The section's claims under ``run`` (published data; caches are not read here)."""
    return claim_c7(run), claim_c8(run)
