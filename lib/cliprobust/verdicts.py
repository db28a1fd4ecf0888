"""How a claim is judged: outcomes, rules with margins, the multiverse engine, tiers, operating characteristics.

Bottom layer (numpy and pandas only): :mod:`cliprobust.claim_figures` and every section import it.
The principle (``docs/claims.md``):

- **A margin per claim**: the smallest effect that would matter, declared with its reason.
- **Three outcomes per protocol** (:class:`Outcome`) from where the interval lies relative to zero
  and the margin (:class:`Rule`): a directional claim is *supported* when its interval excludes
  zero in the claimed direction and *contradicted* when it excludes every effect as large as the
  margin; a "no effect" claim is an equivalence test (TOST: the interval inside ±margin supports,
  an interval wholly beyond the margin contradicts); a negation ("not better") is supported by an
  interval that excludes a meaningful improvement, with no extra burden.
- **One multiverse engine**: a claim is a headline :class:`Spec` (the paper's own reading) plus a
  table of variant specs (stricter and looser readings, other defensible choices), evaluated by
  :func:`evaluate`; breaking / holding variants, evidence tails and the notebooks' check lines all
  come from :class:`Claim`.
- **Symmetric tiers** (:func:`judge`): reproduced (headline supports, no variant contradicts),
  contradicted (headline contradicts, no variant supports), fragile (the outcome turns on named
  variants), inconclusive (the data cannot tell), not testable here.
- **Operating characteristics** (:class:`OperatingCharacteristics`): how often the headline rule says
  "supports" when the effect equals the margin and when it is zero, simulated on the real design.

Method anchors: specification curves (Simonsohn, Simmons & Nelson 2020; Steegen et al. 2016),
equivalence testing (Lakens 2017; Lakens, Scheel & Isager 2018), design analysis (Gelman & Carlin 2014).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- outcomes and rules


class Outcome(str, enum.Enum):
    """What one protocol's interval says about the claim."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    INCONCLUSIVE = "inconclusive"


#: Integer codes of outcomes in vectorised rule evaluations (simulations).
CODE = {Outcome.SUPPORTS: 1, Outcome.INCONCLUSIVE: 0, Outcome.CONTRADICTS: -1}
_FROM_CODE = {v: k for k, v in CODE.items()}

GREATER, LESS, EQUIVALENT, NOT_WORSE = "greater", "less", "equivalent", "not-worse"
RULE_KINDS: tuple[str, ...] = (GREATER, LESS, EQUIVALENT, NOT_WORSE)


