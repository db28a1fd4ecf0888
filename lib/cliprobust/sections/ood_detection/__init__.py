"""Section 04 -- OOD detection (Tu et al. NeurIPS 2023 §5; claims C5 and C6, see ``docs/claims.md``).

The section interface (``Options``, the cache plans, ``cache_inventory``, ``claims``) lives here; the
work is split by job, and notebooks import the submodules they need:

* :mod:`.sources` -- training sources of the COOD models (timm pre-training labels, display names, colours);
* :mod:`.cood` -- COOD (Galil et al. ICLR 2023): ImageNet accuracy and OOD AUROC of 706 models;
* :mod:`.ninco` -- NINCO (Bitterwolf et al. ICML 2023): 12 scores for 31 models, AUROC image-sampling SEs;
* :mod:`.c5`, :mod:`.c6` -- the claims;
* :mod:`.openood` -- OpenOOD v1.5 (supervised reference);
* :mod:`.caches` -- per-sample caches scored with MSP / MaxLogit / energy / MCM;
* :mod:`.figures` -- the section's figures.
"""

from __future__ import annotations

import pandas as pd

from ... import outputs
from .._base import CachePlan, Claim, Run, plan_for
from . import c5, c6
from .caches import zoo_group

#: What the cache-driven part reads (Tu et al. §5: ImageNet-1K val as ID; the MOS/MCM subsets of
#: iNaturalist, SUN, Places and Textures, plus ImageNet-O). Smoke: the shipped 100-image ImageNet
#: sample as ID, cue-conflict stimuli as a stand-in "OOD" set -- a pipeline check, never a result.
PAPER_PLAN = CachePlan("paper", "imagenet", ("inaturalist", "sun", "places", "textures", "imagenet-o"))
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample", ("cue-conflict",))


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(plan: CachePlan) -> pd.DataFrame:
    """``outputs.inventory`` of the plan's models on its ID and OOD sets (with each model's group)."""
    inv = outputs.inventory(plan.models, plan.all_sets)
    return inv.assign(group=inv["model"].map(zoo_group))


def claim_c5(run: Run = Run()) -> Claim:
    """C5 under the run's options (:func:`.c5.claim_c5`)."""
    return c5.claim_c5(run)


def claim_c6(run: Run = Run()) -> Claim:
    """C6 under the run's options (:func:`.c6.claim_c6`)."""
    return c6.claim_c6(run)
