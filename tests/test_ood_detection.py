"""Section 04 (OOD detection): COOD/NINCO/OpenOOD assembly, the C5/C6 rules and tiers, cache-driven scoring."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402

from cliprobust import plots, published  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import ood as M  # noqa: E402
from cliprobust.metrics import stats as ST  # noqa: E402
from cliprobust.sections import ood_detection as OD  # noqa: E402
from cliprobust.sections.ood_detection import c5, c6, caches, figures, openood, sources
from cliprobust.sections.ood_detection import cood as CO  # noqa: E402
from cliprobust.sections.ood_detection import ninco as NI  # noqa: E402  # noqa: E402
from cliprobust.sections._base import FRAGILE, NOT_REPRODUCED, REPRODUCED, TIERS, Run  # noqa: E402


@pytest.fixture
def fast_correlations(monkeypatch):
    """Correlation intervals with 200 resamples: the rule tests check logic, not Monte-Carlo precision."""
    monkeypatch.setattr(c5.stats, "correlation_interval", functools.partial(ST.correlation_interval, n_boot=100))


# --------------------------------------------------------------------------- COOD


@pytest.fixture(scope="module")
def cood(mirror) -> pd.DataFrame:
    return published.cood_results()


@pytest.fixture(scope="module")
def summary(cood) -> pd.DataFrame:
    return CO.cood_summary(cood=cood)


def test_cood_summary_one_row_per_model_with_mean_over_levels(cood, summary):
    msp = cood[cood["confidence"] == CO.COOD_SCORES["msp"]]
    untrained = set(msp.loc[msp["id_top1"] < CO.MIN_ID_TOP1, "name"])
    assert untrained == {"efficientnet_b5", "efficientnet_b6", "efficientnet_b7"}  # ~0.1 % top-1 = chance
    assert len(summary) == msp["name"].nunique() - len(untrained) and summary["model"].is_unique
    assert (summary["n_levels"] == 11).all()
    for name in ["CLIP_RN50", "resnet50", summary["name"].iloc[len(summary) // 2]]:  # brute-force loop
        rows = msp[msp["name"] == name]
        got = summary.set_index("name").loc[name]
        assert got["ood_auroc"] == pytest.approx(sum(rows["ood_auroc"]) / len(rows), abs=1e-12)
        assert got["ood_auroc_easiest"] == rows.loc[rows["severity"].idxmin(), "ood_auroc"]
        assert got["ood_auroc_hardest"] == rows.loc[rows["severity"].idxmax(), "ood_auroc"]
        assert got["id_confidence"] == rows["id_avg_conf"].iloc[0]


def test_cood_sources_follow_readme_counts(summary):
    counts = summary["source"].value_counts()
    assert counts["clip-zeroshot"] == len(published.COOD_CLIP_ZEROSHOT) == 9
    assert counts["clip-lp"] == 7  # README: the 7 CLIP_finetuned_* linear probes
    assert set(summary["source"]) <= set(sources.COOD_SOURCES)
    fine = summary.loc[summary["source"] == "imagenet+extra", "training_source"]
    assert len(fine) == counts["imagenet+extra"] and "in21k" in set(fine)
    same = summary["source"] != "imagenet+extra"
    assert (summary.loc[same, "training_source"] == summary.loc[same, "source"]).all()


def test_cood_source_rules():
    pretrain = {"resnet50": "in1k", "vit_base_patch16_224": "in21k", "tf_efficientnet_b0_ns": "jft300m-ns"}
    assert sources.cood_source("resnet50", "imagenet", pretrain) == "imagenet-1k"
    assert sources.cood_source("vit_base_patch16_224", "imagenet", pretrain) == "imagenet+extra"
    assert sources.cood_source("vgg16_torchvision", "imagenet", pretrain) == "imagenet-1k"
    assert sources.cood_source("convnext_base_in22ft1k", "imagenet", pretrain) == "imagenet+extra"
    assert sources.cood_source("regnety_32gf_in1k_facebookSWAG", "imagenet", pretrain) == "imagenet+extra"
    assert sources.cood_source("poolformer_s12", "imagenet", pretrain) == "imagenet-unlisted"
    assert sources.cood_source("CLIP_RN50", "clip-zeroshot", pretrain) == "clip-zeroshot"
    assert sources.training_source("tf_efficientnet_b0_ns", "imagenet+extra", pretrain) == "jft300m-ns"
    assert sources.training_source("convnext_base_in22ft1k", "imagenet+extra", pretrain) == "extra-by-name"
    assert sources.training_source("resnet50", "imagenet-1k", pretrain) == "imagenet-1k"


def test_source_correlations_match_scipy(summary, fast_correlations):
    table = c5.source_correlations(summary).set_index("source")
    for src, sub in summary.groupby("training_source"):
        if len(sub) >= 3:
            assert table.loc[src, "rho"] == pytest.approx(stats.spearmanr(sub["id_top1"], sub["ood_auroc"])[0], abs=1e-12)
            assert table.loc[src, "pearson"] == pytest.approx(stats.pearsonr(sub["id_top1"], sub["ood_auroc"])[0])
    assert table.loc["clip-zeroshot", "n"] == 9 and table.loc["imagenet-1k", "n"] == 420
    assert not table.loc["imagenet-unlisted", "judged"] and table.loc["imagenet-unlisted", "holds"] is None
    judged = table[table["judged"]]
    assert (judged["n"] >= c5.C5_MIN_MODELS).all()
    assert (judged["holds"] == ((judged["rho"] >= c5.C5_MIN_RHO) & (judged["low"] > 0))).all()


# --------------------------------------------------------------------------- C5 rules on synthetic COOD/NINCO


def _synthetic_cood(signs: dict[str, float], n_clip: int = 9, n_in: int = 30, seed: int = 0) -> pd.DataFrame:
    """COOD-shaped rows: zero-shot CLIPs and ImageNet-1k models (``*_torchvision`` names), every score,
    11 severities; OOD AUROC = 0.8 + sign(score) * (acc - 0.7) + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for fam, n, prefix in (("clip-zeroshot", n_clip, "CLIPX"), ("imagenet", n_in, "net")):
        for i in range(n):
            name = f"{prefix}{i}" + ("_torchvision" if fam == "imagenet" else "")
            acc = rng.uniform(0.55, 0.85)
            for score, conf in CO.COOD_SCORES.items():
                for lvl in range(11):
                    rows.append({"model": f"cood:{name}", "family": fam, "name": name, "confidence": conf,
                                 "severity": lvl, "ood_auroc": 0.8 + signs.get(score, 1.0) * (acc - 0.7)
                                 - 0.01 * lvl + rng.normal(0, 0.003), "id_top1": acc, "id_avg_conf": acc})
    return pd.DataFrame(rows)


