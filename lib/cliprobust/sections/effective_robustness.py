"""Effective robustness (ER) of zero-shot CLIP, CLIP fine-tuned on ImageNet and ImageNet models.

Reproduces Fang et al. (ICML 2022) / Tu et al. (NeurIPS 2023, §ER) from published tables only:
ImageNet top-1 against each natural shift (V2, R, Sketch, ObjectNet, A) on logit axes, one baseline
line fitted over ImageNet-trained models, ER = OOD accuracy − the line's prediction (in accuracy
units), and the data-source study (ER by pre-training data and by samples seen). Claims C10-C12 of
``shared/PAPERS.md`` are decided by :func:`claim_c10`, :func:`claim_c11`, :func:`claim_c12`.

Model groups (``group``, ``source``): ``imagenet``/``testbed`` (the baseline models),
``imagenet``/``timm`` (timm ImageNet-1k-only supervised models, a second baseline),
``clip-zeroshot``/``open_clip`` (open_clip's zero-shot table), ``clip-zeroshot``/``scaling``
(LAION scaling-laws checkpoints + 3 OpenAI models), ``clip-ft``/``timm`` (the zoo's 32 CLIP-FT).
Every fit and ER value comes from :mod:`cliprobust.metrics.robustness`; this module only joins
tables, names the protocol choices (constants below) and plots.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Sequence
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .. import published, zoo
from ..metrics import robustness
from ..plots import GROUP_COLORS

# --------------------------------------------------------------------------- protocol choices

#: x-axis of every shift: FULL ImageNet val top-1 (``published.SHIFT_BASELINE_FULL_IMAGENET``).
#: The open_clip and scaling-laws tables have no class-subset ImageNet accuracies
#: (``imagenet-r-classes`` etc.), so for cross-source comparisons every model -- baseline
#: included -- uses full ImageNet val as its ID accuracy on all five shifts (as in Fang et al.'s
#: plots). The class-subset convention of PROTOCOLS.md item 3 is NOT used here.
SHIFT_ID: dict[str, str] = dict(published.SHIFT_BASELINE_FULL_IMAGENET)
ID_TEST_SET = published.IMAGENET
SHIFTS: tuple[str, ...] = published.SHIFTS

#: The four shifts timm publishes (no ObjectNet): used for CLIP-FT, the timm baseline and C12.
FT_SHIFTS: tuple[str, ...] = ("imagenet-v2", "imagenet-r", "imagenet-sketch", "imagenet-a")

#: Headline ER (Fang et al.'s convention): ER of the mean OOD accuracy over the 5 shifts against
#: the baseline fit of mean OOD accuracy (``robustness.er_of_mean_accuracy``).
MEAN_SHIFT = robustness.MEAN_SHIFT
#: Same over :data:`FT_SHIFTS` (models without ObjectNet: CLIP-FT, timm; claim C12).
MEAN_SHIFT_4 = "mean-shift-4"
#: Mean of the 5 per-shift ERs of a model (``robustness.er_average``), reported beside the headline.
MEAN_OF_SHIFT_ER = "mean-er"
ER_SHIFTS: tuple[str, ...] = SHIFTS + (MEAN_SHIFT, MEAN_SHIFT_4)

#: Default baseline: the 85 imagenet-testbed STANDARD models (``published.testbed_baseline_models``,
#: Taori et al. 2020). They have all five shifts incl. ObjectNet (ImageNet-R: 80 of them).
BASELINE_TESTBED = "testbed-standard"
#: Optional second baseline on :data:`FT_SHIFTS`: timm models trained on ImageNet-1k only with
#: plain supervised training (:func:`timm_in1k_rule`), at their default resolution.
BASELINE_TIMM = "timm-in1k"
BASELINES: tuple[str, ...] = (BASELINE_TESTBED, BASELINE_TIMM)
BASELINE = BASELINE_TESTBED

#: open_clip rows: the loader drops the 3 openai ``-quickgelu`` duplicates (121 -> 118). True also
#: drops the 5 plain rows (ViT-B-32 laion400m_e31/e32, RN50 cc12m/yfcc15m, RN101 yfcc15m) whose
#: weights were trained with QuickGELU and whose ``-quickgelu`` twin row is in the table: same
#: weights, evaluated with the wrong activation (PROTOCOLS item 10; ``zoo.published_ids`` also
#: prefers the twin). 118 -> 113 distinct weight sets.
DROP_ACTIVATION_TWINS = True

#: Group-level CIs resample the baseline models (line uncertainty, ``robustness.bootstrap_lines``)
#: and, jointly in each draw, the group's own models (which models happen to be in the group):
#: a percentile interval of the group mean over :data:`robustness.N_BOOT` seeded draws.
GROUP_CI_RESAMPLES_MODELS = True
N_BOOT = robustness.N_BOOT
SEED = robustness.SEED
CI_LEVEL = robustness.CI_LEVEL

#: Data-source study (figure ``01_er_by_data_source`` and C11 between-source spread): open_clip
#: models with a standard CLIP architecture and loss (``zoo.CLIP_ARCH``: drops SigLIP, CoCa, EVA,
#: NLLB/RoBERTa text towers, so that sources differ in data) and >= 1B samples seen where the tag
#: states it (``zoo.MIN_SAMPLES_SEEN``: drops DataComp's 12.8M/128M-sample filtering probes, whose
#: 1-30 % ImageNet accuracy compresses ER towards 0 and would inflate the between-source spread).
DATA_STUDY_ARCH = zoo.CLIP_ARCH
DATA_STUDY_MIN_SAMPLES = zoo.MIN_SAMPLES_SEEN
#: Sources need at least this many models to enter a within- or between-source spread.
MIN_MODELS_PER_SOURCE = 2

#: Claim C10's large-ER shifts (Fang et al.: large on R, Sketch, ObjectNet, A; small on V2).
C10_SHIFTS: tuple[str, ...] = ("imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a")
from . import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, VERDICTS  # noqa: F401

# --------------------------------------------------------------------------- C12 pairing rule

#: Ordered (regex on a timm CLIP-FT name, open_clip id of the zero-shot weights it was fine-tuned
#: from); first match wins. ViT: the CLIP source in the tag (``openai``/``laion2b``) with the
#: architecture's 224-px tower, whatever the fine-tune resolution; timm's pre-1.0 pretrained cfgs
#: pointed its ``*.laion2b`` towers at laion/CLIP-ViT-B-32-laion2B-s34B-b79K, -B-16-...-s34B-b88K,
#: -L-14-...-s32B-b82K, -H-14-...-s32B-b79K. ConvNeXt: timm's ``convnext_base`` /
#: ``convnext_large_mlp`` towers are open_clip's ``convnext_base_w`` / ``convnext_large_d``; the
#: tag's qualifiers pick the run (``augreg``; ``laiona_augreg`` exists only as the 320-px tower;
#: ``soup`` = ``convnext_large_d_320`` ft-soup; xxlarge ``soup`` = ``augreg_soup``).
FT_PAIRING_RULES: tuple[tuple[str, str], ...] = (
    (r"vit_base_patch32_clip_\d+\.openai_ft_", "ViT-B-32/openai"),
    (r"vit_base_patch16_clip_\d+\.openai_ft_", "ViT-B-16/openai"),
    (r"vit_large_patch14_clip_\d+\.openai_ft_", "ViT-L-14/openai"),
    (r"vit_base_patch32_clip_\d+\.laion2b_ft_", "ViT-B-32/laion2b_s34b_b79k"),
    (r"vit_base_patch16_clip_\d+\.laion2b_ft_", "ViT-B-16/laion2b_s34b_b88k"),
    (r"vit_large_patch14_clip_\d+\.laion2b_ft_", "ViT-L-14/laion2b_s32b_b82k"),
    (r"vit_huge_patch14_clip_\d+\.laion2b_ft_", "ViT-H-14/laion2b_s32b_b79k"),
    (r"convnext_base\.clip_laion2b_augreg_ft_", "convnext_base_w/laion2b_s13b_b82k_augreg"),
    (r"convnext_base\.clip_laiona_augreg_ft_", "convnext_base_w_320/laion_aesthetic_s13b_b82k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_augreg_ft_", "convnext_large_d/laion2b_s26b_b102k_augreg"),
    (r"convnext_large_mlp\.clip_laion2b_soup_ft_", "convnext_large_d_320/laion2b_s29b_b131k_ft_soup"),
    (r"convnext_xxlarge\.clip_laion2b_soup_ft_", "convnext_xxlarge/laion2b_s34b_b82k_augreg_soup"),
)


def zeroshot_counterpart(timm_name: str) -> str | None:
    """open_clip id of the zero-shot CLIP weights a timm CLIP-FT model was fine-tuned from.

    ``vit_base_patch16_clip_224.openai_ft_in1k`` -> ``open_clip:ViT-B-16/openai``; rules in
    :data:`FT_PAIRING_RULES` (``timm:`` prefix accepted); None for names no rule covers
    (EVA ``clip_ft_in1k`` -- MIM towers, SigLIP ``webli_ft_in1k``).
    """
    name = timm_name.removeprefix("timm:")
    for pattern, target in FT_PAIRING_RULES:
        if re.match(pattern, name):
            return f"open_clip:{target}"
    return None


# --------------------------------------------------------------------------- model tables

META_COLUMNS = ["model", "source", "group", "pretrain_data", "arch", "samples_seen", "finetune_data"]
ACC_COLUMNS = [ID_TEST_SET, *SHIFTS]


def _with_meta(acc: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Join wide accuracies (index model) to per-model metadata; missing meta columns become NaN."""
    out = acc.reindex(columns=ACC_COLUMNS).join(meta.set_index("model"), how="inner")
    return out.rename_axis("model").reset_index().reindex(columns=META_COLUMNS + ACC_COLUMNS)


