"""Notebook 02, factor-level effective robustness: per factor, a logit-space line of factor accuracy on
overall accuracy over baseline models; ER = factor accuracy − line (:mod:`cliprobust.metrics.factors`).

Per CLIP row, the ER draws behind C1 cover two sources of error: the baseline models (resampled
with replacement, line refit) and the images (the CLIP row's factor and overall accuracy redrawn: a
paired bootstrap over images where per-image decisions exist, binomial draws from the published
accuracy and the factor's image count otherwise). Also: the two published evaluations of the same
weights (the floor of evaluation noise), the Tu-style group view, error ratios.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from ... import published
from ...metrics import factors as F
from ...metrics import stats
from .tables import (ALPHA, C1_MIN_POSITIVE, CLIP_ROWS, DEFAULT_BASELINE, DEFAULT_CLIP_MODEL, DEFAULT_CORRECTION,
                     DEFAULT_IMAGE_NOISE, DEFAULT_MIN_EFFECT, MVH_CLIP, MVH_PREFIX, PAPER_FACTORS, SAME_WEIGHTS,
                     SCATTER_GROUPS, annotations_by_file, baseline_ids, factor_counts, factor_table, model_families,
                     mvh_clip_correct)

def factor_er_frame(table: pd.DataFrame | None = None, annotations: pd.DataFrame | None = None,
                    baseline: str = DEFAULT_BASELINE, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
                    ) -> pd.DataFrame:
    """Tidy factor-level ER of every model of ``table`` against ``baseline`` on the 10 paper factors,
    CIs from resampling baseline models only (the uncertainty of the line; C1's intervals add the
    images: :func:`c1_factor_tests`).

    Columns of :func:`~cliprobust.metrics.factors.factor_er_table` plus ``family``, ``label``,
    ``n_images``, ``acc_se`` (binomial SE of the factor accuracy) and ``sign`` (``+`` if ci_low > 0,
    ``-`` if ci_high < 0, else ``0``). Default ``table``: :func:`factor_table`.
    """
    ann = annotations_by_file() if annotations is None else annotations
    tab = factor_table(ann) if table is None else table
    er = F.factor_er_table(tab, baseline_ids(tab, baseline), n_boot=n_boot, seed=seed)
    counts = factor_counts(ann)
    er["family"] = model_families(er["model"])
    er["label"] = er["model"].map({r.model: r.label for r in CLIP_ROWS.values()}).fillna(er["model"])
    er["n_images"] = er["factor"].map(counts).astype(int)
    er["acc_se"] = np.sqrt(er["ood_acc"] * (1 - er["ood_acc"]) / er["n_images"])
    er["sign"] = np.select([er["ci_low"] > 0, er["ci_high"] < 0], ["+", "-"], "0")
    return er


def _accuracy_draws(row: pd.Series, counts: pd.Series, n_total: int, correct: pd.Series | None,
                    annotations: pd.DataFrame | None, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, 10) factor-accuracy and (B,) overall-accuracy draws of one CLIP row: a paired bootstrap
    over images when per-image ``correct`` is given, else binomial draws from the published values."""
    factors = list(counts.index)
    if correct is None:
        fac = stats.binomial_draws(row[factors].to_numpy(float), counts.to_numpy(), n_boot, seed + 1)
        avg = stats.binomial_draws(float(row[F.AVERAGE]), n_total, n_boot, seed + 2)
        return fac, avg
    c = correct.reindex(annotations.index).to_numpy(float)
    a = annotations[factors].to_numpy(float)
    fac, avg = np.empty((n_boot, len(factors))), np.empty(n_boot)
    for b, (w,) in enumerate(stats.resample_counts((c.size,), n_boot, seed + 1)):
        fac[b] = ((w * c) @ a) / (w @ a)
        avg[b] = (w @ c) / w.sum()
    return fac, avg


