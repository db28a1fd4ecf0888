"""Section 08 (claims checklist): the registry and its one dispatch path, the run guard, and the
published-profile verdicts pinned: tier, headline outcome and the variants that go against the
headline (a change fails, naming the claim and the variants). The rules, tiers and engine are
tested on synthetic inputs in ``tests/test_verdicts.py``; each claim's rule in its section's tests.

Runs every claim function once (memoized in ``sections.claims``): about a minute on 2 cores.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from cliprobust import verdicts as V
from cliprobust.runs import Run
from cliprobust.sections import claims as S

#: Published-profile tier, headline outcome and the variants whose outcome goes against the
#: headline's, as the published data give them. Change only on purpose (a section's protocol or a
#: published table changed), and say why.
EXPECTED: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    'C1': ('reproduced', 'supports', ()),
    'C2': ('not testable here', None, ()),
    'C3': ('fragile', 'supports', ('stylized=compared',)),
    'C4': ('not testable here', None, ()),
    'C5': ('reproduced', 'supports', ()),
    'C6': ('fragile', 'supports', ('scores=cosine-both', 'benchmarks=ninco-classes')),
    'C7': ('reproduced', 'supports', ()),
    'C8': ('not testable here', None, ()),
    'C9': ('not testable here', None, ()),
    'C10': ('reproduced', 'supports', ()),
    'C11': ('inconclusive', 'inconclusive', ()),
    'C12': ('reproduced', 'supports', ()),
    'C13': ('not testable here', None, ()),
    'C14': ('not testable here', None, ()),
    'C15': ('not testable here', None, ()),
}


# --------------------------------------------------------------------------- registry and dispatch


def test_registry_covers_the_15_claims_in_order():
    assert S.CLAIM_IDS == tuple(f"C{i}" for i in range(1, 16)) == tuple(EXPECTED)
    assert all(s.function == f"claim_{s.id.lower()}" for s in S.CLAIMS)
    with pytest.raises(KeyError, match="unknown claim"):
        S.spec("C16")
    with pytest.raises(AttributeError):
        S.CLAIMS[0].id = "C99"  # frozen


@pytest.mark.parametrize("s", S.CLAIMS, ids=lambda s: s.id)
def test_every_claim_names_an_existing_section_function(s):
    assert callable(getattr(S._module(s.module), s.function))


def _claim(cid: str) -> V.Claim:
    rule = V.Rule(V.GREATER, 0.05)
    head = V.Spec("headline", "synthetic", lambda: V.Estimate.judged(rule, 0.1, 0.06, 0.15))
    return V.evaluate(cid, "synthetic statistic", head, [], rule=rule, needs="x", evidence="synthetic evidence")


@pytest.fixture
def fake_section(monkeypatch):
    """Route the dispatch to a fake section module whose claim functions record their runs."""
    calls: list[Run] = []

    def claim_c9(run: Run = Run()) -> V.Claim:
        calls.append(run)
        return _claim("C9")

    fake = types.SimpleNamespace(claim_c9=claim_c9, claim_c10=lambda run=Run(): _claim("C11"),
                                 claim_c12=lambda run=Run(): {"claim": "C12", "tier": V.REPRODUCED})
    monkeypatch.setattr(S, "_module", lambda name: fake)
    S.clear_memo()
    yield calls
    S.clear_memo()


def test_dispatch_passes_the_run_and_memoizes_per_claim_and_run(fake_section):
    run = Run("published")
    assert S.claim("C9", run) is S.claim("C9", Run("published"))
    assert len(fake_section) == 1 and fake_section[0] == run
    S.claim("C9", Run("full"))
    assert len(fake_section) == 2  # another run is another computation


def test_dispatch_rejects_a_claim_returned_under_another_id(fake_section):
    with pytest.raises(ValueError, match="returned claim 'C11', expected 'C10'"):
        S.claim("C10")
    with pytest.raises(TypeError, match="returned dict, not a Claim"):
        S.claim("C12")


@pytest.mark.parametrize("profile", ["smoke", "rehearsal"])
def test_cache_based_claims_are_never_judged_on_random_or_synthetic_outputs(fake_section, profile):
    assert S.spec("C9").cache_based
    got = S.claim("C9", Run(profile))
    assert got.tier == V.NOT_TESTABLE and got.needs and got.evidence.startswith(Run(profile).banner)
    assert S.claim("C9", Run("full")).tier == V.REPRODUCED  # real weights are judged


def test_guard_run_leaves_published_data_claims_alone():
    judged = _claim("C10")
    for profile in ("smoke", "rehearsal", "published", "full"):
        assert V.guard_run(judged, Run(profile).banner, cache_based=False) is judged
    assert V.guard_run(judged, Run("published").banner, cache_based=True) is judged


# --------------------------------------------------------------------------- published profile


@pytest.fixture(scope="module")
def table(mirror) -> pd.DataFrame:
    return S.claims_table(Run())


@pytest.mark.parametrize("cid", list(EXPECTED))
def test_published_verdicts_unchanged(table, cid):
    tier, outcome, breaking = EXPECTED[cid]
    got = S.claim(cid, Run())
    added, gone = sorted(set(got.breaking_variants) - set(breaking)), sorted(set(breaking) - set(got.breaking_variants))
    assert got.tier == tier and got.outcome == outcome and not added and not gone, (
        f"{cid}: tier {got.tier!r} (pinned {tier!r}), headline {got.outcome!r} (pinned {outcome!r}); variants now "
        f"against the headline: {added or 'none'}; no longer: {gone or 'none'}")


def test_every_claim_is_pinned():
    assert tuple(EXPECTED) == S.CLAIM_IDS


def test_claims_table_shape(table):
    assert list(table.columns) == list(S.TABLE_COLUMNS) and list(table["claim"]) == list(S.CLAIM_IDS)
    assert table["tier"].isin(V.TIERS).all() and (table["evidence"].str.len() > 20).all()
    assert sum(S.tier_counts(table).values()) == 15
    assert (table.loc[table["tier"] == V.NOT_TESTABLE, "needs"].str.len() > 0).all()
    judged = table[table["tier"] != V.NOT_TESTABLE]
    assert judged["margin"].notna().all() and judged["outcome"].isin([o.value for o in V.Outcome]).all()
    assert judged["oc_supports_at_margin"].between(0, 1).all() and judged["oc_supports_at_zero"].between(0, 1).all()
    counted = judged[["n_supports", "n_contradicts", "n_inconclusive", "n_not_computed"]].sum(axis=1)
    assert (counted == judged["n_variants"] - 1).all()
    finite = judged[np.isfinite(judged["low"]) & np.isfinite(judged["high"])]
    assert ((finite["low"] <= finite["value"]) & (finite["value"] <= finite["high"])).all()


def test_multiverse_has_one_headline_per_claim_and_an_outcome_per_variant(table):
    mv = S.multiverse_table(Run())
    assert list(mv.columns[:2]) == ["claim", "name"] and "outcome" in mv.columns
    heads = mv.groupby("claim")["headline"].sum()
    assert (heads == 1).all(), heads[heads != 1].to_dict()
    assert set(mv["claim"]) == set(table.loc[table["n_variants"] > 0, "claim"])
    assert mv["outcome"].dropna().isin([o.value for o in V.Outcome]).all()
