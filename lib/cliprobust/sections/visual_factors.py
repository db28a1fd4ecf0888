"""Notebook 02: robustness to visual factors (Tu et al. NeurIPS 2023 §4.1; claims C1, C2).

Inputs, all real:

- ImageNet-X published per-factor accuracies of the ``imagenet_testbed`` group (335 models,
  incl. zero-shot CLIP ViT-B/32 and RN50; :func:`published_factor_table`);
- the ImageNet-val top-1 decisions of CLIP ViT-B/16 from the kayburns model-vs-human fork, re-aggregated
  with the ImageNet-X package annotations into a third CLIP row (:func:`mvh_clip_factor_table`);
- the 4 ImageNet-X base-model prediction files, re-aggregated as a consistency check against the
  published ``base`` table (:func:`base_consistency`);
- per-sample caches on ImageNet val (``imagenet``) when present (:func:`cached_factor_table`).

Factor-level effective robustness (ER) is :func:`cliprobust.metrics.factors.factor_er_table`: per
factor, a logit-space line of factor accuracy on overall accuracy over :data:`BASELINE` models;
CIs resample the baseline models (uncertainty of the line). ``acc_se`` adds the binomial standard
error of a model's own factor accuracy (images per factor), a conservative, unpaired bound on
image-sampling noise that the published tables do not let us resample.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import cache, published, zoo
from ..metrics import factors as F
from ..metrics import robustness as R

#: The 10 factors of Tu et al. §4.1 (:data:`cliprobust.metrics.factors.PAPER_FACTORS`).
PAPER_FACTORS: tuple[str, ...] = F.PAPER_FACTORS
#: ImageNet-X result group holding the two zero-shot CLIP rows and the imagenet-testbed models.
IMAGENETX_GROUP = "imagenet_testbed"
#: Zero-shot CLIP rows with published ImageNet-X factor accuracies (OpenAI weights) -> display label.
CLIP_MODELS: dict[str, str] = {
    "imagenetx:vit_b_32_clip_zeroshot": "CLIP ViT-B/32",
    "imagenetx:resnet50_clip_zeroshot": "CLIP RN50",
}
#: Extra CLIP row re-aggregated from per-image decisions (kayburns fork: OpenAI ViT-B/16).
MVH_CLIP = "mvh:clip"
MVH_CLIP_LABEL = "CLIP ViT-B/16 (mvh decisions)"
#: Baseline of the factor-level ER lines: imagenet-testbed STANDARD models (Taori et al. 2020), named
#: by :func:`cliprobust.published.testbed_baseline_models`; the paper used its own ImageNet models.
BASELINE = "testbed STANDARD (published.testbed_baseline_models)"
#: z of a two-sided 95 % normal interval, for the conservative accuracy-noise check.
Z95 = 1.959963984540054

#: C1 rule (Tu et al. §4.1: "more robust on 6 of 10 factors … less robust on some, e.g. pose"):
#: a CLIP model passes when its factor ER has ci_low > 0 on ≥ C1_MIN_POSITIVE of the 10 paper factors
#: AND ci_high < 0 on at least one factor; C1 is reproduced when every model of CLIP_MODELS passes.
C1_MIN_POSITIVE = 6
C1_NAMED_NEGATIVE = "pose"
#: C2 (Tu et al. §4.1): LAION-trained CLIP has higher factor ER than WIT-trained on these factors …
C2_LAION_HIGHER: tuple[str, ...] = ("shape",)
#: … and lower on these.
C2_WIT_HIGHER: tuple[str, ...] = ("background", "pose")
#: Zoo collection and data set whose per-sample caches feed the cache-driven part.
CACHE_MODELS = "clip-zeroshot"
CACHE_DATASET = "imagenet"

#: One shade of the CLIP colour per CLIP row in the figures.
_CLIP_SHADES: dict[str, str] = {"imagenetx:vit_b_32_clip_zeroshot": "#d62728",
                                "imagenetx:resnet50_clip_zeroshot": "#8c1515", MVH_CLIP: "#f28e8e"}

from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401


# --------------------------------------------------------------------------- published tables


def published_factor_table(group: str = IMAGENETX_GROUP) -> pd.DataFrame:
    """Models (``imagenetx:<name>``) × (16 factors, ``worst_factor``, ``average``), fractions."""
    long = published.imagenetx_factor_accuracies(group)
    wide = long.pivot(index="model", columns="factor", values="accuracy")[list(F.FACTORS)]
    summary = long.drop_duplicates("model").set_index("model")[[F.WORST, F.AVERAGE]]
    return wide.join(summary).rename_axis(index="model", columns=None)


def families(group: str = IMAGENETX_GROUP) -> pd.Series:
    """Model id -> family (testbed type, ``clip-zeroshot`` for the CLIP rows)."""
    long = published.imagenetx_factor_accuracies(group)
    return long.drop_duplicates("model").set_index("model")["family"]


def model_families(models: pd.Series) -> pd.Series:
    """Family of each id: ImageNet-X rows from :func:`families`, zoo ids their zoo group, ``mvh:clip``
    ``clip-zeroshot``."""
    fam = families()
    def one(m: str) -> str:
        if m in fam.index:
            return fam[m]
        return "clip-zeroshot" if m == MVH_CLIP else (zoo.get(m).group if m in zoo.REGISTRY else "other")
    return models.map(one)


def baseline_ids(table: pd.DataFrame) -> list[str]:
    """:data:`BASELINE` models as ``imagenetx:`` ids; every one must be a row of ``table``."""
    ids = [m.replace("testbed:", "imagenetx:", 1) for m in published.testbed_baseline_models()]
    missing = sorted(set(ids) - set(table.index))
    if missing:
        raise ValueError(f"{len(missing)} testbed baseline models lack ImageNet-X rows, e.g. {missing[:3]}")
    return ids


def factor_counts(annotations: pd.DataFrame, factors: Sequence[str] = F.PAPER_FACTORS) -> pd.Series:
    """Images per factor in the annotation table (denominator of each factor accuracy)."""
    return annotations[list(factors)].sum().astype(int).rename("n_images")


def annotations_by_file() -> pd.DataFrame:
    """ImageNet-X top-factor val annotations (prototypes dropped, as the published tables), by file name."""
    return published.imagenetx_annotations("top").set_index("file_name")


# --------------------------------------------------------------------------- re-aggregation


def _factor_table(predictions: Mapping[str, pd.Series], annotations: pd.DataFrame) -> pd.DataFrame:
    correct = F.correctness_table(predictions, annotations["label"])
    return F.factor_accuracies(correct, annotations[list(F.FACTORS)])


def mvh_clip_factor_table(annotations: pd.DataFrame) -> pd.DataFrame:
    """One-row factor table of CLIP ViT-B/16 from its kayburns ImageNet-val decisions."""
    dec = published.imagenet_val_decisions("clip").set_index("file_name")["response_index"]
    return _factor_table({MVH_CLIP: dec}, annotations)


def base_consistency(annotations: pd.DataFrame) -> pd.DataFrame:
    """Re-aggregate the 4 shipped ImageNet-X prediction files and compare with the published ``base``
    table: per model, max |ours − published| over 16 factors + worst_factor + average."""
    preds = {f"imagenetx:{n}": published.imagenetx_predictions(n).set_index("file_name")["predicted_class"]
             for n in published.IMAGENETX_PREDICTION_MODELS}
    ours = _factor_table(preds, annotations)
    pub = published_factor_table("base").loc[ours.index, ours.columns]
    out = pd.DataFrame({"average": ours[F.AVERAGE], "max_abs_diff": (ours - pub).abs().max(axis=1)})
    return out.rename_axis("model").reset_index()


def factor_table(annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published ImageNet-X table plus the re-aggregated CLIP ViT-B/16 row."""
    ann = annotations_by_file() if annotations is None else annotations
    return pd.concat([published_factor_table(), mvh_clip_factor_table(ann)])


