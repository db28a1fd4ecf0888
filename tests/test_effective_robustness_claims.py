"""Section 01's claims C10-C12: each rule's three outcomes reached on synthetic inputs built for
them, the headline statistics recomputed independently from the published tables (numpy polyfit,
statsmodels ANCOVA), the variant tables, the operating characteristics and the not-testable paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cliprobust import runs, verdicts
from cliprobust.metrics import stats
from cliprobust.sections import effective_robustness as E
from cliprobust.sections.effective_robustness import c10, c11, c12
from cliprobust.sections.effective_robustness import options as O
from cliprobust.sections.effective_robustness import pairing as P
from cliprobust.sections.effective_robustness import tables as T

pytestmark = pytest.mark.usefixtures("mirror")
SUP, CON, INC = verdicts.Outcome.SUPPORTS, verdicts.Outcome.CONTRADICTS, verdicts.Outcome.INCONCLUSIVE


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return T.er_frame()


@pytest.fixture(scope="module")
def claims() -> dict[str, verdicts.Claim]:
    return {c.id: c for c in E.claims(runs.Run("published", O.Options()))}


# --------------------------------------------------------------------------- rules on synthetic inputs


def _fake_shift(values: dict[str, tuple[float, float]], members: list[str]):
    """``c10._shift`` replacement: per shift (mean ER, draw SD) for every member."""
    rng = np.random.default_rng(0)

    def shift(options, name):
        mean, sd = values.get(name, (0.3, 0.005))
        point = pd.Series(mean, index=members)
        draws = pd.DataFrame(mean + sd * rng.standard_normal((stats.N_BOOT, len(members))), columns=members)
        return point, draws
    return shift


@pytest.mark.parametrize("objectnet, want", [((0.30, 0.005), SUP), ((0.03, 0.005), CON), ((0.10, 0.2), INC)])
def test_c10_rule_reaches_every_outcome(monkeypatch, objectnet, want) -> None:
    members = [f"m{i}" for i in range(12)]
    monkeypatch.setattr(c10, "_shift", _fake_shift({"objectnet": objectnet, "imagenet-v2": (0.05, 0.005)}, members))
    assert c10.c10_estimate(O.Options(), tuple(members)).outcome is want


def test_c10_v2_reading_fails_when_v2_is_large(monkeypatch) -> None:
    members = [f"m{i}" for i in range(12)]
    monkeypatch.setattr(c10, "_shift", _fake_shift({"imagenet-v2": (0.3, 0.005)}, members))
    assert c10.c10_estimate(O.Options(), tuple(members)).outcome is SUP
    assert c10.c10_estimate(O.Options(), tuple(members), with_v2=True).outcome is CON


def _scaling_frame(offset: float, noise: float, n: int = 10) -> pd.DataFrame:
    """LAION-80M and LAION-2B checkpoints on logit lines of slope 1.25, 2B shifted by ``offset``
    (logit units), residual SD ``noise``; one row per model on the mean shift."""
    rng = np.random.default_rng(1)
    rows = []
    for data, shift in (("LAION-80M", 0.0), ("LAION-2B", offset)):
        x = np.linspace(0.0, 1.5, n)
        y = -0.6 + shift + 1.25 * x + noise * rng.standard_normal(n)
        rows += [{"model": f"scaling:{data}/{i}", "source": "scaling", "pretrain_data": data, "arch": f"A{i % 3}",
                  "shift": O.MEAN_SHIFT, "id_acc": special.expit(a), "ood_acc": special.expit(b), "er": 0.0,
                  "samples_seen": 1e10} for i, (a, b) in enumerate(zip(x, y))]
    return pd.DataFrame(rows)


def _no_image_noise(options, rows, shift):
    """``c11._noisy_xy`` for synthetic rows: the point accuracies in every draw (model resampling only)."""
    tile = lambda col: np.tile(special.logit(rows[col].to_numpy(float)), (stats.N_BOOT, 1))  # noqa: E731
    return tile("id_acc"), tile("ood_acc")


def _synthetic(monkeypatch, offset: float, noise: float) -> None:
    monkeypatch.setattr(c11, "cached_frame", lambda options: _scaling_frame(offset, noise))
    monkeypatch.setattr(c11, "_noisy_xy", _no_image_noise)


@pytest.mark.parametrize("offset, noise, want", [(0.0, 0.01, SUP), (-0.4, 0.01, CON), (-0.1, 0.3, INC)])
def test_c11_equivalence_rule_reaches_every_outcome(monkeypatch, offset, noise, want) -> None:
    _synthetic(monkeypatch, offset, noise)
    e = c11.size_gap(O.Options())
    assert e.outcome is want
    assert np.sign(e.value) == np.sign(offset) or offset == 0  # the sign is the direction of the size effect


def test_c11_one_sided_reading_supports_a_size_effect_the_other_way(monkeypatch) -> None:
    """More data lowering ER contradicts "no effect" but supports "more data does not raise ER"."""
    _synthetic(monkeypatch, -0.4, 0.01)
    assert c11.size_gap(O.Options()).outcome is CON
    assert c11.size_gap(O.Options(), rule=c11.NOT_RAISE_RULE).outcome is SUP


def test_ancova_tests_equal_statsmodels() -> None:
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(3)
    g = np.repeat(["a", "b", "c"], 8)
    x = rng.normal(0, 1, g.size)
    y = 0.2 * (g == "b") + (1 + 0.3 * (g == "c")) * x + rng.normal(0, 0.1, g.size)
    got = c11.ancova_tests(x, y, g)
    d = pd.DataFrame({"x": x, "y": y, "g": g})
    common, parallel, separate = (smf.ols(f, d).fit() for f in ("y ~ x", "y ~ x + C(g)", "y ~ x * C(g)"))
    slope = anova_lm(parallel, separate)
    icpt = anova_lm(common, parallel)
    assert got["f_slope"] == pytest.approx(slope["F"].iloc[1]) and got["p_slope"] == pytest.approx(slope["Pr(>F)"].iloc[1])
    assert got["f_intercept"] == pytest.approx(icpt["F"].iloc[1])
    assert got["p_intercept"] == pytest.approx(icpt["Pr(>F)"].iloc[1])


# --------------------------------------------------------------------------- claims on the published data


def test_claims_carry_one_headline_and_unique_variants(claims: dict[str, verdicts.Claim]) -> None:
    for cid, c in claims.items():
        assert c.tier in verdicts.TIERS and sum(v.headline for v in c.variants) == 1
        assert len(c.variants) >= 10 and np.isfinite(c.margin) and c.oc is not None
        names = [v.name for v in c.variants]
        assert len(names) == len(set(names)), cid
        for v in c.variants:
            if v.outcome is not None:
                assert v.low <= v.value + 1e-12 <= v.high + 2e-12, (cid, v.name)


def test_c10_headline_is_the_smallest_large_shift_group_mean(frame, claims) -> None:
    c = claims["C10"]
    members = T.clip_members(frame)
    means = {s: frame[(frame["shift"] == s) & frame["model"].isin(members)]["er"].mean() for s in c10.C10_SHIFTS}
    assert c.value == pytest.approx(min(means.values()), abs=1e-12) and c.margin == c10.C10_MARGIN
    assert "image-sampling" in c.evidence and "113-name" in c.evidence
    names = {v.name for v in c.variants}
    assert {"axes=probit", "bootstrap=by-source", "range=common", "reading=with-v2-small", "objectnet=drop",
            "x_axis=class-subset", "drop-one-model", "drop-source=LAION-2B", "baseline=timm-in1k"} <= names
    assert c.oc.supports_at_zero < 0.05  # the rule rarely says "supports" with no effect


def _own_line_height(rows: pd.DataFrame, x0: float) -> float:
    slope, icpt = np.polyfit(special.logit(rows["id_acc"]), special.logit(rows["ood_acc"]), 1)
    return float(special.expit(slope * special.logit(x0) + icpt))


@pytest.mark.parametrize("small", ["LAION-80M", "LAION-400M"])
def test_c11_size_gap_equals_independent_line_fits(frame, small: str) -> None:
    rows = frame[(frame["shift"] == O.MEAN_SHIFT) & (frame["source"] == "scaling")]
    rows = rows[rows["pretrain_data"].isin([small, "LAION-2B"])]
    x0 = rows["id_acc"].median()
    want = (_own_line_height(rows[rows["pretrain_data"] == "LAION-2B"], x0)
            - _own_line_height(rows[rows["pretrain_data"] == small], x0))
    assert c11.size_gap(O.Options(), small=small).value == pytest.approx(want, abs=1e-10)


def test_c11_image_noise_widens_the_interval_only_a_little(monkeypatch) -> None:
    with_noise = c11.size_gap(O.Options())
    monkeypatch.setattr(c11, "_noisy_xy", _no_image_noise)
    without = c11.size_gap(O.Options())
    assert with_noise.value == without.value
    width = lambda e: e.high - e.low  # noqa: E731
    assert width(without) <= width(with_noise) * 1.05 and width(with_noise) < 2 * width(without)


def test_c11_headline_is_the_equivalence_test_with_its_caveat(claims) -> None:
    c = claims["C11"]
    head = next(v for v in c.variants if v.headline)
    assert c.rule == c11.C11_RULE and c.outcome == c11.C11_RULE.outcome(c.low, c.high).value
    one_sided = next(v for v in c.variants if v.name == "reading=more-data-does-not-raise")
    assert one_sided.value == pytest.approx(-head.value) and one_sided.low == pytest.approx(-head.high)
    assert "not one distribution" in c.evidence and "repeat" in c.evidence and "equal slopes" in c.evidence
    assert "model size" not in c.statistic + c.evidence
    assert 0.5 < c.oc.supports_at_zero and c.oc.supports_at_margin < 0.1  # TOST: ~alpha at the margin


def test_c12_headline_pairs_and_extrapolation_variant(frame, claims) -> None:
    c = claims["C12"]
    p = P.finetune_pairs(frame)
    p4 = p[p["shift"] == O.MEAN_SHIFT_4]
    assert len(p4) == 32 and p4["zs_model"].nunique() == 11
    assert c.value == pytest.approx(p4.groupby("zs_model")["delta"].mean().mean(), abs=1e-12)
    assert "Radford" in c.evidence and "Fang" in c.evidence  # re-attributed, and says it is not Fang et al.'s
    top = frame.loc[frame["in_baseline"], "id_acc"].max()
    inside = p4[p4["id_ft"] <= top]
    v = next(v for v in c.variants if v.name == "ft-range=baseline")
    assert v.n == len(inside) < len(p4)
    assert v.value == pytest.approx(inside.groupby("zs_model")["delta"].mean().mean(), abs=1e-12)


def test_336_pairing_moves_one_fine_tune(frame) -> None:
    p, q = P.finetune_pairs(frame), P.finetune_pairs(frame, O.PAIRING_336)
    name = "timm:vit_large_patch14_clip_336.openai_ft_in12k_in1k"
    a224 = p[(p["ft_model"] == name) & (p["shift"] == "imagenet-a")]["delta"].item()
    a336 = q[(q["ft_model"] == name) & (q["shift"] == "imagenet-a")]["delta"].item()
    assert q.loc[q["ft_model"] == name, "zs_model"].iloc[0] == "open_clip:ViT-L-14-336/openai"
    assert abs(a336 - a224) > 0.03


def test_claims_not_testable_when_the_data_leave_nothing() -> None:
    """open_clip publishes no class-subset ImageNet accuracy (C10 on the zoo set under that x-axis);
    C12 with no fine-tune kept."""
    c10_sub = c10.claim_c10(runs.Run("published", O.Options(x_axis=O.X_SUBSET)))
    c12_none = c12.claim_c12(runs.Run("published", O.Options()), frame_filter=lambda p: p["shift"] == "none")
    assert c10_sub.tier == c12_none.tier == verdicts.NOT_TESTABLE and c10_sub.needs and c12_none.needs


def test_an_equivalence_rule_with_power_at_zero_is_reachable(claims) -> None:
    """TOST says "supports" ~alpha of the time at the margin by design: reachability is judged at zero."""
    oc = claims["C11"].oc
    assert oc.supports_at_margin < 0.1 and oc.supports_at_zero > 0.5
    assert oc.reachable() and "cannot reach" not in claims["C11"].evidence
    assert not verdicts.OperatingCharacteristics(0.01, 0.02, 0.0, 100, "test").reachable()
