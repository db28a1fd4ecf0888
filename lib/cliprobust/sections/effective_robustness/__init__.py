"""Section 01 -- effective robustness (ER) of zero-shot CLIP, CLIP fine-tuned on ImageNet and
ImageNet models, from published tables only (notebook ``01_effective_robustness``).

ER = OOD accuracy − the prediction of a line fitted in logit space over ImageNet-trained models
(Taori et al. 2020; Fang et al. 2022), on V2, R, Sketch, ObjectNet and A. Claims (``docs/claims.md``):

- :func:`claim_c10` (Fang et al. 2022) -- zero-shot CLIP has large positive ER on R, Sketch,
  ObjectNet, A (small on V2);
- :func:`claim_c11` (Fang et al. 2022) -- a larger training set does not by itself give more ER;
- :func:`claim_c12` (Radford et al. 2021 §3.3; Andreassen et al. 2021; Wortsman et al. 2022) --
  fine-tuning CLIP on ImageNet erodes its ER.

The section interface lives here; callers import every other name from where it lives:
:mod:`.options` (Options and the protocol constants), :mod:`.tables` (model table, ER frame),
:mod:`.draws` (bootstrap draws, group intervals), :mod:`.pairing` (C12 fine-tune pairs),
:mod:`.sources` (data-source study), :mod:`.extras` (matched accuracy, evaluation agreement),
:mod:`.figures`, and the claims :mod:`.c10`, :mod:`.c11`, :mod:`.c12`.
"""

from __future__ import annotations


from ...runs import Run
from ...verdicts import Claim
from .._base import CachePlan, no_cache_inventory, no_cache_plan
from .c10 import claim_c10
from .c11 import claim_c11
from .c12 import claim_c12
from .options import Options

__all__ = ["Options", "PAPER_PLAN", "SMOKE_PLAN", "cache_plan", "cache_inventory", "claims", "claim_c10",
           "claim_c11", "claim_c12"]

#: This section reads published tables only: no cache plan in any profile.
PAPER_PLAN: CachePlan | None = None
SMOKE_PLAN: CachePlan | None = None
cache_plan, cache_inventory = no_cache_plan, no_cache_inventory


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """C10, C11, C12 under the run's headline options."""
    return claim_c10(run), claim_c11(run), claim_c12(run)
