"""Section 04 -- OOD detection (Tu et al. NeurIPS 2023 §5; claims C5 and C6, see ``docs/claims.md``).

Three sources of evidence, joined here so the notebook stays a few lines a cell:

* **COOD** (Galil et al. ICLR 2023; ``published.cood_results``): ImageNet-1k accuracy and OOD AUROC at
  11 severity levels for 706 models incl. 9 zero-shot OpenAI CLIPs -> :func:`cood_summary`,
  :func:`source_correlations`, :func:`claim_c5` (accuracy goes with OOD detection within a training source).
* **NINCO** (Bitterwolf et al. ICML 2023; ``published.ninco_results``): 12 post-hoc scores for 29
  ImageNet classifiers incl. 4 CLIP fine-tunes, MCM for 2 zero-shot CLIPs -> :func:`ninco_table`,
  :func:`c6_table`, :func:`c6_tests`, :func:`claim_c6` (intermediate ImageNet-21k fine-tuning helps;
  some CLIP-FT detect worse than zero-shot CLIP).
* **Per-sample caches** (iNaturalist/SUN/Places/Textures/ImageNet-O vs ImageNet val), read through
  :mod:`cliprobust.outputs`: :func:`cache_scores`, :func:`cache_ood_table` with MSP / MaxLogit /
  energy / MCM and :mod:`cliprobust.metrics.ood` (FPR@95 ID-positive, ``docs/protocols.md`` §1).

Claims are :class:`~._base.Claim` results with a multiverse of :class:`~._base.Variant` protocols;
the headline protocol is read from the :class:`~._base.Run` options (``score``, ``ood_auroc``,
``c5_sources`` for C5; ``ft_score``, ``zs_score``, ``comparison``, ``correction`` for C6), with the
module constants below as defaults. Every interval, correlation CI and multiple-comparison
correction comes from :mod:`cliprobust.metrics.stats`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import outputs, published, style
from ..fetch import fetch
from ..metrics import ood as M
from ..metrics.ood import auroc_se
from ..metrics import stats
from ._base import CachePlan, Claim, Run, Variant, judge, plan_for, status_counts

# --------------------------------------------------------------------------- COOD: accuracy vs OOD AUROC

#: Score names of this section -> COOD ``confidence function``. ``msp`` (= COOD ``softmax``) is the
#: C5 headline: Tu et al. §5 score classifiers by MSP, it is the one score every COOD CLIP entry
#: has (9 zero-shot, 7 linear probes), and the baseline score of the OOD literature (Hendrycks &
#: Gimpel 2017). The others are variants of the multiverse.
COOD_SCORES: dict[str, str] = {"msp": "softmax", "max_logit": "max_logit", "entropy": "entropy",
                               "odin": "odin_temperature-2_noise_mag-1e-05", "mcd_entropy": "mcd_entropy"}
#: C5 headline score (run option ``score``).
C5_SCORE: str = "msp"

#: timm's 2022 pre-training labels (old-style names, as COOD uses), for splitting ImageNet models by source.
TIMM_METADATA = "published/timm/model_metadata-in1k.csv"
#: timm ``pretrain`` labels that mean "trained on more than ImageNet-1k".
EXTRA_DATA_PRETRAIN = frozenset({"in21k", "jft300m-ns", "yfc-semisl", "ig1b-swsl", "in21k-selfsl", "ig1b-wsl"})
#: Name rule for COOD names missing from the metadata: ImageNet-21k/22k pre-training or SWAG (IG-3.6B).
EXTRA_DATA_NAME = re.compile(r"in2[12]|2[12]k|swag", re.IGNORECASE)

#: COOD rows below this ImageNet top-1 are untrained networks, not models (chance is 0.001): timm's
#: ``efficientnet_b5``/``b6``/``b7`` had no weights when COOD ran them (0.1 % top-1, AUROC < 0.5).
MIN_ID_TOP1: float = 0.05

#: Coarse training-source groups of the COOD models (``source`` column).
COOD_SOURCES: tuple[str, ...] = ("clip-zeroshot", "clip-lp", "imagenet-1k", "imagenet+extra", "imagenet-unlisted")
#: Display names of the coarse groups (figures, tables): ``imagenet-unlisted`` are COOD ImageNet
#: classifiers that timm's 2022 metadata does not list and whose name states no extra data, so
#: their training data are unknown (DeiT-3, the original-weights ViTs, relative-position ViTs, ...).
SOURCE_LABELS: dict[str, str] = {
    "clip-zeroshot": "CLIP zero-shot (WIT-400M)",
    "clip-lp": "CLIP linear probe (WIT-400M + IN-1k)",
    "imagenet-1k": "ImageNet-1k only",
    "imagenet+extra": "ImageNet + extra data",
    "imagenet-unlisted": "ImageNet, training data not stated",
}
#: Fine training sources (``training_source`` column): the coarse group, except that ImageNet
#: models with extra data are split by timm's pretrain label (in21k, jft300m-ns, yfc-semisl, ...);
#: extra-data models found by name only are ``extra-by-name``.
NOT_ONE_SOURCE: frozenset[str] = frozenset({"imagenet-unlisted", "extra-by-name"})

#: C5 headline sources (run option ``c5_sources``): the two single training sources the claim
#: contrasts -- zero-shot CLIP on WIT-400M and ImageNet-1k-only classifiers.
C5_SOURCES: tuple[str, ...] = ("clip-zeroshot", "imagenet-1k")
#: C5 y-axis (run option ``ood_auroc``): ``mean`` of COOD's 11 severity levels, or ``easiest`` /
#: ``hardest`` level.
C5_OOD_AUROC: str = "mean"
#: "Strong" correlation: Spearman rho >= 0.5 (Cohen 1988's "large" effect size for r), with the
#: lower end of its 95 % bootstrap interval (resampling models) above 0.
C5_MIN_RHO: float = 0.5
#: Fewest models a training source needs for its correlation to be judged (issue: every source with >= 5).
C5_MIN_MODELS: int = 5


def timm_pretrain_labels() -> pd.Series:
    """timm ``model_metadata-in1k.csv`` as name -> pretrain label."""
    return pd.read_csv(fetch(TIMM_METADATA)).set_index("model")["pretrain"]


def cood_source(name: str, family: str, pretrain: Mapping[str, str]) -> str:
    """Coarse training source of one COOD model (one of :data:`COOD_SOURCES`).

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


