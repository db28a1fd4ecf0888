"""The claim figures: one claim's specification curve and the overview of every claim's verdict.

Drawn from :class:`~cliprobust.verdicts.Claim` alone (the plotting layer above the verdict types,
below the sections); saved through :func:`cliprobust.plots.save_figure` like every figure.
"""

from __future__ import annotations

import textwrap
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from . import style
from .sections._base import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, TIERS, Claim

# --------------------------------------------------------------------------- claim figures

#: Marker of the headline protocol in a specification curve.
HEADLINE_MARKER = "D"
#: Colours of a variant's rule outcome: holds / fails / not computed.
OUTCOME_COLORS: dict[str, str] = {"rule holds": style.TIER_COLORS[REPRODUCED],
                                  "rule fails": style.TIER_COLORS[NOT_REPRODUCED],
                                  "not computed": style.TIER_COLORS[NOT_TESTABLE]}


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _outcome(holds: bool | None) -> str:
    return "not computed" if holds is None else ("rule holds" if holds else "rule fails")


def spec_curve(claim: Claim, ax=None) -> plt.Figure:
    """Specification curve of one claim (Simonsohn, Simmons & Nelson 2020): the headline statistic
    with its interval under every variant, sorted by value, coloured by the rule's outcome, the
    headline protocol marked. Variants without a value are listed in the x label."""
    frame = claim.variants_frame()
    if frame.empty:  # no multiverse: the headline alone
        frame = pd.DataFrame([{"name": "headline", "value": claim.value, "low": claim.low, "high": claim.high,
                               "holds": None if claim.tier == NOT_TESTABLE else claim.tier != NOT_REPRODUCED,
                               "headline": True}])
    done = frame[np.isfinite(frame["value"].astype(float))].sort_values("value").reset_index(drop=True)
    missing = frame.loc[~np.isfinite(frame["value"].astype(float)), "name"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.28 * max(len(done), 1)), layout="constrained")
    else:
        fig = ax.figure
    y = np.arange(len(done))
    for outcome, colour in OUTCOME_COLORS.items():
        rows = done[done["holds"].map(_outcome) == outcome]
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
    ax.set_yticks(y, [_wrap(n, 40) for n in done["name"]])
    for lbl, is_head in zip(ax.get_yticklabels(), done["headline"].astype(bool)):
        lbl.set_fontweight("bold" if is_head else "normal")
    ax.set_ylim(-0.7, len(done) - 0.3)
    ax.set_ylabel("protocol variant (sorted)")
    xlabel = _wrap(claim.statistic, 70)
    if len(missing):
        xlabel += "\n" + _wrap("not computed: " + ", ".join(missing), 90)
    ax.set_xlabel(xlabel)
    ax.set_title(f"{claim.id}: specification curve — {claim.tier}", loc="left", fontsize=11,
                 color=style.tier_color(claim.tier))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def claims_overview(claims: Iterable[Claim], ncols: int = 3) -> plt.Figure:
    """Every claim in one figure: a panel per claim with its headline statistic and interval,
    coloured by tier (reproduced / fragile / not reproduced / not testable here), the breaking
    variants of a fragile claim and the missing input of a not-testable one written under it."""
    claims = list(claims)
    nrows = max(1, int(np.ceil(len(claims) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 1.9 * nrows), layout="constrained",
                             squeeze=False)
    for ax, c in zip(axes.ravel(), claims):
        colour = style.tier_color(c.tier)
        ax.set_title(f"{c.id}: {c.tier}", loc="left", fontsize=10, color=colour, weight="bold")
        ax.set_yticks([])
        if np.isfinite(c.value):
            lo = c.value - c.low if np.isfinite(c.low) else 0.0
            hi = c.high - c.value if np.isfinite(c.high) else 0.0
            ax.errorbar([c.value], [0], xerr=[[max(lo, 0)], [max(hi, 0)]], fmt="o", color=colour, capsize=4,
                        markersize=7)
            ax.set_ylim(-1, 1)
            note = c.multiverse_note
            ax.set_xlabel(_wrap(c.statistic, 48) + (("\n" + _wrap(note, 55)) if note else ""), fontsize=8)
            ax.tick_params(axis="x", labelsize=8)
            ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        else:
            ax.axis("off")
            ax.text(0.0, 0.75, _wrap("needs: " + (c.needs or c.evidence), 55), transform=ax.transAxes, fontsize=8,
                    va="top", ha="left", color="0.25")
    for ax in axes.ravel()[len(claims):]:
        ax.set_visible(False)
    handles = [Patch(color=style.tier_color(t), label=t) for t in TIERS]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(TIERS), frameon=False, fontsize=9)
    fig.suptitle("Claims: verdict tier and headline statistic with interval", fontsize=12)
    return fig

