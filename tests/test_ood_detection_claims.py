"""Section 04 claims on the verdicts engine: C5 (CLIP sources; ImageNet sources an extension) and C6
(two fine-tune pairs; max-T over the zero-shot comparisons), their outcomes, tiers and operating
characteristics, and the section interface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from cliprobust import published
from cliprobust.runs import Run, UnknownOptionError
from cliprobust.sections import ood_detection as OD
from cliprobust.sections.ood_detection import c5, c6, fine_tunes
from cliprobust.sections.ood_detection import cood as CO
from cliprobust.verdicts import CONTRADICTED, FRAGILE, REPRODUCED, Outcome

# --------------------------------------------------------------------------- interface


def test_options_are_the_notebook_parameters_and_reject_typos():
    opts = OD.Options()
    assert opts.score == "msp" and opts.c5_margin == c5.C5_MARGIN and opts.c6_margin == c6.C6_MARGIN
    assert opts.c5_sources == ("clip-zeroshot",)
    with pytest.raises(UnknownOptionError, match="score"):
        Run.from_params("published", OD.Options, scor="max_logit")
    with pytest.raises(ValueError, match="correction"):
        OD.Options(correction="holm")  # (b) intervals are max-T or marginal, not Holm p-values
    assert OD.cache_plan(Run()) == OD.PAPER_PLAN and OD.cache_plan(Run("smoke")) == OD.SMOKE_PLAN


# --------------------------------------------------------------------------- C5 rule and operating characteristics


def test_correlation_estimate_reaches_all_three_outcomes():
    opts = OD.Options()
    x = np.arange(12.0)
    up = c5.correlation_estimate(x, x + 0.1 * np.sin(x), opts)  # rho = 1
    assert up.outcome is Outcome.SUPPORTS
    down = c5.correlation_estimate(x, -x, opts)
    assert down.outcome is Outcome.CONTRADICTS
    y = np.array([3, 1, 2, 6, 4, 9, 5, 12, 7, 8, 11, 10], float)  # a moderate rank correlation
    mid = c5.correlation_estimate(x, y, opts.but(c5_margin=0.95))
    rho = stats.spearmanr(x, y)[0]
    half = 1.959964 * np.sqrt((1 + rho ** 2 / 2) / (len(x) - 3))  # Bonett-Wright SE, recomputed
    assert mid.value == pytest.approx(rho) and mid.low == pytest.approx(np.tanh(np.arctanh(rho) - half))
    assert mid.low > 0 and mid.high >= 0.95 and mid.outcome is Outcome.SUPPORTS
    noisy = c5.correlation_estimate(x[:6], y[:6], opts)
    assert noisy.value > 0.75 and noisy.outcome is Outcome.INCONCLUSIVE  # six models: neither 0 nor "strong" excluded
    assert c5.correlation_estimate(x[:3], y[:3], opts).outcome is None


def test_correlation_oc_matches_a_scipy_loop_and_flags_small_sources():
    oc = c5.correlation_oc(9)
    rng, hits = np.random.default_rng(5), []
    r = 2 * np.sin(np.pi * c5.C5_MARGIN / 6)
    for _ in range(400):  # independent re-simulation: scipy Spearman + the Fisher formula
        a = rng.standard_normal(9)
        b = r * a + np.sqrt(1 - r ** 2) * rng.standard_normal(9)
        rho = np.clip(stats.spearmanr(a, b)[0], -1 + 1e-12, 1 - 1e-12)
        hits.append(np.tanh(np.arctanh(rho) - 1.959964 * np.sqrt((1 + rho ** 2 / 2) / 6)) > 0)
    assert oc.supports_at_margin == pytest.approx(np.mean(hits), abs=0.06)
    assert oc.supports_at_zero <= 0.05  # the interval's own level
    big, six = c5.correlation_oc(420), c5.correlation_oc(6)
    assert big.supports_at_margin > 0.9 and big.contradicts_at_zero > 0.9
    assert six.supports_at_margin < 0.2 and six.contradicts_at_zero < 0.2  # cannot decide either way


def _synthetic_cood(signs: dict[str, float], clip_sign: float = 1.0, in_sign: float = 1.0, n_clip: int = 9,
                    n_in: int = 30, seed: int = 0) -> pd.DataFrame:
    """COOD-shaped rows: zero-shot CLIPs and ImageNet-1k models (``*_torchvision`` names), every
    score, 11 severities; AUROC = 0.8 + sign * (acc - 0.7) + noise, sign = the score's sign times
    ``clip_sign`` (CLIP rows) or ``in_sign`` (ImageNet rows)."""
    rng = np.random.default_rng(seed)
    rows = []
    for fam, n, prefix in (("clip-zeroshot", n_clip, "CLIPX"), ("imagenet", n_in, "net")):
        for i in range(n):
            name = f"{prefix}{i}" + ("_torchvision" if fam == "imagenet" else "")
            acc = rng.uniform(0.55, 0.85)
            for score, conf in CO.COOD_SCORES.items():
                sign = signs.get(score, 1.0) * (in_sign if fam == "imagenet" else clip_sign)
                for lvl in range(11):
                    rows.append({"model": f"cood:{name}", "family": fam, "name": name, "confidence": conf,
                                 "severity": lvl, "ood_auroc": 0.8 + sign * (acc - 0.7) - 0.01 * lvl
                                 + rng.normal(0, 0.003), "id_top1": acc, "id_avg_conf": acc})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ninco(mirror) -> pd.DataFrame:
    return published.ninco_results()


def test_claim_c5_tiers_and_the_extension_on_synthetic_cood(ninco):
    good = OD.claim_c5(cood=_synthetic_cood({}), ninco=ninco)
    assert good.tier == REPRODUCED and good.outcome == "supports", good.evidence
    assert sum(v.headline for v in good.variants) == 1 and good.value > c5.C5_MARGIN
    fragile = OD.claim_c5(cood=_synthetic_cood({"max_logit": -1.0}), ninco=ninco)
    assert fragile.tier == FRAGILE and fragile.breaking_variants == ("score=max_logit",)
    bad = OD.claim_c5(cood=_synthetic_cood({}, clip_sign=-1.0), ninco=ninco)
    assert bad.tier == CONTRADICTED and bad.value < 0
    # ImageNet models going the other way are reported in the extension, never counted in the tier
    ext = OD.claim_c5(cood=_synthetic_cood({}, in_sign=-1.0), ninco=ninco)
    assert ext.tier == REPRODUCED
    table = ext.numbers["extension"].set_index("source")
    assert table.loc["imagenet-1k", "kind"] == "ImageNet (extension)"
    assert table.loc["imagenet-1k", "outcome"] == "contradicts" and table.loc["clip-zeroshot", "kind"] == "claim"
    # the run's options pick the headline: max_logit as headline, msp becomes a variant
    alt = OD.claim_c5(Run(options=OD.Options(score="max_logit")), cood=_synthetic_cood({"msp": -1.0}), ninco=ninco)
    assert alt.tier == FRAGILE and "score=msp" in alt.breaking_variants


@pytest.fixture(scope="module")
def c5_real(mirror):
    return OD.claim_c5()


def test_claim_c5_real_data_facts(c5_real):
    c, summary = c5_real, CO.cood_summary()
    clip = summary[summary["training_source"] == "clip-zeroshot"]
    assert len(clip) == 9 and c.numbers["headline"].n == 9
    assert c.value == pytest.approx(stats.spearmanr(clip["id_top1"], clip["ood_auroc"])[0], abs=1e-12)
    assert c.outcome == "supports" and c.margin == c5.C5_MARGIN
    names = {v.name for v in c.variants}
    assert {"score=max_logit", "ood-auroc=hardest", "correlation=pearson", "interval=bootstrap",
            "sources=+clip-lp", "strong=0.7", "leave-one-out"} <= names
    assert not any(n.startswith("source=imagenet") for n in names)  # ImageNet sources are not variants
    ext = c.numbers["extension"].set_index("source")
    sub = summary[summary["training_source"] == "imagenet-1k"]
    assert ext.loc["imagenet-1k", "n"] == 420 and ext.loc["imagenet-1k", "decisive"]
    assert ext.loc["imagenet-1k", "rho"] == pytest.approx(stats.spearmanr(sub["id_top1"], sub["ood_auroc"])[0])
    assert not ext.loc["ig1b-swsl", "decisive"] and ext.loc["ig1b-swsl", "n"] == 6
    assert pd.isna(ext.loc["imagenet-unlisted", "outcome"])  # a mix of training data: reported, not judged
    assert "too few models to decide" in c.evidence and "ig1b-swsl n=6" in c.evidence


# --------------------------------------------------------------------------- C6 parts


@pytest.fixture(scope="module")
def comp(ninco) -> pd.DataFrame:
    return c6.comparison(OD.Options(), ninco)


def test_pair_gains_are_a_paired_t_over_the_ninco_classes(comp, ninco):
    g = fine_tunes.pair_gains(comp, ninco).set_index("source")
    for source, (in1k, in21k) in fine_tunes.C6_PAIRS.items():
        hi = fine_tunes.class_aurocs(ninco, in21k, "MSP")
        lo = fine_tunes.class_aurocs(ninco, in1k, "MSP")
        ref = stats.ttest_rel(hi.sort_index(), lo.sort_index()).confidence_interval(0.95)
        assert g.loc[source, "n_classes"] == 46
        assert (g.loc[source, "low"], g.loc[source, "high"]) == pytest.approx((ref.low, ref.high), abs=1e-10)
        assert g.loc[source, "gain"] == pytest.approx((hi - lo).mean(), abs=1e-12)  # mean of class diffs
    value, low, high = fine_tunes.between_pairs(g)
    d = g["gain"].to_numpy()
    assert value == pytest.approx(d.mean())
    assert high - value == pytest.approx(stats.t.ppf(0.975, 1) * abs(d[0] - d[1]) / 2)  # 1 df from 2 pairs


def test_maxt_critical_value_is_sidak_for_independent_comparisons():
    se = np.full(40, 0.01)
    zi, fi = np.arange(0, 40, 2), np.arange(1, 40, 2)  # 20 comparisons sharing no AUROC
    sidak = stats.norm.ppf((1 + 0.95 ** (1 / 20)) / 2)
    assert fine_tunes.maxt_critical(se, zi, fi) == pytest.approx(sidak, abs=0.04)
    assert fine_tunes.maxt_critical(se[:2], zi[:1], fi[:1]) == pytest.approx(1.96, abs=0.04)
    shared = fine_tunes.maxt_critical(se[:21], np.zeros(20, int), np.arange(1, 21))  # one zero-shot cell
    assert shared < fine_tunes.maxt_critical(se, zi, fi)  # correlated comparisons need a smaller c


def test_deficits_intervals_and_holm_reference(comp):
    t = fine_tunes.deficits(comp)
    assert len(t) == 20 and (t["crit"] > 2.5).all()
    assert np.allclose(t["high"] - t["diff"], t["crit"] * t["se"])
    assert np.allclose(t["p"], stats.norm.sf(t["diff"] / t["se"]))
    assert np.allclose(t["p_holm"], multipletests(t["p"], method="holm")[1])
    assert np.allclose(fine_tunes.deficits(comp, "none")["crit"], 1.959964)


# --------------------------------------------------------------------------- C6 claim


def _boost_zero_shot(ninco: pd.DataFrame) -> pd.DataFrame:
    """Zero-shot CLIP at AUROC 0.99 on every row: every fine-tune is then far below it."""
    return ninco.assign(auroc=ninco["auroc"].where(ninco["name"] != fine_tunes.C6_ZS_REFERENCE, 0.99))


def _flip_pair(ninco: pd.DataFrame) -> pd.DataFrame:
    """Swap the names of every (in1k, in21k->in1k) pair: intermediate fine-tuning now 'hurts'."""
    swap = {a: b for a, b in fine_tunes.C6_PAIRS.values()} | {b: a for a, b in fine_tunes.C6_PAIRS.values()}
    return ninco.assign(name=ninco["name"].replace(swap))


def test_claim_c6_tiers_on_modified_ninco(ninco):
    good = OD.claim_c6(ninco=_boost_zero_shot(ninco))
    assert good.tier == REPRODUCED, good.evidence
    v = {x.name: x for x in good.variants}
    assert v["a-interval=between-pairs"].outcome == "inconclusive"  # 2 pairs, 1 df: never decisive here
    bad = OD.claim_c6(ninco=_flip_pair(_boost_zero_shot(ninco)))
    assert bad.tier == CONTRADICTED and bad.value < 0, bad.evidence
    missing = OD.claim_c6(ninco=ninco[ninco["name"] != fine_tunes.C6_ZS_REFERENCE])
    assert missing.tier == "not testable here" and missing.needs


@pytest.fixture(scope="module")
def c6_real(mirror):
    return OD.claim_c6()


def test_claim_c6_real_data_facts(c6_real, ninco):
    c = c6_real
    head = c.numbers["headline"]
    pairs, t = head.detail["a"].detail["pairs"], head.detail["b"].detail["deficits"]
    assert len(pairs) == 2 and "2 pairs" in c.statistic and "NINCO has 2 pairs" in c.evidence
    assert c.value == pytest.approx(pairs["gain"].min()) and (c.low, c.high) == pytest.approx(
        tuple(pairs.loc[pairs["gain"].idxmin(), ["low", "high"]]))
    top = t.loc[t["low"].idxmax()]  # the most extreme comparison, its interval simultaneous over 20
    assert top["crit"] > 2.9 and f"{top['diff']:+.3f}" in c.evidence
    v = {x.name: x for x in c.variants}
    # equal score sets on both sides (2 vs 2): no fine-tune is then below zero-shot by an interval
    assert "0 of 20 comparisons" in v["pairing=best-of-same"].note
    assert v["a-interval=image-sampling"].high - v["a-interval=image-sampling"].low < c.high - c.low
    assert c.tier in (REPRODUCED, FRAGILE, CONTRADICTED, "inconclusive")
    assert set(c.breaking_variants) <= set(v)


def test_c6_operating_characteristics_on_the_real_design(c6_real):
    oc = c6_real.oc
    assert oc is not None and oc.supports_at_zero <= 0.01  # both parts at zero: (a) needs 2 significant pairs
    looser = c6.c6_oc(OD.Options(c6_margin=0.1), c6_real.numbers["headline"])
    assert looser.supports_at_margin > oc.supports_at_margin  # a larger true effect is found more often


def test_claim_c5_not_testable_without_the_headline_score(ninco):
    cood = _synthetic_cood({})
    c = OD.claim_c5(cood=cood[cood["confidence"] != CO.COOD_SCORES["msp"]], ninco=ninco)
    assert c.tier == "not testable here" and "msp" in c.needs
    v = {x.name: x for x in OD.claim_c5(cood=cood[cood["confidence"] != "entropy"], ninco=ninco).variants}
    assert v["score=entropy"].outcome is None and "no entropy" in v["score=entropy"].note
