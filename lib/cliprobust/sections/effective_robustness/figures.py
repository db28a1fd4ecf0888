"""Figures of notebook 01 (effective robustness), drawn in the papers' own forms.

- :func:`plot_er_scatter` -- Fang et al. (2022) Fig. 1: each shift's accuracy against ImageNet
  accuracy on logit axes, the baseline line with its bootstrap band, zero-shot CLIP (the zoo's
  rule) coloured by pre-training distribution, other image-text families (SigLIP, CoCa, EVA, ...)
  as hollow markers of their own shape.
- :func:`plot_er_by_data_source` -- headline ER per pre-training source (box + points).
- :func:`plot_er_scaling` -- the LAION scaling-laws checkpoints: ER vs samples seen, and each
  LAION size's own logit line against the baseline's (claim C11's question).
- :func:`plot_finetune_pairs` -- zero-shot vs fine-tuned ER of each weight set (claim C12).

Plotting only: every number comes from :mod:`.tables`, :mod:`.sources` and :mod:`.pairing`; colours, markers and names from
:mod:`cliprobust.style`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ... import scales, style
from ...metrics import robustness, stats
from .options import (
    BASELINE_MORE_DATA, BASELINE_TESTBED, BASELINE_TIMM, MEAN_SHIFT, MEAN_SHIFT_4, MODEL_SET_ALL, MODEL_SET_ZOO,
    NEAR_CHANCE,
)
from .pairing import finetune_pairs
from .sources import SCALING_SIZE_ORDER, data_study_set
from .tables import clip_members, er_frame

#: Baseline points and line: the style's reserved baseline grey (never a pre-training source).
BASELINE_COLOR = style.BASELINE_GREY
BASELINE_LINE = "0.25"
#: Legend names of the baseline sets.
BASELINE_NAMES: dict[str, str] = {BASELINE_TESTBED: "testbed STANDARD",
                                  BASELINE_MORE_DATA: "testbed STANDARD + MORE_DATA", BASELINE_TIMM: "timm ImageNet-1k"}
#: Markers of the open_clip rows outside the zoo's CLIP rule: the style's family markers, plus two
#: this figure needs apart (CLIP towers on other data; RoBERTa/NLLB text towers).
OTHER_FAMILY_MARKERS: dict[str, str] = {"CLIP": style.ARCH_MARKERS["other"], "other text tower": "v"}


def baseline_band(frame: pd.DataFrame, shift: str, grid: np.ndarray) -> pd.DataFrame:
    """The baseline line on ``grid`` (ID accuracies) with its 95 % band from resampling baseline
    models (``robustness.bootstrap_lines``, the draws of :func:`er_frame`'s intervals)."""
    rows = frame[(frame["shift"] == shift) & frame["in_baseline"]]
    rows = rows[(rows["id_acc"] > 0) & (rows["id_acc"] < 1) & (rows["ood_acc"] > 0) & (rows["ood_acc"] < 1)]
    fit = robustness.fit_baseline(rows["id_acc"], rows["ood_acc"])
    slopes, icpts = robustness.bootstrap_lines(rows["id_acc"], rows["ood_acc"])
    curves = robustness.LOGIT.inverse(slopes[:, None] * robustness.LOGIT(grid)[None, :] + icpts[:, None])
    low, high = stats.percentile_interval(curves)
    return pd.DataFrame({"id_acc": grid, "predicted": fit.predict(grid), "low": low, "high": high})


def _shift_label(shift: str) -> str:
    if shift == MEAN_SHIFT:
        return "mean over shifts"
    if shift == MEAN_SHIFT_4:
        return "mean over 4 shifts"
    return style.display(shift)


def _scatter_panel(ax: plt.Axes, frame: pd.DataFrame, shift: str, zoo: set[str], others: set[str]) -> None:
    rows = frame[frame["shift"] == shift]
    base = rows[rows["in_baseline"]]
    ax.scatter(base["id_acc"], base["ood_acc"], s=10, color=BASELINE_COLOR, edgecolor="none",
               label=f"ImageNet models ({BASELINE_NAMES[base['baseline'].iloc[0]]}, the baseline)")
    clip = rows[rows["model"].isin(zoo)].assign(key=lambda d: d["pretrain_data"].map(style.source_key))
    for key, g in clip.groupby("key", sort=True):
        ax.scatter(g["id_acc"], g["ood_acc"], s=18, color=style.SOURCE_COLORS[key], edgecolor="none",
                   marker="o", label=f"CLIP · {style.display(key)}")
    other = rows[rows["model"].isin(others)]
    for family, g in other.groupby("arch_family", sort=True):
        marker = OTHER_FAMILY_MARKERS.get(family) or style.arch_marker(family)
        ax.scatter(g["id_acc"], g["ood_acc"], s=22, marker=marker, facecolor="none", linewidths=0.8,
                   edgecolor=[style.source_color(d) for d in g["pretrain_data"]],
                   label=f"{family if family != 'CLIP' else 'CLIP, other data'} (not the zoo's CLIP rule)")
    grid = np.linspace(0.2, 0.92, 200)
    band = baseline_band(frame, shift, grid)
    ax.plot(grid, band["predicted"], color=BASELINE_LINE, lw=1, label="baseline fit (95 % band)")
    ax.fill_between(grid, band["low"], band["high"], color=BASELINE_LINE, alpha=0.2, lw=0)
    ax.plot(grid, grid, color="0.5", ls=":", lw=0.8, label="y = x")
    scales.logit_axis(ax, "x", limits=(0.2, 0.92))
    y = rows["ood_acc"][(rows["ood_acc"] > 0) & (rows["model"].isin(zoo | others) | rows["in_baseline"])]
    scales.logit_axis(ax, "y", limits=(max(0.003, 0.7 * y.min()), min(0.97, 1 - 0.7 * (1 - y.max()))))
    ax.set(xlabel="ImageNet top-1", ylabel=f"{_shift_label(shift)} top-1", title=_shift_label(shift))


def plot_er_scatter(frame: pd.DataFrame | None = None, model_set: str = MODEL_SET_ZOO) -> plt.Figure:
    """Fang et al. Fig. 1 form: the protocol's shifts + the mean over them, logit axes."""
    frame = er_frame() if frame is None else frame
    zoo = set(clip_members(frame, model_set))
    others = set(clip_members(frame, MODEL_SET_ALL)) - zoo
    shifts = [s for s in frame["shift"].unique() if s not in (MEAN_SHIFT, MEAN_SHIFT_4)] + [MEAN_SHIFT]
    ncols = 3
    nrows = int(np.ceil(len(shifts) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 4.1 * nrows + 1.6), layout="constrained", squeeze=False)
    for ax, shift in zip(axes.flat, shifts):
        _scatter_panel(ax, frame, shift, zoo, others)
    for ax in axes.flat[len(shifts):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles = [_legend_handle(h) for h in handles]
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False, fontsize=8)
    fig.suptitle(f"Shift accuracy vs ImageNet accuracy (logit axes): zero-shot CLIP by pre-training data, "
                 f"open_clip rows >= {NEAR_CHANCE:.0%} top-1", fontsize=12)
    return fig


def _legend_handle(handle):
    """Hollow markers with per-point edge colours get a neutral dark edge in the legend."""
    if hasattr(handle, "get_facecolor") and len(handle.get_facecolor()) == 0 and len(handle.get_edgecolor()) > 1:
        path = handle.get_paths()[0]
        return Line2D([], [], ls="none", marker=path, markerfacecolor="none", markeredgecolor="0.2", markersize=6)
    return handle


def plot_er_by_data_source(frame: pd.DataFrame | None = None) -> plt.Figure:
    """Headline ER by pre-training source (box + points), sources ordered by median ER; open_clip
    rows (CLIP architectures, >= 1B samples) and LAION scaling-laws checkpoints as two point styles."""
    study = data_study_set(frame).assign(label=lambda d: d["pretrain_data"].map(style.display))
    order = study.groupby("label")["er"].median().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(order) + 1.8), layout="constrained")
    ax.boxplot([study.loc[study["label"] == k, "er"] for k in order], orientation="horizontal", widths=0.6,
               showfliers=False, positions=np.arange(len(order)), medianprops={"color": "0.2"},
               boxprops={"color": "0.6"}, whiskerprops={"color": "0.6"}, capprops={"color": "0.6"})
    pos = {k: i for i, k in enumerate(order)}
    jitter = (np.arange(len(study)) % 5 - 2) * 0.07  # deterministic vertical spread (display only)
    for table, colour, marker in (("open_clip", style.group_color("clip-zeroshot"), "o"),
                                  ("scaling", style.OKABE_ITO["blue"], "s")):
        g = study["source"] == table
        ax.scatter(study.loc[g, "er"], study.loc[g, "label"].map(pos) + jitter[g.to_numpy()], s=14, color=colour,
                   marker=marker, label="open_clip table" if table == "open_clip" else "LAION scaling-laws table")
    ax.set_yticks(np.arange(len(order)), list(order))
    ax.invert_yaxis()
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="effective robustness (mean over shifts, testbed baseline)", ylabel="pre-training data",
           title="Effective robustness by pre-training data")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return fig


