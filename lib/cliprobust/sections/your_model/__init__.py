"""Section 10 -- your model in the papers' analyses (``notebooks/10_your_model.ipynb``, ``cliprobust card``).

A researcher's own model, from a results row (:mod:`.schema`: no GPU, no weights, no torch) or from
its caches (:mod:`.caches`), gets a card (:mod:`.card`): ER per shift with intervals against the
baseline line the claims use (:mod:`.er_card`), its rank among the zoo's CLIP and ImageNet models, the
claims' populations it would join and whether it would move their point estimates across the
margins (:mod:`.joins`), and the papers' figures with the model highlighted (:mod:`.figures`).

This module holds the section interface; the section judges no claim of its own (``claims`` is
empty) and reads no caches in the notebook (``PAPER_PLAN``/``SMOKE_PLAN`` are None: the ``--models``
path of the CLI reads one model's caches, :data:`.caches.PAPER_SETS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping


from ... import paths
from ...runs import Options as BaseOptions
from ...runs import Run
from ...verdicts import Claim
from .._base import CachePlan, no_cache_inventory, no_cache_plan
from ..effective_robustness.options import BASELINE, BASELINES
from ..effective_robustness.options import Options as EROptions
from .schema import GROUPS

#: The shipped example results table (a MetaCLIP row of open_clip's published table; its source is
#: in the file), relative to the repository root.
EXAMPLE = "examples/my_model.csv"


@dataclass(frozen=True)
class Options(BaseOptions):
    """Notebook 10's parameters."""

    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = {"group": (None, *GROUPS), "baseline": BASELINES}

    #: The results table (a path; relative paths are read from the repository root): :data:`EXAMPLE`.
    results: str = EXAMPLE
    #: The row to draw (None: every row of the table).
    name: str | None = None
    #: The zoo group the model belongs to, overriding the table's ``group`` column (None: the table's).
    group: str | None = None
    #: The ER section's baseline line (the one the claims use by default).
    baseline: str = BASELINE

    def results_path(self) -> Path:
        """:attr:`results` as a path (relative ones from the repository root)."""
        p = Path(self.results).expanduser()
        return p if p.is_absolute() else paths.REPO_ROOT / p

    def er_options(self) -> EROptions:
        """The ER section's options of the card: this baseline, every other choice at its default."""
        return EROptions(baseline=self.baseline)


PAPER_PLAN: CachePlan | None = None
SMOKE_PLAN: CachePlan | None = None
cache_plan, cache_inventory = no_cache_plan, no_cache_inventory


def claims(run: Run = Run()) -> tuple[Claim, ...]:
    """None: a card places one model in the claims' populations; it judges no claim."""
    return ()
