"""The claim figures: one claim's specification curve and the overview of every claim's verdict.

Drawn from :class:`~cliprobust.verdicts.Claim` alone (the plotting layer: above the verdict types,
below the sections); saved through :func:`cliprobust.plots.save_figure` like every figure. Variants
are coloured by their outcome (supports / contradicts / inconclusive), claims by their tier, with
the style's colours (:data:`cliprobust.style.OUTCOME_COLORS`, :data:`cliprobust.style.TIER_COLORS`).
Tick locators ask for few ticks and the statistic's own precision, so labels cannot collide
whatever the range of the values (a rehearsal's synthetic outputs included).
"""

from __future__ import annotations

import textwrap
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from . import style
from .verdicts import EQUIVALENT, LESS, NOT_WORSE, TIERS, Claim

#: Marker of the headline protocol in a specification curve.
HEADLINE_MARKER = "D"
#: Most major ticks on a statistic axis (few ticks: labels cannot collide on a narrow range).
MAX_TICKS = 4
NOT_COMPUTED = "not computed"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _outcome(outcome: str | None) -> str:
    return NOT_COMPUTED if outcome is None or (isinstance(outcome, float) and np.isnan(outcome)) else str(outcome)


def _few_ticks(axis) -> None:
    """At most :data:`MAX_TICKS` major ticks at 'nice' steps, no minor tick labels."""
    axis.set_major_locator(MaxNLocator(nbins=MAX_TICKS, steps=[1, 2, 2.5, 5, 10], min_n_ticks=2))


def _reference_lines(ax, claim: Claim) -> None:
    """Zero and the claim's margin (both signs for an equivalence rule) as thin vertical lines."""
    ax.axvline(0.0, color="0.55", lw=0.8, zorder=0)
    rule = claim.rule
    if rule is None or not rule.margin > 0:
        return
    signs = {EQUIVALENT: (-1, 1), LESS: (-1,), NOT_WORSE: (-1,)}.get(rule.kind, (1,))
    for s in signs:
        ax.axvline(s * rule.margin, color="0.35", lw=0.8, ls="--", zorder=0)


def _frame(claim: Claim) -> pd.DataFrame:
    frame = claim.variants_frame()
    if frame.empty:  # no multiverse: the headline alone
        frame = pd.DataFrame([{"name": "headline", "value": claim.value, "low": claim.low, "high": claim.high,
                               "outcome": claim.outcome, "headline": True}])
    return frame


def spec_curve(claim: Claim, ax=None) -> plt.Figure:
    """Specification curve of one claim (Simonsohn, Simmons & Nelson 2020): the statistic with its
    interval under every protocol, sorted by value, coloured by outcome, the headline marked, zero
    and the margin drawn. Protocols without a value are listed in the x label."""
    frame = _frame(claim)
    done = frame[np.isfinite(frame["value"].astype(float))].sort_values("value", kind="stable").reset_index(drop=True)
    missing = frame.loc[~np.isfinite(frame["value"].astype(float)), "name"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.28 * max(len(done), 1)), layout="constrained")
    else:
        fig = ax.figure
    for outcome, colour in style.OUTCOME_COLORS.items():
        rows = done[done["outcome"].map(_outcome) == outcome]
        if rows.empty:
            continue
        lo = (rows["value"] - rows["low"]).clip(lower=0).fillna(0)
        hi = (rows["high"] - rows["value"]).clip(lower=0).fillna(0)
        ax.errorbar(rows["value"], rows.index, xerr=[lo, hi], fmt="o", color=colour, ecolor=colour, capsize=2,
                    label=outcome)
    head = done[done["headline"].astype(bool)]
    if not head.empty:
        ax.scatter(head["value"], head.index, s=90, marker=HEADLINE_MARKER, facecolor="none", edgecolor="black",
                   linewidth=1.4, zorder=5, label="headline protocol")
    _reference_lines(ax, claim)
    _label_spec_axes(ax, claim, done, missing)
    return fig


def _label_spec_axes(ax, claim: Claim, done: pd.DataFrame, missing: pd.Series) -> None:
    ax.set_yticks(np.arange(len(done)), [_wrap(n, 40) for n in done["name"]])
    for lbl, is_head in zip(ax.get_yticklabels(), done["headline"].astype(bool)):
        lbl.set_fontweight("bold" if is_head else "normal")
    ax.set_ylim(-0.7, len(done) - 0.3)
    ax.set_ylabel("protocol (sorted)")
    _few_ticks(ax.xaxis)
    xlabel = _wrap(claim.statistic, 70)
    if np.isfinite(claim.margin):
        xlabel += f" (dashed: margin {claim.margin:g})"
    if len(missing):
        xlabel += "\n" + _wrap("not computed: " + ", ".join(missing), 90)
    ax.set_xlabel(xlabel)
    ax.set_title(f"{claim.id}: specification curve — {claim.tier}", loc="left", fontsize=11,
                 color=style.tier_color(claim.tier))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _overview_panel(ax, c: Claim) -> None:
    colour = style.tier_color(c.tier)
    ax.set_title(f"{c.id}: {c.tier}", loc="left", fontsize=10, color=colour, weight="bold")
    ax.set_yticks([])
    if not np.isfinite(c.value):
        ax.axis("off")
        ax.text(0.0, 0.75, _wrap("needs: " + (c.needs or c.evidence), 55), transform=ax.transAxes, fontsize=8,
                va="top", ha="left", color="0.25")
        return
    lo = c.value - c.low if np.isfinite(c.low) else 0.0
    hi = c.high - c.value if np.isfinite(c.high) else 0.0
    ax.errorbar([c.value], [0], xerr=[[max(lo, 0)], [max(hi, 0)]], fmt="o", color=colour, capsize=4, markersize=7)
    _reference_lines(ax, c)
    ax.set_ylim(-1, 1)
    n = c.counts()
    counts = f"variants: {n['supports']} support, {n['contradicts']} contradict, {n['inconclusive']} inconclusive"
    ax.set_xlabel(_wrap(c.statistic, 48) + "\n" + _wrap(counts, 55), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    _few_ticks(ax.xaxis)


def claims_overview(claims: Iterable[Claim], ncols: int = 3) -> plt.Figure:
    """Every claim in one figure: a panel per claim with its headline statistic, interval, zero and
    margin, coloured by tier, with its count of supporting / contradicting / inconclusive variants
    (or, for a claim not testable here, what it needs)."""
    claims = list(claims)
    nrows = max(1, int(np.ceil(len(claims) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 1.9 * nrows), layout="constrained",
                             squeeze=False)
    for ax, c in zip(axes.ravel(), claims):
        _overview_panel(ax, c)
    for ax in axes.ravel()[len(claims):]:
        ax.set_visible(False)
    handles = [Patch(color=style.tier_color(t), label=t) for t in TIERS]
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=9, title="tier")
    fig.suptitle("Claims: verdict tier, headline statistic with interval (dashed: margin)", fontsize=12)
    return fig
