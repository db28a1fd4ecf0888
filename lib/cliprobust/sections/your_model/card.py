"""A model card from one validated results row: the tables, the figures, and where they are written.

:func:`build_card` computes (no torch, published tables only, a few seconds): ER per shift with
intervals (:mod:`.er_card`), ranks among the zoo's models, the claims' populations it would join
(:mod:`.joins`), factor-level ER when the row has the 10 ImageNet-X factors, and notes (e.g. that the
row repeats a published row: the same weights are then already in the populations).
:func:`write_card` writes ``<out>/<name>/``: ``card.csv`` (one row: every number of the card),
``er.csv``, ``ranks.csv``, ``claims.csv`` (and ``factor_er.csv``) and a PNG per figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ... import paths, plots
from ...runs import Run
from ...metrics import factors as F
from ..effective_robustness.options import Options as EROptions
from ..effective_robustness.tables import model_table
from ..ood_detection.cood import cood_summary
from ..shape_bias.trials import shape_bias_table
from ..visual_factors.lines import factor_er_frame
from ..visual_factors.tables import CLIP_ROWS, factor_table
from . import figures
from .er_card import card_id, er_card, ranks
from .joins import claim_joins
from .schema import ID_COLUMN, ModelRow

#: Cards go to ``figures/cards/<name>/`` unless ``--out`` says otherwise.
CARDS_DIR = "cards"
#: Two rows are the same published weights when every accuracy the row gives agrees this closely
#: (tables print 4 decimals).
TWIN_TOLERANCE: float = 5e-5


@dataclass(frozen=True)
class Card:
    """Everything a card shows for one results row."""

    row: ModelRow
    er: pd.DataFrame
    ranks: pd.DataFrame
    joins: pd.DataFrame
    factor_er: pd.DataFrame | None
    notes: tuple[str, ...]


def slug(name: str) -> str:
    """A folder name for a model name (``/`` and spaces become ``-``)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-") or "model"


def published_twin(row: ModelRow, opts: EROptions = EROptions()) -> str | None:
    """Id of a published row of the ER tables with the same accuracies (the same weights), if any."""
    acc = model_table(opts.dedup).set_index("model")
    cols = list(row.accuracy)
    close = (acc[cols] - pd.Series(row.accuracy)).abs().le(TWIN_TOLERANCE).all(axis=1)
    return str(close.index[close][0]) if close.any() else None


def factor_card(row: ModelRow) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The row's factor-level ER (the visual-factors section's line, its ``average`` = the row's
    ImageNet top-1) and the ImageNet-X CLIP rows' ER per factor; None without all 10 factors."""
    if len(row.factors) < len(F.PAPER_FACTORS):
        return None
    table = factor_table()
    mine = pd.DataFrame([{**row.factors, F.AVERAGE: row.accuracy[ID_COLUMN]}], index=[card_id(row)])
    frame = factor_er_frame(table=pd.concat([table, mine]))
    clips = frame[frame["model"].isin([r.model for r in CLIP_ROWS.values()])]
    return frame[frame["model"] == card_id(row)].reset_index(drop=True), clips


def _notes(row: ModelRow, opts: EROptions) -> tuple[str, ...]:
    out = []
    twin = published_twin(row, opts)
    if twin:
        out.append(f"the accuracies repeat the published row {twin}: the same weights are already in the "
                   f"published tables and in the populations below (a 'new' model is then counted twice)")
    if "objectnet" not in row.accuracy:
        out.append("no ObjectNet: the mean-shift ER is over 4 shifts (mean-shift-4), as for fine-tunes")
    out.append("ObjectNet protocols differ: open_clip's rows use a 113-name zero-shot head without the border "
               "crop, the testbed baseline mapped 1000-way logits with it; say which one your number follows")
    return tuple(out)


def build_card(row: ModelRow, opts: EROptions = EROptions()) -> Card:
    """The card of one results row against the ER options' baseline."""
    er = er_card(row, opts)
    factors = factor_card(row)
    return Card(row=row, er=er, ranks=ranks(er, opts), joins=claim_joins(row, er, opts),
                factor_er=None if factors is None else factors[0], notes=_notes(row, opts))