# --------------------------------------------------------------------------- per-sample caches


def outputs_predictions(outputs: Any) -> pd.Series:
    """Top-1 ImageNet index per image of cached outputs (``scores`` (N, 1000), ``file_ids``), indexed by
    the file's base name (cache ids may carry a class folder; ImageNet-X keys on ``ILSVRC2012_val_*``)."""
    scores = np.asarray(outputs.scores)
    if scores.ndim != 2 or scores.shape[1] != 1000:
        raise ValueError(f"{getattr(outputs, 'model', '?')}: need (N, 1000) ImageNet scores, got {scores.shape}")
    names = [PurePosixPath(f).name for f in outputs.file_ids]
    return pd.Series(scores.argmax(axis=1), index=pd.Index(names, name="file_name"),
                     name=getattr(outputs, "model", None))


def cache_status(models: str = CACHE_MODELS, dataset: str = CACHE_DATASET) -> pd.DataFrame:
    """:func:`cliprobust.cache.ls` of the models on the data set (``status`` per model)."""
    return cache.ls(models, dataset)


def cache_summary(status: pd.DataFrame) -> dict[str, int]:
    """Models per cache status (complete / derivable / partial / stale / missing)."""
    return {k: int(v) for k, v in status["status"].value_counts().sort_index().items()}


