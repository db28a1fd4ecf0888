"""Section 07 -- outlier features ("Interpreting CLIP", TMLR 2024; claims C13, C14, C15 of PAPERS.md).

Robust zero-shot CLIP image encoders have *outlier features*: a few embedding dimensions with
activations far above the typical dimension, seen as high kurtosis (C13), and only the robust models
of the study have them (C14). Here: per cached model, the statistics of ``metrics.features``
(per-dimension kurtosis, mean |activation| ratio to the median dimension, outlier count) on the cached
image features, joined with the model's headline effective robustness from the published tables
(``sections.effective_robustness``, ``er_mean-shift-4``). C15 (unique concepts) needs a concept-probing
set and is never testable here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from .. import cache, prompts, published, zoo
from ..metrics import features as F
from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED


@dataclass(frozen=True)
class Plan:
    """Models (zoo selector) and the data set whose cached image features are analysed."""

    models: str
    dataset: str


#: Published/full profile: the paper zoo on ImageNet val (the paper measures features on ImageNet).
PAPER_PLAN = Plan("paper", published.IMAGENET)
#: Smoke profile: the random-init smoke models on the 100 shipped ImageNet images.
SMOKE_PLAN = Plan("smoke", "imagenet-sample")
#: Robust models of the study (zero-shot CLIP) and the less robust ones (same backbones, ImageNet-trained
#: or fine-tuned on ImageNet).
ROBUST_GROUPS: tuple[str, ...] = ("clip-zeroshot",)
LESS_ROBUST_GROUPS: tuple[str, ...] = ("imagenet", "clip-ft")
#: ER used to order models by robustness: ER of the mean accuracy over V2, R, Sketch, A (the 4 shifts
#: every zoo group has in the published tables), testbed baseline (notebook 01).
ER_COLUMN: str = "er_mean-shift-4"


def cache_plan(profile: str) -> Plan:
    """:data:`SMOKE_PLAN` for ``smoke``, else :data:`PAPER_PLAN`."""
    return SMOKE_PLAN if profile == "smoke" else PAPER_PLAN


def load_features(model: str, dataset: str, loader: Callable = cache.load) -> np.ndarray | None:
    """Cached image features of ``model`` on ``dataset`` (any prompt set: features do not depend on it),
    or None when there is no cache folder or no usable entry."""
    if not cache.slot_dir(model, dataset).is_dir():
        return None
    for ps in dict.fromkeys((prompts.default_prompt_set(), *prompts.PROMPT_SETS)):
        try:
            out = loader(model, dataset, ps)
        except cache.CacheMiss:
            continue
        return None if out.features is None else np.asarray(out.features, dtype=np.float64)
    return None


@lru_cache(maxsize=1)
def model_er() -> pd.Series:
    """Headline ER (:data:`ER_COLUMN`) per model id from the published tables (notebook 01)."""
    from .effective_robustness import per_model_table

    return per_model_table().set_index("model")[ER_COLUMN].dropna()


FEATURE_COLUMNS = ["model", "group", "pretrain_data", "n_samples", "n_dims", "mean_kurtosis", "max_kurtosis",
                   "mean_sample_kurtosis", "flat_kurtosis", "max_activation_ratio", "n_outliers", "er"]


def feature_table(models: Sequence[str], dataset: str, loader: Callable = cache.load,
                  er: pd.Series | None = None) -> tuple[pd.DataFrame, list[str]]:
    """(:func:`metrics.features.feature_summary` per cached model with group and published ER, models
    without features). Random-init models (``pretrained`` None) get no ER."""
    er = model_er() if er is None else er
    rows, missing = [], []
    for m in models:
        f = load_features(m, dataset, loader)
        if f is None:
            missing.append(m)
            continue
        e = zoo.get(m)
        # random-init entries share an id with published weights (timm test models): their ER is not theirs
        er_m = float(er.get(m, np.nan)) if e.pretrained is not None else np.nan
        rows.append({"model": m, "group": e.group, "pretrain_data": e.pretrain_data or "none",
                     **F.feature_summary(f), "er": er_m})
    return pd.DataFrame(rows, columns=FEATURE_COLUMNS), missing


def activation_profile(features: np.ndarray) -> np.ndarray:
    """Activation ratios of all dimensions, sorted descending (for the figure)."""
    return np.sort(F.activation_ratio(features))[::-1]


#: Seeded synthetic check of the detector: i.i.d. Gaussian features, and the same with
#: :data:`SYNTHETIC_PLANTED` dimensions scaled by :data:`SYNTHETIC_SCALE` (planted outlier features).
SYNTHETIC_SHAPE: tuple[int, int] = (1000, 512)
SYNTHETIC_PLANTED: int = 4
SYNTHETIC_SCALE: float = 30.0
SYNTHETIC_SEED: int = 0


def synthetic_check(seed: int = SYNTHETIC_SEED) -> pd.DataFrame:
    """``feature_summary`` of Gaussian features without and with planted outlier dimensions."""
    g = np.random.default_rng(seed).standard_normal(SYNTHETIC_SHAPE)
    planted = g.copy()
    planted[:, :SYNTHETIC_PLANTED] *= SYNTHETIC_SCALE
    return pd.DataFrame([{"features": "gaussian", **F.feature_summary(g)},
                         {"features": f"gaussian + {SYNTHETIC_PLANTED} dims x{SYNTHETIC_SCALE:g}",
                          **F.feature_summary(planted)}])


# --------------------------------------------------------------------------- claims

#: Fewest cached models per side (robust / less robust) for C13 / C14 to be judged.
MIN_MODELS: int = 3
#: C13: "robust CLIP encoders have outlier features" = at least this share of the cached zero-shot
#: CLIP models have >= 1 outlier dimension (``metrics.features.OUTLIER_RATIO_THRESHOLD``).
C13_MIN_SHARE: float = 0.5
#: C14: "only in the robust models" = at most this share of the less robust models have any.
C14_MAX_SHARE_LESS_ROBUST: float = 0.1


def _share(table: pd.DataFrame, groups: Sequence[str]) -> tuple[float, int]:
    sub = table[table["group"].isin(list(groups))]
    return (float((sub["n_outliers"] > 0).mean()) if len(sub) else np.nan), int(len(sub))


def _untestable(claim: str, need: str, have: dict[str, int], note: str) -> dict:
    return {"claim": claim, "verdict": NOT_TESTABLE, "numbers": {"cached_models": have},
            "evidence": f"needs cached image features of {need}; have {have or 'none'}.{note}"}


def _ignored(table: pd.DataFrame) -> str:
    other = table.loc[~table["group"].isin([*ROBUST_GROUPS, *LESS_ROBUST_GROUPS]), "model"].nunique()
    return f" {other} cached random-init/other model(s) never count." if other else ""


def claim_c13(table: pd.DataFrame, dataset: str = PAPER_PLAN.dataset) -> dict:
    """C13: robust zero-shot CLIP encoders have outlier features. ``reproduced`` iff >= :data:`C13_MIN_SHARE`
    of >= :data:`MIN_MODELS` cached zero-shot CLIP models have >= 1 outlier dimension on ``dataset``."""
    share, n = _share(table, ROBUST_GROUPS)
    if n < MIN_MODELS:
        return _untestable("C13", f">= {MIN_MODELS} zero-shot CLIP models on {dataset}",
                           table.groupby("group")["model"].nunique().to_dict(), _ignored(table))
    clip = table[table["group"].isin(list(ROBUST_GROUPS))]
    nums = {"share_with_outliers": share, "n_models": n, "median_max_kurtosis": float(clip["max_kurtosis"].median()),
            "median_n_outliers": float(clip["n_outliers"].median())}
    return {"claim": "C13", "verdict": REPRODUCED if share >= C13_MIN_SHARE else NOT_REPRODUCED, "numbers": nums,
            "evidence": f"{share:.2f} of {n} zero-shot CLIP encoders have >= 1 outlier dimension (mean |activation| > "
                        f"{F.OUTLIER_RATIO_THRESHOLD:g}x the median dimension); median max kurtosis "
                        f"{nums['median_max_kurtosis']:.1f}. Rule: share >= {C13_MIN_SHARE}."}


def claim_c14(table: pd.DataFrame, dataset: str = PAPER_PLAN.dataset) -> dict:
    """C14: outlier features appear only in the robust models. ``reproduced`` iff >= :data:`C13_MIN_SHARE` of
    the robust and <= :data:`C14_MAX_SHARE_LESS_ROBUST` of the less robust models have them (>= :data:`MIN_MODELS`
    cached on each side). Spearman rho of max activation ratio with ER is reported, not judged."""
    robust, n_r = _share(table, ROBUST_GROUPS)
    less, n_l = _share(table, LESS_ROBUST_GROUPS)
    if min(n_r, n_l) < MIN_MODELS:
        return _untestable("C14", f">= {MIN_MODELS} robust ({ROBUST_GROUPS}) and less robust ({LESS_ROBUST_GROUPS}) "
                           f"models on {dataset}", table.groupby("group")["model"].nunique().to_dict(), _ignored(table))
    known = table.dropna(subset=["er"])
    rho = float(stats.spearmanr(known["max_activation_ratio"], known["er"])[0]) if len(known) >= 3 else np.nan
    ok = robust >= C13_MIN_SHARE and less <= C14_MAX_SHARE_LESS_ROBUST
    nums = {"share_robust": robust, "n_robust": n_r, "share_less_robust": less, "n_less_robust": n_l,
            "spearman_ratio_er": rho}
    return {"claim": "C14", "verdict": REPRODUCED if ok else NOT_REPRODUCED, "numbers": nums,
            "evidence": f"outlier features in {robust:.2f} of {n_r} robust vs {less:.2f} of {n_l} less robust models; "
                        f"Spearman(max activation ratio, ER) {rho:.2f} over {len(known)} models with ER."}


def claim_c15() -> dict:
    """C15 (CLIP encodes more unique concepts, not tracking robustness): never testable here."""
    return {"claim": "C15", "verdict": NOT_TESTABLE, "numbers": {},
            "evidence": "needs a concept-probing set (images with concept annotations, e.g. Broden for network "
                        "dissection) and per-unit activations of each encoder; no such data set is in the mirror."}


def run(plan: Plan, loader: Callable = cache.load) -> dict[str, object]:
    """Features of every model of the plan: ``table``, ``missing`` (model ids) and ``claims`` (C13-C15)."""
    table, missing = feature_table([e.id for e in zoo.select(plan.models)], plan.dataset, loader)
    claims = {"C13": claim_c13(table, plan.dataset), "C14": claim_c14(table, plan.dataset), "C15": claim_c15()}
    return {"table": table, "missing": missing, "claims": claims}


# --------------------------------------------------------------------------- figures


def plot_activation_profiles(profiles: dict[str, np.ndarray], threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> plt.Figure:
    """Sorted activation ratios (dimension rank vs mean |activation| / median) per model, log y, threshold line."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, ratio in profiles.items():
        ax.plot(np.arange(1, ratio.size + 1), ratio, lw=1.2, label=name)
    ax.axhline(threshold, color="k", ls="--", lw=0.8, label=f"outlier threshold ({threshold:g}x median)")
    ax.set(xscale="log", yscale="log", xlabel="dimension rank", ylabel="mean |activation| / median dimension",
           title="Activation profile of image features")
    ax.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
