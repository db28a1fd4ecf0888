"""Section 05 claims on the verdicts engine: C7 (a CLIP's ECE bound vs published reference ECEs; the
cache variants on CLIP ECE itself) and C8 (after temperature scaling), every outcome and tier
reachable on synthetic inputs built for it, and the rules' operating characteristics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliprobust.runs import Run
from cliprobust.sections import calibration as sec
from cliprobust.sections.calibration import c7, c8
from cliprobust.verdicts import (CONTRADICTED, FRAGILE, INCONCLUSIVE, NOT_TESTABLE, NOT_WORSE, REPRODUCED,
                                 Outcome, Rule)

# --------------------------------------------------------------------------- synthetic published inputs


def _gap_rows(clip_gap: float, n_clip: int = 6, seed: int = 0) -> pd.DataFrame:
    """confidence_gaps-shaped rows: n_clip zero-shot CLIPs at 0.64-0.76 top-1 with |gap| ~ clip_gap."""
    rng = np.random.default_rng(seed)
    acc = np.linspace(0.64, 0.76, n_clip)
    gap = clip_gap + rng.normal(0, 0.001, n_clip)
    return pd.DataFrame({"name": [f"clip{i}" for i in range(n_clip)], "family": "clip-zeroshot",
                         "source": "clip-zeroshot", "id_top1": acc, "mean_confidence": acc + gap, "gap": gap,
                         "abs_gap": np.abs(gap), "broken": False})


def _cood(g: pd.DataFrame) -> pd.DataFrame:
    """COOD-shaped softmax rows from confidence_gaps-shaped rows."""
    return pd.DataFrame({"model": "cood:" + g["name"], "family": g["family"], "name": g["name"],
                         "confidence": "softmax", "severity": 0, "ood_auroc": 0.8, "id_top1": g["id_top1"],
                         "id_avg_conf": g["mean_confidence"]})


def _ix_ub(ece: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published-ECE tables with every reference model at ``ece``, spread over 0.62-0.78 top-1."""
    acc = np.linspace(0.62, 0.78, 4)
    ix = pd.DataFrame({"model": [f"imagenetx:m{i}" for i in range(4)], "accuracy": acc, "ece": ece,
                       "mean_confidence": acc + ece})
    ub = pd.DataFrame({"arch": "ResNet-50", "method": [f"m{i}" for i in range(8)], "test_set": "imagenet",
                       "top1": np.linspace(0.62, 0.78, 8), "ece": ece, "nll": 1.0, "suspect": False})
    return ix, ub


def _c7(clip_gap: float, ref_ece: float, run: Run = Run(), table: pd.DataFrame | None = None):
    ix, ub = _ix_ub(ref_ece)
    return sec.claim_c7(run, cood=_cood(_gap_rows(clip_gap)), ix=ix, ub=ub, cache_table=table)


# --------------------------------------------------------------------------- C7 on published data


def test_matched_bounds_by_brute_force():
    g = _gap_rows(0.03)
    ix, ub = _ix_ub(0.02)
    ix["ece"] = [0.01, 0.02, 0.03, 0.04]
    ref = c7.reference_models("published-ece", ix, ub)
    assert len(ref) == 12
    for compare, f in (("median", np.median), ("best-calibrated", np.min), ("worst-calibrated", np.max)):
        t = c7.matched_bounds(g, ref, 0.03, compare)
        for r in t.itertuples():
            near = (ref["id_top1"] - r.id_top1).abs() <= 0.03 + 1e-12
            assert r.n_ref == near.sum()
            assert r.ref_ece == pytest.approx(f(ref.loc[near, "ece"]))
            assert r.b == pytest.approx(r.abs_gap - r.ref_ece) and r.low <= r.b <= r.high
    bonf, plain = c7.matched_bounds(g, ref, 0.03), c7.matched_bounds(g, ref, 0.03, correction="none")
    assert ((bonf["high"] - bonf["low"]) > (plain["high"] - plain["low"])).all()  # simultaneous intervals are wider


