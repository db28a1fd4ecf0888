"""Section 08 (claims checklist): every claim's published-profile verdict is pinned here, so a change fails CI.

Runs every claim function once (memoized in ``sections.claims``): about a minute on 2 cores.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cliprobust.sections import claims as S

#: Published-profile verdicts (no per-sample caches in the repository). Change only on purpose.
EXPECTED_VERDICTS: dict[str, str] = {
    "C1": "reproduced", "C2": "not testable here", "C3": "reproduced", "C4": "not testable here",
    "C5": "reproduced", "C6": "reproduced", "C7": "not testable here", "C8": "not testable here",
    "C9": "not testable here", "C10": "reproduced", "C11": "reproduced", "C12": "reproduced",
    "C13": "not testable here", "C14": "not testable here", "C15": "not testable here",
}


def test_registry_covers_the_15_claims_in_order():
    assert S.CLAIM_IDS == tuple(f"C{i}" for i in range(1, 16)) == tuple(EXPECTED_VERDICTS)
    assert set(S.RUNNERS) == set(S.CLAIM_IDS)
    with pytest.raises(KeyError, match="unknown claim"):
        S.spec("C16")


def test_sections_share_the_canonical_verdicts():
    from cliprobust.sections import outlier_features, test_time_prompts

    assert S.VERDICTS == ("reproduced", "not reproduced", "not testable here")
    for mod in (outlier_features, test_time_prompts):
        assert (mod.REPRODUCED, mod.NOT_REPRODUCED, mod.NOT_TESTABLE) == S.VERDICTS


def test_smoke_guard_never_judges_cache_claims():
    judged = {"claim": "C9", "verdict": "reproduced", "evidence": "x"}
    assert S._smoke_guard(judged)["verdict"] == S.NOT_TESTABLE
    assert S._smoke_guard({**judged, "verdict": S.NOT_TESTABLE}) == {**judged, "verdict": S.NOT_TESTABLE}
    assert {"C2", "C4", "C7", "C8", "C9", "C13", "C14", "C15"} == S.CACHE_CLAIMS


@pytest.fixture(scope="module")
def table(mirror) -> pd.DataFrame:
    return S.claims_table("published")


@pytest.mark.parametrize("claim", list(EXPECTED_VERDICTS))
def test_published_verdict_unchanged(table, claim):
    got = table.set_index("claim").loc[claim, "verdict"]
    assert got == EXPECTED_VERDICTS[claim], f"{claim} verdict changed: expected {EXPECTED_VERDICTS[claim]}, got {got}"


def test_claims_table_shape(table):
    assert list(table["claim"]) == list(S.CLAIM_IDS)
    assert table["verdict"].isin(S.VERDICTS).all() and (table["evidence"].str.len() > 20).all()
    assert (table["evidence_short"].str.len() <= S.EVIDENCE_WIDTH).all()
    assert sum(S.verdict_counts(table).values()) == 15
    untestable = table[table["verdict"] == S.NOT_TESTABLE]
    assert untestable["evidence"].str.contains("need|needs", regex=True).all()  # names the missing input
