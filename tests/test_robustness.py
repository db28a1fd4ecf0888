"""Effective robustness and class-subset accuracy, cross-checked against scipy/numpy and brute-force loops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from cliprobust import fetch, published
from cliprobust.metrics import robustness as R

TESTBED = "published/imagenet-testbed/robustness_top1s.csv"
TYPES = "published/imagenet-testbed/model_types.csv"
ON_META = "published/imagenet-testbed/objectnet_metadata/"
#: testbed column names → ID column of each shift
TESTBED_SHIFTS = {
    "imagenetv2-matched-frequency-format-val": "val",
    "imagenet-r": "val-on-imagenet-r-classes",
    "imagenet-sketch": "val",
    "objectnet-1.0-beta": "val-on-objectnet-classes",
    "imagenet-a": "val-on-imagenet-a-classes",
}
CLIP = "vit_b_32_clip_zeroshot"


def _noisy_line(n: int, seed: int = 0, slope: float = 1.3, intercept: float = -0.8, noise: float = 0.15):
    """Baseline-like accuracies: logit(ood) = slope·logit(id) + intercept + noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.4, 0.9, n)
    y = special.expit(slope * special.logit(x) + intercept + rng.normal(0, noise, n))
    return x, y


# --------------------------------------------------------------------------- the fit


@pytest.mark.parametrize("transform, fwd", [(R.LOGIT, special.logit), (R.PROBIT, stats.norm.ppf)])
def test_fit_equals_linregress_and_polyfit(transform, fwd) -> None:
    x, y = _noisy_line(40, seed=1)
    fit = R.fit_baseline(x, y, transform)
    ref = stats.linregress(fwd(x), fwd(y))
    np.testing.assert_allclose([fit.slope, fit.intercept, fit.r], [ref.slope, ref.intercept, ref.rvalue], rtol=1e-10)
    np.testing.assert_allclose([fit.slope, fit.intercept], np.polyfit(fwd(x), fwd(y), 1), rtol=1e-10)
    assert fit.n == 40 and fit.transform is transform


@pytest.mark.parametrize("transform, inv", [(R.LOGIT, special.expit), (R.PROBIT, stats.norm.cdf)])
def test_predict_maps_back_to_accuracy(transform, inv) -> None:
    x, y = _noisy_line(30, seed=2)
    fit = R.fit_baseline(x, y, transform)
    q = np.array([0.5, 0.7, 0.85])
    np.testing.assert_allclose(fit.predict(q), inv(fit.slope * transform(q) + fit.intercept), rtol=1e-12)
    assert isinstance(fit.predict(0.6), float)


def test_baseline_er_averages_zero() -> None:
    x, y = _noisy_line(60, seed=3)
    fit = R.fit_baseline(x, y)
    assert abs(np.mean(R.transformed_residual(x, y, fit))) < 1e-9  # OLS residuals sum to zero
    assert abs(np.mean(R.effective_robustness(x, y, fit))) < 0.01


def test_model_above_line_has_positive_er() -> None:
    x, y = _noisy_line(50, seed=4)
    fit = R.fit_baseline(x, y)
    on_line = fit.predict(0.75)
    assert R.effective_robustness(0.75, on_line + 0.1, fit) == pytest.approx(0.1)
    assert R.effective_robustness(0.75, on_line + 0.1, fit) > 0 > R.effective_robustness(0.75, on_line - 0.05, fit)


@pytest.mark.parametrize("transform", [R.LOGIT, R.PROBIT])
def test_exact_line_in_each_transform_is_recovered(transform) -> None:
    x = np.linspace(0.3, 0.95, 12)
    y = transform.inverse(0.9 * transform(x) - 0.4)
    fit = R.fit_baseline(x, y, transform)
    assert (fit.slope, fit.intercept, fit.r) == pytest.approx((0.9, -0.4, 1.0), abs=1e-9)
    np.testing.assert_allclose(R.effective_robustness(x, y, fit), 0, atol=1e-12)


def test_logit_and_probit_disagree_but_agree_in_sign() -> None:
    x, y = _noisy_line(50, seed=5)
    er_l = R.effective_robustness(0.7, 0.6, R.fit_baseline(x, y, R.LOGIT))
    er_p = R.effective_robustness(0.7, 0.6, R.fit_baseline(x, y, R.PROBIT))
    assert er_l != er_p and np.sign(er_l) == np.sign(er_p)


