"""Section 03 (shape bias): deduplicated model-vs-human trials, grouped shape bias with the two-level
bootstrap, figures and the cache path; the claims are in ``tests/test_shape_bias_claims.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprobust import cache, fetch, published
from cliprobust.metrics import shape_bias as S
from cliprobust.runs import Run, UnknownOptionError
from cliprobust.sections import shape_bias as sec
from cliprobust.sections.shape_bias import c3, caches, figures
from cliprobust.sections.shape_bias import trials as T

NB = 200  # bootstrap draws in tests (the notebooks use stats.N_BOOT)


@pytest.fixture(scope="module")
def trials(mirror: Path) -> pd.DataFrame:
    return T.mvh_trials()


@pytest.fixture(scope="module")
def table(trials) -> pd.DataFrame:
    return T.shape_bias_table(trials, n_boot=NB)


def _loop_shape_bias(rows: pd.DataFrame) -> float:
    """model-vs-human ``ShapeBias`` analysis as a plain loop: drop shape == texture, count cue hits."""
    shape_hits = texture_hits = 0
    for s, t, r in zip(rows["shape"], rows["texture"], rows["response"]):
        if s == t:
            continue
        shape_hits += r == s
        texture_hits += r == t
    return shape_hits / (shape_hits + texture_hits)


def test_dedupe_drops_the_four_duplicate_models(trials) -> None:
    assert trials.loc[trials["kind"] == "human", "subject"].nunique() == 10
    models = set(trials.loc[trials["kind"] == "model", "subject"])
    assert len(models) == 15 - 4 and not models & set(published.MVH_DUPLICATES)
    assert models == set(T.MVH_MODEL_GROUPS)
    assert (trials.groupby("subject").size() == 1280).all()


def test_dedupe_refuses_models_that_differ(mirror: Path) -> None:
    raw = published.cue_conflict_trials()
    i = raw.index[raw["subject"] == "deit-insup"][0]
    other = "car" if raw.at[i, "response"] != "car" else "dog"
    raw.loc[i, "response"] = other
    with pytest.raises(ValueError, match="deit-insup"):
        T.dedupe_trials(raw)


def test_member_and_group_rows_equal_loop(table, trials) -> None:
    members = table[table["level"] == "member"].set_index("name")
    assert len(members) == 21
    for name, rows in trials.groupby("subject"):
        assert members.loc[name, "shape_bias"] == pytest.approx(_loop_shape_bias(rows), abs=1e-12), name
    groups = table[table["level"] == "group"].set_index("group")
    assert list(groups.index) == list(T.GROUPS)
    for g, rows in trials.groupby("group"):
        assert groups.loc[g, "shape_bias"] == pytest.approx(_loop_shape_bias(rows), abs=1e-12), g
        assert groups.loc[g, "n_members"] == rows["subject"].nunique()
    assert (table["n_conflict_trials"] == 1200 * table["n_members"]).all()  # README: 80 of 1,280 agree
    assert ((table["ci_low"] <= table["shape_bias"]) & (table["shape_bias"] <= table["ci_high"])).all()


def test_direction_human_clip_supervised(table) -> None:
    sb = table[table["level"] == "member"].set_index("name")["shape_bias"]
    g = table[table["level"] == "group"].set_index("group")["shape_bias"]
    assert g["human"] > sb["clip"] > sb["resnet50-sup"]
    assert g["human"] > g["clip"] > g["self-supervised"] > g["supervised"]


def test_per_category_equals_loop(trials) -> None:
    pc = T.per_category_frame(trials)
    clip = pc[(pc["level"] == "member") & (pc["name"] == "clip")].set_index("category")["shape_bias"]
    assert set(clip.index) == set(S.CATEGORIES_16)
    rows = trials[trials["subject"] == "clip"]
    for cat in S.CATEGORIES_16:
        sub = rows[rows["shape"] == cat]
        hits = ((sub["response"] == sub["shape"]) | (sub["response"] == sub["texture"])) & (sub["shape"] != sub["texture"])
        expected = _loop_shape_bias(sub) if hits.any() else np.nan
        assert clip[cat] == pytest.approx(expected, nan_ok=True), cat
    assert set(pc.loc[pc["level"] == "group", "name"]) == set(T.GROUPS)


def test_hits_and_draws_equal_the_loop(trials) -> None:
    h = T.hits(trials)
    assert h.shape.shape == (21, 1280) and (h.shape + h.texture <= 1).all()
    for name, rows in list(trials.groupby("subject"))[:4]:
        assert T.shape_bias_draws(h, [name])[0] == pytest.approx(_loop_shape_bias(rows), abs=1e-12)
    sup = [s for s, g in zip(h.subjects, h.groups) if g == "supervised"]
    pooled = _loop_shape_bias(trials[trials["subject"].isin(sup)])
    assert T.shape_bias_draws(h, sup, "pooled")[0] == pytest.approx(pooled, abs=1e-12)
    mean = np.mean([_loop_shape_bias(trials[trials["subject"] == s]) for s in sup])
    assert T.shape_bias_draws(h, sup, "member-mean")[0] == pytest.approx(mean, abs=1e-12)
    pc = T.per_category_frame(trials)
    cat = pc[(pc["level"] == "group") & (pc["name"] == "supervised")]["shape_bias"].mean()
    assert T.shape_bias_draws(h, sup, "category-mean")[0] == pytest.approx(cat, abs=1e-12)


def test_stimulus_bootstrap_matches_scipy(trials) -> None:
    """The CI of one model's shape bias equals scipy.stats.bootstrap's percentile interval over stimuli
    up to Monte-Carlo error."""
    from scipy import stats as sps
    h = T.hits(trials)
    i = h.subjects.index("clip")
    tab = T.shape_bias_table(trials, n_boot=2000)
    ours = tab[tab["level"] == "member"].set_index("name").loc["clip"]
    ref = sps.bootstrap((h.shape[i], h.texture[i]), lambda s, t: s.sum() / (s.sum() + t.sum()), paired=True,
                        vectorized=False, n_resamples=2000, method="percentile", random_state=1)
    assert ours["ci_low"] == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert ours["ci_high"] == pytest.approx(ref.confidence_interval.high, abs=0.01)


def test_two_level_bootstrap_equals_a_loop(trials) -> None:
    """The vectorised two-level draws equal a plain loop: draw members, then stimuli, pool the hits."""
    h = T.hits(trials)
    ssl = [s for s, g in zip(h.subjects, h.groups) if g == "self-supervised"]
    w, mi = T.stimulus_weights(len(h.stimuli), 20, 3), T.member_draws(len(ssl), 20, 4)
    fast = T.shape_bias_draws(h, ssl, "pooled", w, mi)
    idx = T.stats.resample_indices(len(h.stimuli), 20, 3)
    by = {s: g.set_index("stimulus") for s, g in trials.groupby("subject")}
    for b in range(20):
        stim = [h.stimuli[i] for i in idx[b]]
        rows = pd.concat([by[ssl[m]].loc[stim] for m in mi[b]])
        assert fast[b] == pytest.approx(_loop_shape_bias(rows), abs=1e-12)


def test_group_intervals_resample_members(table, trials) -> None:
    """The self-supervised members span 0.175-0.446: the group interval must be wider than the
    stimulus-only interval, and reach about as far as the spread of member means allows."""
    h = T.hits(trials)
    ssl = [s for s, g in zip(h.subjects, h.groups) if g == "self-supervised"]
    w = T.stimulus_weights(len(h.stimuli), NB, 0)
    lo, hi = T.stats.percentile_interval(T.shape_bias_draws(h, ssl, "pooled", w))
    g = table[(table["level"] == "group")].set_index("group").loc["self-supervised"]
    assert (g["ci_high"] - g["ci_low"]) > 2 * (hi - lo)
    members = table[(table["level"] == "member") & (table["group"] == "self-supervised")]["shape_bias"]
    assert members.min() < g["ci_low"] < g["shape_bias"] < g["ci_high"] < members.max()
    one = table[(table["level"] == "group")].set_index("group").loc["clip"]  # one member: stimuli only
    clip = table[(table["level"] == "member")].set_index("name").loc["clip"]
    assert one["ci_high"] - one["ci_low"] == pytest.approx(clip["ci_high"] - clip["ci_low"], abs=0.02)


def test_group_labels_name_one_model_groups(table) -> None:
    lab = T.group_labels(table)
    assert lab["clip"] == "CLIP ViT-B/16 (1 model)" and lab["human"] == "humans (10 observers)"
    assert lab["self-supervised"] == "self-supervised (6 models)"


def _outputs(model: str, clip: bool, decide_texture: bool) -> cache.Outputs:
    """Real :class:`cache.Outputs` over the 1,280 shipped stimuli whose scores favour one cue's classes."""
    names = sorted(a.name for a in fetch.select("stimuli/cue-conflict/") if a.name.endswith(".png"))
    cats = published.mvh_16_categories()
    order = list(cats)
    cues = S.stimulus_cues([Path(n).name for n in names])
    target = cues["texture"] if decide_texture else cues["shape"]
    scores = np.zeros((len(names), 1000), dtype=np.float16)
    for i, c in enumerate(target):
        scores[i, cats[c]] = 0.3 if clip else 8.0  # cosine-like for CLIP, logit-like otherwise
    labels = np.array([order.index(s) for s in cues["shape"]])
    meta = {"scores_kind": "cosine" if clip else "logits"}
    return cache.Outputs(model, "cue-conflict", "h", scores, None, labels, tuple(names), 4.6052 if clip else None,
                         None, meta)


