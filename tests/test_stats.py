"""metrics/stats against independent implementations (scipy.stats, statsmodels) and the
non-finite input guard of every metric entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from cliprobust.metrics import calibration, features, ood, robustness, shape_bias, stats
from cliprobust.metrics._validate import NonFiniteError


@pytest.fixture
def sample() -> np.ndarray:
    return np.random.default_rng(3).gamma(2.0, size=80)


def test_resample_indices_match_numpy_stream_and_keep_strata():
    idx = stats.resample_indices(7, n_boot=5, seed=11)
    np.testing.assert_array_equal(idx, np.random.default_rng(11).integers(0, 7, size=(5, 7)))
    strata = np.array([0, 0, 0, 1, 1, 2, 2])
    for row in stats.resample_indices(7, n_boot=50, seed=1, strata=strata):
        np.testing.assert_array_equal(strata[row], strata)  # every stratum keeps its size and members


def test_resample_counts_are_bincounts_of_one_stream():
    draws = list(stats.resample_counts((5, 3), n_boot=4, seed=2))
    rng = np.random.default_rng(2)
    for a, b in draws:
        np.testing.assert_array_equal(a, np.bincount(rng.integers(0, 5, 5), minlength=5))
        np.testing.assert_array_equal(b, np.bincount(rng.integers(0, 3, 3), minlength=3))
        assert a.sum() == 5 and b.sum() == 3


def test_percentile_bootstrap_agrees_with_scipy(sample):
    ours = stats.bootstrap(np.mean, sample, n_boot=4000, seed=0)
    ref = sps.bootstrap((sample,), np.mean, n_resamples=4000, method="percentile", random_state=0).confidence_interval
    width = ref.high - ref.low
    assert ours.value == pytest.approx(sample.mean())
    assert abs(ours.low - ref.low) < 0.06 * width and abs(ours.high - ref.high) < 0.06 * width


def test_bca_agrees_with_scipy_and_differs_from_percentile_on_skewed_data():
    x = np.random.default_rng(5).exponential(size=40)
    ours = stats.bca_interval(np.std, x, n_boot=4000, seed=0)
    ref = sps.bootstrap((x,), np.std, n_resamples=4000, method="BCa", random_state=0).confidence_interval
    width = ref.high - ref.low
    assert abs(ours.low - ref.low) < 0.08 * width and abs(ours.high - ref.high) < 0.08 * width
    pct = stats.bootstrap(np.std, x, n_boot=4000, seed=0)
    assert (ours.low, ours.high) != pytest.approx((pct.low, pct.high), abs=1e-3)


def test_paired_bootstrap_keeps_pairs():
    x = np.arange(30, dtype=float)
    res = stats.bootstrap(lambda a, b: float(np.mean(a - b)), x, x + 2.0, n_boot=200)
    assert res.value == res.low == res.high == pytest.approx(-2.0)  # pairs drawn together: no spread
    with pytest.raises(ValueError, match="equal lengths"):
        stats.bootstrap(np.mean, x, x[:-1])


def test_wilson_matches_statsmodels():
    k, n = np.array([0, 3, 50, 99, 100]), np.array([100, 100, 100, 100, 100])
    low, high = stats.wilson_interval(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_binomial_draws_have_binomial_spread():
    d = stats.binomial_draws(np.array([0.2, 0.9]), np.array([400, 10_000]), n_boot=4000)
    assert d.shape == (4000, 2)
    np.testing.assert_allclose(d.std(axis=0), np.sqrt([0.2 * 0.8 / 400, 0.9 * 0.1 / 10_000]), rtol=0.08)


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2])
    np.testing.assert_allclose(stats.holm(p), multipletests(p, method="holm")[1])


def test_pooled_within_sd_is_the_one_way_anova_residual_sd():
    rng = np.random.default_rng(1)
    groups = np.repeat(["a", "b", "c", "d"], [5, 8, 3, 1])
    values = rng.normal(size=groups.size) + (groups == "b") * 3
    fit = ols("v ~ C(g)", data=pd.DataFrame({"v": values, "g": groups})).fit()
    assert stats.pooled_within_sd(values, groups) == pytest.approx(np.sqrt(fit.mse_resid))


def test_cluster_mean_interval_counts_each_cluster_once():
    values = np.r_[np.zeros(50), np.ones(2)]  # one big cluster at 0, one small at 1
    clusters = np.r_[np.zeros(50), np.ones(2)]
    res = stats.cluster_mean_interval(values, clusters, n_boot=500)
    assert res.value == pytest.approx(0.5)  # mean of cluster means, not of members (0.038)
    assert res.low == pytest.approx(0.0) and res.high == pytest.approx(1.0)


def test_correlation_interval_point_is_scipy_and_covers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = x + rng.normal(size=60)
    res = stats.correlation_interval(x, y, "spearman")
    assert res.value == pytest.approx(sps.spearmanr(x, y).statistic)
    assert res.low < res.value < res.high and res.excludes_zero
    assert stats.correlation_interval(x, y, "pearson").value == pytest.approx(sps.pearsonr(x, y).statistic)
    assert np.isnan(stats.correlation_interval(x[:2], y[:2]).value)  # too few pairs: no correlation


def test_line_equality_matches_statsmodels_ancova():
    rng = np.random.default_rng(4)
    g = np.repeat(["p", "q", "r"], 12)
    x = rng.uniform(-2, 2, g.size)
    y = 0.8 * x + (g == "r") * 0.6 + rng.normal(scale=0.2, size=g.size)
    ours = stats.line_equality(x, y, g)
    df = pd.DataFrame({"x": x, "y": y, "g": g})
    table = anova_lm(ols("y ~ x", df).fit(), ols("y ~ x * C(g)", df).fit())
    assert ours.f == pytest.approx(table["F"].iloc[1])
    assert ours.p == pytest.approx(table["Pr(>F)"].iloc[1])
    assert ours.p < 1e-6  # group r is shifted: lines differ
    same = stats.line_equality(x, 0.8 * x + rng.normal(scale=0.2, size=g.size), g)
    assert same.p > 0.01  # one line for all
    with pytest.raises(ValueError, match=">= 3"):
        stats.line_equality(x[:14], y[:14], g[:14])


@pytest.mark.parametrize("call, name", [
    (lambda z: calibration.ece(z, np.ones(4, bool)), "confidence"),
    (lambda z: calibration.nll(z.reshape(2, 2), np.array([0, 1])), "logits"),
    (lambda z: ood.auroc(z, np.arange(4.0)), "id_scores"),
    (lambda z: ood.fpr_at_95_tpr(np.arange(4.0), z), "ood_scores"),
    (lambda z: ood.msp(z.reshape(2, 2)), "logits"),
    (lambda z: features.activation_kurtosis(z.reshape(2, 2)), "features"),
    (lambda z: shape_bias.probabilities_to_16(np.tile(z, 250).reshape(1, 1000), {"cat": [0, 1]}), "probs"),
    (lambda z: robustness.subset_accuracy(z.reshape(2, 2), np.array([0, 1]), [0, 1]), "logits"),
])
def test_metrics_reject_non_finite_inputs_naming_the_array(call, name):
    bad = np.array([0.1, np.nan, np.inf, 0.4])
    with pytest.raises(NonFiniteError, match=rf"{name} has \d+ non-finite value\(s\) of \d+ \(NaN: \d+, inf: \d+\)"):
        call(bad)
    call(np.array([0.1, 0.2, 0.3, 0.4]))  # the same call with finite values works


def test_vectorised_correlation_draws_equal_a_scipy_loop():
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=25), 1)  # ties
    y = x + rng.normal(size=25)
    res = stats.correlation_interval(x, y, "spearman", n_boot=300, seed=2)
    loop = [sps.spearmanr(x[i], y[i]).statistic for i in stats.resample_indices(25, 300, 2)]
    low, high = np.nanpercentile(loop, [2.5, 97.5])
    assert (res.low, res.high) == pytest.approx((low, high), abs=1e-12)


def test_bootstrap_p_is_the_wald_p_of_the_bootstrap_se():
    rng = np.random.default_rng(0)
    draws = rng.normal(loc=[0.3, 0.0], scale=[0.1, 0.1], size=(20_000, 2))
    p = stats.bootstrap_p(np.array([0.3, 0.0]), draws)
    assert p[0] == pytest.approx(2 * sps.norm.sf(3.0), rel=0.05) and p[1] == pytest.approx(1.0)
    assert stats.bootstrap_p(0.2, np.zeros((10, 1)))[0] == 0.0  # no spread, non-zero effect: certain


def test_percentile_interval_ignores_nan_draws_and_matches_numpy():
    d = np.random.default_rng(1).normal(size=(1000, 3))
    low, high = stats.percentile_interval(d)
    np.testing.assert_allclose(low, np.percentile(d, 2.5, axis=0))
    np.testing.assert_allclose(high, np.percentile(d, 97.5, axis=0))
    d[::10, 0] = np.nan  # degenerate resamples
    low, high = stats.percentile_interval(d)
    assert low[0] == pytest.approx(np.percentile(d[~np.isnan(d[:, 0]), 0], 2.5))


def test_adjust_names_the_correction() -> None:
    p = np.array([0.01, 0.04, 0.03])
    np.testing.assert_allclose(stats.adjust(p, "holm"), stats.holm(p))
    np.testing.assert_allclose(stats.adjust(p, "none"), p)
    with pytest.raises(ValueError, match="unknown correction 'bonferoni'"):
        stats.adjust(p, "bonferoni")


def test_fisher_interval_is_scipys_for_pearson_and_covers_for_spearman():
    rng = np.random.default_rng(3)
    x = rng.normal(size=12)
    y = 0.6 * x + rng.normal(size=12)
    ref = sps.pearsonr(x, y).confidence_interval(0.95)
    low, high = stats.fisher_interval(sps.pearsonr(x, y)[0], 12, method="pearson")
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-10)
    # Spearman (Bonett-Wright SE): coverage of the true rank correlation on 9 bivariate-normal pairs
    rho_s = 0.5
    r = 2 * np.sin(np.pi * rho_s / 6)  # Pearson r of the normal with Spearman rho_s
    z = rng.standard_normal((4000, 9, 2))
    a, b = z[..., 0], r * z[..., 0] + np.sqrt(1 - r ** 2) * z[..., 1]
    est = stats.rowwise_correlation(a, b)
    assert est[0] == pytest.approx(sps.spearmanr(a[0], b[0])[0], abs=1e-12)
    low, high = stats.fisher_interval(est, 9)
    assert 0.93 < np.mean((low < rho_s) & (rho_s < high)) < 0.975
    assert np.isnan(stats.fisher_interval(0.5, 3)[0])  # n <= 3: no interval
