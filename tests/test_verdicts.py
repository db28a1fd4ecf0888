"""The claims engine: rules give three outcomes from an interval, the margin and zero; tiers are
symmetric (a variant moves a verdict either way); the engine assembles claims from spec tables;
operating characteristics match closed-form rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from cliprobust import verdicts as V
from cliprobust.verdicts import Outcome

S, C, I = Outcome.SUPPORTS, Outcome.CONTRADICTS, Outcome.INCONCLUSIVE


@pytest.mark.parametrize("kind,low,high,want", [
    (V.GREATER, 0.01, 0.20, S),       # excludes 0, reaches the margin
    (V.GREATER, 0.01, 0.04, C),       # significant but every value below the margin: does not matter
    (V.GREATER, -0.02, 0.04, C),      # below the margin
    (V.GREATER, -0.01, 0.20, I),      # includes 0 and the margin
    (V.LESS, -0.20, -0.01, S),
    (V.LESS, -0.04, 0.02, C),
    (V.LESS, -0.20, 0.01, I),
    (V.EQUIVALENT, -0.04, 0.04, S),   # inside ±margin (TOST)
    (V.EQUIVALENT, 0.06, 0.09, C),    # wholly beyond the margin
    (V.EQUIVALENT, 0.01, 0.03, S),    # significant but negligible: equivalent, not a refutation
    (V.EQUIVALENT, -0.01, 0.07, I),   # non-significant is never evidence of equality
    (V.NOT_WORSE, -0.04, 0.10, S),    # a meaningful effect the other way excluded: no significance needed
    (V.NOT_WORSE, -0.20, -0.06, C),
    (V.NOT_WORSE, -0.08, 0.02, I),
])
def test_rule_outcomes(kind, low, high, want) -> None:
    assert V.Rule(kind, 0.05).outcome(low, high) is want


def test_rule_not_computable_and_bad_inputs() -> None:
    assert V.Rule(V.GREATER, 0.05).outcome(float("nan"), 0.1) is None
    with pytest.raises(ValueError, match="rule kind"):
        V.Rule("bigger", 0.05)
    with pytest.raises(ValueError, match="margin"):
        V.Rule(V.GREATER, -0.1)


def test_combinators() -> None:
    assert V.all_of([S, S]) is S and V.all_of([S, I]) is I and V.all_of([S, C, None]) is C
    assert V.any_of([C, S]) is S and V.any_of([C, C]) is C and V.any_of([C, I]) is I
    assert V.all_of([None]) is None and V.any_of([]) is None


@pytest.mark.parametrize("head,variants,tier", [
    (S, [S, I, None], V.REPRODUCED),
    (S, [S, C], V.FRAGILE),
    (C, [C, I], V.CONTRADICTED),
    (C, [C, S], V.FRAGILE),
    (I, [I, S], V.INCONCLUSIVE),
    (I, [S, C], V.FRAGILE),
    (I, [], V.INCONCLUSIVE),
    (None, [S], V.NOT_TESTABLE),
])
def test_tiers_are_symmetric(head, variants, tier) -> None:
    assert V.judge(head, variants) == tier


def _spec(name: str, value: float, low: float, high: float, rule: V.Rule) -> V.Spec:
    return V.Spec(name, f"synthetic {name}", lambda: V.Estimate.judged(rule, value, low, high, n=10))


@pytest.mark.parametrize("tier,variants", [
    (V.REPRODUCED, [(0.2, 0.1, 0.3)]),
    (V.FRAGILE, [(0.02, 0.01, 0.03)]),
])
def test_evaluate_builds_the_claim_from_spec_tables(tier, variants) -> None:
    rule = V.Rule(V.GREATER, 0.05)
    specs = [_spec(f"v={i}", *v, rule) for i, v in enumerate(variants)]
    specs.append(V.Spec("v=missing", "no data", lambda: V.Estimate.missing("no such table")))
    claim = V.evaluate("C0", "effect", _spec("head", 0.2, 0.1, 0.3, rule), specs, rule=rule, needs="x",
                       evidence="Synthetic.", oc=lambda est: V.normal_design_oc(rule, est))
    assert claim.tier == tier and claim.outcome == "supports" and claim.margin == 0.05
    assert claim.counts()["not computed"] == 1
    frame = claim.variants_frame()
    want = ["supports", *[rule.outcome(*v[1:]).value for v in variants], "not computed"]
    assert list(frame["outcome"].fillna("not computed")) == want
    assert claim.breaking_variants == (("v=0",) if tier == V.FRAGILE else ())
    assert claim.check_line().startswith(f"C0: {tier} | headline supports: effect = 0.200 [0.100, 0.300]")
    assert "Rule:" in claim.evidence and "Multiverse:" in claim.evidence
    row = claim.row()
    assert row["n_supports"] + row["n_contradicts"] + row["n_inconclusive"] + row["n_not_computed"] == len(specs)


def test_evaluate_without_a_headline_is_not_testable() -> None:
    rule = V.Rule(V.GREATER, 0.05)
    miss = V.Spec("head", "h", lambda: V.Estimate.missing("no caches"))
    claim = V.evaluate("C0", "effect", miss, [], rule=rule, needs="caches of real weights")
    assert claim.tier == V.NOT_TESTABLE and claim.needs == "caches of real weights"


def test_fragile_claim_must_name_its_variants_and_not_testable_its_needs() -> None:
    with pytest.raises(ValueError, match="fragile"):
        V.Claim("C0", V.FRAGILE, "s", 0.1, 0.0, 0.2, "e")
    with pytest.raises(ValueError, match="not-testable"):
        V.Claim("C0", V.NOT_TESTABLE, "s", 0.1, 0.0, 0.2, "e")


def test_leave_one_out_reports_the_worst_and_combines() -> None:
    rule = V.Rule(V.GREATER, 0.05)
    values = {"a": 0.3, "b": 0.01, "c": 0.2}

    def compute(kept):
        v = min(values[k] for k in kept)
        return V.Estimate.judged(rule, v, v - 0.01, v + 0.01)

    out = V.leave_one_out(list(values), compute)
    assert out.outcome is C and out.value == pytest.approx(0.01) and "worst without" in out.note


def test_normal_design_oc_matches_closed_form() -> None:
    """Greater rule, symmetric interval ±1.96 se: P(supports | effect) = P(est > 1.96 se and
    est + 1.96 se >= margin); at zero that is the one-sided 2.5 % false-positive rate."""
    rule, se = V.Rule(V.GREATER, 0.05), 0.01
    est = V.Estimate.judged(rule, 0.2, 0.2 - 1.959964 * se, 0.2 + 1.959964 * se)
    oc = V.normal_design_oc(rule, est, n_sims=40000)
    at_margin = sps.norm.sf((max(1.959964 * se, 0.05 - 1.959964 * se) - 0.05) / se)
    assert oc.supports_at_margin == pytest.approx(at_margin, abs=0.01)
    assert oc.supports_at_zero == pytest.approx(0.0, abs=0.005)  # contradicts first: high < margin at zero
    assert oc.contradicts_at_zero == pytest.approx(sps.norm.cdf((0.05 - 1.959964 * se) / se), abs=0.01)


def test_equivalence_oc_is_tost_power_and_size() -> None:
    rule, se = V.Rule(V.EQUIVALENT, 0.05), 0.01
    est = V.Estimate.judged(rule, 0.0, -1.959964 * se, 1.959964 * se)
    oc = V.normal_design_oc(rule, est, n_sims=40000)
    assert oc.supports_at_margin <= 0.03  # at the margin TOST says "equivalent" at most alpha of the time
    power = sps.norm.cdf((0.05 - 1.959964 * se) / se) - sps.norm.cdf((-0.05 + 1.959964 * se) / se)
    assert oc.supports_at_zero == pytest.approx(power, abs=0.01)


def test_simulated_oc_and_unreachable_rules_say_so() -> None:
    never = V.simulated_oc(lambda effect, rng, n: np.zeros(n, int), margin_effect=0.5, n_sims=100)
    assert not never.reachable()
    rule = V.Rule(V.GREATER, 0.05)
    claim = V.evaluate("C0", "s", _spec("h", 0.2, 0.1, 0.3, rule), [], rule=rule, needs="x",
                       oc=lambda est: never)
    assert "would rarely say 'supports'" in claim.evidence  # a supporting headline: support from larger effects
    weak = V.Spec("h", "h", lambda: V.Estimate.judged(rule, 0.05, -0.05, 0.15))
    claim = V.evaluate("C0", "s", weak, [], rule=rule, needs="x", oc=lambda est: never)
    assert "cannot reach 'supports'" in claim.evidence and "no evidence against" in claim.evidence


def test_guard_keeps_synthetic_runs_from_judging_cache_claims() -> None:
    rule = V.Rule(V.GREATER, 0.05)
    claim = V.evaluate("C0", "s", _spec("h", 0.2, 0.1, 0.3, rule), [], rule=rule, needs="x")
    guarded = V.guard_run(claim, "SYNTHETIC", cache_based=True)
    assert guarded.tier == V.NOT_TESTABLE and guarded.evidence.startswith("SYNTHETIC")
    assert V.guard_run(claim, None, cache_based=True) is claim
    assert V.guard_run(claim, "SYNTHETIC", cache_based=False) is claim


def test_option_specs_evaluate_each_change_and_leave_out_the_headline() -> None:
    from dataclasses import dataclass

    from cliprobust.runs import Options

    @dataclass(frozen=True)
    class _Opts(Options):
        score: str = "msp"
        margin: float = 0.5

    rule = V.Rule(V.GREATER, 0.05)
    rows = (("score=energy", "energy score", {"score": "energy"}), ("score=msp", "the headline", {"score": "msp"}),
            ("strong=0.7", "stricter", {"margin": 0.7, "score": "energy"}))
    seen = []

    def compute(opts):
        seen.append(opts)
        return V.Estimate.judged(rule, 0.1, 0.06, 0.2)

    specs = V.option_specs(rows, _Opts(), compute)
    assert [s.name for s in specs] == ["score=energy", "strong=0.7"] and not seen  # computed only when evaluated
    [s.compute() for s in specs]
    assert seen == [_Opts(score="energy"), _Opts(score="energy", margin=0.7)]
