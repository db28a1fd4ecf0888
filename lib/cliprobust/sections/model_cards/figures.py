"""Section 09, figures: the forest plot of the correlations and the scatter of property pairs."""

from __future__ import annotations

from typing import Iterable

import matplotlib.pyplot as plt
import pandas as pd

from ... import style
from .cards import TOP1_SOURCES
from .correlations import CONTROL, GROUP_ALL

#: Display names of the card properties (figures and printed tables).
PROPERTY_LABELS: dict[str, str] = {
    "imagenet_top1": "ImageNet top-1", "er:imagenet-v2": "ER ImageNet-V2", "er:imagenet-r": "ER ImageNet-R",
    "er:imagenet-sketch": "ER ImageNet-Sketch", "er:objectnet": "ER ObjectNet", "er:imagenet-a": "ER ImageNet-A",
    "er:mean-shift": "ER (mean of 5 shifts)", "er:mean-shift-4": "ER (mean of 4 shifts, no ObjectNet)",
    "factor_er:mean": "factor ER (ImageNet-X, mean of 10)", "imagenetx_accuracy": "ImageNet-X overall accuracy",
    "shape_bias": "shape bias (cue conflict)", "ood_auroc:cood": "OOD AUROC (COOD)",
    "ood_auroc:ninco": "OOD AUROC (NINCO)", "confidence_gap": "confidence − accuracy (ImageNet val)",
}

def pair_label(x: str, y: str, top1_source: str) -> str:
    """Display name of a compared pair; ImageNet top-1 names the source it is taken from (ImageNet-X's
    overall accuracy where the comparison's top-1 source is ImageNet-X)."""
    top = TOP1_SOURCES[top1_source][0] if top1_source in TOP1_SOURCES else CONTROL
    name = {p: PROPERTY_LABELS[p] for p in (x, y)}
    if CONTROL in name:
        name[CONTROL] = PROPERTY_LABELS[top] + (f" ({top1_source})" if top == CONTROL else "")
    return f"{name[x]} vs {name[y]}"


def _group_look(group: str) -> tuple[str, str]:
    if group == GROUP_ALL:
        return "all joined models", "black"
    return style.group_label(group), style.group_color(group)


def plot_correlations(corr: pd.DataFrame) -> plt.Figure:
    """Forest plot of the reported rank correlations (n >= :data:`.correlations.MIN_N_CORRELATION`): Spearman rho
    with its 95 % interval per property pair, one colour per model group."""
    shown = corr.dropna(subset=["rho"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + 0.3 * max(len(shown), 1)), layout="constrained")
    for g, rows in shown.groupby("group", sort=False):
        label, colour = _group_look(g)
        ax.errorbar(rows["rho"], rows.index, xerr=[rows["rho"] - rows["low"], rows["high"] - rows["rho"]],
                    fmt="o", color=colour, capsize=2, label=label)
    ax.axvline(0, color="0.6", lw=0.8)
    ticks = [f"{pair_label(r.x, r.y, r.top1_source)} (n={r.n})" for r in shown.itertuples()]
    ax.set_yticks(range(len(shown)), ticks, fontsize=7)
    ax.set(xlim=(-1.05, 1.05), ylim=(len(shown) - 0.5, -0.5), xlabel="Spearman rank correlation (95 % CI)",
           ylabel="property pair (models with both)",
           title="Do robustness properties move together across models?")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def plot_pairs(intervals: pd.DataFrame, pairs: Iterable[tuple[str, str]] = (
        ("er:mean-shift-4", "ood_auroc:cood"), ("er:mean-shift-4", "factor_er:mean"))) -> plt.Figure:
    """Scatter of two card properties per panel, one point per model with its intervals, coloured
    by model group (the data behind the correlations)."""
    pairs = list(pairs)
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.2), layout="constrained", squeeze=False)
    for ax, (x, y) in zip(axes.ravel(), pairs):
        both = intervals[intervals["property"].isin([x, y])].pivot(index=["key", "group"], columns="property",
                                                                       values=["value", "low", "high"])
        both = both.dropna(subset=[("value", x), ("value", y)]).reset_index()
        for g, rows in both.groupby("group", sort=False):
            label, colour = _group_look(g)
            err = {}
            for axis, p in (("xerr", x), ("yerr", y)):
                lo, hi = rows[("value", p)] - rows[("low", p)], rows[("high", p)] - rows[("value", p)]
                err[axis] = None if lo.isna().all() else [lo.fillna(0).clip(lower=0), hi.fillna(0).clip(lower=0)]
            ax.errorbar(rows[("value", x)], rows[("value", y)], fmt="o", ms=4, color=colour, alpha=0.8,
                        elinewidth=0.6, label=f"{label} (n={len(rows)})", **err)
        ax.set(xlabel=PROPERTY_LABELS[x], ylabel=PROPERTY_LABELS[y],
               title=f"{PROPERTY_LABELS[y]} vs {PROPERTY_LABELS[x]}")
        ax.title.set_fontsize(10)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Model cards: one point per model joined across published sources", fontsize=11)
    return fig
