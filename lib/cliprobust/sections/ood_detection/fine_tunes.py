"""The C6 comparisons on NINCO: four CLIP ViT-B/16 fine-tunes (two pre-training sources x {ImageNet-1k
only, ImageNet-21k -> 1k}) and zero-shot OpenAI CLIP ViT-B/16.

- part (a), :func:`pair_gains`: in21k->1k minus 1k-only AUROC per pair on NINCO's 46 OOD classes,
  with an interval from the spread of the per-class differences (the OOD data the claim generalises
  over), or from image sampling alone, or from the two pairs' spread (fine-tuning pairs in general);
- part (b), :func:`deficits`: zero-shot minus fine-tune AUROC on every benchmark, with simultaneous
  95 % intervals over all comparisons (max-T, :func:`maxt_critical`): the most extreme comparison is
  picked after looking, and its interval counts that selection.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import published
from ...metrics import stats
from .ninco import NINCO_BENCHMARK, NINCO_BENCHMARKS, ninco_table

#: Declared scores: fine-tunes by **MSP**, zero-shot CLIP by **MCM**: both a maximum softmax
#: probability (over the classifier's logits / over the cosines to the class prompts), each model
#: type's native confidence, the pairing Tu et al. §5 use.
C6_FT_SCORE = "MSP"
C6_ZS_SCORE = "mcm-clip"
#: Equal score sets on both sides (``pairing='best-of-same'``): the same two functions, MCM (softmax
#: over cosine similarities) and the maximum cosine -- NINCO's ``mcm``/``cosine`` on the fine-tunes'
#: features and ``mcm-clip``/``cosine-clip`` on zero-shot CLIP -- each side's better one per benchmark.
SAME_SCORES: dict[str, tuple[str, ...]] = {"ft": ("mcm", "cosine"), "zs": ("mcm-clip", "cosine-clip")}
#: Zero-shot reference: OpenAI CLIP ViT-B/16, the backbone (and for two of them the weights) of the fine-tunes.
C6_ZS_REFERENCE = "clip-ViT-B16"
#: The fine-tunes per pre-training source: (ImageNet-1k only, ImageNet-21k -> 1k). NINCO names the
#: intermediate set "in21k"; Tu et al. (with timm tags) say ImageNet-12k, a subset of 21k.
C6_PAIRS: dict[str, tuple[str, str]] = {
    "openai": ("vit_base_patch16_384_openai_in1k", "vit_base_patch16_384_openai_in21k_in1k"),
    "laion2b": ("vit_base_patch16_384_laion2b_in1k", "vit_base_patch16_384_laion2b_in21k_in1k"),
}
#: Draws of the max-T critical value (parametric, seeded): Monte-Carlo SE of c about 0.01.
MAXT_DRAWS: int = 50_000
#: Part (a) intervals: per-class spread (t over NINCO's OOD classes), image sampling, the 2 pairs' spread.
A_INTERVALS: tuple[str, ...] = ("ood-classes", "image-sampling", "between-pairs")
#: Part (b) intervals: simultaneous over the comparisons (max-T) or marginal (``none``).
B_CORRECTIONS: tuple[str, ...] = ("max-t", "none")
_Z = float(sps.norm.ppf(0.975))


def _pick(table: pd.DataFrame, name: str, scores: tuple[str, ...]) -> pd.DataFrame:
    """Rows of one model: its one score, or per benchmark the best AUROC among ``scores``."""
    rows = table[(table["name"] == name) & table["method"].isin(scores)]
    if rows.empty or set(rows["method"]) != set(scores):
        have = sorted(set(table.loc[table["name"] == name, "method"]))
        raise ValueError(f"NINCO has not every score of {scores} for {name!r}; it has {have}")
    return rows.loc[rows.groupby("benchmark")["auroc"].idxmax()]


def c6_table(table: pd.DataFrame | None = None, ft_scores: tuple[str, ...] = (C6_FT_SCORE,),
             zs_scores: tuple[str, ...] = (C6_ZS_SCORE,)) -> pd.DataFrame:
    """Zero-shot CLIP ViT-B/16 vs the 4 CLIP fine-tunes on every NINCO benchmark, each scored by
    its one score or the best of its score set per benchmark. Columns ``benchmark, name, role``
    (zero-shot / ft-in1k / ft-in21k-in1k), ``source, method, auroc, se`` (image sampling), ``fpr95,
    id_top1, n_ood``."""
    table = ninco_table() if table is None else table
    parts = [_pick(table, C6_ZS_REFERENCE, zs_scores).assign(role="zero-shot", source="openai")]
    for source, (in1k, in21k) in C6_PAIRS.items():
        parts.append(_pick(table, in1k, ft_scores).assign(role="ft-in1k", source=source))
        parts.append(_pick(table, in21k, ft_scores).assign(role="ft-in21k-in1k", source=source))
    cols = ["benchmark", "name", "role", "source", "method", "auroc", "se", "fpr95", "id_top1", "n_ood"]
    out = pd.concat(parts)[cols]
    out["benchmark"] = pd.Categorical(out["benchmark"], NINCO_BENCHMARKS, ordered=True)
    return out.sort_values(["benchmark", "role", "source"]).reset_index(drop=True)


# --------------------------------------------------------------------------- part (a)


def class_aurocs(ninco: pd.DataFrame, name: str, method: str) -> pd.Series:
    """Per-NINCO-class AUROC of one model and score (index: the OOD class)."""
    rows = ninco[(ninco["dataset_kind"] == "ninco") & (ninco["name"] == name) & (ninco["method"] == method)]
    return rows.set_index("dataset")["auroc"]


def pair_gains(comp: pd.DataFrame, ninco: pd.DataFrame | None = None, interval: str = "ood-classes") -> pd.DataFrame:
    """Part (a) per pair on NINCO's classes: ``source, gain`` (in21k->1k minus 1k-only AUROC),
    ``se, low, high`` (95 %), ``n_classes, sd_class`` (spread of the per-class differences).
    ``ood-classes``: paired t over the classes (their spread holds the image noise of each class
    and the class-to-class variation); ``image-sampling``: the two AUROCs' image-sampling SEs."""
    ninco = published.ninco_results() if ninco is None else ninco
    w = comp[comp["benchmark"] == NINCO_BENCHMARK].set_index(["role", "source"])
    rows = []
    for source in C6_PAIRS:
        hi, lo = w.loc[("ft-in21k-in1k", source)], w.loc[("ft-in1k", source)]
        d = (class_aurocs(ninco, hi["name"], hi["method"]) - class_aurocs(ninco, lo["name"], lo["method"])).dropna()
        k, sd = len(d), float(d.std(ddof=1))
        if interval == "image-sampling":
            se, crit = float(np.hypot(hi["se"], lo["se"])), _Z
        else:
            se, crit = sd / np.sqrt(k), float(sps.t.ppf(0.975, k - 1))
        gain = float(hi["auroc"] - lo["auroc"])
        rows.append({"source": source, "gain": gain, "se": se, "low": gain - crit * se, "high": gain + crit * se,
                     "n_classes": k, "sd_class": sd})
    return pd.DataFrame(rows)


