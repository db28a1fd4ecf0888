"""Section 05 -- calibration (Tu et al. NeurIPS 2023 §6.1; claims C7 and C8, see ``docs/claims.md``).

* **COOD per-model ID confidence** (Galil et al. ICLR 2023; ``published.cood_results``): mean
  max-softmax confidence and top-1 on ImageNet val for 9 zero-shot OpenAI CLIPs and ~520 ImageNet
  classifiers -> :func:`confidence_gaps`, :func:`matched_gap_differences`, :func:`claim_c7`. The
  confidence gap |mean confidence - accuracy| is a lower bound on top-label ECE (triangle
  inequality over the bins), on ImageNet val only: C7 is tested as an ID-only lower bound.
* **ImageNet-X per-image predictions** (DINO, ResNet-50, SimCLR, ViT; top-1 class and its softmax
  probability on the 50,000 ImageNet val images): top-label ECE with 15 equal-width bins and
  reliability diagrams -> :func:`imagenetx_calibration`, :func:`imagenetx_reliability`.
* **uncertainty-baselines** (ResNet-50 x 17 methods; NLL and ECE on ImageNet, -V2, -A, -C, before
  temperature scaling) -> :func:`uncertainty_baselines_table`.
* **Per-sample caches** of the zoo (read through :mod:`cliprobust.outputs`): ECE / NLL / Brier before
  and after temperature scaling, T fitted on a held-out split of ImageNet val
  (:mod:`cliprobust.metrics.calibration`) and applied to every test set ->
  :func:`cache_calibration_table`, :func:`claim_c8`.

Claims are :class:`~._base.Claim` results with their multiverse of :class:`~._base.Variant`
protocols; the headline protocol comes from the :class:`~._base.Run` options (``match_window``,
``reference`` for C7) with the module constants as defaults. Intervals and corrections come from
:mod:`cliprobust.metrics.stats`; metrics from :mod:`cliprobust.metrics.calibration`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import datasets, outputs, published, style
from ..metrics import calibration as C
from ..metrics import stats
from ._base import CachePlan, Claim, Run, Variant, judge, not_testable, plan_for
from .ood_detection import SOURCE_COLORS, SOURCE_LABELS, timm_pretrain_labels, cood_source, variant_outcomes

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

#: What the cache-driven part reads: ImageNet val (the temperature-fit set) and its natural shifts
#: (Tu et al. §6.1). Temperature is fitted on a held-out split of the ID set
#: (``metrics.calibration.TEMPERATURE_SPLIT``, seeded) and the same T is applied to every test set:
#: in-distribution validation data is what a practitioner has (Guo et al. 2017; Tu et al. §6.1).
#: Smoke: the shipped 100-image ImageNet sample with random-init models (pipeline check only).
PAPER_PLAN = CachePlan("paper", "imagenet", ("imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a"))
SMOKE_PLAN = CachePlan("smoke", "imagenet-sample")
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


def model_calibration(outs: Mapping[str, object], fit_set: str = PAPER_PLAN.id_set) -> pd.DataFrame:
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


def cache_calibration_table(inventory: pd.DataFrame, fit_set: str = PAPER_PLAN.id_set,
                            loader: Callable = outputs.load,
                            info_of: Callable[[str], Mapping[str, str]] | None = None) -> pd.DataFrame:
    """:func:`model_calibration` for every model whose ``fit_set`` cache is available.

    ``inventory``: ``outputs.inventory``-style ``model, dataset, status``; only ``outputs.AVAILABLE``
    entries are loaded. Columns :data:`CACHE_COLUMNS`.
    """
    info_of = info_of or _zoo_info
    ok = inventory[inventory["status"].isin(outputs.AVAILABLE)]
    parts = []
    for model, rows in ok.groupby("model", sort=True):
        sets = list(rows["dataset"])
        if fit_set not in sets:
            continue
        table = model_calibration({d: loader(model, d) for d in sets}, fit_set)
        parts.append(table.assign(model=model, **info_of(model)))
    return pd.concat(parts)[CACHE_COLUMNS].reset_index(drop=True) if parts else pd.DataFrame(columns=CACHE_COLUMNS)


def cache_reliability(outs: Mapping[str, object], fit_set: str = PAPER_PLAN.id_set) -> pd.DataFrame:
    """Reliability tables on the report split of ``fit_set`` before and after temperature scaling."""
    z, y = task_logits(fit_set, outs[fit_set].logits, outs[fit_set].labels)
    t, _, rest = _fit(np.asarray(z, np.float64), y)
    parts = []
    for stage, temp in zip(STAGES, (1.0, t)):
        p = C.softmax(C.temperature_scale(np.asarray(z, np.float64)[rest], temp))
        parts.append(C.reliability_diagram(p, y[rest]).assign(stage=stage, temperature=temp))
    return pd.concat(parts, ignore_index=True)


def cache_plan(run: Run = Run()) -> CachePlan:
    """The section's :class:`~._base.CachePlan` for ``run`` (smoke models for random-init runs)."""
    return plan_for(run, PAPER_PLAN, SMOKE_PLAN)