def c1_factor_tests(table: pd.DataFrame, annotations: pd.DataFrame, clip_model: str = DEFAULT_CLIP_MODEL,
                    baseline: str = DEFAULT_BASELINE, image_noise: bool = DEFAULT_IMAGE_NOISE,
                    correction: str = DEFAULT_CORRECTION, min_effect: float = DEFAULT_MIN_EFFECT,
                    n_boot: int = stats.N_BOOT, seed: int = stats.SEED, correct: pd.Series | None = None
                    ) -> pd.DataFrame:
    """Per factor of one CLIP row: ER against the ``baseline`` line, its interval and test.

    Rows (factor, model, label, baseline, n_baseline, n_images, acc, er, low, high, p, p_adj, sign);
    ``sign`` is ``+``/``-`` when ``p_adj < ALPHA`` and |ER| ≥ ``min_effect``. Draws: baseline models
    resampled (line refit per draw) × the CLIP row's accuracies redrawn (``image_noise``; per-image
    ``correct`` of the ViT-B/16 row gives a paired image bootstrap, read automatically). Also carries
    ``kth_er`` [``kth_low``, ``kth_high``]: the ER of the row's C1_MIN_POSITIVE-th most robust factor
    (the rule's "6 of 10" as one number) between the C1_MIN_POSITIVE-th largest of the factors'
    simultaneous bounds (Bonferroni level 1 − α/10 under ``holm``, 1 − α without a correction), so
    ``kth_low > 0`` exactly when ≥ 6 factors are significantly positive at that level (Holm, the
    rule's test, rejects at least as often). Baseline models with a factor accuracy of 0 or 1 are
    dropped (infinite in logit space).
    """
    if correction not in ("holm", "none"):
        raise ValueError(f"correction must be 'holm' or 'none', got {correction!r}")
    row_info = CLIP_ROWS[clip_model]
    factors = list(PAPER_FACTORS)
    base = table.loc[baseline_ids(table, baseline)]
    inside = base[[F.AVERAGE, *factors]].gt(0).all(axis=1) & base[[F.AVERAGE, *factors]].lt(1).all(axis=1)
    base = base[inside]  # as robustness.DROP_DEGENERATE: 0 or 1 sits at ±inf in logit space
    row = table.loc[row_info.model]
    counts = factor_counts(annotations)
    x, ys = special.logit(base[F.AVERAGE].to_numpy(float)), special.logit(base[factors].to_numpy(float))
    idx = stats.resample_indices(len(base), n_boot, seed)
    xb, yb = x[idx], ys[idx]  # (B, m), (B, m, k)
    dx = xb - xb.mean(axis=1, keepdims=True)
    slope = (dx[:, :, None] * (yb - yb.mean(axis=1, keepdims=True))).sum(axis=1) / (dx ** 2).sum(axis=1)[:, None]
    icpt = yb.mean(axis=1) - slope * xb.mean(axis=1)[:, None]
    coef = np.polyfit(x, ys, 1)  # (2, k): the line on all baseline models
    acc, avg = row[factors].to_numpy(float), float(row[F.AVERAGE])
    er = acc - special.expit(coef[0] * special.logit(avg) + coef[1])
    if image_noise:
        if correct is None and row_info.model == MVH_CLIP:
            correct = mvh_clip_correct(annotations)
        fac_d, avg_d = _accuracy_draws(row, counts, len(annotations), correct, annotations, n_boot, seed)
    else:
        fac_d, avg_d = np.broadcast_to(acc, (n_boot, len(factors))), np.full(n_boot, avg)
    lx = special.logit(np.clip(avg_d, 1e-6, 1 - 1e-6))[:, None]
    draws = fac_d - special.expit(slope * lx + icpt)
    low, high = stats.percentile_interval(draws)
    p = stats.bootstrap_p(er, draws)
    p_adj = stats.holm(p) if correction == "holm" else p
    sig = (p_adj < ALPHA) & (np.abs(er) >= min_effect)
    sign = np.where(sig & (er > 0), "+", np.where(sig & (er < 0), "-", "0"))
    # the 6th most robust factor, with the 6th largest of the factors' simultaneous (Bonferroni, level
    # 1 − α/10 under a correction) bounds: kth_low > 0 ⇔ ≥ 6 factors significantly > 0 family-wise
    sim_low, sim_high = stats.percentile_interval(draws, 1 - ALPHA / len(factors) if correction == "holm"
                                                  else 1 - ALPHA)
    kth_low, kth_high = np.sort(sim_low)[::-1][C1_MIN_POSITIVE - 1], np.sort(sim_high)[::-1][C1_MIN_POSITIVE - 1]
    return pd.DataFrame({"factor": factors, "model": row_info.model, "label": row_info.label, "baseline": baseline,
                         "n_baseline": len(base), "n_images": counts.to_numpy(), "acc": acc, "er": er, "low": low,
                         "high": high, "p": p, "p_adj": p_adj, "sign": sign,
                         "kth_er": float(np.sort(er)[::-1][C1_MIN_POSITIVE - 1]), "kth_low": float(kth_low),
                         "kth_high": float(kth_high)})