SCALING_MARKERS: dict[str, str] = dict(zip(SCALING_SIZE_ORDER, "osD^P"))


def _arch_label(arch: str) -> str:
    return style.display(f"open_clip:{arch}/x").removesuffix(" (x)")


def _scaling_er_panel(ax: plt.Axes, sl: pd.DataFrame) -> None:
    """ER vs samples seen, one line per (data, architecture)."""
    for (data, arch), g in sl.sort_values("samples_seen").groupby(["pretrain_data", "arch"]):
        ax.plot(g["samples_seen"], g["er"], color=style.source_color(data), marker=SCALING_MARKERS[arch], ms=6,
                lw=1, ls="none" if data == "WIT-400M" else "-")
    for data in ("LAION-80M", "LAION-400M", "LAION-2B", "WIT-400M"):
        ax.plot([], [], color=style.source_color(data), lw=3, label=style.display(data))
    for arch, m in SCALING_MARKERS.items():
        ax.plot([], [], color="0.3", marker=m, ls="none", label=_arch_label(arch))
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="samples seen", ylabel="effective robustness (mean over shifts)",
           title="ER vs samples seen (LAION scaling laws)")
    scales.log_axis(ax, "x", ticks=[3e9, 1e10, 3e10])
    ax.legend(fontsize=7, ncol=2, loc="lower right", frameon=True)