def cache_inventory(plan: CachePlan) -> pd.DataFrame:
    """``outputs.inventory`` of the plan's models on its test sets, with each model's group."""
    inv = outputs.inventory(plan.models, plan.all_sets)
    return inv.assign(group=inv["model"].map(lambda m: _zoo_info(m)["group"]))


# --------------------------------------------------------------------------- C7: confidence gap on ImageNet val (COOD)

#: Images of ImageNet val behind every COOD / ImageNet-X accuracy and mean confidence.
IMAGENET_VAL_N: int = 50_000
#: Broken-row rule (declared): a COOD row whose mean max-softmax confidence is below this value is
#: dropped. A 1000-way softmax averages at least 0.001 (uniform), and a classifier above 5 % top-1
#: that averages < 5 % confidence is emitting near-uniform probabilities -- a scale bug in the
#: stored outputs, not a calibration property: COOD's 7 CLIP linear-probe rows (0.0018-0.0024 at
#: 72-84 % top-1) and the untrained efficientnet_b5-b7 rows (0.1 % top-1).
C7_MIN_MEAN_CONFIDENCE: float = 0.05
#: "Accuracy-matched" ImageNet models (run option ``match_window``): within this absolute ImageNet
#: top-1 of the CLIP model, the window of this section's cache-based C8 rule.
C7_MATCH_WINDOW: float = 0.05
#: Fewest matched ImageNet models for a CLIP to be compared (fewer: the CLIP is left out, counted in ``n``).
C7_MIN_NEIGHBOURS: int = 3
#: Reference set (run option ``reference``): ``cood-imagenet`` (every COOD ImageNet classifier,
#: confidence gap), ``cood-imagenet-1k`` (ImageNet-1k-only ones), ``imagenetx-ece`` (the 4
#: ImageNet-X models' top-label ECE) or ``ub-ece`` (uncertainty-baselines' ResNet-50 methods' ECE).
C7_REFERENCE: str = "cood-imagenet"
#: Family-wise level of the C7 rule (one-sided, Holm over the compared CLIPs).
C7_ALPHA: float = 0.05