@dataclass(frozen=True)
class Rule:
    """Maps an interval ``[low, high]`` of the claim's statistic to an :class:`Outcome`.

    - ``greater`` (the effect is positive and matters): supports when ``low > 0`` and the interval
      does not lie wholly below the margin; contradicts when ``high < margin`` (every effect as large
      as the margin excluded; a significant but negligible effect contradicts a claim that it matters).
    - ``less``: the mirror image (the effect is negative, at least ``margin`` in size).
    - ``equivalent`` (TOST, "X does not matter"): supports when the interval lies inside
      ``(-margin, margin)``; contradicts when it lies wholly beyond ``±margin``; a non-significant
      difference is never evidence of equality, a significant but negligible one never a refutation.
    - ``not-worse`` (a negation, "not better"; the statistic is signed so that positive = the claim's
      side): supports when ``low > -margin`` (a meaningful effect the other way is excluded, no
      significance needed); contradicts when ``high < -margin``.
    """

    kind: str
    margin: float

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"rule kind {self.kind!r} is not one of {RULE_KINDS}")
        if not self.margin >= 0:
            raise ValueError(f"a margin is >= 0, got {self.margin!r}")

    def codes(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Vectorised outcome codes (:data:`CODE`) of intervals ``[low, high]``."""
        low, high, m = np.asarray(low, float), np.asarray(high, float), self.margin
        if self.kind == GREATER:
            sup, con = (low > 0) & (high >= m), high < m
        elif self.kind == LESS:
            sup, con = (high < 0) & (low <= -m), low > -m
        elif self.kind == EQUIVALENT:
            sup, con = (low > -m) & (high < m), (low > m) | (high < -m)
        else:
            sup, con = low > -m, high < -m
        return np.where(con, -1, np.where(sup, 1, 0))

    def outcome(self, low: float, high: float) -> Outcome | None:
        """The outcome of one interval (None when it is not finite: not computable)."""
        if not (np.isfinite(low) and np.isfinite(high)):
            return None
        return _FROM_CODE[int(self.codes(np.array([low]), np.array([high]))[0])]

    def text(self) -> str:
        """How the rule reads, for evidence and docs."""
        m = f"{self.margin:g}"
        return {GREATER: f"interval > 0 supports, interval < {m} contradicts",
                LESS: f"interval < 0 supports, interval > -{m} contradicts",
                EQUIVALENT: f"interval inside ±{m} supports (TOST), wholly beyond ±{m} contradicts",
                NOT_WORSE: f"interval > -{m} supports, interval < -{m} contradicts"}[self.kind]


def all_of(outcomes: Iterable[Outcome | None]) -> Outcome | None:
    """A conjunction ("on every shift"): supports when every part supports, contradicts when any
    part contradicts, else inconclusive; None when no part could be computed."""
    got = [o for o in outcomes if o is not None]
    if not got:
        return None
    if Outcome.CONTRADICTS in got:
        return Outcome.CONTRADICTS
    return Outcome.SUPPORTS if all(o is Outcome.SUPPORTS for o in got) else Outcome.INCONCLUSIVE


def any_of(outcomes: Iterable[Outcome | None]) -> Outcome | None:
    """A disjunction ("some CLIP is not better"): supports when any part supports, contradicts
    when every part contradicts, else inconclusive; None when no part could be computed."""
    got = [o for o in outcomes if o is not None]
    if not got:
        return None
    if Outcome.SUPPORTS in got:
        return Outcome.SUPPORTS
    return Outcome.CONTRADICTS if all(o is Outcome.CONTRADICTS for o in got) else Outcome.INCONCLUSIVE


# --------------------------------------------------------------------------- estimates and specs


@dataclass(frozen=True)
class Estimate:
    """A protocol's statistic with its 95 % interval and the rule's outcome (None: not computable)."""

    value: float
    low: float
    high: float
    outcome: Outcome | None
    n: int | None = None
    note: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def judged(cls, rule: Rule, value: float, low: float, high: float, n: int | None = None, note: str = "",
               detail: Mapping[str, Any] | None = None) -> "Estimate":
        """An estimate whose outcome is ``rule``'s verdict on ``[low, high]``."""
        return cls(float(value), float(low), float(high), rule.outcome(low, high), n, note, detail or {})

    @classmethod
    def missing(cls, note: str, n: int | None = 0) -> "Estimate":
        """A protocol that cannot be computed from the data at hand (``note`` says why)."""
        nan = float("nan")
        return cls(nan, nan, nan, None, n, note)


@dataclass(frozen=True)
class Spec:
    """One protocol of a claim's multiverse, as data: a name (``option=value``), what it changes,
    and the function that computes its :class:`Estimate`."""

    name: str
    description: str
    compute: Callable[[], Estimate]


def option_specs(rows: Iterable[tuple[str, str, Mapping[str, Any]]], options: Any,
                 compute: Callable[[Any], Estimate]) -> list[Spec]:
    """Variant specs from a claim's table of option changes: each row ``(name, description, changes)``
    is ``compute(options.but(**changes))``; a row that changes nothing (it is the headline) is left out."""
    specs = []
    for name, description, changes in rows:
        alt = options.but(**changes)
        if alt != options:
            specs.append(Spec(name, description, functools.partial(compute, alt)))
    return specs


def leave_one_out(items: Sequence[Any], compute: Callable[[list[Any]], Estimate]) -> Estimate:
    """Each item left out in turn: the worst case (the outcome furthest from "supports", then the
    smallest value), with the combined outcome of :func:`all_of` and the left-out item in the note."""
    runs = [(item, compute([x for x in items if x != item])) for item in items]
    runs = [(item, e) for item, e in runs if e.outcome is not None]
    if not runs:
        return Estimate.missing("not computable with any item left out")
    item, worst = min(runs, key=lambda r: (CODE[r[1].outcome], r[1].value))
    combined = all_of(e.outcome for _, e in runs)
    return replace(worst, outcome=combined, note=f"worst without {item}" + (f"; {worst.note}" if worst.note else ""))


# --------------------------------------------------------------------------- variants, tiers, claims

REPRODUCED, CONTRADICTED, FRAGILE, INCONCLUSIVE, NOT_TESTABLE = (
    "reproduced", "contradicted", "fragile", "inconclusive", "not testable here")
#: The five verdict tiers, in display order.
TIERS: tuple[str, ...] = (REPRODUCED, FRAGILE, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)


@dataclass(frozen=True)
class Variant:
    """One evaluated protocol of a claim's multiverse (a row of the specification curve)."""

    name: str
    description: str
    value: float
    low: float = float("nan")
    high: float = float("nan")
    outcome: str | None = None
    headline: bool = False
    n: int | None = None
    note: str = ""

    @classmethod
    def of(cls, spec: Spec, estimate: Estimate, headline: bool = False) -> "Variant":
        out = estimate.outcome.value if estimate.outcome is not None else None
        return cls(spec.name, spec.description, estimate.value, estimate.low, estimate.high, out, headline,
                    estimate.n, estimate.note)


def judge(headline: Outcome | str | None, variants: Iterable[Outcome | str | None]) -> str:
    """The tier from the headline's outcome and the variants' (symmetric: a variant moves a verdict
    either way). Headline not computable → not testable here; supports → fragile if any variant
    contradicts, else reproduced; contradicts → fragile if any variant supports, else contradicted;
    inconclusive → fragile if variants reach both supports and contradicts, else inconclusive."""
    if headline is None:
        return NOT_TESTABLE
    head = Outcome(headline)
    got = {Outcome(v) for v in variants if v is not None}
    if head is Outcome.SUPPORTS:
        return FRAGILE if Outcome.CONTRADICTS in got else REPRODUCED
    if head is Outcome.CONTRADICTS:
        return FRAGILE if Outcome.SUPPORTS in got else CONTRADICTED
    return FRAGILE if {Outcome.SUPPORTS, Outcome.CONTRADICTS} <= got else INCONCLUSIVE


@dataclass(frozen=True)
class OperatingCharacteristics:
    """How often the headline rule says "supports" on the claim's own design, simulated with the
    effect at the margin and at zero (or where the claim is false); ``method`` says how."""

    supports_at_margin: float
    supports_at_zero: float
    contradicts_at_zero: float
    n_sims: int
    method: str

    def reachable(self) -> bool:
        """False when the rule cannot reach "supports" on this design (< 5 %) where the claim holds:
        at the margin for a directional rule, at zero for an equivalence or not-worse rule (whose
        margin is where the claim turns false, so "supports" there is its error rate, ~alpha)."""
        return max(self.supports_at_margin, self.supports_at_zero) >= 0.05

    def text(self) -> str:
        return (f"operating characteristics ({self.method}, {self.n_sims} simulations): says 'supports' "
                f"{self.supports_at_margin:.0%} of the time at the margin, {self.supports_at_zero:.0%} at zero")


@dataclass(frozen=True)
class Claim:
    """The result of one claim: tier, headline protocol's statistic, interval and outcome, margin,
    evidence, the evaluated multiverse and the headline rule's operating characteristics."""

    id: str
    tier: str
    statistic: str
    value: float
    low: float
    high: float
    evidence: str
    variants: tuple[Variant, ...] = ()
    rule: Rule | None = None
    needs: str = ""
    oc: OperatingCharacteristics | None = None
    numbers: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"{self.id}: tier {self.tier!r} is not one of {TIERS}")
        if self.tier == NOT_TESTABLE and not self.needs:
            raise ValueError(f"{self.id}: a not-testable claim must say which input would make it testable")
        object.__setattr__(self, "variants", tuple(self.variants))
        if self.tier == FRAGILE and not self.turning_variants:
            raise ValueError(f"{self.id}: a fragile claim must name the variant(s) it turns on")

    @property
    def margin(self) -> float:
        """The smallest effect that matters (the headline rule's margin; NaN without a rule)."""
        return self.rule.margin if self.rule is not None else float("nan")

    @property
    def outcome(self) -> str | None:
        """The headline protocol's outcome (None when not computable)."""
        head = [v for v in self.variants if v.headline]
        return head[0].outcome if head else None

    def _others(self, outcome: str) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants if v.outcome == outcome and not v.headline)

    @property
    def supporting_variants(self) -> tuple[str, ...]:
        return self._others(Outcome.SUPPORTS.value)

    @property
    def contradicting_variants(self) -> tuple[str, ...]:
        return self._others(Outcome.CONTRADICTS.value)

    @property
    def inconclusive_variants(self) -> tuple[str, ...]:
        return self._others(Outcome.INCONCLUSIVE.value)

    @property
    def breaking_variants(self) -> tuple[str, ...]:
        """The variants whose conclusive outcome goes against the headline's (those that would
        move the verdict): contradicting ones under a supporting headline and vice versa."""
        if self.outcome == Outcome.SUPPORTS.value:
            return self.contradicting_variants
        if self.outcome == Outcome.CONTRADICTS.value:
            return self.supporting_variants
        return ()

    @property
    def turning_variants(self) -> tuple[str, ...]:
        """The variants the tier turns on: the breaking ones, or for an inconclusive headline every
        conclusive variant."""
        if self.outcome == Outcome.INCONCLUSIVE.value:
            return self.supporting_variants + self.contradicting_variants
        return self.breaking_variants

    @property
    def multiverse_note(self) -> str:
        """What the multiverse says, in one line."""
        if not self.variants or self.tier == NOT_TESTABLE:
            return ""
        parts = []
        if self.supporting_variants and self.outcome != Outcome.SUPPORTS.value:
            parts.append("supported under " + ", ".join(self.supporting_variants))
        if self.contradicting_variants and self.outcome != Outcome.CONTRADICTS.value:
            parts.append("contradicted under " + ", ".join(self.contradicting_variants))
        n = len(self.variants) - 1
        return "; ".join(parts) if parts else f"every variant agrees or is inconclusive ({n} variants)"

    def counts(self) -> dict[str, int]:
        """Number of non-headline variants per outcome (and not computed)."""
        others = [v for v in self.variants if not v.headline]
        out = {o.value: sum(v.outcome == o.value for v in others) for o in Outcome}
        out["not computed"] = sum(v.outcome is None for v in others)
        return out

    def variants_frame(self) -> pd.DataFrame:
        """Tidy multiverse table: one row per variant with its outcome."""
        cols = [f.name for f in fields(Variant)]
        rows = [{"claim": self.id, **{c: getattr(v, c) for c in cols}} for v in self.variants]
        return pd.DataFrame(rows, columns=["claim", *cols])

    def row(self) -> dict[str, Any]:
        """One row of the claims table."""
        c = self.counts()
        oc = self.oc
        return {"claim": self.id, "tier": self.tier, "outcome": self.outcome, "statistic": self.statistic,
                "value": self.value, "low": self.low, "high": self.high, "margin": self.margin, "rule": self.rule.text() if self.rule else "",
                "n_supports": c["supports"], "n_contradicts": c["contradicts"],
                "n_inconclusive": c["inconclusive"], "n_not_computed": c["not computed"],
                "n_variants": len(self.variants),
                "oc_supports_at_margin": oc.supports_at_margin if oc else float("nan"),
                "oc_supports_at_zero": oc.supports_at_zero if oc else float("nan"),
                "breaking_variants": ", ".join(self.breaking_variants), "multiverse_note": self.multiverse_note,
                "evidence": self.evidence, "needs": self.needs}

    def check_line(self) -> str:
        """The one line a notebook's final cell prints for this claim (nbval compares it)."""
        if self.tier == NOT_TESTABLE or not np.isfinite(self.value):
            return f"{self.id}: {self.tier} | needs {self.needs}"
        c = self.counts()
        oc = f" | OC supports {self.oc.supports_at_margin:.2f} at margin, {self.oc.supports_at_zero:.2f} at 0" \
            if self.oc else ""
        return (f"{self.id}: {self.tier} | headline {self.outcome}: {self.statistic} = {self.value:.3f} "
                f"[{self.low:.3f}, {self.high:.3f}], margin {self.margin:g} | variants {c['supports']} support, "
                f"{c['contradicts']} contradict, {c['inconclusive']} inconclusive{oc}")