@pytest.mark.parametrize("clip", [False, True])
def test_outputs_trials_decisions(clip: bool, mirror: Path) -> None:
    shape_out = caches.outputs_trials(_outputs("m", clip, decide_texture=False))
    assert len(shape_out) == 1280 and S.shape_bias(shape_out["shape"], shape_out["texture"], shape_out["response"]) == 1.0
    tex = caches.outputs_trials(_outputs("m", clip, decide_texture=True))
    assert S.shape_bias(tex["shape"], tex["texture"], tex["response"]) == 0.0
    # the decision is the mvh mapping of the model's softmax (CLIP at scale 100)
    out = _outputs("m", clip, decide_texture=True)
    probs = out.probs(scale=caches.CLIP_SOFTMAX_SCALE) if clip else out.probs()
    assert (tex["response"].to_numpy() == S.decisions_16(probs, published.mvh_16_categories())).all()


def test_outputs_trials_checks_labels(mirror: Path) -> None:
    out = _outputs("m", False, False)
    bad = cache.Outputs(out.model, out.dataset, out.head, out.scores, None, (out.labels + 1) % 16, out.file_ids,
                        None, None, out.meta)
    with pytest.raises(ValueError, match="disagree"):
        caches.outputs_trials(bad)


def test_cached_trials_and_table_from_cache(monkeypatch, mirror: Path) -> None:
    fakes = {"timm:test_resnet.r160_in1k": _outputs("timm:test_resnet.r160_in1k", False, False),
             "open_clip:ViT-B-32/none": _outputs("open_clip:ViT-B-32/none", True, True)}
    monkeypatch.setattr(caches.outputs, "load", lambda m, d: fakes[m])
    inv = pd.DataFrame({"model": [*fakes, "open_clip:cliprobust-tiny/none"], "dataset": "cue-conflict",
                        "status": ["complete", "derivable", "partial"]})
    tr = caches.cached_trials(inv)
    assert set(tr["subject"]) == set(fakes) and set(tr["group"]) == {"smoke"}
    tab = T.shape_bias_table(tr, n_boot=100)
    sb = tab[tab["level"] == "member"].set_index("name")["shape_bias"]
    assert sb["timm:test_resnet.r160_in1k"] == 1.0 and sb["open_clip:ViT-B-32/none"] == 0.0
    assert sec.claim_c4(Run("smoke"), cached=tr).tier == "not testable here"  # smoke models are neither CLIP group