def confidence_gaps(cood: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per COOD model (MSP rows): ``name, family, source, id_top1, mean_confidence, gap`` (= mean
    confidence - accuracy, > 0 over-confident), ``abs_gap`` (a lower bound on top-label ECE) and
    ``broken`` (:data:`C7_MIN_MEAN_CONFIDENCE` rule)."""
    cood = published.cood_results() if cood is None else cood
    rows = cood[cood["confidence"] == "softmax"]
    out = rows.groupby(["name", "family"], sort=True).agg(id_top1=("id_top1", "first"),
                                                           mean_confidence=("id_avg_conf", "first")).reset_index()
    pretrain = timm_pretrain_labels().to_dict()
    out.insert(2, "source", [cood_source(n, f, pretrain) for n, f in zip(out["name"], out["family"])])
    out["gap"] = out["mean_confidence"] - out["id_top1"]
    out["abs_gap"] = out["gap"].abs()
    out["broken"] = out["mean_confidence"] < C7_MIN_MEAN_CONFIDENCE
    return out


def reference_models(reference: str, gaps: pd.DataFrame, ix: pd.DataFrame | None = None,
                     ub: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ImageNet side of C7: ``name, id_top1, error`` where ``error`` is |gap| (COOD references,
    a lower bound like CLIP's) or the published top-label ECE (``imagenetx-ece``, ``ub-ece``), and
    ``mean_confidence`` (NaN where only ECE is published)."""
    ok = gaps[~gaps["broken"]]
    if reference in ("cood-imagenet", "cood-imagenet-1k"):
        sel = ok[ok["family"] == "imagenet"]
        sel = sel[sel["source"] == "imagenet-1k"] if reference == "cood-imagenet-1k" else sel
        return pd.DataFrame({"name": sel["name"], "id_top1": sel["id_top1"], "error": sel["abs_gap"],
                             "mean_confidence": sel["mean_confidence"]}).reset_index(drop=True)
    if reference == "imagenetx-ece":
        ix = imagenetx_calibration() if ix is None else ix
        return pd.DataFrame({"name": ix["model"], "id_top1": ix["accuracy"], "error": ix["ece"],
                             "mean_confidence": ix["mean_confidence"]})
    if reference == "ub-ece":
        ub = uncertainty_baselines_table() if ub is None else ub
        d = ub[(ub["test_set"] == "imagenet") & ~ub["suspect"]].dropna(subset=["ece", "top1"])
        return pd.DataFrame({"name": d["arch"] + "/" + d["method"], "id_top1": d["top1"], "error": d["ece"],
                             "mean_confidence": np.nan}).reset_index(drop=True)
    raise ValueError(f"unknown C7 reference {reference!r}")


def _image_draws(p: np.ndarray, seed: int) -> np.ndarray:
    """(N_BOOT, len(p)) image-sampling draws of proportions measured on ImageNet val. For a mean
    confidence (a mean of values in [0, 1]) the binomial variance p(1-p)/n is the largest possible,
    so the draw is conservative."""
    return stats.binomial_draws(np.clip(p, 0, 1), IMAGENET_VAL_N, seed=seed)


def matched_gap_differences(gaps: pd.DataFrame, ref: pd.DataFrame, window: float = C7_MATCH_WINDOW,
                            k_nearest: int | None = None, min_neighbours: int = C7_MIN_NEIGHBOURS) -> pd.DataFrame:
    """For each zero-shot CLIP: d = |gap_CLIP| - median error of its accuracy-matched references.

    Matching: references within ``window`` top-1 (or the ``k_nearest`` in top-1). Interval and
    one-sided p (H0: d <= 0) from N_BOOT draws that resample the matched reference models
    (``stats.resample_indices``) and the image sampling of every accuracy and mean confidence on
    ImageNet val (``stats.binomial_draws``; accuracy and confidence drawn independently, which
    ignores their positive per-image correlation and widens the interval). Published reference
    ECEs are held fixed (their image-sampling SE on 50,000 images is ~0.002). ``p_holm``: Holm over
    the compared CLIPs. Columns ``name, id_top1, gap, abs_gap, n_ref, ref_median, d, low, high, p, p_holm``.
    """
    clip = gaps[(gaps["family"] == "clip-zeroshot") & ~gaps["broken"]].reset_index(drop=True)
    acc_d, conf_d = _image_draws(clip["id_top1"].to_numpy(), stats.SEED), _image_draws(
        clip["mean_confidence"].to_numpy(), stats.SEED + 1)
    has_conf = ref["mean_confidence"].notna().to_numpy()
    r_acc = _image_draws(ref["id_top1"].to_numpy(), stats.SEED + 2)
    r_conf = _image_draws(ref["mean_confidence"].fillna(0).to_numpy(), stats.SEED + 3)
    r_err = np.where(has_conf, np.abs(r_conf - r_acc), ref["error"].to_numpy())
    rows = []
    for i, c in clip.iterrows():
        dist = (ref["id_top1"] - c["id_top1"]).abs().to_numpy()
        nb = np.argsort(dist, kind="stable")[:k_nearest] if k_nearest else np.flatnonzero(dist <= window)
        row = {"name": c["name"], "id_top1": c["id_top1"], "gap": c["gap"], "abs_gap": c["abs_gap"], "n_ref": nb.size}
        if nb.size < min_neighbours:
            rows.append({**row, **dict.fromkeys(["ref_median", "d", "low", "high", "p"], np.nan)})
            continue
        ref_med = float(np.median(ref["error"].to_numpy()[nb]))
        idx = nb[stats.resample_indices(nb.size, seed=stats.SEED + 4 + int(i))]
        draws = np.abs(conf_d[:, i] - acc_d[:, i]) - np.median(np.take_along_axis(r_err, idx, axis=1), axis=1)
        low, high = stats.percentile_interval(draws)
        p = (1 + np.sum(draws <= 0)) / (draws.size + 1)
        rows.append({**row, "ref_median": ref_med, "d": c["abs_gap"] - ref_med, "low": float(low), "high": float(high),
                     "p": float(p)})
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    ok = out["p"].notna()
    if ok.any():
        out.loc[ok, "p_holm"] = stats.holm(out.loc[ok, "p"].to_numpy())
    return out


@dataclass(frozen=True)
class C7Result:
    """C7 under one protocol: the CLIP whose gap exceeds its matched references the most decides."""

    value: float
    low: float
    high: float
    holds: bool | None
    n: int
    n_better: int
    n_worse: int
    note: str
    table: pd.DataFrame


def _c7_eval(gaps: pd.DataFrame, protocol: Mapping[str, Any], ix: pd.DataFrame | None,
             ub: pd.DataFrame | None) -> C7Result:
    ref = reference_models(protocol["reference"], gaps, ix, ub)
    mins = 1 if protocol["reference"] in ("imagenetx-ece", "ub-ece") else C7_MIN_NEIGHBOURS
    t = matched_gap_differences(gaps, ref, protocol["match_window"], protocol.get("k_nearest"), mins)
    judged = t[t["d"].notna()]
    if judged.empty:
        return C7Result(np.nan, np.nan, np.nan, None, 0, 0, 0, "no CLIP has matched reference models", t)
    top = judged.loc[judged["d"].idxmax()]
    worse = judged[judged["p_holm"] < C7_ALPHA]
    note = (f"{len(judged)}/{len(t)} CLIPs matched; {int((judged['d'] < 0).sum())} with a smaller gap than their "
            f"references' median, {len(worse)} significantly larger (Holm): "
            + (", ".join(f"{r.name} {r.d:+.3f}" for r in worse.itertuples()) or "none"))
    return C7Result(float(top["d"]), float(top["low"]), float(top["high"]), bool(len(worse)), len(judged),
                    int((judged["d"] < 0).sum()), len(worse), note, t)


def _c7_protocol(run: Run) -> dict[str, Any]:
    return {"match_window": float(run.option("match_window", C7_MATCH_WINDOW)),
            "reference": run.option("reference", C7_REFERENCE), "k_nearest": run.option("k_nearest", None)}


#: C7 variants: (name, description, protocol changes).
C7_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("window=0.02", "accuracy-matched = within 0.02 top-1", {"match_window": 0.02}),
    ("window=0.01", "accuracy-matched = within 0.01 top-1", {"match_window": 0.01}),
    ("neighbours=10-nearest", "the 10 ImageNet models nearest in top-1 (no window)", {"k_nearest": 10}),
    ("reference=cood-imagenet-1k", "only ImageNet-1k-only classifiers as references", {"reference": "cood-imagenet-1k"}),
    ("reference=imagenetx-ece", "the published top-label ECE of the 4 ImageNet-X models (>= 1 in the window)",
     {"reference": "imagenetx-ece"}),
    ("reference=ub-ece", "uncertainty-baselines' ResNet-50 methods' ImageNet ECE (>= 1 in the window)",
     {"reference": "ub-ece"}),
)


