"""Notebook 03: shape bias on cue-conflict stimuli (Tu et al. NeurIPS 2023 §4.2; claims C3, C4).

Inputs, all real: the model-vs-human cue-conflict trials of 10 human observers and 15 models of the
kayburns fork (``clip`` there = OpenAI CLIP ViT-B/16), 1,280 trials each
(:func:`cliprobust.published.cue_conflict_trials`); and per-sample caches of zoo models on the 1,280
``cue-conflict`` stimuli when present.

Shape bias = shape hits / (shape + texture hits) over the 1,200 cue-conflict trials (PROTOCOLS.md §7;
:mod:`cliprobust.metrics.shape_bias`). CIs resample *stimuli* (all trials on a drawn stimulus go
together), so a group's CI reflects the stimulus set, not just its members. A group's estimate pools
its members' trials (hits summed over members).

Cached outputs become 16-class decisions with model-vs-human's protocol for every model
(:data:`~cliprobust.metrics.shape_bias.MVH_MAPPING`): softmax over the 1,000 ImageNet classes, mean
probability per category, arg-max. The engine caches CLIP scores only for the 1,000-name ImageNet
head (``inference.heads.HEAD_CLASSNAMES``), so the direct 16-name CLIP head
(:data:`~cliprobust.metrics.shape_bias.DIRECT_16`) is not used here.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import cache, datasets, published, zoo
from ..metrics import shape_bias as S
from ..metrics.robustness import N_BOOT, SEED

#: Subject groups, in plotting order.
GROUPS: tuple[str, ...] = ("human", "clip", "supervised", "self-supervised", "stylized")
#: kayburns model -> group (after dropping the duplicates of :data:`cliprobust.published.MVH_DUPLICATES`).
#: ``resnet50-insup`` has no definition in the fork's model zoo at 78a3a47; its name and its 0.183
#: cue-conflict accuracy (= resnet50-sup's) mark it as an ImageNet-supervised ResNet-50.
MVH_MODEL_GROUPS: dict[str, str] = {
    "clip": "clip",
    "resnet50-sup": "supervised", "resnet50-insup": "supervised", "vits-sup": "supervised",
    "resnet50-dino": "self-supervised", "resnet50-moco": "self-supervised", "vits-dino": "self-supervised",
    "vits-dinov2": "self-supervised", "vits-moco": "self-supervised", "vitb-moco": "self-supervised",
    "vits-sinsup": "stylized",
}
#: Display names (weights per the fork's ``model_zoo.py``).
MVH_LABELS: dict[str, str] = {
    "clip": "CLIP ViT-B/16", "resnet50-sup": "ResNet-50", "resnet50-insup": "ResNet-50 (insup)",
    "vits-sup": "DeiT-S", "resnet50-dino": "ResNet-50 DINO", "resnet50-moco": "ResNet-50 MoCo-v3",
    "vits-dino": "ViT-S DINO", "vits-dinov2": "ViT-S DINOv2", "vits-moco": "ViT-S MoCo-v3",
    "vitb-moco": "ViT-B MoCo-v3", "vits-sinsup": "DeiT-S Stylized-IN",
}
GROUP_COLORS: dict[str, str] = {"human": "#7f7f7f", "clip": "#d62728", "supervised": "#1f77b4",
                                "self-supervised": "#9467bd", "stylized": "#e6a100"}
GROUP_MARKERS: dict[str, str] = {"human": "D", "clip": "v", "supervised": "o", "self-supervised": "s",
                                 "stylized": "P"}

#: C3 rule (Tu et al. §4.2, "CLIP is more shape-biased than other models"): the CLIP row's CI lies
#: above the CI of each of these groups. Humans are not models; the stylized group was *trained* for
#: shape bias (Stylized-ImageNet), so it is reported but not part of the comparison.
C3_COMPARED: tuple[str, ...] = ("supervised", "self-supervised")
#: model-vs-human's CLIP wrapper: logits = 100 · cosine, then softmax (= OpenAI CLIP's learned scale).
CLIP_SOFTMAX_SCALE = 100.0
#: Data set and zoo collections of the cache-driven part (C4 needs both CLIP groups cached).
CACHE_DATASET = "cue-conflict"
CACHE_COLLECTIONS: tuple[str, ...] = ("clip-zeroshot", "clip-ft", "imagenet")

#: Models dropped because their decisions duplicate another model's (README-tables.md), duplicate -> kept.
DUPLICATES: dict[str, str] = dict(published.MVH_DUPLICATES)

from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401
TABLE_COLUMNS = ["level", "group", "name", "label", "shape_bias", "ci_low", "ci_high", "n_members",
                 "n_conflict_trials", "cue_hit_rate"]


# --------------------------------------------------------------------------- published trials


def dedupe_trials(trials: pd.DataFrame, duplicates: Mapping[str, str] = DUPLICATES) -> pd.DataFrame:
    """Drop each duplicate model after checking that its decisions equal its twin's, stimulus by stimulus."""
    for dup, keep in duplicates.items():
        a = trials[trials["subject"] == dup].set_index("stimulus")["response"].sort_index()
        b = trials[trials["subject"] == keep].set_index("stimulus")["response"].sort_index()
        if len(a) and not a.equals(b):
            raise ValueError(f"cue-conflict decisions of {dup!r} differ from {keep!r}; it is not a duplicate")
    return trials[~trials["subject"].isin(list(duplicates))].reset_index(drop=True)