def test_degenerate_baseline_points_are_dropped() -> None:
    x, y = _noisy_line(20, seed=6)
    with_zero = R.fit_baseline(np.append(x, 0.9), np.append(y, 0.0))
    assert with_zero.n == 20
    assert with_zero.slope == pytest.approx(R.fit_baseline(x, y).slope)
    assert R.fit_baseline(np.append(x, 0.9), np.append(y, 0.0), drop_degenerate=False).n == 21


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="fractions"):
        R.fit_baseline([60.0, 70.0, 80.0], [40.0, 50.0, 60.0])
    with pytest.raises(ValueError, match="NaN"):
        R.fit_baseline([0.6, np.nan, 0.8], [0.4, 0.5, 0.6])
    with pytest.raises(ValueError, match="distinct"):
        R.fit_baseline([0.6, 0.6], [0.4, 0.5])
    with pytest.raises(ValueError, match="equal-length"):
        R.accuracy(np.zeros(3), np.zeros(4))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.05, 0.95), st.floats(0.05, 0.95)), min_size=3, max_size=30,
                unique_by=lambda t: round(t[0], 6)), st.randoms(use_true_random=False))
def test_er_invariant_to_baseline_order(points, rnd) -> None:
    x, y = map(np.array, zip(*points))
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    a, b = R.fit_baseline(x, y), R.fit_baseline(x[perm], y[perm])
    assert R.effective_robustness(0.6, 0.5, a) == pytest.approx(R.effective_robustness(0.6, 0.5, b), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.2, 3.0), st.floats(-2.0, 2.0),
       st.lists(st.floats(-2.5, 2.5), min_size=2, max_size=20, unique_by=lambda v: round(v, 3)))
def test_exact_line_recovers_slope(slope, intercept, tx) -> None:
    tx = np.array(tx)
    x, y = special.expit(tx), special.expit(slope * tx + intercept)
    fit = R.fit_baseline(x, y)
    assert fit.slope == pytest.approx(slope, abs=1e-6) and fit.intercept == pytest.approx(intercept, abs=1e-6)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_estimate_and_narrows_with_more_models() -> None:
    widths = []
    for n in (10, 300):
        x, y = _noisy_line(n, seed=7)
        res = R.bootstrap_er(x, y, 0.75, 0.6, n_boot=500, seed=1)
        fit = R.fit_baseline(x, y)
        assert res.estimate == pytest.approx(R.effective_robustness(0.75, 0.6, fit))
        assert res.ci_low <= res.estimate <= res.ci_high
        widths.append(res.ci_high - res.ci_low)
    assert widths[1] < widths[0] / 2


def test_bootstrap_is_seeded_and_handles_groups() -> None:
    x, y = _noisy_line(40, seed=8)
    a = R.bootstrap_er(x, y, [0.7, 0.8], [0.6, 0.5], n_boot=200, seed=3)
    assert a == R.bootstrap_er(x, y, [0.7, 0.8], [0.6, 0.5], n_boot=200, seed=3)
    fit = R.fit_baseline(x, y)
    assert a.estimate == pytest.approx(np.mean(R.effective_robustness(np.array([0.7, 0.8]), np.array([0.6, 0.5]), fit)))


def test_bootstrap_lines_equal_linregress_on_the_same_resamples() -> None:
    x, y = _noisy_line(25, seed=9)
    slopes, intercepts = R.bootstrap_lines(x, y, n_boot=5, seed=11)
    idx = np.random.default_rng(11).integers(0, 25, size=(5, 25))
    for b in range(5):
        ref = stats.linregress(special.logit(x[idx[b]]), special.logit(y[idx[b]]))
        assert (slopes[b], intercepts[b]) == pytest.approx((ref.slope, ref.intercept), rel=1e-9)


def _correctness(accs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.random((len(accs), n)) < np.asarray(accs)[:, None]).astype(np.uint8)


def test_per_sample_bootstrap() -> None:
    rng = np.random.default_rng(10)
    x, y = _noisy_line(15, seed=10)
    widths = []
    for n in (300, 5000):
        bi, bo = _correctness(x, n, rng), _correctness(y, n, rng)
        mi, mo = _correctness([0.75], n, rng), _correctness([0.7], n, rng)
        res = R.bootstrap_er_samples(bi, bo, mi[0], mo[0], n_boot=200, seed=0)
        fit = R.fit_baseline(bi.mean(1), bo.mean(1))
        assert res.estimate == pytest.approx(R.effective_robustness(mi.mean(), mo.mean(), fit))
        assert res.ci_low <= res.estimate <= res.ci_high
        widths.append(res.ci_high - res.ci_low)
    assert widths[1] < widths[0] / 2
    with pytest.raises(ValueError, match="shape mismatch"):
        R.bootstrap_er_samples(bi, bo, mi[0, :10], mo[0], n_boot=2)