def not_testable(claim_id: str, statistic: str, needs: str, evidence: str = "", rule: Rule | None = None) -> Claim:
    """A claim the data at hand cannot test; ``needs`` says what would make it testable."""
    nan = float("nan")
    return Claim(claim_id, NOT_TESTABLE, statistic, nan, nan, nan, evidence or needs, rule=rule, needs=needs)


def evaluate(claim_id: str, statistic: str, headline: Spec, variants: Sequence[Spec], *, rule: Rule,
             needs: str, evidence: Callable[[Estimate], str] | str = "",
             oc: Callable[[Estimate], OperatingCharacteristics | None] | None = None,
             numbers: Mapping[str, Any] | None = None) -> Claim:
    """The one multiverse engine: compute the headline and every variant spec, judge the tier, and
    assemble the :class:`Claim`. ``needs`` is what would make the claim testable when the headline
    cannot be computed; ``evidence`` (text, or a function of the headline estimate) gets the
    multiverse and the rule's operating characteristics appended; ``oc`` simulates the latter."""
    head = headline.compute()
    if head.outcome is None:
        return not_testable(claim_id, statistic, needs, head.note, rule)
    rows = [Variant.of(headline, head, headline=True)]
    rows += [Variant.of(s, s.compute()) for s in variants]
    tier = judge(head.outcome, [v.outcome for v in rows[1:]])
    chars = oc(head) if oc is not None else None
    text = evidence(head) if callable(evidence) else evidence
    claim = Claim(claim_id, tier, statistic, head.value, head.low, head.high, text, tuple(rows), rule, "", chars,
                  dict(numbers or {}, headline=head))
    return replace(claim, evidence=_evidence_tail(claim))


