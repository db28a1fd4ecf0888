"""Section 07 -- outlier features ("Interpreting CLIP", TMLR 2024; claims C13, C14, C15 of ``docs/claims.md``).

Robust zero-shot CLIP image encoders have *outlier features*: a few embedding dimensions with
activations far above the typical dimension, seen as high kurtosis (C13), and only the robust models
of the study have them (C14). C15 (unique concepts) needs a concept-probing set and is never testable
here. No published table reports image features, so C13 and C14 are not testable in the ``published``
profile; the notebook then shows the detector on seeded synthetic features and the published ER of
the models C14 splits into robust and less robust.

The section interface (``Options``, ``PAPER_PLAN``/``SMOKE_PLAN``, ``cache_plan``, ``cache_inventory``,
``claims``, ``claim_c13``..``claim_c15``) and :func:`study`; the work lives in modules by job, which
notebook 07 imports:

* :mod:`.features` -- per-model feature statistics in bounded memory, the published ER join, the
  synthetic detector check.
* :mod:`.c13_c14` -- C13 and C14 on the claims engine (margins, specs, operating characteristics).
* :mod:`.figures` -- activation profiles, published ER per group, outliers vs ER.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ... import outputs, published, style, zoo
from ...metrics import features as F
from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim, guard_run, not_testable
from .._base import CachePlan, inventory_for, plan_for
from . import c13_c14
from .c13_c14 import C13_RULE, C13_STATISTIC, C14_RULE, C14_STATISTIC, MIN_MODELS
from .features import FEATURE_COLUMNS, LESS_ROBUST_GROUPS, OUTLIER_THRESHOLDS, ROBUST_GROUPS, feature_table


@dataclass(frozen=True)
class Options(BaseOptions):
    """Protocol options of notebook 07 (the headline of C13 and C14; variants change them)."""

    #: Outlier dimension: mean |activation| above this multiple of the median dimension's
    #: (``metrics.features.OUTLIER_RATIO_THRESHOLD``; :data:`.features.OUTLIER_THRESHOLDS`).
    threshold: float = F.OUTLIER_RATIO_THRESHOLD

    CHOICES = {"threshold": OUTLIER_THRESHOLDS}


#: ``full``/``rehearsal`` plan (``published`` only names it): the paper zoo on ImageNet val (the
#: paper measures features on ImageNet).
PAPER_PLAN = CachePlan("paper", published.IMAGENET)
#: ``smoke`` plan: the random-init smoke models on the 100 shipped ImageNet images.
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample")


def cache_plan(run: Run = Run()) -> CachePlan:
    """The run's cache plan (:data:`SMOKE_PLAN` for random-init runs, else :data:`PAPER_PLAN`)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """``model, dataset, prompt_set, status`` of the plan's models on its set (``outputs.inventory``;
    models without a cache folder are ``missing`` without any key computed)."""
    return inventory_for(cache_plan(run))


def study(run: Run = Run(), loader: Callable = outputs.load) -> dict[str, object]:
    """Features of every model of the run's plan, reduced one model at a time: ``table``, ``missing``
    (model ids) and ``profiles`` (model id -> sorted activation ratios, for the figure). The
    ``published`` profile reads no caches (every model is missing)."""
    p = cache_plan(run)
    ids = [e.id for e in zoo.select(p.models)]
    if not run.uses_caches:
        return {"table": pd.DataFrame(columns=FEATURE_COLUMNS), "missing": ids, "profiles": {}}
    profiles: dict[str, np.ndarray] = {}
    table, missing = feature_table(ids, p.id_set, loader, profiles=profiles)
    return {"table": table, "missing": missing, "profiles": profiles}


def _needs(what: str) -> str:
    return (f"cached image features of {what} on {PAPER_PLAN.id_set} (profile 'full'): cliprobust evaluate "
            f"--models {PAPER_PLAN.models} --datasets {PAPER_PLAN.id_set} --data-root DIR")


NO_FEATURES = "no published table reports image features; the published profile reads no caches."


def claim_c13(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C13: "robust zero-shot CLIP encoders have outlier features" (:func:`.c13_c14.claim_c13` on the
    run's feature table unless ``table`` is given); random-init or synthetic caches never judge it."""
    need = _needs(f">= {MIN_MODELS} zero-shot CLIP models")
    if not run.uses_caches:
        return not_testable("C13", C13_STATISTIC, need, NO_FEATURES, C13_RULE)
    table = study(run)["table"] if table is None else table
    claim = c13_c14.claim_c13(table, need, run.options_for(Options).threshold)
    return guard_run(claim, run.banner, cache_based=True)


def claim_c14(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C14: "outlier features appear only in the robust models of the study" (:func:`.c13_c14.claim_c14`)."""
    less = ", ".join(style.group_label(g) for g in LESS_ROBUST_GROUPS)
    need = _needs(f">= {MIN_MODELS} robust ({style.group_label(ROBUST_GROUPS[0])}) and less robust ({less}) models")
    if not run.uses_caches:
        return not_testable("C14", C14_STATISTIC, need, NO_FEATURES, C14_RULE)
    table = study(run)["table"] if table is None else table
    claim = c13_c14.claim_c14(table, need, run.options_for(Options).threshold)
    return guard_run(claim, run.banner, cache_based=True)


def claim_c15(run: Run = Run()) -> Claim:
    """C15 ("zero-shot CLIP encodes more unique concepts, but this does not track robustness"): never
    testable here (no concept-probing data)."""
    return not_testable("C15", "unique concepts per encoder vs ER",
                        "a concept-probing set (images with concept annotations, e.g. Broden for network "
                        "dissection) and per-unit activations of each encoder",
                        "no concept-probing data set is in the data mirror.")


def claims(run: Run = Run(), table: pd.DataFrame | None = None) -> tuple[Claim, ...]:
    """C13, C14, C15 for one run (features read once)."""
    if table is None and run.uses_caches:
        table = study(run)["table"]
    return claim_c13(run, table=table), claim_c14(run, table=table), claim_c15(run)