def cached_factor_table(status: pd.DataFrame, annotations: pd.DataFrame,
                        dataset: str = CACHE_DATASET) -> pd.DataFrame:
    """Factor table of every model whose cache is usable (complete or derivable); empty if none."""
    usable = status.loc[status["status"].isin(["complete", "derivable"]), "model"]
    preds = {m: outputs_predictions(cache.load(m, dataset)) for m in usable}
    if not preds:
        return pd.DataFrame(columns=[*F.FACTORS, F.WORST, F.AVERAGE])
    return _factor_table(preds, annotations)


# --------------------------------------------------------------------------- factor-level ER


def _acc_se(er: pd.DataFrame, counts: pd.Series) -> pd.Series:
    n = er["factor"].map(counts).astype(float)
    return np.sqrt(er["ood_acc"] * (1 - er["ood_acc"]) / n)


def factor_er_frame(table: pd.DataFrame | None = None, annotations: pd.DataFrame | None = None,
                    n_boot: int = R.N_BOOT, seed: int = R.SEED) -> pd.DataFrame:
    """Tidy factor-level ER of every model of ``table`` against :data:`BASELINE` on the 10 paper factors.

    Columns of :func:`~cliprobust.metrics.factors.factor_er_table` plus ``family``, ``label``,
    ``n_images``, ``acc_se`` (binomial SE of the factor accuracy) and ``sign`` (``+`` if ci_low > 0,
    ``-`` if ci_high < 0, else ``0``). Default ``table``: :func:`factor_table`.
    """
    ann = annotations_by_file() if annotations is None else annotations
    tab = factor_table(ann) if table is None else table
    er = F.factor_er_table(tab, baseline_ids(tab), n_boot=n_boot, seed=seed)
    er["family"] = model_families(er["model"])
    er["label"] = er["model"].map({**CLIP_MODELS, MVH_CLIP: MVH_CLIP_LABEL}).fillna(er["model"])
    er["n_images"] = er["factor"].map(factor_counts(ann)).astype(int)
    er["acc_se"] = _acc_se(er, factor_counts(ann))
    er["sign"] = np.select([er["ci_low"] > 0, er["ci_high"] < 0], ["+", "-"], "0")
    return er