def _evidence_tail(claim: Claim) -> str:
    """Evidence + rule + multiverse + operating characteristics, one paragraph."""
    parts = [claim.evidence.rstrip(". ")] if claim.evidence else []
    parts.append(f"Rule: {claim.rule.text() if claim.rule else 'none'}; headline {claim.outcome}")
    parts.append(f"Multiverse: {claim.multiverse_note}")
    if claim.oc is not None:
        parts.append(claim.oc.text().capitalize())
        if not claim.oc.reachable():
            parts.append(_unreachable_sentence(claim.outcome))
    return ". ".join(parts) + "."


def _unreachable_sentence(outcome: str | None) -> str:
    """What a rule that rarely says "supports" on its own design means for this claim's outcome."""
    if outcome == Outcome.SUPPORTS.value:
        return ("At an effect equal to the margin this rule would rarely say 'supports' on this design: the support "
                "here comes from effects well above the margin")
    return ("This rule cannot reach 'supports' on this design for an effect at the margin: an absence of support "
            "here is no evidence against the claim")


# --------------------------------------------------------------------------- operating characteristics

#: Simulations per operating-characteristic estimate (binomial SE of a rate <= 0.011).
N_OC_SIMS = 2000
#: Seed of every operating-characteristic simulation (fixed: a re-run prints the same rates).
OC_SEED = 20231210


