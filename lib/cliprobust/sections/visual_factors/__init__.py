"""Notebook 02: robustness to visual factors (Tu et al. NeurIPS 2023 §4.1; claims C1, C2).

The section interface (options, cache plans, inventory, claims); the work lives in modules by job:
:mod:`.tables` (published ImageNet-X tables, CLIP rows, baseline sets, re-aggregation),
:mod:`.lines` (factor-level ER and its draws, the per-factor tests), :mod:`.checks` (image-noise and
evaluation-agreement checks), :mod:`.groups` (the Tu-style group view, error ratios), :mod:`.c1`,
:mod:`.c2` (the claims), :mod:`.caches` (per-sample caches), :mod:`.figures`. Protocol choices:
``docs/protocols.md``; tables: ``docs/tables.md``; the claims: ``docs/claims.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Mapping

import pandas as pd

from ... import runs
from ...metrics import stats
from ...runs import Run
from ...verdicts import Claim, guard_run
from .._base import CachePlan, inventory_for, plan_for
from . import c1, c2, caches, checks, lines, tables


@dataclass(frozen=True)
class Options(runs.Options):
    """Notebook 02's protocol options (the ``parameters`` cell); the headline protocol of C1."""

    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = {
        "clip_model": (tables.ALL_CLIPS, *tables.CLIP_ROWS), "baseline": tuple(tables.BASELINES),
        "correction": stats.CORRECTIONS}

    #: C1's population: ``all`` = the CLIP group (mean factor ER of the three CLIP weights with an
    #: ImageNet-X row; the paper's claim is about CLIP models as a group), or one CLIP row.
    clip_model: str = tables.ALL_CLIPS
    #: Baseline set of the factor lines (:data:`.tables.BASELINES`; the testbed's own line by default).
    baseline: str = tables.DEFAULT_BASELINE
    #: Image-sampling error in the intervals (True), or baseline-model resampling only (False).
    image_noise: bool = True
    #: Correction of the per-factor p-values over the 10 factors (the per-factor table only):
    #: ``holm`` (Holm 1979, family-wise error at :data:`.lines.ALPHA`) or ``none``.
    correction: str = "holm"
    #: Bootstrap draws of every interval (:data:`cliprobust.metrics.stats.N_BOOT`).
    n_boot: int = stats.N_BOOT


#: Cache-driven part (C2): zero-shot CLIP on ImageNet val; smoke models in the smoke profile.
PAPER_PLAN = CachePlan(models="clip-zeroshot", id_set="imagenet")
SMOKE_PLAN = CachePlan(models="smoke", id_set="imagenet")


def cache_plan(run: Run) -> CachePlan | None:
    """The run's cache plan (smoke models in the smoke profile)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` of every pair the run's plan reads."""
    return inventory_for(cache_plan(run))


@lru_cache(maxsize=2)
def published_design(n_boot: int = stats.N_BOOT, seed: int = stats.SEED) -> lines.FactorDesign:
    """The :class:`.lines.FactorDesign` of the published tables and annotations (memoized: notebook 02
    and the claims checklist share it)."""
    ann = tables.annotations_by_file()
    return lines.FactorDesign(tables.factor_table(ann), ann, n_boot, seed,
                              per_image={"vit-b-16": tables.mvh_clip_correct(ann)})


def evaluation_floor(design: lines.FactorDesign) -> str:
    """The measured floor of evaluation noise, in words (for C1's evidence)."""
    summ = checks.agreement_summary(checks.evaluation_agreement(design))
    return "; ".join(f"{r.weights}: mean |Δ factor acc| {r.mean_abs_acc_diff:.4f}, max {r.max_abs_acc_diff:.3f}, "
                     f"ER sign flips on {r.er_sign_flips or 'none'}" for r in summ.itertuples()) or "not in this table"


def claim_c1(run: Run = Run(), design: lines.FactorDesign | None = None) -> Claim:
    """C1 under the run's options (:func:`.c1.claim_c1`), on ``design`` (default: the published one)."""
    opts = run.options_for(Options)
    d = published_design(opts.n_boot) if design is None else design
    return c1.claim_c1(d, opts, evaluation_floor(d))


def claim_c2(run: Run = Run(), cached_er: pd.DataFrame | None = None) -> Claim:
    """C2 (:func:`.c2.claim_c2`) on the run's caches (or on ``cached_er``); guarded, so random-init
    or synthetic caches never judge it."""
    opts = run.options_for(Options)
    er = caches.factor_er_from_cache(cache_inventory(run), n_boot=opts.n_boot) if cached_er is None else cached_er
    claim = c2.claim_c2(c2.c2_differences(er, opts.n_boot), cache_plan(run))
    return guard_run(claim, run.banner, cache_based=True)


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """C1 and C2 under the run."""
    return claim_c1(run), claim_c2(run)
