"""The card's figures: the results row drawn into the papers' figures, highlighted beside the zoo.

- :func:`plot_er` -- Fang et al. Fig. 1 form: ImageNet top-1 vs accuracy under each shift on logit
  axes, the baseline models and their line, the zoo's zero-shot CLIPs, fine-tunes and ImageNet
  models, and the row as a large black-edged star (:data:`HIGHLIGHT`);
- :func:`plot_factors` -- factor-level ER per ImageNet-X factor (Tu et al. §4.1) with intervals;
- :func:`plot_shape_bias` -- the model-vs-human groups' shape bias and the row's;
- :func:`plot_auroc` -- ImageNet top-1 vs OOD AUROC (COOD, mean of 11 severities) of COOD's models
  and the row.
Panels are drawn only for the columns the row has; :func:`card_figures` says which were left out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import scales, style
from ..effective_robustness.options import ER_SHIFTS, MEAN_SHIFT, MEAN_SHIFT_4
from ..effective_robustness.options import Options as EROptions
from ..effective_robustness.tables import er_frame
from .er_card import zoo_members
from .schema import ModelRow

#: The row's look in every panel: a star in a colour no zoo group uses, black edge, drawn on top.
HIGHLIGHT: dict[str, object] = {"marker": "*", "s": 260, "color": style.OKABE_ITO["bluish green"],
                                "edgecolor": "black", "linewidth": 0.9, "zorder": 10}
#: Zoo layers of the ER panels: (group, ER-table rows, label), drawn in this order.
ZOO_LAYERS: tuple[str, ...] = ("imagenet", "clip-ft", "clip-zeroshot")
#: The zoo's ImageNet models share the baseline's grey in the style; here they need their own look.
ZOO_LOOK: dict[str, dict[str, str]] = {"imagenet": {"color": "0.45", "marker": "s"}}
SHIFT_TITLES: dict[str, str] = {"imagenet-v2": "ImageNet-V2", "imagenet-r": "ImageNet-R",
                                "imagenet-sketch": "ImageNet-Sketch", "objectnet": "ObjectNet",
                                "imagenet-a": "ImageNet-A", MEAN_SHIFT: "mean of 5 shifts",
                                MEAN_SHIFT_4: "mean of 4 shifts (no ObjectNet)"}


def _er_panel(ax: plt.Axes, frame: pd.DataFrame, card_row: pd.Series, row: ModelRow, shift: str) -> None:
    rows = frame[frame["shift"] == shift]
    base = rows[rows["in_baseline"]].sort_values("id_acc")
    ax.scatter(base["id_acc"], base["ood_acc"], s=12, color=style.BASELINE_GREY, label="baseline (ImageNet models)")
    ax.plot(base["id_acc"], base["predicted"], color="0.3", lw=1.0, label="baseline line")
    for group in ZOO_LAYERS:
        zoo = rows[rows["model"].isin(zoo_members()[group])]
        ax.scatter(zoo["id_acc"], zoo["ood_acc"], s=14, alpha=0.8, label=f"zoo {style.group_label(group)} (n={len(zoo)})",
                   **ZOO_LOOK.get(group, {"color": style.group_color(group)}))
    ax.scatter([card_row["id_acc"]], [card_row["ood_acc"]], label=row.name, **HIGHLIGHT)
    ax.annotate(f"ER {card_row['er']:+.3f}", (card_row["id_acc"], card_row["ood_acc"]), xytext=(6, -12),
                textcoords="offset points", fontsize=8)
    scales.logit_axis(ax, "x")
    scales.logit_axis(ax, "y")
    ax.set_title(SHIFT_TITLES.get(shift, shift), fontsize=10)


def plot_er(row: ModelRow, card: pd.DataFrame, opts: EROptions = EROptions()) -> plt.Figure:
    """Fang et al. Fig. 1 form, one panel per shift the row has (and the mean shift)."""
    frame = er_frame(opts)
    shifts = [s for s in ER_SHIFTS if s in set(card["shift"]) and s != MEAN_SHIFT_4]
    cols = 3
    nrows = int(np.ceil(len(shifts) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.8 * nrows), layout="constrained", squeeze=False)
    by_shift = card.set_index("shift")
    for ax, shift in zip(axes.ravel(), shifts):
        _er_panel(ax, frame, by_shift.loc[shift], row, shift)
    for ax in axes.ravel()[len(shifts):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    fig.supxlabel("ImageNet top-1 (logit axis)")
    fig.supylabel("accuracy under the shift (logit axis)")
    fig.suptitle(f"{row.name}: effective robustness against the {opts.baseline} line", fontsize=11)
    return fig


def plot_factors(row: ModelRow, factor_er: pd.DataFrame, zoo_clips: pd.DataFrame) -> plt.Figure:
    """Factor-level ER per factor: the row (star, interval) beside the ImageNet-X CLIP rows (dots).
    ``factor_er``: the row's ``factor, er, ci_low, ci_high``; ``zoo_clips``: ``model, factor, er``."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8), layout="constrained")
    factors = list(factor_er["factor"])
    pos = {f: i for i, f in enumerate(factors)}
    for _, g in zoo_clips.groupby("model"):
        ax.scatter(g["factor"].map(pos), g["er"], s=22, color=style.group_color("clip-zeroshot"), alpha=0.6)
    ax.errorbar(range(len(factors)), factor_er["er"], yerr=[factor_er["er"] - factor_er["ci_low"],
                factor_er["ci_high"] - factor_er["er"]], fmt="none", color="black", lw=0.8)
    ax.scatter(range(len(factors)), factor_er["er"], label=row.name, **{**HIGHLIGHT, "s": 160})
    ax.scatter([], [], s=22, color=style.group_color("clip-zeroshot"), label="ImageNet-X CLIP rows")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(factors)), [f.replace("_", " ") for f in factors], rotation=30, ha="right")
    ax.set(ylabel="factor ER (accuracy units)", title=f"{row.name}: factor-level ER on ImageNet-X (Tu et al. §4.1)")
    ax.legend(fontsize=8, loc="best")
    return fig


