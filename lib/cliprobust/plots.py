"""Plotting helpers: one place that saves figures and tables, stamps what they were made from,
checks their layout, and writes them byte-for-byte reproducibly.

Every figure the notebooks write goes through :func:`save_figure`, which

1. stamps the data source, the run's profile and the fingerprint of the pinned inputs
   (:func:`inputs_fingerprint`) in a reserved margin *below* everything else on the figure, and — for
   a run whose outputs are not results (``smoke``: random weights; ``rehearsal``: synthetic caches) —
   the run's banner in a reserved margin *above* everything else, so neither can collide with data,
   labels or legends. The stamp names no commit and no date: a figure whose content did not change
   does not change (CI's fixpoint check is what ties the committed figures to the code);
2. thins tick labels that collide (:func:`cliprobust.layout.fit_ticks`), then checks the layout rules
   of :data:`~cliprobust.layout.LAYOUT_RULES`. A broken rule raises :class:`LayoutError` naming the
   figure and the rule on the committed profiles (``published``, ``smoke``: nothing is written), and
   on a user's own run (``full``, ``rehearsal``) warns loudly (:class:`LayoutWarning`) and still writes
   the figure, so hours of GPU time never die on a figure;
3. writes ``<name>.png`` (for GitHub) and ``<name>.pdf`` (vector, for papers) without dates or
   library versions in their metadata, into ``figures/`` (``figures/smoke/`` and
   ``figures/rehearsal/`` for runs that are not results).

The run is passed explicitly (``save_figure(fig, name, run=run, source=...)``): plots keeps no
module-level state. :func:`setup` is the one place that prepares a notebook (theme, warning filters).
The layout rules live in :mod:`cliprobust.layout`, the claim figures in
:mod:`cliprobust.claim_figures`; colours, markers and names come from :mod:`cliprobust.style`.
"""

from __future__ import annotations

import csv
import hashlib
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import paths
from .layout import LAYOUT_RULES, STAMP_GID, LayoutError, check_layout, enforce_layout, fit_ticks
from .runs import Run

__all__ = [
    "CSV_FLOAT_FORMAT", "LAYOUT_RULES", "LayoutError", "LayoutWarning", "check_layout", "enforce_layout",
    "inputs_fingerprint", "output_dir", "save_figure", "save_table", "setup", "stamp",
]

#: Sub-folder of ``figures/`` per profile whose outputs are not results (real results go to ``figures/``).
PROFILE_SUBDIR: dict[str, str] = {"smoke": "smoke", "rehearsal": "rehearsal"}
#: Float format of every saved table: six significant digits (what the tables have always carried),
#: fixed so a re-run writes the same bytes.
CSV_FLOAT_FORMAT = "%.6g"
#: The pinned-artifact manifest whose sha256 column :func:`inputs_fingerprint` hashes.
ARTIFACTS_MANIFEST = Path(__file__).with_name("artifacts.csv")
#: Hex digits of the inputs fingerprint shown in the stamp (48 bits: collisions need ~16M manifests).
FINGERPRINT_HEX = 12
#: PNG metadata: no library version (it would change every figure on a matplotlib upgrade); PNGs carry no date.
PNG_METADATA: dict[str, str | None] = {"Software": None}
#: PDF metadata: no creation/modification date and no library version, so equal content is equal bytes.
PDF_METADATA: dict[str, str | None] = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
#: Notebook warnings that say nothing about the results: tqdm's notice that ipywidgets is missing.
IGNORED_WARNINGS: tuple[str, ...] = ("IProgress not found",)


class LayoutWarning(UserWarning):
    """A figure of a user's own run (``full``, ``rehearsal``) breaks a layout rule; it was written anyway."""


def notebook_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                     line: str | None = None) -> str:
    """A warning as a notebook shows it: category and message, without the absolute path of the
    module that raised it (a notebook is read on other machines; the path is this one's)."""
    return f"{category.__name__}: {message}\n"


def setup(run: Run) -> None:
    """Prepare a notebook for ``run``: the seaborn theme, and the one place that sets the notebook's
    warning filters and format. Returns nothing (a notebook's last line shows no path)."""
    sns.set_theme(context="notebook", style="whitegrid")
    for message in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    warnings.formatwarning = notebook_warning


def output_dir(run: Run) -> Path:
    """``figures/`` for real results, ``figures/smoke/`` / ``figures/rehearsal/`` for the others."""
    base = paths.figures_dir()
    sub = PROFILE_SUBDIR.get(run.profile)
    out = base / sub if sub else base
    out.mkdir(parents=True, exist_ok=True)
    return out


