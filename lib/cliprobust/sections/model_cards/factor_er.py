"""Section 09, the factor-ER property: mean factor-level ER over the 10 ImageNet-X factors of Tu et
al. §4.1, with an interval that includes image noise.

The draws are the visual-factors section's C1 draws (:class:`..visual_factors.lines.FactorDesign`):
the factor lines refitted on resampled baseline models (:meth:`FactorDesign.lines`) × each model's
factor and overall accuracies redrawn over images (:func:`..visual_factors.lines.accuracy_draws`:
binomial from the published accuracy and the factor's image count; a paired bootstrap over images
for model-vs-human's CLIP ViT-B/16, whose per-image decisions exist). The CLIP rows use
:meth:`FactorDesign.row_er` itself, so their per-factor bounds are C1's.

The card's interval is the percentile interval of the mean over factors of the joint draws (one
line refit per draw for all 10 factors): ImageNet-X gives each annotated image one top factor, so the
factors' image sets are disjoint and their image draws independent (checked: :func:`factors_disjoint`).
Where they are not disjoint the joint image noise is unknown and the interval is the mean of the
per-factor bounds instead (the interval of the mean under comonotone draws: conservative). The
overall accuracy is drawn independently of the factor accuracies although it counts the same images;
its positive correlation with them would narrow the ER draws, so leaving it out errs wide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...metrics import factors as F
from ...metrics import stats
from ..visual_factors.lines import FactorDesign, accuracy_draws
from ..visual_factors.tables import CLIP_ROWS, DEFAULT_BASELINE, PAPER_FACTORS

#: What the interval of ``factor_er:mean`` covers (the card's ``interval`` column), by whether the factors'
#: image sets are disjoint (joint draws) or not (mean of per-factor bounds), and without image noise.
FACTOR_INTERVAL: dict[bool, str] = {
    True: "baseline models resampled x image sampling of every accuracy (C1's draws; factors on disjoint images)",
    False: "mean of per-factor bounds (baseline models resampled x image sampling; conservative across factors)"}
FACTOR_INTERVAL_NO_IMAGES = "baseline models resampled only (no image noise)"


def factors_disjoint(annotations: pd.DataFrame) -> bool:
    """Whether every annotated image carries at most one of the 10 paper factors (then the factors'
    accuracies are measured on disjoint images and their image-sampling errors are independent)."""
    return bool((annotations[list(PAPER_FACTORS)].sum(axis=1) <= 1).all())


def mean_interval(draws: np.ndarray, disjoint: bool) -> tuple[float, float]:
    """95 % interval of the mean over factors from (B, 10) draws: of the joint draws' mean when the
    factors are on disjoint images, else the mean of the per-factor bounds (module docstring)."""
    if disjoint:
        low, high = stats.percentile_interval(draws.mean(axis=1))
        return float(low), float(high)
    low, high = stats.percentile_interval(draws)
    return float(low.mean()), float(high.mean())


def row_factor_er(design: FactorDesign, model: str, baseline: str = DEFAULT_BASELINE, image_noise: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(10,) factor ER of any row ``model`` of the design's table and its (B, 10) draws: the CLIP
    rows through :meth:`FactorDesign.row_er` (C1's draws), every other row with the same lines and
    binomial image draws of its published accuracies."""
    clip_key = {r.model: k for k, r in CLIP_ROWS.items()}.get(model)
    if clip_key is not None:
        return design.row_er(clip_key, baseline, image_noise)
    row, fit = design.table.loc[model], design.lines(baseline)
    acc, avg = row[list(PAPER_FACTORS)].to_numpy(float), float(row[F.AVERAGE])
    er = acc - fit.predict(avg)
    if not image_noise:
        return er, acc - fit.predict(np.full(design.n_boot, avg), boot=True)
    fac, avg_d = accuracy_draws(row, design.counts, len(design.annotations), None, None, design.n_boot, design.seed)
    return er, fac - fit.predict(avg_d, boot=True)


def mean_factor_er(design: FactorDesign, models: list[str] | None = None, baseline: str = DEFAULT_BASELINE,
                   image_noise: bool = True) -> pd.DataFrame:
    """Per model (default: every table row with all 10 factors): ``model, value, low, high,
    interval`` -- the mean factor ER over the 10 paper factors and its 95 % interval (module docstring)."""
    cols = [*PAPER_FACTORS, F.AVERAGE]
    if models is None:
        models = list(design.table.index[design.table[cols].notna().all(axis=1)])
    disjoint = factors_disjoint(design.annotations)
    out = []
    for m in models:
        er, draws = row_factor_er(design, m, baseline, image_noise)
        out.append((m, float(er.mean()), *mean_interval(draws, disjoint)))
    frame = pd.DataFrame(out, columns=["model", "value", "low", "high"])
    return frame.assign(interval=FACTOR_INTERVAL[disjoint] if image_noise else FACTOR_INTERVAL_NO_IMAGES)