def between_pairs(gains: pd.DataFrame) -> tuple[float, float, float]:
    """Mean gain of the pairs with a t interval from their spread (``len - 1`` df: 1 for 2 pairs)."""
    g = gains["gain"].to_numpy(float)
    se = g.std(ddof=1) / np.sqrt(g.size)
    half = float(sps.t.ppf(0.975, g.size - 1)) * se
    return float(g.mean()), float(g.mean() - half), float(g.mean() + half)


# --------------------------------------------------------------------------- part (b)


def comparison_cells(comp: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Zero-shot minus each fine-tune per benchmark: the comparisons and their (zs, ft) row indices."""
    comp = comp.reset_index(drop=True)
    rows, zi, fi = [], [], []
    for b, sub in comp.groupby("benchmark", observed=True, sort=True):
        zs = sub.index[sub["role"] == "zero-shot"]
        if len(zs) != 1:
            continue
        for i in sub.index[sub["role"] != "zero-shot"]:
            ft = comp.loc[i]
            rows.append({"benchmark": b, "comparison": f"zero-shot vs {ft['role']} ({ft['source']})",
                         "diff": comp.loc[zs[0], "auroc"] - ft["auroc"]})
            zi.append(zs[0])
            fi.append(i)
    return pd.DataFrame(rows), np.array(zi, dtype=int), np.array(fi, dtype=int)


@functools.lru_cache(maxsize=32)
def _maxt(se_cells: tuple[float, ...], zi: tuple[int, ...], fi: tuple[int, ...], draws: int) -> float:
    se = np.asarray(se_cells)
    e = np.random.default_rng(stats.SEED).standard_normal((draws, se.size)) * se
    zi_, fi_ = np.asarray(zi), np.asarray(fi)
    t = (e[:, zi_] - e[:, fi_]) / np.hypot(se[zi_], se[fi_])
    return float(np.quantile(np.abs(t).max(axis=1), 0.95))


def maxt_critical(se_cells: np.ndarray, zi: np.ndarray, fi: np.ndarray, draws: int = MAXT_DRAWS) -> float:
    """Critical value c of simultaneous 95 % intervals diff ± c·se over every comparison: the 95 %
    quantile of max |T| when each AUROC carries independent normal image-sampling error (comparisons
    sharing the zero-shot AUROC of a benchmark are correlated; max-T keeps that, Bonferroni would not)."""
    return _maxt(tuple(np.round(se_cells, 12)), tuple(zi), tuple(fi), draws)


def deficits(comp: pd.DataFrame, correction: str = "max-t") -> pd.DataFrame:
    """Part (b): ``benchmark, comparison, diff`` (zero-shot minus fine-tune AUROC: > 0 = the fine-tune
    detects worse), ``se`` (unpaired image sampling), ``crit`` (max-T or 1.96), ``low, high``,
    ``p`` (one-sided z) and ``p_holm`` (``stats.adjust``, for reference)."""
    t, zi, fi = comparison_cells(comp)
    if t.empty:
        return t
    se_cells = comp.reset_index(drop=True)["se"].to_numpy(float)
    t["se"] = np.hypot(se_cells[zi], se_cells[fi])
    crit = maxt_critical(se_cells, zi, fi) if correction == "max-t" else _Z
    t["crit"] = crit
    t["low"], t["high"] = t["diff"] - crit * t["se"], t["diff"] + crit * t["se"]
    t["p"] = sps.norm.sf(t["diff"] / t["se"])
    t["p_holm"] = stats.adjust(t["p"].to_numpy(), "holm")
    return t