def image_noise_check(annotations: pd.DataFrame, n_boot: int = 400, seed: int = stats.SEED) -> pd.DataFrame:
    """Is the binomial image noise of a CLIP row alone a fair stand-in for the image noise of its ER?

    The ER compares CLIP with a line over ImageNet models measured on the same images, so the
    right image noise is that of the paired difference. Where per-image decisions exist (ViT-B/16 and
    the 4 ImageNet-X base models), per factor: the binomial SD of the CLIP accuracy, the paired-
    bootstrap SD of (CLIP − mean of the 4 base models), and their ratio (< 1: binomial overstates)."""
    c = mvh_clip_correct(annotations).to_numpy(float)
    base = np.stack([F.is_correct(published.imagenetx_predictions(n).set_index("file_name")["predicted_class"],
                                  annotations["label"]).to_numpy(float) for n in published.IMAGENETX_PREDICTION_MODELS])
    a = annotations[list(PAPER_FACTORS)].to_numpy(float)
    diff = np.empty((n_boot, a.shape[1]))
    for b, (w,) in enumerate(stats.resample_counts((c.size,), n_boot, seed)):
        den = w @ a
        diff[b] = ((w * c) @ a) / den - (((w * base) @ a) / den).mean(axis=0)
    n = a.sum(axis=0)
    p = (c @ a) / n
    binom = np.sqrt(p * (1 - p) / n)
    sd = diff.std(axis=0, ddof=1)
    return pd.DataFrame({"factor": list(PAPER_FACTORS), "n_images": n.astype(int), "binomial_sd": binom,
                         "paired_diff_sd": sd, "ratio": sd / binom})


