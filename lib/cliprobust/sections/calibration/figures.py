"""Figures of section 05 (plot only): reliability diagrams, uncertainty-baselines, ECE vs accuracy, confidence gap."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import pandas as pd

from ... import scales, style
from ..ood_detection.sources import SOURCE_COLORS, SOURCE_LABELS
from .c7 import IMAGENET_VAL_N
from .tables import UB_TEST_SETS

# --------------------------------------------------------------------------- figures

#: Colour/marker per uncertainty-baselines test set (4 categorical sets: never joined by lines).
UB_SET_STYLE: dict[str, tuple[str, str]] = {
    "imagenet": (style.OKABE_ITO["black"], "o"), "imagenet-v2": (style.OKABE_ITO["blue"], "s"),
    "imagenet-c": (style.OKABE_ITO["bluish green"], "D"), "imagenet-a": (style.OKABE_ITO["vermillion"], "^"),
}


def plot_reliability(rel: pd.DataFrame, panel: str = "model", titles: Mapping[str, str] | None = None) -> plt.Figure:
    """One reliability diagram per value of ``panel`` (top: accuracy per confidence bin, the gap to
    the bin's mean confidence hatched, the diagonal) with the number of images per bin below it."""
    keys = list(dict.fromkeys(rel[panel]))
    fig, axes = plt.subplots(2, len(keys), figsize=(3.3 * len(keys), 4.8), sharex=True, sharey="row", squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.2]})
    for j, key in enumerate(keys):
        ax, cx = axes[0][j], axes[1][j]
        r = rel[rel[panel] == key]
        width = (r["upper"] - r["lower"]).to_numpy()
        mid = ((r["upper"] + r["lower"]) / 2).to_numpy()
        acc = r["accuracy"].fillna(0).to_numpy()
        ax.bar(mid, acc, width=width, color=style.OKABE_ITO["blue"], edgecolor="w", label="accuracy in bin")
        ax.bar(mid, (r["confidence"] - r["accuracy"]).fillna(0), bottom=acc, width=width, color="none",
               edgecolor=style.OKABE_ITO["vermillion"], hatch="///", linewidth=0.6, label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], color="0.2", ls="--", lw=0.8, label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), title=(titles or {}).get(key, style.display(key)))
        ax.title.set_fontsize(8)
        cx.bar(mid, r["count"].clip(lower=0.5), width=width, color="0.55", edgecolor="w")
        cx.set_yscale("log")
        # decades only: on the short count axes, labelled minor ticks (6x10^0 under 10^1) overlap
        cx.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=4))
        cx.yaxis.set_minor_formatter(ticker.NullFormatter())
        cx.set_xlabel("confidence (max softmax)")
        if j == 0:
            ax.set_ylabel("accuracy")
            cx.set_ylabel("images per bin")
            ax.legend(fontsize=6.5, loc="upper left")
    fig.suptitle("Reliability diagrams (15 equal-width bins) with the number of images per bin", fontsize=10)
    fig.tight_layout()
    return fig


