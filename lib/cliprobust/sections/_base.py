"""Shared types of the sections: the run configuration, the claim result, the verdict tiers.

- :class:`Run` is the one frozen configuration a notebook builds from its ``parameters`` cell
  (``Run.from_params(profile=..., baseline=..., ...)``) and passes explicitly to the section
  functions. It knows whether outputs come from real published data, real weights, random-init
  models (``smoke``) or synthetic caches (``rehearsal``), and which banner every figure and printed
  number must carry.
- :class:`Claim` is the one result type of every claim function: a tier, a headline statistic with
  its interval, the evidence text, and the multiverse of :class:`Variant` rows (each a named,
  documented protocol a careful researcher could defend, with its own statistic, interval and rule
  outcome).
- Tiers (one vocabulary everywhere: sections, notebook 08, README, tests), decided by :func:`judge`:
  ``reproduced`` — the rule holds under the headline protocol and under every declared variant,
  with intervals that include every declared source of sampling error; ``fragile`` — holds under
  the headline protocol, fails under >= 1 named variant (the claim names them); ``not reproduced`` —
  fails under the headline protocol; ``not testable here`` — the data at hand cannot test it (the
  claim says which input would).

Method anchors: specification-curve / multiverse analysis (Simonsohn, Simmons & Nelson 2020;
Steegen et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable, Mapping

import pandas as pd

from .. import outputs

#: The four verdict tiers, in display order.
REPRODUCED, FRAGILE, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "fragile", "not reproduced", "not testable here"
TIERS: tuple[str, ...] = (REPRODUCED, FRAGILE, NOT_REPRODUCED, NOT_TESTABLE)

#: Notebook profiles: ``published`` (real published tables, no caches), ``smoke`` (engine with
#: random-init tiny models on the shipped images), ``full`` (the paper zoo's caches of real
#: weights), ``rehearsal`` (the full profile on synthetic caches written by ``cliprobust simulate``).
PROFILES: tuple[str, ...] = ("published", "smoke", "full", "rehearsal")

#: Banners stamped on every figure/table and printed with every number that is not a result.
RANDOM_WEIGHTS_BANNER = "random weights — pipeline check, not a result"
SYNTHETIC_BANNER = "synthetic outputs (cliprobust simulate) — rehearsal at scale, not a result"


@dataclass(frozen=True)
class Run:
    """One notebook run: the profile plus the headline-protocol overrides from the ``parameters`` cell.

    ``options`` holds the section-specific protocol choices (e.g. ``baseline="testbed-standard"``,
    ``x_axis="full-imagenet"``, ``model_set="zoo-clip"``, ``score="msp"``); each section documents the
    keys it reads and their defaults, and reads them with :meth:`option`.
    """

    profile: str = "published"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; choose one of {PROFILES}")
        object.__setattr__(self, "options", dict(self.options))

    @classmethod
    def from_params(cls, profile: str = "published", **options: Any) -> "Run":
        """Build the run from the notebook's ``parameters`` cell (``None`` values mean 'section default')."""
        return cls(profile=profile, options={k: v for k, v in options.items() if v is not None})

    def option(self, name: str, default: Any) -> Any:
        """The headline-protocol choice ``name`` of this run, else the section's ``default``."""
        return self.options.get(name, default)

    def with_options(self, **options: Any) -> "Run":
        """The same run with some protocol choices replaced (how a section evaluates a variant)."""
        return replace(self, options={**self.options, **options})

    @property
    def random_weights(self) -> bool:
        """Outputs come from random-init models (pipeline check only)."""
        return self.profile == "smoke"

    @property
    def synthetic(self) -> bool:
        """Outputs come from synthetic caches (``cliprobust simulate``)."""
        return self.profile == "rehearsal"

    @property
    def uses_caches(self) -> bool:
        """The cache-driven parts of the sections run (anything but ``published``)."""
        return self.profile != "published"

    @property
    def real_results(self) -> bool:
        """Printed numbers are results (published data, or caches of real weights)."""
        return not (self.random_weights or self.synthetic)

    @property
    def banner(self) -> str | None:
        """The warning every figure, table and print of this run carries, or None for real results."""
        if self.random_weights:
            return RANDOM_WEIGHTS_BANNER
        return SYNTHETIC_BANNER if self.synthetic else None

    def say(self) -> str:
        """One line for the notebook's first output: which profile, and the banner if any."""
        head = f"profile {self.profile!r}" + (f", options {dict(self.options)}" if self.options else "")
        return head + (f" — {self.banner.upper()}" if self.banner else "")