def _testbed_models() -> pd.DataFrame:
    """The imagenet-testbed baseline models (ImageNet-trained, all five shifts)."""
    tb = published.testbed_results()
    base = published.testbed_baseline_models()
    meta = pd.DataFrame({"model": base, "source": "testbed", "group": "imagenet",
                         "pretrain_data": "ImageNet-1k", "arch": [m.removeprefix("testbed:") for m in base]})
    return _with_meta(published.wide(tb[tb["model"].isin(base)]), meta)


def activation_twins(oc: pd.DataFrame) -> list[str]:
    """Plain open_clip ids whose ``<arch>-quickgelu`` row with the same tag is also in ``oc``."""
    ids = set(oc["model"])
    plain = oc.drop_duplicates("model")
    twin = "open_clip:" + plain["arch"] + "-quickgelu/" + plain["pretrained"]
    return sorted(plain.loc[twin.isin(ids).to_numpy(), "model"])


def _open_clip_models() -> pd.DataFrame:
    """open_clip zero-shot rows (118 weight sets; 113 after :data:`DROP_ACTIVATION_TWINS`)."""
    oc = published.open_clip_results()
    if DROP_ACTIVATION_TWINS:
        oc = oc[~oc["model"].isin(activation_twins(oc))]
    meta = oc.drop_duplicates("model").assign(source="open_clip", group="clip-zeroshot")
    return _with_meta(published.wide(oc), meta)


def _scaling_models() -> pd.DataFrame:
    """LAION scaling-laws checkpoints (80M/400M/2B x 3B/13B/34B samples) + 3 OpenAI references."""
    sl = published.scaling_laws_results()
    meta = sl.drop_duplicates("model").assign(source="scaling", group="clip-zeroshot")
    return _with_meta(published.wide(sl), meta)


