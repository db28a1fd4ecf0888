"""Plotting helpers: one place that saves figures, stamps their data source, and knows the profile.

Every figure the notebooks write goes through :func:`save_figure`, which stamps the data source
and the git revision in the corner (STYLE.md rule 8) and, in the ``smoke`` profile, a loud
"random weights" banner, and writes into ``figures/`` (or ``figures/smoke/``).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import paths, style

PROFILES = ("published", "smoke", "full")
#: Banner printed on every smoke-profile figure and table (they come from random-init models).
SMOKE_BANNER = "random weights — pipeline check, not a result"
#: Colours per model group (alias of :data:`cliprobust.style.GROUP_COLORS`, kept for callers).
GROUP_COLORS = style.GROUP_COLORS


@dataclass(frozen=True)
class _State:
    profile: str = "published"


_state = _State()


def configure(profile: str = "published") -> Path:
    """Select the profile for this session (notebook ``parameters`` cell value); returns the output folder."""
    global _state
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    _state = _State(profile=profile)
    sns.set_theme(context="notebook", style="whitegrid")
    return output_dir()


def profile() -> str:
    """The profile chosen with :func:`configure`."""
    return _state.profile


def output_dir() -> Path:
    """``figures/`` for real results, ``figures/smoke/`` for random-weight pipeline checks."""
    base = paths.figures_dir()
    out = base / "smoke" if _state.profile == "smoke" else base
    out.mkdir(parents=True, exist_ok=True)
    return out


@lru_cache(maxsize=1)
def git_revision() -> str:
    """Short git revision of the repository, or ``unknown`` outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.REPO_ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _smoke_banner(published_only: bool) -> bool:
    """Smoke-profile outputs carry the banner unless they come from published data alone."""
    return _state.profile == "smoke" and not published_only


def stamp(fig: plt.Figure, source: str, published_only: bool = False) -> None:
    """Write the data source and git revision in the figure corner (and the smoke banner)."""
    fig.text(0.995, 0.005, f"data: {source} · cliprobust@{git_revision()}", ha="right", va="bottom",
             fontsize=6, color="0.4")
    if _smoke_banner(published_only):
        fig.text(0.5, 0.5, SMOKE_BANNER, ha="center", va="center", fontsize=16, color="red",
                 alpha=0.35, rotation=20, weight="bold")


def save_figure(fig: plt.Figure, name: str, source: str, *, published_only: bool = False) -> Path:
    """Stamp and save ``fig`` as ``<name>.png`` and ``.pdf``; returns the PNG path.

    ``published_only=True`` marks a figure drawn from published tables alone (no model outputs), which
    is a real result in every profile; everything else is stamped as random weights in ``smoke``."""
    stamp(fig, source, published_only)
    out = output_dir() / f"{name}.png"
    fig.savefig(out, dpi=150, bbox_inches="tight")
    fig.savefig(out.with_suffix(".pdf"), bbox_inches="tight")
    return out


def save_table(df: pd.DataFrame, name: str, *, published_only: bool = False) -> Path:
    """Save a tidy table as ``<name>.csv`` (smoke tables from caches carry the banner in a column)."""
    if _smoke_banner(published_only):
        df = df.assign(note=SMOKE_BANNER)
    out = output_dir() / f"{name}.csv"
    df.to_csv(out, index=False, float_format="%.6g")
    return out
