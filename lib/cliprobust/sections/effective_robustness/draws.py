"""Bootstrap draws of notebook 01: every interval of the section is built from them.

:func:`er_draws` gives (N_BOOT, models) ER draws under one :class:`~.options.Options`: baseline
models resampled (the line's uncertainty) AND every accuracy redrawn with its binomial
image-sampling error. :func:`group_interval` adds the resampling of a group's members,
:func:`cluster_draws_interval` the resampling of clusters (weight sets, pre-training sources).
Every resampling goes through :mod:`cliprobust.metrics.stats`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd

from ...metrics import robustness, stats
from .options import (
    BASELINES, DEDUP_TWINS, ER_SHIFTS, FT_SHIFTS, ID_TEST_SET, MEAN_OF_SHIFT_ER, MEAN_SHIFT, MEAN_SHIFT_4,
    SHIFT_ID, Options,
)
from .tables import ACC_COLUMNS, baseline_models, cached_frame, model_table, test_set_sizes

def _accuracy_draws(acc: pd.DataFrame, image_noise: bool) -> dict[str, np.ndarray]:
    """(N_BOOT, models) draws of every accuracy column: binomial image-sampling draws
    (``stats.binomial_draws``, one seed per column so columns are independent) or the point values."""
    sizes = test_set_sizes()
    out = {}
    for i, col in enumerate(acc.columns):
        p = acc[col].to_numpy(float)
        if image_noise:
            d = stats.binomial_draws(np.nan_to_num(p), sizes[col], seed=stats.SEED + 1 + i)
            d[:, np.isnan(p)] = np.nan
        else:
            d = np.broadcast_to(p, (stats.N_BOOT, p.size))
        out[col] = d
    return out


def _shift_er_draws(x: np.ndarray, y: np.ndarray, base: np.ndarray,
                    transform: robustness.Transform = robustness.LOGIT) -> np.ndarray:
    """ER draws of every model under lines fitted, draw by draw, to resampled baseline models.

    ``x``, ``y``: (N_BOOT, models) accuracy draws; ``base``: column positions of the baseline
    models (non-degenerate, both accuracies present). Row b of ``stats.resample_indices`` picks the
    baseline models of draw b (the same rows ``robustness.bootstrap_lines`` draws, so without image
    noise the per-model intervals equal :func:`er_frame`'s).
    """
    idx = base[stats.resample_indices(base.size)]
    bx, by = np.take_along_axis(x, idx, axis=1), np.take_along_axis(y, idx, axis=1)
    slope, icpt = robustness.ols_rows(transform(bx), transform(by))
    pred = transform.inverse(slope[:, None] * transform(x) + icpt[:, None])
    return y - pred


def _base_positions(frame_rows: pd.DataFrame, models: pd.Index) -> np.ndarray:
    """Positions in ``models`` of the non-degenerate baseline rows of one shift (``DROP_DEGENERATE``)."""
    b = frame_rows[frame_rows["in_baseline"]]
    keep = (b["id_acc"] > 0) & (b["id_acc"] < 1) & (b["ood_acc"] > 0) & (b["ood_acc"] < 1)
    return models.get_indexer(b.loc[keep, "model"])


@lru_cache(maxsize=4)
def _model_accuracy_draws(dedup: str, image_noise: bool) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Accuracy draws of every model of the table (shared by all protocols of one ``dedup``)."""
    mt = model_table(dedup).set_index("model")
    return mt.index, _accuracy_draws(mt[ACC_COLUMNS], image_noise)


def model_accuracy_draws(dedup: str = DEDUP_TWINS, image_noise: bool = True
                         ) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Model ids of the table and (N_BOOT, models) draws of every accuracy column (binomial
    image-sampling error; the point values without ``image_noise``). Cached and shared: read only."""
    return _model_accuracy_draws(dedup, image_noise)


@lru_cache(maxsize=8)
def _all_draws(options: Options, image_noise: bool) -> dict[str, pd.DataFrame]:
    frame = cached_frame(options)
    models, acc = _model_accuracy_draws(options.dedup, image_noise)
    out = {}
    ys = {MEAN_SHIFT: np.mean([acc[s] for s in options.shifts], axis=0),
          MEAN_SHIFT_4: np.mean([acc[s] for s in FT_SHIFTS], axis=0)}
    xs = {**options.shift_id, MEAN_SHIFT: ID_TEST_SET, MEAN_SHIFT_4: ID_TEST_SET}
    for shift, xcol in xs.items():
        rows = frame[frame["shift"] == shift]
        have = models.get_indexer(rows["model"])
        y = ys.get(shift, acc.get(shift))
        d = _shift_er_draws(acc[xcol], y, _base_positions(rows, models), options.transform)
        out[shift] = pd.DataFrame(d[:, have], columns=rows["model"].to_numpy())
    return out


def er_draws(options: Options = Options(), shift: str = MEAN_SHIFT, image_noise: bool = True) -> pd.DataFrame:
    """(N_BOOT, models) ER draws of every model with ``shift`` under ``options``: baseline models
    resampled (the line's uncertainty) and, with ``image_noise``, every accuracy -- baseline's and
    model's, ID and OOD -- redrawn from its binomial image-sampling distribution."""
    return _all_draws(options.frame_options(), image_noise)[shift]


def group_interval(draws: pd.DataFrame, members: Sequence[str], point: pd.Series) -> stats.Interval:
    """Mean ER of ``members`` with a percentile interval whose draw b pairs ER draw b (line and
    image noise) with resample b of the members (which models happen to be in the group)."""
    d = draws[list(members)].to_numpy()
    means = np.take_along_axis(d, stats.resample_indices(d.shape[1]), axis=1).mean(axis=1)
    low, high = stats.percentile_interval(means)
    return stats.Interval(float(point[list(members)].mean()), float(low), float(high))


def group_summary(options: Options = Options(), image_noise: bool = True) -> pd.DataFrame:
    """Per (group, source, shift): ``n``, ``er_mean`` with its 95 % interval (``ci_low``,
    ``ci_high``: baseline models, group members and, with ``image_noise``, binomial image
    sampling), ``er_median``, ``er_std``; plus :data:`MEAN_OF_SHIFT_ER` for models with every shift."""
    frame = cached_frame(options)
    rows = []
    for shift in [s for s in ER_SHIFTS if s in set(frame["shift"])]:
        sub = frame[frame["shift"] == shift]
        rows += _summary_rows(sub, er_draws(options, shift, image_noise), shift)
    per_shift = [er_draws(options, s, image_noise) for s in options.shifts]
    common = sorted(set.intersection(*(set(d.columns) for d in per_shift)))
    mean_draws = sum(d[common] for d in per_shift) / len(per_shift)
    sub = frame[frame["shift"].isin(options.shifts) & frame["model"].isin(common)]
    point = sub.groupby("model")["er"].mean()
    meta = frame.drop_duplicates("model").set_index("model").loc[point.index, ["group", "source"]]
    rows += _summary_rows(meta.assign(er=point).reset_index(), mean_draws, MEAN_OF_SHIFT_ER)
    return pd.DataFrame(rows)


def _summary_rows(sub: pd.DataFrame, draws: pd.DataFrame, shift: str) -> list[dict]:
    point = sub.set_index("model")["er"]
    rows = []
    for (group, source), members in sub.groupby(["group", "source"], sort=True):
        iv = group_interval(draws, members["model"], point)
        er = point[members["model"]]
        rows.append({"group": group, "source": source, "shift": shift, "n": len(er), "er_mean": iv.value,
                     "ci_low": iv.low, "ci_high": iv.high, "er_median": float(er.median()),
                     "er_std": float(er.std(ddof=1)) if len(er) > 1 else float("nan")})
    return rows


def baseline_comparison() -> pd.DataFrame:
    """Group mean ER on :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4` under every baseline set, every
    model of the table (timm ImageNet-1k included; point values only, so the fits skip the
    bootstrap), wide: (group, source, shift) x ``n_<baseline>``, ``er_<baseline>``."""
    parts = []
    for name in BASELINES:
        mt = model_table(DEDUP_TWINS).set_index("model")
        acc = mt[ACC_COLUMNS]
        base = baseline_models(name)
        f = pd.concat([robustness.er_table(acc, {s: SHIFT_ID[s] for s in FT_SHIFTS}, base, n_boot=2),
                       robustness.er_of_mean_accuracy(acc, FT_SHIFTS, ID_TEST_SET, base, n_boot=2)
                       .assign(shift=MEAN_SHIFT_4)])
        f = f.join(mt[["group", "source"]], on="model")
        g = f.groupby(["group", "source", "shift"])["er"].agg(["size", "mean"])
        parts.append(g.rename(columns={"size": f"n_{name}", "mean": f"er_{name}"}))
    out = parts[0]
    for p in parts[1:]:
        out = out.join(p, how="inner")
    return out.reset_index()


def cluster_draws_interval(values: np.ndarray, draws: np.ndarray, clusters: np.ndarray) -> stats.Interval:
    """Mean over clusters of the cluster-mean ``values``, with an interval whose draw b averages
    row b of ``draws`` (N_BOOT, n: e.g. line and image noise) within clusters and resamples the
    clusters (``stats.resample_indices``). With constant rows it equals ``stats.cluster_mean_interval``."""
    names, codes = np.unique(clusters, return_inverse=True)
    per = np.stack([draws[:, codes == k].mean(axis=1) for k in range(len(names))], axis=1)
    means = np.take_along_axis(per, stats.resample_indices(len(names)), axis=1).mean(axis=1)
    low, high = stats.percentile_interval(means)
    point = np.mean([values[codes == k].mean() for k in range(len(names))])
    return stats.Interval(float(point), float(low), float(high))
