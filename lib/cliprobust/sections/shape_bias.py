"""Notebook 03: shape bias on cue-conflict stimuli (Tu et al. NeurIPS 2023 §4.2; claims C3, C4).

Inputs, all real: the model-vs-human cue-conflict trials of 10 human observers and 15 models of the
kayburns fork (``clip`` there = OpenAI CLIP ViT-B/16, the only CLIP model with published trials),
1,280 trials each (:func:`cliprobust.published.cue_conflict_trials`); and per-sample caches of zoo
models on the 1,280 ``cue-conflict`` stimuli when present (C4).

Shape bias = shape hits / (shape + texture hits) over the 1,200 cue-conflict trials
(:mod:`cliprobust.metrics.shape_bias`; protocol in ``docs/protocols.md``). Every interval resamples
*stimuli* (all trials on a drawn stimulus go together, for every decision maker at once), so a
difference between two decision makers is a paired bootstrap. A group's value pools its members'
trials (``aggregation="pooled"``, the headline); the alternatives average the members' shape biases
(``member-mean``) or the 16 per-category shape biases (``category-mean``).

Cached outputs become 16-class decisions with model-vs-human's protocol for every model
(:data:`~cliprobust.metrics.shape_bias.MVH_MAPPING`): softmax over the 1,000 ImageNet classes, mean
probability per category, arg-max (CLIP at 100·cosine, as model-vs-human's CLIP wrapper).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import datasets, outputs, published, style, zoo
from ..metrics import shape_bias as S
from ..metrics import stats
from ._base import (NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, CachePlan, Claim, Run, Variant,  # noqa: F401
                    guard_run, judge, not_testable, plan_for, status_counts)

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
#: Colour per group from the project's one palette (:func:`cliprobust.style.group_color`).
GROUP_COLORS: dict[str, str] = {g: style.group_color(g) for g in GROUPS}
GROUP_MARKERS: dict[str, str] = {"human": "D", "clip": "v", "supervised": "o", "self-supervised": "s",
                                 "stylized": "P", "clip-zeroshot": "v", "clip-ft": "^", "imagenet": "o",
                                 "smoke": "X"}


def group_color(group: str) -> str:
    """Colour of a published or cached group (``style.group_color``: the zoo groups of the cached
    part -- zero-shot CLIP, CLIP fine-tuned, ImageNet -- get their own colours, never one shared
    fallback)."""
    return GROUP_COLORS.get(group) or style.group_color(group)

#: C3 (Tu et al. §4.2, "CLIP is more shape-biased than other models"): the groups CLIP is compared
#: with. Humans are not models; the stylized model was *trained* for shape bias (Stylized-ImageNet),
#: so by default it is its own group and not compared (variant ``stylized=supervised`` counts it as
#: the supervised model it also is).
C3_COMPARED: tuple[str, ...] = ("supervised", "self-supervised")
#: Headline protocol of C3 (notebook parameters of the same names): compare with each ``group``
#: (or each ``model``), groups ``pooled`` (or ``member-mean`` / ``category-mean``), Holm-corrected.
DEFAULT_UNIT = "group"
DEFAULT_AGGREGATION = "pooled"
DEFAULT_CORRECTION = "holm"
DEFAULT_STYLIZED = "own-group"
AGGREGATIONS: tuple[str, ...] = ("pooled", "member-mean", "category-mean")
ALPHA = 0.05
#: model-vs-human's CLIP wrapper: logits = 100 · cosine, then softmax (= OpenAI CLIP's learned scale).
CLIP_SOFTMAX_SCALE = 100.0
#: Cache-driven part (C4 needs zero-shot CLIP and CLIP-FT cached on the stimuli).
PAPER_PLAN = CachePlan(models="clip-zeroshot,clip-ft,imagenet", id_set="cue-conflict")
SMOKE_PLAN = CachePlan(models="smoke", id_set="cue-conflict")
CACHE_DATASET = PAPER_PLAN.id_set
#: Zoo groups C4 compares (zero-shot vs fine-tuned on ImageNet).
C4_GROUPS: tuple[str, str] = ("clip-zeroshot", "clip-ft")

#: Models dropped because their decisions duplicate another model's (docs/tables.md), duplicate -> kept.
DUPLICATES: dict[str, str] = dict(published.MVH_DUPLICATES)

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


@dataclass(frozen=True)
class Hits:
    """Per (subject, stimulus) shape-hit and texture-hit counts (0/1 per trial), the subjects' groups
    and the stimuli's shape category: everything a stimulus bootstrap of shape bias needs."""

    subjects: tuple[str, ...]
    groups: tuple[str, ...]
    stimuli: tuple[str, ...]
    category: np.ndarray  # (N,) shape category of each stimulus
    shape: np.ndarray  # (S, N)
    texture: np.ndarray  # (S, N)

    def rows(self, members: Sequence[str]) -> np.ndarray:
        """Row indices of the given subjects."""
        return np.array([self.subjects.index(m) for m in members], dtype=int)