def training_source(name: str, source: str, pretrain: Mapping[str, str]) -> str:
    """Fine training source: ``source``, or timm's pretrain label for ``imagenet+extra`` models."""
    if source != "imagenet+extra":
        return source
    return pretrain.get(name, "extra-by-name")


def cood_summary(score: str = C5_SCORE, cood: pd.DataFrame | None = None,
                 min_id_top1: float = MIN_ID_TOP1) -> pd.DataFrame:
    """One row per COOD model with ``score``: id_top1 and OOD AUROC over the 11 severities.

    Columns ``model, name, family, source, training_source, score, id_top1, id_confidence`` (mean
    ID confidence in the score's own units; the mean max-softmax for ``msp``), ``ood_auroc`` (mean
    over levels 0-10), ``ood_auroc_easiest``, ``ood_auroc_hardest``, ``n_levels``. Models with
    ``id_top1 < min_id_top1`` (untrained, :data:`MIN_ID_TOP1`) are dropped. COOD's levels are
    model-specific (each model's OOD classes are ranked by its own confidence), so ``ood_auroc``
    is a per-model summary, not a fixed-test-set number.
    """
    cood = published.cood_results() if cood is None else cood
    conf = COOD_SCORES.get(score, score)
    rows = cood[(cood["confidence"] == conf) & (cood["id_top1"] >= min_id_top1)]
    if rows.empty:
        raise ValueError(f"no COOD rows with score {score!r}; have {sorted(COOD_SCORES)}")
    g = rows.sort_values("severity").groupby(["model", "name", "family"], sort=True)
    out = g.agg(id_top1=("id_top1", "first"), id_confidence=("id_avg_conf", "first"),
                ood_auroc=("ood_auroc", "mean"), ood_auroc_easiest=("ood_auroc", "first"),
                ood_auroc_hardest=("ood_auroc", "last"), n_levels=("severity", "nunique")).reset_index()
    pretrain = timm_pretrain_labels().to_dict()
    src = [cood_source(n, f, pretrain) for n, f in zip(out["name"], out["family"])]
    out.insert(3, "source", src)
    out.insert(4, "training_source", [training_source(n, s, pretrain) for n, s in zip(out["name"], src)])
    out.insert(5, "score", score)
    return out


def source_correlations(summary: pd.DataFrame, by: str = "training_source", y: str = "ood_auroc",
                        method: str = "spearman", memo: dict | None = None) -> pd.DataFrame:
    """Within-source correlation of id_top1 with ``y``, one row per value of ``by``.

    Columns ``source, n, rho, low, high`` (``stats.correlation_interval``: percentile interval from
    resampling models), ``pearson``, ``judged`` (>= :data:`C5_MIN_MODELS` models and one training
    source), ``holds`` (:data:`C5_MIN_RHO` rule; None when not judged). ``memo`` caches intervals by
    (method, x, y) bytes across calls (the multiverse reuses many groups).
    """
    memo = {} if memo is None else memo
    rows = []
    for name, sub in summary.groupby(by, sort=True):
        x, v = sub["id_top1"].to_numpy(float), sub[y].to_numpy(float)
        key = (method, x.tobytes(), v.tobytes())
        if key not in memo:
            memo[key] = stats.correlation_interval(x, v, method=method)
        iv = memo[key]
        pear = float(np.corrcoef(x, v)[0, 1]) if len(sub) >= 3 else np.nan
        judged = len(sub) >= C5_MIN_MODELS and name not in NOT_ONE_SOURCE
        rows.append({"source": name, "n": len(sub), "rho": iv.value, "low": iv.low, "high": iv.high,
                     "pearson": pear, "judged": judged, "holds": _c5_holds(iv) if judged else None})
    return pd.DataFrame(rows)


def _c5_holds(iv: stats.Interval) -> bool:
    return bool(iv.value >= C5_MIN_RHO and iv.low > 0)


# --------------------------------------------------------------------------- C5


@dataclass(frozen=True)
class C5Result:
    """The C5 rule under one protocol: the weakest judged source's correlation decides."""

    value: float
    low: float
    high: float
    holds: bool | None
    n: int
    per_source: str


def _c5_on(summary: pd.DataFrame, sources: Sequence[str], by: str = "training_source", y: str = "ood_auroc",
           method: str = "spearman", memo: dict | None = None) -> C5Result:
    """Rule over ``sources``: each with >= :data:`C5_MIN_MODELS` models must hold; the statistic is
    the smallest correlation among them (with its own interval). Groups that are not one training
    source (:data:`NOT_ONE_SOURCE`) are reported, never judged (``holds`` None)."""
    table = source_correlations(summary[summary[by].isin(sources)], by=by, y=y, method=method, memo=memo)
    table = table[table["n"] >= C5_MIN_MODELS]
    if table.empty:
        return C5Result(np.nan, np.nan, np.nan, None, 0, "no source with enough models")
    worst = table.loc[table["rho"].idxmin()]
    text = "; ".join(f"{r.source} n={r.n} {r.rho:.3f} [{r.low:.3f}, {r.high:.3f}]" for r in table.itertuples())
    judged = table[table["judged"]]
    holds = bool(judged["holds"].all()) if len(judged) else None
    if not len(judged):
        text += " (not one training source: reported, not judged)"
    return C5Result(float(worst["rho"]), float(worst["low"]), float(worst["high"]), holds, int(table["n"].sum()), text)


def ninco_accuracy_correlation(table: pd.DataFrame | None = None, method: str = "MSP") -> stats.Interval:
    """Spearman of id_top1 vs mean NINCO-class AUROC over NINCO's ImageNet classifiers (family
    ``imagenet``; the CLIP fine-tunes are another training source): the protocol closest to the
    paper's (fixed OOD classes, the same for every model)."""
    table = ninco_table() if table is None else table
    sub = table[(table["benchmark"] == NINCO_BENCHMARK) & (table["method"] == method) & (table["family"] == "imagenet")]
    return stats.correlation_interval(sub["id_top1"].to_numpy(float), sub["auroc"].to_numpy(float))


def _c5_protocol(run: Run) -> dict[str, Any]:
    return {"score": run.option("score", C5_SCORE), "ood_auroc": run.option("ood_auroc", C5_OOD_AUROC),
            "c5_sources": tuple(run.option("c5_sources", C5_SOURCES))}


