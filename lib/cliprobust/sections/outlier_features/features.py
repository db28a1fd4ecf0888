"""Section 07 -- outlier features ("Interpreting CLIP", TMLR 2024; claims C13, C14, C15 of ``docs/claims.md``).

Robust zero-shot CLIP image encoders have *outlier features*: a few embedding dimensions with
activations far above the typical dimension, seen as high kurtosis (C13), and only the robust models
of the study have them (C14). Here: per cached model, the statistics of ``metrics.features``
(per-dimension kurtosis, mean |activation| ratio to the median dimension, outlier count at several
thresholds) on the cached image features, joined with the model's published effective robustness
(notebook 01's ER of the mean accuracy over V2, R, Sketch and A). C15 (unique concepts) needs a
concept-probing set and is never testable here.

No published table reports image features, so C13 and C14 are not testable in the ``published``
profile; the notebook then shows the detector on seeded synthetic features and the published ER of
the models C14 splits into robust and less robust.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import outputs, prompts, published, style, zoo
from ..metrics import features as F
from ..metrics import stats
from ..metrics._validate import check_finite
from ._base import CachePlan, Claim, Run, Variant, guard_run, judge, not_testable, plan_for

#: ``full``/``rehearsal`` plan (``published`` only names it): the paper zoo on ImageNet val (the
#: paper measures features on ImageNet).
PAPER_PLAN = CachePlan("paper", published.IMAGENET)
#: ``smoke`` plan: the random-init smoke models on the 100 shipped ImageNet images.
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample")
#: Robust models of the study (zero-shot CLIP) and the less robust ones (ImageNet-trained, and CLIP
#: fine-tuned on ImageNet).
ROBUST_GROUPS: tuple[str, ...] = ("clip-zeroshot",)
LESS_ROBUST_GROUPS: tuple[str, ...] = ("imagenet", "clip-ft")
#: ER that orders models by robustness: ER of the mean accuracy over V2, R, Sketch, A (the 4 shifts
#: every zoo group has in the published tables), testbed baseline (notebook 01).
ER_COLUMN: str = "er_mean-shift-4"
#: Outlier-ratio thresholds (x the median dimension's mean |activation|): the headline
#: (``metrics.features.OUTLIER_RATIO_THRESHOLD`` = 10) and a lenient / strict variant.
OUTLIER_THRESHOLDS: tuple[float, ...] = (5.0, F.OUTLIER_RATIO_THRESHOLD, 20.0)
#: Kurtosis criterion of the ``criterion=kurtosis`` variant: mean per-sample kurtosis across the
#: embedding dimensions above this value (Gaussian features: 3) counts as heavy-tailed. A declared
#: choice of this project, not a number from the paper.
KURTOSIS_HIGH: float = 10.0


def plan(run: Run = Run()) -> CachePlan:
    """The run's cache plan (:data:`SMOKE_PLAN` for random-init runs, else :data:`PAPER_PLAN`)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


#: Rows of one model's features reduced at a time: the float64 working copies of a block are
#: ``REDUCE_ROWS x width x 8`` bytes (16 MiB at width 1024), so peak memory does not grow with the
#: number of images (50,000 ImageNet val images x 210 models at the full profile).
REDUCE_ROWS: int = 2048