def clip_er_wide(er: pd.DataFrame, models: Sequence[str] = (*CLIP_MODELS, MVH_CLIP)) -> pd.DataFrame:
    """Factors × CLIP models table of ER with its CI, e.g. ``+0.043 [0.036, 0.053]``."""
    sub = er[er["model"].isin(models)]
    cell = sub.apply(lambda r: f"{r.er:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]", axis=1)
    out = sub.assign(cell=cell).pivot(index="factor", columns="label", values="cell")
    return out.reindex(index=list(F.PAPER_FACTORS))


def error_ratio_frame(table: pd.DataFrame, fam: pd.Series | None = None) -> pd.DataFrame:
    """Tidy (model, family, factor, accuracy, error_ratio) on the paper factors (ImageNet-X §4 error ratio)."""
    er = F.error_ratio(table, F.PAPER_FACTORS).rename_axis("model").reset_index()
    long = er.melt(id_vars="model", var_name="factor", value_name="error_ratio")
    acc = table[list(F.PAPER_FACTORS)].rename_axis("model").reset_index().melt(
        id_vars="model", var_name="factor", value_name="accuracy")
    out = acc.merge(long, on=["model", "factor"])
    out.insert(1, "family", model_families(out["model"]) if fam is None else out["model"].map(fam))
    return out


def group_summary(ratio: pd.DataFrame, baseline: Sequence[str]) -> pd.DataFrame:
    """Per factor: the CLIP rows' accuracy / error ratio next to the baseline models' median and IQR."""
    base = ratio[ratio["model"].isin(baseline)].groupby("factor")[["accuracy", "error_ratio"]]
    q = base.quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = [f"baseline_{m}_q{int(p * 100)}" for m, p in q.columns]
    clip = ratio[ratio["family"] == "clip-zeroshot"].pivot(index="factor", columns="model",
                                                           values=["accuracy", "error_ratio"])
    labels = {**CLIP_MODELS, MVH_CLIP: MVH_CLIP_LABEL}
    clip.columns = [f"{m} {labels.get(c, c)}" for m, c in clip.columns]
    return q.join(clip).reindex(list(F.PAPER_FACTORS)).reset_index()


def cached_factor_er(cached: pd.DataFrame, annotations: pd.DataFrame, n_boot: int = R.N_BOOT,
                     seed: int = R.SEED) -> pd.DataFrame:
    """Factor ER of cache-derived rows against the same published baseline lines (rows of ``cached`` only)."""
    if cached.empty:
        return pd.DataFrame(columns=["model", "factor", "er", "ci_low", "ci_high", "family", "label", "sign"])
    er = factor_er_frame(pd.concat([published_factor_table(), cached]), annotations, n_boot, seed)
    return er[er["model"].isin(cached.index)].reset_index(drop=True)


def factor_er_from_cache(status: pd.DataFrame | None = None, annotations: pd.DataFrame | None = None,
                         n_boot: int = R.N_BOOT) -> pd.DataFrame:
    """:func:`cached_factor_er` of every usable cache in ``status`` (default :func:`cache_status`)."""
    status = cache_status() if status is None else status
    if not status["status"].isin(["complete", "derivable"]).any():
        return cached_factor_er(pd.DataFrame(), pd.DataFrame())
    ann = annotations_by_file() if annotations is None else annotations
    return cached_factor_er(cached_factor_table(status, ann), ann, n_boot)


# --------------------------------------------------------------------------- claims


def _c1_model(er: pd.DataFrame, model: str) -> dict[str, Any]:
    rows = er[(er["model"] == model) & er["factor"].isin(F.PAPER_FACTORS)].set_index("factor")
    conservative = rows["er"] - Z95 * rows["acc_se"] > 0
    return {"positive": sorted(rows.index[rows["sign"] == "+"]), "negative": sorted(rows.index[rows["sign"] == "-"]),
            "n_positive": int((rows["sign"] == "+").sum()), "n_negative": int((rows["sign"] == "-").sum()),
            f"{C1_NAMED_NEGATIVE}_er": round(float(rows.loc[C1_NAMED_NEGATIVE, "er"]), 4),
            "n_positive_with_acc_noise": int(conservative.sum())}