# --------------------------------------------------------------------------- tables


def _toy_table() -> tuple[pd.DataFrame, list[str]]:
    x, y = _noisy_line(30, seed=12)
    x2, y2 = _noisy_line(30, seed=13, slope=1.1, intercept=-1.5)
    acc = pd.DataFrame({"imagenet": x, "imagenet-v2": y, "imagenet-r-classes": x2, "imagenet-r": y2},
                       index=[f"m{i}" for i in range(30)])
    acc.loc["clip"] = [0.63, 0.56, 0.88, 0.69]
    acc.loc["nor"] = [0.7, 0.6, np.nan, np.nan]
    return acc, [f"m{i}" for i in range(30)]


def test_er_table_rows_equal_direct_computation() -> None:
    acc, base = _toy_table()
    shifts = {"imagenet-v2": "imagenet", "imagenet-r": "imagenet-r-classes"}
    tab = R.er_table(acc, shifts, base, n_boot=200)
    assert list(tab.columns) == R.ER_COLUMNS
    assert len(tab) == 32 + 31  # "nor" has no R accuracy
    for shift, idc in shifts.items():
        fit = R.fit_baseline(acc.loc[base, idc], acc.loc[base, shift])
        row = tab[(tab.model == "clip") & (tab["shift"] == shift)].iloc[0]
        assert row.er == pytest.approx(R.effective_robustness(acc.loc["clip", idc], acc.loc["clip", shift], fit))
        assert row.predicted == pytest.approx(fit.predict(acc.loc["clip", idc]))
        assert row.ci_low <= row.er <= row.ci_high
        ref = R.bootstrap_er(acc.loc[base, idc], acc.loc[base, shift], acc.loc["clip", idc], acc.loc["clip", shift],
                             n_boot=200)
        assert (row.ci_low, row.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
        assert abs(np.mean(tab[(tab["shift"] == shift) & tab.model.isin(base)].er)) < 0.01
    mask = pd.Series(acc.index.isin(base), index=acc.index)
    pd.testing.assert_frame_equal(tab, R.er_table(acc, shifts, mask, n_boot=200))


def test_er_average_and_er_of_mean_accuracy() -> None:
    acc, base = _toy_table()
    tab = R.er_table(acc, {"imagenet-v2": "imagenet", "imagenet-r": "imagenet-r-classes"}, base, n_boot=50)
    avg = R.er_average(tab).set_index("model")
    assert avg.loc["clip", "er_mean"] == pytest.approx(tab[tab.model == "clip"].er.mean())
    assert avg.loc["clip", "n_shifts"] == 2 and avg.loc["nor", "n_shifts"] == 1
    mean_tab = R.er_of_mean_accuracy(acc, ["imagenet-v2", "imagenet-r"], "imagenet", base, n_boot=50)
    assert set(mean_tab["shift"]) == {R.MEAN_SHIFT} and "nor" not in set(mean_tab.model)
    fit = R.fit_baseline(acc.loc[base, "imagenet"], acc.loc[base, ["imagenet-v2", "imagenet-r"]].mean(axis=1))
    clip = mean_tab.set_index("model").loc["clip"]
    assert clip.er == pytest.approx(R.effective_robustness(0.63, (0.56 + 0.69) / 2, fit))


def test_er_table_rejects_unknown_baseline_and_percent() -> None:
    acc, base = _toy_table()
    with pytest.raises(ValueError, match="not rows"):
        R.er_table(acc, {"imagenet-v2": "imagenet"}, base + ["missing-model"], n_boot=5)
    with pytest.raises(ValueError, match="percent"):
        R.er_table(acc * 100, {"imagenet-v2": "imagenet"}, base, n_boot=5)
    with pytest.raises(ValueError, match="shift 'imagenet-r'"):
        R.er_table(acc, {"imagenet-r": "imagenet-r-classes"}, ["m0", "nor"], n_boot=5)


def test_wide_accuracies_pivots_and_rejects_duplicates() -> None:
    long = pd.DataFrame({"model": ["a", "a", "b"], "test_set": ["imagenet", "imagenet-r", "imagenet"],
                         "acc": [0.7, 0.3, 0.6]})
    wide = R.wide_accuracies(long)
    assert wide.loc["a", "imagenet-r"] == 0.3 and np.isnan(wide.loc["b", "imagenet-r"])
    with pytest.raises(ValueError, match="duplicate"):
        R.wide_accuracies(pd.concat([long, long.iloc[:1]]))


# --------------------------------------------------------------------------- class-subset accuracy


def test_subset_accuracy_equals_loop() -> None:
    rng = np.random.default_rng(14)
    logits = rng.normal(size=(200, 1000))
    indices = np.sort(rng.choice(1000, 200, replace=False))
    labels = rng.choice(indices, 200)
    logits[np.arange(100), labels[:100]] += 5  # half the samples favour their label
    correct = 0
    for row, lab in zip(logits, labels):
        best = max(indices, key=lambda i: row[i])
        correct += best == lab
    assert R.subset_accuracy(logits, labels, indices) == pytest.approx(correct / 200)
    assert np.array_equal(R.subset_logits(logits, indices), logits[:, indices])
    with pytest.raises(ValueError, match="not in the class subset"):
        R.subset_accuracy(logits, np.arange(200), indices[::-1][:5])
    with pytest.raises(ValueError, match="distinct"):
        R.subset_logits(logits, [1, 1])


def test_mapped_accuracy_equals_testbed_loop() -> None:
    rng = np.random.default_rng(15)
    groups = [[3, 7], [10], [500, 501, 502], [999]]
    cmap = R.class_map_from_groups(groups)
    logits = rng.normal(size=(300, 1000))
    labels = rng.integers(0, 4, 300)
    for i in range(150):
        logits[i, rng.choice(groups[labels[i]])] += 4
    sublist = [i for g in groups for i in g]
    # imagenet-testbed objectnet_accuracy: argmax over the sub-selected logits, correct if in the label's group
    ref = np.mean([sublist[int(np.argmax(row[sublist]))] in groups[lab] for row, lab in zip(logits, labels)])
    assert R.mapped_accuracy(logits, labels, cmap) == pytest.approx(ref)
    with pytest.raises(ValueError, match="many-to-one"):
        R.class_map_from_groups([[1, 2], [2]])


def test_objectnet_map_from_testbed_metadata(mirror: Path) -> None:
    on_to_in = json.loads(fetch.fetch(ON_META + "objectnet_to_imagenet_1k.json").read_text())
    in_labels = json.loads(fetch.fetch(ON_META + "imagenet_to_labels.json").read_text())
    name_to_idx = {v: int(k) for k, v in in_labels.items()}
    groups = [[name_to_idx[n] for n in names.split("; ")] for names in on_to_in.values()]
    cmap = R.class_map_from_groups(groups)
    assert len(groups) == 113 and (cmap != R.UNMAPPED).sum() == 125  # testbed: 6250 val images = 125 × 50


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def testbed(mirror: Path) -> tuple[pd.DataFrame, pd.Series]:
    acc = pd.read_csv(fetch.fetch(TESTBED), index_col="model") / 100  # table is in percent
    types = pd.read_csv(fetch.fetch(TYPES), index_col="model")["type"]
    return acc, published.testbed_baseline(types)


def test_testbed_clip_zeroshot_has_positive_er(testbed) -> None:
    acc, base = testbed
    assert base.sum() >= 80 and not base.get(CLIP, False)
    tab = R.er_table(acc, TESTBED_SHIFTS, base, n_boot=300).set_index(["model", "shift"])
    clip = tab.loc[CLIP]
    assert clip.loc["imagenet-r", "er"] > 0.2
    assert clip.loc["objectnet-1.0-beta", "er"] > 0 and clip.loc["objectnet-1.0-beta", "ci_low"] > 0
    assert (clip["er"] > 0).all()
    # the line-fit models sit on their own line: mean logit residual ~ 0 per shift
    for shift, idc in TESTBED_SHIFTS.items():
        b = acc.loc[base[base].index, [idc, shift]].dropna()
        fit = R.fit_baseline(b[idc], b[shift])
        b = b[(b > 0).all(axis=1)]
        assert abs(np.mean(R.transformed_residual(b[idc], b[shift], fit))) < 1e-9
