"""What the sections share beyond the run and the verdict types: the cache plan of a section.

:class:`CachePlan` names what a section's cache-driven part reads (a zoo selector, the
in-distribution set, the other test sets, the prompt sets); :func:`plan_for` picks the smoke or the
paper plan for a run; :func:`inventory_for` lists every planned pair's cache status through the one
reader (:mod:`cliprobust.outputs`). Runs live in :mod:`cliprobust.runs`, claim results and tiers
in :mod:`cliprobust.verdicts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import outputs
from ..runs import Run


@dataclass(frozen=True)
class CachePlan:
    """What a section's cache-driven part reads: a zoo selector, the in-distribution set, the other
    test sets (shifts, OOD sets, stimuli) and the prompt sets. Each section defines one plan per
    profile and picks it with :func:`plan_for`."""

    models: str
    id_set: str
    datasets: tuple[str, ...] = ()
    prompt_sets: tuple[str, ...] = ()

    @property
    def all_sets(self) -> tuple[str, ...]:
        """The in-distribution set followed by the others, without repeats."""
        return tuple(dict.fromkeys((self.id_set, *self.datasets)))


def plan_for(run: Run, paper: CachePlan, smoke: CachePlan) -> CachePlan:
    """The smoke plan for random-init runs, the paper plan for ``full`` and ``rehearsal`` (and for
    ``published``, where the plan only names what a full run would read)."""
    return smoke if run.random_weights else paper


def inventory_for(plan: CachePlan | None) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` of every pair a plan reads (:func:`cliprobust.outputs.inventory`);
    an empty frame with the same columns for a section without a plan."""
    if plan is None:
        return pd.DataFrame(columns=list(outputs.INVENTORY_COLUMNS))
    return outputs.inventory(plan.models, plan.all_sets, plan.prompt_sets or None)


def status_counts(inventory: pd.DataFrame) -> dict[str, int]:
    """Number of (model, data set[, prompt set]) rows per cache status, sorted by status name."""
    return {str(k): int(v) for k, v in inventory["status"].value_counts().sort_index().items()}


def no_cache_plan(run: Run = Run()) -> None:
    """``cache_plan`` of a section that reads published tables only: no plan in any profile."""
    return None


def no_cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``cache_inventory`` of a section without a plan: the inventory columns, no rows."""
    return inventory_for(None)

