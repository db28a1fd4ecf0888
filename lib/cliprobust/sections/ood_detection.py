"""Section 04 -- OOD detection (Tu et al. NeurIPS 2023 §5; claims C5 and C6 of PAPERS.md).

Three sources of evidence, each joined and summarised here so the notebook stays a few lines a cell:

* **COOD** (Galil et al. ICLR 2023; ``published.cood_results``): ImageNet-1k accuracy and OOD AUROC at
  11 severity levels for 706 models incl. 9 zero-shot OpenAI CLIPs -> :func:`cood_summary`,
  :func:`correlation_table`, :func:`claim_c5` (accuracy goes with OOD detection within a training source).
* **NINCO** (Bitterwolf et al. ICML 2023; ``published.ninco_results``): 12 post-hoc scores for 29
  ImageNet classifiers incl. 4 CLIP fine-tunes, MCM for 2 zero-shot CLIPs -> :func:`ninco_table`,
  :func:`c6_table`, :func:`claim_c6` (intermediate ImageNet-21k fine-tuning helps; some CLIP-FT detect
  worse than zero-shot CLIP).
* **Per-sample caches** (iNaturalist/SUN/Places/Textures/ImageNet-O vs ImageNet val):
  :func:`cache_scores`, :func:`cache_ood_table` with MSP / MaxLogit / energy / MCM and
  :mod:`cliprobust.metrics.ood` (FPR@95 in the ID-positive convention of MCM/NINCO by default).

Every claim function returns ``{"claim", "verdict", "evidence", "numbers"}`` with ``verdict`` one of
:data:`VERDICTS`; the rule that produces the verdict is written in the function's docstring.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from .. import cache, published
from ..fetch import fetch
from ..metrics import ood as M

#: Verdict vocabulary of the claim functions (PAPERS.md: reproduced / not reproduced / not testable here).
from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401

# --------------------------------------------------------------------------- COOD: accuracy vs OOD AUROC

#: Confidence function of the COOD rows used for C5: ``softmax`` = MSP. It is the one score every
#: COOD CLIP entry has (9 zero-shot, 7 linear probes) together with 523 ImageNet models, and the
#: baseline score of the OOD literature; ``max_logit`` and ``entropy`` are reported as sensitivity.
COOD_CONFIDENCE: str = "softmax"
COOD_SENSITIVITY: tuple[str, ...] = ("max_logit", "entropy")

#: timm's 2022 pre-training labels (old-style names, as COOD uses), for splitting ImageNet models by source.
TIMM_METADATA = "published/timm/model_metadata-in1k.csv"
#: timm ``pretrain`` labels that mean "trained on more than ImageNet-1k".
EXTRA_DATA_PRETRAIN = frozenset({"in21k", "jft300m-ns", "yfc-semisl", "ig1b-swsl", "in21k-selfsl", "ig1b-wsl"})
#: Name rule for COOD names missing from the metadata: ImageNet-21k/22k pre-training or SWAG (IG-3.6B).
EXTRA_DATA_NAME = re.compile(r"in2[12]|2[12]k|swag", re.IGNORECASE)

#: COOD rows below this ImageNet top-1 are untrained networks, not models (chance is 0.001): timm's
#: ``efficientnet_b5``/``b6``/``b7`` had no weights when COOD ran them (0.1 % top-1, AUROC < 0.5).
#: :func:`cood_summary` drops them.
MIN_ID_TOP1: float = 0.05

#: Training sources of the COOD models (the colours of figure ``04_acc_vs_auroc``).
COOD_SOURCES: tuple[str, ...] = ("clip-zeroshot", "clip-lp", "imagenet-1k", "imagenet+extra", "imagenet-unlisted")

#: Groups whose within-group correlation :func:`correlation_table` reports (group -> sources).
CORRELATION_GROUPS: dict[str, tuple[str, ...]] = {
    "clip-zeroshot": ("clip-zeroshot",),
    "imagenet": ("imagenet-1k", "imagenet+extra", "imagenet-unlisted"),
    "imagenet-1k": ("imagenet-1k",),
    "imagenet+extra": ("imagenet+extra",),
    "clip-lp": ("clip-lp",),
}
#: C5 is judged on these groups (the two training sources the claim contrasts).
C5_GROUPS: tuple[str, ...] = ("clip-zeroshot", "imagenet")
#: "Strong" correlation: Spearman rho >= 0.5 (Cohen 1988's "large" effect size for r).
C5_MIN_RHO: float = 0.5
#: Fewest models a group needs for a correlation to be judged at all.
C5_MIN_MODELS: int = 5

#: Bootstrap over models for correlation CIs: resamples, percentile-CI level, seed (numpy default_rng).
N_BOOT: int = 2000
CI_LEVEL: float = 0.95
SEED: int = 0


def _timm_pretrain_labels() -> pd.Series:
    """timm ``model_metadata-in1k.csv`` as name -> pretrain label."""
    return pd.read_csv(fetch(TIMM_METADATA)).set_index("model")["pretrain"]


def cood_source(name: str, family: str, pretrain: Mapping[str, str]) -> str:
    """Training source of one COOD model (one of :data:`COOD_SOURCES`).

    CLIP entries keep their COOD family. ImageNet models: timm's 2022 ``pretrain`` label when the
    name is listed (extra data = :data:`EXTRA_DATA_PRETRAIN`), else ``*_torchvision`` -> ImageNet-1k,
    else :data:`EXTRA_DATA_NAME` -> extra data, else ``imagenet-unlisted`` (source not stated).
    """
    if family != "imagenet":
        return family
    if name in pretrain:
        return "imagenet+extra" if pretrain[name] in EXTRA_DATA_PRETRAIN else "imagenet-1k"
    if name.endswith("_torchvision"):
        return "imagenet-1k"
    return "imagenet+extra" if EXTRA_DATA_NAME.search(name) else "imagenet-unlisted"


def cood_summary(confidence: str = COOD_CONFIDENCE, cood: pd.DataFrame | None = None,
                 min_id_top1: float = MIN_ID_TOP1) -> pd.DataFrame:
    """One row per COOD model with ``confidence``: id_top1 and OOD AUROC averaged over the 11 severities.

    Models with ``id_top1 < min_id_top1`` (untrained, :data:`MIN_ID_TOP1`) are dropped.
    Columns ``model, name, family, source, confidence, id_top1, ood_auroc`` (mean over severity
    levels 0-10), ``ood_auroc_easiest``, ``ood_auroc_hardest``, ``n_levels``. COOD's severity
    levels are model-specific (each model's OOD classes are ranked by its own confidence), so
    ``ood_auroc`` is a per-model summary, not a fixed-test-set number.
    """
    cood = published.cood_results() if cood is None else cood
    rows = cood[(cood["confidence"] == confidence) & (cood["id_top1"] >= min_id_top1)]
    if rows.empty:
        raise ValueError(f"no COOD rows with confidence {confidence!r}; have {sorted(cood['confidence'].unique())}")
    g = rows.sort_values("severity").groupby(["model", "name", "family"], sort=True)
    out = g.agg(id_top1=("id_top1", "first"), ood_auroc=("ood_auroc", "mean"),
                ood_auroc_easiest=("ood_auroc", "first"), ood_auroc_hardest=("ood_auroc", "last"),
                n_levels=("severity", "nunique")).reset_index()
    pretrain = _timm_pretrain_labels().to_dict()
    out.insert(3, "source", [cood_source(n, f, pretrain) for n, f in zip(out["name"], out["family"])])
    out.insert(4, "confidence", confidence)
    return out


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of two (B, n) arrays; NaN where a row is constant."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(axis=1) / den, np.nan)


def bootstrap_correlations(x: np.ndarray, y: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED,
                           level: float = CI_LEVEL) -> dict[str, float]:
    """Percentile bootstrap CIs of Pearson r and Spearman rho, resampling (x, y) pairs with replacement.

    Spearman rho = Pearson r of mid-ranks (scipy ``rankdata``) within each resample. Resamples in
    which x or y is constant are dropped (``n_valid`` counts the kept ones).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    xb, yb = x[idx], y[idx]
    draws = {"pearson": _rowwise_pearson(xb, yb),
             "spearman": _rowwise_pearson(stats.rankdata(xb, axis=1), stats.rankdata(yb, axis=1))}
    tail = 100 * (1 - level) / 2
    out: dict[str, float] = {}
    for name, d in draws.items():
        d = d[np.isfinite(d)]
        out[f"{name}_lo"], out[f"{name}_hi"] = np.percentile(d, [tail, 100 - tail]) if d.size else (np.nan, np.nan)
    out["n_valid"] = int(np.isfinite(draws["spearman"]).sum())
    return out


def correlations(x: np.ndarray, y: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED) -> dict[str, float]:
    """n, Spearman rho and Pearson r of (x, y) with their p-values (scipy) and bootstrap CIs."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 3:
        return {"n": int(x.size)}
    rho, p_rho = stats.spearmanr(x, y)
    r, p_r = stats.pearsonr(x, y)
    return {"n": int(x.size), "spearman": float(rho), "spearman_p": float(p_rho), "pearson": float(r),
            "pearson_p": float(p_r), **bootstrap_correlations(x, y, n_boot=n_boot, seed=seed)}


def correlation_table(summary: pd.DataFrame, groups: Mapping[str, Sequence[str]] | None = None,
                      x: str = "id_top1", y: str = "ood_auroc", n_boot: int = N_BOOT) -> pd.DataFrame:
    """Within-group correlation of ``x`` with ``y`` (one row per group of :data:`CORRELATION_GROUPS`)."""
    groups = CORRELATION_GROUPS if groups is None else groups
    rows = []
    for group, sources in groups.items():
        sub = summary[summary["source"].isin(sources)]
        rows.append({"group": group, **correlations(sub[x].to_numpy(), sub[y].to_numpy(), n_boot=n_boot)})
    return pd.DataFrame(rows)


def _c5_group_holds(row: Mapping[str, float]) -> bool:
    return bool(row.get("spearman", np.nan) >= C5_MIN_RHO and row.get("spearman_lo", np.nan) > 0)


def _c5_sensitivity(confidences: Iterable[str]) -> dict[str, dict[str, float]]:
    """Spearman rho of id_top1 vs mean OOD AUROC per C5 group, for other COOD confidence functions."""
    out = {}
    for conf in confidences:
        s = cood_summary(conf)
        out[conf] = {g: round(float(stats.spearmanr(*s.loc[s["source"].isin(CORRELATION_GROUPS[g]),
                                                             ["id_top1", "ood_auroc"]].to_numpy().T)[0]), 4)
                     for g in C5_GROUPS}
    return out


def _c5_text(g: str, r: Mapping[str, float]) -> str:
    if not np.isfinite(r.get("spearman", np.nan)):
        return f"{g}: n={int(r['n'])}"
    return (f"{g}: n={int(r['n'])}, Spearman {r['spearman']:.3f} [{r['spearman_lo']:.3f}, "
            f"{r['spearman_hi']:.3f}], Pearson {r['pearson']:.3f}")


def claim_c5(summary: pd.DataFrame | None = None, sensitivity: Iterable[str] = COOD_SENSITIVITY,
             ninco: pd.DataFrame | None = None) -> dict:
    """C5: within one training source, ImageNet accuracy correlates strongly with OOD detection.

    Data: COOD, score :data:`COOD_CONFIDENCE` (MSP), OOD AUROC = mean over the 11 severity levels.
    Rule: for each group in :data:`C5_GROUPS` (zero-shot CLIP; all ImageNet models) Spearman rho of
    id_top1 vs OOD AUROC >= :data:`C5_MIN_RHO` **and** the lower end of its 95 % bootstrap CI > 0
    -> ``reproduced``; any group failing -> ``not reproduced``; a group with fewer than
    :data:`C5_MIN_MODELS` models -> ``not testable here``. Reported, not judged: other COOD
    confidence functions (``numbers['sensitivity']``) and the same correlation on NINCO's fixed OOD
    classes for its 25 ImageNet classifiers (``numbers['ninco_imagenet']``, :func:`ninco_accuracy_correlation`).
    """
    summary = cood_summary() if summary is None else summary
    table = correlation_table(summary).set_index("group").to_dict("index")
    judged = {g: table[g] for g in C5_GROUPS}
    if any(r["n"] < C5_MIN_MODELS for r in judged.values()):
        verdict = "not testable here"
    else:
        verdict = "reproduced" if all(_c5_group_holds(r) for r in judged.values()) else "not reproduced"
    nin = ninco_accuracy_correlation(ninco)
    evidence = (f"COOD, {summary['confidence'].iloc[0]} score, mean OOD AUROC over 11 severities vs ImageNet "
                f"top-1 within source: " + "; ".join(_c5_text(g, r) for g, r in judged.items()) +
                f". Rule: Spearman >= {C5_MIN_RHO} with 95% bootstrap CI above 0 in each of {list(C5_GROUPS)}. "
                f"Not judged: on NINCO's fixed OOD classes ({C5_NINCO_SCORE}) " + _c5_text("ImageNet classifiers", nin) + ".")
    numbers = {"groups": table, "sensitivity": _c5_sensitivity(sensitivity), "ninco_imagenet": nin}
    return {"claim": "C5", "verdict": verdict, "evidence": evidence, "numbers": numbers}


# --------------------------------------------------------------------------- NINCO: scores, fine-tunes, C6

#: NINCO benchmarks: ``ninco`` = mean over its 46 OOD classes (the NINCO paper's aggregate), plus
#: the 4 popular sets. Of those, the ``_ood`` variant is used: the subset NINCO's annotators kept as
#: truly OOD (the ``_full`` draws contain ImageNet-class images, NINCO's point).
NINCO_BENCHMARK = "ninco"
NINCO_POPULAR_VARIANT = "ood"
NINCO_BENCHMARKS: tuple[str, ...] = (NINCO_BENCHMARK, "places-mos", "textures", "imagenet-o", "species")

#: C6 comparison, declared: the CLIP fine-tunes are scored with **MSP** and zero-shot CLIP with
#: **MCM**. Both are a maximum softmax probability -- over the classifier's logits vs over the cosine
#: similarities to the class prompts -- i.e. each model type's native confidence, the pairing
#: Tu et al. §5 use (MSP for classifiers, MCM for zero-shot CLIP). "Each model's best score" is
#: reported as a sensitivity (:func:`c6_table` ``comparison='best'``).
C6_FT_SCORE = "MSP"
C6_ZS_SCORE = "mcm-clip"
#: Zero-shot reference: OpenAI CLIP ViT-B/16, the backbone (and for two of them the weights) of
#: NINCO's four ViT-B/16 fine-tunes.
C6_ZS_REFERENCE = "clip-ViT-B16"
#: The fine-tunes per pre-training source: (ImageNet-1k only, ImageNet-21k -> 1k). NINCO names the
#: intermediate set "in21k"; Tu et al. (with timm tags) say ImageNet-12k, a subset of 21k.
C6_PAIRS: dict[str, tuple[str, str]] = {
    "openai": ("vit_base_patch16_384_openai_in1k", "vit_base_patch16_384_openai_in21k_in1k"),
    "laion2b": ("vit_base_patch16_384_laion2b_in1k", "vit_base_patch16_384_laion2b_in21k_in1k"),
}


def ninco_table(ninco: pd.DataFrame | None = None) -> pd.DataFrame:
    """AUROC and FPR@95 (ID-positive, NINCO's convention) per (model, method, benchmark).

    ``ninco`` rows average the 46 NINCO OOD classes; popular sets use the :data:`NINCO_POPULAR_VARIANT`
    subset. Columns ``model, name, family, method, benchmark, auroc, fpr95, id_top1, n_sets``.
    """
    ninco = published.ninco_results() if ninco is None else ninco
    keys = ["model", "name", "family", "method"]
    cls = ninco[ninco["dataset_kind"] == "ninco"].assign(benchmark=NINCO_BENCHMARK)
    pop = ninco[(ninco["dataset_kind"] == "popular") & (ninco["variant"] == NINCO_POPULAR_VARIANT)]
    both = pd.concat([cls, pop.assign(benchmark=pop["popular"])])
    out = both.groupby(keys + ["benchmark"], sort=True).agg(
        auroc=("auroc", "mean"), fpr95=("fpr95", "mean"), id_top1=("id_top1", "mean"),
        n_sets=("dataset", "nunique")).reset_index()
    return out


def _c6_pick(table: pd.DataFrame, name: str, score: str) -> pd.DataFrame:
    """Rows of one model: its declared ``score``, or per benchmark its best AUROC if score == 'best'."""
    rows = table[table["name"] == name]
    if score == "best":
        return rows.loc[rows.groupby("benchmark")["auroc"].idxmax()]
    if score not in set(rows["method"]):
        raise ValueError(f"NINCO has no {score!r} score for {name!r}; it has {sorted(set(rows['method']))}")
    return rows[rows["method"] == score]


def c6_table(table: pd.DataFrame | None = None, comparison: str = "declared") -> pd.DataFrame:
    """Zero-shot CLIP ViT-B/16 vs the 4 CLIP fine-tunes on every NINCO benchmark.

    ``comparison='declared'``: :data:`C6_ZS_SCORE` vs :data:`C6_FT_SCORE`; ``'best'``: each model's
    highest-AUROC score per benchmark. Columns ``benchmark, name, role`` (zero-shot / ft-in1k /
    ft-in21k-in1k), ``source, method, auroc, fpr95, id_top1``.
    """
    table = ninco_table() if table is None else table
    zs_score, ft_score = (C6_ZS_SCORE, C6_FT_SCORE) if comparison == "declared" else ("best", "best")
    parts = [_c6_pick(table, C6_ZS_REFERENCE, zs_score).assign(role="zero-shot", source="openai")]
    for source, (in1k, in21k) in C6_PAIRS.items():
        parts.append(_c6_pick(table, in1k, ft_score).assign(role="ft-in1k", source=source))
        parts.append(_c6_pick(table, in21k, ft_score).assign(role="ft-in21k-in1k", source=source))
    cols = ["benchmark", "name", "role", "source", "method", "auroc", "fpr95", "id_top1"]
    out = pd.concat(parts)[cols]
    out["benchmark"] = pd.Categorical(out["benchmark"], NINCO_BENCHMARKS, ordered=True)
    return out.sort_values(["benchmark", "role", "source"]).reset_index(drop=True)


#: Score of the secondary (not judged) C5 check on NINCO: MSP, as for COOD.
C5_NINCO_SCORE = "MSP"


def ninco_accuracy_correlation(table: pd.DataFrame | None = None, method: str = C5_NINCO_SCORE) -> dict[str, float]:
    """:func:`correlations` of id_top1 vs mean NINCO-class AUROC over NINCO's ImageNet classifiers
    (family ``imagenet``: the CLIP fine-tunes are another training source)."""
    table = ninco_table() if table is None else table
    sub = table[(table["benchmark"] == NINCO_BENCHMARK) & (table["method"] == method) & (table["family"] == "imagenet")]
    return correlations(sub["id_top1"].to_numpy(), sub["auroc"].to_numpy())


def c6_parts(comp: pd.DataFrame) -> dict[str, object]:
    """The two sub-claims of C6 on a :func:`c6_table`.

    (a) intermediate fine-tuning helps: per source, AUROC(in21k->in1k) > AUROC(in1k) on the primary
    benchmark :data:`NINCO_BENCHMARK`; ``a_wins`` counts the (source, benchmark) pairs where it holds.
    (b) some CLIP-FT detect worse than zero-shot CLIP: at least one (fine-tune, benchmark) with a lower
    AUROC than the zero-shot reference on the same benchmark; ``b_worse`` lists them.
    """
    w = comp.pivot_table(index="benchmark", columns=["role", "source"], values="auroc", observed=True)
    gain = w["ft-in21k-in1k"] - w["ft-in1k"]
    ft = w.drop(columns="zero-shot", level=0)
    worse = ft.lt(w[("zero-shot", "openai")], axis=0)
    b_worse = [f"{r}/{s} on {b}" for b in worse.index for (r, s) in worse.columns if worse.loc[b, (r, s)]]
    return {"a": bool((gain.loc[NINCO_BENCHMARK] > 0).all()), "a_wins": int((gain > 0).to_numpy().sum()),
            "a_pairs": int(gain.size), "a_gain_primary": gain.loc[NINCO_BENCHMARK].round(4).to_dict(),
            "b": bool(worse.to_numpy().any()), "b_worse": b_worse, "b_pairs": int(worse.size)}


def claim_c6(table: pd.DataFrame | None = None) -> dict:
    """C6: ImageNet-21k->1k fine-tuning detects OOD better than 1k only; some CLIP-FT detect worse than zero-shot CLIP.

    Data: NINCO (4 ViT-B/16 CLIP fine-tunes, zero-shot OpenAI ViT-B/16), scores declared in
    :data:`C6_FT_SCORE` / :data:`C6_ZS_SCORE`. Rule: ``reproduced`` iff both parts of
    :func:`c6_parts` hold -- (a) for both sources the in21k->in1k model has the higher NINCO AUROC,
    (b) at least one fine-tune has a lower AUROC than zero-shot CLIP on at least one of the 5
    benchmarks -- else ``not reproduced``. ``numbers['best_score']`` repeats both with each
    model's best score. ``not testable here`` if a needed model/score is absent.
    """
    table = ninco_table() if table is None else table
    try:
        declared, best = c6_parts(c6_table(table)), c6_parts(c6_table(table, comparison="best"))
    except (ValueError, KeyError) as err:
        return {"claim": "C6", "verdict": "not testable here", "evidence": f"NINCO input incomplete: {err}",
                "numbers": {}}
    verdict = "reproduced" if declared["a"] and declared["b"] else "not reproduced"
    evidence = (f"NINCO, {C6_FT_SCORE} (fine-tunes) vs {C6_ZS_SCORE} (zero-shot {C6_ZS_REFERENCE}). "
                f"(a) in21k->in1k minus in1k AUROC on NINCO classes: {declared['a_gain_primary']} "
                f"(higher in {declared['a_wins']}/{declared['a_pairs']} source x benchmark pairs) -> {declared['a']}; "
                f"(b) fine-tunes below zero-shot: {len(declared['b_worse'])}/{declared['b_pairs']} "
                f"({', '.join(declared['b_worse']) or 'none'}) -> {declared['b']}. "
                f"With each model's best score: (a) {best['a']}, (b) {best['b']} "
                f"({len(best['b_worse'])}/{best['b_pairs']} below).")
    return {"claim": "C6", "verdict": verdict, "evidence": evidence, "numbers": {"declared": declared, "best_score": best}}


# --------------------------------------------------------------------------- OpenOOD: supervised reference

#: OpenOOD postprocessors that are the logit scores of this section -> our score names.
OPENOOD_SCORES: dict[str, str] = {"MSP": "msp", "MLS": "max_logit", "EBO": "energy"}


def openood_reference(setting: str = "ood") -> pd.DataFrame:
    """OpenOOD v1.5 ImageNet-1k: plain cross-entropy checkpoints scored with MSP / MaxLogit / energy.

    Columns ``arch, score, near_ood_auroc, far_ood_auroc, id_top1`` (fractions; OpenOOD averages
    AUROC over its near-OOD (SSB-hard, NINCO) and far-OOD (iNaturalist, Textures, OpenImage-O) sets).
    """
    o = published.openood_results(setting)
    o = o[(o["training"] == "CrossEntropy") & o["postprocessor"].isin(list(OPENOOD_SCORES))]
    out = o.assign(score=o["postprocessor"].map(OPENOOD_SCORES))
    cols = ["arch", "score", "near_ood_auroc", "far_ood_auroc", "id_top1"]
    return out[cols].sort_values(["arch", "score"]).reset_index(drop=True)


# --------------------------------------------------------------------------- per-sample caches

#: In-distribution set and OOD sets for the cache-driven comparison (Tu et al. §5: ImageNet-1K val
#: as ID; the MOS/MCM subsets of iNaturalist, SUN, Places, and Textures, plus ImageNet-O).
CACHE_ID: str = "imagenet"
CACHE_OOD: tuple[str, ...] = ("inaturalist", "sun", "places", "textures", "imagenet-o")
#: Smoke profile: the shipped 100-image ImageNet sample as ID, cue-conflict stimuli as a stand-in
#: "OOD" set -- a pipeline check with random weights, never a result.
SMOKE_ID: str = "imagenet-sample"
SMOKE_OOD: tuple[str, ...] = ("cue-conflict",)
#: Cache statuses that :func:`cliprobust.cache.load` can serve.
AVAILABLE: tuple[str, ...] = ("complete", "derivable")


def cache_scores(out) -> dict[str, np.ndarray]:
    """MSP, MaxLogit, energy on ``out.logits`` (CLIP: learned logit scale) and, for CLIP, MCM on ``out.cosine``."""
    z = np.asarray(out.logits, dtype=np.float64)
    scores = {"msp": M.msp(z), "max_logit": M.max_logit(z), "energy": M.energy(z)}
    if out.is_clip:
        scores["mcm"] = M.mcm(np.asarray(out.cosine, dtype=np.float64))
    return scores


def _id_accuracy(out) -> float:
    """Top-1 accuracy on the ID set when it has 1000-way labels (NaN otherwise)."""
    y = np.asarray(out.labels)
    z = np.asarray(out.logits)
    if y.size == 0 or y.min() < 0 or y.max() >= z.shape[1]:
        return float("nan")
    return float(np.mean(z.argmax(axis=1) == y))


def _model_ood_rows(id_out, ood_outs: Mapping[str, object]) -> pd.DataFrame:
    """ood_table rows for every score of one model (columns of :func:`cliprobust.metrics.ood.ood_table`)."""
    id_scores = cache_scores(id_out)
    ood_scores = {name: cache_scores(o) for name, o in ood_outs.items()}
    parts = [M.ood_table(s_id, {n: s[score] for n, s in ood_scores.items()}).assign(score=score)
             for score, s_id in id_scores.items()]
    return pd.concat(parts).assign(id_top1=_id_accuracy(id_out))


def cache_ood_table(inventory: pd.DataFrame, id_dataset: str = CACHE_ID, loader: Callable = cache.load,
                    group_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    """OOD metrics for every model whose ID and at least one OOD cache are available.

    ``inventory``: :func:`cliprobust.cache.ls`-style rows ``model, dataset, status``; only statuses
    in :data:`AVAILABLE` are loaded (with ``loader(model, dataset)``). Columns ``model, group,
    score, ood_dataset, metric, value, n_id, n_ood, id_top1``.
    """
    group_of = group_of or _zoo_group
    ok = inventory[inventory["status"].isin(AVAILABLE)]
    parts = []
    for model, rows in ok.groupby("model", sort=True):
        oods = sorted(set(rows["dataset"]) - {id_dataset})
        if id_dataset not in set(rows["dataset"]) or not oods:
            continue
        part = _model_ood_rows(loader(model, id_dataset), {d: loader(model, d) for d in oods})
        parts.append(part.assign(model=model, group=group_of(model)))
    cols = ["model", "group", "score", "ood_dataset", "metric", "value", "n_id", "n_ood", "id_top1"]
    return pd.concat(parts)[cols].reset_index(drop=True) if parts else pd.DataFrame(columns=cols)


def _zoo_group(model: str) -> str:
    from .. import zoo

    return zoo.get(model).group


def missing_caches(inventory: pd.DataFrame, group_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    """Count of (model, data set) caches per group, data set and status (``complete``/``missing``/...)."""
    group_of = group_of or _zoo_group
    inv = inventory.assign(group=inventory["model"].map(group_of))
    return inv.groupby(["group", "dataset", "status"]).size().rename("n").reset_index()


def cache_inventory(models: str, datasets: Sequence[str]) -> pd.DataFrame:
    """``cliprobust.cache.ls`` for a zoo selector and data sets: ``model, dataset, status``."""
    return cache.ls(models, list(datasets))[["model", "dataset", "status"]]


# --------------------------------------------------------------------------- figures


def plot_acc_vs_auroc(summary: pd.DataFrame, corr: pd.DataFrame | None = None) -> plt.Figure:
    """COOD: ImageNet top-1 vs mean OOD AUROC, one colour per training source (Spearman rho in the legend)."""
    corr = correlation_table(summary, groups={s: (s,) for s in COOD_SOURCES}, n_boot=0) if corr is None else corr
    rho = corr.set_index("group")["spearman"].to_dict()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    palette = dict(zip(COOD_SOURCES, ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd"]))
    for src in COOD_SOURCES:
        sub = summary[summary["source"] == src]
        big = src.startswith("clip")
        ax.scatter(sub["id_top1"], sub["ood_auroc"], s=30 if big else 9, alpha=0.9 if big else 0.45,
                   color=palette[src], label=f"{src} (n={len(sub)}, rho={rho.get(src, np.nan):.2f})",
                   zorder=3 if big else 2, edgecolor="k" if big else "none", linewidth=0.4)
    ax.set(xlabel="ImageNet-1k top-1 (fraction)", ylabel="OOD AUROC, mean of 11 COOD severities",
           title=f"COOD: accuracy vs OOD detection ({summary['confidence'].iloc[0]} score)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout(rect=(0, 0.03, 1, 1))  # room for the data stamp
    return fig


def plot_ninco_scores(table: pd.DataFrame, comp: pd.DataFrame) -> plt.Figure:
    """Left: NINCO-class AUROC per score for the CLIP models (+ ImageNet median); right: the C6 comparison."""
    sub = table[table["benchmark"] == NINCO_BENCHMARK]
    clip = sub[sub["family"] != "imagenet"].pivot_table(index="name", columns="method", values="auroc")
    med = sub[sub["family"] == "imagenet"].pivot_table(index="family", columns="method", values="auroc",
                                                        aggfunc="median").rename(index={"imagenet": "ImageNet median (25)"})
    heat = pd.concat([clip, med])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    im = a1.imshow(heat.to_numpy(), cmap="viridis", vmin=0.6, vmax=0.95, aspect="auto")
    a1.grid(False)
    a1.set_xticks(range(heat.shape[1]), heat.columns, rotation=60, ha="right", fontsize=7)
    a1.set_yticks(range(heat.shape[0]), heat.index, fontsize=7)
    for (i, j), v in np.ndenumerate(heat.to_numpy()):
        if np.isfinite(v):
            a1.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5, color="w" if v < 0.8 else "k")
    fig.colorbar(im, ax=a1, label="AUROC (mean over 46 NINCO classes)")
    a1.set_title("NINCO: AUROC by score")
    wide = comp.assign(label=comp["role"] + "/" + comp["source"] + " (" + comp["method"] + ")")
    wide = wide.pivot_table(index="benchmark", columns="label", values="auroc", observed=True)
    wide.plot.bar(ax=a2, width=0.8, rot=0, ylim=(0.5, 1.0), fontsize=7)
    a2.set(ylabel="AUROC", xlabel="", title="C6: CLIP ViT-B/16 zero-shot vs fine-tuned")
    a2.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def cache_plan(profile: str) -> tuple[str, str, tuple[str, ...]]:
    """(zoo selector, ID set, OOD sets) of the cache-driven part for a notebook profile.

    ``smoke``: the random-init smoke models on :data:`SMOKE_ID` / :data:`SMOKE_OOD` (pipeline check);
    otherwise the 210 paper models on :data:`CACHE_ID` / :data:`CACHE_OOD`.
    """
    if profile == "smoke":
        return "smoke", SMOKE_ID, SMOKE_OOD
    return "paper", CACHE_ID, CACHE_OOD


def cache_auroc_wide(table: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """``metric`` per (model, score) x OOD set, plus the mean over OOD sets and ID top-1."""
    sub = table[table["metric"] == metric]
    wide = sub.pivot_table(index=["group", "model", "score"], columns="ood_dataset", values="value")
    wide["mean"] = wide.mean(axis=1)
    acc = sub.groupby(["group", "model", "score"])["id_top1"].first()
    return wide.assign(id_top1=acc).reset_index()
