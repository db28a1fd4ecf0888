"""Two checks of notebook 01 that the published tables newly allow (no claim of their own).

- :func:`matched_accuracy` -- Fang et al.'s side-by-side comparison of an ImageNet model and a CLIP
  model at the same ImageNet top-1;
- :func:`evaluation_agreement` -- two published evaluations of the same OpenAI weights: a measured
  floor of evaluation noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...metrics import stats
from ...runs import Run
from .options import ID_TEST_SET, Options
from .tables import baseline_models, cached_frame, clip_members, model_table, test_set_sizes

#: Matched-accuracy pairs: a CLIP model and the baseline model closest in ImageNet top-1, kept when
#: within this many accuracy points (Fang et al. 2022 compare models at equal ImageNet accuracy).
MATCH_TOLERANCE = 0.01


def matched_accuracy(run: Run = Run(), tolerance: float = MATCH_TOLERANCE) -> pd.DataFrame:
    """Fang et al.'s matched-accuracy comparison: each CLIP model of the run's set with the baseline
    model nearest in ImageNet top-1 (within ``tolerance``), their accuracies side by side.

    Columns: ``clip_model``, ``imagenet_model``, ``pretrain_data``, ``imagenet_clip``,
    ``imagenet_base``, then per shift ``<shift>_clip``, ``<shift>_base``, ``<shift>_gap`` (clip − base).
    """
    opts = run.options_for(Options)
    mt = model_table(opts.dedup).set_index("model")
    clip = mt.loc[clip_members(cached_frame(opts), opts.model_set)]
    base = mt.loc[baseline_models(opts.baseline, opts.dedup)]
    rows = []
    for m, r in clip.iterrows():
        dist = (base[ID_TEST_SET] - r[ID_TEST_SET]).abs()
        b = dist.idxmin()
        if dist[b] > tolerance:
            continue
        row = {"clip_model": m, "imagenet_model": b, "pretrain_data": r["pretrain_data"],
               "imagenet_clip": r[ID_TEST_SET], "imagenet_base": base.loc[b, ID_TEST_SET]}
        for s in opts.shifts:
            row |= {f"{s}_clip": r[s], f"{s}_base": base.loc[b, s], f"{s}_gap": r[s] - base.loc[b, s]}
        rows.append(row)
    return pd.DataFrame(rows)


def matched_gap_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean shift-accuracy gap (CLIP − matched ImageNet model) per shift over the matched pairs,
    with a percentile interval from resampling pairs (``stats.bootstrap``)."""
    rows = []
    for col in [c for c in table.columns if c.endswith("_gap")]:
        gap = table[col].dropna().to_numpy(float)
        iv = stats.bootstrap(np.mean, gap) if gap.size > 1 else stats.Interval(float(np.mean(gap)), np.nan, np.nan)
        rows.append({"shift": col.removesuffix("_gap"), "n_pairs": gap.size, "gap_mean": iv.value,
                     "ci_low": iv.low, "ci_high": iv.high})
    return pd.DataFrame(rows)


#: Pairs of rows that are two published evaluations of the same OpenAI CLIP weights.
SAME_WEIGHTS: tuple[tuple[str, str], ...] = (
    ("testbed:resnet50_clip_zeroshot", "open_clip:RN50/openai"),
    ("testbed:vit_b_32_clip_zeroshot", "open_clip:ViT-B-32/openai"),
    ("scaling:ViT-B-32/openai", "open_clip:ViT-B-32/openai"),
    ("scaling:ViT-B-16/openai", "open_clip:ViT-B-16/openai"),
    ("scaling:ViT-L-14/openai", "open_clip:ViT-L-14/openai"),
)


def evaluation_agreement(run: Run = Run()) -> pd.DataFrame:
    """Two published evaluations of the same weights, per test set: accuracies, their difference
    (pp), the binomial standard error of ONE evaluation (pp) and the ER difference under the run's
    options. Differences beyond sampling error are pipeline differences (prompts, crops, class
    heads; ObjectNet: 113-name head vs mapped logits with crop between testbed and open_clip)."""
    opts = run.options_for(Options)
    mt = model_table(opts.dedup).set_index("model")
    er = cached_frame(opts).set_index(["model", "shift"])["er"]
    sizes = test_set_sizes()
    rows = []
    for a, b in SAME_WEIGHTS:
        for t in (ID_TEST_SET, *opts.shifts):
            pa, pb = mt.loc[a, t], mt.loc[b, t]
            se = np.sqrt(pb * (1 - pb) / sizes[t])
            rows.append({"model_a": a, "model_b": b, "test_set": t, "acc_a": pa, "acc_b": pb,
                         "diff_pp": 100 * (pa - pb), "se_pp": 100 * se,
                         "er_diff_pp": 100 * (er.get((a, t), np.nan) - er.get((b, t), np.nan))})
    return pd.DataFrame(rows)
