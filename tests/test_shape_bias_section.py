"""Section 03 (shape bias): deduplicated model-vs-human trials, grouped shape bias, claims C3/C4, cache path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprobust import cache, fetch, published, sections
from cliprobust.metrics import shape_bias as S
from cliprobust.sections import shape_bias as B

VERDICTS = set(sections.VERDICTS)


@pytest.fixture(scope="module")
def trials(mirror: Path) -> pd.DataFrame:
    return B.mvh_trials()


@pytest.fixture(scope="module")
def table(trials) -> pd.DataFrame:
    return B.shape_bias_table(trials, n_boot=300)


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
    assert models == set(B.MVH_MODEL_GROUPS)
    assert (trials.groupby("subject").size() == 1280).all()


def test_dedupe_refuses_models_that_differ(mirror: Path) -> None:
    raw = published.cue_conflict_trials()
    i = raw.index[raw["subject"] == "deit-insup"][0]
    other = "car" if raw.at[i, "response"] != "car" else "dog"
    raw.loc[i, "response"] = other
    with pytest.raises(ValueError, match="deit-insup"):
        B.dedupe_trials(raw)


def test_member_and_group_rows_equal_loop(table, trials) -> None:
    members = table[table["level"] == "member"].set_index("name")
    assert len(members) == 21
    for name, rows in trials.groupby("subject"):
        assert members.loc[name, "shape_bias"] == pytest.approx(_loop_shape_bias(rows), abs=1e-12), name
    groups = table[table["level"] == "group"].set_index("group")
    assert list(groups.index) == list(B.GROUPS)
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
    pc = B.per_category_frame(trials)
    clip = pc[(pc["level"] == "member") & (pc["name"] == "clip")].set_index("category")["shape_bias"]
    assert set(clip.index) == set(S.CATEGORIES_16)
    rows = trials[trials["subject"] == "clip"]
    for cat in S.CATEGORIES_16:
        sub = rows[rows["shape"] == cat]
        hits = ((sub["response"] == sub["shape"]) | (sub["response"] == sub["texture"])) & (sub["shape"] != sub["texture"])
        expected = _loop_shape_bias(sub) if hits.any() else np.nan
        assert clip[cat] == pytest.approx(expected, nan_ok=True), cat
    assert set(pc.loc[pc["level"] == "group", "name"]) == set(B.GROUPS)


def test_claim_c3_rule(table) -> None:
    res = B.claim_c3(table)
    assert res["claim"] == "C3" and res["verdict"] in VERDICTS
    g = table[table["level"] == "group"].set_index("group")
    expect = all(g.loc["clip", "ci_low"] > g.loc[k, "ci_high"] for k in B.C3_COMPARED)
    assert res["verdict"] == (B.REPRODUCED if expect else B.NOT_REPRODUCED)
    lowered = table.copy()
    clip = lowered["group"] == "clip"
    lowered.loc[clip, ["shape_bias", "ci_low", "ci_high"]] = [0.2, 0.18, 0.22]
    assert B.claim_c3(lowered)["verdict"] == B.NOT_REPRODUCED


def _synthetic_trials(trials: pd.DataFrame, subject: str, group: str, p_shape: float, seed: int) -> pd.DataFrame:
    """A fake model: answers the shape cue with probability p_shape, else the texture cue."""
    base = trials[trials["subject"] == "clip"][["stimulus", "shape", "texture"]].reset_index(drop=True)
    pick = np.random.default_rng(seed).random(len(base)) < p_shape
    return base.assign(subject=subject, group=group, label=subject,
                       response=np.where(pick, base["shape"], base["texture"]))


def test_claim_c4_needs_both_clip_groups(trials) -> None:
    none = B.claim_c4(pd.DataFrame(columns=["subject", "group"]))
    assert none["verdict"] == B.NOT_TESTABLE
    zs = _synthetic_trials(trials, "open_clip:ViT-B-16/openai", "clip-zeroshot", 0.6, 1)
    ft = _synthetic_trials(trials, "timm:vit_base_patch16_clip_224.openai_ft_in1k", "clip-ft", 0.3, 2)
    smoke = _synthetic_trials(trials, "open_clip:ViT-B-32/none", "smoke", 0.9, 3)
    assert B.claim_c4(pd.concat([zs, smoke]))["verdict"] == B.NOT_TESTABLE
    res = B.claim_c4(pd.concat([zs, ft, smoke]), n_boot=200)
    assert res["verdict"] == B.REPRODUCED
    assert res["numbers"]["clip-ft"][0] < res["numbers"]["clip-zeroshot"][0]
    flipped = pd.concat([zs.assign(group="clip-ft"), ft.assign(group="clip-zeroshot")])
    assert B.claim_c4(flipped, n_boot=200)["verdict"] == B.NOT_REPRODUCED


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
    shape_out = B.outputs_trials(_outputs("m", clip, decide_texture=False))
    assert len(shape_out) == 1280 and S.shape_bias(shape_out["shape"], shape_out["texture"], shape_out["response"]) == 1.0
    tex = B.outputs_trials(_outputs("m", clip, decide_texture=True))
    assert S.shape_bias(tex["shape"], tex["texture"], tex["response"]) == 0.0
    # the decision is the mvh mapping of the model's softmax (CLIP at scale 100)
    out = _outputs("m", clip, decide_texture=True)
    probs = out.probs(scale=B.CLIP_SOFTMAX_SCALE) if clip else out.probs()
    assert (tex["response"].to_numpy() == S.decisions_16(probs, published.mvh_16_categories())).all()


def test_outputs_trials_checks_labels(mirror: Path) -> None:
    out = _outputs("m", False, False)
    bad = cache.Outputs(out.model, out.dataset, out.head, out.scores, None, (out.labels + 1) % 16, out.file_ids,
                        None, None, out.meta)
    with pytest.raises(ValueError, match="disagree"):
        B.outputs_trials(bad)


def test_cached_trials_and_table_from_cache(monkeypatch, mirror: Path) -> None:
    fakes = {"timm:test_resnet.r160_in1k": _outputs("timm:test_resnet.r160_in1k", False, False),
             "open_clip:ViT-B-32/none": _outputs("open_clip:ViT-B-32/none", True, True)}
    monkeypatch.setattr(B.cache, "load", lambda m, d: fakes[m])
    status = pd.DataFrame({"model": [*fakes, "open_clip:cliprobust-tiny/none"],
                           "status": ["complete", "derivable", "partial"]})
    tr = B.cached_trials(status)
    assert set(tr["subject"]) == set(fakes) and set(tr["group"]) == {"smoke"}
    tab = B.shape_bias_table(tr, n_boot=100)
    sb = tab[tab["level"] == "member"].set_index("name")["shape_bias"]
    assert sb["timm:test_resnet.r160_in1k"] == 1.0 and sb["open_clip:ViT-B-32/none"] == 0.0
    assert B.claim_c4(tr)["verdict"] == B.NOT_TESTABLE  # smoke models are neither CLIP group


def test_cache_status_fast_path_agrees_with_ls(tmp_path: Path, monkeypatch) -> None:
    from cliprobust import paths
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "outputs"))
    st = B.cache_status("smoke")
    assert list(st["model"]) == [e.id for e in B.zoo.select("smoke")]
    assert set(st["status"]) == {"missing"}
    # a model with a cache folder goes through cache.ls, whose verdict (no complete entry) must match
    B.cache.slot_dir(st["model"][0], B.CACHE_DATASET).mkdir(parents=True)
    st2 = B.cache_status("smoke")
    assert list(st2["model"]) == list(st["model"])
    assert st2["status"][0] == cache.ls(st["model"][0], B.CACHE_DATASET)["status"][0] == "missing"