def _synthetic_ninco(sign: float, n: int = 25, seed: int = 1) -> pd.DataFrame:
    """NINCO-shaped rows (46 classes) for n ImageNet classifiers with MSP: AUROC = 0.8 + sign (acc - 0.7)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        acc = rng.uniform(0.6, 0.85)
        for c in range(46):
            rows.append({"model": f"ninco:m{i}", "family": "imagenet", "name": f"m{i}", "method": "MSP",
                         "dataset": f"class{c}", "dataset_kind": "ninco", "variant": None, "popular": None,
                         "auroc": 0.8 + sign * (acc - 0.7) + rng.normal(0, 0.002), "fpr95": 0.5, "id_top1": acc})
    return pd.DataFrame(rows)


def test_claim_c5_tiers_on_synthetic_data(mirror, fast_correlations):
    good = c5.claim_c5(cood=_synthetic_cood({}), ninco=_synthetic_ninco(+1))
    assert good.tier == REPRODUCED, good.evidence
    assert sum(v.headline for v in good.variants) == 1 and good.value >= c5.C5_MIN_RHO
    assert {v.name for v in good.variants if v.holds is None} == {"score=mcm"}  # 2 CLIPs: nothing to correlate
    fragile = c5.claim_c5(cood=_synthetic_cood({"max_logit": -1.0}), ninco=_synthetic_ninco(+1))
    assert fragile.tier == FRAGILE and fragile.breaking_variants == ("score=max_logit",)
    assert "Breaks under: score=max_logit" in fragile.evidence
    ninco_breaks = c5.claim_c5(cood=_synthetic_cood({}), ninco=_synthetic_ninco(-1))
    assert ninco_breaks.breaking_variants == ("protocol=ninco-fixed-ood",)
    bad = c5.claim_c5(cood=_synthetic_cood({"msp": -1.0}), ninco=_synthetic_ninco(+1))
    assert bad.tier == NOT_REPRODUCED and bad.value < 0
    # the run option picks the headline score: max_logit as headline, msp becomes a variant
    alt = c5.claim_c5(Run(options={"score": "max_logit"}), cood=_synthetic_cood({"msp": -1.0}), ninco=_synthetic_ninco(+1))
    assert alt.tier == FRAGILE and "score=msp" in alt.breaking_variants


@pytest.fixture(scope="module")
def c5_real(cood):
    mp = pytest.MonkeyPatch()
    mp.setattr(c5.stats, "correlation_interval", functools.partial(ST.correlation_interval, n_boot=200))
    try:
        yield c5.claim_c5(cood=cood)
    finally:
        mp.undo()


def test_claim_c5_real_data_facts(c5_real, summary, cood):
    c = c5_real
    assert c.tier in TIERS and sum(v.headline for v in c.variants) == 1
    v = {x.name: x for x in c.variants}
    # every training source with >= 5 models is a variant (the headline's two are in the headline)
    counts = summary["training_source"].value_counts()
    assert {f"source={s}" for s, n in counts.items() if n >= c5.C5_MIN_MODELS} - set(v) == {
        f"source={s}" for s in c5.C5_SOURCES}
    sub = summary[summary["training_source"] == "imagenet-1k"]
    assert c.value == pytest.approx(stats.spearmanr(sub["id_top1"], sub["ood_auroc"])[0], abs=1e-12)  # the weaker source
    nin = NI.ninco_table().query("benchmark == 'ninco' and method == 'MSP' and family == 'imagenet'")
    assert v["protocol=ninco-fixed-ood"].n == len(nin) == 25  # README: 29 ImageNet classifiers, 4 CLIP fine-tunes
    assert v["protocol=ninco-fixed-ood"].value == pytest.approx(stats.spearmanr(nin["id_top1"], nin["auroc"])[0])
    ml = CO.cood_summary("max_logit", cood=cood)
    sub = ml[ml["training_source"] == "imagenet-1k"]
    assert v["score=max_logit"].value == pytest.approx(stats.spearmanr(sub["id_top1"], sub["ood_auroc"])[0], abs=1e-12)
    assert v["source=imagenet-unlisted"].holds is None  # not one training source: never judged
    assert (c.tier == REPRODUCED) == (all(x.holds is not False for x in c.variants))


def test_plot_acc_vs_auroc_passes_layout(summary, fast_correlations):
    fig = figures.plot_acc_vs_auroc(summary)
    assert len(fig.axes[0].containers) == len(sources.COOD_SOURCES)  # one errorbar series per source
    assert plots.check_layout(fig) == []
    assert any("mean over 11 severity levels" in t.get_text() for t in fig.texts)  # the y-axis caption
    plt.close(fig)


# --------------------------------------------------------------------------- NINCO, Hanley-McNeil, C6


@pytest.fixture(scope="module")
def ninco(mirror) -> pd.DataFrame:
    return published.ninco_results()


@pytest.fixture(scope="module")
def ninco_tab(ninco) -> pd.DataFrame:
    return NI.ninco_table(ninco)


def test_ninco_table_structure(ninco, ninco_tab):
    assert ninco_tab["name"].nunique() == 31  # README: 29 ImageNet classifiers + 2 zero-shot CLIPs
    assert set(ninco_tab["benchmark"]) == set(NI.NINCO_BENCHMARKS)
    assert (ninco_tab.loc[ninco_tab["benchmark"] == "ninco", "n_sets"] == 46).all()  # README: 46 NINCO classes
    assert ninco_tab[["auroc", "fpr95"]].apply(lambda c: c.between(0, 1)).all().all()
    raw = ninco[(ninco["name"] == "resnet50") & (ninco["method"] == "MSP") & (ninco["dataset"] == "textures_400_ood")]
    got = ninco_tab.query("name == 'resnet50' and method == 'MSP' and benchmark == 'textures'")
    assert got["auroc"].item() == raw["auroc"].item() and got["n_ood"].item() == 288
    assert got["se"].item() == pytest.approx(M.auroc_se(raw["auroc"].item(), 50_000, 288))
    cls = ninco[(ninco["name"] == "resnet50") & (ninco["method"] == "MSP") & (ninco["dataset_kind"] == "ninco")]
    got = ninco_tab.query("name == 'resnet50' and method == 'MSP' and benchmark == 'ninco'")
    assert got["auroc"].item() == pytest.approx(sum(cls["auroc"]) / len(cls), abs=1e-12)
    se_c = [M.auroc_se(a, 50_000, NI.NINCO_CLASS_N) for a in cls["auroc"]]
    assert got["se"].item() == pytest.approx(np.sqrt(sum(s ** 2 for s in se_c)) / 46)


def _simulated_auroc_sd(draw, n_id: int, n_ood: int, reps: int = 400, seed: int = 0) -> tuple[float, float]:
    """Mean and SD of AUROC over ``reps`` samples (Mann-Whitney identity on ranks, vectorised; the
    first sample is cross-checked against sklearn)."""
    rng = np.random.default_rng(seed)
    s_id, s_ood = draw(rng, "id", (reps, n_id)), draw(rng, "ood", (reps, n_ood))
    ranks = stats.rankdata(np.concatenate([s_id, s_ood], axis=1), axis=1)
    auc = (ranks[:, :n_id].sum(axis=1) - n_id * (n_id + 1) / 2) / (n_id * n_ood)
    ref = roc_auc_score(np.r_[np.ones(n_id), np.zeros(n_ood)], np.r_[s_id[0], s_ood[0]])
    assert auc[0] == pytest.approx(ref, abs=1e-12)
    return float(auc.mean()), float(auc.std())


@pytest.mark.parametrize("shift,n_id,n_ood", [(1.0, 400, 150), (2.0, 2000, 300)])
def test_auroc_se_against_simulated_spread(shift, n_id, n_ood):
    # exponential scores: Hanley-McNeil's own model (OOD ~ Exp(1), ID ~ Exp(rate 1/(1+2 shift)))
    a, sd = _simulated_auroc_sd(lambda r, k, size: r.exponential(1 + 2 * shift if k == "id" else 1.0, size), n_id, n_ood)
    assert M.hanley_mcneil_se(a, n_id, n_ood) == pytest.approx(sd, rel=0.15)
    # equal-variance normal scores: the binormal approximation
    a, sd = _simulated_auroc_sd(lambda r, k, size: r.normal(shift if k == "id" else 0.0, 1.0, size), n_id, n_ood)
    assert M.binormal_se(a, n_id, n_ood) == pytest.approx(sd, rel=0.15)
    assert M.auroc_se(a, n_id, n_ood) >= 0.85 * sd  # the declared SE never understates either model by much
    assert M.auroc_se(a, n_id, n_ood) == max(M.hanley_mcneil_se(a, n_id, n_ood), M.binormal_se(a, n_id, n_ood))


def test_c6_table_pairs_declared_scores(ninco_tab):
    comp = c6.c6_table(ninco_tab)
    assert len(comp) == len(NI.NINCO_BENCHMARKS) * 5
    assert set(comp.loc[comp["role"] == "zero-shot", "method"]) == {c6.C6_ZS_SCORE}
    assert set(comp.loc[comp["role"] != "zero-shot", "method"]) == {c6.C6_FT_SCORE}
    best = c6.c6_table(ninco_tab, "best", "best")
    merged = best.merge(comp, on=["benchmark", "name"], suffixes=("_best", "_declared"))
    assert (merged["auroc_best"] >= merged["auroc_declared"]).all()


def test_c6_tests_holm_and_one_sided_p(ninco_tab):
    t = c6.c6_tests(c6.c6_table(ninco_tab))
    b = t[t["part"] == "b"]
    assert len(b) == 20 and b["judged"].all() and int(((t["part"] == "a") & t["judged"]).sum()) == 2
    assert np.allclose(t["p"], stats.norm.sf(t["diff"] / t["se"]))
    assert np.allclose(b["p_adj"], multipletests(b["p"], method="holm")[1])
    unc = c6.c6_tests(c6.c6_table(ninco_tab), correction="none")
    assert np.allclose(unc.loc[unc["part"] == "b", "p_adj"], b["p"])
    assert (b["significant"] == (b["p_adj"] < c6.C6_ALPHA)).all()


def _boost_zero_shot(ninco: pd.DataFrame, datasets: str = "all") -> pd.DataFrame:
    """Zero-shot CLIP at AUROC 0.99 on every row (or on the cleaned popular sets only): every fine-tune
    is then far below it wherever it was boosted."""
    sel = ninco["name"] == c6.C6_ZS_REFERENCE
    if datasets == "popular-ood":
        sel &= (ninco["dataset_kind"] == "popular") & (ninco["variant"] == "ood")
    return ninco.assign(auroc=ninco["auroc"].where(~sel, 0.99))


def _flip_pair(ninco: pd.DataFrame) -> pd.DataFrame:
    """Swap the names of every (in1k, in21k->in1k) pair: intermediate fine-tuning now 'hurts'."""
    swap = {a: b for a, b in c6.C6_PAIRS.values()} | {b: a for a, b in c6.C6_PAIRS.values()}
    return ninco.assign(name=ninco["name"].replace(swap))


def test_claim_c6_tiers_on_modified_ninco(ninco):
    good = c6.claim_c6(ninco=_boost_zero_shot(ninco))
    assert good.tier == REPRODUCED, good.evidence
    fragile = c6.claim_c6(ninco=_boost_zero_shot(ninco, "popular-ood"))
    assert fragile.tier == FRAGILE
    # zero-shot boosted on the cleaned popular sets only: on NINCO's classes no fine-tune is below it
    assert fragile.breaking_variants == ("benchmark=ninco-classes",)
    bad = c6.claim_c6(ninco=_flip_pair(_boost_zero_shot(ninco)))
    assert bad.tier == NOT_REPRODUCED and "(a) on NINCO's 46 classes" in bad.evidence
    missing = c6.claim_c6(ninco=ninco[ninco["name"] != c6.C6_ZS_REFERENCE])
    assert missing.tier == "not testable here" and missing.needs


def test_claim_c6_real_data_facts(ninco):
    c = c6.claim_c6(ninco=ninco)
    assert c.tier in TIERS and sum(v.headline for v in c.variants) == 1
    t = c.numbers["tests"]
    a = t[(t["part"] == "a") & t["judged"]].set_index("comparison")["diff"]
    comp = c6.c6_table(NI.ninco_table(ninco)).set_index(["benchmark", "role", "source"])["auroc"]
    for source in c6.C6_PAIRS:  # part (a) recomputed directly
        assert a[f"in21k-in1k vs in1k ({source})"] == pytest.approx(
            comp[("ninco", "ft-in21k-in1k", source)] - comp[("ninco", "ft-in1k", source)], abs=1e-12)
    best = {v.name: v for v in c.variants}["score=best"]
    assert "(0 below by point estimate)" in best.note  # each model's best score: no fine-tune below zero-shot
    top = t[t["part"] == "b"].sort_values("p_adj").iloc[0]
    assert c.value == pytest.approx(top["diff"]) and c.low < c.value < c.high


def test_plot_ninco_scores_passes_layout(ninco_tab):
    fig = figures.plot_ninco_scores(ninco_tab, c6.c6_table(ninco_tab))
    assert len(fig.axes) == 3  # heatmap, its colourbar, bars
    assert plots.check_layout(fig) == []
    plt.close(fig)


def test_openood_reference_is_fractions(mirror):
    ref = openood.openood_reference()
    assert len(ref) == 3 * len(openood.OPENOOD_SCORES)  # ResNet50, Swin-T, ViT-B/16 cross-entropy checkpoints
    assert ref[["near_ood_auroc", "far_ood_auroc", "id_top1"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (ref["far_ood_auroc"] > ref["near_ood_auroc"]).all()  # far-OOD is the easier split


# --------------------------------------------------------------------------- caches (synthetic Outputs)


def test_cache_plan_follows_the_run():
    assert OD.cache_plan(Run()) == OD.PAPER_PLAN and OD.cache_plan(Run("smoke")) == OD.SMOKE_PLAN
    assert OD.PAPER_PLAN.all_sets[0] == "imagenet" and "imagenet-o" in OD.PAPER_PLAN.all_sets


def _outputs(model: str, dataset: str, scores: np.ndarray, labels: np.ndarray, clip: bool) -> Outputs:
    meta = {"scores_kind": "cosine" if clip else "logits"}
    return Outputs(model, dataset, "head", scores.astype(np.float16), None, labels,
                   tuple(f"f{i}" for i in range(len(labels))), 100.0 if clip else None, None, meta)


def _synthetic_cache(seed: int = 0) -> dict[tuple[str, str], Outputs]:
    """Two models, ID 'imagenet' (peaked outputs, 1000-way labels) and one OOD set (flat outputs)."""
    rng = np.random.default_rng(seed)
    k, n = 20, 300
    out = {}
    for model, clip, scale in (("clip-like", True, 0.02), ("clf-like", False, 1.0)):
        y = rng.integers(0, k, n)
        s_id = rng.normal(0, scale, (n, k))
        s_id[np.arange(n), y] += 6 * scale * rng.random(n)
        s_ood = rng.normal(0, scale, (n // 2, k))
        if clip:
            s_id, s_ood = np.clip(s_id + 0.2, -1, 1), np.clip(s_ood + 0.2, -1, 1)
        out[(model, "imagenet")] = _outputs(model, "imagenet", s_id, y, clip)
        out[(model, "textures")] = _outputs(model, "textures", s_ood, np.full(n // 2, -1), clip)
    return out


def test_cache_scores_against_torch():
    o = _synthetic_cache()[("clip-like", "imagenet")]
    s = caches.cache_scores(o)
    z = torch.from_numpy(o.logits.astype(np.float64))
    assert np.allclose(s["msp"], torch.softmax(z, 1).max(1).values.numpy(), atol=1e-10)
    assert np.allclose(s["energy"], torch.logsumexp(z, 1).numpy(), atol=1e-10)
    assert np.allclose(s["mcm"], torch.softmax(torch.from_numpy(o.cosine.astype(np.float64)), 1).max(1).values.numpy())
    assert "mcm" not in caches.cache_scores(_synthetic_cache()[("clf-like", "imagenet")])


def test_cache_ood_table_loads_only_available_and_matches_sklearn():
    outs = _synthetic_cache()
    inv = pd.DataFrame([(m, d, "complete") for (m, d) in outs] + [("clip-like", "sun", "missing"),
                                                                    ("absent", "imagenet", "missing")],
                       columns=["model", "dataset", "status"])
    calls = []

    def loader(m, d):
        calls.append((m, d))
        return outs[(m, d)]

    table = caches.cache_ood_table(inv, "imagenet", loader=loader, group_of=lambda m: "test")
    assert set(calls) == set(outs)  # missing entries are never loaded
    assert set(table["ood_dataset"]) == {"textures"}
    assert set(table.loc[table["model"] == "clip-like", "score"]) == {"msp", "max_logit", "energy", "mcm"}
    for model in ("clip-like", "clf-like"):
        s_id, s_ood = caches.cache_scores(outs[(model, "imagenet")]), caches.cache_scores(outs[(model, "textures")])
        ref = roc_auc_score(np.r_[np.ones(s_id["msp"].size), np.zeros(s_ood["msp"].size)], np.r_[s_id["msp"], s_ood["msp"]])
        row = table.query("model == @model and score == 'msp' and metric == 'auroc'")
        assert row["value"].item() == pytest.approx(ref, abs=1e-12) and ref > 0.6  # ID outputs are peaked
        acc = np.mean(outs[(model, "imagenet")].logits.argmax(1) == outs[(model, "imagenet")].labels)
        assert row["id_top1"].item() == pytest.approx(acc)
    fpr = table.query("model == 'clf-like' and score == 'msp' and metric == 'fpr95_id_positive'")["value"].item()
    s_id, s_ood = caches.cache_scores(outs[("clf-like", "imagenet")]), caches.cache_scores(outs[("clf-like", "textures")])
    assert fpr == M.fpr_at_95_tpr(s_id["msp"], s_ood["msp"])  # the library's default (ID-positive) convention


def test_cache_ood_table_empty_and_status_counts():
    inv = pd.DataFrame({"model": ["a", "a", "b"], "dataset": ["imagenet", "sun", "imagenet"],
                        "status": ["missing", "missing", "complete"], "group": "g"})
    table = caches.cache_ood_table(inv, "imagenet", loader=lambda m, d: pytest.fail("nothing to load"),
                              group_of=lambda m: "g")
    assert table.empty and "value" in table.columns
    st = caches.cache_status(inv)
    assert st.loc[("g", "imagenet"), "complete"] == 1 and st.loc[("g", "sun"), "missing"] == 1
    assert int(st.to_numpy().sum()) == 3