def timm_in1k_rule(name: str) -> bool:
    """timm baseline rule: tag names no extra data (``zoo.timm_pretrain_data`` = ImageNet-1k),
    plain supervised training (``zoo.timm_training``), no language supervision in the tag."""
    tag = name.partition(".")[2]
    return (zoo.timm_pretrain_data(name) == zoo.IMAGENET_1K and zoo.timm_training(name) == "supervised"
            and not zoo.LANGUAGE_SUPERVISED.search(tag) and published.timm_family(name) == "imagenet")


def _timm_models() -> pd.DataFrame:
    """The zoo's 32 CLIP-FT models and the timm ImageNet-1k baseline models, default resolution."""
    ft = {e.id: e for e in zoo.collection("clip-ft")}
    tm = published.timm_results(test_sets=(ID_TEST_SET, *FT_SHIFTS))
    tm = tm[tm["model"].isin(ft) | tm["name"].map(timm_in1k_rule)]
    tm = published.timm_default_resolution(tm)
    meta = tm.drop_duplicates("model")[["model", "arch"]].assign(source="timm")
    meta["group"] = np.where(meta["model"].isin(ft), "clip-ft", "imagenet")
    meta["pretrain_data"] = [ft[m].pretrain_data if m in ft else zoo.IMAGENET_1K for m in meta["model"]]
    meta["finetune_data"] = [ft[m].finetune_data if m in ft else None for m in meta["model"]]
    return _with_meta(published.wide(tm), meta)


@lru_cache(maxsize=1)
def _model_table() -> pd.DataFrame:
    parts = [_testbed_models(), _open_clip_models(), _scaling_models(), _timm_models()]
    out = pd.concat(parts, ignore_index=True)
    if out["model"].duplicated().any():
        dup = out.loc[out["model"].duplicated(), "model"].tolist()[:3]
        raise ValueError(f"duplicate model ids across sources, e.g. {dup}: fix the source prefixes")
    return out


def model_table() -> pd.DataFrame:
    """One row per model: :data:`META_COLUMNS` + accuracies (fractions) on ImageNet and the shifts."""
    return _model_table().copy()


def baseline_models(baseline: str = BASELINE) -> list[str]:
    """Model ids of a named baseline set (:data:`BASELINES`)."""
    if baseline == BASELINE_TESTBED:
        return published.testbed_baseline_models()
    if baseline == BASELINE_TIMM:
        mt = _model_table()
        return mt.loc[(mt["source"] == "timm") & (mt["group"] == "imagenet"), "model"].tolist()
    raise ValueError(f"unknown baseline {baseline!r}; choose one of {BASELINES}")


# --------------------------------------------------------------------------- ER frame

ER_FRAME_COLUMNS = META_COLUMNS + ["in_baseline", "baseline", "shift", "id_acc", "ood_acc", "predicted",
                                   "er", "ci_low", "ci_high"]


@lru_cache(maxsize=len(BASELINES))
def _er_frame(baseline: str) -> pd.DataFrame:
    mt = _model_table()
    acc = mt.set_index("model")[ACC_COLUMNS]
    base = baseline_models(baseline)
    shifts = SHIFTS if baseline == BASELINE_TESTBED else FT_SHIFTS
    parts = [robustness.er_table(acc, {s: SHIFT_ID[s] for s in shifts}, base)]
    if baseline == BASELINE_TESTBED:
        parts.append(robustness.er_of_mean_accuracy(acc, SHIFTS, ID_TEST_SET, base))
    mean4 = robustness.er_of_mean_accuracy(acc, FT_SHIFTS, ID_TEST_SET, base)
    parts.append(mean4.assign(shift=MEAN_SHIFT_4))
    er = pd.concat(parts, ignore_index=True).merge(mt[META_COLUMNS], on="model", how="left")
    er["in_baseline"] = er["model"].isin(base)
    er["baseline"] = baseline
    return er[ER_FRAME_COLUMNS]


def er_frame(baseline: str = BASELINE) -> pd.DataFrame:
    """Tidy ER rows, one per (model, shift) incl. :data:`MEAN_SHIFT` and :data:`MEAN_SHIFT_4`.

    Columns :data:`ER_FRAME_COLUMNS`: metadata, ``in_baseline``, ``baseline`` (set name),
    ``id_acc`` (full ImageNet, :data:`SHIFT_ID`), ``ood_acc``, ``predicted`` (the line), ``er``
    = ood_acc − predicted, ``ci_low``/``ci_high`` (95 % CI from resampling baseline models).
    ``baseline=BASELINE_TIMM`` covers :data:`FT_SHIFTS` and :data:`MEAN_SHIFT_4` only.
    """
    return _er_frame(baseline).copy()


