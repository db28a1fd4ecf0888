"""Readable log and logit scales: ticks from a fixed ladder, thinned so their labels never run together.

Why: ER plots (Fang et al. Fig. 1) use logit axes and scaling plots log axes; matplotlib's default
ticks there either crowd (the "0.20.3" bug of the logit axis) or vanish. :func:`logit_axis` and
:func:`log_axis` set the scale, pick ticks from a fixed ladder inside the limits and drop ticks
until the labels have the space they need on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Tick ladder of logit axes (fractions): dense near 0 and 1 where the logit stretches.
LOGIT_TICKS: tuple[float, ...] = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                  0.95, 0.98, 0.99, 0.999)
#: Fewest transformed units between two ticks, as a fraction of the axis span (an upper bound on
#: tick density; :func:`logit_axis` also widens it to the space its labels need on the page).
MIN_TICK_GAP_FRACTION = 1 / 9
#: Blank space kept between two tick labels (inches), on top of the labels' own size.
TICK_LABEL_PAD_IN = 0.08


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def thin_ticks(ticks: Sequence[float], lo: float, hi: float, transform=_logit,
               min_gap_fraction: float = MIN_TICK_GAP_FRACTION) -> list[float]:
    """Ticks within [lo, hi], dropping any closer than ``min_gap_fraction`` of the transformed span
    to the previous kept tick (so tick labels cannot run together)."""
    inside = sorted(t for t in ticks if lo <= t <= hi)
    if not inside:
        return []
    span = float(transform(hi) - transform(lo))
    kept = [inside[0]]
    for t in inside[1:]:
        if float(transform(t) - transform(kept[-1])) >= min_gap_fraction * span:
            kept.append(t)
    return kept


def _percent(p: float) -> str:
    v = 100 * p
    return f"{v:.1f}%" if v < 1 or v > 99 else f"{v:.0f}%"


def logit_axis(ax, which: str = "x", ticks: Sequence[float] | None = None,
               limits: tuple[float, float] | None = None) -> list[float]:
    """Put ``ax``'s x or y axis on a logit scale (Taori et al. / Fang et al. convention) with
    percent tick labels from :data:`LOGIT_TICKS` (or ``ticks``), thinned to stay readable; no
    minor tick labels. Returns the ticks kept."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("logit")
    if limits is not None:
        (ax.set_xlim if which == "x" else ax.set_ylim)(*limits)
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    kept = thin_ticks(ticks if ticks is not None else LOGIT_TICKS, lo, hi,
                      min_gap_fraction=_label_gap_fraction(ax, which, 5))
    axis.set_major_locator(FixedLocator(kept))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _percent(v)))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())
    return kept


def _label_gap_fraction(ax, which: str, n_chars: int) -> float:
    """Fraction of the axis length one tick label (``n_chars`` wide on x, one line high on y) needs,
    with :data:`TICK_LABEL_PAD_IN`; at least :data:`MIN_TICK_GAP_FRACTION`."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    size_pt = FontProperties(size=mpl.rcParams[f"{which}tick.labelsize"]).get_size_in_points()
    w, h = ax.figure.get_size_inches()
    pos = ax.get_position()
    length_in = pos.width * w if which == "x" else pos.height * h
    need_in = (0.6 * n_chars if which == "x" else 1.3) * size_pt / 72 + TICK_LABEL_PAD_IN
    return max(MIN_TICK_GAP_FRACTION, need_in / max(length_in, 1e-6))


def _si(v: float) -> str:
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def log_axis(ax, which: str = "x", ticks: Sequence[float] | None = None) -> list[float]:
    """Put ``ax``'s x or y axis on a log-10 scale with ticks at 1-2-5 steps (or ``ticks``), thinned
    to stay readable, labelled in SI form (``12.8B``); no minor tick labels. Returns the ticks kept."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    if ticks is None:
        decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
        ticks = [10.0 ** d for d in decades]
        if sum(lo <= t <= hi for t in ticks) < 3:  # a short range: add the 2-5 steps
            ticks = [m * 10.0 ** d for d in decades for m in (1, 2, 5)]
    kept = thin_ticks(ticks, lo, hi, transform=np.log10, min_gap_fraction=_label_gap_fraction(ax, which, 4))
    axis.set_major_locator(FixedLocator(kept))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _si(v)))
    axis.set_minor_formatter(NullFormatter())
    return kept
