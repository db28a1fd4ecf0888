"""OOD scores and metrics cross-checked against sklearn, scipy, torch and brute-force threshold
sweeps written here; plus internal facts of the published NINCO table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.special
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from cliprobust import fetch
from cliprobust.metrics import ood

# --------------------------------------------------------------------------- helpers


def _labels_scores(s_id: np.ndarray, s_ood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.r_[np.ones(len(s_id)), np.zeros(len(s_ood))]
    return y, np.r_[s_id, s_ood]


def _random_scores(seed: int, n_id: int = 501, n_ood: int = 333, ties: bool = False):
    rng = np.random.default_rng(seed)
    s_id, s_ood = rng.normal(1.0, 1.0, n_id), rng.normal(0.0, 1.0, n_ood)
    if ties:  # coarse rounding creates many ties within and across the two sets
        s_id, s_ood = np.round(s_id, 1), np.round(s_ood, 1)
    return s_id, s_ood


def _sweep_fpr_id_positive(s_id, s_ood, tpr=0.95) -> float:
    """Brute force: accept as ID when score >= t; the largest data threshold keeping >= tpr of ID."""
    best = None
    for t in np.unique(np.r_[s_id, s_ood]):
        if np.mean(s_id >= t) >= tpr:
            best = t
    return float(np.mean(s_ood >= best))


def _sweep_fpr_ood_positive(s_id, s_ood, tpr=0.95) -> float:
    """Brute force: flag OOD when score <= t; the lowest ID-FPR among thresholds detecting >= tpr of OOD."""
    fprs = [np.mean(s_id <= t) for t in np.unique(np.r_[s_id, s_ood]) if np.mean(s_ood <= t) >= tpr]
    return float(min(fprs))


finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
score_arrays = hnp.arrays(np.float64, st.integers(2, 60), elements=finite)
tied_arrays = hnp.arrays(np.float64, st.integers(2, 60), elements=st.integers(-5, 5).map(float))


# --------------------------------------------------------------------------- scores


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_energy_matches_scipy_and_torch_logsumexp(temperature):
    z = np.random.default_rng(0).normal(0, 30, size=(200, 1000))  # large logits: needs the max shift
    ours = ood.energy(z, temperature=temperature)
    ref_scipy = temperature * scipy.special.logsumexp(z / temperature, axis=1)
    ref_torch = temperature * torch.logsumexp(torch.from_numpy(z) / temperature, dim=1).numpy()
    np.testing.assert_allclose(ours, ref_scipy, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(ours, ref_torch, rtol=1e-12, atol=1e-10)


def test_msp_max_logit_entropy_match_scipy():
    z = np.random.default_rng(1).normal(0, 5, size=(300, 50))
    p = scipy.special.softmax(z, axis=1)
    np.testing.assert_allclose(ood.msp(z), p.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ood.msp(z, temperature=2.0), scipy.special.softmax(z / 2, axis=1).max(1), rtol=1e-12)
    np.testing.assert_array_equal(ood.max_logit(z), z.max(axis=1))
    np.testing.assert_allclose(ood.neg_entropy(z), -scipy.stats.entropy(p, axis=1), rtol=1e-10)


def test_mcm_is_softmax_of_raw_cosines_and_rejects_logits():
    rng = np.random.default_rng(2)
    img = rng.normal(size=(64, 32))
    txt = rng.normal(size=(10, 32))
    cos = (img / np.linalg.norm(img, axis=1, keepdims=True)) @ (txt / np.linalg.norm(txt, axis=1, keepdims=True)).T
    ref = torch.softmax(torch.from_numpy(cos) / ood.MCM_TEMPERATURE, dim=1).max(dim=1).values.numpy()
    np.testing.assert_allclose(ood.mcm(cos), ref, rtol=1e-12)
    assert ood.MCM_TEMPERATURE == 1.0
    with pytest.raises(ValueError, match="cosine"):
        ood.mcm(100.0 * cos)  # CLIP logits (cosine x logit scale) are not MCM's input


def test_scores_reject_1d_input():
    with pytest.raises(ValueError, match="2-D"):
        ood.msp(np.zeros(5))


# --------------------------------------------------------------------------- AUROC / AUPR


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_auroc_aupr_match_sklearn(seed, ties):
    s_id, s_ood = _random_scores(seed, ties=ties)
    y, s = _labels_scores(s_id, s_ood)
    checks = {
        "auroc": (ood.auroc(s_id, s_ood), roc_auc_score(y, s)),
        "aupr_in": (ood.aupr_id_positive(s_id, s_ood), average_precision_score(y, s)),
        "aupr_out": (ood.aupr_ood_positive(s_id, s_ood), average_precision_score(1 - y, -s)),
    }
    for name, (ours, ref) in checks.items():
        assert ours == pytest.approx(ref, abs=1e-12), name


@settings(max_examples=60, deadline=None)
@given(score_arrays, score_arrays)
def test_auroc_aupr_match_sklearn_property(s_id, s_ood):
    y, s = _labels_scores(s_id, s_ood)
    assert ood.auroc(s_id, s_ood) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert ood.aupr_id_positive(s_id, s_ood) == pytest.approx(average_precision_score(y, s), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(tied_arrays, tied_arrays)
def test_auroc_swapped_roles_is_complement(s_id, s_ood):
    assert ood.auroc(s_ood, s_id) == pytest.approx(1.0 - ood.auroc(s_id, s_ood), abs=1e-12)
    # negating the score swaps the roles back: same AUROC, and AUPR-In/Out exchange
    assert ood.auroc(-s_ood, -s_id) == pytest.approx(ood.auroc(s_id, s_ood), abs=1e-12)
    assert ood.aupr_ood_positive(s_id, s_ood) == pytest.approx(ood.aupr_id_positive(-s_ood, -s_id), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(score_arrays, score_arrays)
def test_perfect_separation(s_id, s_ood):
    s_id = s_id - s_id.min() + s_ood.max() + 1.0  # every ID score above every OOD score
    assert ood.auroc(s_id, s_ood) == 1.0
    assert ood.aupr_id_positive(s_id, s_ood) == pytest.approx(1.0, abs=1e-12)
    assert ood.aupr_ood_positive(s_id, s_ood) == pytest.approx(1.0, abs=1e-12)
    assert ood.fpr_at_95_tpr_id_positive(s_id, s_ood) == 0.0
    assert ood.fpr_at_95_tpr_ood_positive(s_id, s_ood) == 0.0
    assert ood.auroc(s_ood, s_id) == 0.0  # and fully reversed


# --------------------------------------------------------------------------- FPR@95


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6).map(lambda k: 20 * k + 1), st.integers(0, 10_000), st.booleans())
def test_fpr_id_positive_matches_sweep(n_id, seed, ties):
    # With n_id = 20k + 1 the NINCO 5 % linear quantile falls exactly on a data point, so it equals
    # the largest data threshold keeping >= 95 % of ID (ties included).
    rng = np.random.default_rng(seed)
    s_id, s_ood = rng.normal(1, 1, n_id), rng.normal(0, 1, rng.integers(5, 200))
    if ties:
        s_id, s_ood = np.round(s_id), np.round(s_ood)
    ours, ref = ood.fpr_at_95_tpr_id_positive(s_id, s_ood), _sweep_fpr_id_positive(s_id, s_ood)
    assert ours == ref


@settings(max_examples=80, deadline=None)
@given(score_arrays, score_arrays)
def test_fpr_id_positive_interpolated_threshold_is_bracketed(s_id, s_ood):
    # For any n the interpolated threshold lies between two neighbouring order statistics of ID.
    xs = np.sort(s_id)
    h = 0.05 * (xs.size - 1)
    lo, hi = xs[int(np.floor(h))], xs[int(np.ceil(h))]
    fpr = ood.fpr_at_95_tpr_id_positive(s_id, s_ood)
    assert np.mean(s_ood >= hi) <= fpr <= np.mean(s_ood >= lo)


@settings(max_examples=80, deadline=None)
@given(score_arrays, score_arrays)
def test_fpr_ood_positive_matches_sweep_and_openood(s_id, s_ood):
    ours = ood.fpr_at_95_tpr_ood_positive(s_id, s_ood)
    assert ours == _sweep_fpr_ood_positive(s_id, s_ood)
    # OpenOOD's recipe: OOD = 1, roc_curve on -score, first point with TPR >= 0.95 (all ROC points
    # kept: OpenOOD's default drop_intermediate=True may skip the point on tied-score segments)
    y, s = _labels_scores(s_id, s_ood)
    fpr, tpr, _ = roc_curve(1 - y, -s, drop_intermediate=False)
    openood = fpr[np.argmax(tpr >= 0.95)]
    assert ours == pytest.approx(openood, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_fpr_conventions_differ_and_dispatch(seed):
    rng = np.random.default_rng(seed)
    s_id, s_ood = rng.normal(1.0, 0.5, 2001), rng.normal(0.0, 2.0, 1500)  # unequal spreads
    a = ood.fpr_at_95_tpr_id_positive(s_id, s_ood)
    b = ood.fpr_at_95_tpr_ood_positive(s_id, s_ood)
    assert abs(a - b) > 0.01  # PROTOCOLS.md #1: the two conventions give different numbers
    assert ood.fpr_at_95_tpr(s_id, s_ood) == (a if ood.DEFAULT_FPR_CONVENTION == "id_positive" else b)
    assert ood.fpr_at_95_tpr(s_id, s_ood, convention="ood_positive") == b
    with pytest.raises(ValueError, match="convention"):
        ood.fpr_at_95_tpr(s_id, s_ood, convention="id")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(100, 800))
def test_auroc_fpr_roc_bound(seed, n):
    # The ROC curve passes (to within 1/n) through (FPR@95, 0.95), so 0.95(1 - FPR) <= AUROC <= 1 - 0.05 FPR.
    s_id, s_ood = _random_scores(seed, n_id=n, n_ood=n // 2 + 1, ties=seed % 2 == 0)
    a, f = ood.auroc(s_id, s_ood), ood.fpr_at_95_tpr_id_positive(s_id, s_ood)
    tol = 2.0 / n
    assert 0.95 * (1 - f) - tol <= a <= 1 - 0.05 * f + tol


def test_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="ID and OOD"):
        ood.auroc(np.array([]), np.array([1.0]))
    with pytest.raises(ValueError, match="NaN"):
        ood.fpr_at_95_tpr_id_positive(np.array([1.0, np.nan]), np.array([0.0]))


# --------------------------------------------------------------------------- table


def test_ood_table_is_tidy_and_matches_functions():
    s_id, s_a = _random_scores(0)
    _, s_b = _random_scores(1, n_ood=50)
    t = ood.ood_table(s_id, {"a": s_a, "b": s_b})
    assert list(t.columns) == ["ood_dataset", "metric", "value", "n_id", "n_ood"]
    assert len(t) == 2 * len(ood.OOD_METRICS)
    assert not t.duplicated(["ood_dataset", "metric"]).any()
    assert t["value"].between(0, 1).all()
    row = t.set_index(["ood_dataset", "metric"])
    assert row.loc[("b", "auroc"), "value"] == ood.auroc(s_id, s_b)
    assert row.loc[("b", "fpr95_ood_positive"), "n_ood"] == 50


# --------------------------------------------------------------------------- real data: NINCO


@pytest.fixture(scope="module")
def ninco(mirror) -> pd.DataFrame:
    return pd.read_csv(fetch.fetch("published/literature/ninco/df_converted.csv"))


# OOD set sizes stated in the data README (published/literature/ninco, popular-datasets table).
_README_SIZES = {
    "textures_400_full": 400, "textures_400_ood": 288,
    "imagenet_o_400_full": 400, "imagenet_o_400_ood": 309,
    "all_species_400_400_full": 400, "all_species_400_400_ood": 172,
}


def test_ninco_table_internal_facts(ninco):
    assert list(ninco.columns) == ["model", "method", "auroc", "fpr", "acc", "dataset"]
    assert ninco[["auroc", "fpr", "acc"]].apply(lambda c: c.between(0, 1).all()).all()
    assert not ninco.duplicated(["model", "method", "dataset"]).any()
    clip = ninco[ninco["model"].str.startswith("clip-")]
    assert set(clip["method"]) == {"mcm-clip", "cosine-clip"}


def test_ninco_fpr_is_a_fraction_of_ood_samples(ninco):
    # FPR counted on the OOD set (ID-positive convention): FPR x n_OOD is an integer.
    for name, n in _README_SIZES.items():
        fpr = ninco.loc[ninco["dataset"] == name, "fpr"].to_numpy()
        assert len(fpr) > 0, name
        np.testing.assert_allclose(fpr * n, np.round(fpr * n), atol=1e-6, err_msg=name)


def test_ninco_rows_respect_roc_bound(ninco):
    # Same geometric bound as test_auroc_fpr_roc_bound, on every published (auroc, fpr) pair.
    a, f = ninco["auroc"], ninco["fpr"]
    assert ((0.95 * (1 - f) - 1e-3 <= a) & (a <= 1 - 0.05 * f + 1e-3)).all()