def per_model_table(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model: metadata, ImageNet accuracy, ``er_<shift>`` for :data:`ER_SHIFTS`, the
    headline's CI (``er_mean-shift_ci_low``/``_ci_high``) and ``er_mean_of_shifts`` (mean of
    the 5 per-shift ERs, ``robustness.er_average``; NaN unless the model has all 5)."""
    frame = er_frame() if frame is None else frame
    er = frame.pivot(index="model", columns="shift", values="er")
    er = er.reindex(columns=[s for s in ER_SHIFTS if s in er.columns]).add_prefix("er_")
    avg = robustness.er_average(frame[frame["shift"].isin(SHIFTS)]).set_index("model")
    er["er_mean_of_shifts"] = avg["er_mean"].where(avg["n_shifts"] == len(SHIFTS))
    head = frame[frame["shift"] == MEAN_SHIFT].set_index("model")[["ci_low", "ci_high"]]
    head = head.add_prefix(f"er_{MEAN_SHIFT}_")
    meta = frame.drop_duplicates("model").set_index("model")[META_COLUMNS[1:] + ["in_baseline", "id_acc"]]
    out = meta.join(er).join(head).rename_axis("model").reset_index()
    return out.sort_values(["group", "source", "model"]).reset_index(drop=True)


# --------------------------------------------------------------------------- bootstrap draws

def _line_fits(base: pd.DataFrame) -> list[robustness.BaselineFit]:
    """The :data:`N_BOOT` bootstrap lines of ``robustness.bootstrap_lines`` as ``BaselineFit`` objects."""
    slopes, intercepts = robustness.bootstrap_lines(base["id_acc"], base["ood_acc"], robustness.LOGIT,
                                                    N_BOOT, SEED)
    return [robustness.BaselineFit(float(s), float(i), robustness.LOGIT, len(base), float("nan"))
            for s, i in zip(slopes, intercepts)]


def er_draws(frame: pd.DataFrame, shift: str) -> pd.DataFrame:
    """(N_BOOT, models) ER of every model of ``shift`` under each bootstrap line (NaN for
    degenerate resamples); same lines and seed as the per-model CIs of :func:`er_frame`."""
    rows = frame[frame["shift"] == shift]
    fits = _line_fits(rows[rows["in_baseline"]])
    x, y = rows["id_acc"].to_numpy(float), rows["ood_acc"].to_numpy(float)
    draws = [np.asarray(robustness.effective_robustness(x, y, f)) for f in fits]
    return pd.DataFrame(np.stack(draws), columns=rows["model"].to_numpy())


def _mean_of_shift_draws(per_shift: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Draws of the mean of the 5 per-shift ERs (one frame of :func:`er_draws` per shift), for models
    with all 5 (R's line resamples its own 80 baseline models with the same seed, the others 85)."""
    common = sorted(set.intersection(*(set(d.columns) for d in per_shift)))
    return sum(d[common] for d in per_shift) / len(per_shift)


def _group_stats(draws: pd.DataFrame, point: pd.Series, rng: np.random.Generator) -> dict[str, float]:
    """Mean/median/std of the point ERs and the percentile CI of the group mean (see
    :data:`GROUP_CI_RESAMPLES_MODELS`)."""
    d = draws[point.index].to_numpy()
    k = d.shape[1]
    idx = rng.integers(0, k, size=d.shape) if GROUP_CI_RESAMPLES_MODELS else np.tile(np.arange(k), (len(d), 1))
    means = np.take_along_axis(d, idx, axis=1).mean(axis=1)
    tail = 100 * (1 - CI_LEVEL) / 2
    low, high = np.nanpercentile(means, [tail, 100 - tail])
    return {"n": k, "er_mean": float(point.mean()), "ci_low": float(low), "ci_high": float(high),
            "er_median": float(point.median()), "er_std": float(point.std(ddof=1)) if k > 1 else float("nan")}


# --------------------------------------------------------------------------- group summary

def _summary_rows(frame: pd.DataFrame, shift: str, draws: pd.DataFrame, point: pd.Series) -> list[dict]:
    groups = frame.drop_duplicates("model").set_index("model").loc[point.index, ["group", "source"]]
    rows = []
    for (group, source), members in groups.groupby(["group", "source"], sort=True):
        rng = np.random.default_rng(SEED)
        stats = _group_stats(draws, point[members.index], rng)
        rows.append({"group": group, "source": source, "shift": shift, **stats})
    return rows