def hits(trials: pd.DataFrame) -> Hits:
    """:class:`Hits` of every subject of ``trials`` (stimuli a subject did not see count as no hit)."""
    conflict = trials["shape"] != trials["texture"]
    tr = trials.assign(sh=(conflict & (trials["response"] == trials["shape"])).astype(float),
                       th=(conflict & (trials["response"] == trials["texture"])).astype(float))
    sh = tr.pivot_table(index="subject", columns="stimulus", values="sh", aggfunc="sum", fill_value=0.0, sort=False)
    th = tr.pivot_table(index="subject", columns="stimulus", values="th", aggfunc="sum", fill_value=0.0,
                        sort=False).loc[sh.index, sh.columns]
    cat = tr.drop_duplicates("stimulus").set_index("stimulus")["shape"].reindex(sh.columns)
    grp = tr.drop_duplicates("subject").set_index("subject")["group"].reindex(sh.index)
    return Hits(tuple(sh.index), tuple(grp), tuple(sh.columns), cat.to_numpy(), sh.to_numpy(), th.to_numpy())


def _ratio(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / (s + t)


def shape_bias_draws(h: Hits, members: Sequence[str], aggregation: str = DEFAULT_AGGREGATION,
                     idx: np.ndarray | None = None) -> np.ndarray:
    """Shape bias of a set of decision makers under stimulus resamples ``idx`` ((B, N) stimulus
    indices, from :func:`stats.resample_indices`; None = the data as they are, shape (1,)).
    ``pooled``: hits summed over members; ``member-mean``: mean of members' shape biases;
    ``category-mean``: pooled per shape category, then the mean over the 16 categories."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    idx = np.arange(len(h.stimuli))[None, :] if idx is None else idx
    rows = h.rows(members)
    sh, th = h.shape[rows], h.texture[rows]  # (m, N)
    if aggregation == "member-mean":
        return np.nanmean(np.stack([_ratio(sh[i][idx].sum(1), th[i][idx].sum(1)) for i in range(len(rows))]), axis=0)
    s, t = sh.sum(0)[idx], th.sum(0)[idx]  # (B, N)
    if aggregation == "pooled":
        return _ratio(s.sum(1), t.sum(1))
    cats = np.unique(h.category)
    onehot = (h.category[idx][..., None] == cats).astype(float)  # (B, N, C)
    return np.nanmean(_ratio(np.einsum("bn,bnc->bc", s, onehot), np.einsum("bn,bnc->bc", t, onehot)), axis=1)


def _row(tr: pd.DataFrame, h: Hits, idx: np.ndarray, level: str, group: str, name: str, label: str) -> dict:
    members = list(dict.fromkeys(tr["subject"]))
    low, high = stats.percentile_interval(shape_bias_draws(h, members, "pooled", idx))
    conflict = tr["shape"] != tr["texture"]
    hit = conflict & ((tr["response"] == tr["shape"]) | (tr["response"] == tr["texture"]))
    return {"level": level, "group": group, "name": name, "label": label,
            "shape_bias": S.shape_bias(tr["shape"], tr["texture"], tr["response"]), "ci_low": float(low),
            "ci_high": float(high), "n_members": len(members), "n_conflict_trials": int(conflict.sum()),
            "cue_hit_rate": float(hit.sum() / conflict.sum())}


def shape_bias_table(trials: pd.DataFrame | None = None, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
                     ) -> pd.DataFrame:
    """One row per decision maker (``level='member'``) and per group (``level='group'``, pooled trials):
    shape bias with a stimulus-bootstrap CI (:func:`cliprobust.metrics.stats.resample_indices`),
    members, conflict trials, and the fraction of conflict trials whose decision hits either cue."""
    tr = mvh_trials() if trials is None else trials
    h = hits(tr)
    idx = stats.resample_indices(len(h.stimuli), n_boot, seed)
    order = {g: i for i, g in enumerate(GROUPS)}
    rows = [_row(g, h, idx, "group", name, name, name) for name, g in tr.groupby("group", sort=False)]
    rows += [_row(g, h, idx, "member", g["group"].iloc[0], s, g["label"].iloc[0])
             for s, g in tr.groupby("subject", sort=False)]
    out = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    out["_o"] = out["group"].map(order).fillna(len(order))
    return out.sort_values(["_o", "level", "shape_bias"], ascending=[True, True, False]).drop(
        columns="_o").reset_index(drop=True)


def group_labels(table: pd.DataFrame) -> dict[str, str]:
    """Display label per group naming how many decision makers it holds ("CLIP ViT-B/16 (1 model)")."""
    g = table[table["level"] == "group"].set_index("group")["n_members"]
    out = {}
    for name, n in g.items():
        if name == "human":
            out[name] = f"humans ({n} observers)"
        elif n == 1:
            member = table[(table["level"] == "member") & (table["group"] == name)]["label"].iloc[0]
            out[name] = f"{member} (1 model)"
        else:
            out[name] = f"{style.display(name)} ({n} models)"
    return out


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


def outputs_trials(out: Any, category_indices: Mapping[str, Sequence[int]] | None = None,
                   clip_scale: float = CLIP_SOFTMAX_SCALE) -> pd.DataFrame:
    """Cue-conflict trials of cached outputs: stimulus, shape, texture, response (16-class decision).

    ``out``: :class:`cliprobust.outputs.Outputs`-like (``scores`` (N, 1000), ``file_ids``, ``labels``
    = shape category index in alphabetical order, ``is_clip``, ``probs(scale)``). Decisions follow
    :data:`~cliprobust.metrics.shape_bias.MVH_MAPPING`; CLIP softmax at :data:`CLIP_SOFTMAX_SCALE`.
    """
    cats = published.mvh_16_categories() if category_indices is None else category_indices
    names = [PurePosixPath(f).name for f in out.file_ids]
    cues = S.stimulus_cues(names)
    expected = np.asarray(datasets.cue_conflict_categories())[np.asarray(out.labels, dtype=int)]
    if not np.array_equal(expected, cues["shape"].to_numpy()):
        raise ValueError(f"{out.model}: cached labels disagree with the stimulus file names' shape")
    probs = out.probs(scale=clip_scale) if out.is_clip else out.probs()
    return pd.DataFrame({"subject": out.model, "stimulus": names, "shape": cues["shape"],
                         "texture": cues["texture"], "response": S.decisions_16(probs, cats)})


def cache_inventory(run: Run = Run()) -> pd.DataFrame:
    """:func:`cliprobust.outputs.inventory` of the run's plan on the stimuli (model, dataset, prompt_set,
    status); models without a cache folder are ``missing`` without any key computed."""
    plan = plan_for(run, PAPER_PLAN, SMOKE_PLAN)
    return outputs.inventory(plan.models, [plan.id_set])


def cached_trials(inventory: pd.DataFrame) -> pd.DataFrame:
    """Trials of every model :func:`outputs.load` can serve, with ``group`` = zoo group; empty if none."""
    usable = inventory.loc[inventory["status"].isin(outputs.AVAILABLE), ["model", "dataset"]].drop_duplicates()
    parts = [outputs_trials(outputs.load(m, d)) for m, d in usable.itertuples(index=False)]
    if not parts:
        return pd.DataFrame(columns=["subject", "stimulus", "shape", "texture", "response", "group", "label"])
    tr = pd.concat(parts, ignore_index=True)
    return tr.assign(group=tr["subject"].map(lambda m: zoo.get(m).group), label=tr["subject"].map(style.display))


# --------------------------------------------------------------------------- claims


def _regroup(trials: pd.DataFrame, stylized: str) -> pd.DataFrame:
    if stylized not in ("own-group", "supervised"):
        raise ValueError(f"stylized must be 'own-group' or 'supervised', got {stylized!r}")
    return trials.assign(group=trials["group"].replace("stylized", "supervised")) if stylized == "supervised" \
        else trials


def c3_comparisons(trials: pd.DataFrame, unit: str = DEFAULT_UNIT, aggregation: str = DEFAULT_AGGREGATION,
                   correction: str = DEFAULT_CORRECTION, stylized: str = DEFAULT_STYLIZED,
                   n_boot: int = stats.N_BOOT, seed: int = stats.SEED) -> pd.DataFrame:
    """CLIP minus each compared group (``unit='group'``, :data:`C3_COMPARED`) or each compared model
    (``unit='model'``) in shape bias, with a paired stimulus bootstrap of the difference.

    Rows (compared, n_members, clip, other, diff, low, high, p, p_adj, other_low, other_high, clip_low,
    clip_high); the last four are each side's own interval (for the unpaired overlap rule)."""
    if unit not in ("group", "model"):
        raise ValueError(f"unit must be 'group' or 'model', got {unit!r}")
    tr = _regroup(trials, stylized)
    h = hits(tr)
    idx = stats.resample_indices(len(h.stimuli), n_boot, seed)
    clip_members = [s for s, g in zip(h.subjects, h.groups) if g == "clip"]
    compared = list(C3_COMPARED)
    sets = ({g: [s for s, gg in zip(h.subjects, h.groups) if gg == g] for g in compared} if unit == "group" else
            {MVH_LABELS.get(s, s): [s] for s, g in zip(h.subjects, h.groups) if g in compared})
    clip_d = shape_bias_draws(h, clip_members, aggregation, idx)
    clip_v = float(shape_bias_draws(h, clip_members, aggregation)[0])
    rows = []
    for name, members in sets.items():
        other_d = shape_bias_draws(h, members, aggregation, idx)
        other_v = float(shape_bias_draws(h, members, aggregation)[0])
        d = clip_d - other_d
        low, high = stats.percentile_interval(d)
        (ol, oh), (cl, ch) = stats.percentile_interval(other_d), stats.percentile_interval(clip_d)
        rows.append({"compared": name, "n_members": len(members), "clip": clip_v, "other": other_v,
                     "diff": clip_v - other_v, "low": float(low), "high": float(high),
                     "p": float(stats.bootstrap_p(np.array([clip_v - other_v]), d[:, None])[0]),
                     "other_low": float(ol), "other_high": float(oh),
                     "clip_low": float(cl), "clip_high": float(ch)})
    out = pd.DataFrame(rows)
    out["p_adj"] = stats.holm(out["p"].to_numpy()) if correction == "holm" else out["p"]
    return out