def mvh_trials() -> pd.DataFrame:
    """Deduplicated human + model trials with ``group`` and ``label`` columns."""
    tr = dedupe_trials(published.cue_conflict_trials())
    grp = tr["subject"].map(MVH_MODEL_GROUPS).where(tr["kind"] == "model", "human")
    if grp.isna().any():
        raise ValueError(f"models without a group: {sorted(tr.loc[grp.isna(), 'subject'].unique())}")
    lab = tr["subject"].map(MVH_LABELS).fillna(tr["subject"])
    return tr.assign(group=grp, label=lab)


def _row(tr: pd.DataFrame, level: str, group: str, name: str, label: str, n_boot: int, seed: int) -> dict:
    ci = S.shape_bias_ci(tr["shape"].to_numpy(), tr["texture"].to_numpy(), tr["response"].to_numpy(),
                         stimulus=tr["stimulus"].to_numpy(), n_boot=n_boot, seed=seed)
    conflict = tr["shape"] != tr["texture"]
    hit = conflict & ((tr["response"] == tr["shape"]) | (tr["response"] == tr["texture"]))
    return {"level": level, "group": group, "name": name, "label": label, "shape_bias": ci.estimate,
            "ci_low": ci.ci_low, "ci_high": ci.ci_high, "n_members": tr["subject"].nunique(),
            "n_conflict_trials": int(conflict.sum()), "cue_hit_rate": float(hit.sum() / conflict.sum())}


def shape_bias_table(trials: pd.DataFrame | None = None, n_boot: int = N_BOOT, seed: int = SEED) -> pd.DataFrame:
    """One row per decision maker (``level='member'``) and per group (``level='group'``, pooled trials):
    shape bias with a stimulus-bootstrap CI, members, conflict trials, and the fraction of conflict
    trials whose decision hits either cue. ``trials`` default: :func:`mvh_trials`."""
    tr = mvh_trials() if trials is None else trials
    order = {g: i for i, g in enumerate(GROUPS)}
    rows = [_row(g, "group", name, name, name, n_boot, seed) for name, g in tr.groupby("group", sort=False)]
    rows += [_row(g, "member", g["group"].iloc[0], s, g["label"].iloc[0], n_boot, seed)
             for s, g in tr.groupby("subject", sort=False)]
    out = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    out["_o"] = out["group"].map(order).fillna(len(order))
    return out.sort_values(["_o", "level", "shape_bias"], ascending=[True, True, False]).drop(
        columns="_o").reset_index(drop=True)


