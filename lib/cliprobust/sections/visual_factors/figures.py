"""Notebook 02, figures (plot only): factor accuracy and error ratio, factor ER with C1 intervals, the
Tu-style per-factor scatter. Each CLIP row has one style in every figure."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import special

from ... import scales, style
from ...metrics import factors as F
from .tables import CLIP_ROWS, MVH_CLIP, PAPER_FACTORS, SCATTER_GROUPS

#: Zoo id of each CLIP row's weights: the row is drawn with that model's :func:`style.model_style`
#: (colour = pre-training source, marker = architecture family), the same in every figure.
CLIP_ZOO_IDS: dict[str, str] = {
    CLIP_ROWS["vit-b-32"].model: "open_clip:ViT-B-32/openai", CLIP_ROWS["rn50"].model: "open_clip:RN50/openai",
    MVH_CLIP: "open_clip:ViT-B-16/openai",
}
#: style.model_style gives ViT-B/32 and ViT-B/16 (OpenAI) the same colour and marker (same source,
#: same family); within this section's figures ViT-B/16 gets this marker so the two stay apart.
VIT_B_16_MARKER = "p"


def _style(model: str) -> dict[str, str]:
    """Colour, marker and display label of a CLIP row (the same in every figure of this section)."""
    st = dict(style.model_style(CLIP_ZOO_IDS.get(model, model)))
    if model == MVH_CLIP:
        st["marker"] = VIT_B_16_MARKER
    row = next((r for r in CLIP_ROWS.values() if r.model == model), None)
    st["label"] = f"CLIP {st['label']}" if row else st["label"]
    return st


def _factor_names() -> list[str]:
    return [style.display(f) for f in F.PAPER_FACTORS]


def plot_factor_accuracy(ratio: pd.DataFrame, baseline: Sequence[str],
                         models: Sequence[str] = (CLIP_ROWS["vit-b-32"].model, CLIP_ROWS["rn50"].model, MVH_CLIP)
                         ) -> plt.Figure:
    """Two panels over the 10 factors: accuracy and error ratio; baseline models as a box per factor,
    CLIP rows as markers (one style per model, shared with :func:`plot_factor_er`)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    factors = list(F.PAPER_FACTORS)
    base = ratio[ratio["model"].isin(baseline)]
    grey = style.BASELINE_GREY
    ratio_label = "error ratio (1 − factor acc) / (1 − overall acc)"
    for ax, col, xlabel in ((axes[0], "accuracy", "factor accuracy"), (axes[1], "error_ratio", ratio_label)):
        data = [base.loc[base["factor"] == f, col].to_numpy() for f in factors]
        ax.boxplot(data, positions=range(len(factors)), orientation="horizontal", widths=0.5,
                   patch_artist=True, boxprops={"facecolor": grey, "alpha": 0.6},
                   medianprops={"color": "0.3"}, flierprops={"markersize": 2})
        for model in models:
            rows = ratio[ratio["model"] == model].set_index("factor").reindex(factors)
            st = _style(model)
            ax.scatter(rows[col], range(len(factors)), marker=st["marker"], color=st["color"], zorder=3,
                       label=st["label"], s=36, edgecolor="k", linewidth=0.4)
        ax.set(xlabel=xlabel, yticks=range(len(factors)), yticklabels=_factor_names())
    axes[0].set_ylabel("ImageNet-X factor")
    axes[1].axvline(1, color="0.5", lw=0.8, ls="--")
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.03), ncol=len(labels), fontsize=8,
               frameon=False, title=f"boxes: {len(baseline)} ImageNet baseline models (testbed standard training)",
               title_fontsize=8)
    fig.suptitle("ImageNet-X factors: zero-shot CLIP vs ImageNet models (Tu et al. §4.1)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_factor_er(tests: pd.DataFrame, er: pd.DataFrame) -> plt.Figure:
    """Factor-level ER per CLIP row with its C1 interval (images + baseline models), dodged; the
    baseline models' own ER (5–95 %) shaded; 0 line."""
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    factors = list(F.PAPER_FACTORS)
    base = er[er["family"] == "STANDARD"].groupby("factor")["er"]
    lo, hi = base.quantile(0.05).reindex(factors), base.quantile(0.95).reindex(factors)
    ax.barh(range(len(factors)), hi - lo, left=lo, height=0.8, color=style.BASELINE_GREY, alpha=0.5,
            label="baseline models, 5–95 % of ER")
    models = list(dict.fromkeys(tests["model"]))
    for k, model in enumerate(models):
        rows = tests[tests["model"] == model].set_index("factor").reindex(factors)
        st = _style(model)
        y = np.arange(len(factors)) + (k - (len(models) - 1) / 2) * 0.22
        ax.errorbar(rows["er"], y, xerr=[rows["er"] - rows["low"], rows["high"] - rows["er"]], fmt=st["marker"],
                    color=st["color"], mec="k", mew=0.4, capsize=2, label=st["label"], ms=6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(yticks=range(len(factors)), yticklabels=_factor_names(), ylabel="ImageNet-X factor",
           xlabel="factor-level effective robustness (accuracy)")
    ax.set_xlim(min(lo.min(), tests["low"].min()) - 0.005, max(hi.max(), tests["high"].max()) + 0.005)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    ax.set_title("Factor-level ER of zero-shot CLIP, 95 % CI over images and baseline models\n"
                 "(line: testbed standard-training models, logit space)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_factor_scatter(scatter: pd.DataFrame, lines: pd.DataFrame) -> plt.Figure:
    """Tu-style per-factor panels: factor accuracy vs ImageNet-X overall accuracy (logit axes) for
    every testbed model coloured by testbed group, the CLIP rows marked, the baseline line per factor."""
    fig, axes = plt.subplots(2, 5, figsize=(16, 8), sharex=True, sharey=True, layout="constrained")
    groups = [*SCATTER_GROUPS, "other"]
    d_all = scatter[(scatter["imagenet_acc"] > 0.2) & (scatter["factor_acc"].between(0.01, 0.99))]
    xs = np.linspace(0.45, 0.9, 50)
    for ax, f in zip(axes.ravel(), PAPER_FACTORS):
        d = d_all[d_all["factor"] == f]
        for g in groups:
            s = d[d["group"] == g]
            if s.empty:
                continue
            ax.scatter(s["imagenet_acc"], s["factor_acc"], s=7, alpha=0.7, color=style.group_color(g),
                       label=f"{style.display(g)} ({s['model'].nunique()})", rasterized=True)
        for model in CLIP_ZOO_IDS:
            s = d[d["model"] == model]
            st = _style(model)
            ax.scatter(s["imagenet_acc"], s["factor_acc"], s=42, marker=st["marker"], color=st["color"],
                       edgecolor="k", lw=0.5, zorder=4, label=st["label"])
        ln = lines.set_index("factor").loc[f]
        ax.plot(xs, special.expit(ln["slope"] * special.logit(xs) + ln["intercept"]), color="k", lw=1,
                label="standard-training line")
        scales.logit_axis(ax, "x", ticks=(0.3, 0.5, 0.7, 0.9), limits=(0.25, 0.9))
        scales.logit_axis(ax, "y", ticks=(0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9), limits=(0.03, 0.95))
        ax.set_title(style.display(f), fontsize=10)
    for ax in axes[1]:
        ax.set_xlabel("overall accuracy (logit axis)")
    for ax in axes[:, 0]:
        ax.set_ylabel("factor accuracy (logit axis)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=8, frameon=False, markerscale=1.5)
    fig.suptitle("ImageNet-X factor accuracy vs overall accuracy, imagenet-testbed models by group "
                 "(Tu et al. §4.1 form)")
    return fig

