"""Published model-vs-human cue-conflict trials, their hits, and shape bias with a two-level bootstrap.

Inputs, all real: the trials of 10 human observers and 15 models of the kayburns fork (``clip`` there =
OpenAI CLIP ViT-B/16, the only CLIP model with published trials), 1,280 trials each
(:func:`cliprobust.published.cue_conflict_trials`). Shape bias = shape hits / (shape + texture hits)
over the 1,200 cue-conflict trials (:mod:`cliprobust.metrics.shape_bias`; ``docs/protocols.md``).

Intervals: a decision maker's resamples *stimuli* (all trials on a drawn stimulus go together, for every
decision maker at once, so differences are paired); a group's is a **two-level bootstrap** -- its
member models resampled with replacement, then the stimuli -- because a claim about a group of models
is about the models as much as the images. A group's value pools its members' trials (``pooled``);
the alternatives average the members' shape biases (``member-mean``) or the 16 per-category shape
biases (``category-mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ... import published, style
from ...metrics import shape_bias as S
from ...metrics import stats

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
#: How a set of decision makers' trials become one shape bias.
AGGREGATIONS: tuple[str, ...] = ("pooled", "member-mean", "category-mean")
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


def stimulus_weights(n: int, n_boot: int = stats.N_BOOT, seed: int = stats.SEED) -> np.ndarray:
    """(n_boot, n) times each stimulus is drawn in each bootstrap resample (:func:`stats.resample_indices`),
    as float32: counts and hit sums stay exact integers far below 2**24, at half the memory traffic."""
    idx = stats.resample_indices(n, n_boot, seed)
    flat = (idx + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float32)


def member_draws(m: int, n_boot: int = stats.N_BOOT, seed: int = stats.SEED) -> np.ndarray:
    """(n_boot, m) member indices drawn with replacement (the first level of the two-level bootstrap)."""
    return np.random.default_rng(seed).integers(0, m, (n_boot, m))


def _cells(h: Hits, rows: np.ndarray, weights: np.ndarray, by_category: bool) -> tuple[np.ndarray, np.ndarray]:
    """(B, m, C) weighted shape and texture hit sums per member and shape category (C = 1 unless
    ``by_category``): one matrix product per cue."""
    cats = np.unique(h.category)
    onehot = (h.category[:, None] == cats) if by_category else np.ones((len(h.stimuli), 1), bool)
    out = []
    for hit in (h.shape[rows], h.texture[rows]):
        x = (hit.T[:, :, None] * onehot[:, None, :]).reshape(len(h.stimuli), -1).astype(weights.dtype)  # (N, m*C)
        out.append((weights @ x).astype(float).reshape(weights.shape[0], len(rows), onehot.shape[1]))
    return out[0], out[1]


def shape_bias_draws(h: Hits, members: Sequence[str], aggregation: str = "pooled",
                     weights: np.ndarray | None = None, member_idx: np.ndarray | None = None) -> np.ndarray:
    """Shape bias of a set of decision makers under stimulus resamples ``weights`` ((B, N) from
    :func:`stimulus_weights`; None = the data as they are) and member resamples ``member_idx`` ((B, m)
    from :func:`member_draws`; None = the members as they are). ``pooled``: hits summed over members;
    ``member-mean``: mean of members' shape biases; ``category-mean``: pooled per shape category,
    then the mean over the 16 categories."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    rows = h.rows(members)
    weights = np.ones((1, len(h.stimuli))) if weights is None else weights
    s, t = _cells(h, rows, weights, aggregation == "category-mean")
    pick = np.broadcast_to(np.arange(len(rows)) if member_idx is None else member_idx, (s.shape[0], len(rows)))
    s, t = (np.take_along_axis(a, pick[:, :, None], axis=1) for a in (s, t))  # (B, K, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        if aggregation == "pooled":
            return _ratio(s.sum((1, 2)), t.sum((1, 2)))
        if aggregation == "member-mean":
            return np.nanmean(_ratio(s.sum(2), t.sum(2)), axis=1)
        return np.nanmean(_ratio(s.sum(1), t.sum(1)), axis=1)


def _row(tr: pd.DataFrame, h: Hits, weights: np.ndarray, level: str, group: str, name: str, label: str,
         seed: int) -> dict:
    members = list(dict.fromkeys(tr["subject"]))
    mi = member_draws(len(members), weights.shape[0], seed) if level == "group" else None
    low, high = stats.percentile_interval(shape_bias_draws(h, members, "pooled", weights, mi))
    conflict = tr["shape"] != tr["texture"]
    hit = conflict & ((tr["response"] == tr["shape"]) | (tr["response"] == tr["texture"]))
    return {"level": level, "group": group, "name": name, "label": label,
            "shape_bias": S.shape_bias(tr["shape"], tr["texture"], tr["response"]), "ci_low": float(low),
            "ci_high": float(high), "n_members": len(members), "n_conflict_trials": int(conflict.sum()),
            "cue_hit_rate": float(hit.sum() / conflict.sum())}


def shape_bias_table(trials: pd.DataFrame | None = None, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
                     ) -> pd.DataFrame:
    """One row per decision maker (``level='member'``, stimulus bootstrap) and per group
    (``level='group'``, pooled trials, two-level bootstrap: members, then stimuli): shape bias with
    its 95 % interval, members, conflict trials, and the fraction of conflict trials whose decision
    hits either cue."""
    tr = mvh_trials() if trials is None else trials
    h = hits(tr)
    w = stimulus_weights(len(h.stimuli), n_boot, seed)
    order = {g: i for i, g in enumerate(GROUPS)}
    rows = [_row(g, h, w, "group", name, name, name, seed + 1 + k)
            for k, (name, g) in enumerate(tr.groupby("group", sort=False))]
    rows += [_row(g, h, w, "member", g["group"].iloc[0], s, g["label"].iloc[0], seed)
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