def _scaling_line_panel(ax: plt.Axes, frame: pd.DataFrame, sl: pd.DataFrame) -> None:
    """Mean OOD vs ImageNet accuracy on logit axes: each LAION size's own line and the baseline."""
    grid = np.linspace(0.3, 0.9, 100)
    base = frame[(frame["shift"] == MEAN_SHIFT) & frame["in_baseline"]]
    ax.scatter(base["id_acc"], base["ood_acc"], s=8, color=BASELINE_COLOR, label="ImageNet models (baseline)")
    ax.plot(grid, robustness.fit_baseline(base["id_acc"], base["ood_acc"]).predict(grid), color=BASELINE_LINE, lw=1,
            label="baseline fit")
    for data, g in sl.groupby("pretrain_data"):
        ax.scatter(g["id_acc"], g["ood_acc"], s=18, color=style.source_color(data), label=style.display(data))
        if data != "WIT-400M":
            ax.plot(grid, robustness.fit_baseline(g["id_acc"], g["ood_acc"]).predict(grid),
                    color=style.source_color(data), lw=1)
    scales.logit_axis(ax, "x", limits=(0.45, 0.9))
    scales.logit_axis(ax, "y", limits=(0.15, 0.8))
    ax.set(xlabel="ImageNet top-1", ylabel="mean top-1 over shifts", title="Each LAION size's own logit line")
    ax.legend(fontsize=7, loc="upper left", frameon=True)


def plot_er_scaling(frame: pd.DataFrame | None = None) -> plt.Figure:
    """LAION scaling-laws models: headline ER vs samples seen coloured by LAION size (OpenAI WIT
    models, 12.8B samples, as references), and each size's own logit line vs the baseline's."""
    frame = er_frame() if frame is None else frame
    sl = frame[(frame["shift"] == MEAN_SHIFT) & (frame["source"] == "scaling")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    _scaling_er_panel(left, sl)
    _scaling_line_panel(right, frame, sl)
    fig.suptitle("Claim C11: does the size of one distribution move its line?", fontsize=12)
    return fig


def plot_finetune_pairs(frame: pd.DataFrame | None = None) -> plt.Figure:
    """Claim C12: ER (mean over V2/R/Sketch/A) of each zero-shot weight set and of its fine-tunes."""
    pairs = finetune_pairs(frame)
    p = pairs[pairs["shift"] == MEAN_SHIFT_4]
    order = p.groupby("zs_model")["er_zs"].first().sort_values().index
    pos = {m: i for i, m in enumerate(order)}
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(order) + 1.8), layout="constrained")
    for _, r in p.iterrows():
        ax.plot([r["er_zs"], r["er_ft"]], [pos[r["zs_model"]]] * 2, color="0.75", lw=1, zorder=1)
    ax.scatter(p.groupby("zs_model")["er_zs"].first()[order], np.arange(len(order)), s=40,
               color=style.group_color("clip-zeroshot"), label="zero-shot", zorder=2)
    ax.scatter(p["er_ft"], p["zs_model"].map(pos), s=28, marker="D", color=style.group_color("clip-ft"),
               label="fine-tuned on ImageNet", zorder=2)
    ax.set_yticks(np.arange(len(order)), [style.display(m) for m in order])
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="effective robustness (mean over 4 shifts, testbed baseline)", ylabel="zero-shot weights",
           title="Claim C12: fine-tuning on ImageNet and effective robustness")
    right = float(max(p["er_zs"].max(), p["er_ft"].max()))
    ax.set_xlim(min(0.0, float(p["er_ft"].min())) - 0.02, right + 0.3)  # free room on the right for the legend
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return fig
