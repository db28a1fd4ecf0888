"""Notebook 02: robustness to visual factors (Tu et al. NeurIPS 2023 §4.1; claims C1, C2).

The section interface (plans, inventory, claims); the work lives in modules by job:
:mod:`.tables` (published ImageNet-X tables, CLIP rows, baseline sets, re-aggregation),
:mod:`.lines` (factor-level ER and its draws), :mod:`.c1`, :mod:`.c2` (the claims),
:mod:`.caches` (per-sample caches), :mod:`.figures`. Protocol choices: ``docs/protocols.md``;
tables: ``docs/tables.md``; the claims: ``docs/claims.md``.
"""

from __future__ import annotations

import pandas as pd

from ... import outputs
from .._base import CachePlan, Claim, Run, plan_for
from . import c1, c2, caches

#: Cache-driven part (C2): zero-shot CLIP on ImageNet val; smoke models in the smoke profile.
PAPER_PLAN = CachePlan(models="clip-zeroshot", id_set="imagenet")
SMOKE_PLAN = CachePlan(models="smoke", id_set="imagenet")


def cache_plan(run: Run) -> CachePlan | None:
    """The run's cache plan (smoke models in the smoke profile)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """:func:`cliprobust.outputs.inventory` of the run's plan (model, dataset, prompt_set, status)."""
    plan = cache_plan(run)
    return outputs.inventory(plan.models, [plan.id_set])


def claim_c1(run: Run = Run(), **kwargs) -> Claim:
    """C1 (:func:`.c1.claim_c1`)."""
    return c1.claim_c1(run, **kwargs)


def claim_c2(run: Run = Run(), *, cached_er: pd.DataFrame | None = None, n_boot: int | None = None) -> Claim:
    """C2 (:func:`.c2.claim_c2`) on the run's caches (or on ``cached_er``)."""
    er = caches.factor_er_from_cache(cache_inventory(run)) if cached_er is None else cached_er
    return c2.claim_c2(run, er, cache_plan(run), n_boot)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """C1 and C2 under the run."""
    return claim_c1(run), claim_c2(run)
