"""Section 05 -- calibration (Tu et al. NeurIPS 2023 §6.1; claims C7 and C8 of PAPERS.md).

* **ImageNet-X per-image predictions** (DINO, ResNet-50, SimCLR, ViT; top-1 class and its softmax
  probability on the 50,000 ImageNet val images, ground truth joined by ``published.imagenetx_predictions``):
  top-label ECE with 15 equal-width bins and reliability diagrams -> :func:`imagenetx_calibration`,
  :func:`imagenetx_reliability`. The ImageNet-model reference side of C7.
* **uncertainty-baselines** (ResNet-50 x 17 methods; NLL and ECE on ImageNet, -V2, -A, -C, before
  temperature scaling) -> :func:`uncertainty_baselines_table`.
* **Per-sample caches** of the zoo: ECE / NLL / Brier before and after temperature scaling, T fitted
  on a held-out split of ImageNet val (:mod:`cliprobust.metrics.calibration`) and applied to every
  test set -> :func:`cache_calibration_table`, then :func:`claim_c7`, :func:`claim_c8`.

Claim functions return ``{"claim", "verdict", "evidence", "numbers"}``; verdicts are one of
:data:`VERDICTS` and the rule is in each docstring. All metrics come from ``metrics.calibration``.
"""

from __future__ import annotations

import warnings
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from .. import cache, datasets, published
from ..metrics import calibration as C
from .ood_detection import cache_inventory, missing_caches  # noqa: F401  (shared cache helpers)

#: Verdict vocabulary of the claim functions (PAPERS.md).
from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401

# --------------------------------------------------------------------------- ImageNet-X (published)

IMAGENETX_MODELS: tuple[str, ...] = published.IMAGENETX_PREDICTION_MODELS


