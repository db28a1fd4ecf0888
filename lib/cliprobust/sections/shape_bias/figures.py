"""Figures of section 03 (plot only): shape bias per decision maker, per category, CLIP against each model."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ... import style
from ...metrics import shape_bias as S
from .trials import GROUPS, group_labels

#: Colour per group from the project's one palette (:func:`cliprobust.style.group_color`).
GROUP_COLORS: dict[str, str] = {g: style.group_color(g) for g in GROUPS}
GROUP_MARKERS: dict[str, str] = {"human": "D", "clip": "v", "supervised": "o", "self-supervised": "s",
                                 "stylized": "P", "clip-zeroshot": "v", "clip-ft": "^", "imagenet": "o",
                                 "smoke": "X"}


def group_color(group: str) -> str:
    """Colour of a published or cached group (``style.group_color``: the zoo groups of the cached
    part -- zero-shot CLIP, CLIP fine-tuned, ImageNet -- get their own colours, never one shared
    fallback)."""
    return GROUP_COLORS.get(group) or style.group_color(group)

#: C3 (Tu et al. §4.2, "CLIP is more shape-biased than other models"): the groups CLIP is compared


def plot_groups(table: pd.DataFrame) -> plt.Figure:
    """Shape bias with 95 % CI per decision maker, grouped; group pooled values as vertical bars
    labelled with the group's size (a one-model group is named as that model)."""
    members = table[table["level"] == "member"].reset_index(drop=True)
    labels = group_labels(table)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(members) + 1.8))
    for i, r in members.iterrows():
        c = group_color(r["group"])
        ax.errorbar(r["shape_bias"], i, xerr=[[r["shape_bias"] - r["ci_low"]], [r["ci_high"] - r["shape_bias"]]],
                    fmt=GROUP_MARKERS.get(r["group"], "o"), color=c, capsize=2, ms=5)
    for _, r in table[table["level"] == "group"].iterrows():
        ys = members.index[members["group"] == r["group"]]
        ax.plot([r["shape_bias"]] * 2, [ys.min() - 0.4, ys.max() + 0.4], color=group_color(r["group"]),
                lw=3, alpha=0.35, label=f"{labels.get(r['group'], r['group'])}: pooled {r['shape_bias']:.2f}")
    ax.set(yticks=members.index, yticklabels=members["label"], xlim=(0, 1), ylabel="decision maker",
           xlabel="shape bias = shape / (shape + texture) decisions")
    ax.axvline(0.5, color="0.6", lw=0.8, ls=":")
    ax.invert_yaxis()
    ax.set_title("Cue-conflict shape bias per decision maker (95 % CI, stimulus bootstrap)", fontsize=10)
    handles, leg = ax.get_legend_handles_labels()
    bottom = 0.8 / fig.get_figheight()  # keep 0.8 in below the axes for the legend
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.legend(handles, leg, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, bottom), ncol=2, frameon=False)
    return fig


def plot_per_category(per_cat: pd.DataFrame, overall: pd.DataFrame) -> plt.Figure:
    """model-vs-human style: categories as rows, fraction of shape decisions on x (texture on the top
    axis), one marker per group (pooled), group averages as vertical lines."""
    g = per_cat[per_cat["level"] == "group"]
    labels = group_labels(overall)
    cats = list(S.CATEGORIES_16)
    fig, ax = plt.subplots(figsize=(6.5, 7.5))
    for group, rows in g.groupby("group", sort=False):
        rows = rows.set_index("category").reindex(cats)
        c = group_color(group)
        ax.scatter(rows["shape_bias"], range(len(cats)), marker=GROUP_MARKERS.get(group, "o"), color=c,
                   s=40, alpha=0.85, label=labels.get(group, group), zorder=3)
        avg = overall.loc[(overall["level"] == "group") & (overall["group"] == group), "shape_bias"]
        if len(avg):
            ax.axvline(float(avg.iloc[0]), color=c, lw=1, alpha=0.6)
    ax.set(yticks=range(len(cats)), yticklabels=cats, xlim=(-0.02, 1.02), ylabel="shape category",
           xlabel="fraction of 'shape' decisions")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1 - x, lambda x: 1 - x))
    top.set_xlabel("fraction of 'texture' decisions")
    ax.invert_yaxis()
    ax.set_title("Shape bias per category, cue-conflict stimuli (model-vs-human style;\n"
                 "lines: each group's overall shape bias)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def plot_c3_comparisons(comp: pd.DataFrame, margin: float) -> plt.Figure:
    """CLIP − each compared model's shape bias with its paired-bootstrap 95 % CI (0 and ``margin``
    lines): the per-model view of C3 that the group intervals hide."""
    comp = comp.sort_values("diff").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(comp) + 1.6))
    sig = (comp["low"] > 0) & (comp["high"] >= margin)
    for i, r in comp.iterrows():
        ax.errorbar(r["diff"], i, xerr=[[r["diff"] - r["low"]], [r["high"] - r["diff"]]], fmt="o",
                    color=GROUP_COLORS["clip"] if sig[i] else style.BASELINE_GREY, capsize=2, ms=5)
    ax.axvline(0, color="k", lw=0.8)
    ax.axvline(margin, color="0.5", lw=0.8, ls="--")
    ax.set(yticks=range(len(comp)), yticklabels=comp["compared"], ylabel="compared model",
           xlabel="shape bias: CLIP ViT-B/16 − model (paired stimulus bootstrap, 95 % CI)")
    ax.set_title(f"C3 per model: CLIP ViT-B/16 minus each model\n(coloured: supports 'more shape-biased', "
                 f"margin {margin:g} dashed; grey: not)", fontsize=10)
    fig.tight_layout()
    return fig