def claim_c1(er: pd.DataFrame | None = None) -> dict[str, Any]:
    """C1 verdict by the rule of :data:`C1_MIN_POSITIVE` (see there), on :data:`CLIP_MODELS`.

    ``numbers`` per model: factors with ci_low > 0 / ci_high < 0, the ER on pose, and how many positive
    factors stay positive when the unpaired accuracy SE is also subtracted (conservative check).
    """
    er = factor_er_frame() if er is None else er
    per = {CLIP_MODELS[m]: _c1_model(er, m) for m in CLIP_MODELS}
    passed = {k: v["n_positive"] >= C1_MIN_POSITIVE and v["n_negative"] >= 1 for k, v in per.items()}
    if MVH_CLIP in set(er["model"]):
        per[MVH_CLIP_LABEL] = _c1_model(er, MVH_CLIP)
    verdict = REPRODUCED if all(passed.values()) else NOT_REPRODUCED
    ev = "; ".join(f"{k}: ER CI > 0 on {v['n_positive']}/10 factors, < 0 on {v['negative']}"
                   for k, v in per.items())
    evidence = (f"Factor-level ER vs {BASELINE} ({len(baseline_ids(published_factor_table()))} models), "
                f"95% CI from resampling baseline models. {ev}. Rule: ci_low > 0 on ≥ {C1_MIN_POSITIVE} "
                f"factors and ci_high < 0 on ≥ 1 factor, for both ViT-B/32 and RN50.")
    return {"claim": "C1", "evidence": evidence, "verdict": verdict, "numbers": per}


def c2_group_er(cached_er: pd.DataFrame) -> pd.DataFrame:
    """Mean factor ER per pretraining-data group (``LAION`` = LAION-400M/2B, ``WIT``) of zoo models."""
    data = cached_er["model"].map(lambda m: zoo.get(m).pretrain_data if m in zoo.REGISTRY else None)
    grp = np.select([data.str.startswith("LAION", na=False), data.str.startswith("WIT", na=False)],
                    ["LAION", "WIT"], "other")
    sub = cached_er.assign(data_group=grp)
    sub = sub[sub["data_group"] != "other"]
    return sub.groupby(["data_group", "factor"]).agg(er=("er", "mean"), n_models=("model", "nunique")).reset_index()


def claim_c2(cached_er: pd.DataFrame | None = None) -> dict[str, Any]:
    """C2: LAION CLIP has higher factor ER than WIT CLIP on shape and lower on background and pose.

    Needs factor ER of cached zero-shot CLIP models on ImageNet val (default: read the caches with
    :func:`factor_er_from_cache`) with ≥ 1 LAION and ≥ 1 WIT model; otherwise 'not testable here'.
    Reproduced when all three directions hold for the group means.
    """
    cached_er = factor_er_from_cache() if cached_er is None else cached_er
    groups = c2_group_er(cached_er) if len(cached_er) else pd.DataFrame(
        columns=["data_group", "factor", "er", "n_models"])
    have = set(groups["data_group"])
    if not {"LAION", "WIT"} <= have:
        return {"claim": "C2", "verdict": NOT_TESTABLE, "numbers": {"groups_cached": sorted(have)},
                "evidence": "No published LAION factor accuracies; needs per-sample caches of LAION- and "
                            f"WIT-trained zero-shot CLIP on {CACHE_DATASET!r} (cliprobust evaluate --models "
                            f"{CACHE_MODELS} --datasets {CACHE_DATASET} --data-root DIR); found {sorted(have)}."}
    w = groups.pivot(index="factor", columns="data_group", values="er")
    checks = {f"{f}: LAION > WIT": bool(w.loc[f, "LAION"] > w.loc[f, "WIT"]) for f in C2_LAION_HIGHER}
    checks |= {f"{f}: WIT > LAION": bool(w.loc[f, "WIT"] > w.loc[f, "LAION"]) for f in C2_WIT_HIGHER}
    nums = {"mean_er": w.round(4).to_dict(), "checks": checks}
    verdict = REPRODUCED if all(checks.values()) else NOT_REPRODUCED
    return {"claim": "C2", "verdict": verdict, "numbers": nums,
            "evidence": f"Mean factor ER of cached LAION vs WIT zero-shot CLIP: {checks}"}