def claim_c7(run: Run = Run(), *, cood: pd.DataFrame | None = None, ix: pd.DataFrame | None = None,
             ub: pd.DataFrame | None = None, cache_table: pd.DataFrame | None = None) -> Claim:
    """C7: CLIP is not consistently better calibrated than ImageNet models (ImageNet val only,
    ID-only lower bound).

    Data: COOD's per-model mean max-softmax confidence and top-1 on ImageNet val
    (:func:`confidence_gaps`, broken rows dropped by :data:`C7_MIN_MEAN_CONFIDENCE`). Headline
    (run options ``match_window``, ``reference``): each of the 9 zero-shot CLIPs vs the COOD
    ImageNet classifiers within :data:`C7_MATCH_WINDOW` top-1 (>= :data:`C7_MIN_NEIGHBOURS`).
    Rule: "not consistently better" holds iff at least one CLIP's confidence gap |conf - acc|
    exceeds the median of its matched references', one-sided, Holm over the CLIPs at
    :data:`C7_ALPHA` (:func:`matched_gap_differences`). Statistic: the largest difference d with its
    95 % interval. |conf - acc| <= ECE, so this tests a lower bound of calibration error. The
    training-data parts of C7 (LAION vs WIT; LAION-80M) are not testable: COOD has only WIT CLIPs.
    ``cache_table`` (:func:`cache_calibration_table`) adds the cache-based test as a variant.
    """
    gaps = confidence_gaps(cood)
    head = _c7_protocol(run)
    h = _c7_eval(gaps, head, ix, ub)
    variants = [Variant(f"headline: reference={head['reference']}, window={head['match_window']}",
                        "COOD confidence gaps, accuracy-matched ImageNet models", h.value, h.low, h.high, h.holds,
                        True, h.n, h.note)]
    for name, desc, change in C7_VARIANTS:
        if all(head.get(k) == v for k, v in change.items()):
            continue
        r = _c7_eval(gaps, {**head, **change}, ix, ub)
        variants.append(Variant(name, desc, r.value, r.low, r.high, r.holds, False, r.n, r.note))
    variants.extend(_c7_cache_variant(cache_table))
    dropped = gaps[gaps["broken"]]
    evidence = (f"ImageNet val only, ID-only lower bound (|mean confidence - accuracy| <= top-label ECE). COOD MSP rows; "
                f"{len(dropped)} broken rows dropped (mean confidence < {C7_MIN_MEAN_CONFIDENCE}: "
                f"{', '.join(dropped['name'])}). Headline: {h.note}; the largest d = |gap_CLIP| - median matched "
                f"|gap| is {h.value:+.3f} [{h.low:+.3f}, {h.high:+.3f}] (interval: image sampling of every accuracy and "
                f"confidence on 50,000 images, resampling the matched ImageNet models; one-sided, Holm over CLIPs). "
                f"Not testable here: the training-data parts (COOD has WIT CLIPs only; no LAION-80M).")
    evidence += variant_outcomes(bool(h.holds), variants, lambda v: f"{v.name} ({v.note})")
    return Claim("C7", judge(bool(h.holds), variants),
                 "largest excess confidence gap of a zero-shot CLIP over accuracy-matched ImageNet models (ImageNet val)",
                 h.value, h.low, h.high, evidence, tuple(variants), numbers={"table": h.table, "gaps": gaps})