def summary(card: Card) -> pd.DataFrame:
    """One row with every number of the card (``card.csv``)."""
    rec: dict[str, object] = {"name": card.row.name, "group": card.row.group, **card.row.meta}
    rec |= {f"acc:{k}": v for k, v in card.row.accuracy.items()}
    for r in card.er.itertuples():
        rec |= {f"er:{r.shift}": r.er, f"er:{r.shift}:low": r.low, f"er:{r.shift}:high": r.high}
    for r in card.ranks.itertuples():
        rec[f"rank:{r.population}"] = f"{r.rank} of {r.of}" if r.rank else ""
    if card.factor_er is not None:
        rec |= {f"factor_er:{r.factor}": r.er for r in card.factor_er.itertuples()}
        rec["factor_er:n_positive"] = int((card.factor_er["ci_low"] > 0).sum())
    rec |= {"shape_bias": card.row.shape_bias, "ece": card.row.ece}
    rec |= {f"auroc:{k}": v for k, v in card.row.auroc.items()}
    rec |= {f"joins:{j.claim}": bool(j.joins) for j in card.joins.itertuples()}
    rec["notes"] = " | ".join(card.notes)
    return pd.DataFrame([rec])


def card_figures(card: Card, opts: EROptions = EROptions()) -> tuple[dict[str, plt.Figure], list[str]]:
    """The card's figures by file stem, and the panels left out for want of columns."""
    row, out, missing = card.row, {}, []
    if len(card.er):
        out["er"] = figures.plot_er(row, card.er, opts)
    else:
        missing.append("ER panels (needs ImageNet and at least one shift)")
    if card.factor_er is not None:
        out["factors"] = figures.plot_factors(row, card.factor_er, factor_card(row)[1])
    else:
        missing.append("factor panel (needs the 10 factor:<f> columns)")
    if row.shape_bias is not None:
        t = shape_bias_table()
        out["shape_bias"] = figures.plot_shape_bias(row, t[(t["level"] == "group")].reset_index(drop=True))
    else:
        missing.append("shape-bias plot (needs shape_bias)")
    if "cood" in row.auroc:
        out["auroc"] = figures.plot_auroc(row, cood_summary())
    else:
        missing.append("accuracy-vs-AUROC plot (needs auroc:cood)")
    return out, missing


def card_dir(name: str, out: str | Path | None = None) -> Path:
    """``<out>/<slug(name)>``; default ``out``: ``figures/cards``."""
    return Path(out) if out is not None else paths.figures_dir() / CARDS_DIR


def card_run(card: Card) -> Run:
    """The run a card is written under: ``published`` for a results row (published tables and the
    user's numbers), the caches' own profile for a card from caches (random weights and synthetic
    outputs carry their banner)."""
    return Run(card.row.meta.get("profile", "published"))


def write_card(card: Card, out: str | Path | None = None, opts: EROptions = EROptions(),
               strict: bool | None = False) -> list[Path]:
    """Write the card's CSVs and PNGs under :func:`card_dir` through :mod:`cliprobust.plots` (stamped
    with their source and profile, layout checked: a user's card warns on a broken rule, ``strict``
    raises as the committed notebooks do) and return their paths."""
    where = card_dir(card.row.name, out) / slug(card.row.name)
    where.mkdir(parents=True, exist_ok=True)
    run, source = card_run(card), f"{card.row.meta.get('source', 'results row')} · published tables"
    tables = {"card": summary(card), "er": card.er, "ranks": card.ranks, "claims": card.joins,
              "factor_er": card.factor_er}
    written = [plots.save_table(t, stem, run=run, folder=where) for stem, t in tables.items() if t is not None]
    figs, _ = card_figures(card, opts)
    for stem, fig in figs.items():
        written.append(plots.save_figure(fig, stem, run=run, source=source, folder=where, strict=strict))
        plt.close(fig)
    return written