def _imagenetx_top1(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of one ImageNet-X base model on the 50,000 val images."""
    df = published.imagenetx_predictions(name)
    return df["predicted_probability"].to_numpy(np.float64), df["correct"].to_numpy(bool)


def imagenetx_calibration(models: Sequence[str] = IMAGENETX_MODELS) -> pd.DataFrame:
    """Top-label calibration of the ImageNet-X models on ImageNet val (published top-1 predictions).

    Columns ``model, n, accuracy, mean_confidence, overconfidence`` (= mean confidence − accuracy),
    ``ece`` (:data:`~cliprobust.metrics.calibration.ECE_BINS` equal-width bins) and ``ece_equal_mass``.
    NLL needs the true class's probability, which the published files keep only for correct images.
    """
    rows = []
    for name in models:
        conf, correct = _imagenetx_top1(name)
        rows.append({"model": f"imagenetx:{name}", "n": conf.size, "accuracy": correct.mean(),
                     "mean_confidence": conf.mean(), "overconfidence": conf.mean() - correct.mean(),
                     "ece": C.ece(conf, correct), "ece_equal_mass": C.ece(conf, correct, binning="equal_mass")})
    return pd.DataFrame(rows)


def imagenetx_reliability(models: Sequence[str] = IMAGENETX_MODELS) -> pd.DataFrame:
    """Reliability tables (``metrics.calibration.reliability_diagram``) of the ImageNet-X models, stacked."""
    parts = [C.reliability_diagram(*_imagenetx_top1(name)).assign(model=f"imagenetx:{name}") for name in models]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- uncertainty-baselines (published)

#: Test sets of the uncertainty-baselines table with NLL/ECE, in plotting order.
UB_TEST_SETS: tuple[str, ...] = ("imagenet", "imagenet-v2", "imagenet-c", "imagenet-a")
#: Published values that look like typos (README-literature.md): kept, flagged, left out of figures.
#: EfficientNet-B0's ImageNet ECE 0.497 is impossible next to its 75.6 % accuracy and NLL 1.04.
UB_SUSPECT: frozenset[tuple[str, str, str, str]] = frozenset({("EfficientNet-B0", "Deterministic", "imagenet", "ece")})


def uncertainty_baselines_table() -> pd.DataFrame:
    """uncertainty-baselines NLL / ECE / top-1 per (arch, method, test set), wide in metric.

    Columns ``arch, method, test_set, top1, ece, nll, suspect`` (:data:`UB_SUSPECT` -> ``ece`` kept,
    ``suspect`` True). Only :data:`UB_TEST_SETS`; ECE is before temperature scaling.
    """
    ub = published.uncertainty_baselines_results()
    ub = ub[ub["test_set"].isin(UB_TEST_SETS) & ub["metric"].isin(["top1", "ece", "nll"])]
    wide = ub.pivot_table(index=["arch", "method", "test_set"], columns="metric", values="value").reset_index()
    wide.columns.name = None
    keys = zip(wide["arch"], wide["method"], wide["test_set"])
    wide["suspect"] = [(a, m, t, "ece") in UB_SUSPECT for a, m, t in keys]
    wide["test_set"] = pd.Categorical(wide["test_set"], UB_TEST_SETS, ordered=True)
    return wide.sort_values(["arch", "method", "test_set"]).reset_index(drop=True)[
        ["arch", "method", "test_set", "top1", "ece", "nll", "suspect"]]


def reference_ece(ix: pd.DataFrame | None = None, ub: pd.DataFrame | None = None) -> dict[str, float]:
    """Published ImageNet-model ECEs (the reference side of C7): ImageNet-X models on ImageNet val,
    and the deterministic ResNet-50 of uncertainty-baselines on each of its test sets."""
    ix = imagenetx_calibration() if ix is None else ix
    ub = uncertainty_baselines_table() if ub is None else ub
    det = ub[(ub["arch"] == "ResNet-50") & (ub["method"] == "Deterministic")].dropna(subset=["ece"])
    out = {f"{m} (ImageNet val)": round(float(e), 4) for m, e in zip(ix["model"], ix["ece"])}
    out.update({f"ub:ResNet-50/Deterministic ({t})": round(float(e), 4) for t, e in zip(det["test_set"], det["ece"])})
    return out


# --------------------------------------------------------------------------- per-sample caches

#: Test sets of the cache-driven part (Tu et al. §6.1 use ImageNet val and its natural shifts).
CACHE_TEST_SETS: tuple[str, ...] = ("imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")
#: Temperature is fitted on a held-out split of this set (``metrics.calibration.TEMPERATURE_SPLIT``,
#: seeded) and the same T is applied to every test set: in-distribution validation data is what a
#: practitioner has (Guo et al. 2017; Tu et al. §6.1). This set's metrics use the remaining samples.
TEMPERATURE_FIT_SET: str = "imagenet"
#: Smoke profile: the shipped 100-image ImageNet sample (random-init models: pipeline check only).
SMOKE_TEST_SETS: tuple[str, ...] = ("imagenet-sample",)
SMOKE_FIT_SET: str = "imagenet-sample"
AVAILABLE: tuple[str, ...] = ("complete", "derivable")
STAGES: tuple[str, ...] = ("uncalibrated", "temperature_scaled")


def task_logits(dataset: str, logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The logits/labels a test set is scored on: ImageNet-R/-A keep their 200 classes' columns
    (PROTOCOLS #3), ObjectNet collapses to its 113 classes (max over ImageNet indices, PROTOCOLS #2)."""
    spec = datasets.get(dataset)
    if spec.class_subset is not None:
        return datasets.restrict_to_subset(logits, labels, spec.class_subset)
    if spec.label_space == datasets.OBJECTNET_113:
        return datasets.objectnet_logits(logits), np.asarray(labels, dtype=np.int64)
    return np.asarray(logits), np.asarray(labels, dtype=np.int64)


def _fit(z: np.ndarray, y: np.ndarray) -> tuple[float, bool, np.ndarray]:
    """(T, T at a search bound, indices of the report split) for the fit set's logits."""
    fit, rest = C.split_indices(len(y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = C.fit_temperature(z[fit], y[fit])
    return t, any("search bound" in str(w.message) for w in caught), rest


def model_calibration(outs: Mapping[str, object], fit_set: str = TEMPERATURE_FIT_SET) -> pd.DataFrame:
    """Before/after temperature scaling for one model on every test set in ``outs`` (name -> Outputs).

    T = ``fit_temperature`` on the seeded fit split of ``fit_set``; metrics (accuracy, ECE, NLL,
    Brier from ``calibration_metrics``) on the rest of ``fit_set`` and on all of every other set.
    """
    z_id, y_id = task_logits(fit_set, outs[fit_set].logits, outs[fit_set].labels)
    t, at_bound, rest = _fit(np.asarray(z_id, np.float64), y_id)
    rows = []
    for name, out in outs.items():
        z, y = (z_id[rest], y_id[rest]) if name == fit_set else task_logits(name, out.logits, out.labels)
        for stage, temp in zip(STAGES, (1.0, t)):
            rows.append({"test_set": name, "stage": stage, "temperature": temp, "t_at_bound": at_bound,
                         "n": len(y), **C.calibration_metrics(np.asarray(z, np.float64), y, temperature=temp)})
    return pd.DataFrame(rows)


def _zoo_info(model: str) -> dict[str, str]:
    from .. import zoo

    e = zoo.get(model)
    return {"group": e.group, "pretrain_data": e.pretrain_data or "none"}


CACHE_COLUMNS = ["model", "group", "pretrain_data", "test_set", "stage", "temperature", "t_at_bound", "n",
                 "accuracy", "ece", "nll", "brier"]


def cache_calibration_table(inventory: pd.DataFrame, fit_set: str = TEMPERATURE_FIT_SET,
                            loader: Callable = cache.load,
                            info_of: Callable[[str], Mapping[str, str]] | None = None) -> pd.DataFrame:
    """:func:`model_calibration` for every model whose ``fit_set`` cache is available.

    ``inventory``: ``cliprobust.cache.ls``-style ``model, dataset, status``; only :data:`AVAILABLE`
    entries are loaded. Columns :data:`CACHE_COLUMNS`.
    """
    info_of = info_of or _zoo_info
    ok = inventory[inventory["status"].isin(AVAILABLE)]
    parts = []
    for model, rows in ok.groupby("model", sort=True):
        sets = list(rows["dataset"])
        if fit_set not in sets:
            continue
        table = model_calibration({d: loader(model, d) for d in sets}, fit_set)
        parts.append(table.assign(model=model, **info_of(model)))
    return pd.concat(parts)[CACHE_COLUMNS].reset_index(drop=True) if parts else pd.DataFrame(columns=CACHE_COLUMNS)


def cache_reliability(outs: Mapping[str, object], fit_set: str = TEMPERATURE_FIT_SET) -> pd.DataFrame:
    """Reliability tables on the report split of ``fit_set`` before and after temperature scaling."""
    z, y = task_logits(fit_set, outs[fit_set].logits, outs[fit_set].labels)
    t, _, rest = _fit(np.asarray(z, np.float64), y)
    parts = []
    for stage, temp in zip(STAGES, (1.0, t)):
        p = C.softmax(C.temperature_scale(np.asarray(z, np.float64)[rest], temp))
        parts.append(C.reliability_diagram(p, y[rest]).assign(stage=stage, temperature=temp))
    return pd.concat(parts, ignore_index=True)


def cache_plan(profile: str) -> tuple[str, str, tuple[str, ...]]:
    """(zoo selector, temperature-fit set, test sets) of the cache-driven part for a notebook profile."""
    if profile == "smoke":
        return "smoke", SMOKE_FIT_SET, SMOKE_TEST_SETS
    return "paper", TEMPERATURE_FIT_SET, CACHE_TEST_SETS


# --------------------------------------------------------------------------- claims

#: Groups of the paper whose cache rows the claims use (random-init ``smoke`` rows never count).
CLAIM_GROUPS: tuple[str, ...] = ("clip-zeroshot", "imagenet")
#: Fewest models per group (zero-shot CLIP, ImageNet) on ImageNet val for C7/C8 to be judged.
MIN_MODELS: int = 5
#: C7 (i): CLIP would be "consistently better calibrated" if at least this share of (CLIP, test set)
#: pairs had a lower uncalibrated ECE than the median ImageNet model on that test set.
C7_CONSISTENT_SHARE: float = 0.9
#: C7 (ii) / C8: significance level of the Kruskal-Wallis (pre-training sources) and sign tests.
ALPHA: float = 0.05
#: C8: "similar accuracy" = ImageNet models within this absolute top-1 distance on the same test set,
#: and at least :data:`C8_MIN_NEIGHBOURS` of them for a (CLIP, test set) pair to count.
C8_ACC_WINDOW: float = 0.05
C8_MIN_NEIGHBOURS: int = 3
#: Fewest (CLIP, test set) pairs with enough neighbours for C8 to be judged.
C8_MIN_PAIRS: int = 5


def _claim_rows(table: pd.DataFrame | None, stage: str) -> pd.DataFrame:
    if table is None or table.empty:
        return pd.DataFrame(columns=CACHE_COLUMNS)
    return table[table["group"].isin(CLAIM_GROUPS) & (table["stage"] == stage)]


def _testable(rows: pd.DataFrame) -> bool:
    on_id = rows[rows["test_set"] == TEMPERATURE_FIT_SET].groupby("group")["model"].nunique()
    return all(on_id.get(g, 0) >= MIN_MODELS for g in CLAIM_GROUPS)


def _ignored(table: pd.DataFrame | None) -> str:
    """Note on cached models outside :data:`CLAIM_GROUPS` (e.g. random-init smoke models)."""
    if table is None or table.empty:
        return ""
    other = table.loc[~table["group"].isin(CLAIM_GROUPS)].groupby("group")["model"].nunique()
    return "".join(f" {n} cached {g} model(s) never count." for g, n in other.items())


def _untestable(claim: str, rows: pd.DataFrame, reference: Mapping[str, float], note: str = "") -> dict:
    n = rows[rows["test_set"] == TEMPERATURE_FIT_SET].groupby("group")["model"].nunique().to_dict()
    ref = "; ".join(f"{k} {v:.3f}" for k, v in reference.items())
    evidence = (f"needs per-sample caches of >= {MIN_MODELS} zero-shot CLIP and ImageNet models on "
                f"{TEMPERATURE_FIT_SET} (have {n or 'none'}).{note} Reference side from published ImageNet-model "
                f"ECEs (top-label, before temperature scaling): {ref or 'n/a'}.")
    return {"claim": claim, "verdict": "not testable here", "evidence": evidence,
            "numbers": {"models_on_imagenet": n, "reference_ece": dict(reference)}}


def c7_parts(rows: pd.DataFrame) -> dict[str, object]:
    """C7 on uncalibrated cache rows: (i) share of (CLIP, test set) pairs with ECE below the ImageNet
    models' median on that set (< :data:`C7_CONSISTENT_SHARE` = not consistently better); (ii)
    Kruskal-Wallis of zero-shot CLIP ImageNet ECE across pre-training sources with >= 2 models."""
    med = rows[rows["group"] == "imagenet"].groupby("test_set")["ece"].median()
    clip = rows[(rows["group"] == "clip-zeroshot") & rows["test_set"].isin(med.index)]
    share = float(np.mean(clip["ece"].to_numpy() < clip["test_set"].map(med).to_numpy())) if len(clip) else np.nan
    on_id = clip[clip["test_set"] == TEMPERATURE_FIT_SET]
    by_src = [g["ece"].to_numpy() for _, g in on_id.groupby("pretrain_data") if len(g) >= 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all values tied: p is NaN, judged as no effect
        p = float(stats.kruskal(*by_src).pvalue) if len(by_src) >= 2 else np.nan
    return {"share_better": share, "n_pairs": int(len(clip)), "i": bool(share < C7_CONSISTENT_SHARE),
            "kruskal_p": p, "n_sources": len(by_src), "ii": bool(p < ALPHA),
            "median_ece_imagenet": med.round(4).to_dict(),
            "clip_ece_by_source": on_id.groupby("pretrain_data")["ece"].median().round(4).to_dict()}


def claim_c7(table: pd.DataFrame | None = None, reference: Mapping[str, float] | None = None) -> dict:
    """C7: CLIP is not consistently better calibrated than ImageNet models; pre-training data matter.

    Uses uncalibrated cache rows of :data:`CLAIM_GROUPS`. ``not testable here`` unless >= :data:`MIN_MODELS`
    zero-shot CLIP and ImageNet models are cached on ImageNet val (the evidence then gives the
    published ImageNet-model ECEs, :func:`reference_ece`). Otherwise ``reproduced`` iff both parts of
    :func:`c7_parts` hold -- (i) share < :data:`C7_CONSISTENT_SHARE`, (ii) Kruskal-Wallis p < :data:`ALPHA`
    -- else ``not reproduced``. The LAION-80M part is never testable: those checkpoints are not in the zoo.
    """
    reference = reference_ece() if reference is None else reference
    rows = _claim_rows(table, "uncalibrated")
    if not _testable(rows):
        return _untestable("C7", rows, reference, _ignored(table))
    parts = c7_parts(rows)
    verdict = "reproduced" if parts["i"] and parts["ii"] else "not reproduced"
    evidence = (f"(i) {parts['share_better']:.2f} of {parts['n_pairs']} (zero-shot CLIP, test set) pairs have a "
                f"lower ECE than the median ImageNet model (consistently better would be >= {C7_CONSISTENT_SHARE}) "
                f"-> {parts['i']}; (ii) ImageNet ECE differs across {parts['n_sources']} CLIP pre-training sources, "
                f"Kruskal-Wallis p = {parts['kruskal_p']:.3g} -> {parts['ii']}. LAION-80M: not in the zoo.")
    return {"claim": "C7", "verdict": verdict, "evidence": evidence,
            "numbers": {**parts, "reference_ece": dict(reference)}}


def c8_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """Temperature-scaled ECE of each (zero-shot CLIP, test set) vs the median of the ImageNet models
    within :data:`C8_ACC_WINDOW` top-1 on the same set (``n_neighbours``, ``better``)."""
    base = rows[rows["group"] == "imagenet"]
    out = []
    for _, r in rows[rows["group"] == "clip-zeroshot"].iterrows():
        nb = base[(base["test_set"] == r["test_set"]) & ((base["accuracy"] - r["accuracy"]).abs() <= C8_ACC_WINDOW)]
        med = float(nb["ece"].median()) if len(nb) else np.nan
        out.append({"model": r["model"], "test_set": r["test_set"], "accuracy": r["accuracy"], "ece": r["ece"],
                    "n_neighbours": len(nb), "neighbour_median_ece": med, "better": bool(r["ece"] < med)})
    return pd.DataFrame(out, columns=["model", "test_set", "accuracy", "ece", "n_neighbours",
                                      "neighbour_median_ece", "better"])


def claim_c8(table: pd.DataFrame | None = None, reference: Mapping[str, float] | None = None) -> dict:
    """C8: after temperature scaling, zero-shot CLIP is better calibrated than models of similar accuracy.

    Uses temperature-scaled cache rows (:func:`c8_pairs`), keeping pairs with >= :data:`C8_MIN_NEIGHBOURS`
    neighbours. ``reproduced`` iff more than half are better **and** a one-sided sign test
    (binomial, p = 0.5) gives p < :data:`ALPHA`; ``not reproduced`` otherwise; ``not testable here``
    without enough cached models (see :func:`claim_c7`) or with < :data:`C8_MIN_PAIRS` pairs.
    """
    reference = reference_ece() if reference is None else reference
    rows = _claim_rows(table, "temperature_scaled")
    if not _testable(rows):
        return _untestable("C8", rows, reference, _ignored(table))
    pairs = c8_pairs(rows)
    pairs = pairs[pairs["n_neighbours"] >= C8_MIN_NEIGHBOURS]
    if len(pairs) < C8_MIN_PAIRS:
        return {"claim": "C8", "verdict": "not testable here", "numbers": {"n_pairs": len(pairs)},
                "evidence": f"only {len(pairs)} (CLIP, test set) pairs have >= {C8_MIN_NEIGHBOURS} ImageNet models "
                            f"within {C8_ACC_WINDOW} top-1"}
    k, n = int(pairs["better"].sum()), len(pairs)
    p = float(stats.binomtest(k, n, 0.5, alternative="greater").pvalue)
    verdict = "reproduced" if k / n > 0.5 and p < ALPHA else "not reproduced"
    evidence = (f"after temperature scaling (T fitted on {TEMPERATURE_FIT_SET}), zero-shot CLIP has a lower ECE than "
                f"the median ImageNet model within {C8_ACC_WINDOW} top-1 in {k}/{n} (CLIP, test set) pairs; "
                f"sign test p = {p:.3g}.")
    return {"claim": "C8", "verdict": verdict, "evidence": evidence,
            "numbers": {"better": k, "n_pairs": n, "sign_test_p": p, "reference_ece": dict(reference)}}


# --------------------------------------------------------------------------- figures


def plot_reliability(rel: pd.DataFrame, panel: str = "model", titles: Mapping[str, str] | None = None) -> plt.Figure:
    """One reliability diagram per value of ``panel``: accuracy per confidence bin (bars), the gap to
    the bin's mean confidence (red), the diagonal, and the share of samples per bin (grey line)."""
    keys = list(dict.fromkeys(rel[panel]))
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.4), sharey=True, squeeze=False)
    for ax, key in zip(axes[0], keys):
        r = rel[rel[panel] == key]
        width = (r["upper"] - r["lower"]).to_numpy()
        mid = ((r["upper"] + r["lower"]) / 2).to_numpy()
        ax.bar(mid, r["accuracy"].fillna(0), width=width, color="#1f77b4", edgecolor="w", label="accuracy")
        gap = (r["confidence"] - r["accuracy"]).fillna(0)
        ax.bar(mid, gap, bottom=r["accuracy"].fillna(0), width=width, color="none", edgecolor="#d62728",
               hatch="///", linewidth=0.6, label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.plot(mid, r["count"] / r["count"].sum(), color="0.4", lw=1, label="share of samples")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", title=(titles or {}).get(key, key))
        ax.title.set_fontsize(9)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_uncertainty_baselines(ub: pd.DataFrame) -> plt.Figure:
    """ECE and NLL of the uncertainty-baselines ResNet-50 methods per test set (suspect values left out)."""
    d = ub[(ub["arch"] == "ResNet-50") & ~ub["suspect"]].copy()
    x = {t: i for i, t in enumerate(UB_TEST_SETS)}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for ax, metric in zip(axes, ("ece", "nll")):
        for method, g in d.dropna(subset=[metric]).groupby("method"):
            det = method == "Deterministic"
            pos = g["test_set"].map(x).astype(float).to_numpy()
            ax.plot(pos, g[metric], marker="o", ms=5 if det else 3, lw=2 if det else 0.6,
                    color="k" if det else None, alpha=1 if det else 0.6, label=method)
        ax.set_xticks(range(len(UB_TEST_SETS)), UB_TEST_SETS)
        ax.set(ylabel=metric.upper(), title=f"ResNet-50 {metric.upper()} (before temperature scaling)")
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
