"""Section 06 (prompt sensitivity): per-prompt-set metrics from cached features, ER, OOD, the C9
rule on objective tables built to come out reproduced, fragile and not reproduced, the figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy.special import logsumexp  # noqa: E402
from scipy.stats import binom  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402
from torchmetrics.functional.classification import multiclass_calibration_error  # noqa: E402

from cliprobust import outputs, plots, zoo  # noqa: E402
from cliprobust import verdicts as V  # noqa: E402
from cliprobust.metrics import robustness as R  # noqa: E402
from cliprobust.outputs import Outputs  # noqa: E402
from cliprobust.runs import Run, UnknownOptionError  # noqa: E402
from cliprobust.sections import prompt_sensitivity as S  # noqa: E402

CLIPS = [e.id for e in zoo.select("clip-zeroshot")][:16]


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
        ref10 = multiclass_calibration_error(z.softmax(1), y, num_classes=1000, n_bins=10, norm="l1")
        assert r.ece_10 == pytest.approx(float(ref10), abs=1e-6)
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
        zi, zo = (i.cosine, o.cosine) if r.score == "mcm" else (i.logits, o.logits)
        zi, zo = zi.astype(np.float64), zo.astype(np.float64)
        if r.score == "maxlogit":
            si, so = zi.max(1), zo.max(1)
        elif r.score == "energy":
            si, so = logsumexp(zi, axis=1), logsumexp(zo, axis=1)
        else:  # softmax max of logits (msp) or raw cosines (mcm)
            e = [np.exp(z - z.max(1, keepdims=True)) for z in (zi, zo)]
            si, so = [(x / x.sum(1, keepdims=True)).max(1) for x in e]
        ref = roc_auc_score(np.r_[np.ones(len(si)), np.zeros(len(so))], np.r_[si, so])
        assert r.auroc == pytest.approx(ref, abs=1e-9)


# --------------------------------------------------------------------------- C9 rule


def _objectives(acc_best: str, cal_best: str, ood_best: str, n_models: int = 8, group: str = "clip-zeroshot"):
    """(table, ood) where every model's best prompt set is ``acc_best`` for accuracy, ``cal_best`` for
    ECE/NLL (both binnings) and ``ood_best`` for AUROC under every score; the others rank below."""
    def level(best: str, ps: str) -> float:
        return 1.0 if ps == best else 0.5 - 0.1 * S.PROMPT_SETS.index(ps)

    rows, ood = [], []
    for i, m in enumerate(CLIPS[:n_models]):
        for ps in S.PROMPT_SETS:
            cal = 0.2 - 0.1 * level(cal_best, ps) + 0.001 * i  # lower is better
            rows.append({"model": m, "group": group, "prompt_set": ps, "test_set": "imagenet",
                         "accuracy": 0.3 + 0.2 * level(acc_best, ps) + 0.01 * i, "ece": cal, "ece_10": cal,
                         "nll": 1 + cal})
            ood += [{"model": m, "prompt_set": ps, "score": sc, "ood_dataset": d,
                     "auroc": 0.6 + 0.2 * level(ood_best, ps)} for sc in S.OOD_SCORES for d in ("textures", "sun")]
    return pd.DataFrame(rows).reindex(columns=S.TABLE_COLUMNS), pd.DataFrame(ood)


FULL = Run("full")


def test_c9_reproduced_when_every_protocol_shows_mixed_winners():
    table, ood = _objectives("openai-80", "photo", "simple-7")
    c9 = S.claim_c9(FULL, table=table, ood=ood)
    assert c9.tier == V.REPRODUCED and c9.outcome == "supports" and c9.value == 1.0 and not c9.breaking_variants
    low, high = proportion_confint(8, 8, alpha=0.05, method="wilson")
    assert (c9.low, c9.high) == pytest.approx((low, high)) and c9.margin == S.C9_MARGIN
    assert sum(v.headline for v in c9.variants) == 1
    names = {v.name for v in c9.variants}
    assert {"ood_score=msp", "calibration=nll", "objectives=acc+calibration", "drop-prompt-set=photo",
            "reading=majority"} <= names
    er_variant = next(v for v in c9.variants if v.name == "objectives+=er")
    assert er_variant.outcome is None and "not measured" in er_variant.note  # never changes the tier


def test_c9_fragile_when_only_ood_detection_disagrees():
    table, ood = _objectives("openai-80", "openai-80", "photo", n_models=16)
    c9 = S.claim_c9(FULL, table=table, ood=ood)
    assert c9.tier == V.FRAGILE and c9.outcome == "supports"
    # without OOD detection no model is mixed: Wilson upper bound 3.84 / 19.84 < the margin
    assert "objectives=acc+calibration" in c9.breaking_variants
    assert "drop-prompt-set=photo" in c9.breaking_variants  # without photo, one prompt set wins everything
    assert "objectives=acc+calibration" in c9.evidence


def test_c9_contradicted_when_one_prompt_set_wins_everything():
    table, ood = _objectives("simple-7", "simple-7", "simple-7", n_models=16)
    c9 = S.claim_c9(FULL, table=table, ood=ood)
    assert c9.tier == V.CONTRADICTED and c9.outcome == "contradicts" and c9.value == 0.0
    assert c9.high < S.C9_MARGIN and not c9.supporting_variants


def test_c9_inconclusive_when_few_models_cannot_exclude_the_margin():
    table, ood = _objectives("simple-7", "simple-7", "simple-7", n_models=8)  # 0 of 8: upper bound 0.32
    c9 = S.claim_c9(FULL, table=table, ood=ood)
    assert c9.tier == V.INCONCLUSIVE and c9.outcome == "inconclusive"
    assert "reading=majority" in c9.contradicting_variants  # the stricter reading is excluded


def test_c9_operating_characteristics_match_the_binomial_design():
    """supports-at-margin of the rule on 8 models, recomputed exactly: sum over k of P(Binomial(8, 0.25) = k)
    for the k whose Wilson interval the rule calls 'supports' (the engine simulates 2000 draws)."""
    table, ood = _objectives("openai-80", "photo", "simple-7")
    oc = S.claim_c9(FULL, table=table, ood=ood).oc
    ks = np.arange(9)
    lows, highs = proportion_confint(ks, 8, alpha=0.05, method="wilson")
    supports = (lows > 0) & (highs >= S.C9_MARGIN)
    exact = float(binom.pmf(ks, 8, S.C9_MARGIN)[supports].sum())
    assert oc.supports_at_margin == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / oc.n_sims))
    assert oc.supports_at_zero == 0.0 and oc.contradicts_at_zero == 0.0  # 0 of 8: upper bound 0.32 >= margin


def test_c9_not_testable_without_real_clip_caches():
    assert S.claim_c9(Run()).tier == V.NOT_TESTABLE  # published: no caches read
    assert "cliprobust evaluate --models clip-zeroshot" in S.claim_c9(Run()).needs
    few = S.claim_c9(FULL, table=_objectives("openai-80", "photo", "photo", n_models=S.MIN_MODELS - 1)[0])
    smoke_table, smoke_ood = _objectives("openai-80", "photo", "photo", group="smoke")
    smoke = S.claim_c9(FULL, table=smoke_table, ood=smoke_ood)
    assert few.tier == smoke.tier == V.NOT_TESTABLE and "not measured" in smoke.evidence
    table, ood = _objectives("openai-80", "photo", "simple-7")
    guarded = S.claim_c9(Run("rehearsal"), table=table, ood=ood)  # synthetic caches never judge
    assert guarded.tier == V.NOT_TESTABLE and "synthetic" in guarded.evidence


def test_options_are_checked_and_drive_the_headline():
    with pytest.raises(UnknownOptionError, match="ood_score"):
        Run.from_params("full", S.Options, ood_scor="msp")
    with pytest.raises(ValueError, match="ood_score"):
        S.Options(ood_score="odin")
    table, ood = _objectives("openai-80", "photo", "simple-7")
    c9 = S.claim_c9(Run.from_params("full", S.Options, ood_score="energy", calibration="nll"), table=table, ood=ood)
    head = next(v for v in c9.variants if v.headline)
    assert "nll, energy AUROC" in head.description
    assert "ood_score=mcm" in {v.name for v in c9.variants} and "ood_score=energy" not in {v.name for v in c9.variants}
    assert S.claims(Run())[0].id == "C9" and len(S.claims(Run())) == 1


def test_mixed_share_needs_every_prompt_set():
    table, ood = _objectives("openai-80", "photo", "photo", n_models=6)
    obj = S.objective_frame(table.drop(index=0), None, ood)  # first model lacks one prompt set
    k, n, best = S.mixed_share(obj, ["accuracy", "-ece"])
    assert (k, n) == (5, 5) and best == {"accuracy": "openai-80", "-ece": "photo"}


# --------------------------------------------------------------------------- published profile, figures


def test_published_profile_plans_the_grid_and_draws_it(tmp_cache, tmp_path, monkeypatch):
    res = S.study(Run(), S.cache_inventory(Run()))
    n = len(zoo.select("clip-zeroshot"))
    assert n == 51 and res["table"].empty and res["er"].empty and res["ood"].empty
    assert len(res["inventory"]) == n * len(S.PROMPT_SETS) * len(S.PAPER_PLAN.all_sets)
    assert (res["inventory"]["status"] == "missing").all()
    grid = S.planned_grid(res["inventory"])
    assert grid.shape == (51, 11) and int(grid.to_numpy().sum()) == 0
    for fig in (S.plot_planned_grid(grid), S.plot_prompt_set_sizes(S.prompt_set_table())):
        assert plots.check_layout(fig) == []
        plt.close(fig)
    assert S.prompt_set_table()["n_templates"].tolist() == [80, 7, 1, 1]


def test_prompt_set_figure_from_caches_passes_layout():
    table = S.prompt_table(_inventory(CLIPS[:3], ["imagenet"]), loader=_fake)
    fig = S.plot_prompt_sets(table, "imagenet")
    assert plots.check_layout(fig) == []
    plt.close(fig)


def test_smoke_pipeline_reads_prompt_sets_derived_from_cached_features(tmp_cache):
    """Engine end to end on the tiny random CLIP: one image pass (photo); the section only reads, and the
    explicit engine step (heads.build_heads) makes classname readable from the same features."""
    from _tiny import TINY_CLIP, fast_config

    from cliprobust.inference.heads import build_heads
    from cliprobust.inference.runner import run_one

    run_one(fast_config(TINY_CLIP, prompt_set="photo"))
    inv = outputs.inventory([TINY_CLIP], ["imagenet-sample"], ["photo", "classname"])
    assert inv.set_index("prompt_set")["status"].to_dict() == {"photo": "complete", "classname": "needs-head"}
    assert S.prompt_table(inv)["prompt_set"].tolist() == ["photo"]  # the section never builds a head
    assert build_heads(S.missing_heads(inv, [TINY_CLIP])) == [(TINY_CLIP, "classname")]
    inv = outputs.inventory([TINY_CLIP], ["imagenet-sample"], ["photo", "classname"])
    assert inv.set_index("prompt_set")["status"].to_dict() == {"photo": "complete", "classname": "derivable"}
    photo, named = (outputs.load(TINY_CLIP, "imagenet-sample", p) for p in ("photo", "classname"))
    np.testing.assert_array_equal(photo.features, named.features)
    assert not np.array_equal(photo.scores, named.scores)
    table = S.prompt_table(inv)
    assert set(table["prompt_set"]) == {"photo", "classname"} and (table["n"] == 100).all()
    assert S.claim_c9(Run("smoke"), table=table).tier == V.NOT_TESTABLE  # random-init never counts
