"""Figures of section 04: COOD accuracy vs OOD AUROC by training source; NINCO scores and the C6 comparison."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from ... import style
from ...metrics import stats
from .c5 import C5_MARGIN
from .ninco import NINCO_BENCHMARK, NINCO_DISPLAY
from .sources import COOD_SOURCES, SOURCE_COLORS, SOURCE_LABELS, source_label

#: Caption of the COOD y-axis, drawn on the figure (COOD's OOD sets differ per model).
COOD_Y_CAPTION = ("y: COOD OOD AUROC, mean over 11 severity levels. Each model's OOD set is its own: COOD ranks "
                  "ImageNet-21k classes (none in ImageNet-1k) by that model's confidence and splits them into "
                  "levels, so a model's AUROC is not on a shared test set. Error bars: 95% interval of top-1 "
                  "(binomial, 50,000 images). Right: the C5 rule per training source, correlation with its 95% "
                  "Fisher-z interval over models, coloured by outcome (green supports, vermilion contradicts, blue "
                  "inconclusive, grey not judged); open markers: too few models for the rule to reach an outcome "
                  "80% of the time; only the [claim] source counts for the verdict.")


def plot_acc_vs_auroc(summary: pd.DataFrame, corr: pd.DataFrame, margin: float = C5_MARGIN) -> plt.Figure:
    """Left: ImageNet top-1 vs COOD OOD AUROC, one colour per training source; right: the C5 rule per
    source (:func:`.c5.source_table`): correlation with its 95 % interval, coloured by outcome,
    the claim's source marked, small sources hatched-grey labelled "too few to decide"."""
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
    _plot_rho_forest(fx, corr, margin)
    fig.text(0.01, 0.005, "\n".join(textwrap.wrap(COOD_Y_CAPTION, 150)), fontsize=7, va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def _plot_rho_forest(ax: plt.Axes, corr: pd.DataFrame, margin: float) -> None:
    c = corr.sort_values("rho").reset_index(drop=True)
    for i, r in c.iterrows():
        color = style.OUTCOME_COLORS[r["outcome"] if isinstance(r["outcome"], str) else "not computed"]
        ax.errorbar([r["rho"]], [i], xerr=[[r["rho"] - r["low"]], [r["high"] - r["rho"]]], fmt="o", color=color,
                    mfc=color if r["decisive"] else "white", ms=7 if r["kind"] == "claim" else 5)
    ax.axvline(margin, color="0.3", ls="--", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_yticks(range(len(c)), [_forest_label(r) for r in c.itertuples()], fontsize=7)
    ax.set(xlim=(-1.05, 1.05), xlabel="correlation, top-1 vs OOD AUROC (95% interval)", ylabel="training source",
           title=f"C5 rule per source (dashed: margin {margin:g}; open: too few models to decide)")


def _forest_label(r) -> str:
    name = source_label(r.source) if not r.source.startswith("NINCO") else "NINCO fixed OOD (IN classifiers)"
    tag = {"claim": " [claim]", "not one source": " [mix: not judged]"}.get(r.kind, "")
    return f"{name} (n={r.n}){tag}"


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
