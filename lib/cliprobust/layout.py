"""The layout rules every saved figure is checked against, and the tick fitting that keeps them.

:func:`check_layout` renders a figure and lists every broken rule of :data:`LAYOUT_RULES`
(overlapping texts, missing labels or titles, code keys, a legend hiding data, look-alike series);
:func:`enforce_layout` raises :class:`LayoutError` for them. :func:`fit_ticks` thins the major ticks
of any axis whose tick labels collide, so a figure adapts to whatever range its data spans
(a rehearsal's narrow synthetic interval as much as the published one). Split from
:mod:`cliprobust.plots`, which stamps and saves.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import text as mtext
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from . import style

#: Artist id of the stamp and banner texts (so re-saving a figure replaces them, and checks can find them).
STAMP_GID = "cliprobust-stamp"

RULE_TEXT_OVERLAP = "no-text-overlap"
RULE_AXIS_LABELS = "axis-labels"
RULE_TITLE = "title"
RULE_CODE_KEYS = "no-code-keys"
RULE_LEGEND_COVER = "legend-covers-few-points"
RULE_DISTINCT_SERIES = "distinct-series"

#: The layout rules :func:`check_layout` enforces (name -> what it asks).
LAYOUT_RULES: dict[str, str] = {
    RULE_TEXT_OVERLAP: "no two text artists overlap (tick labels, titles, axis labels, annotations, legends, "
                       "stamp), measured on the renderer's bounding boxes",
    RULE_AXIS_LABELS: "every axes with data has an x and a y label on each axis that shows tick labels "
                      "(its own, a shared sibling's, or the figure's supxlabel/supylabel)",
    RULE_TITLE: "the figure has a title naming what it shows: a suptitle, or a title on every axes with data",
    RULE_CODE_KEYS: "no title, axis label, tick label or legend entry is a code key (imagenet-r, partial_view, "
                    "open_clip:...): use style.display()",
    RULE_LEGEND_COVER: "a legend covers at most MAX_LEGEND_COVER of its axes' data points",
    RULE_DISTINCT_SERIES: "no two labelled series in one axes look alike (same colour, marker and line style)",
}
#: Largest fraction of an axes' data points a legend may cover (rule ``legend-covers-few-points``).
MAX_LEGEND_COVER = 0.05
#: Two text boxes overlap when they intersect by more than this many pixels in both directions.
OVERLAP_TOLERANCE_PX = 0.5


class LayoutError(ValueError):
    """A figure breaks a layout rule; the message names the figure and the rule."""

    def __init__(self, figure: str, rule: str, detail: str):
        self.figure, self.rule, self.detail = figure, rule, detail
        super().__init__(f"figure {figure!r} breaks layout rule {rule!r} ({LAYOUT_RULES[rule]}): {detail}")


def _visible_text(t: mtext.Text | None) -> bool:
    return t is not None and t.get_visible() and bool(t.get_text().strip())


def _in_view(axis, loc: float) -> bool:
    lo, hi = sorted(axis.get_view_interval())
    span = hi - lo
    return lo - 1e-9 * abs(span) <= loc <= hi + 1e-9 * abs(span)


def _tick_labels(ax) -> Iterable[tuple[str, mtext.Text]]:
    """Visible tick labels of both axes within the view interval (none when the axes is switched off)."""
    if not ax.axison:
        return
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        if not axis.get_visible():
            continue
        for ticks, locs in ((axis.get_major_ticks(), axis.get_majorticklocs()),
                            (axis.get_minor_ticks(), axis.get_minorticklocs())):
            for tick, loc in zip(ticks, locs):
                if not _in_view(axis, loc):
                    continue
                for lbl in (tick.label1, tick.label2):
                    if _visible_text(lbl):
                        yield f"{name} tick label {lbl.get_text()!r}", lbl
        if _visible_text(axis.get_offset_text()):
            yield f"{name} offset text", axis.get_offset_text()


def _titles(ax) -> list[mtext.Text]:
    return [t for t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None))
            if _visible_text(t)]


def _fig_texts(fig) -> dict[str, mtext.Text | None]:
    return {"suptitle": getattr(fig, "_suptitle", None), "supxlabel": getattr(fig, "_supxlabel", None),
            "supylabel": getattr(fig, "_supylabel", None)}


def _text_items(fig: plt.Figure, renderer) -> list[tuple[str, np.ndarray]]:
    """Every text artist (a legend counts as one box) with the 4 display-space corners of its box
    (rotated text: the rotated rectangle, not its axis-aligned hull)."""
    items: list[tuple[str, mtext.Text | object]] = []
    sup = [t for t in _fig_texts(fig).values() if t is not None]
    for t in fig.texts:
        if _visible_text(t) and not any(t is s for s in sup):
            items.append(("stamp" if t.get_gid() == STAMP_GID else f"figure text {t.get_text()[:30]!r}", t))
    items += [(k, t) for k, t in _fig_texts(fig).items() if _visible_text(t)]
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        tag = f"axes {i}"
        items += [(f"{tag} title {t.get_text()[:30]!r}", t) for t in _titles(ax)]
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if ax.axison and axis.get_visible() and _visible_text(axis.label):
                items.append((f"{tag} {name} label", axis.label))
        items += [(f"{tag} {what}", t) for what, t in _tick_labels(ax)]
        items += [(f"{tag} text {t.get_text()[:30]!r}", t) for t in ax.texts if _visible_text(t)]
        if ax.get_legend() is not None and ax.get_legend().get_visible():
            items.append((f"{tag} legend", ax.get_legend()))
    items += [("figure legend", lg) for lg in fig.legends if lg.get_visible()]
    out = []
    for name, artist in items:
        corners = _corners(artist, renderer)
        if corners is not None:
            out.append((name, corners))
    return out


def _corners(artist, renderer) -> np.ndarray | None:
    """(4, 2) display corners of a text's (possibly rotated) box or of a legend's frame; None if empty."""
    if not isinstance(artist, mtext.Text):
        bb = artist.get_window_extent(renderer)
        return None if bb.width <= 0 or bb.height <= 0 else bb.corners()
    bb = mtext.Text.get_window_extent(artist, renderer)  # text only, not an annotation's arrow
    if bb.width <= 0 or bb.height <= 0:
        return None
    angle = artist.get_rotation() % 180
    if angle % 90 == 0:
        return bb.corners()
    artist.set_rotation(0)
    flat = mtext.Text.get_window_extent(artist, renderer)
    artist.set_rotation(angle)
    w, h = (flat.width, flat.height) if angle < 90 else (flat.height, flat.width)
    t = np.deg2rad(angle % 90)
    s, c = np.sin(t), np.cos(t)
    x0, y0 = bb.x0, bb.y0  # the rotated rectangle touches each side of its axis-aligned hull
    return np.array([[x0 + h * s, y0], [x0 + h * s + w * c, y0 + w * s], [x0 + w * c, y0 + w * s + h * c],
                     [x0, y0 + h * c]])


def _separated(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Separating-axis test of two convex quadrilaterals: True when some edge normal separates them
    (or their projections overlap by at most ``tol`` pixels)."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        for nx, ny in np.stack([-edges[:, 1], edges[:, 0]], axis=1):
            norm = np.hypot(nx, ny)
            if norm == 0:
                continue
            pa, pb = a @ (np.array([nx, ny]) / norm), b @ (np.array([nx, ny]) / norm)
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= tol:
                return True
    return False


def _overlaps(fig: plt.Figure, renderer) -> list[str]:
    items = _text_items(fig, renderer)
    if len(items) < 2:
        return []
    lo = np.array([c.min(axis=0) for _, c in items])
    hi = np.array([c.max(axis=0) for _, c in items])
    w = np.minimum(hi[:, None, 0], hi[None, :, 0]) - np.maximum(lo[:, None, 0], lo[None, :, 0])
    h = np.minimum(hi[:, None, 1], hi[None, :, 1]) - np.maximum(lo[:, None, 1], lo[None, :, 1])
    hull_hit = np.triu((w > OVERLAP_TOLERANCE_PX) & (h > OVERLAP_TOLERANCE_PX), k=1)
    return [f"{items[i][0]} overlaps {items[j][0]}" for i, j in zip(*np.nonzero(hull_hit))
            if not _separated(items[i][1], items[j][1], OVERLAP_TOLERANCE_PX)]


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images or ax.containers)


def _data_axes(fig: plt.Figure) -> list:
    """Axes that show data (colorbars and axes switched off are not data axes)."""
    return [ax for ax in fig.axes
            if ax.get_visible() and ax.axison and not hasattr(ax, "_colorbar") and _has_data(ax)]


def _shows_tick_labels(axis) -> bool:
    return axis.get_visible() and any(_visible_text(t) for t in axis.get_ticklabels())


def _missing_labels(fig: plt.Figure) -> list[str]:
    out = []
    figs = _fig_texts(fig)
    for i, ax in enumerate(fig.axes):
        if ax not in _data_axes(fig):
            continue
        sub = _fig_texts(ax.figure) if ax.figure is not fig else figs
        for name, axis, shared, sup in (("x", ax.xaxis, ax.get_shared_x_axes(), "supxlabel"),
                                        ("y", ax.yaxis, ax.get_shared_y_axes(), "supylabel")):
            if not _shows_tick_labels(axis):
                continue
            own = _visible_text(axis.label)
            sibling = any(_visible_text((s.xaxis if name == "x" else s.yaxis).label) for s in shared.get_siblings(ax))
            if not (own or sibling or _visible_text(figs[sup]) or _visible_text(sub[sup])):
                out.append(f"axes {i} ({ax.get_title()[:30]!r}) has no {name} label")
    return out


def _missing_title(fig: plt.Figure) -> list[str]:
    if _visible_text(_fig_texts(fig)["suptitle"]):
        return []
    untitled = [i for i, ax in enumerate(fig.axes) if ax in _data_axes(fig) and not _titles(ax)]
    if untitled or not _data_axes(fig):
        return [f"no suptitle and axes {untitled} have no title"]
    return []


def _code_keys(fig: plt.Figure) -> list[str]:
    texts: list[tuple[str, str]] = [(k, t.get_text()) for k, t in _fig_texts(fig).items() if _visible_text(t)]
    for i, ax in enumerate(fig.axes):
        texts += [(f"axes {i} title", t.get_text()) for t in _titles(ax)]
        texts += [(f"axes {i} {n} label", a.label.get_text()) for n, a in (("x", ax.xaxis), ("y", ax.yaxis))]
        texts += [(f"axes {i} {what}", t.get_text()) for what, t in _tick_labels(ax)]
    for lg in [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends):
        texts += [("legend entry", t.get_text()) for t in lg.get_texts()]
        texts += [("legend title", lg.get_title().get_text())]
    return [f"{where}: {text!r} (display name {style.display(text)!r})" for where, text in texts
            if style.is_code_key(text)]


def _data_points(ax) -> np.ndarray:
    """Display coordinates of an axes' data points: line vertices, scatter offsets, segment ends,
    bar tops; only those inside the axes."""
    pts = []
    for line in ax.lines:
        if line.get_visible() and len(line.get_xydata()):
            pts.append(line.get_transform().transform(line.get_xydata()))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        offsets = np.asarray(coll.get_offsets())
        if offsets.size and hasattr(coll, "get_sizes") and len(coll.get_sizes()):
            pts.append(coll.get_offset_transform().transform(offsets))
        elif hasattr(coll, "get_segments"):
            segs = [np.asarray(s) for s in coll.get_segments() if len(s)]
            if segs:
                pts.append(coll.get_transform().transform(np.concatenate(segs)))
    for patch in ax.patches:
        if patch.get_visible() and hasattr(patch, "get_x") and hasattr(patch, "get_height"):
            x, y, w, h = patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()
            pts.append(patch.get_transform().transform([[x + w / 2, y + h]]))
    if not pts:
        return np.empty((0, 2))
    p = np.concatenate(pts)
    p = p[np.isfinite(p).all(axis=1)]
    return p[_inside(ax.bbox, p)]


def _inside(bb: Bbox, p: np.ndarray) -> np.ndarray:
    return (p[:, 0] >= bb.x0) & (p[:, 0] <= bb.x1) & (p[:, 1] >= bb.y0) & (p[:, 1] <= bb.y1)


def _legend_cover(fig: plt.Figure, renderer) -> list[str]:
    out = []
    legends = [(ax.get_legend(), [ax]) for ax in fig.axes if ax.get_legend() is not None]
    legends += [(lg, _data_axes(fig)) for lg in fig.legends]
    for lg, axes in legends:
        if not lg.get_visible():
            continue
        box = lg.get_window_extent(renderer)
        pts = [_data_points(ax) for ax in axes]
        p = np.concatenate(pts) if pts else np.empty((0, 2))
        if len(p) == 0:
            continue
        covered = int(_inside(box, p).sum())
        if covered / len(p) > MAX_LEGEND_COVER:
            out.append(f"legend covers {covered} of {len(p)} data points ({covered / len(p):.0%}) "
                       f"> {MAX_LEGEND_COVER:.0%}")
    return out


def _series_look(handle) -> tuple:
    """(colour, marker, line style) of a legend handle: what tells series apart on the page."""
    if isinstance(handle, ErrorbarContainer):
        handle = handle.lines[0] if handle.lines[0] is not None else handle.lines[2][0]
    if isinstance(handle, BarContainer):
        return (to_hex(handle.patches[0].get_facecolor(), keep_alpha=False), "bar", "")
    if isinstance(handle, Line2D):
        ls = handle.get_linestyle() if handle.get_linestyle() not in ("None", "none", "") else ""
        colour = handle.get_color() if ls else handle.get_markerfacecolor()
        if colour in ("none", "None"):
            colour = handle.get_markeredgecolor()
        return (to_hex(colour, keep_alpha=False), str(handle.get_marker()) if handle.get_marker() else "", ls)
    if isinstance(handle, Patch):
        return (to_hex(handle.get_facecolor(), keep_alpha=False), "patch", str(handle.get_linestyle()))
    if hasattr(handle, "get_facecolor"):  # collections (scatter)
        fc = np.asarray(handle.get_facecolor())
        if not len(fc) or fc[0][3] == 0:
            fc = np.asarray(handle.get_edgecolor())
        paths = handle.get_paths()
        shape = tuple(np.round(paths[0].vertices, 2).ravel()) if paths else ()
        return (to_hex(fc[0], keep_alpha=False) if len(fc) else "", hash(shape), "")
    return (repr(handle), "", "")


def _look_alikes(fig: plt.Figure) -> list[str]:
    out = []
    for i, ax in enumerate(fig.axes):
        handles, labels = ax.get_legend_handles_labels()
        looks = [(_series_look(h), lbl) for h, lbl in zip(handles, labels)]
        for (la, a), (lb, b) in itertools.combinations(looks, 2):
            if la == lb and a != b:
                out.append(f"axes {i}: series {a!r} and {b!r} share colour {la[0]}, marker and line style")
    return out


def check_layout(fig: plt.Figure) -> list[tuple[str, str]]:
    """Render ``fig`` and return every broken rule as ``(rule, detail)`` (empty when the figure passes)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found: list[tuple[str, str]] = []
    for rule, details in ((RULE_TEXT_OVERLAP, _overlaps(fig, renderer)), (RULE_AXIS_LABELS, _missing_labels(fig)),
                          (RULE_TITLE, _missing_title(fig)), (RULE_CODE_KEYS, _code_keys(fig)),
                          (RULE_LEGEND_COVER, _legend_cover(fig, renderer)),
                          (RULE_DISTINCT_SERIES, _look_alikes(fig))):
        found += [(rule, d) for d in details]
    return found