def c3_rule(comp: pd.DataFrame, overlap: bool = False) -> bool:
    """CLIP above every compared group/model: corrected p < ALPHA with a positive difference, or with
    ``overlap=True`` the older unpaired rule (CLIP's interval above the other's)."""
    if overlap:
        return bool((comp["clip_low"] > comp["other_high"]).all())
    return bool(((comp["p_adj"] < ALPHA) & (comp["diff"] > 0)).all())


#: Variants of C3 beside the headline: (name, description, protocol overrides).
C3_VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("unit=model", "CLIP vs each of the 9 compared models (Holm over 9)", {"unit": "model"}),
    ("aggregation=member-mean", "group = mean of its members' shape biases", {"aggregation": "member-mean"}),
    ("aggregation=category-mean", "shape bias = mean over the 16 shape categories", {"aggregation": "category-mean"}),
    ("stylized=supervised", "the Stylized-IN DeiT-S counted in the supervised group", {"stylized": "supervised"}),
    ("correction=none", "no multiple-comparison correction", {"correction": "none"}),
    ("rule=unpaired-overlap", "CLIP's own CI above each group's own CI (the previous rule)", {"overlap": True}),
)


def _c3_protocol(run: Run) -> dict[str, Any]:
    return {"unit": run.option("unit", DEFAULT_UNIT), "aggregation": run.option("aggregation", DEFAULT_AGGREGATION),
            "correction": run.option("correction", DEFAULT_CORRECTION),
            "stylized": run.option("stylized", DEFAULT_STYLIZED), "overlap": False}