def per_category_frame(trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy shape bias per shape category for every member and group: level, group, name, category,
    shape_bias (model-vs-human's matrix plot; NaN where no trial hits a cue)."""
    tr = mvh_trials() if trials is None else trials
    parts = []
    for level, key in (("group", "group"), ("member", "subject")):
        for name, g in tr.groupby(key, sort=False):
            sb = S.shape_bias_by_category(g["shape"], g["texture"], g["response"])
            parts.append(pd.DataFrame({"level": level, "group": g["group"].iloc[0], "name": name,
                                       "category": sb.index, "shape_bias": sb.to_numpy()}))
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- per-sample caches


def outputs_trials(outputs: Any, category_indices: Mapping[str, Sequence[int]] | None = None,
                   clip_scale: float = CLIP_SOFTMAX_SCALE) -> pd.DataFrame:
    """Cue-conflict trials of cached outputs: stimulus, shape, texture, response (16-class decision).

    ``outputs``: :class:`cliprobust.cache.Outputs`-like (``scores`` (N, 1000), ``file_ids``, ``labels``
    = shape category index in alphabetical order, ``is_clip``, ``probs(scale)``). Decisions follow
    :data:`~cliprobust.metrics.shape_bias.MVH_MAPPING`; CLIP softmax at :data:`CLIP_SOFTMAX_SCALE`.
    """
    cats = published.mvh_16_categories() if category_indices is None else category_indices
    names = [PurePosixPath(f).name for f in outputs.file_ids]
    cues = S.stimulus_cues(names)
    expected = np.asarray(datasets.cue_conflict_categories())[np.asarray(outputs.labels, dtype=int)]
    if not np.array_equal(expected, cues["shape"].to_numpy()):
        raise ValueError(f"{outputs.model}: cached labels disagree with the stimulus file names' shape")
    probs = outputs.probs(scale=clip_scale) if outputs.is_clip else outputs.probs()
    return pd.DataFrame({"subject": outputs.model, "stimulus": names, "shape": cues["shape"],
                         "texture": cues["texture"], "response": S.decisions_16(probs, cats)})


def cache_status(models: str | Sequence[str] = CACHE_COLLECTIONS, dataset: str = CACHE_DATASET) -> pd.DataFrame:
    """:func:`cliprobust.cache.ls` of the models (zoo selectors) on the cue-conflict stimuli: model, status.

    Models without any cache folder for the data set are ``missing`` without a key check (``ls`` would
    resolve the 1,280 shipped files once per model and import the engine)."""
    sel = [models] if isinstance(models, str) else list(models)
    ids = list(dict.fromkeys(e.id for s in sel for e in zoo.select(s)))
    present = [m for m in ids if cache.slot_dir(m, dataset).is_dir()]
    found = cache.ls(present, dataset) if present else pd.DataFrame(columns=["model", "dataset", "status"])
    absent = pd.DataFrame({"model": [m for m in ids if m not in present], "dataset": dataset, "status": "missing"})
    out = pd.concat([found, absent], ignore_index=True) if len(found) else absent
    return out.set_index("model").loc[ids].reset_index()


def cache_summary(status: pd.DataFrame) -> dict[str, int]:
    """Models per cache status."""
    return {k: int(v) for k, v in status["status"].value_counts().sort_index().items()}


def cached_trials(status: pd.DataFrame, dataset: str = CACHE_DATASET) -> pd.DataFrame:
    """Trials of every usable (complete / derivable) cached model, with ``group`` = zoo group; empty if none."""
    usable = status.loc[status["status"].isin(["complete", "derivable"]), "model"].drop_duplicates()
    parts = [outputs_trials(cache.load(m, dataset)) for m in usable]
    if not parts:
        return pd.DataFrame(columns=["subject", "stimulus", "shape", "texture", "response", "group", "label"])
    tr = pd.concat(parts, ignore_index=True)
    return tr.assign(group=tr["subject"].map(lambda m: zoo.get(m).group), label=tr["subject"])


# --------------------------------------------------------------------------- claims


def _groups(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["level"] == "group"].set_index("group")


def claim_c3(table: pd.DataFrame | None = None) -> dict[str, Any]:
    """C3 verdict: reproduced when CLIP's ci_low exceeds the ci_high of every group in :data:`C3_COMPARED`."""
    table = shape_bias_table() if table is None else table
    g = _groups(table)
    clip = g.loc["clip"]
    above = {k: bool(clip["ci_low"] > g.loc[k, "ci_high"]) for k in C3_COMPARED}
    members = table[(table["level"] == "member") & table["group"].isin(C3_COMPARED)]
    nums = {"shape_bias": {k: round(float(v), 4) for k, v in g["shape_bias"].items()},
            "ci": {k: [round(float(r.ci_low), 4), round(float(r.ci_high), 4)] for k, r in g.iterrows()},
            "clip_above_group": above,
            "models_below_clip": f"{int((members['shape_bias'] < clip['shape_bias']).sum())}/{len(members)}"}
    verdict = REPRODUCED if all(above.values()) else NOT_REPRODUCED
    evidence = (f"CLIP ViT-B/16 shape bias {clip['shape_bias']:.3f} [{clip['ci_low']:.3f}, {clip['ci_high']:.3f}] "
                f"vs supervised {g.loc['supervised', 'shape_bias']:.3f}, self-supervised "
                f"{g.loc['self-supervised', 'shape_bias']:.3f} (pooled, stimulus-bootstrap 95% CI); humans "
                f"{g.loc['human', 'shape_bias']:.3f}, Stylized-IN DeiT-S {g.loc['stylized', 'shape_bias']:.3f} "
                f"(not compared). Rule: CLIP CI above each of {list(C3_COMPARED)}.")
    return {"claim": "C3", "evidence": evidence, "verdict": verdict, "numbers": nums}


def claim_c4(cached: pd.DataFrame | None = None, n_boot: int = N_BOOT, seed: int = SEED) -> dict[str, Any]:
    """C4: fine-tuning on ImageNet lowers CLIP's shape bias. Needs cue-conflict caches of zoo models in
    ``clip-zeroshot`` and ``clip-ft`` (default: read them with :func:`cached_trials`); reproduced when the pooled CLIP-FT CI lies below the zero-shot CI.
    Random-init smoke models are in neither group, so they never count."""
    tr = cached_trials(cache_status()) if cached is None else cached
    have = {g: sorted(tr.loc[tr["group"] == g, "subject"].unique()) for g in ("clip-zeroshot", "clip-ft")}
    if not all(have.values()):
        return {"claim": "C4", "verdict": NOT_TESTABLE, "numbers": {k: len(v) for k, v in have.items()},
                "evidence": "No published cue-conflict decisions of CLIP-FT models; needs cue-conflict caches of "
                            "both zero-shot CLIP and CLIP-FT (cliprobust evaluate --models clip-zeroshot,clip-ft "
                            f"--datasets cue-conflict); cached: { {k: len(v) for k, v in have.items()} }."}
    g = _groups(shape_bias_table(tr[tr["group"].isin(list(have))], n_boot=n_boot, seed=seed))
    zs, ft = g.loc["clip-zeroshot"], g.loc["clip-ft"]
    nums = {k: [round(float(r.shape_bias), 4), round(float(r.ci_low), 4), round(float(r.ci_high), 4)]
            for k, r in g.iterrows()} | {"n_models": {k: len(v) for k, v in have.items()}}
    verdict = REPRODUCED if ft["ci_high"] < zs["ci_low"] else NOT_REPRODUCED
    return {"claim": "C4", "verdict": verdict, "numbers": nums,
            "evidence": f"pooled shape bias CLIP-FT {ft['shape_bias']:.3f} vs zero-shot {zs['shape_bias']:.3f}"}


# --------------------------------------------------------------------------- figures (plot only)


def plot_groups(table: pd.DataFrame) -> plt.Figure:
    """Shape bias with 95 % CI per decision maker, grouped; group pooled values as vertical bars."""
    members = table[table["level"] == "member"].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(members) + 1.5))
    for i, r in members.iterrows():
        c = GROUP_COLORS.get(r["group"], "k")
        ax.errorbar(r["shape_bias"], i, xerr=[[r["shape_bias"] - r["ci_low"]], [r["ci_high"] - r["shape_bias"]]],
                    fmt=GROUP_MARKERS.get(r["group"], "o"), color=c, capsize=2, ms=5)
    for _, r in table[table["level"] == "group"].iterrows():
        ys = members.index[members["group"] == r["group"]]
        ax.plot([r["shape_bias"]] * 2, [ys.min() - 0.4, ys.max() + 0.4], color=GROUP_COLORS.get(r["group"], "k"),
                lw=3, alpha=0.35, label=f"{r['group']} (pooled {r['shape_bias']:.2f})")
    ax.set(yticks=members.index, yticklabels=members["label"], xlim=(0, 1),
           xlabel="shape bias = shape / (shape + texture) decisions")
    ax.axvline(0.5, color="0.6", lw=0.8, ls=":")
    ax.invert_yaxis()
    ax.set_title("Cue-conflict shape bias (95% CI, stimulus bootstrap)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    bottom = 0.6 / fig.get_figheight()  # keep 0.6 in below the axes for the legend
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, bottom), ncol=3, frameon=False)
    return fig