@dataclass(frozen=True)
class FeatureStats:
    """What the section keeps of one model's features (never the per-image array): per-dimension
    kurtosis and activation ratio, and the scalar kurtoses of :func:`metrics.features.feature_summary`."""

    n_samples: int
    n_dims: int
    kurtosis: np.ndarray  # (n_dims,) per-dimension kurtosis over samples
    ratio: np.ndarray  # (n_dims,) mean |activation| / median dimension's
    mean_sample_kurtosis: float
    flat_kurtosis: float

    def row(self) -> dict[str, float]:
        """``metrics.features.feature_summary``'s keys plus the outlier count at every threshold of
        :data:`OUTLIER_THRESHOLDS`."""
        return {"n_samples": self.n_samples, "n_dims": self.n_dims,
                "mean_kurtosis": float(np.nanmean(self.kurtosis)), "max_kurtosis": float(np.nanmax(self.kurtosis)),
                "mean_sample_kurtosis": self.mean_sample_kurtosis, "flat_kurtosis": self.flat_kurtosis,
                "max_activation_ratio": float(self.ratio.max()),
                **{_n_col(t): int(np.sum(self.ratio > t)) for t in OUTLIER_THRESHOLDS}}

    def profile(self) -> np.ndarray:
        """Activation ratios of all dimensions, sorted descending (for the figure)."""
        return np.sort(self.ratio)[::-1]


def _blocks(features: np.ndarray, rows: int):
    for i in range(0, features.shape[0], rows):
        block = np.asarray(features[i:i + rows], dtype=np.float64)
        check_finite("outlier_features.reduce_features()", "features", block)
        yield block


def _kurt(m2: np.ndarray | float, m4: np.ndarray | float, fisher: bool) -> np.ndarray:
    """m4 / m2² (− 3 if ``fisher``), NaN where m2 = 0 (``metrics.features``' convention)."""
    m2, m4 = np.asarray(m2, dtype=np.float64), np.asarray(m4, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)
    return k - 3.0 if fisher else k


def reduce_features(features: np.ndarray, rows: int = REDUCE_ROWS,
                    fisher: bool = F.KURTOSIS_FISHER) -> FeatureStats:
    """:class:`FeatureStats` of a (n_samples, n_dims) feature array -- typically a read-only memory
    map of the cache -- in two passes over blocks of ``rows`` rows (pass 1: means, mean |activation|,
    per-sample kurtosis; pass 2: central moments about those means), so memory stays bounded by the
    block size. Same numbers as ``metrics.features`` on the whole array (tested), up to float
    rounding of the summation order."""
    if features.ndim != 2 or features.shape[0] < 2 or features.shape[1] < 1:
        raise ValueError(f"features must be (n_samples >= 2, n_dims >= 1), got shape {features.shape}")
    n, d = features.shape
    total, total_abs = np.zeros(d), np.zeros(d)
    sk_sum, sk_n = 0.0, 0
    for b in _blocks(features, rows):
        total += b.sum(axis=0)
        total_abs += np.abs(b).sum(axis=0)
        c = b - b.mean(axis=1, keepdims=True)
        sk = _kurt(np.mean(c**2, axis=1), np.mean(c**4, axis=1), fisher)
        sk_sum, sk_n = sk_sum + float(np.nansum(sk)), sk_n + int(np.sum(~np.isnan(sk)))
    mean, mean_abs = total / n, total_abs / n
    grand = float(total.sum()) / (n * d)
    m2, m4, g2, g4 = np.zeros(d), np.zeros(d), 0.0, 0.0
    for b in _blocks(features, rows):
        c = b - mean
        m2 += np.sum(c**2, axis=0)
        m4 += np.sum(c**4, axis=0)
        c = b - grand
        g2 += float(np.sum(c**2))
        g4 += float(np.sum(c**4))
    med = np.median(mean_abs)
    if med == 0:
        raise ValueError("the median dimension is never active (median mean |activation| = 0)")
    return FeatureStats(int(n), int(d), _kurt(m2 / n, m4 / n, fisher), mean_abs / med,
                        sk_sum / sk_n if sk_n else float("nan"), float(_kurt(g2 / (n * d), g4 / (n * d), fisher)))


def model_stats(model: str, dataset: str, loader: Callable = outputs.load) -> FeatureStats | None:
    """:class:`FeatureStats` of ``model``'s cached image features on ``dataset`` (any prompt set:
    features do not depend on it), read memory-mapped and reduced block by block; None when there is
    no cache folder or no usable entry."""
    if not outputs.has_slot(model, dataset):
        return None
    for ps in dict.fromkeys((prompts.default_prompt_set(), *prompts.PROMPT_SETS)):
        try:
            out = loader(model, dataset, ps)
        except outputs.CacheMiss:
            continue
        return None if out.features is None else reduce_features(out.features)
    return None


