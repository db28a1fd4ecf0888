"""Figures of section 07: activation profiles, published ER per group, outlier features vs ER."""

from __future__ import annotations

import textwrap
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import style, zoo
from ...metrics import features as F


def plot_activation_profiles(profiles: Mapping[str, np.ndarray], title: str,
                             threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> plt.Figure:
    """Sorted activation ratios (dimension rank vs mean |activation| / median) per model, log-log, with
    the outlier threshold. Zoo models are drawn in their group's colour, one legend entry per group;
    other profiles (the synthetic check) get a colour and an entry each."""
    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    fallback = iter([style.OKABE_ITO["blue"], style.OKABE_ITO["vermillion"], style.OKABE_ITO["bluish green"],
                     style.OKABE_ITO["orange"], style.OKABE_ITO["reddish purple"]])
    seen: set[str] = set()
    for name, ratio in profiles.items():
        x = np.arange(1, ratio.size + 1)
        if name in zoo.REGISTRY:
            group = zoo.get(name).group
            label = style.group_label(group) if group not in seen else "_nolegend_"
            seen.add(group)
            ax.plot(x, ratio, lw=1, alpha=0.7, color=style.group_color(group), label=label)
        else:
            ax.plot(x, ratio, lw=1.6, color=next(fallback), label=name)
    ax.axhline(threshold, color="black", ls="--", lw=0.8, label=f"outlier threshold ({threshold:g}x median)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="dimension rank (by mean |activation|)", ylabel="mean |activation| / median dimension",
           title=title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_published_er(er: pd.DataFrame) -> plt.Figure:
    """Published ER (mean of V2, R, Sketch, A) per model group: the robustness axis along which C14
    separates robust (zero-shot CLIP) from less robust models."""
    order = [g for g in ("imagenet", "imagenet-more-data", "clip-ft", "clip-zeroshot") if g in set(er["group"])]
    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    rng = np.random.default_rng(0)  # jitter only (drawing), not a statistic
    for i, g in enumerate(order):
        v = er.loc[er["group"] == g, "er"].to_numpy()
        ax.scatter(i + rng.uniform(-0.18, 0.18, v.size), 100 * v, s=12, alpha=0.8, color=style.group_color(g),
                   label=f"{style.group_label(g)} (n = {v.size})")
        ax.plot([i - 0.3, i + 0.3], [100 * np.median(v)] * 2, color="black", lw=1.5)
    ax.axhline(0, color=style.BASELINE_GREY, lw=1)
    ax.set_xticks(range(len(order)), ["\n".join(textwrap.wrap(style.group_label(g), 14)) for g in order])
    ax.set(xlabel="model group (black bar: median)", ylabel="effective robustness (pp)",
           title="Published effective robustness per group (mean of 4 shifts, testbed baseline)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_outliers_vs_er(table: pd.DataFrame) -> plt.Figure:
    """Max activation ratio (log) vs published ER per cached model, coloured by group."""
    known = table.dropna(subset=["er"])
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    for g, rows in known.groupby("group"):
        ax.scatter(100 * rows["er"], rows["max_activation_ratio"], s=18, color=style.group_color(g),
                   label=style.group_label(g))
    ax.axhline(F.OUTLIER_RATIO_THRESHOLD, color="black", ls="--", lw=0.8, label="outlier threshold")
    ax.set_yscale("log")
    ax.set(xlabel="published effective robustness (pp)", ylabel="max mean |activation| / median dimension",
           title="Outlier features vs effective robustness")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