def plot_per_category(per_cat: pd.DataFrame, overall: pd.DataFrame) -> plt.Figure:
    """model-vs-human style: categories as rows, fraction of shape decisions on x (texture on the top
    axis), one marker per group (pooled), group averages as vertical lines."""
    g = per_cat[per_cat["level"] == "group"]
    cats = list(S.CATEGORIES_16)
    fig, ax = plt.subplots(figsize=(6, 7))
    for group, rows in g.groupby("group", sort=False):
        rows = rows.set_index("category").reindex(cats)
        c = GROUP_COLORS.get(group, "k")
        ax.scatter(rows["shape_bias"], range(len(cats)), marker=GROUP_MARKERS.get(group, "o"), color=c,
                   s=40, alpha=0.85, label=group, zorder=3)
        avg = overall.loc[(overall["level"] == "group") & (overall["group"] == group), "shape_bias"]
        if len(avg):
            ax.axvline(float(avg.iloc[0]), color=c, lw=1, alpha=0.6)
    ax.set(yticks=range(len(cats)), yticklabels=cats, xlim=(-0.02, 1.02),
           xlabel="fraction of 'shape' decisions")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1 - x, lambda x: 1 - x))
    top.set_xlabel("fraction of 'texture' decisions")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, -0.22), ncol=3)
    fig.tight_layout()
    return fig