def test_cache_inventory_plans(tmp_path: Path, monkeypatch) -> None:
    from cliprobust import paths, zoo
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "outputs"))
    inv = sec.cache_inventory(Run("smoke"))
    assert list(inv["model"]) == [e.id for e in zoo.select("smoke")]
    assert set(inv["dataset"]) == {caches.CACHE_DATASET} and set(inv["status"]) == {"missing"}
    full = sec.cache_inventory(Run("full"))
    assert set(full["model"]) == {e.id for e in zoo.select("clip-zeroshot,clip-ft,imagenet")}


def test_figures_pass_the_layout_rules(table, trials) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cliprobust import plots
    comp = c3.c3_comparisons(trials, sec.Options(unit="model", n_boot=50))
    for name, fig in {"03_shape_bias_groups": figures.plot_groups(table),
                      "03_shape_bias_per_category": figures.plot_per_category(T.per_category_frame(trials), table),
                      "03_c3_per_model": figures.plot_c3_comparisons(comp, c3.C3_MARGIN)}.items():
        plots.stamp(fig, "test", run=Run("published"))
        assert plots.check_layout(fig) == [], name
        labels = [t.get_text() for lg in fig.legends + [a.get_legend() for a in fig.axes if a.get_legend()]
                  for t in lg.get_texts()]
        assert not any(t.startswith("clip") for t in labels), labels  # CLIP shown as its one model
        plt.close(fig)