def _c3_variant(name: str, description: str, comp: pd.DataFrame, overlap: bool, headline: bool) -> Variant:
    worst = comp.loc[comp["diff"].idxmin()]
    below = comp.loc[~((comp["p_adj"] < ALPHA) & (comp["diff"] > 0)), "compared"]
    return Variant(name, description, float(worst["diff"]), float(worst["low"]), float(worst["high"]),
                   c3_rule(comp, overlap), headline, int(len(comp)),
                   f"closest: {worst['compared']} (diff {worst['diff']:+.3f}); not significantly below CLIP: "
                   f"{', '.join(below) or 'none'}")


def claim_c3(run: Run = Run(), *, trials: pd.DataFrame | None = None, n_boot: int | None = None) -> Claim:
    """C3 under the run's headline protocol and every variant of :data:`C3_VARIANTS`.

    Statistic: the smallest CLIP − other shape-bias difference (paired stimulus bootstrap CI). n: one
    CLIP model (ViT-B/16) has published trials. Options: ``unit``, ``aggregation``, ``correction``,
    ``stylized``, ``n_boot``."""
    tr = mvh_trials() if trials is None else trials
    nb = int(run.option("n_boot", stats.N_BOOT) if n_boot is None else n_boot)
    head = _c3_protocol(run)

    def comp(p: dict[str, Any]) -> pd.DataFrame:
        return c3_comparisons(tr, p["unit"], p["aggregation"], p["correction"], p["stylized"], nb)

    h_comp = comp(head)
    variants = [_c3_variant("headline", "headline protocol", h_comp, False, True)]
    for name, desc, over in C3_VARIANTS:
        p = {**head, **over}
        if p != head:
            variants.append(_c3_variant(name, desc, comp(p), p["overlap"], False))
    holds = c3_rule(h_comp)
    breaking = [v.name for v in variants if v.holds is False and not v.headline]
    per = "; ".join(f"{r.compared}: {r.other:.3f}, diff {r.diff:+.3f} [{r.low:+.3f}, {r.high:+.3f}], "
                    f"p_adj {r.p_adj:.3f}" for r in h_comp.itertuples())
    evidence = (f"One CLIP model (ViT-B/16, OpenAI) has published cue-conflict trials: shape bias "
                f"{h_comp['clip'].iloc[0]:.3f} [{h_comp['clip_low'].iloc[0]:.3f}, {h_comp['clip_high'].iloc[0]:.3f}], "
                f"1,200 conflict trials. Compared by {head['unit']} ({head['aggregation']}), paired stimulus "
                f"bootstrap of each difference ({nb} draws of 1,280 stimuli), {head['correction']} correction: {per}. "
                f"Humans and the Stylized-IN model are not compared (own group). Rule: CLIP significantly above "
                f"every compared {head['unit']}." + (f" Fails under: {', '.join(breaking)}." if breaking else ""))
    stat = f"smallest CLIP − other {head['unit']} shape-bias difference"
    v0 = variants[0]
    return Claim("C3", judge(holds, variants), stat, v0.value, v0.low, v0.high, evidence, tuple(variants),
                 numbers={"comparisons": h_comp, "protocol": head})


