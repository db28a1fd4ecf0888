"""Per-sample draws of one model on one set: decisions (exact counts), confidences, then the logits
of each chunk (SYNTHETIC: see :mod:`cliprobust.simulate`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from .. import cache, datasets, published
from .files import class_space
from .model_plan import ModelPlan, choose_correct, confidence, latent
from .targets import AUROC_RANGES, rng_for

#: SD of the non-top logits (DEFAULT; only the top-1 confidence is controlled exactly).
LOGIT_NOISE_SD = 1.0


#: Confidences are kept in [c, 1 - c] when turned into logits (finite float16 logits; top-1 probability
#: exact to 1e-6).
CONFIDENCE_CLIP = 1e-6


#: Margin (logits) of the top class over the runner-up, and of a runner-up label over the rest.
MIN_MARGIN = 0.25


#: Sets scored by a model's ImageNet accuracy (same distribution, fewer images).
AS_IMAGENET: dict[str, str] = {"imagenet-sample": "imagenet"}


def prediction_columns(name: str) -> list[np.ndarray]:
    """For each label of the set, the 1000-way columns that count as predicting it."""
    spec = datasets.get(name)
    if spec.label_space == datasets.OBJECTNET_113:
        return [np.asarray(ids) for _, ids in datasets.objectnet_classes()]
    if spec.label_space == datasets.CUE_CONFLICT_16:
        cats = published.mvh_16_categories()
        return [np.asarray(cats[c]) for c in datasets.cue_conflict_categories()]
    return [np.asarray([c]) for c in range(1000)]


@dataclass(frozen=True)
class SetDraw:
    """Per-sample decisions of one model on one set (O(n) scalars; the logits come per chunk)."""

    labels: np.ndarray
    predicted: np.ndarray  # label-space prediction (-1: a random column; OOD)
    confidence: np.ndarray  # softmax top-1 probability at the model's own scale
    runner_up: np.ndarray  # bool: the label's column is second (errors only)
    target: dict[str, Any]


def _wrong(rng: np.random.Generator, labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A uniformly drawn class of ``classes`` other than each label."""
    pos = np.searchsorted(classes, labels)
    shift = rng.integers(1, classes.size, size=labels.size)
    return classes[(pos + shift) % classes.size]


def _cue_decisions(rng: np.random.Generator, file_ids: list[str], shape: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """Exact counts: of the cue-conflict trials (shape != texture), ``hit_rate`` hit a cue, and of those
    a share ``shape_bias`` hit the shape; the rest pick another category. Same-cue stimuli: hits."""
    cats = list(datasets.cue_conflict_categories())
    shp = np.asarray([cats.index(f.split("/")[-2]) for f in file_ids])
    tex = np.asarray([cats.index(datasets.cue_conflict_texture(f)) for f in file_ids])
    conflict = np.flatnonzero(shp != tex)
    order = rng.permutation(conflict)
    n_hit = int(round(shape["hit_rate"] * conflict.size))
    n_shape = int(round(shape["shape_bias"] * n_hit))
    decision = shp.copy()
    decision[order[n_shape:n_hit]] = tex[order[n_shape:n_hit]]
    for i in order[n_hit:]:
        decision[i] = rng.choice([c for c in range(16) if c not in (shp[i], tex[i])])
    return decision, {**shape, "n_conflict": int(conflict.size), "n_shape_hits": n_shape,
                      "n_texture_hits": n_hit - n_shape, "realized_shape_bias": n_shape / max(n_hit, 1)}


def draw_set(plan: ModelPlan, name: str, file_ids: list[str], labels: np.ndarray, seed: int) -> SetDraw:
    """The per-sample decisions of ``plan``'s model on set ``name`` (see module docstring)."""
    rng = rng_for(seed, plan.entry.id, name)
    spec = datasets.get(name)
    n = labels.size
    runner = np.zeros(n, dtype=bool)
    if spec.ood:
        p = latent(rng, plan.ood_means[name], n)
        target = {"auroc_msp_vs_imagenet": plan.auroc_targets[name], "source": "default:range:" + name,
                  "range": list(AUROC_RANGES[name])}
        return SetDraw(labels, np.full(n, -1), confidence(p, plan.temperature), runner, target)
    if spec.label_space == datasets.CUE_CONFLICT_16:
        decision, target = _cue_decisions(rng, file_ids, plan.shape)
        p = latent(rng, 0.5, n)
        return SetDraw(labels, decision, confidence(p, plan.temperature), runner, target)
    acc = plan.accuracy[AS_IMAGENET.get(name, name)]
    p = latent(rng, acc["acc"], n)
    correct = choose_correct(rng, p, acc["acc"])
    classes = class_space(name)
    predicted = np.where(correct, labels, _wrong(rng, labels, classes))
    if name == "imagenet":
        runner = ~correct & (rng.random(n) < plan.runner_up)
    target = {**acc, "n_correct": int(correct.sum()), "realized_accuracy": float(correct.mean()),
              "ece_target_imagenet": plan.ece_target, "temperature": plan.temperature}
    return SetDraw(labels, predicted, confidence(p, plan.temperature), runner, target)


def chunk_logits(draw: SetDraw, rows: slice, columns: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """float32 (rows, 1000) logits: Gaussian noise; the predicted class's columns raised so that the
    softmax top-1 probability equals ``draw.confidence``; an error's label second when ``runner_up``."""
    # float64 sigmoid rounds to exactly 1.0 for an overconfident sample, whose logit is then inf
    conf = np.clip(draw.confidence[rows], CONFIDENCE_CLIP, 1 - CONFIDENCE_CLIP)
    pred = draw.predicted[rows]
    m = conf.size
    z = rng.standard_normal((m, 1000), dtype=np.float32) * np.float32(LOGIT_NOISE_SD)
    r = np.arange(m)
    lengths = np.asarray([len(c) for c in columns])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.concatenate(columns)
    known = np.maximum(pred, 0)
    pick = offsets[known] + np.floor(rng.random(m) * lengths[known]).astype(np.int64)
    top_cols = np.where(pred < 0, rng.integers(0, 1000, size=m), flat[pick])
    raised = np.zeros((m, 1000), dtype=bool)
    if draw.target.get("n_conflict") is not None:  # cue-conflict: the whole decided category on top
        for i, c in enumerate(pred):
            raised[i, columns[int(c)]] = True
    raised[r, top_cols] = True
    rest = np.where(raised, -np.inf, z)
    ru = np.flatnonzero(draw.runner_up[rows])
    if ru.size:
        lab = draw.labels[rows][ru]
        z[ru, lab] = rest[ru].max(axis=1) + MIN_MARGIN
        rest[ru, lab] = z[ru, lab]
    k = raised.sum(axis=1)
    lse = special.logsumexp(rest, axis=1)
    # each raised column gets the value v with k * e^v / (k * e^v + e^lse) = conf
    v = lse + special.logit(conf) - np.log(k)
    v = np.maximum(v, rest.max(axis=1) + MIN_MARGIN)
    z = np.where(raised, v[:, None].astype(np.float32), z)
    if not np.isfinite(z).all():
        raise RuntimeError("simulate: non-finite synthetic logits (a bug in chunk_logits)")
    return z


def features_chunk(rng: np.random.Generator, m: int, width: int) -> np.ndarray:
    """float16 (m, width) Gaussian features (no structure: a placeholder of the right size)."""
    return rng.standard_normal((m, width), dtype=np.float32).astype(cache.FEATURE_DTYPE)