def normal_design_oc(rule: Rule, estimate: Estimate, n_sims: int = N_OC_SIMS, seed: int = OC_SEED,
                     effect_at_margin: float | None = None) -> OperatingCharacteristics:
    """Operating characteristics of ``rule`` for a statistic measured with the headline's own noise:
    the estimate's sampling distribution is taken as normal with the interval's half-widths
    (asymmetry kept), centred at the margin (``effect_at_margin``, default ``+margin`` for greater and
    equivalent, ``-margin`` for less and not-worse) and at zero; each simulated estimate gets the
    headline's interval shape and is judged by the rule (a design analysis, Gelman & Carlin 2014)."""
    below, above = estimate.value - estimate.low, estimate.high - estimate.value
    se = max((below + above) / (2 * 1.959964), 1e-12)
    z = np.random.default_rng(seed).standard_normal(n_sims)
    at_margin = effect_at_margin if effect_at_margin is not None else (
        -rule.margin if rule.kind in (LESS, NOT_WORSE) else rule.margin)

    def rates(effect: float) -> np.ndarray:
        est = effect + se * z
        return rule.codes(est - below, est + above)

    m, zero = rates(at_margin), rates(0.0)
    return OperatingCharacteristics(float((m == 1).mean()), float((zero == 1).mean()), float((zero == -1).mean()),
                                    n_sims, "normal approximation with the headline interval's widths")