def test_cached_group_figure_gives_each_zoo_group_its_own_look() -> None:
    """The cached part's groups (zero-shot CLIP, CLIP fine-tuned, ImageNet) are not in the published
    palette of :data:`figures.GROUP_COLORS`: they must still get distinct colours (the distinct-series rule
    failed when all three fell back to one colour)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cliprobust import plots
    rows = []
    for g, sb in (("clip-zeroshot", 0.48), ("clip-ft", 0.34), ("imagenet", 0.21)):
        for k in range(3):
            rows.append({"level": "member", "group": g, "label": f"{g} model {k}", "shape_bias": sb,
                         "ci_low": sb - 0.03, "ci_high": sb + 0.03})
        rows.append({"level": "group", "group": g, "label": g, "shape_bias": sb, "ci_low": sb - 0.02,
                     "ci_high": sb + 0.02, "n_members": 3})
    fig = figures.plot_groups(pd.DataFrame(rows))
    plots.stamp(fig, "test", run=Run("published"))
    assert plots.check_layout(fig) == []
    colours = {figures.group_color(g) for g in ("clip-zeroshot", "clip-ft", "imagenet")}
    assert len(colours) == 3
    assert figures.group_color("clip") == figures.GROUP_COLORS["clip"]  # the published figure keeps its colours
    plt.close(fig)


def test_section_interface() -> None:
    for name in ("Options", "PAPER_PLAN", "SMOKE_PLAN", "cache_plan", "cache_inventory", "claims", "claim_c3",
                 "claim_c4"):
        assert hasattr(sec, name), name
    assert sec.cache_plan(Run("smoke")) is sec.SMOKE_PLAN and sec.cache_plan(Run()) is sec.PAPER_PLAN
    with pytest.raises(UnknownOptionError, match="aggregation"):
        Run.from_params("published", sec.Options, agregation="pooled")
    with pytest.raises(ValueError, match="stylized"):
        sec.Options(stylized="dropped")