def evaluation_agreement(table: pd.DataFrame, annotations: pd.DataFrame, n_boot: int = stats.N_BOOT
                         ) -> pd.DataFrame:
    """The two published evaluations of the same OpenAI weights (testbed vs model-vs-human rows), per
    factor: accuracies, their difference, ER and sign under the headline protocol, and the binomial
    SE of one accuracy (the image-sampling scale; both rows use the same images, so their difference
    is evaluation-pipeline noise, a measured floor for any factor-level comparison)."""
    parts = []
    for a, b in SAME_WEIGHTS:
        if not {CLIP_ROWS[a].model, CLIP_ROWS[b].model} <= set(table.index):
            continue  # a table without both evaluations (e.g. a synthetic test table): nothing to compare
        ta, tb = (c1_factor_tests(table, annotations, k, n_boot=n_boot).set_index("factor") for k in (a, b))
        parts.append(pd.DataFrame({
            "weights": CLIP_ROWS[a].label, "factor": ta.index, "n_images": ta["n_images"].to_numpy(),
            "acc_testbed": ta["acc"].to_numpy(), "acc_mvh": tb["acc"].to_numpy(),
            "acc_diff": (tb["acc"] - ta["acc"]).to_numpy(),
            "acc_se": np.sqrt(ta["acc"] * (1 - ta["acc"]) / ta["n_images"]).to_numpy(),
            "er_testbed": ta["er"].to_numpy(), "er_mvh": tb["er"].to_numpy(),
            "sign_testbed": ta["sign"].to_numpy(), "sign_mvh": tb["sign"].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["weights", "factor", "n_images", "acc_testbed", "acc_mvh", "acc_diff", "acc_se",
                                     "er_testbed", "er_mvh", "sign_testbed", "sign_mvh", "sign_flip"])
    out = pd.concat(parts, ignore_index=True)
    out["sign_flip"] = np.sign(out["er_testbed"]) != np.sign(out["er_mvh"])
    return out


def agreement_summary(agree: pd.DataFrame) -> pd.DataFrame:
    """Per weights: mean and max |Δ factor accuracy| between the two evaluations, the factors whose ER
    sign flips, and how many factors' verdict (sign under the rule) differs."""
    if agree.empty:
        return pd.DataFrame(columns=["weights", "mean_abs_acc_diff", "max_abs_acc_diff", "er_sign_flips",
                                     "verdict_differs"])
    g = agree.groupby("weights", sort=False)
    return pd.DataFrame({
        "mean_abs_acc_diff": g["acc_diff"].apply(lambda d: d.abs().mean()),
        "max_abs_acc_diff": g["acc_diff"].apply(lambda d: d.abs().max()),
        "er_sign_flips": g.apply(lambda d: ", ".join(d.loc[d["sign_flip"], "factor"]), include_groups=False),
        "verdict_differs": g.apply(lambda d: int((d["sign_testbed"] != d["sign_mvh"]).sum()), include_groups=False),
    }).reset_index()



# --------------------------------------------------------------------------- group view (Tu-style scatter)


def scatter_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long (model, group, factor, imagenet_acc, factor_acc) over the testbed table and the CLIP rows;
    ``group`` is the testbed type (:data:`SCATTER_GROUPS`, else ``other``) or ``clip-zeroshot``."""
    fam = model_families(pd.Series(table.index, index=table.index))
    keep = ~table.index.str.startswith(MVH_PREFIX) | table.index.isin([r.model for r in CLIP_ROWS.values()])
    tab = table[keep]
    grp = fam[keep].where(fam[keep].isin([*SCATTER_GROUPS, "clip-zeroshot"]), "other")
    long = tab[list(PAPER_FACTORS)].rename_axis("model").reset_index().melt(
        id_vars="model", var_name="factor", value_name="factor_acc")
    long["imagenet_acc"] = long["model"].map(tab[F.AVERAGE])
    long["group"] = long["model"].map(grp)
    return long[["model", "group", "factor", "imagenet_acc", "factor_acc"]]


def group_er_table(er: pd.DataFrame, groups: Sequence[str] = SCATTER_GROUPS) -> pd.DataFrame:
    """Per testbed group and factor: mean ER against the STANDARD line with a 95 % interval from
    resampling the group's models, and n models (MORE_DATA and other groups as Tu-style context)."""
    rows = []
    for (grp, fac), d in er[er["family"].isin(groups)].groupby(["family", "factor"], sort=False):
        v = d["er"].to_numpy(float)
        ci = stats.bootstrap(np.mean, v) if v.size >= 3 else stats.Interval(float(v.mean()), np.nan, np.nan)
        rows.append({"group": grp, "factor": fac, "n_models": v.size, "mean_er": ci.value, "low": ci.low,
                     "high": ci.high})
    return pd.DataFrame(rows)


def baseline_lines(table: pd.DataFrame, baseline: str = DEFAULT_BASELINE) -> pd.DataFrame:
    """Per factor: slope, intercept (logit space), Pearson r and n of the baseline line."""
    base = table.loc[baseline_ids(table, baseline)]
    x = special.logit(base[F.AVERAGE].to_numpy(float))
    rows = []
    for f in PAPER_FACTORS:
        y = special.logit(base[f].to_numpy(float))
        slope, icpt = np.polyfit(x, y, 1)
        rows.append({"factor": f, "slope": slope, "intercept": icpt, "r": float(np.corrcoef(x, y)[0, 1]),
                     "n": x.size})
    return pd.DataFrame(rows)


def error_ratio_frame(table: pd.DataFrame, fam: pd.Series | None = None) -> pd.DataFrame:
    """Tidy (model, family, factor, accuracy, error_ratio) on the paper factors (ImageNet-X §4 error ratio)."""
    er = F.error_ratio(table, F.PAPER_FACTORS).rename_axis("model").reset_index()
    long = er.melt(id_vars="model", var_name="factor", value_name="error_ratio")
    acc = table[list(F.PAPER_FACTORS)].rename_axis("model").reset_index().melt(
        id_vars="model", var_name="factor", value_name="accuracy")
    out = acc.merge(long, on=["model", "factor"])
    out.insert(1, "family", model_families(out["model"]) if fam is None else out["model"].map(fam))
    return out


def group_summary(ratio: pd.DataFrame, baseline: Sequence[str],
                  clip_keys: Sequence[str] = ("vit-b-32", "rn50", "vit-b-16")) -> pd.DataFrame:
    """Per factor: the CLIP rows' accuracy / error ratio next to the baseline models' median and IQR."""
    base = ratio[ratio["model"].isin(baseline)].groupby("factor")[["accuracy", "error_ratio"]]
    q = base.quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = [f"baseline_{m}_q{int(p * 100)}" for m, p in q.columns]
    ids = {CLIP_ROWS[k].model: CLIP_ROWS[k].label for k in clip_keys}
    clip = ratio[ratio["model"].isin(ids)].pivot(index="factor", columns="model", values=["accuracy", "error_ratio"])
    clip.columns = [f"{m} {ids[c]}" for m, c in clip.columns]
    return q.join(clip).reindex(list(F.PAPER_FACTORS)).reset_index()