def group_summary(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (group, source, shift): ``n``, ``er_mean`` with its 95 % CI (``ci_low``, ``ci_high``;
    :data:`GROUP_CI_RESAMPLES_MODELS`), ``er_median``, ``er_std``. Shifts: :data:`ER_SHIFTS` present
    in ``frame`` plus :data:`MEAN_OF_SHIFT_ER` (models with all 5 shifts)."""
    frame = er_frame() if frame is None else frame
    shifts = [s for s in ER_SHIFTS if (frame["shift"] == s).any()]
    draws = {s: er_draws(frame, s) for s in shifts}
    rows = []
    for shift in shifts:
        point = frame[frame["shift"] == shift].set_index("model")["er"]
        rows += _summary_rows(frame, shift, draws[shift], point)
    if all(s in draws for s in SHIFTS):
        point = per_model_table(frame).set_index("model")["er_mean_of_shifts"].dropna()
        rows += _summary_rows(frame, MEAN_OF_SHIFT_ER, _mean_of_shift_draws([draws[s] for s in SHIFTS]), point)
    return pd.DataFrame(rows)


def baseline_comparison() -> pd.DataFrame:
    """Group mean ER on :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4` under both baselines (no CIs), wide:
    (group, source, shift) x ``n_<baseline>``, ``er_<baseline>``; groups and shifts common to both."""
    parts = []
    for name in BASELINES:
        f = er_frame(name)
        f = f[f["shift"].isin(FT_SHIFTS + (MEAN_SHIFT_4,))]
        g = f.groupby(["group", "source", "shift"])["er"].agg(["size", "mean"])
        parts.append(g.rename(columns={"size": f"n_{name}", "mean": f"er_{name}"}))
    return parts[0].join(parts[1], how="inner").reset_index()


# --------------------------------------------------------------------------- fine-tuning pairs (C12)

def finetune_pairs(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """CLIP-FT models joined to their zero-shot weights (:func:`zeroshot_counterpart`), long over
    :data:`FT_SHIFTS` + :data:`MEAN_SHIFT_4`: ``ft_model, zs_model, pretrain_data, finetune_data,
    shift, id_zs, id_ft, er_zs, er_ft, delta`` (= er_ft − er_zs). Unpaired fine-tunes are left out."""
    frame = er_frame() if frame is None else frame
    shifts = FT_SHIFTS + (MEAN_SHIFT_4,)
    sub = frame[frame["shift"].isin(shifts)].set_index(["model", "shift"])
    ft = frame.loc[(frame["group"] == "clip-ft") & frame["shift"].isin(shifts)].copy()
    ft["zs_model"] = ft["model"].map(zeroshot_counterpart)
    ft = ft[ft["zs_model"].isin(sub.index.get_level_values("model"))]
    zs = sub.loc[list(zip(ft["zs_model"], ft["shift"])), ["id_acc", "er"]].to_numpy()
    out = pd.DataFrame({"ft_model": ft["model"].to_numpy(), "zs_model": ft["zs_model"].to_numpy(),
                        "pretrain_data": ft["pretrain_data"].to_numpy(),
                        "finetune_data": ft["finetune_data"].to_numpy(), "shift": ft["shift"].to_numpy(),
                        "id_zs": zs[:, 0], "id_ft": ft["id_acc"].to_numpy(), "er_zs": zs[:, 1],
                        "er_ft": ft["er"].to_numpy()})
    out["delta"] = out["er_ft"] - out["er_zs"]
    return out.sort_values(["shift", "ft_model"]).reset_index(drop=True)


def _cluster_mean_ci(values: pd.Series, clusters: pd.Series) -> tuple[float, float, float, int]:
    """Mean over cluster means and its percentile CI from resampling clusters (seeded)."""
    means = values.groupby(clusters.to_numpy()).mean().to_numpy()
    idx = np.random.default_rng(SEED).integers(0, len(means), size=(N_BOOT, len(means)))
    tail = 100 * (1 - CI_LEVEL) / 2
    low, high = np.percentile(means[idx].mean(axis=1), [tail, 100 - tail])
    return float(means.mean()), float(low), float(high), len(means)


# --------------------------------------------------------------------------- data-source study (C11)

def data_study_set(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """ER rows of the data-source study: open_clip models passing :data:`DATA_STUDY_ARCH` and
    :data:`DATA_STUDY_MIN_SAMPLES` (NaN samples = not stated = kept), plus the 29 LAION
    scaling-laws checkpoints (the 3 OpenAI scaling rows repeat open_clip's)."""
    frame = er_frame() if frame is None else frame
    rows = frame[frame["shift"] == shift]
    oc = rows[(rows["source"] == "open_clip") & rows["arch"].map(lambda a: bool(DATA_STUDY_ARCH.match(a)))
              & ~(rows["samples_seen"] < DATA_STUDY_MIN_SAMPLES)]
    sl = rows[(rows["source"] == "scaling") & (rows["pretrain_data"] != "WIT-400M")]
    return pd.concat([oc, sl], ignore_index=True)


def data_source_summary(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Per (source table, pretrain_data) of :func:`data_study_set`: n, mean/std/min/max/range of ER."""
    study = data_study_set(frame, shift)
    g = study.groupby(["source", "pretrain_data"])["er"]
    out = g.agg(n="size", er_mean="mean", er_std="std", er_min="min", er_max="max").reset_index()
    out["er_range"] = out["er_max"] - out["er_min"]
    return out.sort_values("er_mean", ascending=False).reset_index(drop=True)


def _pooled_within_sd(er: pd.Series, sources: pd.Series) -> float:
    """sqrt(Σ_g Σ_i (x_gi − mean_g)² / (N − G)): pooled within-source SD."""
    resid = er - er.groupby(sources).transform("mean")
    return float(np.sqrt((resid**2).sum() / (len(er) - sources.nunique())))


def source_spread(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> dict[str, float]:
    """Within- vs between-source spread of ER (sources with >= :data:`MIN_MODELS_PER_SOURCE` models).

    ``within_sd_scaling``: pooled within-source SD in the scaling-laws table (LAION-80M/400M/2B,
    sizes B-32..g-14, 3B..34B samples); ``within_sd_open_clip``: the same over open_clip sources;
    ``between_sd``/``between_range``: SD/range of open_clip source means; ``eta2_open_clip``:
    share of open_clip ER variance between sources (SS_between / SS_total).
    """
    study = data_study_set(frame, shift)
    out: dict[str, float] = {}
    for source in ("scaling", "open_clip"):
        s = study[study["source"] == source]
        s = s[s.groupby("pretrain_data")["er"].transform("size") >= MIN_MODELS_PER_SOURCE]
        out[f"within_sd_{source}"] = _pooled_within_sd(s["er"], s["pretrain_data"])
        out[f"n_sources_{source}"] = int(s["pretrain_data"].nunique())
        out[f"n_models_{source}"] = len(s)
    means = s.groupby("pretrain_data")["er"].mean()  # s = open_clip (last in the loop)
    out["between_sd"] = float(means.std(ddof=1))
    out["between_range"] = float(means.max() - means.min())
    ss_total = ((s["er"] - s["er"].mean()) ** 2).sum()
    ss_within = ((s["er"] - s.groupby("pretrain_data")["er"].transform("mean")) ** 2).sum()
    out["eta2_open_clip"] = float(1 - ss_within / ss_total)
    return out


#: Model size order of the scaling-laws architectures (Cherti et al. 2023), smallest first.
SCALING_SIZE_ORDER: tuple[str, ...] = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14")


def _line_row(rows: pd.DataFrame, label: str) -> dict:
    """A logit line fitted over ``rows`` (``robustness.fit_baseline``) and its residual SD."""
    fit = robustness.fit_baseline(rows["id_acc"], rows["ood_acc"])
    resid = np.asarray(robustness.transformed_residual(rows["id_acc"], rows["ood_acc"], fit))
    return {"pretrain_data": label, "n": len(rows), "slope": fit.slope, "intercept": fit.intercept,
            "r": fit.r, "resid_sd": float(np.std(resid, ddof=2)), "er_range": float(np.ptp(rows["er"])),
            "_resid": resid}


def source_lines(frame: pd.DataFrame | None = None, shift: str = MEAN_SHIFT) -> pd.DataFrame:
    """Do models of one data source lie on one line? Per LAION scaling-laws source: its OWN logit
    line over its models (slope, intercept, r; ``resid_sd`` = SD of logit residuals, ddof 2), the ER
    range, and Spearman rho of model size (:data:`SCALING_SIZE_ORDER`) with ER (``rho_size_er``),
    with ImageNet accuracy (``rho_size_id``) and with the residual from the source line
    (``rho_size_resid``). A last row ``baseline`` gives the same for the baseline models."""
    from scipy import stats  # local: only this helper needs it

    frame = er_frame() if frame is None else frame
    study = data_study_set(frame, shift)
    sl = study[study["source"] == "scaling"]
    size = sl["arch"].map({a: i for i, a in enumerate(SCALING_SIZE_ORDER)})
    rows = []
    for data, g in sl.groupby("pretrain_data"):
        row = _line_row(g, data)
        rho = {k: stats.spearmanr(size[g.index], v).statistic
               for k, v in (("er", g["er"]), ("id", g["id_acc"]), ("resid", row.pop("_resid")))}
        rows.append(row | {f"rho_size_{k}": float(v) for k, v in rho.items()})
    base = _line_row(frame[(frame["shift"] == shift) & frame["in_baseline"]], "baseline")
    base.pop("_resid")
    return pd.DataFrame(rows + [base])


# --------------------------------------------------------------------------- claims

def _row(summary: pd.DataFrame, group: str, source: str, shift: str) -> pd.Series:
    hit = summary[(summary["group"] == group) & (summary["source"] == source) & (summary["shift"] == shift)]
    if len(hit) != 1:
        raise KeyError(f"group_summary has {len(hit)} rows for ({group}, {source}, {shift})")
    return hit.iloc[0]


def claim_c10(summary: pd.DataFrame | None = None) -> dict:
    """C10: zero-shot CLIP has large positive ER on R, Sketch, ObjectNet, A, small on V2.

    Rule: reproduced iff, for open_clip zero-shot models (testbed baseline), on each of
    :data:`C10_SHIFTS` the group-mean ER has CI lower bound > 0 AND exceeds the ImageNet
    (baseline) models' CI upper bound, AND the V2 mean ER is below each of those four.
    """
    s = group_summary() if summary is None else summary
    clip = {sh: _row(s, "clip-zeroshot", "open_clip", sh) for sh in SHIFTS + (MEAN_SHIFT,)}
    inet = {sh: _row(s, "imagenet", "testbed", sh) for sh in SHIFTS}
    large = all(clip[sh]["ci_low"] > 0 and clip[sh]["er_mean"] > inet[sh]["ci_high"] for sh in C10_SHIFTS)
    v2_small = all(clip["imagenet-v2"]["er_mean"] < clip[sh]["er_mean"] for sh in C10_SHIFTS)
    er = {sh: round(float(clip[sh]["er_mean"]), 4) for sh in clip}
    ci = {sh: (round(float(clip[sh]["ci_low"]), 4), round(float(clip[sh]["ci_high"]), 4)) for sh in clip}
    evidence = (f"{int(clip[MEAN_SHIFT]['n'])} open_clip zero-shot models vs the testbed line: mean ER "
                + ", ".join(f"{sh} {er[sh]:+.3f} [{ci[sh][0]:+.3f}, {ci[sh][1]:+.3f}]" for sh in SHIFTS)
                + f"; ImageNet baseline mean ER within ±{max(abs(inet[sh]['er_mean']) for sh in SHIFTS):.3f}")
    return {"claim": "C10", "evidence": evidence, "er_mean": er, "ci": ci,
            "imagenet_er_mean": {sh: round(float(inet[sh]["er_mean"]), 4) for sh in SHIFTS},
            "large_on_r_sketch_objectnet_a": bool(large), "v2_smallest": bool(v2_small),
            "verdict": "reproduced" if large and v2_small else "not reproduced"}


def _span(values: pd.Series) -> str:
    return f"{values.min():+.2f}..{values.max():+.2f}"


def _rounded(table: pd.DataFrame, column: str) -> dict[str, float]:
    return {str(k): round(float(v), 4) for k, v in table[column].items()}


def claim_c11(frame: pd.DataFrame | None = None) -> dict:
    """C11: ER depends on pre-training data, not model size (one source's models lie on one line).

    Rule: reproduced iff (a) the pooled within-source SD of headline ER among the LAION
    scaling-laws checkpoints (sources LAION-80M/400M/2B, each spanning B-32..g-14 and 3B..34B
    samples seen) is smaller than the SD of source-mean ER between open_clip pre-training sources
    (:func:`data_study_set`, sources with >= 2 models): ``ratio`` < 1; and (b) each scaling-laws
    source lies on one logit line at least as tightly as the ImageNet baseline models lie on
    theirs (:func:`source_lines`: ``resid_sd`` <= the baseline's). Under (b) a model's size moves
    it *along* its source's line; ER in accuracy units may still rise with size when the source
    line is steeper than the baseline line (``rho_size_er``), which is reported, not judged.
    """
    sp = source_spread(frame)
    ratio = sp["within_sd_scaling"] / sp["between_sd"]
    lines = source_lines(frame).set_index("pretrain_data")
    base_sd = float(lines.loc["baseline", "resid_sd"])
    src = lines.drop(index="baseline")
    one_line = bool((src["resid_sd"] <= base_sd).all())
    evidence = (f"within-source SD of ER over {sp['n_models_scaling']} LAION scaling-laws models "
                f"({sp['n_sources_scaling']} sources) {sp['within_sd_scaling']:.4f} vs between-source SD "
                f"{sp['between_sd']:.4f} over {sp['n_sources_open_clip']} open_clip sources (ratio {ratio:.2f}; "
                f"open_clip eta² {sp['eta2_open_clip']:.2f}); each LAION source on its own logit line: "
                f"r >= {src['r'].min():.3f}, residual SD <= {src['resid_sd'].max():.3f} vs baseline "
                f"{base_sd:.3f}; rho(size, residual) {_span(src['rho_size_resid'])}, "
                f"rho(size, ER) {_span(src['rho_size_er'])}")
    rnd = partial(_rounded, src)
    return {"claim": "C11", "evidence": evidence, **{k: round(float(v), 4) for k, v in sp.items()},
            "ratio": round(float(ratio), 4), "baseline_resid_sd": round(base_sd, 4),
            "source_resid_sd": rnd("resid_sd"), "source_slope": rnd("slope"), "rho_size_er": rnd("rho_size_er"),
            "rho_size_resid": rnd("rho_size_resid"), "one_line_per_source": one_line,
            "verdict": "reproduced" if ratio < 1 and one_line else "not reproduced"}


def claim_c12(frame: pd.DataFrame | None = None) -> dict:
    """C12: fine-tuning CLIP on ImageNet erodes its ER.

    Rule (4 shifts timm has, :data:`MEAN_SHIFT_4`): per zero-shot weight set, average ΔER =
    ER(fine-tuned) − ER(zero-shot) over its fine-tunes; reproduced iff the 95 % CI of the mean ΔER
    (resampling weight sets) lies below 0. ``not testable here`` if fewer than 2 weight sets pair.
    """
    pairs = finetune_pairs(frame)
    p = pairs[pairs["shift"] == MEAN_SHIFT_4]
    if p["zs_model"].nunique() < 2:
        return {"claim": "C12", "evidence": "fewer than 2 paired zero-shot weight sets",
                "verdict": "not testable here"}
    mean, low, high, k = _cluster_mean_ci(p["delta"], p["zs_model"])
    by_set = p.groupby("zs_model")[["er_zs", "er_ft"]].mean().mean()  # weight sets weigh equally
    per_shift = {sh: round(float(pairs[pairs["shift"] == sh].groupby("zs_model")["delta"].mean().mean()), 4)
                 for sh in FT_SHIFTS}
    n_down = int((p["delta"] < 0).sum())
    evidence = (f"{len(p)} fine-tunes of {k} zero-shot weight sets, mean over weight sets of ER (4 shifts): "
                f"{by_set['er_zs']:+.3f} zero-shot -> {by_set['er_ft']:+.3f} fine-tuned, ΔER {mean:+.3f} "
                f"[{low:+.3f}, {high:+.3f}]; {n_down}/{len(p)} fine-tunes lose ER")
    return {"claim": "C12", "evidence": evidence, "n_pairs": len(p), "n_weight_sets": k,
            "er_zs_mean": round(float(by_set["er_zs"]), 4), "er_ft_mean": round(float(by_set["er_ft"]), 4),
            "delta_mean": round(mean, 4), "delta_ci": (round(low, 4), round(high, 4)),
            "n_decrease": n_down, "delta_per_shift": per_shift,
            "verdict": "reproduced" if high < 0 else "not reproduced"}


# --------------------------------------------------------------------------- figures (plotting only)

SCATTER_GROUPS: tuple[tuple[str, str], ...] = (("imagenet", "testbed"), ("clip-zeroshot", "open_clip"),
                                               ("clip-ft", "timm"))


def baseline_band(frame: pd.DataFrame, shift: str, grid: np.ndarray) -> pd.DataFrame:
    """The baseline line on ``grid`` (ID accuracies) with its 95 % bootstrap band."""
    rows = frame[(frame["shift"] == shift) & frame["in_baseline"]]
    fit = robustness.fit_baseline(rows["id_acc"], rows["ood_acc"])
    curves = np.stack([np.asarray(f.predict(grid)) for f in _line_fits(rows)])
    tail = 100 * (1 - CI_LEVEL) / 2
    low, high = np.nanpercentile(curves, [tail, 100 - tail], axis=0)
    return pd.DataFrame({"id_acc": grid, "predicted": fit.predict(grid), "low": low, "high": high})


#: Tick positions of the logit-scaled accuracy axes (plain decimals instead of matplotlib's 1 − 10⁻¹).
LOGIT_TICKS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def _logit_axes(ax: plt.Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Logit-scaled x and y with plain-decimal ticks inside the limits."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set(xscale="logit", yscale="logit", xlim=xlim, ylim=ylim)
    for axis, (lo, hi) in ((ax.xaxis, xlim), (ax.yaxis, ylim)):
        axis.set_major_locator(FixedLocator([t for t in LOGIT_TICKS if lo <= t <= hi]))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())


def _scatter_panel(ax: plt.Axes, frame: pd.DataFrame, shift: str) -> None:
    rows = frame[frame["shift"] == shift]
    for group, source in SCATTER_GROUPS:
        g = rows[(rows["group"] == group) & (rows["source"] == source)]
        if len(g):
            ax.scatter(g["id_acc"], g["ood_acc"], s=12, alpha=0.75, color=GROUP_COLORS[group],
                       label=f"{group} ({source}, n={len(g)})", edgecolor="none")
    grid = np.linspace(0.02, 0.95, 200)
    band = baseline_band(frame, shift, grid)
    ax.plot(grid, band["predicted"], color="k", lw=1, label="baseline fit (testbed STANDARD)")
    ax.fill_between(grid, band["low"], band["high"], color="k", alpha=0.2, lw=0)
    ax.plot(grid, grid, color="0.5", ls=":", lw=0.8, label="y = x")
    _logit_axes(ax, (0.02, 0.95), (0.005, 0.97))
    ax.set(xlabel="ImageNet top-1", ylabel=f"{shift} top-1", title=shift)


def plot_er_scatter(frame: pd.DataFrame | None = None) -> plt.Figure:
    """Five shift panels + the mean-over-shifts panel, logit axes, baseline fit with bootstrap band."""
    frame = er_frame() if frame is None else frame
    fig, axes = plt.subplots(2, 3, figsize=(13, 8.5))
    for ax, shift in zip(axes.flat, SHIFTS + (MEAN_SHIFT,)):
        _scatter_panel(ax, frame, shift)
    axes.flat[-1].set(ylabel="mean top-1 over 5 shifts", title="mean over 5 shifts (headline ER)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_er_by_data_source(frame: pd.DataFrame | None = None) -> plt.Figure:
    """Headline ER by pre-training data (box + points), sources ordered by median ER."""
    study = data_study_set(frame).assign(table=lambda d: d["source"].map({"open_clip": "open_clip",
                                                                          "scaling": "scaling laws"}))
    order = study.groupby("pretrain_data")["er"].median().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(order) + 1.5))
    sns.boxplot(data=study, x="er", y="pretrain_data", order=order, color="0.9", fliersize=0, ax=ax)
    sns.stripplot(data=study, x="er", y="pretrain_data", order=order, hue="table", size=4,
                  palette={"open_clip": GROUP_COLORS["clip-zeroshot"], "scaling laws": "#9467bd"}, ax=ax)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="effective robustness (mean over 5 shifts, testbed baseline)", ylabel="pre-training data")
    fig.tight_layout()
    return fig


SCALING_COLORS: dict[str, str] = {"LAION-80M": "#9ecae1", "LAION-400M": "#3182bd", "LAION-2B": "#08306b",
                                   "WIT-400M": GROUP_COLORS["clip-zeroshot"]}
SCALING_MARKERS: dict[str, str] = dict(zip(SCALING_SIZE_ORDER, "osD^P"))


def _scaling_er_panel(ax: plt.Axes, sl: pd.DataFrame) -> None:
    """ER vs samples seen, one line per (data, architecture)."""
    for (data, arch), g in sl.sort_values("samples_seen").groupby(["pretrain_data", "arch"]):
        ax.plot(g["samples_seen"], g["er"], color=SCALING_COLORS[data], marker=SCALING_MARKERS[arch], ms=6,
                lw=1, ls="none" if data == "WIT-400M" else "-")
    for data, c in SCALING_COLORS.items():
        ax.plot([], [], color=c, lw=3, label=data)
    for arch, m in SCALING_MARKERS.items():
        ax.plot([], [], color="0.3", marker=m, ls="none", label=arch)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="samples seen", ylabel="effective robustness (mean over 5 shifts)",
           title="ER vs samples seen (LAION scaling laws)")
    ax.set(xticks=[3e9, 1e10, 3e10], xticklabels=["3B", "10B", "30B"])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=7, ncol=2, frameon=False)


def _scaling_line_panel(ax: plt.Axes, frame: pd.DataFrame, sl: pd.DataFrame) -> None:
    """Mean OOD vs ImageNet accuracy on logit axes: each LAION source's own line and the baseline."""
    grid = np.linspace(0.3, 0.9, 100)
    base = frame[(frame["shift"] == MEAN_SHIFT) & frame["in_baseline"]]
    ax.scatter(base["id_acc"], base["ood_acc"], s=8, color=GROUP_COLORS["imagenet"], label="baseline models")
    ax.plot(grid, robustness.fit_baseline(base["id_acc"], base["ood_acc"]).predict(grid), color="k", lw=1)
    for data, g in sl.groupby("pretrain_data"):
        ax.scatter(g["id_acc"], g["ood_acc"], s=18, color=SCALING_COLORS[data], label=data)
        if data != "WIT-400M":
            ax.plot(grid, robustness.fit_baseline(g["id_acc"], g["ood_acc"]).predict(grid),
                    color=SCALING_COLORS[data], lw=1)
    _logit_axes(ax, (0.45, 0.9), (0.15, 0.8))
    ax.set(xlabel="ImageNet top-1", ylabel="mean top-1 over 5 shifts", title="one line per data source")
    ax.legend(fontsize=7, frameon=False)


def plot_er_scaling(frame: pd.DataFrame | None = None) -> plt.Figure:
    """LAION scaling-laws models: headline ER vs samples seen coloured by LAION size (OpenAI WIT
    models, 12.8B samples, as references), and each source's own logit line vs the baseline's."""
    frame = er_frame() if frame is None else frame
    sl = frame[(frame["shift"] == MEAN_SHIFT) & (frame["source"] == "scaling")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    _scaling_er_panel(left, sl)
    _scaling_line_panel(right, frame, sl)
    fig.tight_layout()
    return fig


def headline_table(summary: pd.DataFrame, decimals: int | None = None) -> pd.DataFrame:
    """Group mean ER (with CI) of the headline :data:`MEAN_SHIFT` and of :data:`MEAN_SHIFT_4`;
    ``decimals`` rounds for printing (and turns ``-0.0`` into ``0.0``)."""
    cols = ["group", "source", "shift", "n", "er_mean", "ci_low", "ci_high"]
    out = summary.loc[summary["shift"].isin([MEAN_SHIFT, MEAN_SHIFT_4]), cols].reset_index(drop=True)
    if decimals is not None:
        num = ["er_mean", "ci_low", "ci_high"]
        out[num] = out[num].round(decimals) + 0.0
    return out
