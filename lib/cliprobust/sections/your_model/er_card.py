"""Effective robustness of one results row against the zoo's baseline line, and its rank in the zoo.

ER per shift is computed exactly as the ER section computes it for the published models
(:func:`cliprobust.metrics.robustness.er_table` over the baseline models of
:func:`.effective_robustness.tables.baseline_models`, the options' axes and x-axis; the mean-shift ER by
:func:`~cliprobust.metrics.robustness.er_of_mean_accuracy`), so a zoo model's own published row gives the
numbers notebook 01 prints. Two intervals:

- ``line_low``/``line_high``: resampling the baseline models only (the ER section's ``ci_low``/``ci_high``);
- ``low``/``high``: baseline models resampled AND every accuracy (baseline's and this row's, ID and
  OOD) redrawn from its binomial image-sampling distribution -- the variation
  :func:`.effective_robustness.draws.er_draws` puts into the claims' intervals.

Rank: position of the row's ER among the zoo's models of a group (1 = highest), on the mean
shift those models all have (:data:`RANK_SHIFT`; timm publishes no ObjectNet).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ... import zoo
from ...metrics import robustness, stats
from ..effective_robustness.options import ER_SHIFTS, FT_SHIFTS, ID_TEST_SET, MEAN_SHIFT, MEAN_SHIFT_4
from ..effective_robustness.options import Options as EROptions
from ..effective_robustness.tables import ACC_COLUMNS, baseline_models, er_frame, model_table, test_set_sizes
from .schema import ModelRow

#: Index prefix of a card's row inside the accuracy table (cannot collide with a source prefix).
CARD_PREFIX = "card:"
#: The zoo groups a card ranks against, and the mean shift each is ranked on (every member has it).
RANK_SHIFT: dict[str, str] = {"clip-zeroshot": MEAN_SHIFT, "clip-ft": MEAN_SHIFT_4, "imagenet": MEAN_SHIFT_4}
CARD_COLUMNS = ["shift", "id_acc", "ood_acc", "predicted", "er", "line_low", "line_high", "low", "high",
                "n_baseline"]


def card_id(row: ModelRow) -> str:
    """The row's id inside the ER tables."""
    return CARD_PREFIX + row.name


@lru_cache(maxsize=4)
def _accuracies(dedup: str) -> pd.DataFrame:
    return model_table(dedup).set_index("model")[ACC_COLUMNS]


def _table_with(row: ModelRow, opts: EROptions) -> tuple[pd.DataFrame, list[str]]:
    """Accuracy table of the baseline models (their order kept, so the bootstrap draws the same
    baseline rows as the ER section) plus the card's row; the baseline ids."""
    base = baseline_models(opts.baseline, opts.dedup)
    acc = _accuracies(opts.dedup)
    acc = acc[acc.index.isin(base)]
    mine = pd.DataFrame([{c: row.accuracy.get(c, np.nan) for c in ACC_COLUMNS}], index=[card_id(row)])
    return pd.concat([acc, mine.astype(float)]), base


def _shift_columns(row: ModelRow, opts: EROptions) -> dict[str, tuple[str, tuple[str, ...]]]:
    """shift -> (x column, y columns averaged) for every shift and mean shift the row has."""
    out = {s: (x, (s,)) for s, x in opts.shift_id.items() if s in row.accuracy}
    if all(s in row.accuracy for s in opts.shifts):
        out[MEAN_SHIFT] = (ID_TEST_SET, tuple(opts.shifts))
    if all(s in row.accuracy for s in FT_SHIFTS):
        out[MEAN_SHIFT_4] = (ID_TEST_SET, FT_SHIFTS)
    return out


def er_points(row: ModelRow, opts: EROptions = EROptions()) -> pd.DataFrame:
    """The ER section's rows (point, baseline-resampling interval) for the card's row only."""
    acc, base = _table_with(row, opts)
    cols = _shift_columns(row, opts)
    if not cols:
        return pd.DataFrame(columns=[*robustness.ER_COLUMNS])
    t = opts.transform
    single = {s: x for s, (x, _) in cols.items() if s in opts.shift_id}
    parts = [robustness.er_table(acc, single, base, t)] if single else []
    for shift, (x, ys) in cols.items():
        if shift not in opts.shift_id:
            part = robustness.er_of_mean_accuracy(acc, list(ys), x, base, transform=t)
            parts.append(part.assign(shift=shift))
    out = pd.concat(parts, ignore_index=True)
    return out[out["model"] == card_id(row)].reset_index(drop=True)