@dataclass(frozen=True)
class Variant:
    """One protocol of a claim's multiverse and what the claim's rule says under it.

    ``holds`` is the rule outcome (None when the variant cannot be computed from the data at
    hand; ``note`` says why). ``headline`` marks the headline protocol (exactly one per claim).
    """

    name: str
    description: str
    value: float
    low: float = float("nan")
    high: float = float("nan")
    holds: bool | None = None
    headline: bool = False
    n: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """The result of one claim: tier, headline statistic with interval, evidence, multiverse."""

    id: str
    tier: str
    statistic: str
    value: float
    low: float
    high: float
    evidence: str
    variants: tuple[Variant, ...] = ()
    needs: str = ""
    numbers: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"{self.id}: tier {self.tier!r} is not one of {TIERS}")
        if self.tier == FRAGILE and not self.breaking_variants:
            raise ValueError(f"{self.id}: a fragile claim must name the variant(s) that break it")
        if self.tier == NOT_TESTABLE and not self.needs:
            raise ValueError(f"{self.id}: a not-testable claim must say which input would make it testable")
        object.__setattr__(self, "variants", tuple(self.variants))

    @property
    def breaking_variants(self) -> tuple[str, ...]:
        """Names of the computed variants under which the rule fails."""
        return tuple(v.name for v in self.variants if v.holds is False and not v.headline)

    @property
    def holding_variants(self) -> tuple[str, ...]:
        """Names of the computed variants under which the rule holds (for a claim that is not
        reproduced: the protocols that would have reproduced it)."""
        return tuple(v.name for v in self.variants if v.holds is True and not v.headline)

    @property
    def multiverse_note(self) -> str:
        """What the multiverse says: the variants that break a fragile (or reproduced) claim, or
        those under which a not-reproduced claim would hold."""
        if self.tier == NOT_REPRODUCED:
            held = self.holding_variants
            return f"holds only under: {', '.join(held)}" if held else "holds under no variant"
        return f"fails under: {', '.join(self.breaking_variants)}" if self.breaking_variants else ""

    def variants_frame(self) -> pd.DataFrame:
        """Tidy multiverse table: one row per variant (claim, variant, description, value, low, high,
        holds, headline, n, note)."""
        cols = [f.name for f in fields(Variant)]
        rows = [{"claim": self.id, **{c: getattr(v, c) for c in cols}} for v in self.variants]
        return pd.DataFrame(rows, columns=["claim", *cols])

    def row(self) -> dict[str, Any]:
        """One row of the claims table."""
        return {"claim": self.id, "tier": self.tier, "statistic": self.statistic, "value": self.value,
                "low": self.low, "high": self.high, "breaking_variants": ", ".join(self.breaking_variants),
                "holding_variants": ", ".join(self.holding_variants), "multiverse_note": self.multiverse_note,
                "n_variants": len(self.variants), "evidence": self.evidence, "needs": self.needs}


def judge(headline_holds: bool, variants: Iterable[Variant]) -> str:
    """Tier from the rule's outcome under the headline protocol and under each variant:
    not reproduced if the headline fails; fragile if any computed variant fails; else reproduced.
    Variants that could not be computed (``holds is None``) never change the tier."""
    if not headline_holds:
        return NOT_REPRODUCED
    return FRAGILE if any(v.holds is False and not v.headline for v in variants) else REPRODUCED


def not_testable(claim_id: str, statistic: str, needs: str, evidence: str = "") -> Claim:
    """A claim the data at hand cannot test; ``needs`` says what would make it testable."""
    nan = float("nan")
    return Claim(claim_id, NOT_TESTABLE, statistic, nan, nan, nan, evidence or needs, needs=needs)


def guard_run(claim: Claim, run: Run, cache_based: bool) -> Claim:
    """Random-init or synthetic outputs never judge a claim: a cache-based claim on such a run is
    reported as not testable, with its computed numbers kept in the evidence."""
    if not cache_based or run.real_results or claim.tier == NOT_TESTABLE:
        return claim
    return replace(claim, tier=NOT_TESTABLE, needs="caches of real weights (profile 'full')",
                   evidence=f"{run.banner}: never judged. " + claim.evidence)


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
