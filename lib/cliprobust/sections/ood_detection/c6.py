"""C6: ImageNet-21k->1k fine-tuning detects OOD better than 1k only; some CLIP-FT detect worse than zero-shot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import published
from ...metrics import stats
from .._base import Claim, Run, Variant, judge
from .c5 import variant_outcomes
from .ninco import NINCO_BENCHMARK, NINCO_BENCHMARKS, NINCO_CLASS_N, NINCO_POPULAR_N, NINCO_POPULAR_VARIANT, ninco_table

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
        from .._base import not_testable

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

