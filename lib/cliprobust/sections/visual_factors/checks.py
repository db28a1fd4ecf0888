"""Notebook 02, checks of the noise model behind C1: is binomial noise on a CLIP row a fair stand-in for
the image noise of its ER (:func:`image_noise_check`), and how far apart are two published evaluations
of the same weights (:func:`evaluation_agreement`, the measured floor of evaluation noise that sets
C1's margin)?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import published
from ...metrics import factors as F
from ...metrics import stats
from .lines import FactorDesign, c1_factor_tests, paired_means
from .tables import CLIP_ROWS, PAPER_FACTORS, SAME_WEIGHTS, mvh_clip_correct

#: Columns of :func:`evaluation_agreement`.
AGREEMENT_COLUMNS: tuple[str, ...] = ("weights", "factor", "n_images", "acc_testbed", "acc_mvh", "acc_diff", "acc_se",
                                      "er_testbed", "er_mvh", "sign_testbed", "sign_mvh", "sign_flip")


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
    means = paired_means(np.vstack([c[None], base]), a, n_boot, seed)  # (B, 5, 10)
    diff = means[:, 0] - means[:, 1:].mean(axis=1)
    n = a.sum(axis=0)
    p = (c @ a) / n
    binom = np.sqrt(p * (1 - p) / n)
    sd = diff.std(axis=0, ddof=1)
    return pd.DataFrame({"factor": list(PAPER_FACTORS), "n_images": n.astype(int), "binomial_sd": binom,
                         "paired_diff_sd": sd, "ratio": sd / binom})


def evaluation_agreement(design: FactorDesign) -> pd.DataFrame:
    """The two published evaluations of the same OpenAI weights (testbed vs model-vs-human rows), per
    factor: accuracies, their difference, ER and sign under the default protocol, and the binomial
    SE of one accuracy (the image-sampling scale; both rows use the same images, so their difference
    is evaluation-pipeline noise, a measured floor for any factor-level comparison)."""
    parts = []
    for a, b in SAME_WEIGHTS:
        if not {CLIP_ROWS[a].model, CLIP_ROWS[b].model} <= set(design.table.index):
            continue  # a table without both evaluations (e.g. a synthetic test table): nothing to compare
        ta, tb = (c1_factor_tests(design, k).set_index("factor") for k in (a, b))
        parts.append(pd.DataFrame({
            "weights": CLIP_ROWS[a].label, "factor": ta.index, "n_images": ta["n_images"].to_numpy(),
            "acc_testbed": ta["acc"].to_numpy(), "acc_mvh": tb["acc"].to_numpy(),
            "acc_diff": (tb["acc"] - ta["acc"]).to_numpy(),
            "acc_se": np.sqrt(ta["acc"] * (1 - ta["acc"]) / ta["n_images"]).to_numpy(),
            "er_testbed": ta["er"].to_numpy(), "er_mvh": tb["er"].to_numpy(),
            "sign_testbed": ta["sign"].to_numpy(), "sign_mvh": tb["sign"].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=list(AGREEMENT_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["sign_flip"] = np.sign(out["er_testbed"]) != np.sign(out["er_mvh"])
    return out


def agreement_summary(agree: pd.DataFrame) -> pd.DataFrame:
    """Per weights: mean and max |Δ factor accuracy| between the two evaluations, the factors whose ER
    sign flips, and how many factors' verdict (sign under the per-factor test) differs."""
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