def _binomial(acc: pd.DataFrame, cols: tuple[str, ...], seed: int) -> np.ndarray:
    """(N_BOOT, rows) image-sampling draws of the mean accuracy over ``cols`` (one seed per column)."""
    draws = [stats.binomial_draws(acc[c].to_numpy(float), test_set_sizes()[c], seed=seed + i) for i, c in enumerate(cols)]
    return np.clip(np.mean(draws, axis=0), robustness.ACC_EPS, 1 - robustness.ACC_EPS)


def er_image_draws(row: ModelRow, shift: str, opts: EROptions = EROptions()) -> np.ndarray:
    """(N_BOOT,) ER draws of the row on ``shift``: baseline models resampled, every accuracy redrawn."""
    acc, base = _table_with(row, opts)
    x, ys = _shift_columns(row, opts)[shift]
    b = acc.loc[base, [x, *ys]]
    b = b[((b > 0) & (b < 1)).all(axis=1)]  # robustness.DROP_DEGENERATE, as the line fit does
    idx = stats.resample_indices(len(b))
    bx = np.take_along_axis(_binomial(b, (x,), stats.SEED + 1), idx, axis=1)
    by = np.take_along_axis(_binomial(b, ys, stats.SEED + 11), idx, axis=1)
    t = opts.transform
    slope, icpt = robustness.ols_rows(t(bx), t(by))
    mine = acc.loc[[card_id(row)]]
    mx, my = _binomial(mine, (x,), stats.SEED + 21)[:, 0], _binomial(mine, ys, stats.SEED + 31)[:, 0]
    return my - t.inverse(slope * t(mx) + icpt)


def er_card(row: ModelRow, opts: EROptions = EROptions()) -> pd.DataFrame:
    """ER per shift and mean shift (:data:`CARD_COLUMNS`) against the protocol's baseline line."""
    pts = er_points(row, opts).rename(columns={"ci_low": "line_low", "ci_high": "line_high"})
    bounds = [stats.percentile_interval(er_image_draws(row, s, opts)) for s in pts["shift"]]
    pts["low"], pts["high"] = [float(b[0]) for b in bounds], [float(b[1]) for b in bounds]
    pts["n_baseline"] = len(baseline_models(opts.baseline, opts.dedup))
    order = {s: i for i, s in enumerate(ER_SHIFTS)}
    return pts.sort_values("shift", key=lambda s: s.map(order))[CARD_COLUMNS].reset_index(drop=True)


@lru_cache(maxsize=1)
def zoo_members() -> dict[str, frozenset[str]]:
    """ER-table ids of the zoo's models per group (the published ids of each zoo entry)."""
    return {g: frozenset(p for e in zoo.collection(g) for p in zoo.published_ids(e)) for g in RANK_SHIFT}


def rank_population(group: str, opts: EROptions = EROptions()) -> pd.Series:
    """ER (on :data:`RANK_SHIFT` of ``group``) of the zoo's models of ``group`` that the ER tables cover."""
    f = er_frame(opts)
    f = f[(f["shift"] == RANK_SHIFT[group]) & f["model"].isin(zoo_members()[group])]
    return f.set_index("model")["er"]


def ranks(card: pd.DataFrame, opts: EROptions = EROptions()) -> pd.DataFrame:
    """Rank of the card's ER among the zoo's models of each group (1 = highest ER; ties in its favour)."""
    rows = []
    mine = card.set_index("shift")["er"]
    for group, shift in RANK_SHIFT.items():
        pop = rank_population(group, opts)
        value = float(mine.get(shift, np.nan))
        rank = int((pop > value).sum()) + 1 if np.isfinite(value) else None
        rows.append({"population": group, "shift": shift, "er": value, "rank": rank, "of": len(pop) + 1,
                     "zoo_median": float(pop.median()), "zoo_min": float(pop.min()), "zoo_max": float(pop.max())})
    return pd.DataFrame(rows)
