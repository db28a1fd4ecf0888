"""Where things live on disk. The one module that knows the repository layout.

Every other module asks here for the data cache, the per-sample output cache and the
figures folder, so notebooks never build ``../data`` paths by hand (STYLE.md rule 1).
Each location can be moved with an environment variable, which is how CI and users with
a shared filesystem (Slurm) point the toolkit somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root: ``lib/cliprobust/paths.py`` -> three levels up.
REPO_ROOT: Path = Path(__file__).resolve().parents[2]

#: Environment variable naming a local mirror of the public data (a folder laid out like the download cache).
MIRROR_ENV = "CLIPROBUST_DATA_MIRROR"
DATA_ENV = "CLIPROBUST_DATA_DIR"
CACHE_ENV = "CLIPROBUST_CACHE_DIR"
FIGURES_ENV = "CLIPROBUST_FIGURES_DIR"


def _from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Verified copies of downloaded/mirrored artifacts (``data/`` in the repo, git-ignored)."""
    return _from_env(DATA_ENV, REPO_ROOT / "data")


def cache_dir() -> Path:
    """Per-sample model outputs written by the inference engine (``data/outputs``)."""
    return _from_env(CACHE_ENV, data_dir() / "outputs")


def figures_dir() -> Path:
    """Where notebooks save figures and tables."""
    return _from_env(FIGURES_ENV, REPO_ROOT / "figures")


def mirror_dir() -> Path | None:
    """The configured local mirror, or ``None`` when unset."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser().resolve() if value else None
