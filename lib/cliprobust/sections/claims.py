"""Section 08 -- the claims checklist: every claim C1-C15, judged by its section's claim function.

One registry (:data:`CLAIMS`, frozen :class:`ClaimSpec` rows naming the paper, the section module
and function that judge each claim) and one dispatch path (:func:`claim`): the section module is
imported by name and its ``claim_cN(run) -> Claim`` is called with the notebook's
:class:`~cliprobust.runs.Run` (a run without section options judges every claim under its
section's headline protocol). Results are memoized per (claim, run). Claims judged on per-sample
caches (``cache_based``) go through :func:`~cliprobust.verdicts.guard_run`, so random-init
(``smoke``) or synthetic (``rehearsal``) outputs never judge them.

Tables: :func:`claims_table` (one row per claim: tier, the headline's outcome, statistic and
interval, margin, the counts of supporting / contradicting / inconclusive variants, the headline
rule's operating characteristics), :func:`multiverse_table` (every claim's variants with their
outcomes: the specification curves), :func:`tier_counts`. The figures live in
:mod:`cliprobust.claim_figures`; the claims, their words, margins, scopes and multiverses are
described for users in ``docs/claims.md``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..runs import Options as RunOptions
from ..runs import Run
from ..verdicts import TIERS, Claim, guard_run
from ._base import no_cache_inventory, no_cache_plan


@dataclass(frozen=True)
class ClaimSpec:
    """One claim: id, paper and section, short statement, and the section function that judges it."""

    id: str
    paper: str
    section: str
    statement: str
    module: str  # cliprobust.sections.<module>
    function: str  # claim_cN(run: Run) -> Claim in that module
    cache_based: bool  # judged on per-sample caches (never on random-init or synthetic outputs)


_TU, _FANG, _INTERP = "Tu et al. NeurIPS 2023", "Fang et al. ICML 2022", "Interpreting CLIP TMLR 2024"
#: C12 is not Fang et al.'s claim: CLIP §3.3, the fine-tuning studies of Andreassen et al. and WiSE-FT.
_FT = "Radford et al. 2021; Andreassen et al. 2021; Wortsman et al. 2022"


def _spec(cid: str, paper: str, section: str, statement: str, module: str, cache_based: bool) -> ClaimSpec:
    return ClaimSpec(cid, paper, section, statement, module, f"claim_{cid.lower()}", cache_based)


#: The 15 claims, in the order of ``docs/claims.md``.
CLAIMS: tuple[ClaimSpec, ...] = (
    _spec("C1", _TU, "§4.1", "CLIP more robust than ImageNet models on 6/10 ImageNet-X factors, less on some (pose)",
          "visual_factors", False),
    _spec("C2", _TU, "§4.1", "LAION CLIP more robust on shape than WIT CLIP, less on background and pose",
          "visual_factors", True),
    _spec("C3", _TU, "§4.2", "CLIP is more shape-biased than the other model groups (data: one CLIP model)",
          "shape_bias", False),
    _spec("C4", _TU, "§4.2", "shape bias weakens after fine-tuning on ImageNet", "shape_bias", True),
    _spec("C5", _TU, "§5", "within a CLIP training source, ImageNet accuracy strongly correlates with OOD detection",
          "ood_detection", False),
    _spec("C6", _TU, "§5", "in12k/21k->1k fine-tuning detects OOD better than 1k; some CLIP-FT worse than zero-shot",
          "ood_detection", False),
    _spec("C7", _TU, "§6.1", "CLIP is not consistently better calibrated than ImageNet models", "calibration", False),
    _spec("C8", _TU, "§6.1", "after temperature scaling, zero-shot CLIP is better calibrated at equal accuracy",
          "calibration", True),
    _spec("C9", _TU, "§6.2", "test-time prompts change accuracy, calibration and OOD detection in mixed ways",
          "prompt_sensitivity", True),
    _spec("C10", _FANG, "Fig. 1 / §3", "zero-shot CLIP has large ER on R, Sketch, ObjectNet, A (small on V2)",
          "effective_robustness", False),
    _spec("C11", _FANG, "§4-5", "a larger training set does not by itself give more ER: the distribution does",
          "effective_robustness", False),
    _spec("C12", _FT, "CLIP §3.3; WiSE-FT", "fine-tuning CLIP on ImageNet erodes its ER", "effective_robustness",
          False),
    _spec("C13", _INTERP, "outlier features", "robust zero-shot CLIP encoders have outlier features (high kurtosis)",
          "outlier_features", True),
    _spec("C14", _INTERP, "outlier features", "outlier features appear only in the robust models",
          "outlier_features", True),
    _spec("C15", _INTERP, "concepts", "CLIP encodes more unique concepts, not tracking robustness",
          "outlier_features", True),
)
CLAIM_IDS: tuple[str, ...] = tuple(c.id for c in CLAIMS)
CACHE_CLAIMS: frozenset[str] = frozenset(c.id for c in CLAIMS if c.cache_based)


def spec(claim_id: str) -> ClaimSpec:
    """The :class:`ClaimSpec` of a claim id (``C1``..``C15``)."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(CLAIM_IDS)}")