def _c7_cache_variant(table: pd.DataFrame | None) -> list[Variant]:
    """The cache-based C7 test (:func:`c7_parts`) as a variant, when the caches allow it."""
    rows = _claim_rows(table, "uncalibrated")
    if not _testable(rows):
        return []
    parts = c7_parts(rows)
    holds = bool(parts["i"] and parts["ii"])
    note = (f"{parts['share_better']:.2f} of {parts['n_pairs']} (CLIP, test set) pairs below the ImageNet median ECE; "
            f"Kruskal-Wallis across {parts['n_sources']} sources p = {parts['kruskal_p']:.3g}")
    return [Variant("data=caches", "ECE from per-sample caches on every test set", parts["share_better"],
                    holds=holds, n=parts["n_pairs"], note=note)]


# --------------------------------------------------------------------------- cache-based rules (C7 variant, C8)

#: Groups of the paper whose cache rows the claims use (random-init ``smoke`` rows never count).
CLAIM_GROUPS: tuple[str, ...] = ("clip-zeroshot", "imagenet")
#: Fewest models per group (zero-shot CLIP, ImageNet) on ImageNet val for the cache-based rules.
MIN_MODELS: int = 5
#: Cache-based C7 (i): CLIP would be "consistently better calibrated" if at least this share of
#: (CLIP, test set) pairs had a lower uncalibrated ECE than the median ImageNet model on that set.
C7_CONSISTENT_SHARE: float = 0.9
#: Cache-based C7 (ii) / C8: significance level of the Kruskal-Wallis (pre-training sources) and sign tests.
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
    on_id = rows[rows["test_set"] == PAPER_PLAN.id_set].groupby("group")["model"].nunique()
    return all(on_id.get(g, 0) >= MIN_MODELS for g in CLAIM_GROUPS)