def claim_c4(run: Run = Run(), *, cached: pd.DataFrame | None = None, n_boot: int | None = None) -> Claim:
    """C4: fine-tuning on ImageNet lowers CLIP's shape bias. Needs cue-conflict caches of zoo models
    in ``clip-zeroshot`` and ``clip-ft`` (default: the run's caches, :func:`cached_trials`). Headline:
    zero-shot − fine-tuned pooled shape bias, paired stimulus bootstrap, interval above 0; variant
    ``aggregation=member-mean``. Guarded: random-init or synthetic caches never judge it."""
    nb = int(run.option("n_boot", stats.N_BOOT) if n_boot is None else n_boot)
    tr = cached_trials(cache_inventory(run)) if cached is None else cached
    have = {g: sorted(tr.loc[tr["group"] == g, "subject"].unique()) for g in C4_GROUPS}
    stat = "zero-shot − fine-tuned CLIP shape bias"
    if not all(have.values()):
        return not_testable(
            "C4", stat, needs="cue-conflict caches of zero-shot CLIP and CLIP-FT models (cliprobust evaluate "
            "--models clip-zeroshot,clip-ft --datasets cue-conflict)",
            evidence=f"No published cue-conflict decisions of CLIP-FT models; cached: "
                     f"{ {k: len(v) for k, v in have.items()} }.")
    h = hits(tr[tr["group"].isin(C4_GROUPS)])
    idx = stats.resample_indices(len(h.stimuli), nb, stats.SEED)
    variants = []
    for agg in ("pooled", "member-mean"):
        zs, ft = (shape_bias_draws(h, have[g], agg, idx) for g in C4_GROUPS)
        d = float(shape_bias_draws(h, have["clip-zeroshot"], agg)[0] - shape_bias_draws(h, have["clip-ft"], agg)[0])
        low, high = stats.percentile_interval(zs - ft)
        variants.append(Variant("headline" if agg == "pooled" else f"aggregation={agg}", f"groups {agg}", d,
                                float(low), float(high), bool(low > 0), agg == "pooled",
                                len(have["clip-zeroshot"]) + len(have["clip-ft"])))
    v0 = variants[0]
    claim = Claim("C4", judge(bool(v0.holds), variants), stat, v0.value, v0.low, v0.high,
                  f"{len(have['clip-zeroshot'])} zero-shot vs {len(have['clip-ft'])} fine-tuned CLIP models, pooled "
                  f"trials, paired stimulus bootstrap: {v0.value:+.3f} [{v0.low:+.3f}, {v0.high:+.3f}].",
                  tuple(variants))
    return guard_run(claim, run, cache_based=True)