# --------------------------------------------------------------------------- the one dispatch path

_MEMO: dict[tuple[str, Run], Claim] = {}


def _module(name: str) -> Any:
    """The section module ``cliprobust.sections.<name>`` (imported on first use)."""
    return importlib.import_module(f"{__package__}.{name}")


def claim(claim_id: str, run: Run = Run()) -> Claim:
    """The :class:`Claim` of ``claim_id`` under ``run``: the section's ``claim_cN(run)``, guarded for
    cache-based claims, checked to carry its own id, memoized per (claim, run)."""
    key = (claim_id, run)
    if key not in _MEMO:
        s = spec(claim_id)
        result = getattr(_module(s.module), s.function)(run)
        if not isinstance(result, Claim):
            raise TypeError(f"{s.module}.{s.function} returned {type(result).__name__}, not a Claim")
        if result.id != claim_id:
            raise ValueError(f"{s.module}.{s.function} returned claim {result.id!r}, expected {claim_id!r}")
        _MEMO[key] = guard_run(result, run.banner, cache_based=s.cache_based)
    return _MEMO[key]


def clear_memo() -> None:
    """Forget memoized claims (after the data or the code under them changed)."""
    _MEMO.clear()


# --------------------------------------------------------------------------- tables

#: Columns of :func:`claims_table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "claim", "paper", "section", "statement", "tier", "outcome", "statistic", "value", "low", "high", "margin", "rule",
    "n_supports", "n_contradicts", "n_inconclusive", "n_not_computed", "n_variants", "oc_supports_at_margin",
    "oc_supports_at_zero", "breaking_variants", "multiverse_note", "evidence", "needs", "cache_based")


def claims_table(run: Run = Run()) -> pd.DataFrame:
    """One row per claim (:data:`TABLE_COLUMNS`): tier, the headline's outcome, statistic, interval
    and margin, the variants' outcome counts, the rule's operating characteristics, the variants
    that go against the headline, the evidence, and what a not-testable claim needs."""
    rows = []
    for s in CLAIMS:
        c = claim(s.id, run)
        row = c.row()
        rows.append({**row, "paper": s.paper, "section": s.section, "statement": s.statement,
                     "evidence": " ".join(row["evidence"].split()), "cache_based": s.cache_based})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def multiverse_table(run: Run = Run()) -> pd.DataFrame:
    """Every claim's multiverse, one row per (claim, variant): the data of the specification curves."""
    frames = [claim(s.id, run).variants_frame() for s in CLAIMS]
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def tier_counts(table: pd.DataFrame) -> dict[str, int]:
    """Number of claims per tier, in :data:`cliprobust.verdicts.TIERS` order."""
    return {t: int((table["tier"] == t).sum()) for t in TIERS}




# --------------------------------------------------------------------------- the section interface

@dataclass(frozen=True)
class Options(RunOptions):
    """The checklist has no protocol options of its own: every claim is judged under its section's
    headline protocol (a claim under another protocol: ``claim("C5", Run.from_params(profile,
    ood_detection.Options, score="max_logit"))``)."""


#: The checklist reads no caches of its own (each claim's section does).
PAPER_PLAN = SMOKE_PLAN = None
cache_plan, cache_inventory = no_cache_plan, no_cache_inventory


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """Every claim C1-C15 under ``run``, in registry order."""
    return tuple(claim(s.id, run) for s in CLAIMS)