def c7_parts(rows: pd.DataFrame) -> dict[str, object]:
    """Cache-based C7 on uncalibrated rows: (i) share of (CLIP, test set) pairs with ECE below the
    ImageNet models' median on that set (< :data:`C7_CONSISTENT_SHARE` = not consistently better);
    (ii) Kruskal-Wallis of zero-shot CLIP ImageNet ECE across pre-training sources with >= 2 models."""
    med = rows[rows["group"] == "imagenet"].groupby("test_set")["ece"].median()
    clip = rows[(rows["group"] == "clip-zeroshot") & rows["test_set"].isin(med.index)]
    share = float(np.mean(clip["ece"].to_numpy() < clip["test_set"].map(med).to_numpy())) if len(clip) else np.nan
    on_id = clip[clip["test_set"] == PAPER_PLAN.id_set]
    by_src = [g["ece"].to_numpy() for _, g in on_id.groupby("pretrain_data") if len(g) >= 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all values tied: p is NaN, judged as no effect
        p = float(sps.kruskal(*by_src).pvalue) if len(by_src) >= 2 else np.nan
    return {"share_better": share, "n_pairs": int(len(clip)), "i": bool(share < C7_CONSISTENT_SHARE),
            "kruskal_p": p, "n_sources": len(by_src), "ii": bool(p < ALPHA),
            "median_ece_imagenet": med.round(4).to_dict(),
            "clip_ece_by_source": on_id.groupby("pretrain_data")["ece"].median().round(4).to_dict()}


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


#: What would make C8 testable.
C8_NEEDS = ("per-sample logits of >= 5 zero-shot CLIP and >= 5 ImageNet models on ImageNet val and its shifts "
            "(profile 'full'), to fit a temperature per model; no published table has CLIP logits or "
            "post-temperature-scaling ECE")


def claim_c8(run: Run = Run(), *, table: pd.DataFrame | None = None) -> Claim:
    """C8: after temperature scaling, zero-shot CLIP is better calibrated than models of similar accuracy.

    Needs per-sample caches (:func:`cache_calibration_table`): without >= :data:`MIN_MODELS` cached
    zero-shot CLIP and ImageNet models on ImageNet val it is ``not testable here``
    (:data:`C8_NEEDS`). With them: temperature-scaled (CLIP, test set) pairs with >=
    :data:`C8_MIN_NEIGHBOURS` ImageNet models within :data:`C8_ACC_WINDOW` top-1 (:func:`c8_pairs`);
    holds iff more than half are better **and** a one-sided sign test gives p < :data:`ALPHA`
    (statistic: share better, Wilson interval).
    """
    rows = _claim_rows(table, "temperature_scaled")
    statistic = "share of (CLIP, test set) pairs better calibrated than accuracy-matched ImageNet models after TS"
    if not _testable(rows):
        other = "" if table is None or table.empty else (
            " Cached models outside the claim groups never count: "
            + ", ".join(f"{g} {n}" for g, n in table.loc[~table["group"].isin(CLAIM_GROUPS)].groupby("group")["model"]
                        .nunique().items()))
        return not_testable("C8", statistic, C8_NEEDS, evidence=f"needs {C8_NEEDS}.{other}")
    pairs = c8_pairs(rows)
    pairs = pairs[pairs["n_neighbours"] >= C8_MIN_NEIGHBOURS]
    if len(pairs) < C8_MIN_PAIRS:
        return not_testable("C8", statistic, C8_NEEDS, evidence=f"only {len(pairs)} (CLIP, test set) pairs have >= "
                            f"{C8_MIN_NEIGHBOURS} ImageNet models within {C8_ACC_WINDOW} top-1")
    k, n = int(pairs["better"].sum()), len(pairs)
    p = float(sps.binomtest(k, n, 0.5, alternative="greater").pvalue)
    lo, hi = stats.wilson_interval(k, n)
    holds = k / n > 0.5 and p < ALPHA
    head = Variant("headline: window=0.05", "temperature-scaled ECE vs accuracy-matched ImageNet median", k / n,
                   float(lo), float(hi), holds, True, n, f"sign test p = {p:.3g}")
    evidence = (f"after temperature scaling (T fitted on {PAPER_PLAN.id_set}), zero-shot CLIP has a lower ECE than "
                f"the median ImageNet model within {C8_ACC_WINDOW} top-1 in {k}/{n} (CLIP, test set) pairs; "
                f"sign test p = {p:.3g}; Wilson interval over pairs (pairs of one model are not independent).")
    return Claim("C8", judge(holds, [head]), statistic, k / n, float(lo), float(hi), evidence, (head,))


# --------------------------------------------------------------------------- figures

#: Colour/marker per uncertainty-baselines test set (4 categorical sets: never joined by lines).
UB_SET_STYLE: dict[str, tuple[str, str]] = {
    "imagenet": (style.OKABE_ITO["black"], "o"), "imagenet-v2": (style.OKABE_ITO["blue"], "s"),
    "imagenet-c": (style.OKABE_ITO["bluish green"], "D"), "imagenet-a": (style.OKABE_ITO["vermillion"], "^"),
}


def plot_reliability(rel: pd.DataFrame, panel: str = "model", titles: Mapping[str, str] | None = None) -> plt.Figure:
    """One reliability diagram per value of ``panel`` (top: accuracy per confidence bin, the gap to
    the bin's mean confidence hatched, the diagonal) with the number of images per bin below it."""
    keys = list(dict.fromkeys(rel[panel]))
    fig, axes = plt.subplots(2, len(keys), figsize=(3.3 * len(keys), 4.8), sharex=True, sharey="row", squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.2]})
    for j, key in enumerate(keys):
        ax, cx = axes[0][j], axes[1][j]
        r = rel[rel[panel] == key]
        width = (r["upper"] - r["lower"]).to_numpy()
        mid = ((r["upper"] + r["lower"]) / 2).to_numpy()
        acc = r["accuracy"].fillna(0).to_numpy()
        ax.bar(mid, acc, width=width, color=style.OKABE_ITO["blue"], edgecolor="w", label="accuracy in bin")
        ax.bar(mid, (r["confidence"] - r["accuracy"]).fillna(0), bottom=acc, width=width, color="none",
               edgecolor=style.OKABE_ITO["vermillion"], hatch="///", linewidth=0.6, label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], color="0.2", ls="--", lw=0.8, label="perfect calibration")
        ax.set(xlim=(0, 1), ylim=(0, 1), title=(titles or {}).get(key, style.display(key)))
        ax.title.set_fontsize(8)
        cx.bar(mid, r["count"].clip(lower=0.5), width=width, color="0.55", edgecolor="w")
        cx.set_yscale("log")
        # decades only: on the short count axes, labelled minor ticks (6x10^0 under 10^1) overlap
        cx.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=4))
        cx.yaxis.set_minor_formatter(ticker.NullFormatter())
        cx.set_xlabel("confidence (max softmax)")
        if j == 0:
            ax.set_ylabel("accuracy")
            cx.set_ylabel("images per bin")
            ax.legend(fontsize=6.5, loc="upper left")
    fig.suptitle("Reliability diagrams (15 equal-width bins) with the number of images per bin", fontsize=10)
    fig.tight_layout()
    return fig