def plot_uncertainty_baselines(ub: pd.DataFrame) -> plt.Figure:
    """ECE and NLL of the uncertainty-baselines ResNet-50 methods (rows), one marker per test set
    (categorical: no lines between sets); suspect values left out; NLL on a log axis."""
    d = ub[(ub["arch"] == "ResNet-50") & ~ub["suspect"]].copy()
    methods = sorted(d["method"].unique(), key=lambda m: (m != "Deterministic", m))
    y = {m: i for i, m in enumerate(methods)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.2), sharey=True)
    for ax, metric in zip(axes, ("ece", "nll")):
        for k, t in enumerate(UB_TEST_SETS):
            g = d[(d["test_set"] == t)].dropna(subset=[metric])
            color, marker = UB_SET_STYLE[t]
            ax.scatter(g[metric], g["method"].map(y) + (k - 1.5) * 0.12, color=color, marker=marker, s=22,
                       label=style.display(t))
        ax.set_yticks(range(len(methods)), methods, fontsize=7)
        ax.invert_yaxis()
        ax.set(xlabel=f"{metric.upper()} (before temperature scaling)", title=f"ResNet-50: {metric.upper()} per method")
    scales.log_axis(axes[1], "x")
    axes[0].set_ylabel("training / uncertainty method")
    axes[0].legend(fontsize=7, loc="lower right", title="test set", title_fontsize=7)
    fig.suptitle("uncertainty-baselines: calibration of 17 ResNet-50 methods on ImageNet and three shifts", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ece_vs_accuracy(ub: pd.DataFrame, ix: pd.DataFrame, gaps: pd.DataFrame | None = None) -> plt.Figure:
    """ECE vs top-1, one panel per test set: uncertainty-baselines models (ResNet-50 methods,
    EfficientNets); on ImageNet val also the ImageNet-X models' ECE and the zero-shot CLIPs'
    confidence gap |conf - acc| from COOD (a lower bound on their ECE, with image-sampling intervals)."""
    d = ub[~ub["suspect"]].dropna(subset=["ece", "top1"])
    fig, axes = plt.subplots(1, len(UB_TEST_SETS), figsize=(14, 4.4), squeeze=False, sharey=True)
    for ax, t in zip(axes[0], UB_TEST_SETS):
        g = d[d["test_set"] == t]
        for arch, marker, color in (("ResNet-50", "o", style.OKABE_ITO["blue"]),
                                    ("EfficientNet", "s", style.TOL_MUTED["olive"])):
            a = g[g["arch"].str.startswith(arch)]
            if len(a):
                ax.scatter(a["top1"], a["ece"], marker=marker, color=color, s=18,
                           label=f"{arch} (uncertainty-baselines, n={len(a)})")
        if t == "imagenet":
            ax.scatter(ix["accuracy"], ix["ece"], marker="D", color=style.OKABE_ITO["black"], s=22,
                       label="ImageNet-X models (ECE, n=4)")
            if gaps is not None:
                c = gaps[(gaps["family"] == "clip-zeroshot") & ~gaps["broken"]]
                se = np.sqrt(2 * c["id_top1"] * (1 - c["id_top1"]) / IMAGENET_VAL_N) * 1.96
                ax.errorbar(c["id_top1"], c["abs_gap"], yerr=se, fmt="^", color=style.group_color("clip-zeroshot"),
                            ms=5, label=f"zero-shot CLIP |conf - acc| <= ECE (COOD, n={len(c)})")
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax.set(xlabel="top-1 accuracy", title=style.display(t))
    axes[0][0].set_ylabel("ECE (15 bins, before temperature scaling)")
    fig.suptitle("Calibration error vs accuracy per test set (ImageNet models; CLIP: lower bound, ImageNet val only)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_confidence_gap(gaps: pd.DataFrame, table: pd.DataFrame | None = None) -> plt.Figure:
    """ImageNet val: mean max-softmax confidence minus top-1 vs top-1 for every non-broken COOD
    model (> 0: over-confident); zero-shot CLIPs with 95 % image-sampling intervals."""
    ok = gaps[~gaps["broken"]]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for src in ("imagenet-1k", "imagenet+extra", "imagenet-unlisted"):
        g = ok[ok["source"] == src]
        ax.scatter(g["id_top1"], g["gap"], s=7, alpha=0.55, color=SOURCE_COLORS[src],
                   label=f"{SOURCE_LABELS[src]} (n={len(g)})")
    c = ok[ok["family"] == "clip-zeroshot"]
    se = 1.96 * np.sqrt((c["id_top1"] * (1 - c["id_top1"]) + c["mean_confidence"] * (1 - c["mean_confidence"]))
                        / IMAGENET_VAL_N)
    ax.errorbar(c["id_top1"], c["gap"], yerr=se, fmt="^", ms=6, color=style.group_color("clip-zeroshot"),
                mec="k", mew=0.4, label=f"{SOURCE_LABELS['clip-zeroshot']} (n={len(c)})", zorder=3)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set(xlabel="ImageNet-1k top-1 accuracy", ylabel="mean confidence - accuracy (ImageNet val)",
           title="COOD: confidence gap on ImageNet val (|gap| is a lower bound on ECE)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