def _c5_variant_specs(head: Mapping[str, Any], summary: pd.DataFrame) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, description, protocol changes) of every C5 variant other than the headline."""
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for s, n in summary["training_source"].value_counts().sort_index().items():
        if s not in head["c5_sources"] and n >= C5_MIN_MODELS:
            specs.append((f"source={s}", f"the rule on the {n} COOD models of training source {s}",
                          {"c5_sources": (s,)}))
    specs.append(("imagenet=pooled", "all COOD ImageNet classifiers as one group (mixes training sources)",
                  {"pooled": True}))
    for score in COOD_SCORES:
        if score != head["score"]:
            specs.append((f"score={score}", f"COOD {COOD_SCORES[score]} confidence instead", {"score": score}))
    specs.append(("score=mcm", "MCM (zero-shot CLIP's cosine softmax): NINCO only", {"mcm": True}))
    for lvl in ("mean", "easiest", "hardest"):
        if lvl != head["ood_auroc"]:
            specs.append((f"ood-auroc={lvl}", f"y = AUROC at COOD's {lvl} severity level", {"ood_auroc": lvl}))
    specs.append(("protocol=ninco-fixed-ood", "NINCO's 46 fixed OOD classes, MSP, 25 ImageNet classifiers",
                  {"ninco": True}))
    specs.append(("correlation=pearson", "Pearson r instead of Spearman rho", {"method": "pearson"}))
    specs.append(("leave-one-out=clip", "worst zero-shot CLIP correlation with one of the 9 models left out",
                  {"loo": "clip-zeroshot"}))
    return specs


_Y = {"mean": "ood_auroc", "easiest": "ood_auroc_easiest", "hardest": "ood_auroc_hardest"}


def _c5_eval(protocol: Mapping[str, Any], cood: pd.DataFrame, ninco: pd.DataFrame | None,
             cache: dict[Any, Any]) -> C5Result:
    """The C5 rule under one protocol (a dict of the headline options with some replaced)."""
    if protocol.get("ninco"):
        table = ninco_table(ninco)
        n = int(((table["benchmark"] == NINCO_BENCHMARK) & (table["method"] == "MSP")
                 & (table["family"] == "imagenet")).sum())
        iv = ninco_accuracy_correlation(table)
        return C5Result(iv.value, iv.low, iv.high, _c5_holds(iv), n,
                        f"NINCO ImageNet classifiers n={n} {iv.value:.3f} [{iv.low:.3f}, {iv.high:.3f}]")
    if protocol.get("mcm"):
        return C5Result(np.nan, np.nan, np.nan, None, len(published.NINCO_CLIP_ZEROSHOT),
                        "NINCO has MCM for 2 zero-shot CLIPs only: no correlation from 2 points")
    score = protocol["score"]
    if score not in cache:
        cache[score] = cood_summary(score, cood=cood)
    summary, memo = cache[score], cache.setdefault("memo", {})
    y = _Y[protocol["ood_auroc"]]
    method = protocol.get("method", "spearman")
    if protocol.get("pooled"):
        summary = summary.assign(training_source=summary["family"].where(summary["family"] != "imagenet",
                                                                          "imagenet (pooled)"))
        sources = tuple("imagenet (pooled)" if s.startswith("imagenet") or s in EXTRA_DATA_PRETRAIN else s
                        for s in protocol["c5_sources"])
        return _c5_on(summary, sources, y=y, method=method, memo=memo)
    if protocol.get("loo"):
        return _c5_leave_one_out(summary, protocol["loo"], y, method)
    return _c5_on(summary, protocol["c5_sources"], y=y, method=method, memo=memo)


def _c5_leave_one_out(summary: pd.DataFrame, source: str, y: str, method: str) -> C5Result:
    """The weakest of the leave-one-model-out correlations within ``source`` (its interval from
    ``stats.correlation_interval``; the point correlations pick which model to leave out)."""
    sub = summary[summary["training_source"] == source].reset_index(drop=True)
    rho = [sps.spearmanr(*sub.drop(index=i)[["id_top1", y]].to_numpy(float).T).statistic if method == "spearman"
           else np.corrcoef(*sub.drop(index=i)[["id_top1", y]].to_numpy(float).T)[0, 1] for i in range(len(sub))]
    i = int(np.argmin(rho))
    r = _c5_on(sub.drop(index=i), (source,), y=y, method=method)
    return C5Result(r.value, r.low, r.high, r.holds, r.n, f"{r.per_source}, without {sub.loc[i, 'name']}")


def claim_c5(run: Run = Run(), *, cood: pd.DataFrame | None = None, ninco: pd.DataFrame | None = None) -> Claim:
    """C5: within one training source, ImageNet accuracy correlates strongly with OOD detection.

    Headline (run options, defaults :data:`C5_SCORE`, :data:`C5_OOD_AUROC`, :data:`C5_SOURCES`): COOD,
    MSP, OOD AUROC averaged over the 11 severities, within zero-shot CLIP (WIT-400M) and within
    ImageNet-1k-only classifiers. Rule: in every judged source (>= :data:`C5_MIN_MODELS` models)
    Spearman rho >= :data:`C5_MIN_RHO` with its 95 % interval (``stats.correlation_interval``,
    resampling models) above 0. Statistic: the smallest such rho. Variants: every other training
    source with >= 5 models, the pooled ImageNet group, every COOD score, MCM, the severity level,
    NINCO's fixed OOD classes, Pearson, leave-one-model-out. Tier by :func:`~._base.judge`.
    """
    cood = published.cood_results() if cood is None else cood
    ninco = published.ninco_results() if ninco is None else ninco
    head = _c5_protocol(run)
    cache: dict[Any, Any] = {}
    h = _c5_eval(head, cood, ninco, cache)
    variants = [Variant(f"headline: score={head['score']}", f"COOD {head['score']}, {head['ood_auroc']} AUROC, "
                        f"sources {', '.join(head['c5_sources'])}", h.value, h.low, h.high, h.holds, True, h.n,
                        h.per_source)]
    for name, desc, change in _c5_variant_specs(head, cache[head["score"]]):
        r = _c5_eval({**head, **change}, cood, ninco, cache)
        variants.append(Variant(name, desc, r.value, r.low, r.high, r.holds, False, r.n, r.per_source))
    tier = judge(bool(h.holds), variants)
    return Claim("C5", tier, "smallest within-source Spearman rho (ImageNet top-1 vs OOD AUROC)",
                 h.value, h.low, h.high, _c5_evidence(head, h, variants), tuple(variants))


def variant_outcomes(headline_holds: bool, variants: Sequence[Variant], describe: Callable[[Variant], str]) -> str:
    """The variants that change the verdict: those that fail when the headline holds ("Breaks
    under"), those that hold when it fails ("Holds under")."""
    flip = [v for v in variants if not v.headline and v.holds is (not headline_holds)]
    if not flip:
        return ""
    return (" Breaks under: " if headline_holds else " Holds under: ") + "; ".join(describe(v) for v in flip) + "."


def _c5_evidence(head: Mapping[str, Any], h: C5Result, variants: Sequence[Variant]) -> str:
    text = (f"COOD, {head['score']} score, {head['ood_auroc']} OOD AUROC over its 11 model-specific severity levels vs "
            f"ImageNet top-1, within each training source: {h.per_source}. Rule: Spearman >= {C5_MIN_RHO} with "
            f"its 95% interval above 0 in every source with >= {C5_MIN_MODELS} models; intervals resample models "
            f"only (no image-level data: COOD publishes per-model AUROCs).")
    return text + variant_outcomes(bool(h.holds), variants,
                                   lambda v: f"{v.name} ({v.value:.3f} [{v.low:.3f}, {v.high:.3f}], n={v.n})")


# --------------------------------------------------------------------------- NINCO: scores, fine-tunes, C6

#: NINCO benchmarks: ``ninco`` = mean over its 46 OOD classes (the NINCO paper's aggregate), plus
#: the 4 popular sets. Of those, the ``_ood`` variant is used: the subset NINCO's annotators kept as
#: truly OOD (the ``_full`` draws contain ImageNet-class images, NINCO's point).
NINCO_BENCHMARK = "ninco"
NINCO_POPULAR_VARIANT = "ood"
NINCO_BENCHMARKS: tuple[str, ...] = (NINCO_BENCHMARK, "places-mos", "textures", "imagenet-o", "species")
#: OOD images per popular benchmark (NINCO ``data/NINCO_popular_datasets_subsamples.csv`` counts,
#: as documented with the mirrored results file): the cleaned ``_ood`` subsets and the ``_full`` draws.
NINCO_POPULAR_N: dict[str, dict[str, int]] = {
    "ood": {"places-mos": 156, "textures": 288, "imagenet-o": 309, "species": 172},
    "full": {"places-mos": 410, "textures": 400, "imagenet-o": 400, "species": 400},
}
#: NINCO's 46 pre-release OOD classes: the results file does not give their sizes, so each class is
#: taken to hold the mean class size of the released NINCO (5,879 images / 64 classes = 92).
NINCO_CLASS_N: int = 92
NINCO_N_CLASSES: int = 46
#: In-distribution images of every NINCO AUROC: the ImageNet-1k validation set.
NINCO_ID_N: int = 50_000

#: C6 comparison, declared: the CLIP fine-tunes are scored with **MSP** and zero-shot CLIP with
#: **MCM**. Both are a maximum softmax probability -- over the classifier's logits vs over the cosine
#: similarities to the class prompts -- i.e. each model type's native confidence, the pairing
#: Tu et al. §5 use (MSP for classifiers, MCM for zero-shot CLIP). Run options ``ft_score``,
#: ``zs_score``; ``comparison='best'`` takes each model's best score per benchmark.
C6_FT_SCORE = "MSP"
C6_ZS_SCORE = "mcm-clip"
C6_COMPARISON = "declared"
#: Zero-shot reference: OpenAI CLIP ViT-B/16, the backbone (and for two of them the weights) of
#: NINCO's four ViT-B/16 fine-tunes.
C6_ZS_REFERENCE = "clip-ViT-B16"
#: The fine-tunes per pre-training source: (ImageNet-1k only, ImageNet-21k -> 1k). NINCO names the
#: intermediate set "in21k"; Tu et al. (with timm tags) say ImageNet-12k, a subset of 21k.
C6_PAIRS: dict[str, tuple[str, str]] = {
    "openai": ("vit_base_patch16_384_openai_in1k", "vit_base_patch16_384_openai_in21k_in1k"),
    "laion2b": ("vit_base_patch16_384_laion2b_in1k", "vit_base_patch16_384_laion2b_in21k_in1k"),
}
#: C6 tests: one-sided, family-wise level ALPHA with Holm's correction (run option ``correction``:
#: ``holm`` or ``none``) over the 2 part-(a) pairs and, separately, the 20 part-(b) comparisons.
C6_ALPHA: float = 0.05
C6_CORRECTION: str = "holm"


def ninco_table(ninco: pd.DataFrame | None = None, popular_variant: str = NINCO_POPULAR_VARIANT) -> pd.DataFrame:
    """AUROC and FPR@95 (ID-positive, NINCO's convention) per (model, method, benchmark).

    ``ninco`` rows average the 46 NINCO OOD classes; popular sets use the ``popular_variant``
    subset (``ood`` cleaned, ``full`` as drawn). Columns ``model, name, family, method, benchmark,
    auroc, fpr95, id_top1, n_sets, n_ood`` (OOD images: :data:`NINCO_POPULAR_N`, or
    :data:`NINCO_CLASS_N` per NINCO class), ``se`` (image-sampling SE of the AUROC, :func:`auroc_se`;
    for the NINCO mean over its per-class AUROCs, :func:`ninco_auroc_se`).
    """
    ninco = published.ninco_results() if ninco is None else ninco
    keys = ["model", "name", "family", "method"]
    cls = ninco[ninco["dataset_kind"] == "ninco"].assign(benchmark=NINCO_BENCHMARK)
    pop = ninco[(ninco["dataset_kind"] == "popular") & (ninco["variant"] == popular_variant)]
    both = pd.concat([cls, pop.assign(benchmark=pop["popular"])])
    out = both.groupby(keys + ["benchmark"], sort=True).agg(
        auroc=("auroc", "mean"), fpr95=("fpr95", "mean"), id_top1=("id_top1", "mean"),
        n_sets=("dataset", "nunique")).reset_index()
    sizes = NINCO_POPULAR_N[popular_variant]
    out["n_ood"] = [NINCO_CLASS_N * k if b == NINCO_BENCHMARK else sizes[b] for b, k in zip(out["benchmark"], out["n_sets"])]
    out["se"] = _auroc_se(ninco, out)
    return out


def ninco_auroc_se(per_class_auroc: np.ndarray, n_per_class: int = NINCO_CLASS_N, n_id: int = NINCO_ID_N) -> float:
    """SE of the mean over NINCO classes: sqrt(sum SE_c^2) / k, SE_c from :func:`auroc_se`."""
    se = auroc_se(per_class_auroc, n_id, n_per_class)
    return float(np.sqrt(np.sum(se ** 2)) / len(se))


def _auroc_se(ninco: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """Image-sampling SE of every row of :func:`ninco_table` (NINCO rows: over the per-class AUROCs)."""
    cls = ninco[ninco["dataset_kind"] == "ninco"]
    per_model = {k: ninco_auroc_se(g["auroc"].to_numpy(float)) for k, g in cls.groupby(["name", "method"])}
    se = auroc_se(table["auroc"].to_numpy(float), NINCO_ID_N, table["n_ood"].to_numpy())
    is_cls = (table["benchmark"] == NINCO_BENCHMARK).to_numpy()
    se[is_cls] = [per_model[(n, m)] for n, m in zip(table.loc[is_cls, "name"], table.loc[is_cls, "method"])]
    return pd.Series(se, index=table.index)


def _c6_pick(table: pd.DataFrame, name: str, score: str) -> pd.DataFrame:
    """Rows of one model: its declared ``score``, or per benchmark its best AUROC if score == 'best'."""
    rows = table[table["name"] == name]
    if score == "best":
        return rows.loc[rows.groupby("benchmark")["auroc"].idxmax()]
    if score not in set(rows["method"]):
        raise ValueError(f"NINCO has no {score!r} score for {name!r}; it has {sorted(set(rows['method']))}")
    return rows[rows["method"] == score]


def c6_table(table: pd.DataFrame | None = None, ft_score: str = C6_FT_SCORE, zs_score: str = C6_ZS_SCORE
             ) -> pd.DataFrame:
    """Zero-shot CLIP ViT-B/16 vs the 4 CLIP fine-tunes on every NINCO benchmark.

    Scores ``ft_score`` / ``zs_score`` (``'best'``: each model's highest-AUROC score per
    benchmark). Columns ``benchmark, name, role`` (zero-shot / ft-in1k / ft-in21k-in1k),
    ``source, method, auroc, se`` (image-sampling SE, :func:`auroc_se`), ``fpr95, id_top1, n_ood``.
    """
    table = ninco_table() if table is None else table
    parts = [_c6_pick(table, C6_ZS_REFERENCE, zs_score).assign(role="zero-shot", source="openai")]
    for source, (in1k, in21k) in C6_PAIRS.items():
        parts.append(_c6_pick(table, in1k, ft_score).assign(role="ft-in1k", source=source))
        parts.append(_c6_pick(table, in21k, ft_score).assign(role="ft-in21k-in1k", source=source))
    cols = ["benchmark", "name", "role", "source", "method", "auroc", "se", "fpr95", "id_top1", "n_ood"]
    out = pd.concat(parts)[cols]
    out["benchmark"] = pd.Categorical(out["benchmark"], NINCO_BENCHMARKS, ordered=True)
    return out.sort_values(["benchmark", "role", "source"]).reset_index(drop=True)


def _one_sided(diff: np.ndarray, se: np.ndarray) -> np.ndarray:
    """p of H0: diff <= 0 against diff > 0 (normal approximation)."""
    return sps.norm.sf(np.asarray(diff, float) / np.asarray(se, float))


def c6_tests(comp: pd.DataFrame, correction: str = C6_CORRECTION, alpha: float = C6_ALPHA) -> pd.DataFrame:
    """Every C6 comparison as a one-sided z-test of an AUROC difference, unpaired (conservative:
    the two models saw the same images, whose positive correlation would shrink the SE).

    ``part`` a: in21k->in1k minus in1k fine-tune, per source, on every benchmark (judged on
    :data:`NINCO_BENCHMARK`: 2 tests); ``part`` b: zero-shot minus each fine-tune on every benchmark
    (20 tests). ``p_adj`` is Holm-adjusted (``stats.holm``) within the judged tests of each part
    (``correction='none'``: unadjusted); ``significant`` = p_adj < ``alpha``. Columns ``part,
    benchmark, comparison, diff, se, low, high`` (95 % normal interval), ``p, p_adj, judged, significant``.
    """
    w = comp.set_index(["benchmark", "role", "source"])
    rows = []
    for b in comp["benchmark"].cat.categories if hasattr(comp["benchmark"], "cat") else comp["benchmark"].unique():
        if (b, "zero-shot", "openai") not in w.index:
            continue
        for source in C6_PAIRS:
            hi, lo = w.loc[(b, "ft-in21k-in1k", source)], w.loc[(b, "ft-in1k", source)]
            rows.append(("a", b, f"in21k-in1k vs in1k ({source})", hi["auroc"] - lo["auroc"],
                         np.hypot(hi["se"], lo["se"]), b == NINCO_BENCHMARK))
        zs = w.loc[(b, "zero-shot", "openai")]
        for role in ("ft-in1k", "ft-in21k-in1k"):
            for source in C6_PAIRS:
                ft = w.loc[(b, role, source)]
                rows.append(("b", b, f"zero-shot vs {role} ({source})", zs["auroc"] - ft["auroc"],
                             np.hypot(zs["se"], ft["se"]), True))
    t = pd.DataFrame(rows, columns=["part", "benchmark", "comparison", "diff", "se", "judged"])
    z = sps.norm.ppf(0.975)
    t["low"], t["high"] = t["diff"] - z * t["se"], t["diff"] + z * t["se"]
    t["p"] = _one_sided(t["diff"], t["se"])
    t["p_adj"] = np.nan
    for part in ("a", "b"):
        sel = (t["part"] == part) & t["judged"]
        t.loc[sel, "p_adj"] = stats.holm(t.loc[sel, "p"].to_numpy()) if correction == "holm" else t.loc[sel, "p"]
    t["significant"] = t["p_adj"] < alpha
    return t[["part", "benchmark", "comparison", "diff", "se", "low", "high", "p", "p_adj", "judged", "significant"]]


@dataclass(frozen=True)
class C6Result:
    """Both parts of C6 under one protocol."""

    a: bool
    b: bool
    n_b_significant: int
    n_b_below: int
    n_b: int
    best_b: pd.Series | None  # the part-(b) comparison with the smallest adjusted p
    tests: pd.DataFrame

    @property
    def holds(self) -> bool:
        return self.a and self.b


def _c6_eval(ninco: pd.DataFrame, protocol: Mapping[str, Any], tables: dict[str, pd.DataFrame] | None = None
             ) -> C6Result:
    tables = {} if tables is None else tables
    variant = protocol.get("popular_variant", NINCO_POPULAR_VARIANT)
    if variant not in tables:
        tables[variant] = ninco_table(ninco, variant)
    table = tables[variant]
    comp = c6_table(table, protocol["ft_score"], protocol["zs_score"])
    if protocol.get("benchmarks"):
        comp = comp[comp["benchmark"].isin(protocol["benchmarks"])]
        comp["benchmark"] = comp["benchmark"].cat.remove_unused_categories()
    tests = c6_tests(comp, protocol["correction"])
    a = tests[(tests["part"] == "a") & tests["judged"]]
    b = tests[tests["part"] == "b"]
    if protocol.get("uncertainty") == "none":  # the point-estimate rule: any difference in the claimed direction
        a_ok, b_ok, nsig = bool((a["diff"] > 0).all()), bool((b["diff"] > 0).any()), int((b["diff"] > 0).sum())
    else:
        a_ok, b_ok, nsig = bool(a["significant"].all()), bool(b["significant"].any()), int(b["significant"].sum())
    best = b.loc[b["p_adj"].idxmin()] if len(b) else None
    return C6Result(a_ok, b_ok, nsig, int((b["diff"] > 0).sum()), len(b), best, tests)


def _c6_protocol(run: Run) -> dict[str, Any]:
    comparison = run.option("comparison", C6_COMPARISON)
    best = comparison == "best"
    return {"ft_score": "best" if best else run.option("ft_score", C6_FT_SCORE),
            "zs_score": "best" if best else run.option("zs_score", C6_ZS_SCORE),
            "correction": run.option("correction", C6_CORRECTION)}


#: C6 variants: (name, description, protocol changes).
C6_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("score=best", "each model's best-AUROC score per benchmark (of 12 for fine-tunes, 2 for zero-shot)",
     {"ft_score": "best", "zs_score": "best"}),
    ("ft-score=MaxLogit", "fine-tunes scored by MaxLogit instead of MSP", {"ft_score": "MaxLogit"}),
    ("ft-score=Energy", "fine-tunes scored by energy instead of MSP", {"ft_score": "Energy"}),
    ("zs-score=cosine-clip", "zero-shot CLIP scored by its maximum cosine instead of MCM", {"zs_score": "cosine-clip"}),
    ("benchmark=ninco-classes", "part (b) on NINCO's 46 clean OOD classes only (no popular sets)",
     {"benchmarks": (NINCO_BENCHMARK,)}),
    ("popular=full", "popular sets as drawn (incl. ImageNet-class images) instead of the cleaned subsets",
     {"popular_variant": "full"}),
    ("correction=none", "no multiple-comparison correction (each test at 0.05)", {"correction": "none"}),
    ("uncertainty=none", "point estimates only (the rule before image-sampling error was counted)",
     {"uncertainty": "none"}),
)


def claim_c6(run: Run = Run(), *, ninco: pd.DataFrame | None = None) -> Claim:
    """C6: ImageNet-21k->1k fine-tuning detects OOD better than 1k only; some CLIP-FT detect worse than zero-shot CLIP.

    Data: NINCO (4 ViT-B/16 CLIP fine-tunes, zero-shot OpenAI ViT-B/16). Headline: fine-tunes by
    :data:`C6_FT_SCORE`, zero-shot by :data:`C6_ZS_SCORE` (run options ``ft_score``, ``zs_score``,
    ``comparison``, ``correction``). Rule (:func:`c6_tests`): (a) both in21k->in1k models beat their
    in1k-only counterpart on the NINCO classes, each one-sided test significant after Holm over the
    2 pairs (n = 2 pairs, the whole evidence for (a)); (b) at least one of the 20 (fine-tune,
    benchmark) comparisons has a fine-tune significantly below zero-shot after Holm over 20.
    Uncertainty: image sampling of each AUROC by :func:`auroc_se` (the larger of the Hanley-McNeil
    exponential and the binormal approximation; no per-image NINCO scores are published), unpaired. Statistic: the part-(b) AUROC deficit with the smallest adjusted p.
    ``not testable here`` if a needed model/score is absent.
    """
    ninco = published.ninco_results() if ninco is None else ninco
    head = _c6_protocol(run)
    tables: dict[str, pd.DataFrame] = {}
    try:
        h = _c6_eval(ninco, head, tables)
    except (ValueError, KeyError) as err:
        from ._base import not_testable

        return not_testable("C6", "AUROC deficit of a CLIP fine-tune vs zero-shot CLIP",
                            needs=f"NINCO results with the four CLIP fine-tunes and zero-shot ViT-B/16 ({err})")
    variants = [_c6_variant(f"headline: ft={head['ft_score']}, zs={head['zs_score']}",
                            "declared scores, Holm-corrected one-sided tests", h, True)]
    for name, desc, change in C6_VARIANTS:
        if all(head.get(k) == v for k, v in change.items()):
            continue
        try:
            variants.append(_c6_variant(name, desc, _c6_eval(ninco, {**head, **change}, tables), False))
        except (ValueError, KeyError) as err:
            variants.append(Variant(name, desc, np.nan, holds=None, note=f"not computable: {err}"))
    tier = judge(h.holds, variants)
    best = h.best_b
    return Claim("C6", tier, "AUROC deficit of a CLIP fine-tune below zero-shot CLIP, most significant of the comparisons (NINCO)",
                 float(best["diff"]), float(best["low"]), float(best["high"]), _c6_evidence(head, h, variants),
                 tuple(variants), numbers={"tests": h.tests})


def _c6_variant(name: str, desc: str, r: C6Result, headline: bool) -> Variant:
    best = r.best_b
    note = (f"(a) {'holds' if r.a else 'fails'}; (b) {r.n_b_significant}/{r.n_b} fine-tune x benchmark "
            f"comparisons significantly below zero-shot ({r.n_b_below} below by point estimate)")
    return Variant(name, desc, float(best["diff"]), float(best["low"]), float(best["high"]), r.holds, headline,
                   r.n_b, note)


def _c6_evidence(head: Mapping[str, Any], h: C6Result, variants: Sequence[Variant]) -> str:
    t = h.tests
    a = t[(t["part"] == "a") & t["judged"]]
    a_txt = "; ".join(f"{r.comparison}: {r.diff:+.3f} [{r.low:+.3f}, {r.high:+.3f}], Holm p={r.p_adj:.2g}"
                      for r in a.itertuples())
    b = t[(t["part"] == "b") & t["significant"]]
    b_txt = ", ".join(f"{r.comparison} on {r.benchmark} ({r.diff:+.3f})" for r in b.itertuples()) or "none"
    text = (f"NINCO, {head['ft_score']} (fine-tunes) vs {head['zs_score']} (zero-shot {C6_ZS_REFERENCE}). "
            f"(a) on NINCO's 46 classes, n = 2 pairs: {a_txt} -> {h.a}. (b) {h.n_b_significant}/{h.n_b} comparisons "
            f"with a fine-tune significantly below zero-shot after Holm ({h.n_b_below}/{h.n_b} below by point "
            f"estimate): {b_txt} -> {h.b}. Intervals: image sampling of each AUROC, the larger of the Hanley-McNeil "
            f"(exponential) and binormal approximations (ID 50,000 "
            f"images; OOD {NINCO_POPULAR_N['ood']} per popular set, {NINCO_CLASS_N} assumed per NINCO class), "
            f"unpaired; no per-image scores are published, no model sampling (one model per role).")
    return text + variant_outcomes(h.holds, variants, lambda v: f"{v.name} ({v.note})")


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

#: What the cache-driven part reads (Tu et al. §5: ImageNet-1K val as ID; the MOS/MCM subsets of
#: iNaturalist, SUN, Places and Textures, plus ImageNet-O). Smoke: the shipped 100-image ImageNet
#: sample as ID, cue-conflict stimuli as a stand-in "OOD" set -- a pipeline check, never a result.
PAPER_PLAN = CachePlan("paper", "imagenet", ("inaturalist", "sun", "places", "textures", "imagenet-o"))
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample", ("cue-conflict",))


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(plan: CachePlan) -> pd.DataFrame:
    """``outputs.inventory`` of the plan's models on its ID and OOD sets (with each model's group)."""
    inv = outputs.inventory(plan.models, plan.all_sets)
    return inv.assign(group=inv["model"].map(_zoo_group))


def cache_scores(out: Any) -> dict[str, np.ndarray]:
    """MSP, MaxLogit, energy on ``out.logits`` (CLIP: learned logit scale) and, for CLIP, MCM on ``out.cosine``."""
    z = np.asarray(out.logits, dtype=np.float64)
    scores = {"msp": M.msp(z), "max_logit": M.max_logit(z), "energy": M.energy(z)}
    if out.is_clip:
        scores["mcm"] = M.mcm(np.asarray(out.cosine, dtype=np.float64))
    return scores


def _id_accuracy(out: Any) -> float:
    """Top-1 accuracy on the ID set when it has 1000-way labels (NaN otherwise)."""
    y = np.asarray(out.labels)
    z = np.asarray(out.logits)
    if y.size == 0 or y.min() < 0 or y.max() >= z.shape[1]:
        return float("nan")
    return float(np.mean(z.argmax(axis=1) == y))


def _model_ood_rows(id_out: Any, ood_outs: Mapping[str, Any]) -> pd.DataFrame:
    """ood_table rows for every score of one model (columns of :func:`cliprobust.metrics.ood.ood_table`)."""
    id_scores = cache_scores(id_out)
    ood_scores = {name: cache_scores(o) for name, o in ood_outs.items()}
    parts = [M.ood_table(s_id, {n: s[score] for n, s in ood_scores.items()}).assign(score=score)
             for score, s_id in id_scores.items()]
    return pd.concat(parts).assign(id_top1=_id_accuracy(id_out))


def cache_ood_table(inventory: pd.DataFrame, id_dataset: str = PAPER_PLAN.id_set, loader: Callable = outputs.load,
                    group_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    """OOD metrics for every model whose ID and at least one OOD cache are available.

    ``inventory``: ``outputs.inventory``-style rows ``model, dataset, status``; only statuses in
    ``outputs.AVAILABLE`` are loaded (with ``loader(model, dataset)``). Columns ``model, group,
    score, ood_dataset, metric, value, n_id, n_ood, id_top1``.
    """
    group_of = group_of or _zoo_group
    ok = inventory[inventory["status"].isin(outputs.AVAILABLE)]
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


def cache_status(inventory: pd.DataFrame) -> pd.DataFrame:
    """Cache statuses per (group, data set): counts of ``status_counts`` as a wide table."""
    rows = [{"group": g, "dataset": d, **status_counts(sub)} for (g, d), sub in inventory.groupby(["group", "dataset"])]
    return pd.DataFrame(rows).fillna(0).set_index(["group", "dataset"]).astype(int)


def cache_auroc_wide(table: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """``metric`` per (model, score) x OOD set, plus the mean over OOD sets and ID top-1."""
    sub = table[table["metric"] == metric]
    wide = sub.pivot_table(index=["group", "model", "score"], columns="ood_dataset", values="value")
    wide["mean"] = wide.mean(axis=1)
    acc = sub.groupby(["group", "model", "score"])["id_top1"].first()
    return wide.assign(id_top1=acc).reset_index()


# --------------------------------------------------------------------------- figures

#: Colours of the coarse COOD sources (the two CLIP groups keep the group colours of every figure).
SOURCE_COLORS: dict[str, str] = {
    "clip-zeroshot": style.group_color("clip-zeroshot"), "clip-lp": style.group_color("clip-ft"),
    "imagenet-1k": style.source_color("ImageNet-1k"), "imagenet+extra": style.source_color("ImageNet-21k"),
    "imagenet-unlisted": style.BASELINE_GREY,
}
#: Caption of the COOD y-axis, drawn on the figure (COOD's OOD sets differ per model).
COOD_Y_CAPTION = ("y: COOD OOD AUROC, mean over 11 severity levels. Each model's OOD set is its own: COOD ranks "
                  "ImageNet-21k classes (none in ImageNet-1k) by that model's confidence and splits them into "
                  "levels, so a model's AUROC is not on a shared test set. Error bars: 95% interval of top-1 "
                  "(binomial, 50,000 images); right: within-source Spearman rho with 95% interval (resampling models).")


def plot_acc_vs_auroc(summary: pd.DataFrame, corr: pd.DataFrame | None = None) -> plt.Figure:
    """Left: ImageNet top-1 vs COOD OOD AUROC, one colour per training source; right: within-source
    Spearman rho with its 95 % interval for every fine training source with >= 5 models."""
    corr = source_correlations(summary) if corr is None else corr
    fig, (ax, fx) = plt.subplots(1, 2, figsize=(12, 5.4), gridspec_kw={"width_ratios": [1.5, 1]})
    lo, hi = stats.wilson_interval(np.round(summary["id_top1"] * 50_000), 50_000)
    for src in COOD_SOURCES:
        sub = summary["source"] == src
        big = src.startswith("clip")
        ax.errorbar(summary.loc[sub, "id_top1"], summary.loc[sub, "ood_auroc"],
                    xerr=[summary.loc[sub, "id_top1"] - lo[sub], hi[sub] - summary.loc[sub, "id_top1"]],
                    fmt="o", ms=5 if big else 2.5, alpha=0.95 if big else 0.5, color=SOURCE_COLORS[src],
                    elinewidth=0.6, mec="k" if big else "none", mew=0.4, zorder=3 if big else 2,
                    label=f"{SOURCE_LABELS[src]} (n={int(sub.sum())})")
    ax.set(xlabel="ImageNet-1k top-1 accuracy", ylabel="OOD AUROC (COOD, mean of 11 levels)",
           title=f"COOD: ImageNet accuracy vs OOD detection ({style.display(summary['score'].iloc[0])})")
    ax.legend(fontsize=7, loc="upper left")
    _plot_rho_forest(fx, corr)
    fig.text(0.01, 0.005, "\n".join(textwrap.wrap(COOD_Y_CAPTION, 150)), fontsize=7, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def _plot_rho_forest(ax: plt.Axes, corr: pd.DataFrame) -> None:
    c = corr[corr["n"] >= C5_MIN_MODELS].sort_values("rho").reset_index(drop=True)
    for i, r in c.iterrows():
        color = {True: "#0072B2", False: "#D55E00", None: "#999999"}[r["holds"]]
        ax.errorbar([r["rho"]], [i], xerr=[[r["rho"] - r["low"]], [r["high"] - r["rho"]]], fmt="o", color=color)
    ax.axvline(C5_MIN_RHO, color="0.3", ls="--", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_yticks(range(len(c)), [f"{_source_label(s)} (n={n})" for s, n in zip(c["source"], c["n"])], fontsize=7)
    ax.set(xlim=(-1.05, 1.05), xlabel="Spearman rho, top-1 vs OOD AUROC", ylabel="training source",
           title=f"Within-source Spearman rho (dashed: {C5_MIN_RHO})")


def _source_label(s: str) -> str:
    return SOURCE_LABELS.get(s, {"extra-by-name": "IN + extra (by name)"}.get(s, f"IN + {s}"))


#: Display names of NINCO's CLIP models (figure tick labels).
NINCO_DISPLAY: dict[str, str] = {
    "clip-ViT-B16": "ViT-B/16 (OpenAI) zero-shot", "clip-ViT-L14-336": "ViT-L/14-336 (OpenAI) zero-shot",
    "vit_base_patch16_384_openai_in1k": "ViT-B/16 (OpenAI) FT IN-1k",
    "vit_base_patch16_384_openai_in21k_in1k": "ViT-B/16 (OpenAI) FT IN-21k->1k",
    "vit_base_patch16_384_laion2b_in1k": "ViT-B/16 (LAION-2B) FT IN-1k",
    "vit_base_patch16_384_laion2b_in21k_in1k": "ViT-B/16 (LAION-2B) FT IN-21k->1k",
}


def plot_ninco_scores(table: pd.DataFrame, comp: pd.DataFrame) -> plt.Figure:
    """Left: NINCO-class AUROC per score for the CLIP models (+ ImageNet median); right: the C6
    comparison with 95 % image-sampling intervals (:func:`auroc_se`) per benchmark."""
    sub = table[table["benchmark"] == NINCO_BENCHMARK]
    clip = sub[sub["family"] != "imagenet"].pivot_table(index="name", columns="method", values="auroc")
    med = sub[sub["family"] == "imagenet"].pivot_table(index="family", columns="method", values="auroc",
                                                        aggfunc="median").rename(index={"imagenet": "ImageNet median (25)"})
    heat = pd.concat([clip, med]).rename(index=NINCO_DISPLAY)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.5, 1]})
    im = a1.imshow(heat.to_numpy(), cmap="viridis", vmin=0.6, vmax=0.95, aspect="auto")
    a1.grid(False)
    a1.set_xticks(range(heat.shape[1]), [style.display(m) for m in heat.columns], rotation=90, fontsize=7)
    a1.set_yticks(range(heat.shape[0]), heat.index, fontsize=7)
    for (i, j), v in np.ndenumerate(heat.to_numpy()):
        if np.isfinite(v):
            a1.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5, color="w" if v < 0.8 else "k")
    fig.colorbar(im, ax=a1, label="AUROC (mean over 46 NINCO classes)")
    a1.set(title="NINCO: AUROC by score", xlabel="score", ylabel="model")
    _plot_c6_bars(a2, comp)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


C6_ROLE_STYLE: dict[tuple[str, str], tuple[str, str]] = {
    ("zero-shot", "openai"): (style.group_color("clip-zeroshot"), "zero-shot (OpenAI)"),
    ("ft-in1k", "openai"): (style.OKABE_ITO["orange"], "FT IN-1k (OpenAI)"),
    ("ft-in21k-in1k", "openai"): (style.OKABE_ITO["reddish purple"], "FT IN-21k->1k (OpenAI)"),
    ("ft-in1k", "laion2b"): (style.OKABE_ITO["sky blue"], "FT IN-1k (LAION-2B)"),
    ("ft-in21k-in1k", "laion2b"): (style.OKABE_ITO["blue"], "FT IN-21k->1k (LAION-2B)"),
}


def _plot_c6_bars(ax: plt.Axes, comp: pd.DataFrame) -> None:
    benches = list(comp["benchmark"].cat.categories if hasattr(comp["benchmark"], "cat") else comp["benchmark"].unique())
    width = 0.8 / len(C6_ROLE_STYLE)
    z = sps.norm.ppf(0.975)
    for k, ((role, source), (color, label)) in enumerate(C6_ROLE_STYLE.items()):
        r = comp[(comp["role"] == role) & (comp["source"] == source)].set_index("benchmark").reindex(benches)
        x = np.arange(len(benches)) - 0.4 + width * (k + 0.5)
        ax.bar(x, r["auroc"], width, yerr=z * r["se"], color=color, label=f"{label}, {r['method'].iloc[0]}",
               error_kw={"elinewidth": 0.7, "capsize": 1.5})
    ax.set_xticks(range(len(benches)), [style.display(b) for b in benches], fontsize=7)
    ax.set(ylim=(0.5, 1.0), ylabel="AUROC (95% image-sampling interval)", xlabel="OOD benchmark (NINCO)",
           title="C6: CLIP ViT-B/16 zero-shot vs fine-tuned")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