@lru_cache(maxsize=1)
def inputs_fingerprint() -> str:
    """Short sha256 over the pinned inputs: the ``path,sha256`` pairs of ``artifacts.csv`` (every
    table and image ``cliprobust.fetch`` verifies), sorted by path. It changes exactly when a pinned
    input does, never with a commit that leaves the inputs alone."""
    with ARTIFACTS_MANIFEST.open(newline="") as f:
        pairs = sorted(f"{row['path']} {row['sha256']}" for row in csv.DictReader(f))
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:FINGERPRINT_HEX]


def stamp_text(source: str, run: Run) -> str:
    """The stamp: what a figure was made from (data source, profile, pinned-inputs fingerprint)."""
    return f"data: {source} · profile {run.profile} · pinned inputs {inputs_fingerprint()}"


# --------------------------------------------------------------------------- stamp


#: Height of the stamp margin (below the canvas) and the banner margin (above it), inches. Figure
#: content lives on the canvas (layout engines keep it there); the saved file (``bbox_inches="tight"``)
#: grows to include these two strips, which hold nothing but the stamp and the banner.
STAMP_MARGIN_IN = 0.3
BANNER_MARGIN_IN = 0.3


def _banner(published_only: bool, run: Run) -> str | None:
    """The run's banner, unless the output comes from published data alone (a real result in every profile)."""
    return None if published_only else run.banner


def stamp(fig: plt.Figure, source: str, published_only: bool = False, *, run: Run) -> None:
    """Write :func:`stamp_text` in the margin below the figure canvas, and the run's banner (random
    weights / synthetic) in the margin above it. Re-stamping replaces both."""
    for t in [t for t in fig.texts if t.get_gid() == STAMP_GID]:
        t.remove()
    h = fig.get_size_inches()[1]
    fig.text(1.0, -STAMP_MARGIN_IN / 2 / h, stamp_text(source, run), ha="right", va="center", fontsize=6,
             color="0.35", gid=STAMP_GID)
    banner = _banner(published_only, run)
    if banner:
        fig.text(0.5, 1 + BANNER_MARGIN_IN / 2 / h, banner.upper(), ha="center", va="center", fontsize=11,
                 color="#D55E00", weight="bold", gid=STAMP_GID)


def _report_layout(fig: plt.Figure, name: str, run: Run, strict: bool | None) -> None:
    """Raise on a strict run (the committed profiles, unless ``strict`` says otherwise); otherwise
    warn loudly, once per broken rule, naming the figure."""
    if run.strict_layout if strict is None else strict:
        enforce_layout(fig, name)
        return
    for rule, detail in check_layout(fig):
        msg = f"!!! LAYOUT: {LayoutError(name, rule, detail)} — written anyway (profile {run.profile!r})"
        warnings.warn(msg, LayoutWarning, stacklevel=3)
        print(msg, file=sys.stderr)


def save_figure(fig: plt.Figure, name: str, *, run: Run, source: str, published_only: bool = False,
                folder: Path | None = None, strict: bool | None = None) -> Path:
    """Stamp ``fig``, fit its ticks, check its layout (raise or warn, see the module doc), then save
    ``<name>.png`` and ``<name>.pdf`` into :func:`output_dir` (or ``folder``); returns the PNG path.

    ``published_only=True`` marks a figure drawn from published tables alone (no model outputs), which
    is a real result in every profile; everything else carries the run's banner in smoke/rehearsal.
    ``strict`` overrides the run's layout strictness (a user's own card warns instead of failing)."""
    stamp(fig, source, published_only, run=run)
    fit_ticks(fig)
    _report_layout(fig, name, run, strict)
    out = (folder or output_dir(run)) / f"{name}.png"
    fig.savefig(out, dpi=150, bbox_inches="tight", metadata=PNG_METADATA)
    fig.savefig(out.with_suffix(".pdf"), bbox_inches="tight", metadata=PDF_METADATA)
    return out


def save_table(df: pd.DataFrame, name: str, *, run: Run, published_only: bool = False,
               folder: Path | None = None) -> Path:
    """Save a tidy table as ``<name>.csv`` (into :func:`output_dir`, or ``folder``) in the frame's row
    order with :data:`CSV_FLOAT_FORMAT` and ``\\n`` line ends (tables that are not results carry the
    banner in a ``note`` column)."""
    banner = _banner(published_only, run)
    if banner:
        df = df.assign(note=banner)
    out = (folder or output_dir(run)) / f"{name}.csv"
    df.to_csv(out, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n", encoding="utf-8")
    return out