def test_c7_supports_when_some_clip_bound_exceeds_references():
    c = _c7(clip_gap=0.06, ref_ece=0.02)
    assert c.tier == REPRODUCED and c.outcome == "supports" and c.low > -c7.C7_MARGIN
    assert c.margin == c7.C7_MARGIN and sum(v.headline for v in c.variants) == 1
    assert "'contradicts' is unreachable" in c.evidence


def test_c7_never_contradicts_from_a_lower_bound():
    """Every CLIP's bound far below the references' ECE: the bound cannot show them better."""
    c = _c7(clip_gap=0.0, ref_ece=0.2)
    t = c.numbers["headline"].detail["table"]
    assert (t["high"] < -c7.C7_MARGIN).all()  # Rule(NOT_WORSE) alone would say "contradicts" for each
    assert c.tier == INCONCLUSIVE and c.outcome == "inconclusive"
    assert c.counts()["contradicts"] == 0


def test_c7_not_testable_without_matched_references():
    ix, ub = _ix_ub(0.02)
    far = _gap_rows(0.05).assign(id_top1=0.3)
    c = sec.claim_c7(cood=_cood(far), ix=ix, ub=ub)
    assert c.tier == NOT_TESTABLE and "LAION-80M" in c.needs


def test_c7_options_move_the_headline():
    c = _c7(0.06, 0.02, Run.from_params("published", sec.Options, match_window=0.02, compare="worst-calibrated"))
    head = [v for v in c.variants if v.headline][0]
    assert "window=0.02" in head.name and "compare=worst-calibrated" in head.name
    assert "compare=worst-calibrated" not in {v.name for v in c.variants if not v.headline}


# --------------------------------------------------------------------------- cache-based rows (C7 variant, C8)


