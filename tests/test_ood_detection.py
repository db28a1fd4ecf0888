"""Section 04 (OOD detection): COOD/NINCO/OpenOOD assembly, the C5/C6 rules and tiers, cache-driven scoring."""

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

from cliprobust import plots, published  # noqa: E402
from cliprobust.cache import Outputs  # noqa: E402
from cliprobust.metrics import ood as M  # noqa: E402
from cliprobust.runs import Run  # noqa: E402
from cliprobust.sections import ood_detection as OD  # noqa: E402
from cliprobust.sections.ood_detection import c5, caches, figures, fine_tunes, openood, sources  # noqa: E402
from cliprobust.sections.ood_detection import cood as CO  # noqa: E402
from cliprobust.sections.ood_detection import ninco as NI  # noqa: E402


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


def test_plot_acc_vs_auroc_passes_layout(summary):
    fig = figures.plot_acc_vs_auroc(summary, c5.source_table(summary, OD.Options()))
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
    comp = fine_tunes.c6_table(ninco_tab)
    assert len(comp) == len(NI.NINCO_BENCHMARKS) * 5
    assert set(comp.loc[comp["role"] == "zero-shot", "method"]) == {fine_tunes.C6_ZS_SCORE}
    assert set(comp.loc[comp["role"] != "zero-shot", "method"]) == {fine_tunes.C6_FT_SCORE}
    # equal score sets: each side the better of the same two functions, per benchmark
    best = fine_tunes.c6_table(ninco_tab, fine_tunes.SAME_SCORES["ft"], fine_tunes.SAME_SCORES["zs"])
    assert set(best.loc[best["role"] == "zero-shot", "method"]) <= set(fine_tunes.SAME_SCORES["zs"])
    assert set(best.loc[best["role"] != "zero-shot", "method"]) <= set(fine_tunes.SAME_SCORES["ft"])
    for r in best.itertuples():
        scores = fine_tunes.SAME_SCORES["zs" if r.role == "zero-shot" else "ft"]
        cands = ninco_tab[(ninco_tab["name"] == r.name) & (ninco_tab["benchmark"] == r.benchmark)
                          & ninco_tab["method"].isin(scores)]
        assert r.auroc == cands["auroc"].max()
    with pytest.raises(ValueError, match="NINCO has not every score"):
        fine_tunes.c6_table(ninco_tab, ("no-such-score",))


def test_plot_ninco_scores_passes_layout(ninco_tab):
    fig = figures.plot_ninco_scores(ninco_tab, fine_tunes.c6_table(ninco_tab))
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


def test_cache_inventory_groups_every_model_of_the_plan():
    inv = OD.cache_inventory(Run("smoke"))
    assert set(inv["dataset"]) == set(OD.SMOKE_PLAN.all_sets)
    from cliprobust import zoo

    for model, group in inv.groupby("model")["group"].first().items():
        assert group == zoo.get(model).group
