"""Section 06 (test-time prompts): per-prompt-set metrics from cached features, ER, OOD, the C9 rule."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from torchmetrics.functional.classification import multiclass_calibration_error  # noqa: E402

from cliprobust import cache, zoo  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import robustness as R  # noqa: E402
from cliprobust.sections import claims  # noqa: E402
from cliprobust.sections import test_time_prompts as S  # noqa: E402

CLIPS = [e.id for e in zoo.select("clip-zeroshot")][:6]


def _fake(model: str, dataset: str, ps: str, n: int = 300, seed: int = 0, scale: float = 100.0) -> Outputs:
    """CLIP-like outputs: cosines in [-0.1, 0.4] over 1000 classes, the true class boosted by a
    prompt-set-dependent margin so accuracy and confidence differ between prompt sets."""
    rng = np.random.default_rng(abs(hash((model, dataset, ps, seed))) % 2**32)
    y = rng.integers(0, 1000, n)
    cos = rng.uniform(-0.1, 0.3, (n, 1000)).astype(np.float16)
    margin = {"openai-80": 0.12, "simple-7": 0.1, "photo": 0.06, "classname": 0.03}[ps]
    cos[np.arange(n), y] += np.float16(margin * rng.uniform(0, 2, n))
    return Outputs(model, dataset, f"zeroshot:{ps}", cos, None, y, tuple(map(str, range(n))), scale, None,
                   {"scores_kind": "cosine"})


def _inventory(models, datasets, prompt_sets=S.PROMPT_SETS, status="complete") -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "dataset": d, "prompt_set": p, "status": status}
                         for m in models for d in datasets for p in prompt_sets])


def test_prompt_table_matches_torchmetrics_and_argmax():
    inv = _inventory(CLIPS[:2], ["imagenet"])
    inv.loc[0, "status"] = "needs-head"  # not loadable: skipped
    table = S.prompt_table(inv, loader=_fake)
    assert len(table) == len(inv) - 1 and list(table.columns) == S.TABLE_COLUMNS
    for r in table.itertuples():
        out = _fake(r.model, r.test_set, r.prompt_set)
        z = torch.from_numpy(out.logits.astype(np.float64))
        y = torch.from_numpy(out.labels)
        assert r.accuracy == pytest.approx(float((z.argmax(1) == y).double().mean()))
        ref = multiclass_calibration_error(z.softmax(1), y, num_classes=1000, n_bins=15, norm="l1")
        assert r.ece == pytest.approx(float(ref), abs=1e-6)
        assert r.nll == pytest.approx(float(torch.nn.functional.cross_entropy(z, y)), rel=1e-6)
        assert r.logit_scale == 100.0 and r.group == "clip-zeroshot"


def test_prompt_er_is_shift_accuracy_minus_baseline_line():
    table = S.prompt_table(_inventory(CLIPS[:2], ["imagenet", "imagenet-v2", "imagenet-sketch"]), loader=_fake)
    fits = {s: R.fit_baseline(np.array([0.5, 0.6, 0.7, 0.8]), np.array([0.4, 0.5, 0.6, 0.72]) - d)
            for s, d in (("imagenet-v2", 0.0), ("imagenet-sketch", 0.2))}
    er = S.prompt_er(table, fits=fits)
    assert set(er["shift"]) == {"imagenet-v2", "imagenet-sketch"} and len(er) == 2 * 2 * len(S.PROMPT_SETS)
    acc = table.set_index(["model", "prompt_set", "test_set"])["accuracy"]
    for r in er.itertuples():
        x, y = acc[(r.model, r.prompt_set, "imagenet")], acc[(r.model, r.prompt_set, r.shift)]
        f = fits[r.shift]
        line = 1 / (1 + np.exp(-(f.slope * np.log(x / (1 - x)) + f.intercept)))  # logit line by hand
        assert r.er == pytest.approx(y - line, abs=1e-12)
    assert S.prompt_er(table[table.test_set == "imagenet"], fits=fits).empty  # no shift: nothing


def test_prompt_ood_auroc_matches_sklearn():
    inv = _inventory(CLIPS[:1], ["imagenet", "textures"], ["photo", "classname"])
    ood = S.prompt_ood(inv, "imagenet", loader=_fake)
    assert len(ood) == 2 * len(S.OOD_SCORES)
    for r in ood.itertuples():
        i, o = _fake(r.model, "imagenet", r.prompt_set), _fake(r.model, "textures", r.prompt_set)
        zi, zo = (i.logits, o.logits) if r.score == "msp" else (i.cosine, o.cosine)
        s = [np.exp(z - z.max(1, keepdims=True)) for z in (zi.astype(np.float64), zo.astype(np.float64))]
        si, so = [(e / e.sum(1, keepdims=True)).max(1) for e in s]
        ref = roc_auc_score(np.r_[np.ones(len(si)), np.zeros(len(so))], np.r_[si, so])
        assert r.auroc == pytest.approx(ref, abs=1e-9)


def _table(acc: dict[str, float], ece: dict[str, float], n_models: int = 6, group: str = "clip-zeroshot"):
    rows = [{"model": m, "group": group, "prompt_set": p, "test_set": "imagenet", "accuracy": acc[p] + 0.01 * i,
             "ece": ece[p] + 0.001 * i} for i, m in enumerate(CLIPS[:n_models]) for p in acc]
    return pd.DataFrame(rows).reindex(columns=S.TABLE_COLUMNS)


ACC = {"openai-80": 0.62, "simple-7": 0.61, "photo": 0.58, "classname": 0.55}


def test_claim_c9_rule_mixed_vs_one_winner():
    mixed = S.claim_c9(_table(ACC, {"openai-80": 0.05, "simple-7": 0.04, "photo": 0.02, "classname": 0.03}))
    assert mixed["verdict"] == claims.REPRODUCED
    assert mixed["numbers"]["best"] == {"accuracy": "openai-80", "-ece": "photo"}
    assert mixed["numbers"]["share_acc_cal_opposite"] == pytest.approx(1.0)  # every alternative: acc down, ECE down
    one = S.claim_c9(_table(ACC, {"openai-80": 0.02, "simple-7": 0.03, "photo": 0.04, "classname": 0.05}))
    assert one["verdict"] == claims.NOT_REPRODUCED and one["numbers"]["share_acc_cal_opposite"] == 0.0


def test_claim_c9_untestable_without_enough_real_clip():
    few = S.claim_c9(_table(ACC, ACC, n_models=S.MIN_MODELS - 1))
    smoke = S.claim_c9(_table(ACC, {"openai-80": 0.05, "simple-7": 0.04, "photo": 0.02, "classname": 0.03},
                              group="smoke"), missing="MISSING-NOTE")
    assert few["verdict"] == smoke["verdict"] == S.NOT_TESTABLE
    assert "MISSING-NOTE" in smoke["evidence"] and "never count" in smoke["evidence"]
    assert S.claim_c9(None)["verdict"] == claims.NOT_TESTABLE
    assert S.NOT_TESTABLE is claims.NOT_TESTABLE


def test_published_profile_names_missing_caches(tmp_cache):
    res = S.run(S.PAPER_PLAN)
    n = len(S.clip_models("clip-zeroshot"))
    assert n == 51 and res["table"].empty and res["er"].empty and res["ood"].empty
    assert len(res["inventory"]) == n * len(S.PROMPT_SETS) * (len(S.PAPER_PLAN.test_sets) + len(S.PAPER_PLAN.ood_sets))
    assert (res["inventory"]["status"] == "missing").all()
    c9 = res["claim"]
    assert c9["verdict"] == claims.NOT_TESTABLE and "cliprobust evaluate --models clip-zeroshot" in c9["evidence"]


def test_smoke_pipeline_derives_prompt_sets_from_cached_features(tmp_cache):
    """Engine end to end on the tiny random CLIP: one image pass (photo), classname derived from the
    same features (identical features, different scores)."""
    from cliprobust.inference.runner import run_one
    from _tiny import TINY_CLIP, fast_config

    run_one(fast_config(TINY_CLIP, prompt_set="photo"))
    inv = S.prompt_inventory([TINY_CLIP], ["imagenet-sample"], ["photo", "classname"])
    assert inv.set_index("prompt_set")["status"].to_dict() == {"photo": "complete", "classname": "needs-head"}
    inv = S.derive_cheap(inv, models=[TINY_CLIP])
    assert (inv["status"] == "complete").all()
    photo, named = (cache.load(TINY_CLIP, "imagenet-sample", p) for p in ("photo", "classname"))
    np.testing.assert_array_equal(photo.features, named.features)
    assert not np.array_equal(photo.scores, named.scores)
    table = S.prompt_table(inv)
    assert set(table["prompt_set"]) == {"photo", "classname"} and (table["n"] == 100).all()
    assert S.claim_c9(table)["verdict"] == claims.NOT_TESTABLE  # random-init smoke model never counts
    fig = S.plot_prompt_sets(table, "imagenet-sample")
    assert len(fig.axes) == 2
    plt.close(fig)