@lru_cache(maxsize=1)
def published_er() -> pd.DataFrame:
    """Published ER (:data:`ER_COLUMN`) of every model of notebook 01's per-model table, with group,
    source and family (the robustness axis of C14); zero-shot rows only where the zoo's CLIP rule
    keeps them."""
    try:
        from .er_tables import per_model_table
    except ImportError:  # TRANSITION ONLY: older layout kept the ER tables in effective_robustness
        from .effective_robustness import per_model_table

    t = per_model_table()
    if "zoo_clip" in t:  # zero-shot rows: the zoo's CLIP rule (no SigLIP/CoCa/EVA, no near-chance rows)
        t = t[(t["group"] != "clip-zeroshot") | t["zoo_clip"].astype(bool)]
    return t.dropna(subset=[ER_COLUMN])[["model", "group", "pretrain_data", "arch_family", ER_COLUMN]].rename(
        columns={ER_COLUMN: "er"}).reset_index(drop=True)


def model_er() -> pd.Series:
    """Published ER per model id (:func:`published_er`)."""
    return published_er().set_index("model")["er"]


def _n_col(threshold: float) -> str:
    return "n_outliers" if threshold == F.OUTLIER_RATIO_THRESHOLD else f"n_outliers_{threshold:g}x"


FEATURE_COLUMNS = ["model", "group", "pretrain_data", "arch_family", "n_samples", "n_dims", "mean_kurtosis",
                   "max_kurtosis", "mean_sample_kurtosis", "flat_kurtosis", "max_activation_ratio",
                   *[_n_col(t) for t in OUTLIER_THRESHOLDS], "er"]


def feature_row(features: np.ndarray) -> dict[str, float]:
    """:meth:`FeatureStats.row` of ``features`` (:func:`reduce_features`)."""
    return reduce_features(features).row()