def plot_uncertainty_baselines(ub: pd.DataFrame) -> plt.Figure:
    """ECE and NLL of the uncertainty-baselines ResNet-50 methods (rows), one marker per test set
    (categorical: no lines between sets); suspect values left out; NLL on a log axis."""
    d = ub[(ub["arch"] == "ResNet-50") & ~ub["suspect"]].copy()
    methods = sorted(d["method"].unique(), key=lambda m: (m != "Deterministic", m))
    y = {m: i for i, m in enumerate(methods)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.2), sharey=True)
    for ax, metric in zip(axes, ("ece", "nll")):
        for k, t in enumerate(UB_TEST_SETS):
            g = d[(d["test_set"] == t)].dropna(subset=[metric])
            color, marker = UB_SET_STYLE[t]
            ax.scatter(g[metric], g["method"].map(y) + (k - 1.5) * 0.12, color=color, marker=marker, s=22,
                       label=style.display(t))
        ax.set_yticks(range(len(methods)), methods, fontsize=7)
        ax.invert_yaxis()
        ax.set(xlabel=f"{metric.upper()} (before temperature scaling)", title=f"ResNet-50: {metric.upper()} per method")
    style.log_axis(axes[1], "x")
    axes[0].set_ylabel("training / uncertainty method")
    axes[0].legend(fontsize=7, loc="lower right", title="test set", title_fontsize=7)
    fig.suptitle("uncertainty-baselines: calibration of 17 ResNet-50 methods on ImageNet and three shifts", fontsize=10)
    fig.tight_layout()
    return fig