# --------------------------------------------------------------------------- figures (plot only)


def plot_factor_accuracy(ratio: pd.DataFrame, baseline: Sequence[str], colors: Mapping[str, str]) -> plt.Figure:
    """Two panels over the 10 factors: accuracy and error ratio; baseline models as a box per factor,
    CLIP rows as markers."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
    factors = list(F.PAPER_FACTORS)
    base = ratio[ratio["model"].isin(baseline)]
    clip = ratio[ratio["family"] == "clip-zeroshot"]
    markers = dict(zip(sorted(clip["model"].unique()), "ovs^D"))
    shade = {m: _CLIP_SHADES.get(m, colors["clip-zeroshot"]) for m in markers}
    for ax, col, xlabel in ((axes[0], "accuracy", "factor accuracy"), (axes[1], "error_ratio", "error ratio")):
        data = [base.loc[base["factor"] == f, col].to_numpy() for f in factors]
        ax.boxplot(data, positions=range(len(factors)), orientation="horizontal", widths=0.5,
                   patch_artist=True, boxprops={"facecolor": colors["imagenet"], "alpha": 0.35},
                   medianprops={"color": colors["imagenet"]}, flierprops={"markersize": 2})
        for model, rows in clip.groupby("model"):
            rows = rows.set_index("factor").reindex(factors)
            label = {**CLIP_MODELS, MVH_CLIP: MVH_CLIP_LABEL}.get(model, model)
            ax.scatter(rows[col], range(len(factors)), marker=markers[model], color=shade[model],
                       zorder=3, label=label, s=30)
        ax.set(xlabel=xlabel, yticks=range(len(factors)), yticklabels=factors)
    axes[1].axvline(1, color="0.5", lw=0.8, ls="--")
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False,
               title=f"boxes: {len(baseline)} ImageNet baseline models (testbed STANDARD)", title_fontsize=8)
    fig.suptitle("ImageNet-X factors: zero-shot CLIP vs ImageNet models (Tu et al. §4.1)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_factor_er(er: pd.DataFrame, models: Sequence[str], colors: Mapping[str, str]) -> plt.Figure:
    """Factor-level ER with 95 % CI per CLIP model (dodged), baseline models' ER range shaded, 0 line."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    factors = list(F.PAPER_FACTORS)
    base = er[er["family"] == "STANDARD"].groupby("factor")["er"]
    lo, hi = base.quantile(0.05).reindex(factors), base.quantile(0.95).reindex(factors)
    ax.barh(range(len(factors)), hi - lo, left=lo, height=0.8, color=colors["imagenet"], alpha=0.2,
            label="baseline models, 5–95 % of ER")
    for k, model in enumerate(models):
        rows = er[er["model"] == model].set_index("factor").reindex(factors)
        y = np.arange(len(factors)) + (k - (len(models) - 1) / 2) * 0.22
        ax.errorbar(rows["er"], y, xerr=[rows["er"] - rows["ci_low"], rows["ci_high"] - rows["er"]],
                    fmt="ovs^D"[k], color=_CLIP_SHADES.get(model, colors["clip-zeroshot"]), capsize=2,
                    label=rows["label"].iloc[0], ms=5)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(yticks=range(len(factors)), yticklabels=factors, xlabel="factor-level effective robustness (accuracy)")
    ax.set_xlim(min(lo.min(), er.loc[er["model"].isin(models), "ci_low"].min()) - 0.005, None)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ax.set_title("Factor-level ER of zero-shot CLIP (line: testbed STANDARD models, logit space)", fontsize=10)
    fig.tight_layout()
    return fig
