"""Section 04 (OOD detection): COOD/NINCO/OpenOOD assembly, C5/C6 rules, cache-driven scoring."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from cliprobust import published  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import ood as M  # noqa: E402
from cliprobust.sections import ood_detection as O  # noqa: E402

# --------------------------------------------------------------------------- COOD


@pytest.fixture(scope="module")
def cood(mirror) -> pd.DataFrame:
    return published.cood_results()


@pytest.fixture(scope="module")
def summary(cood) -> pd.DataFrame:
    return O.cood_summary(cood=cood)


def test_cood_summary_one_row_per_model_with_mean_over_levels(cood, summary):
    msp = cood[cood["confidence"] == O.COOD_CONFIDENCE]
    untrained = set(msp.loc[msp["id_top1"] < O.MIN_ID_TOP1, "name"])
    assert untrained == {"efficientnet_b5", "efficientnet_b6", "efficientnet_b7"}  # ~0.1 % top-1 = chance
    assert len(summary) == msp["name"].nunique() - len(untrained) and summary["model"].is_unique
    assert summary["id_top1"].min() > 10 * 0.001
    assert (summary["n_levels"] == 11).all()
    for name in ["CLIP_RN50", "resnet50", summary["name"].iloc[len(summary) // 2]]:  # brute-force loop
        rows = msp[msp["name"] == name]
        mean = sum(rows["ood_auroc"]) / len(rows)
        got = summary.set_index("name").loc[name]
        assert got["ood_auroc"] == pytest.approx(mean, abs=1e-12)
        assert got["ood_auroc_easiest"] == rows.loc[rows["severity"].idxmin(), "ood_auroc"]
        assert got["ood_auroc_hardest"] == rows.loc[rows["severity"].idxmax(), "ood_auroc"]


def test_cood_sources_follow_readme_counts(summary):
    counts = summary["source"].value_counts()
    assert counts["clip-zeroshot"] == len(published.COOD_CLIP_ZEROSHOT) == 9
    assert counts["clip-lp"] == 7  # README: the 7 CLIP_finetuned_* linear probes
    assert set(summary["source"]) <= set(O.COOD_SOURCES)
    assert counts[["imagenet-1k", "imagenet+extra", "imagenet-unlisted"]].sum() == (summary["family"] == "imagenet").sum()


def test_cood_source_rules():
    pretrain = {"resnet50": "in1k", "vit_base_patch16_224": "in21k", "tf_efficientnet_b0_ns": "jft300m-ns"}
    assert O.cood_source("resnet50", "imagenet", pretrain) == "imagenet-1k"
    assert O.cood_source("vit_base_patch16_224", "imagenet", pretrain) == "imagenet+extra"
    assert O.cood_source("tf_efficientnet_b0_ns", "imagenet", pretrain) == "imagenet+extra"
    assert O.cood_source("vgg16_torchvision", "imagenet", pretrain) == "imagenet-1k"
    assert O.cood_source("convnext_base_in22ft1k", "imagenet", pretrain) == "imagenet+extra"
    assert O.cood_source("regnety_32gf_in1k_facebookSWAG", "imagenet", pretrain) == "imagenet+extra"
    assert O.cood_source("poolformer_s12", "imagenet", pretrain) == "imagenet-unlisted"
    assert O.cood_source("CLIP_RN50", "clip-zeroshot", pretrain) == "clip-zeroshot"


def test_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.random(40)
    y = x + rng.normal(0, 0.3, 40)
    c = O.correlations(x, y, n_boot=3000)
    assert c["spearman"] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert c["pearson"] == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    ref = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b)[0], paired=True, vectorized=False,
                          n_resamples=3000, method="percentile", random_state=1)
    assert c["spearman_lo"] == pytest.approx(ref.confidence_interval.low, abs=0.04)
    assert c["spearman_hi"] == pytest.approx(ref.confidence_interval.high, abs=0.04)
    assert c["spearman_lo"] < c["spearman"] < c["spearman_hi"]
    assert c["pearson_lo"] < c["pearson"] < c["pearson_hi"]


def test_bootstrap_drops_constant_resamples():
    x, y = np.array([0.0, 0.0, 0.0, 1.0]), np.array([0.1, 0.2, 0.3, 0.9])
    out = O.bootstrap_correlations(x, y, n_boot=500)
    assert 0 < out["n_valid"] < 500  # resamples without the one x = 1 point are constant in x
    assert np.isfinite(out["spearman_lo"])


def test_accuracy_goes_with_ood_auroc_within_sources(summary):
    # Real-data direction (C5): computed here from the COOD rows, independently of correlation_table.
    for sources in (("clip-zeroshot",), O.CORRELATION_GROUPS["imagenet"]):
        sub = summary[summary["source"].isin(sources)]
        assert stats.spearmanr(sub["id_top1"], sub["ood_auroc"])[0] > 0
    table = O.correlation_table(summary, n_boot=300).set_index("group")
    assert table.loc["imagenet", "spearman_lo"] > 0 and table.loc["imagenet", "n"] > 500
    assert table.loc["clip-zeroshot", "n"] == 9


def test_claim_c5_real_data_is_a_valid_verdict(summary):
    out = O.claim_c5(summary, sensitivity=("max_logit",))
    nin = out["numbers"]["ninco_imagenet"]
    assert nin["n"] == 25  # README: 29 ImageNet classifiers, 4 of them CLIP fine-tunes
    assert -1 <= nin["spearman_lo"] <= nin["spearman"] <= nin["spearman_hi"] <= 1
    assert set(out) == {"claim", "verdict", "evidence", "numbers"} and out["verdict"] in O.VERDICTS
    assert set(out["numbers"]["groups"]) == set(O.CORRELATION_GROUPS)
    ok = all(out["numbers"]["groups"][g]["spearman"] >= O.C5_MIN_RHO and out["numbers"]["groups"][g]["spearman_lo"] > 0
             for g in O.C5_GROUPS)
    assert (out["verdict"] == "reproduced") == ok


def _synthetic_summary(n_clip: int, sign: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for src, n in (("clip-zeroshot", n_clip), ("imagenet-1k", 60)):
        acc = rng.uniform(0.5, 0.85, n)
        rows.append(pd.DataFrame({"source": src, "id_top1": acc, "confidence": "softmax",
                                  "ood_auroc": 0.8 + sign * (acc - 0.7) + rng.normal(0, 0.01, n)}))
    return pd.concat(rows, ignore_index=True)


def test_claim_c5_rules_on_synthetic_summaries(mirror):
    assert O.claim_c5(_synthetic_summary(9, +1.0), sensitivity=())["verdict"] == "reproduced"
    assert O.claim_c5(_synthetic_summary(9, -1.0), sensitivity=())["verdict"] == "not reproduced"
    assert O.claim_c5(_synthetic_summary(3, +1.0), sensitivity=())["verdict"] == "not testable here"


def test_plot_acc_vs_auroc_draws_every_source(summary):
    fig = O.plot_acc_vs_auroc(summary)
    assert len(fig.axes[0].collections) == len(O.COOD_SOURCES)
    plt.close(fig)


# --------------------------------------------------------------------------- NINCO


@pytest.fixture(scope="module")
def ninco(mirror) -> pd.DataFrame:
    return published.ninco_results()


@pytest.fixture(scope="module")
def ninco_tab(ninco) -> pd.DataFrame:
    return O.ninco_table(ninco)


def test_ninco_table_structure(ninco, ninco_tab):
    assert ninco_tab["name"].nunique() == 31  # README: 29 ImageNet classifiers + 2 zero-shot CLIPs
    assert set(ninco_tab["benchmark"]) == set(O.NINCO_BENCHMARKS)
    assert (ninco_tab.loc[ninco_tab["benchmark"] == "ninco", "n_sets"] == 46).all()  # README: 46 NINCO classes
    assert (ninco_tab.loc[ninco_tab["benchmark"] != "ninco", "n_sets"] == 1).all()
    assert ninco_tab[["auroc", "fpr95"]].apply(lambda c: c.between(0, 1)).all().all()
    raw = ninco[(ninco["name"] == "resnet50") & (ninco["method"] == "MSP") & (ninco["dataset"] == "textures_400_ood")]
    got = ninco_tab.query("name == 'resnet50' and method == 'MSP' and benchmark == 'textures'")
    assert got["auroc"].item() == raw["auroc"].item() and got["fpr95"].item() == raw["fpr95"].item()
    cls = ninco[(ninco["name"] == "resnet50") & (ninco["method"] == "MSP") & (ninco["dataset_kind"] == "ninco")]
    got = ninco_tab.query("name == 'resnet50' and method == 'MSP' and benchmark == 'ninco'")
    assert got["auroc"].item() == pytest.approx(sum(cls["auroc"]) / len(cls), abs=1e-12)


def test_c6_table_pairs_declared_scores(ninco_tab):
    comp = O.c6_table(ninco_tab)
    assert len(comp) == len(O.NINCO_BENCHMARKS) * 5
    assert set(comp.loc[comp["role"] == "zero-shot", "method"]) == {O.C6_ZS_SCORE}
    assert set(comp.loc[comp["role"] != "zero-shot", "method"]) == {O.C6_FT_SCORE}
    best = O.c6_table(ninco_tab, comparison="best")
    merged = best.merge(comp, on=["benchmark", "name"], suffixes=("_best", "_declared"))
    assert (merged["auroc_best"] >= merged["auroc_declared"]).all()


def _flip_pair(table: pd.DataFrame) -> pd.DataFrame:
    """Swap the names of every (in1k, in21k->in1k) pair: intermediate fine-tuning now 'hurts'."""
    swap = {a: b for a, b in O.C6_PAIRS.values()} | {b: a for a, b in O.C6_PAIRS.values()}
    return table.assign(name=table["name"].replace(swap))


def test_claim_c6_rules(ninco_tab):
    out = O.claim_c6(ninco_tab)
    assert out["verdict"] in O.VERDICTS and set(out) == {"claim", "verdict", "evidence", "numbers"}
    parts = out["numbers"]["declared"]
    assert (out["verdict"] == "reproduced") == (parts["a"] and parts["b"])
    comp = O.c6_table(ninco_tab).set_index(["benchmark", "role", "source"])["auroc"]
    for source in O.C6_PAIRS:  # part (a) recomputed directly
        assert parts["a_gain_primary"][source] == pytest.approx(
            comp[("ninco", "ft-in21k-in1k", source)] - comp[("ninco", "ft-in1k", source)], abs=1e-4)
    flipped = O.claim_c6(_flip_pair(ninco_tab))
    assert flipped["numbers"]["declared"]["a"] is (not parts["a"])
    assert O.claim_c6(ninco_tab[ninco_tab["name"] != O.C6_ZS_REFERENCE])["verdict"] == "not testable here"


def test_plot_ninco_scores(ninco_tab):
    fig = O.plot_ninco_scores(ninco_tab, O.c6_table(ninco_tab))
    assert len(fig.axes) == 3  # heatmap, its colourbar, bars
    plt.close(fig)


def test_openood_reference_is_fractions(mirror):
    ref = O.openood_reference()
    assert len(ref) == 3 * len(O.OPENOOD_SCORES)  # ResNet50, Swin-T, ViT-B/16 cross-entropy checkpoints
    assert ref[["near_ood_auroc", "far_ood_auroc", "id_top1"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (ref["far_ood_auroc"] > ref["near_ood_auroc"]).all()  # far-OOD is the easier split


# --------------------------------------------------------------------------- caches (synthetic Outputs)


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
    s = O.cache_scores(o)
    z = torch.from_numpy(o.logits.astype(np.float64))
    assert np.allclose(s["msp"], torch.softmax(z, 1).max(1).values.numpy(), atol=1e-10)
    assert np.allclose(s["energy"], torch.logsumexp(z, 1).numpy(), atol=1e-10)
    assert np.allclose(s["mcm"], torch.softmax(torch.from_numpy(o.cosine.astype(np.float64)), 1).max(1).values.numpy())
    assert "mcm" not in O.cache_scores(_synthetic_cache()[("clf-like", "imagenet")])


def test_cache_ood_table_loads_only_available_and_matches_sklearn():
    outs = _synthetic_cache()
    inv = pd.DataFrame([(m, d, "complete") for (m, d) in outs] + [("clip-like", "sun", "missing"),
                                                                    ("absent", "imagenet", "missing")],
                       columns=["model", "dataset", "status"])
    calls = []

    def loader(m, d):
        calls.append((m, d))
        return outs[(m, d)]

    table = O.cache_ood_table(inv, "imagenet", loader=loader, group_of=lambda m: "test")
    assert set(calls) == set(outs)  # missing entries are never loaded
    assert set(table["ood_dataset"]) == {"textures"}
    assert set(table.loc[table["model"] == "clip-like", "score"]) == {"msp", "max_logit", "energy", "mcm"}
    for model in ("clip-like", "clf-like"):
        s_id, s_ood = O.cache_scores(outs[(model, "imagenet")]), O.cache_scores(outs[(model, "textures")])
        ref = roc_auc_score(np.r_[np.ones(s_id["msp"].size), np.zeros(s_ood["msp"].size)], np.r_[s_id["msp"], s_ood["msp"]])
        row = table.query("model == @model and score == 'msp' and metric == 'auroc'")
        assert row["value"].item() == pytest.approx(ref, abs=1e-12) and ref > 0.6  # ID outputs are peaked
        acc = np.mean(outs[(model, "imagenet")].logits.argmax(1) == outs[(model, "imagenet")].labels)
        assert row["id_top1"].item() == pytest.approx(acc)
    fpr = table.query("model == 'clf-like' and score == 'msp' and metric == 'fpr95_id_positive'")["value"].item()
    s_id, s_ood = O.cache_scores(outs[("clf-like", "imagenet")]), O.cache_scores(outs[("clf-like", "textures")])
    assert fpr == M.fpr_at_95_tpr(s_id["msp"], s_ood["msp"])  # the library's default (ID-positive) convention


def test_cache_ood_table_empty_and_missing_summary():
    inv = pd.DataFrame({"model": ["a", "a", "b"], "dataset": ["imagenet", "sun", "imagenet"],
                        "status": ["missing", "missing", "complete"]})
    table = O.cache_ood_table(inv, "imagenet", loader=lambda m, d: pytest.fail("nothing to load"),
                              group_of=lambda m: "g")
    assert table.empty and "value" in table.columns
    miss = O.missing_caches(inv, group_of=lambda m: "g")
    assert miss["n"].sum() == 3 and miss.query("status == 'missing'")["n"].sum() == 2
