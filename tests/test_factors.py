"""ImageNet-X factor metrics, cross-checked against the installed ``imagenet_x`` package and its published tables."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliprobust import fetch, published
from cliprobust.metrics import factors as F
from cliprobust.metrics import robustness as R

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import imagenet_x
    from imagenet_x import aggregate as ix_aggregate

PRED = "imagenetx/model_predictions/base/{}.csv"
BASE_MODELS = ("DINO", "ResNet50", "SimCLR", "ViT")
PUBLISHED = "imagenetx/results/val/top_factor/{}/class/accuracies_per_factor.csv"
TYPES = "published/imagenet-testbed/model_types.csv"


def _brute_force(correct: np.ndarray, ann: np.ndarray) -> np.ndarray:
    out = []
    for f in range(ann.shape[1]):
        hits = total = 0
        for c, a in zip(correct, ann[:, f]):
            if a:
                total += 1
                hits += bool(c)
        out.append(hits / total if total else np.nan)
    return np.array(out)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 10_000), st.integers(5, 200))
def test_factor_accuracy_equals_loop(seed, n) -> None:
    rng = np.random.default_rng(seed)
    ann = pd.DataFrame(rng.random((n, 16)) < 0.3, columns=F.FACTORS).astype(int)
    correct = pd.Series(rng.random(n) < 0.7, name="m")
    tab = F.factor_accuracies(correct, ann)
    np.testing.assert_allclose(tab.loc["m", list(F.FACTORS)], _brute_force(correct.to_numpy(), ann.to_numpy()))
    assert tab.loc["m", F.AVERAGE] == pytest.approx(correct.mean())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 10_000))
def test_top_factor_accuracies_average_back_to_overall(seed) -> None:
    rng = np.random.default_rng(seed)
    top = rng.integers(0, 16, 300)
    ann = pd.DataFrame(np.eye(16, dtype=int)[top], columns=F.FACTORS)
    correct = pd.DataFrame({"a": rng.random(300) < 0.6, "b": rng.random(300) < 0.8})
    tab = F.factor_accuracies(correct, ann)
    counts = ann.sum().to_numpy()
    for m in ("a", "b"):  # one-hot annotations: count-weighted factor accuracy = overall accuracy
        acc = tab.loc[m, list(F.FACTORS)].to_numpy()
        assert np.nansum(acc * counts) / counts.sum() == pytest.approx(tab.loc[m, F.AVERAGE])


def test_error_ratio_formula_and_validation() -> None:
    tab = pd.DataFrame({"pose": [0.8, 0.5], "shape": [0.4, 0.9], F.AVERAGE: [0.7, 0.75]}, index=["a", "b"])
    er = F.error_ratio(tab)
    assert list(er.columns) == ["pose", "shape"]
    assert er.loc["a", "shape"] == pytest.approx(0.6 / 0.3) and er.loc["b", "shape"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="same row index"):
        F.factor_accuracies(pd.Series([True, False], index=["x", "y"]), pd.DataFrame({"pose": [1, 0]}), ["pose"])
    with pytest.raises(ValueError, match="no prediction"):
        F.is_correct(pd.Series([1], index=["x"]), pd.Series([1, 2], index=["x", "y"]))


def test_factor_er_table_reuses_robustness() -> None:
    rng = np.random.default_rng(3)
    avg = rng.uniform(0.5, 0.85, 40)
    tab = pd.DataFrame({f: _logit_line(avg, rng) for f in F.PAPER_FACTORS}, index=[f"m{i}" for i in range(40)])
    tab[F.AVERAGE] = avg
    base = list(tab.index[:30])
    er = F.factor_er_table(tab, base, n_boot=100)
    assert set(er.factor) == set(F.PAPER_FACTORS) and len(er) == 400
    ref = R.er_table(tab, {f: F.AVERAGE for f in F.PAPER_FACTORS}, base, n_boot=100)
    np.testing.assert_allclose(er.er, ref.er)
    for f in F.PAPER_FACTORS:
        b = er[(er.factor == f) & er.model.isin(base)]
        fit = R.fit_baseline(b.id_acc, b.ood_acc)
        assert abs(np.mean(R.transformed_residual(b.id_acc, b.ood_acc, fit))) < 1e-9


def _logit_line(avg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.special import expit, logit
    return expit(1.2 * logit(avg) - 0.3 + rng.normal(0, 0.1, avg.size))


# --------------------------------------------------------------------------- real ImageNet-X data


@pytest.fixture(scope="module")
def annotations() -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {v: imagenet_x.load_annotations(which_factor=v) for v in (F.TOP_FACTOR, F.MULTI_FACTOR)}


@pytest.fixture(scope="module")
def predictions(mirror: Path) -> dict[str, pd.DataFrame]:
    return {m: pd.read_csv(fetch.fetch(PRED.format(m))) for m in BASE_MODELS}


def test_paper_factors_are_the_ten_most_frequent_top_factors(annotations) -> None:
    counts = annotations[F.TOP_FACTOR][list(F.FACTORS)].sum().sort_values(ascending=False)
    assert tuple(F.FACTORS) == tuple(imagenet_x.FACTORS)
    assert set(counts.index[:10]) == set(F.PAPER_FACTORS)


def _ours(ann: pd.DataFrame, preds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ann = ann.set_index("file_name")
    correct = F.correctness_table({m: p.set_index("file_name").predicted_class for m, p in preds.items()}, ann["class"])
    return F.factor_accuracies(correct, ann)


def _theirs(ann: pd.DataFrame, preds: dict[str, pd.DataFrame]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        merged = imagenet_x.augment_model_predictions(ann, dict(preds))
        return ix_aggregate.compute_factor_accuracies(merged, list(imagenet_x.FACTORS), "is_correct")


@pytest.mark.parametrize("variant", [F.TOP_FACTOR, F.MULTI_FACTOR])
def test_factor_accuracies_equal_imagenet_x(annotations, predictions, variant) -> None:
    ours, theirs = _ours(annotations[variant], predictions), _theirs(annotations[variant], predictions)
    cols = list(F.FACTORS) + [F.WORST, F.AVERAGE]
    diff = (ours.loc[list(BASE_MODELS), cols] - theirs.loc[list(BASE_MODELS), cols]).abs().to_numpy().max()
    assert diff < 1e-12, f"max abs diff vs imagenet_x ({variant}): {diff}"
    np.testing.assert_allclose(F.error_ratio(ours).loc[list(BASE_MODELS)],
                               imagenet_x.error_ratio(theirs).loc[list(BASE_MODELS)], atol=1e-12)


def test_factor_accuracies_equal_published_table(annotations, predictions) -> None:
    pub = pd.read_csv(fetch.fetch(PUBLISHED.format("base")), index_col="model")
    assert set(pub.index) == set(BASE_MODELS)
    ours = _ours(annotations[F.TOP_FACTOR], predictions)
    cols = list(F.FACTORS) + [F.WORST, F.AVERAGE]
    diff = (ours.loc[pub.index, cols] - pub[cols]).abs().to_numpy().max()
    assert diff < 1e-12, f"max abs diff vs published base table: {diff}"


def test_clip_factor_er_on_published_testbed_table(mirror: Path) -> None:
    tab = pd.read_csv(fetch.fetch(PUBLISHED.format("imagenet_testbed")), index_col="model")
    types = pd.read_csv(fetch.fetch(TYPES), index_col="model")["type"]
    base = published.testbed_baseline(types)
    er = F.factor_er_table(tab, base, n_boot=200).set_index(["model", "factor"])
    clip = er.loc["vit_b_32_clip_zeroshot"]
    assert len(clip) == 10 and clip.er.notna().all()
    # baseline models lie on their own per-factor lines
    b = er[er.index.get_level_values("model").isin(base[base].index)]
    assert b.groupby("factor").er.mean().abs().max() < 0.02
