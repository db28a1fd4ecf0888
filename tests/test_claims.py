"""Section 08 (claims checklist): the registry and its one dispatch path, the tier rules on synthetic
multiverses, the run guard, and the published-profile tiers pinned with their breaking variants (a
changed tier or a changed set of breaking variants fails, naming the claim and the variants).

Runs every claim function once (memoized in ``sections.claims``): about a minute on 2 cores.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from cliprobust.sections import _base as B
from cliprobust.sections import claims as S

#: Published-profile tier and breaking variants of every claim, as the published data give them.
#: Change only on purpose (a section's protocol or a published table changed), and say why.
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    'C1': ('not reproduced', ('model=rn50', 'model=vit-b-16', 'eval=modelvshuman', 'eval=modelvshuman-rn50', 'baseline=testbed-more-data', 'baseline=testbed-robust-intv', 'baseline=testbed-lp-adv', 'baseline=testbed-low-accuracy-cnn', 'baseline=imagenetx-modelvshuman', 'correction=none', 'min-effect=0.01')),
    'C2': ('not testable here', ()),
    'C3': ('fragile', ('unit=model',)),
    'C4': ('not testable here', ()),
    'C5': ('fragile', ('source=ig1b-swsl', 'source=yfc-semisl', 'score=max_logit', 'score=entropy', 'score=odin', 'ood-auroc=hardest', 'protocol=ninco-fixed-ood')),
    'C6': ('fragile', ('score=best', 'benchmark=ninco-classes')),
    'C7': ('not reproduced', ('window=0.02', 'window=0.01', 'neighbours=10-nearest', 'reference=cood-imagenet-1k')),
    'C8': ('not testable here', ()),
    'C9': ('not testable here', ()),
    'C10': ('reproduced', ()),
    'C11': ('not reproduced', ('shift=imagenet-v2', 'shift=imagenet-r', 'shift=objectnet', 'shift=imagenet-a', 'drop-source=LAION-400M', 'drop-source=LAION-2B', 'drop-distribution=LAION', 'drop-distribution=WIT', 'drop-distribution=DataComp', 'model_set=all-open-clip', 'model_set=data-study', 'dedup=plain-rows', 'rule=sd-ratio,drop-source=YFCC-15M', 'rule=no-size-trend')),
    'C12': ('reproduced', ()),
    'C13': ('not testable here', ()),
    'C14': ('not testable here', ()),
    'C15': ('not testable here', ()),
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


def _variant(name: str, holds: bool | None, value: float = 0.1, headline: bool = False) -> B.Variant:
    return B.Variant(name, f"synthetic {name}", value, value - 0.05, value + 0.05, holds=holds, headline=headline)


def _claim(cid: str, tier: str = B.REPRODUCED) -> B.Claim:
    return B.Claim(cid, tier, "synthetic statistic", 0.1, 0.05, 0.15, "synthetic evidence",
                   (_variant("headline", True, headline=True),))


@pytest.fixture
def fake_section(monkeypatch):
    """Route the dispatch to a fake section module whose claim functions record their runs."""
    calls: list[B.Run] = []

    def claim_c9(run: B.Run = B.Run()) -> B.Claim:
        calls.append(run)
        return _claim("C9")

    fake = types.SimpleNamespace(claim_c9=claim_c9, claim_c10=lambda run=B.Run(): _claim("C11"),
                                 claim_c12=lambda run=B.Run(): {"claim": "C12", "verdict": B.REPRODUCED})
    monkeypatch.setattr(S, "_module", lambda name: fake)
    S.clear_memo()
    yield calls
    S.clear_memo()


def test_dispatch_passes_the_run_and_memoizes_per_claim_and_run(fake_section):
    run = B.Run.from_params("published", score="msp")
    assert S.claim("C9", run) is S.claim("C9", B.Run.from_params("published", score="msp"))
    assert len(fake_section) == 1 and fake_section[0] == run
    S.claim("C9", B.Run.from_params("published", score="energy"))
    assert len(fake_section) == 2  # another run is another computation


def test_dispatch_rejects_a_claim_returned_under_another_id(fake_section):
    with pytest.raises(ValueError, match="returned claim 'C11', expected 'C10'"):
        S.claim("C10")
    with pytest.raises(TypeError, match="returned dict, not a Claim"):
        S.claim("C12")


def test_headline_text():
    row = pd.Series(_claim("C1").row())
    assert S.headline_text(row) == "synthetic statistic = 0.1 [0.05, 0.15]"
    nt = pd.Series(B.not_testable("C2", "s", needs="x").row())
    assert S.headline_text(nt) == "s"


@pytest.mark.parametrize("profile", ["smoke", "rehearsal"])
def test_cache_based_claims_are_never_judged_on_random_or_synthetic_outputs(fake_section, profile):
    assert S.spec("C9").cache_based
    got = S.claim("C9", B.Run(profile))
    assert got.tier == B.NOT_TESTABLE and got.needs and got.evidence.startswith(B.Run(profile).banner)
    assert S.claim("C9", B.Run("full")).tier == B.REPRODUCED  # real weights are judged


def test_guard_run_leaves_published_data_claims_alone():
    judged = _claim("C10")
    for profile in ("smoke", "rehearsal", "published", "full"):
        assert B.guard_run(judged, B.Run(profile), cache_based=False) is judged
    assert B.guard_run(judged, B.Run("published"), cache_based=True) is judged


# --------------------------------------------------------------------------- tier rules on synthetic multiverses


@pytest.mark.parametrize("headline_holds, outcomes, tier", [
    (True, (True, True, None), B.REPRODUCED),  # a variant that cannot be computed never changes the tier
    (True, (True, False, True), B.FRAGILE),
    (False, (True, True), B.NOT_REPRODUCED),
    (False, (False, False), B.NOT_REPRODUCED),
])
def test_judge_on_synthetic_multiverses(headline_holds, outcomes, tier):
    variants = [_variant("headline", headline_holds, headline=True)]
    variants += [_variant(f"v{i}", h) for i, h in enumerate(outcomes)]
    assert B.judge(headline_holds, variants) == tier
    c = B.Claim("Cx", tier, "s", 0.1, 0.05, 0.15, "e", tuple(variants))
    assert c.breaking_variants == tuple(f"v{i}" for i, h in enumerate(outcomes) if h is False)


def test_claim_validation():
    with pytest.raises(ValueError, match="must name the variant"):
        B.Claim("Cx", B.FRAGILE, "s", 0.1, 0.0, 0.2, "e", (_variant("a", True),))
    with pytest.raises(ValueError, match="which input would make it testable"):
        B.Claim("Cx", B.NOT_TESTABLE, "s", np.nan, np.nan, np.nan, "e")
    with pytest.raises(ValueError, match="is not one of"):
        B.Claim("Cx", "verified", "s", 0.1, 0.0, 0.2, "e")
    nt = B.not_testable("Cx", "s", needs="per-sample caches of LAION CLIP models")
    assert nt.tier == B.NOT_TESTABLE and nt.needs.startswith("per-sample") and nt.variants_frame().empty


# --------------------------------------------------------------------------- published profile


@pytest.fixture(scope="module")
def table(mirror) -> pd.DataFrame:
    return S.claims_table(B.Run())


@pytest.mark.parametrize("cid", list(EXPECTED))
def test_published_tier_and_breaking_variants_unchanged(table, cid):
    tier, breaking = EXPECTED[cid]
    got = S.claim(cid, B.Run())
    added, gone = sorted(set(got.breaking_variants) - set(breaking)), sorted(set(breaking) - set(got.breaking_variants))
    assert got.tier == tier and not added and not gone, (
        f"{cid}: tier {got.tier!r} (pinned {tier!r}); variants now breaking the rule: {added or 'none'}; "
        f"no longer breaking: {gone or 'none'}")


def test_claims_table_shape(table):
    assert list(table.columns) == list(S.TABLE_COLUMNS) and list(table["claim"]) == list(S.CLAIM_IDS)
    assert table["tier"].isin(B.TIERS).all() and (table["evidence"].str.len() > 20).all()
    assert sum(S.tier_counts(table).values()) == 15
    assert (table.loc[table["tier"] == B.NOT_TESTABLE, "needs"].str.len() > 0).all()
    assert (table.loc[table["tier"] == B.FRAGILE, "breaking_variants"].str.len() > 0).all()
    judged = table[np.isfinite(table["low"]) & np.isfinite(table["high"])]
    assert ((judged["low"] <= judged["value"]) & (judged["value"] <= judged["high"])).all()


def test_multiverse_has_one_headline_per_claim(table):
    mv = S.multiverse_table(B.Run())
    assert list(mv.columns[:2]) == ["claim", "name"]
    heads = mv.groupby("claim")["headline"].sum()
    assert (heads == 1).all(), heads[heads != 1].to_dict()
    assert set(mv["claim"]) == set(table.loc[table["n_variants"] > 0, "claim"])