def simulated_oc(simulate: Callable[[float, np.random.Generator, int], np.ndarray], margin_effect: float,
                 zero_effect: float = 0.0, n_sims: int = N_OC_SIMS, seed: int = OC_SEED,
                 method: str = "simulated on the claim's design") -> OperatingCharacteristics:
    """Operating characteristics from a claim's own simulator: ``simulate(effect, rng, n)`` returns
    ``n`` outcome codes (:data:`CODE`) of the headline rule on data drawn with the true ``effect``."""
    m = np.asarray(simulate(margin_effect, np.random.default_rng(seed), n_sims))
    z = np.asarray(simulate(zero_effect, np.random.default_rng(seed + 1), n_sims))
    return OperatingCharacteristics(float((m == 1).mean()), float((z == 1).mean()), float((z == -1).mean()),
                                    n_sims, method)


def share_oc(rule: Rule, n: int, interval: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
             margin_share: float | None = None, zero_share: float = 0.0) -> OperatingCharacteristics:
    """Operating characteristics of a rule on a share of ``n`` units (models) with a binomial
    interval (``interval(k, n)``, e.g. ``metrics.stats.wilson_interval``): ``k ~ Binomial(n, share)``
    with the share at ``margin_share`` (default the rule's margin) and at ``zero_share``."""

    def draw(share: float, rng: np.random.Generator, n_sims: int) -> np.ndarray:
        low, high = interval(rng.binomial(n, share, n_sims), n)
        return rule.codes(low, high)

    at = rule.margin if margin_share is None else margin_share
    return simulated_oc(draw, at, zero_share, method=f"binomial draws of {n} models, the headline's interval")


def guard_run(claim: Claim, random_or_synthetic_banner: str | None, cache_based: bool) -> Claim:
    """Random-init or synthetic outputs never judge a claim: a cache-based claim on such a run is
    reported as not testable (``random_or_synthetic_banner`` is the run's banner), its numbers kept."""
    if not cache_based or random_or_synthetic_banner is None or claim.tier == NOT_TESTABLE:
        return claim
    return replace(claim, tier=NOT_TESTABLE, needs="caches of real weights (profile 'full')",
                   evidence=f"{random_or_synthetic_banner}: never judged. " + claim.evidence)