# --------------------------------------------------------------------------- figures (plot only)


def plot_groups(table: pd.DataFrame) -> plt.Figure:
    """Shape bias with 95 % CI per decision maker, grouped; group pooled values as vertical bars
    labelled with the group's size (a one-model group is named as that model)."""
    members = table[table["level"] == "member"].reset_index(drop=True)
    labels = group_labels(table)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(members) + 1.8))
    for i, r in members.iterrows():
        c = group_color(r["group"])
        ax.errorbar(r["shape_bias"], i, xerr=[[r["shape_bias"] - r["ci_low"]], [r["ci_high"] - r["shape_bias"]]],
                    fmt=GROUP_MARKERS.get(r["group"], "o"), color=c, capsize=2, ms=5)
    for _, r in table[table["level"] == "group"].iterrows():
        ys = members.index[members["group"] == r["group"]]
        ax.plot([r["shape_bias"]] * 2, [ys.min() - 0.4, ys.max() + 0.4], color=group_color(r["group"]),
                lw=3, alpha=0.35, label=f"{labels.get(r['group'], r['group'])}: pooled {r['shape_bias']:.2f}")
    ax.set(yticks=members.index, yticklabels=members["label"], xlim=(0, 1), ylabel="decision maker",
           xlabel="shape bias = shape / (shape + texture) decisions")
    ax.axvline(0.5, color="0.6", lw=0.8, ls=":")
    ax.invert_yaxis()
    ax.set_title("Cue-conflict shape bias per decision maker (95 % CI, stimulus bootstrap)", fontsize=10)
    handles, leg = ax.get_legend_handles_labels()
    bottom = 0.8 / fig.get_figheight()  # keep 0.8 in below the axes for the legend
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.legend(handles, leg, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, bottom), ncol=2, frameon=False)
    return fig