def enforce_layout(fig: plt.Figure, name: str) -> None:
    """Raise :class:`LayoutError` for the first broken rule (the message counts the others)."""
    broken = check_layout(fig)
    if not broken:
        return
    rule, detail = broken[0]
    more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
    raise LayoutError(name, rule, detail + more)


# --------------------------------------------------------------------------- tick fitting

#: Fewest major ticks :func:`fit_ticks` thins an axis to (two still show the scale and its direction).
MIN_TICKS = 2
#: Steps of a thinned tick locator: matplotlib's AutoLocator steps (round numbers only).
TICK_STEPS = (1, 2, 2.5, 5, 10)


def _major_labels(axis) -> list[mtext.Text]:
    """Visible major tick labels of ``axis`` within its view interval."""
    return [lbl for tick, loc in zip(axis.get_major_ticks(), axis.get_majorticklocs()) if _in_view(axis, loc)
            for lbl in (tick.label1, tick.label2) if _visible_text(lbl)]


def _labels_collide(axis, renderer) -> bool:
    boxes = [c for c in (_corners(t, renderer) for t in _major_labels(axis)) if c is not None]
    return any(not _separated(a, b, OVERLAP_TOLERANCE_PX) for a, b in itertools.combinations(boxes, 2))


def _n_major(axis) -> int:
    return sum(_in_view(axis, loc) for loc in axis.get_majorticklocs())


def fit_ticks(fig: plt.Figure) -> list[str]:
    """Thin the major ticks of every axis whose tick labels collide until they do not (or
    :data:`MIN_TICKS` remain), so tick labels fit whatever range the data spans; returns the axes
    thinned (``"axes 0 x"``). Only automatic locators are thinned: fixed (categorical) and log ticks
    are the figure's own choice."""
    thinned = []
    fig.canvas.draw()
    for i, ax in enumerate(fig.axes):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not isinstance(axis.get_major_locator(), MaxNLocator):
                continue
            n = _n_major(axis)
            while n > MIN_TICKS and _labels_collide(axis, fig.canvas.get_renderer()):
                axis.set_major_locator(MaxNLocator(nbins=max(n - 2, 1), steps=list(TICK_STEPS)))
                fig.canvas.draw()
                n = min(n - 1, _n_major(axis))
                thinned.append(f"axes {i} {name}")
    return sorted(set(thinned))
