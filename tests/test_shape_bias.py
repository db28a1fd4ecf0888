"""Shape bias, cross-checked against a loop re-implementation of model-vs-human's formula on the real trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliprobust import fetch
from cliprobust.metrics import shape_bias as S

CATEGORIES_CSV = "published/label-maps/model_vs_human_16_categories.csv"
HUMAN = "model-vs-human/raw-data/cue-conflict/cue-conflict_subject-{:02d}_session_1.csv"
MODEL_DIR = "model-vs-human/kayburns/raw-data/cue-conflict/"


@pytest.fixture(scope="module")
def categories() -> dict[str, list[int]]:
    df = pd.read_csv(fetch.fetch(CATEGORIES_CSV))
    return {c: g.imagenet_index.tolist() for c, g in df.groupby("category", sort=False)}


def _mvh_shape_bias_loop(trials: pd.DataFrame) -> float:
    """model-vs-human's ShapeBias.analysis, re-written as a loop: texture = digits-stripped last '-' field
    of the stimulus name; drop shape == texture; correct shape / (correct shape + correct texture)."""
    shape_hits = texture_hits = 0
    for category, response, imagename in zip(trials.category, trials.object_response, trials.imagename):
        texture = "".join(ch for ch in imagename.split("_")[-1].split(".")[0].split("-")[-1] if not ch.isdigit())
        if category == texture:
            continue
        shape_hits += response == category
        texture_hits += response == texture
    return shape_hits / (shape_hits + texture_hits)


def _ours(trials: pd.DataFrame) -> float:
    cues = S.stimulus_cues(trials.imagename)
    return S.shape_bias(trials.category.to_numpy(), cues.texture.to_numpy(), trials.object_response.to_numpy())


# --------------------------------------------------------------------------- 16-class mapping


def test_categories_table_matches_constant(categories) -> None:
    assert tuple(categories) == S.CATEGORIES_16
    assert sum(map(len, categories.values())) == 207  # README: 207 rows, no index in two categories
    assert len({i for v in categories.values() for i in v}) == 207


def test_probabilities_to_16_equals_loop_mean(categories) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20, 1000))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores = S.probabilities_to_16(probs, categories)
    for n in range(20):
        for k, idx in enumerate(categories.values()):
            assert scores[n, k] == pytest.approx(sum(probs[n, i] for i in idx) / len(idx))
    summed = S.probabilities_to_16(probs, categories, reduce=np.sum)
    assert not np.allclose(summed, scores)  # sum vs mean matters (dog has 109 classes, airplane 1)
    with pytest.raises(ValueError, match="1000"):
        S.probabilities_to_16(probs[:, :999], categories)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_all_mass_on_one_index_picks_its_category(categories, data) -> None:
    cat = data.draw(st.sampled_from(S.CATEGORIES_16))
    index = data.draw(st.sampled_from(categories[cat]))
    probs = np.zeros((1, 1000))
    probs[0, index] = 1.0
    assert S.decisions_16(probs, categories)[0] == cat


def test_mean_mapping_can_differ_from_argmax_class(categories) -> None:
    # 0.3 on one dog class loses to 0.1 on the single airplane class under MEAN: 0.3/109 < 0.1/1
    probs = np.zeros((1, 1000))
    probs[0, categories["dog"][0]], probs[0, categories["airplane"][0]] = 0.3, 0.1
    assert S.decisions_16(probs, categories)[0] == "airplane"
    assert S.decisions_16(probs, categories, reduce=np.sum)[0] == "dog"


def test_direct_16_decisions() -> None:
    logits = np.eye(16)[[3, 10, 15]] * 5
    assert list(S.decisions_direct_16(logits)) == ["bird", "dog", "truck"]
    with pytest.raises(ValueError, match="16"):
        S.decisions_direct_16(np.zeros((2, 15)))


# --------------------------------------------------------------------------- shape bias


def test_stimulus_cues_parses_both_name_forms() -> None:
    cues = S.stimulus_cues(["0001_s5n_s01_0_bird_00_bird3-clock2.png", "airplane1-bicycle2.png"])
    assert cues.values.tolist() == [["bird", "clock"], ["airplane", "bicycle"]]
    with pytest.raises(ValueError, match="not <shape>"):
        S.stimulus_cues(["airplane1.png"])


trial = st.tuples(st.sampled_from(S.CATEGORIES_16), st.sampled_from(S.CATEGORIES_16),
                  st.sampled_from(S.CATEGORIES_16))


@settings(max_examples=80, deadline=None)
@given(st.lists(trial, min_size=1, max_size=60))
def test_shape_bias_in_unit_interval_and_equals_loop(trials) -> None:
    shape, texture, decision = map(np.array, zip(*trials))
    sb = S.shape_bias(shape, texture, decision)
    s = sum(d == a for a, b, d in trials if a != b)
    t = sum(d == b for a, b, d in trials if a != b)
    if s + t == 0:
        assert np.isnan(sb)
    else:
        assert 0 <= sb <= 1 and sb == pytest.approx(s / (s + t))


def test_shape_bias_ci_contains_estimate_and_clusters_by_stimulus() -> None:
    rng = np.random.default_rng(1)
    shape = rng.choice(S.CATEGORIES_16, 400)
    texture = np.array([rng.choice([c for c in S.CATEGORIES_16 if c != s]) for s in shape])
    decision = np.where(rng.random(400) < 0.7, shape, texture)
    res = S.shape_bias_ci(shape, texture, decision, n_boot=500)
    assert res.ci_low <= res.estimate <= res.ci_high and res.estimate == S.shape_bias(shape, texture, decision)
    # 10 identical observers of 40 stimuli: the per-stimulus CI equals the CI of one observer's 40 trials
    rep = S.shape_bias_ci(np.tile(shape[:40], 10), np.tile(texture[:40], 10), np.tile(decision[:40], 10),
                          stimulus=np.tile(np.arange(40), 10), n_boot=500, seed=2)
    one = S.shape_bias_ci(shape[:40], texture[:40], decision[:40], n_boot=500, seed=2)
    assert (rep.ci_low, rep.ci_high) == pytest.approx((one.ci_low, one.ci_high))


# --------------------------------------------------------------------------- real trials


@pytest.fixture(scope="module")
def humans(mirror: Path) -> list[pd.DataFrame]:
    return [pd.read_csv(fetch.fetch(HUMAN.format(i))) for i in range(1, 11)]


@pytest.fixture(scope="module")
def models(mirror: Path) -> dict[str, pd.DataFrame]:
    arts = [a for a in fetch.select(MODEL_DIR) if a.name.endswith(".csv")]
    return {a.name.split("_")[-2]: pd.read_csv(fetch.fetch(a.name)) for a in arts}


def test_human_shape_bias_near_published(humans) -> None:
    per_subject = [_ours(t) for t in humans]
    assert 0.9 <= np.mean(per_subject) <= 1.0  # model-vs-human: humans ~0.96
    assert per_subject == pytest.approx([_mvh_shape_bias_loop(t) for t in humans], abs=1e-15)
    pooled = pd.concat(humans)
    cues = S.stimulus_cues(pooled.imagename)
    res = S.shape_bias_ci(pooled.category.to_numpy(), cues.texture.to_numpy(), pooled.object_response.to_numpy(),
                          stimulus=pooled.imagename.str.split("_").str[-1].to_numpy(), n_boot=300)
    assert 0.9 <= res.ci_low <= res.estimate <= res.ci_high <= 1.0


def test_model_trials_equal_mvh_loop(models) -> None:
    assert len(models) == 15
    for name, trials in models.items():
        cues = S.stimulus_cues(trials.imagename)
        assert len(trials) == 1280 and (cues["shape"] == trials.category).all()
        assert (cues["shape"] == cues["texture"]).sum() == 80  # README: 80 trials without cue conflict
        assert _ours(trials) == pytest.approx(_mvh_shape_bias_loop(trials), abs=1e-15), name
    for a, b in [("deit-insup", "vits-sup"), ("resnet50", "resnet50-sup")]:  # README: duplicate decisions
        assert _ours(models[a]) == _ours(models[b])


def test_per_category_shape_bias_equals_mvh_matrixplot_loop(models) -> None:
    trials = models["clip"]
    cues = S.stimulus_cues(trials.imagename)
    per_cat = S.shape_bias_by_category(trials.category, cues.texture, trials.object_response)
    assert set(per_cat.index) == set(S.CATEGORIES_16)
    for cat in S.CATEGORIES_16:  # model-vs-human: analysis(df.query("category == cat"))
        sub = trials[trials.category == cat]
        assert per_cat[cat] == pytest.approx(_mvh_shape_bias_loop(sub))