def plot_shape_bias(row: ModelRow, groups: pd.DataFrame) -> plt.Figure:
    """Shape bias of model-vs-human's groups (``group, shape_bias, ci_low, ci_high``) and the row."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
    y = np.arange(len(groups))
    ax.errorbar(groups["shape_bias"], y, xerr=[groups["shape_bias"] - groups["ci_low"],
                groups["ci_high"] - groups["shape_bias"]], fmt="o", color="0.35", capsize=2)
    ax.scatter([row.shape_bias], [len(groups)], label=row.name, **HIGHLIGHT)
    ax.set_yticks([*y, len(groups)], [*map(style.group_label, groups["group"]), row.name])
    ax.set(xlim=(0, 1), xlabel="shape bias (cue-conflict, fraction of shape decisions)",
           title=f"{row.name}: shape bias beside model-vs-human's groups")
    return fig


def plot_auroc(row: ModelRow, cood: pd.DataFrame) -> plt.Figure:
    """ImageNet top-1 vs COOD OOD AUROC of COOD's models (``id_top1, ood_auroc, source``) and the row."""
    fig, ax = plt.subplots(figsize=(6.2, 4.2), layout="constrained")
    clip = cood["name"].str.startswith("CLIP")
    ax.scatter(cood.loc[~clip, "id_top1"], cood.loc[~clip, "ood_auroc"], s=8, color=style.BASELINE_GREY,
               label=f"COOD ImageNet models (n={int((~clip).sum())})")
    ax.scatter(cood.loc[clip, "id_top1"], cood.loc[clip, "ood_auroc"], s=20, color=style.group_color("clip-zeroshot"),
               label=f"COOD zero-shot CLIPs (n={int(clip.sum())})")
    ax.scatter([row.accuracy["imagenet"]], [row.auroc["cood"]], label=row.name, **HIGHLIGHT)
    ax.set(xlabel="ImageNet top-1", ylabel="OOD AUROC (COOD, softmax, mean of 11 severities)",
           title=f"{row.name}: accuracy vs OOD detection")
    ax.legend(fontsize=8, loc="lower right")
    return fig