def _claim_table(clip_ece: float, clip_ts_ece: float, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """Synthetic cache table: n ImageNet models and n CLIPs (2 pre-training sources) on 2 test sets."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for group, ece, ts in (("imagenet", 0.05, 0.03), ("clip-zeroshot", clip_ece, clip_ts_ece)):
            src = "laion-80m" if i % 2 else "openai"
            for test_set in ("imagenet", "imagenet-v2"):
                for stage, e in (("uncalibrated", ece), ("temperature_scaled", ts)):
                    rows.append({"model": f"{group}-{i}", "group": group, "pretrain_data": src, "test_set": test_set,
                                 "stage": stage, "temperature": 1.0, "t_at_bound": False, "n": 100,
                                 "accuracy": 0.7 + 0.013 * i, "ece": e + rng.normal(0, 0.002), "nll": 1.0,
                                 "brier": 0.5})
    return pd.DataFrame(rows)


def test_cache_pairs_by_brute_force():
    rows = c8.claim_rows(_claim_table(0.06, 0.01), "temperature_scaled")
    p, draws = c8.pairs(rows)
    assert draws.shape == (1000, len(p))
    base = rows[rows["group"] == "imagenet"]
    for r in p.itertuples():
        nb = base[(base["test_set"] == r.test_set) & ((base["accuracy"] - r.accuracy).abs() <= c8.ACC_WINDOW)]
        assert r.n_neighbours == len(nb) >= c8.MIN_NEIGHBOURS
        assert r.d == pytest.approx(np.median(nb["ece"]) - r.ece)


def test_c7_cache_variant_reaches_every_outcome():
    worse = c8.c7_cache_estimate(_claim_table(0.09, 0.02), c7.C7_MARGIN)
    better = c8.c7_cache_estimate(_claim_table(0.005, 0.02), c7.C7_MARGIN)
    assert worse.outcome is Outcome.SUPPORTS and better.outcome is Outcome.CONTRADICTS
    close = c8.c7_cache_estimate(_claim_table(0.045, 0.02), c7.C7_MARGIN)  # 0.005 better: within the margin
    assert close.outcome is Outcome.SUPPORTS
    laion = c8.c7_cache_estimate(_claim_table(0.09, 0.02), c7.C7_MARGIN, "laion-80m")
    assert laion.n == 8  # 4 LAION-80M CLIPs x 2 test sets
    assert c8.c7_cache_estimate(None, c7.C7_MARGIN).outcome is None


def test_c7_tiers_with_cache_variants():
    """Headline (published bound) supports; caches show every CLIP better -> fragile; both agree -> reproduced;
    a smoke run never reads the cache variants."""
    frag = _c7(0.06, 0.02, table=_claim_table(0.005, 0.02))
    assert frag.tier == FRAGILE and "data=caches" in frag.breaking_variants
    assert _c7(0.06, 0.02, table=_claim_table(0.09, 0.02)).tier == REPRODUCED
    smoke = _c7(0.06, 0.02, Run("smoke"), table=_claim_table(0.005, 0.02))
    assert not any(v.name.startswith("data=caches") for v in smoke.variants)


def test_c8_tiers():
    assert sec.claim_c8(Run()).tier == NOT_TESTABLE
    assert sec.claim_c8(table=_claim_table(0.06, clip_ts_ece=0.01)).tier == REPRODUCED  # 0.02 better after TS
    assert sec.claim_c8(table=_claim_table(0.06, clip_ts_ece=0.05)).tier == CONTRADICTED  # 0.02 worse
    far = _claim_table(0.06, 0.01)
    far.loc[far["group"] == "clip-zeroshot", "accuracy"] = 0.3  # no ImageNet model of similar accuracy
    assert sec.claim_c8(table=far).tier == NOT_TESTABLE
    guarded = sec.claim_c8(Run("rehearsal"), table=_claim_table(0.06, 0.01))
    assert guarded.tier == NOT_TESTABLE and "synthetic" in guarded.evidence


def test_c8_cluster_interval_resamples_models():
    c = sec.claim_c8(table=_claim_table(0.06, clip_ts_ece=0.01))
    p = c.numbers["headline"].detail["pairs"]
    per_model = p.groupby("model")["d"].mean()
    assert c.value == pytest.approx(per_model.mean()) and c.low <= c.value <= c.high
    assert c.oc is not None and c.oc.supports_at_zero < 0.05


# --------------------------------------------------------------------------- operating characteristics


def test_c7_oc_on_a_small_simulated_design():
    """Five CLIPs with Bonferroni intervals of half-width 0.01: where every CLIP is better by the margin
    the any-of rule says "supports" at most at the family-wise rate; where every CLIP equals its
    references, its power is the chance that one interval clears -margin."""
    k, level = 5, 1 - 0.05 / 5
    w = (0.01,) * k
    at_false = c7._oc_codes(w, w, level, c7.C7_MARGIN, -c7.C7_MARGIN, 4000, 1)
    at_holds = c7._oc_codes(w, w, level, c7.C7_MARGIN, 0.0, 4000, 2)
    assert (at_false == 1).mean() <= 0.05
    # est - 0.01 > -0.01 iff est > 0: each CLIP half the time, so some CLIP with probability 1 - 0.5**k
    assert (at_holds == 1).mean() == pytest.approx(1 - 0.5**k, abs=0.015)
    assert set(np.unique(at_false)) <= {0, 1}  # never "contradicts"


def test_c7_real_data(mirror):
    c = sec.claim_c7()
    t = c.numbers["headline"].detail["table"]
    judged = t[t["b"].notna()]
    assert len(t) == 9 and len(judged) >= 5
    ref = c7.reference_models("published-ece")
    for r in judged.itertuples():
        near = (ref["id_top1"] - r.id_top1).abs() <= 0.05 + 1e-12
        assert r.ref_ece == pytest.approx(np.median(ref.loc[near, "ece"]))
    top = judged.loc[judged["low"].idxmax()]
    assert c.value == pytest.approx(top["b"]) and (c.outcome == "supports") == (top["low"] > -c7.C7_MARGIN)
    # not-worse convention: at the margin the claim is false ("supports" = error rate), at zero it holds
    assert c.oc is not None and c.oc.supports_at_margin <= 0.06 and c.oc.supports_at_zero > 0.5
    assert Rule(NOT_WORSE, c7.C7_MARGIN) == c7.C7_RULE
