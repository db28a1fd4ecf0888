"""Section 08 -- the claims checklist: every claim C1-C15 of PAPERS.md, judged by its section's function.

The verdict vocabulary ``VERDICTS`` is defined once in :mod:`cliprobust.sections`. Each claim
function returns ``{"claim", "verdict", "evidence", ...}`` (most with a ``numbers`` dict; the effective-
robustness claims carry their numbers at the top level). :func:`claims_table` runs them all for a
notebook profile. Claims judged on per-sample caches (:data:`CACHE_CLAIMS`) are never judged on the
random-init smoke models: in the ``smoke`` profile they stay ``not testable here``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import pandas as pd

from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class ClaimSpec:
    """One claim of PAPERS.md: id, paper and section, short statement, and the section that judges it."""

    id: str
    paper: str
    section: str
    statement: str
    module: str  # cliprobust.sections.<module>
    cache_based: bool  # judged on per-sample caches (never on random-init smoke models)


_TU, _FANG, _INTERP = "Tu et al. NeurIPS 2023", "Fang et al. ICML 2022", "Interpreting CLIP TMLR 2024"

#: The 15 claims, in PAPERS.md order.
CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec("C1", _TU, "§4.1", "CLIP more robust than ImageNet models on 6/10 ImageNet-X factors, less on some (pose)",
              "visual_factors", False),
    ClaimSpec("C2", _TU, "§4.1", "LAION CLIP more robust on shape than WIT CLIP, less on background and pose",
              "visual_factors", True),
    ClaimSpec("C3", _TU, "§4.2", "CLIP is more shape-biased than other model groups", "shape_bias", False),
    ClaimSpec("C4", _TU, "§4.2", "shape bias weakens after fine-tuning on ImageNet", "shape_bias", True),
    ClaimSpec("C5", _TU, "§5", "within a training source, ImageNet accuracy correlates with OOD detection",
              "ood_detection", False),
    ClaimSpec("C6", _TU, "§5", "in12k/21k->1k fine-tuning detects OOD better than 1k; some CLIP-FT worse than zero-shot",
              "ood_detection", False),
    ClaimSpec("C7", _TU, "§6.1", "CLIP not consistently better calibrated; training data matter", "calibration", True),
    ClaimSpec("C8", _TU, "§6.1", "after temperature scaling, zero-shot CLIP is better calibrated at equal accuracy",
              "calibration", True),
    ClaimSpec("C9", _TU, "§6.2", "test-time prompts change accuracy, calibration and OOD detection in mixed ways",
              "test_time_prompts", True),
    ClaimSpec("C10", _FANG, "Fig. 1 / §3", "zero-shot CLIP has large ER on R, Sketch, ObjectNet, A (small on V2)",
              "effective_robustness", False),
    ClaimSpec("C11", _FANG, "§4-5", "ER is set by the pre-training data, not model size", "effective_robustness", False),
    ClaimSpec("C12", _FANG, "§5", "fine-tuning CLIP on ImageNet erodes its ER", "effective_robustness", False),
    ClaimSpec("C13", _INTERP, "outlier features", "robust zero-shot CLIP encoders have outlier features (high kurtosis)",
              "outlier_features", True),
    ClaimSpec("C14", _INTERP, "outlier features", "outlier features appear only in the robust models",
              "outlier_features", True),
    ClaimSpec("C15", _INTERP, "concepts", "CLIP encodes more unique concepts, not tracking robustness",
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


# --------------------------------------------------------------------------- shared inputs (computed once)


@lru_cache(maxsize=1)
def _calibration_table() -> pd.DataFrame:
    from . import calibration as cal

    models, fit_set, test_sets = cal.cache_plan("published")
    return cal.cache_calibration_table(cal.cache_inventory(models, test_sets), fit_set)


def _c2() -> dict:
    from . import shape_bias as sb
    from . import visual_factors as vf

    status = sb.cache_status(vf.CACHE_MODELS, vf.CACHE_DATASET)  # fast path: no folder = missing
    return vf.claim_c2(vf.factor_er_from_cache(status))


def _c7(which: str) -> dict:
    from . import calibration as cal

    table = _calibration_table()
    return cal.claim_c7(table) if which == "C7" else cal.claim_c8(table)


def _er(which: str) -> dict:
    from . import effective_robustness as er

    if which == "C10":
        return er.claim_c10()
    return er.claim_c11() if which == "C11" else er.claim_c12()


def _section(module: str, function: str) -> Callable[[], dict]:
    def run() -> dict:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), function)()

    return run


def _c9() -> dict:
    from . import test_time_prompts as ttp

    return ttp.run(ttp.PAPER_PLAN)["claim"]


def _interp(which: str) -> dict:
    from . import outlier_features as of

    return of.run(of.PAPER_PLAN)["claims"][which]


#: Claim id -> zero-argument function returning the claim dict in the published/full profile.
RUNNERS: dict[str, Callable[[], dict]] = {
    "C1": _section("visual_factors", "claim_c1"), "C2": _c2,
    "C3": _section("shape_bias", "claim_c3"), "C4": _section("shape_bias", "claim_c4"),
    "C5": _section("ood_detection", "claim_c5"), "C6": _section("ood_detection", "claim_c6"),
    "C7": lambda: _c7("C7"), "C8": lambda: _c7("C8"), "C9": _c9,
    "C10": lambda: _er("C10"), "C11": lambda: _er("C11"), "C12": lambda: _er("C12"),
    "C13": lambda: _interp("C13"), "C14": lambda: _interp("C14"), "C15": lambda: _interp("C15"),
}


def _smoke_guard(result: dict) -> dict:
    """Smoke profile: a cache-based claim is never judged (its caches hold random-init models only)."""
    if result["verdict"] == NOT_TESTABLE:
        return result
    return {**result, "verdict": NOT_TESTABLE,
            "evidence": "smoke profile: random-init models only, never judged. " + result["evidence"]}


@lru_cache(maxsize=None)
def claim_result(claim_id: str, profile: str = "published") -> dict[str, Any]:
    """The claim dict of ``claim_id`` (memoized per profile); verdict checked against :data:`VERDICTS`."""
    spec(claim_id)
    result = RUNNERS[claim_id]()
    if result.get("verdict") not in VERDICTS:
        raise ValueError(f"{claim_id}: verdict {result.get('verdict')!r} is not one of {VERDICTS}")
    if profile == "smoke" and claim_id in CACHE_CLAIMS:
        result = _smoke_guard(result)
    return result


#: Width of the one-line evidence in :func:`claims_table`'s ``evidence_short`` column.
EVIDENCE_WIDTH: int = 150


def claims_table(profile: str = "published") -> pd.DataFrame:
    """One row per claim: ``claim, paper, section, statement, verdict, evidence_short, evidence, cache_based``."""
    rows = []
    for c in CLAIMS:
        r = claim_result(c.id, profile)
        ev = " ".join(str(r.get("evidence", "")).split())
        rows.append({"claim": c.id, "paper": c.paper, "section": c.section, "statement": c.statement,
                     "verdict": r["verdict"], "evidence_short": textwrap.shorten(ev, EVIDENCE_WIDTH, placeholder=" ..."),
                     "evidence": ev, "cache_based": c.cache_based})
    return pd.DataFrame(rows)


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict, in :data:`VERDICTS` order."""
    return {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