def feature_table(models: Sequence[str], dataset: str, loader: Callable = outputs.load,
                  er: pd.Series | None = None,
                  profiles: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """(:meth:`FeatureStats.row` per cached model with group, source, family and published ER; models
    without features). One model's features at a time, reduced (:func:`model_stats`); its sorted
    activation ratios go into ``profiles`` when given. Random-init models (``pretrained`` None) get no ER."""
    rows, missing = [], []
    for m in models:
        st = model_stats(m, dataset, loader)
        if st is None:
            missing.append(m)
            continue
        if profiles is not None:
            profiles[m] = st.profile()
        if er is None:
            er = model_er()
        e = zoo.get(m)
        # random-init entries share an id with published weights (timm test models): their ER is not theirs
        er_m = float(er.get(m, np.nan)) if e.pretrained is not None else np.nan
        rows.append({"model": m, "group": e.group, "pretrain_data": e.pretrain_data or "none",
                     "arch_family": style.model_family(m), **st.row(), "er": er_m})
    return pd.DataFrame(rows, columns=FEATURE_COLUMNS), missing


def study(run: Run = Run(), loader: Callable = outputs.load) -> dict[str, object]:
    """Features of every model of the run's plan, reduced one model at a time: ``table``, ``missing``
    (model ids) and ``profiles`` (model id -> sorted activation ratios, for the figure). The
    ``published`` profile reads no caches (every model is missing)."""
    p = plan(run)
    ids = [e.id for e in zoo.select(p.models)]
    if not run.uses_caches:
        return {"table": pd.DataFrame(columns=FEATURE_COLUMNS), "missing": ids, "profiles": {}}
    profiles: dict[str, np.ndarray] = {}
    table, missing = feature_table(ids, p.id_set, loader, profiles=profiles)
    return {"table": table, "missing": missing, "profiles": profiles}


def activation_profile(features: np.ndarray) -> np.ndarray:
    """Activation ratios of all dimensions, sorted descending (for the figure)."""
    return reduce_features(features).profile()


#: Seeded synthetic check of the detector: i.i.d. Gaussian features, and the same with
#: :data:`SYNTHETIC_PLANTED` dimensions scaled by :data:`SYNTHETIC_SCALE` (planted outlier features).
SYNTHETIC_SHAPE: tuple[int, int] = (1000, 512)
SYNTHETIC_PLANTED: int = 4
SYNTHETIC_SCALE: float = 30.0
SYNTHETIC_SEED: int = 0


def synthetic_features(seed: int = SYNTHETIC_SEED) -> dict[str, np.ndarray]:
    """Gaussian features without and with planted outlier dimensions (the detector check's inputs)."""
    g = np.random.default_rng(seed).standard_normal(SYNTHETIC_SHAPE)
    planted = g.copy()
    planted[:, :SYNTHETIC_PLANTED] *= SYNTHETIC_SCALE
    return {"Gaussian": g, f"Gaussian + {SYNTHETIC_PLANTED} dims x{SYNTHETIC_SCALE:g}": planted}


def synthetic_check(seed: int = SYNTHETIC_SEED) -> pd.DataFrame:
    """:func:`feature_row` of the synthetic features (:func:`synthetic_features`)."""
    return pd.DataFrame([{"features": k, **feature_row(f)} for k, f in synthetic_features(seed).items()])


# --------------------------------------------------------------------------- claims

#: Fewest cached models per side (robust / less robust) for C13 / C14 to be judged.
MIN_MODELS: int = 5
#: C13: "robust CLIP encoders have outlier features" = more than this share of the cached zero-shot
#: CLIP models have >= 1 outlier dimension, by the lower bound of its Wilson 95 % interval (over models).
C13_MIN_SHARE: float = 0.5
#: C14: "only in the robust models" = at most this share of the less robust models have any, with
#: its Wilson 95 % interval wholly below the robust side's (an upper bound <= 0.1 would need >= 35
#: models per group even with no outlier at all, so the bound is set against the robust side).
C14_MAX_SHARE_LESS_ROBUST: float = 0.1
C13_STATISTIC = "share of zero-shot CLIP encoders with >= 1 outlier feature"
C14_STATISTIC = "share of less robust models (ImageNet, CLIP fine-tuned) with >= 1 outlier feature"


def _has_outliers(table: pd.DataFrame, criterion: str) -> pd.Series:
    if criterion == "kurtosis":
        return table["mean_sample_kurtosis"] > KURTOSIS_HIGH
    return table[criterion] > 0


def _share_variant(name: str, description: str, rows: pd.DataFrame, criterion: str, *,
                   headline: bool = False) -> Variant:
    """Share of ``rows`` with outlier features by ``criterion`` (an outlier-count column, or
    ``kurtosis``), Wilson interval over models; holds (C13's rule) when the lower bound exceeds
    :data:`C13_MIN_SHARE`."""
    n = int(len(rows))
    if n < MIN_MODELS:
        return Variant(name, description, float("nan"), headline=headline, n=n,
                       note=f"{n} cached models (< {MIN_MODELS})")
    k = int(_has_outliers(rows, criterion).sum())
    low, high = (float(x) for x in stats.wilson_interval(k, n))
    return Variant(name, description, k / n, low, high, bool(low > C13_MIN_SHARE), headline, n)


def _robust(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["group"].isin(list(ROBUST_GROUPS))]


def _less_robust(table: pd.DataFrame, groups: Sequence[str] = LESS_ROBUST_GROUPS) -> pd.DataFrame:
    return table[table["group"].isin(list(groups))]


def c13_variants(table: pd.DataFrame) -> tuple[Variant, ...]:
    """Headline (ratio > 10x the median dimension, every cached zero-shot CLIP), the threshold and
    kurtosis criteria, each architecture family alone, and each pre-training source left out."""
    rows = _robust(table)
    head = _n_col(F.OUTLIER_RATIO_THRESHOLD)
    out = [_share_variant("headline", f"ratio > {F.OUTLIER_RATIO_THRESHOLD:g}x median dimension, all zero-shot CLIP",
                          rows, head, headline=True)]
    out += [_share_variant(f"threshold={t:g}x", f"ratio > {t:g}x median dimension", rows, _n_col(t))
            for t in OUTLIER_THRESHOLDS if t != F.OUTLIER_RATIO_THRESHOLD]
    out.append(_share_variant("criterion=kurtosis", f"mean per-sample kurtosis > {KURTOSIS_HIGH:g}", rows, "kurtosis"))
    for fam in sorted(set(rows["arch_family"])):
        out.append(_share_variant(f"family={fam}", f"{fam} encoders only", rows[rows["arch_family"] == fam], head))
    for src in sorted(set(rows["pretrain_data"])):
        out.append(_share_variant(f"drop-source={src}", f"without {style.display(src)} models",
                                  rows[rows["pretrain_data"] != src], head))
    return tuple(out)


def _c14_variant(name: str, description: str, less: pd.DataFrame, robust: pd.DataFrame, criterion: str,
                 headline: bool = False) -> Variant:
    """Share of the less robust models with outlier features (Wilson interval). Holds when that share
    is <= :data:`C14_MAX_SHARE_LESS_ROBUST`, its interval lies wholly below the robust side's, and
    the robust side itself passes C13's rule under the same criterion."""
    v = _share_variant(name, description, less, criterion, headline=headline)
    r = _share_variant("robust side", "", robust, criterion)
    if v.holds is None or r.holds is None:
        return Variant(v.name, v.description, v.value, v.low, v.high, None, headline, v.n,
                       v.note or f"robust side: {r.note}")
    holds = bool(v.value <= C14_MAX_SHARE_LESS_ROBUST and v.high < r.low and r.holds)
    note = f"robust side {r.value:.2f} [{r.low:.2f}, {r.high:.2f}] of {r.n}"
    return Variant(v.name, v.description, v.value, v.low, v.high, holds, headline, v.n, note)


def c14_variants(table: pd.DataFrame) -> tuple[Variant, ...]:
    """Headline (ratio > 10x, ImageNet + CLIP-FT as the less robust side), the thresholds, each less
    robust group alone, and the ER-correlation reading (Spearman of the max activation ratio with
    published ER over models with ER, bootstrap interval over models > 0)."""
    head, robust, less = _n_col(F.OUTLIER_RATIO_THRESHOLD), _robust(table), _less_robust(table)
    out = [_c14_variant("headline", "ratio > 10x; less robust = ImageNet + CLIP fine-tuned", less, robust, head,
                        headline=True)]
    out += [_c14_variant(f"threshold={t:g}x", f"ratio > {t:g}x on both sides", less, robust, _n_col(t))
            for t in OUTLIER_THRESHOLDS if t != F.OUTLIER_RATIO_THRESHOLD]
    out += [_c14_variant(f"less-robust={g}", f"less robust side: {style.group_label(g)} only",
                         _less_robust(table, (g,)), robust, head) for g in LESS_ROBUST_GROUPS]
    known = table.dropna(subset=["er"])
    name, text = "reading=er-correlation", "Spearman(max activation ratio, published ER) > 0"
    if len(known) >= MIN_MODELS:
        rho = stats.correlation_interval(known["max_activation_ratio"].to_numpy(), known["er"].to_numpy())
        out.append(Variant(name, text, rho.value, rho.low, rho.high, bool(rho.low > 0), n=int(len(known)),
                           note="bootstrap over models"))
    else:
        out.append(Variant(name, text, float("nan"), n=int(len(known)),
                           note=f"{len(known)} models with ER (< {MIN_MODELS})"))
    return tuple(out)


def _needs(p: CachePlan, what: str) -> str:
    return (f"cached image features of {what} on {p.id_set} (profile 'full'): cliprobust evaluate --models "
            f"{p.models} --datasets {p.id_set} --data-root DIR")


def _ignored(table: pd.DataFrame) -> str:
    other = table.loc[~table["group"].isin([*ROBUST_GROUPS, *LESS_ROBUST_GROUPS]), "model"].nunique()
    return f" {other} cached random-init/other model(s) never count." if other else ""


def _evidence(head: Variant, variants: Sequence[Variant], what: str) -> str:
    breaking = [v.name for v in variants if v.holds is False and not v.headline]
    return (f"{what}: {head.value:.2f} [{head.low:.2f}, {head.high:.2f}] of {head.n} models (Wilson 95 % over "
            f"models; image sampling not resampled)." + (f" Fails under: {', '.join(breaking)}." if breaking else ""))


def claim_c13(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C13: robust zero-shot CLIP encoders have outlier features. Statistic: the share of cached
    zero-shot CLIP encoders with >= 1 dimension whose mean |activation| exceeds 10x the median
    dimension's, Wilson 95 % interval over models; holds when its lower bound exceeds
    :data:`C13_MIN_SHARE`. Not testable without >= :data:`MIN_MODELS` cached CLIP encoders."""
    need = _needs(PAPER_PLAN, f">= {MIN_MODELS} zero-shot CLIP models")
    if not run.uses_caches:
        return not_testable("C13", C13_STATISTIC, need, "no published table reports image features.")
    table = study(run)["table"] if table is None else table
    variants = c13_variants(table)
    head = variants[0]
    if head.holds is None:
        return not_testable("C13", C13_STATISTIC, need, f"{head.n} zero-shot CLIP encoders cached.{_ignored(table)}")
    claim = Claim("C13", judge(bool(head.holds), variants), C13_STATISTIC, head.value, head.low, head.high,
                  _evidence(head, variants, "zero-shot CLIP encoders with outlier features"), variants)
    return guard_run(claim, run, cache_based=True)


def claim_c14(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C14: outlier features appear only in the robust models. Statistic: the share of the less
    robust models (ImageNet-trained, CLIP fine-tuned on ImageNet) with outlier features, Wilson 95 %
    interval; holds when it is <= :data:`C14_MAX_SHARE_LESS_ROBUST`, its interval lies below the
    robust side's and the robust side passes C13's rule (:func:`_c14_variant`). The ER-correlation
    reading is a variant."""
    less = ", ".join(style.group_label(g) for g in LESS_ROBUST_GROUPS)
    need = _needs(PAPER_PLAN, f">= {MIN_MODELS} robust ({style.group_label(ROBUST_GROUPS[0])}) and less robust "
                              f"({less}) models")
    if not run.uses_caches:
        return not_testable("C14", C14_STATISTIC, need, "no published table reports image features.")
    table = study(run)["table"] if table is None else table
    c13_head = c13_variants(table)[0]
    variants = c14_variants(table)
    head = variants[0]
    if head.holds is None or c13_head.holds is None:
        return not_testable("C14", C14_STATISTIC, need,
                            f"{c13_head.n} robust and {head.n} less robust models cached.{_ignored(table)}")
    claim = Claim("C14", judge(bool(head.holds), variants), C14_STATISTIC, head.value, head.low, head.high,
                  _evidence(head, variants, "less robust models with outlier features")
                  + f" Robust side: {c13_head.value:.2f} [{c13_head.low:.2f}, {c13_head.high:.2f}].", variants)
    return guard_run(claim, run, cache_based=True)


def claim_c15(run: Run = Run()) -> Claim:
    """C15 (CLIP encodes more unique concepts, not tracking robustness): never testable here."""
    return not_testable("C15", "unique concepts per encoder vs ER",
                        "a concept-probing set (images with concept annotations, e.g. Broden for network "
                        "dissection) and per-unit activations of each encoder",
                        "no concept-probing data set is in the data mirror.")


def claims(run: Run = Run(), table: pd.DataFrame | None = None) -> tuple[Claim, Claim, Claim]:
    """C13, C14, C15 for one run (features read once)."""
    if table is None and run.uses_caches:
        table = study(run)["table"]
    return claim_c13(run, table=table), claim_c14(run, table=table), claim_c15(run)


# --------------------------------------------------------------------------- figures


def plot_activation_profiles(profiles: Mapping[str, np.ndarray], title: str,
                             threshold: float = F.OUTLIER_RATIO_THRESHOLD) -> plt.Figure:
    """Sorted activation ratios (dimension rank vs mean |activation| / median) per model, log-log, with
    the outlier threshold. Zoo models are drawn in their group's colour, one legend entry per group;
    other profiles (the synthetic check) get a colour and an entry each."""
    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    fallback = iter([style.OKABE_ITO["blue"], style.OKABE_ITO["vermillion"], style.OKABE_ITO["bluish green"],
                     style.OKABE_ITO["orange"], style.OKABE_ITO["reddish purple"]])
    seen: set[str] = set()
    for name, ratio in profiles.items():
        x = np.arange(1, ratio.size + 1)
        if name in zoo.REGISTRY:
            group = zoo.get(name).group
            label = style.group_label(group) if group not in seen else "_nolegend_"
            seen.add(group)
            ax.plot(x, ratio, lw=1, alpha=0.7, color=style.group_color(group), label=label)
        else:
            ax.plot(x, ratio, lw=1.6, color=next(fallback), label=name)
    ax.axhline(threshold, color="black", ls="--", lw=0.8, label=f"outlier threshold ({threshold:g}x median)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="dimension rank (by mean |activation|)", ylabel="mean |activation| / median dimension",
           title=title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_published_er(er: pd.DataFrame) -> plt.Figure:
    """Published ER (mean of V2, R, Sketch, A) per model group: the robustness axis along which C14
    separates robust (zero-shot CLIP) from less robust models."""
    order = [g for g in ("imagenet", "imagenet-more-data", "clip-ft", "clip-zeroshot") if g in set(er["group"])]
    fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
    rng = np.random.default_rng(0)  # jitter only (drawing), not a statistic
    for i, g in enumerate(order):
        v = er.loc[er["group"] == g, "er"].to_numpy()
        ax.scatter(i + rng.uniform(-0.18, 0.18, v.size), 100 * v, s=12, alpha=0.8, color=style.group_color(g),
                   label=f"{style.group_label(g)} (n = {v.size})")
        ax.plot([i - 0.3, i + 0.3], [100 * np.median(v)] * 2, color="black", lw=1.5)
    ax.axhline(0, color=style.BASELINE_GREY, lw=1)
    ax.set_xticks(range(len(order)), ["\n".join(textwrap.wrap(style.group_label(g), 14)) for g in order])
    ax.set(xlabel="model group (black bar: median)", ylabel="effective robustness (pp)",
           title="Published effective robustness per group (mean of 4 shifts, testbed baseline)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_outliers_vs_er(table: pd.DataFrame) -> plt.Figure:
    """Max activation ratio (log) vs published ER per cached model, coloured by group."""
    known = table.dropna(subset=["er"])
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    for g, rows in known.groupby("group"):
        ax.scatter(100 * rows["er"], rows["max_activation_ratio"], s=18, color=style.group_color(g),
                   label=style.group_label(g))
    ax.axhline(F.OUTLIER_RATIO_THRESHOLD, color="black", ls="--", lw=0.8, label="outlier threshold")
    ax.set_yscale("log")
    ax.set(xlabel="published effective robustness (pp)", ylabel="max mean |activation| / median dimension",
           title="Outlier features vs effective robustness")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