def plot_per_category(per_cat: pd.DataFrame, overall: pd.DataFrame) -> plt.Figure:
    """model-vs-human style: categories as rows, fraction of shape decisions on x (texture on the top
    axis), one marker per group (pooled), group averages as vertical lines."""
    g = per_cat[per_cat["level"] == "group"]
    labels = group_labels(overall)
    cats = list(S.CATEGORIES_16)
    fig, ax = plt.subplots(figsize=(6.5, 7.5))
    for group, rows in g.groupby("group", sort=False):
        rows = rows.set_index("category").reindex(cats)
        c = group_color(group)
        ax.scatter(rows["shape_bias"], range(len(cats)), marker=GROUP_MARKERS.get(group, "o"), color=c,
                   s=40, alpha=0.85, label=labels.get(group, group), zorder=3)
        avg = overall.loc[(overall["level"] == "group") & (overall["group"] == group), "shape_bias"]
        if len(avg):
            ax.axvline(float(avg.iloc[0]), color=c, lw=1, alpha=0.6)
    ax.set(yticks=range(len(cats)), yticklabels=cats, xlim=(-0.02, 1.02), ylabel="shape category",
           xlabel="fraction of 'shape' decisions")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1 - x, lambda x: 1 - x))
    top.set_xlabel("fraction of 'texture' decisions")
    ax.invert_yaxis()
    ax.set_title("Shape bias per category, cue-conflict stimuli (model-vs-human style;\n"
                 "lines: each group's overall shape bias)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def plot_c3_comparisons(comp: pd.DataFrame) -> plt.Figure:
    """CLIP − each compared model's shape bias with its paired-bootstrap 95 % CI (0 line): the
    per-model view of C3 that the pooled group intervals hide."""
    comp = comp.sort_values("diff").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(comp) + 1.6))
    sig = (comp["p_adj"] < ALPHA) & (comp["diff"] > 0)
    for i, r in comp.iterrows():
        ax.errorbar(r["diff"], i, xerr=[[r["diff"] - r["low"]], [r["high"] - r["diff"]]], fmt="o",
                    color=GROUP_COLORS["clip"] if sig[i] else style.BASELINE_GREY, capsize=2, ms=5)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(yticks=range(len(comp)), yticklabels=comp["compared"], ylabel="compared model",
           xlabel="shape bias: CLIP ViT-B/16 − model (paired stimulus bootstrap, 95 % CI)")
    ax.set_title("C3 per model: CLIP ViT-B/16 minus each model\n(coloured: significantly more shape-biased "
                 "after Holm; grey: not)", fontsize=10)
    fig.tight_layout()
    return fig