def plot_ece_vs_accuracy(ub: pd.DataFrame, ix: pd.DataFrame, gaps: pd.DataFrame | None = None) -> plt.Figure:
    """ECE vs top-1, one panel per test set: uncertainty-baselines models (ResNet-50 methods,
    EfficientNets); on ImageNet val also the ImageNet-X models' ECE and the zero-shot CLIPs'
    confidence gap |conf - acc| from COOD (a lower bound on their ECE, with image-sampling intervals)."""
    d = ub[~ub["suspect"]].dropna(subset=["ece", "top1"])
    fig, axes = plt.subplots(1, len(UB_TEST_SETS), figsize=(14, 4.4), squeeze=False, sharey=True)
    for ax, t in zip(axes[0], UB_TEST_SETS):
        g = d[d["test_set"] == t]
        for arch, marker, color in (("ResNet-50", "o", style.OKABE_ITO["blue"]),
                                    ("EfficientNet", "s", style.TOL_MUTED["olive"])):
            a = g[g["arch"].str.startswith(arch)]
            if len(a):
                ax.scatter(a["top1"], a["ece"], marker=marker, color=color, s=18,
                           label=f"{arch} (uncertainty-baselines, n={len(a)})")
        if t == "imagenet":
            ax.scatter(ix["accuracy"], ix["ece"], marker="D", color=style.OKABE_ITO["black"], s=22,
                       label="ImageNet-X models (ECE, n=4)")
            if gaps is not None:
                c = gaps[(gaps["family"] == "clip-zeroshot") & ~gaps["broken"]]
                se = np.sqrt(2 * c["id_top1"] * (1 - c["id_top1"]) / IMAGENET_VAL_N) * 1.96
                ax.errorbar(c["id_top1"], c["abs_gap"], yerr=se, fmt="^", color=style.group_color("clip-zeroshot"),
                            ms=5, label=f"zero-shot CLIP |conf - acc| <= ECE (COOD, n={len(c)})")
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax.set(xlabel="top-1 accuracy", title=style.display(t))
    axes[0][0].set_ylabel("ECE (15 bins, before temperature scaling)")
    fig.suptitle("Calibration error vs accuracy per test set (ImageNet models; CLIP: lower bound, ImageNet val only)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_confidence_gap(gaps: pd.DataFrame, table: pd.DataFrame | None = None) -> plt.Figure:
    """ImageNet val: mean max-softmax confidence minus top-1 vs top-1 for every non-broken COOD
    model (> 0: over-confident); zero-shot CLIPs with 95 % image-sampling intervals."""
    ok = gaps[~gaps["broken"]]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for src in ("imagenet-1k", "imagenet+extra", "imagenet-unlisted"):
        g = ok[ok["source"] == src]
        ax.scatter(g["id_top1"], g["gap"], s=7, alpha=0.55, color=SOURCE_COLORS[src],
                   label=f"{SOURCE_LABELS[src]} (n={len(g)})")
    c = ok[ok["family"] == "clip-zeroshot"]
    se = 1.96 * np.sqrt((c["id_top1"] * (1 - c["id_top1"]) + c["mean_confidence"] * (1 - c["mean_confidence"]))
                        / IMAGENET_VAL_N)
    ax.errorbar(c["id_top1"], c["gap"], yerr=se, fmt="^", ms=6, color=style.group_color("clip-zeroshot"),
                mec="k", mew=0.4, label=f"{SOURCE_LABELS['clip-zeroshot']} (n={len(c)})", zorder=3)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set(xlabel="ImageNet-1k top-1 accuracy", ylabel="mean confidence - accuracy (ImageNet val)",
           title="COOD: confidence gap on ImageNet val (|gap| is a lower bound on ECE)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
