"""Outlier-feature statistics cross-checked against scipy.stats.kurtosis and on synthetic features
with planted outlier dimensions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from cliprobust.metrics import features as FT


def _gaussian(seed: int, n: int = 1000, d: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, d))


def _planted(seed: int, n: int, d: int, n_out: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features with ``n_out`` random dimensions multiplied by ``scale``."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0, 1.0, (n, d))
    planted = np.sort(rng.choice(d, size=n_out, replace=False))
    f[:, planted] *= scale
    return f, planted


# --------------------------------------------------------------------------- kurtosis vs scipy


@pytest.mark.parametrize("fisher", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_kurtosis_matches_scipy(fisher, seed):
    rng = np.random.default_rng(seed)
    f = np.c_[rng.standard_t(5, (500, 40)), rng.exponential(1.0, (500, 10)), rng.normal(3, 2, (500, 10))]
    np.testing.assert_allclose(
        FT.activation_kurtosis(f, fisher=fisher), scipy.stats.kurtosis(f, axis=0, fisher=fisher, bias=True), rtol=1e-10
    )
    np.testing.assert_allclose(
        FT.sample_kurtosis(f, fisher=fisher), scipy.stats.kurtosis(f, axis=1, fisher=fisher, bias=True), rtol=1e-10
    )
    summary = FT.feature_summary(f, fisher=fisher)
    assert summary["flat_kurtosis"] == pytest.approx(scipy.stats.kurtosis(f.ravel(), fisher=fisher), rel=1e-10)


def test_gaussian_kurtosis_reads_three_pearson_zero_fisher():
    f = _gaussian(0, n=20_000, d=64)
    assert FT.activation_kurtosis(f).mean() == pytest.approx(3.0, abs=0.03)
    assert FT.activation_kurtosis(f, fisher=True).mean() == pytest.approx(0.0, abs=0.03)
    assert FT.KURTOSIS_FISHER is False  # the declared convention: Gaussian reads 3


def test_constant_dimension_has_nan_kurtosis():
    f = _gaussian(1, n=100, d=4)
    f[:, 2] = 7.0
    k = FT.activation_kurtosis(f)
    assert np.isnan(k[2]) and np.isfinite(np.delete(k, 2)).all()


# --------------------------------------------------------------------------- outlier dimensions


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.floats(20.0, 1000.0))
def test_planted_outlier_dimensions_are_found_exactly(seed, n_out, scale):
    f, planted = _planted(seed, n=400, d=256, n_out=n_out, scale=scale)
    np.testing.assert_array_equal(FT.outlier_dimensions(f), planted)
    s = FT.feature_summary(f)
    assert s["n_outliers"] == n_out
    # per-dimension kurtosis is scale-free: scaling the planted dims leaves every dim's kurtosis as it was
    clean = f.copy()
    clean[:, planted] /= scale
    np.testing.assert_allclose(FT.activation_kurtosis(f), FT.activation_kurtosis(clean), rtol=1e-9)
    assert s["mean_sample_kurtosis"] > 4.0  # but each activation vector is now heavy-tailed


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(200, 2000), st.sampled_from([64, 512, 1024]))
def test_gaussian_features_have_no_outliers(seed, n, d):
    f = np.random.default_rng(seed).normal(0.5, 1.0, (n, d))
    assert FT.outlier_dimensions(f).size == 0
    assert FT.activation_ratio(f).max() < 1.5


def test_planted_outliers_raise_flat_and_sample_kurtosis():
    clean = FT.feature_summary(_gaussian(2, n=1000, d=512))
    f, _ = _planted(2, n=1000, d=512, n_out=3, scale=100.0)
    dirty = FT.feature_summary(f)
    assert clean["n_outliers"] == 0 and dirty["n_outliers"] == 3
    assert clean["flat_kurtosis"] == pytest.approx(3.0, abs=0.1)
    assert dirty["flat_kurtosis"] > 50 and dirty["mean_sample_kurtosis"] > 50


def test_threshold_is_respected():
    f, planted = _planted(3, n=500, d=128, n_out=2, scale=6.0)
    assert FT.outlier_dimensions(f).size == 0  # 6x < default 10x
    np.testing.assert_array_equal(FT.outlier_dimensions(f, threshold=4.0), planted)


# --------------------------------------------------------------------------- invariances


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_invariant_to_sample_permutation(seed):
    f, _ = _planted(seed, n=300, d=64, n_out=2, scale=30.0)
    perm = np.random.default_rng(seed + 1).permutation(f.shape[0])
    np.testing.assert_allclose(FT.activation_kurtosis(f[perm]), FT.activation_kurtosis(f), rtol=1e-9)
    np.testing.assert_array_equal(FT.outlier_dimensions(f[perm]), FT.outlier_dimensions(f))
    a, b = FT.feature_summary(f[perm]), FT.feature_summary(f)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9), key


def test_dimension_permutation_permutes_outliers():
    f, planted = _planted(4, n=300, d=64, n_out=3, scale=50.0)
    perm = np.random.default_rng(5).permutation(64)
    np.testing.assert_array_equal(np.sort(np.argsort(perm)[planted]), FT.outlier_dimensions(f[:, perm]))


def test_input_errors():
    with pytest.raises(ValueError, match="n_samples"):
        FT.activation_kurtosis(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        FT.feature_summary(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="median"):
        FT.outlier_dimensions(np.zeros((5, 4)))
