"""SYNTHETIC cache entries: a rehearsal of the full pipeline at scale, never a result.

``cliprobust simulate`` writes cache entries for the zoo x test sets through the engine's own
storage writer (:func:`cliprobust.cache.init_entry` / :func:`~cliprobust.cache.write_chunk` /
:func:`~cliprobust.cache.finalize`) under the engine's key (``inference.config.model_key``,
``dataset_protocol``, ``head_spec``), so every reader -- ``cache ls``, ``outputs.load``, the
notebooks -- runs on them exactly as on real outputs. No model is built and no image is read:
the per-sample outputs are DRAWN so that the analyses have known answers:

- accuracy: exactly ``round(acc * n)`` samples of a labelled set are correct under the set's
  protocol (1000-way argmax; the 200 R/A columns; the 113 collapsed ObjectNet classes), where
  ``acc`` is the model's PUBLISHED accuracy (open_clip table for zero-shot CLIP, timm tables for
  fine-tunes and ImageNet models) or, without one, a documented default (:func:`accuracy_targets`);
  ``meta.json`` records the number and its source;
- confidence: a latent calibrated confidence ``p ~ Beta`` (mean = accuracy) decides which samples
  are correct; the stored softmax confidence is ``sigmoid(logit(p) / T)`` with a per-model
  temperature ``T`` solved so that ImageNet ECE equals a target drawn in :data:`ECE_RANGE`;
- OOD sets: the latent confidence of OOD images is shifted so that MSP AUROC against ImageNet
  equals a target drawn in :data:`AUROC_RANGES`;
- cue-conflict: exact shape / texture / other decision counts giving the published shape bias
  (model-vs-human) where a model has one, else a group default (:func:`shape_targets`);
- features: Gaussian vectors of the model's real embedding width (open_clip config JSON; timm
  ``num_features`` read from a model built on the ``meta`` device -- no weights, no memory);
- file ids: ImageNet val entries list REAL val file names and labels, drawn from the 46,110 images
  annotated by ImageNet-X (so the visual-factor analyses run); other sets get made-up ids.

Every key carries ``"synthetic": true`` (so a synthetic entry never shares a key with a real one)
and every ``meta.json`` carries ``synthetic: true`` and :data:`SYNTHETIC_NOTE`. Entries go to
``data/synthetic-outputs`` (never the real output cache). Deterministic given ``--seed``. Memory:
one chunk of one entry is generated at a time; ``finalize`` assembles one entry.

    cliprobust simulate --fraction 0.01                 # paper zoo x 12 test sets, 1 % of each set
    python -m cliprobust.simulate --models 'open_clip:ViT-B-32/openai' --datasets imagenet,imagenet-r
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import numpy as np
import pandas as pd
from scipy import special

from . import __version__, cache, datasets, paths, prompts, published, zoo
from . import labels as label_maps
from .inference.config import canonical_sha, dataset_protocol, head_name, head_spec, model_key
from .inference.entries import is_clip, select_entries, timm_name
from .metrics.calibration import ece
from .metrics.factors import FACTORS
from .metrics.robustness import fit_baseline
from .metrics.shape_bias import shape_bias

#: Stamped into every meta.json written here.
SYNTHETIC_NOTE = ("SYNTHETIC outputs written by `cliprobust simulate`: drawn to match published numbers, no model "
                  "was run. A rehearsal of the pipeline at scale, never a result.")
#: Folder (under the data dir) of simulated entries; never the real ``data/outputs``.
SYNTHETIC_CACHE = "synthetic-outputs"

#: The 12 test sets of the full profile (run_all.sh FULL_DATASETS).
FULL_DATASETS: tuple[str, ...] = (
    "imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet", "imagenet-a", "imagenet-o",
    "inaturalist", "sun", "places", "textures", "cue-conflict")

#: The engine's default chunk (``RunConfig.chunk_size``): resume/write granularity.
CHUNK_SIZE = 1024

#: exp(logit_scale) of CLIP models: open_clip clamps the learned scale at 100 and trained CLIP
#: models sit there (OpenAI CLIP: 100.0). Stored cosines are logits / 100 + :data:`CLIP_COSINE_OFFSET`.
CLIP_LOGIT_SCALE = 100.0
#: Typical cosine of an image with a text head (~0.2-0.3); shifts all logits equally (softmax-invariant).
CLIP_COSINE_OFFSET = 0.2

#: Top-label ECE of ImageNet classifiers and CLIP models on ImageNet val lies in ~1-10 %
#: (Minderer et al. 2021, "Revisiting the calibration of modern neural networks", Fig. 1).
ECE_RANGE: tuple[float, float] = (0.01, 0.10)

#: MSP AUROC (ImageNet as ID) per OOD set. iNaturalist / SUN / Places / Textures: the MSP rows of
#: MOS (Huang & Li 2021, Table 1: 0.88 / 0.78 / 0.77 / 0.74, BiT-S R101) to the MCM rows of
#: Ming et al. 2022 (Table 1: 0.95 / 0.93 / 0.90 / 0.86, CLIP ViT-B/16), rounded outward.
#: ImageNet-O is a DEFAULT, not a published range: it was selected adversarially against a
#: ResNet-50's MSP (Hendrycks et al. 2021), so MSP detection is near chance.
AUROC_RANGES: dict[str, tuple[float, float]] = {
    "inaturalist": (0.87, 0.95), "sun": (0.78, 0.93), "places": (0.76, 0.90), "textures": (0.74, 0.87),
    "imagenet-o": (0.50, 0.70)}

#: Concentration of the Beta law of the latent per-sample confidence (DEFAULT: chosen so that the
#: confidence histogram of ImageNet val is broad, as in reliability diagrams; not from a table).
CONFIDENCE_CONCENTRATION = 3.0
#: SD of the non-top logits (DEFAULT; only the top-1 confidence is controlled exactly).
LOGIT_NOISE_SD = 1.0
#: Confidences are kept in [c, 1 - c] when turned into logits (finite float16 logits; top-1 probability
#: exact to 1e-6).
CONFIDENCE_CLIP = 1e-6
#: Margin (logits) of the top class over the runner-up, and of a runner-up label over the rest.
MIN_MARGIN = 0.25

#: model-vs-human subject whose published cue-conflict trials give a zoo model's shape bias.
MVH_SUBJECTS: dict[str, str] = {"open_clip:ViT-B-32/openai": "clip"}
#: Group defaults (no published shape bias for the model): zero-shot CLIP takes model-vs-human's CLIP
#: (ViT-B/32, OpenAI), ImageNet models its ResNet-50; CLIP-FT the midpoint (DEFAULT: Tu et al. 2023
#: report fine-tuning moves CLIP's shape bias toward ImageNet models; no per-model number exists).
SHAPE_DEFAULT_SUBJECTS: dict[str, tuple[str, ...]] = {
    "clip-zeroshot": ("clip",), "imagenet": ("resnet50",), "clip-ft": ("clip", "resnet50"), "smoke": ("resnet50",)}

#: Test sets whose accuracy targets come from the published tables (others: none / OOD).
ACCURACY_SETS: tuple[str, ...] = ("imagenet", "imagenet-v2", "imagenet-r", "imagenet-sketch", "objectnet",
                                  "imagenet-a")
#: Sets scored by a model's ImageNet accuracy (same distribution, fewer images).
AS_IMAGENET: dict[str, str] = {"imagenet-sample": "imagenet"}


# --------------------------------------------------------------------------- published targets


def _stable(*parts: Any) -> int:
    """A seed component that does not depend on Python's hash randomization."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


def rng_for(seed: int, *parts: Any) -> np.random.Generator:
    """The generator of one (seed, model[, data set]) -- deterministic and independent per pair."""
    return np.random.default_rng([seed, *(_stable(p) for p in parts)])


@lru_cache(maxsize=1)
def published_accuracies() -> pd.DataFrame:
    """(model, test_set) -> top1 of the open_clip and timm tables (default resolution), wide."""
    oc = published.open_clip_results(dedupe_quickgelu=False)[["model", "test_set", "top1"]]
    tm = published.timm_results(default_resolution=True)[["model", "test_set", "top1"]]
    long = pd.concat([oc, tm], ignore_index=True).drop_duplicates(["model", "test_set"])
    return long.pivot(index="model", columns="test_set", values="top1")


@lru_cache(maxsize=1)
def _testbed_fits() -> dict[str, Any]:
    """imagenet-testbed baseline lines (logit), ImageNet -> each shift (the default for a missing number)."""

    tb = published.testbed_results()
    wide = tb.pivot_table(index="model", columns="test_set", values="top1")
    types = tb.drop_duplicates("model").set_index("model")["type"]
    base = published.testbed_baseline(types)
    mask = base.reindex(wide.index, fill_value=False).to_numpy() if base is not None else np.ones(len(wide), bool)
    fits = {}
    for s in published.SHIFTS:
        both = wide.loc[mask, ["imagenet", s]].dropna() if s in wide else pd.DataFrame()
        if len(both) >= 2:
            fits[s] = fit_baseline(both["imagenet"].to_numpy(), both[s].to_numpy())
    return fits


def _published_row(entry: Any) -> tuple[str | None, pd.Series | None]:
    table = published_accuracies()
    ids = zoo.published_ids(entry) if isinstance(entry, zoo.ModelEntry) else (entry.id,)  # ad-hoc ids: as given
    for pid in ids:
        if pid in table.index:
            return pid, table.loc[pid]
    return None, None


@lru_cache(maxsize=None)
def _group_defaults(group: str) -> dict[str, float]:
    """Median published ImageNet accuracy and median logit residual per shift over a zoo group."""

    fits = _testbed_fits()
    rows = [r for e in zoo.collection(group if group in zoo.PAPER_GROUPS else "imagenet")
            for _, r in [_published_row(e)] if r is not None]
    table = pd.DataFrame(rows)
    out = {"imagenet": float(table["imagenet"].median())}
    for s, fit in fits.items():
        both = table[["imagenet", s]].dropna() if s in table else pd.DataFrame()
        both = both[(both > 0).all(axis=1) & (both < 1).all(axis=1)]
        res = special.logit(both[s].to_numpy()) - fit.predict_transformed(both["imagenet"].to_numpy())
        out[f"residual:{s}"] = float(np.median(res)) if len(res) else 0.0
    return out


def accuracy_targets(entry: Any) -> dict[str, dict[str, Any]]:
    """Per labelled test set: ``{"acc": fraction, "source": where it comes from}``.

    Published (open_clip / timm row of the model) where it exists. DEFAULTS otherwise: ImageNet ->
    the median published ImageNet accuracy of the model's zoo group; a shift -> imagenet-testbed's
    baseline line (logit) at the model's ImageNet accuracy plus the median residual of its group's
    published rows on that shift (so a zero-shot CLIP without an ObjectNet number keeps CLIP's
    effective robustness). ``imagenet-r/a-classes`` (ImageNet val on the 200 classes) are targets
    for the ImageNet entry's sub-selected accuracy where timm publishes them.
    """
    pid, row = _published_row(entry)
    group = getattr(entry, "group", "imagenet")
    out: dict[str, dict[str, Any]] = {}

    def have(s: str) -> bool:
        return row is not None and s in row.index and pd.notna(row[s])

    if have("imagenet"):
        out["imagenet"] = {"acc": float(row["imagenet"]), "source": f"published:{pid}"}
    else:
        out["imagenet"] = {"acc": _group_defaults(group)["imagenet"], "source": f"default:median-imagenet:{group}"}
    fits = _testbed_fits()
    for s in ACCURACY_SETS[1:]:
        if have(s):
            out[s] = {"acc": float(row[s]), "source": f"published:{pid}"}
            continue
        resid = _group_defaults(group).get(f"residual:{s}", 0.0)
        t = fits[s].predict_transformed(out["imagenet"]["acc"]) + resid
        out[s] = {"acc": float(special.expit(t)), "source": f"default:testbed-line+median-residual:{group}"}
    for s in ("imagenet-r-classes", "imagenet-a-classes"):
        if have(s):
            out[s] = {"acc": float(row[s]), "source": f"published:{pid}"}
    return out


@lru_cache(maxsize=1)
def _mvh_rates() -> dict[str, tuple[float, float]]:
    """model-vs-human subject -> (shape bias, cue hit rate) from its published cue-conflict trials."""

    t = published.cue_conflict_trials()
    t = t[t["shape"] != t["texture"]]
    out = {}
    for subject, g in t.groupby("subject"):
        hits = ((g["response"] == g["shape"]) | (g["response"] == g["texture"])).mean()
        out[str(subject)] = (shape_bias(g["shape"], g["texture"], g["response"]), float(hits))
    return out


def shape_targets(entry: Any) -> dict[str, Any]:
    """``{"shape_bias", "hit_rate", "source"}`` of a model on cue-conflict (see :data:`MVH_SUBJECTS`)."""
    rates = _mvh_rates()
    if entry.id in MVH_SUBJECTS:
        sb, hit = rates[MVH_SUBJECTS[entry.id]]
        return {"shape_bias": sb, "hit_rate": hit, "source": f"published:mvh:{MVH_SUBJECTS[entry.id]}"}
    subjects = SHAPE_DEFAULT_SUBJECTS.get(getattr(entry, "group", "imagenet"), ("resnet50",))
    sb = float(np.mean([rates[s][0] for s in subjects]))
    hit = float(np.mean([rates[s][1] for s in subjects]))
    return {"shape_bias": sb, "hit_rate": hit, "source": "default:mvh:" + "+".join(subjects)}


# --------------------------------------------------------------------------- model-level parameters


@lru_cache(maxsize=None)
def feature_width(entry: Any) -> tuple[int, str]:
    """(embedding width, source): open_clip ``embed_dim`` from the config JSON; timm ``num_features``
    of the architecture built on the ``meta`` device (no weights, no memory)."""
    if is_clip(entry):
        import open_clip

        return int(open_clip.get_model_config(entry.arch)["embed_dim"]), "open_clip model config embed_dim"
    import timm
    import torch

    with torch.device("meta"):
        model = timm.create_model(timm_name(entry), pretrained=False)
    return int(model.num_features), "timm num_features (meta-device build)"


def _latent(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    """Latent calibrated confidences ~ Beta(mean*k, (1-mean)*k), clipped away from 0 and 1."""
    mean = float(np.clip(mean, 1e-3, 1 - 1e-3))
    k = CONFIDENCE_CONCENTRATION
    return np.clip(rng.beta(mean * k, (1 - mean) * k, size=n), 1e-4, 1 - 1e-4)


def choose_correct(rng: np.random.Generator, p: np.ndarray, acc: float) -> np.ndarray:
    """Exactly ``round(acc * n)`` correct samples, the likelier ones first: the top-k of
    ``logit(p) + Logistic noise`` (Bernoulli(p) conditioned on the count, Gumbel-top-k style)."""
    k = int(round(float(acc) * p.size))
    key = special.logit(p) + rng.logistic(size=p.size)
    correct = np.zeros(p.size, dtype=bool)
    correct[np.argsort(-key, kind="stable")[:k]] = True
    return correct


def confidence(p: np.ndarray, temperature: float) -> np.ndarray:
    """Reported top-1 confidence of a model with miscalibration ``temperature`` (< 1: overconfident)."""
    return special.expit(special.logit(p) / temperature)


def solve_temperature(acc: float, target_ece: float, seed: int, n: int = 10_000) -> float:
    """The temperature whose ECE on a reference draw at accuracy ``acc`` equals ``target_ece`` (bisection
    on log T in [0.2, 1]; ECE grows as T falls below 1)."""

    rng = np.random.default_rng(seed)
    p = _latent(rng, acc, n)
    correct = choose_correct(rng, p, acc)
    lo, hi = np.log(0.2), 0.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if ece(confidence(p, np.exp(mid)), correct) > target_ece:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def _auroc_sorted(id_sorted: np.ndarray, ood: np.ndarray) -> float:
    """P(ID score > OOD score) for continuous scores (no ties): the AUROC of ``metrics.ood.auroc``
    in O(n log n) with the ID scores sorted once (the bisection below calls it ~30 times per set)."""
    below = np.searchsorted(id_sorted, ood, side="right")  # ID scores <= each OOD score
    return float(1.0 - below.sum() / (id_sorted.size * ood.size))


def solve_ood_mean(acc: float, target_auroc: float, seed: int, n: int = 5_000) -> float:
    """Mean latent confidence of OOD images giving MSP AUROC ``target_auroc`` against ID images of a
    model with ImageNet accuracy ``acc`` (AUROC of latent confidences = of MSP: same monotone map)."""
    id_sorted = np.sort(_latent(np.random.default_rng(seed), acc, n))
    lo, hi = 1e-3, float(np.clip(acc, 2e-3, 1 - 1e-3))
    for _ in range(30):
        mid = (lo + hi) / 2
        ood = _latent(np.random.default_rng(seed + 1), mid, n)  # common random numbers: monotone in mid
        if _auroc_sorted(id_sorted, ood) > target_auroc:
            lo = mid
        else:
            hi = mid
    return float((lo + hi) / 2)


@dataclass(frozen=True)
class ModelPlan:
    """Everything drawn once per model (then reused for each of its data sets)."""

    entry: Any
    accuracy: dict[str, dict[str, Any]]
    temperature: float
    ece_target: float
    auroc_targets: dict[str, float]
    ood_means: dict[str, float]
    shape: dict[str, Any]
    width: int
    width_source: str
    runner_up: float  # probability that an ImageNet error ranks the label second (class-subset accuracy)
    runner_up_source: str


def _runner_up(acc: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """P(label is the runner-up | error) so that ImageNet val restricted to the R/A classes reaches the
    published ``imagenet-r/a-classes`` accuracy: acc_S = acc + (1 - acc) * P(pred outside S) * q,
    P(pred outside S) = 800/999 for a uniformly drawn wrong class. DEFAULT 0.5 without a number."""
    base = acc["imagenet"]["acc"]
    qs = [(acc[s]["acc"] - base) / max((1 - base) * 800 / 999, 1e-9)
          for s in ("imagenet-r-classes", "imagenet-a-classes") if s in acc]
    if not qs:
        return 0.5, "default:0.5"
    return float(np.clip(np.mean(qs), 0.0, 1.0)), "published:imagenet-r/a-classes"


def plan_model(entry: Any, ood_sets: tuple[str, ...], seed: int) -> ModelPlan:
    """Draw the per-model parameters (targets, temperature, OOD shifts, width)."""
    rng = rng_for(seed, entry.id, "model")
    acc = accuracy_targets(entry)
    ece_target = float(rng.uniform(*ECE_RANGE))
    aurocs = {s: float(rng.uniform(*AUROC_RANGES[s])) for s in ood_sets if s in AUROC_RANGES}
    base = acc["imagenet"]["acc"]
    temperature = solve_temperature(base, ece_target, _stable(seed, entry.id, "T"))
    ood_means = {s: solve_ood_mean(base, a, _stable(seed, entry.id, s)) for s, a in aurocs.items()}
    width, wsrc = feature_width(entry)
    q, qsrc = _runner_up(acc)
    return ModelPlan(entry, acc, temperature, ece_target, aurocs, ood_means, shape_targets(entry), width, wsrc,
                     q, qsrc)


# --------------------------------------------------------------------------- synthetic file lists


def set_size(name: str, fraction: float) -> int:
    """Images simulated for a set: ``fraction`` of its real size (at least 1); shipped sets in full
    (readers match their real file fingerprint, and they are small)."""
    spec = datasets.get(name)
    if spec.shipped:
        return spec.expected_counts[0]
    return max(1, int(round(fraction * spec.expected_counts[0])))


def class_space(name: str) -> np.ndarray:
    """The labels a set's images carry, in the set's label space (real class counts)."""
    spec = datasets.get(name)
    if spec.ood:
        return np.asarray([datasets.NO_LABEL])
    if spec.class_subset:
        return datasets.subset_indices(spec.class_subset)
    if spec.label_space == datasets.OBJECTNET_113:
        return np.arange(len(datasets.objectnet_classes()))
    if spec.label_space == datasets.CUE_CONFLICT_16:
        return np.arange(16)
    return np.arange(1000)


def _fingerprint(rows: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for a, b in rows:
        digest.update(f"{a}\t{b}\n".encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _imagenetx_val() -> pd.DataFrame:
    """ImageNet-X top-factor val annotations (prototypes dropped): the table the visual-factor section
    keys its per-image predictions on (``visual_factors.tables.annotations_by_file``), by file name."""
    return published.imagenetx_annotations("top").set_index("file_name")


def imagenetx_sample(n: int, seed: int) -> pd.DataFrame:
    """``n`` seeded rows of the ImageNet-X val table (all of it if ``n`` is larger), sorted by file name.

    Each factor of :data:`cliprobust.metrics.factors.FACTORS` that is some image's top factor gets at
    least one image first (while ``n`` allows), so that every factor accuracy is defined even at the
    small fractions of a rehearsal (``larger`` tags 150 of the 46,110 images: a uniform draw of 100
    images misses it 72 % of the time); the rest is a uniform draw without replacement.
    """

    ann = _imagenetx_val()
    n = min(n, len(ann))
    rng = rng_for(seed, "imagenet", "imagenetx-files")
    flags = ann[list(FACTORS)].to_numpy()
    picked: list[int] = []
    for j in rng.permutation(flags.shape[1]):
        if len(picked) >= n:
            break
        rows = np.flatnonzero(flags[:, j])
        if rows.size and not flags[picked, j].any():
            picked.append(int(rng.choice(rows)))
    rest = np.setdiff1d(np.arange(len(ann)), picked)
    chosen = np.concatenate([picked, rng.choice(rest, size=n - len(picked), replace=False)]).astype(np.int64)
    return ann.iloc[chosen].sort_index()


def imagenet_val_files(fraction: float, seed: int) -> tuple[list[str], np.ndarray, str]:
    """(file ids, labels, fingerprint) of simulated ImageNet val: REAL val images (``<wnid>/<file name>``,
    the engine's layout) with their real labels, drawn from the 46,110 annotated by ImageNet-X
    (:func:`imagenetx_sample`), so that factor accuracies can be computed on synthetic caches.
    ``fraction`` is of the 50,000 val images (capped at the 46,110 annotated ones)."""
    rows = imagenetx_sample(set_size("imagenet", fraction), seed)

    wnids = np.asarray(label_maps.imagenet_wnids())
    y = rows["label"].to_numpy(dtype=np.int64)
    ids = np.asarray([f"{w}/{f}" for w, f in zip(wnids[y], rows.index)])
    order = np.argsort(ids, kind="stable")  # the engine lists wnid folders, then files, in sorted order
    ids, y = ids[order].tolist(), y[order]
    return ids, y, _fingerprint([(i, str(int(c))) for i, c in zip(ids, y)])


def synthetic_files(name: str, fraction: float, seed: int) -> tuple[list[str], np.ndarray, str]:
    """(file ids, labels, fingerprint): the real list of a shipped set; ImageNet val: real annotated
    val images (:func:`imagenet_val_files`); else ``n`` made-up ids under ``synthetic/`` with labels
    spread evenly over the set's classes in a seeded order."""
    spec = datasets.get(name)
    if spec.shipped:
        files = datasets.resolve(name)
        return list(files.file_ids), np.asarray(files.labels), files.fingerprint
    if name == "imagenet":
        return imagenet_val_files(fraction, seed)
    n = set_size(name, fraction)
    classes = class_space(name)
    labels = classes[rng_for(seed, name, "labels").permutation(np.arange(n) % classes.size)]
    ids = [f"synthetic/{int(y) if y >= 0 else 'ood'}/{i:07d}.jpg" for i, y in enumerate(labels)]
    return ids, labels.astype(np.int64), _fingerprint([(i, "synthetic") for i in ids])


# --------------------------------------------------------------------------- per-sample draws


def _prediction_columns(name: str) -> list[np.ndarray]:
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
        p = _latent(rng, plan.ood_means[name], n)
        target = {"auroc_msp_vs_imagenet": plan.auroc_targets[name], "source": "default:range:" + name,
                  "range": list(AUROC_RANGES[name])}
        return SetDraw(labels, np.full(n, -1), confidence(p, plan.temperature), runner, target)
    if spec.label_space == datasets.CUE_CONFLICT_16:
        decision, target = _cue_decisions(rng, file_ids, plan.shape)
        p = _latent(rng, 0.5, n)
        return SetDraw(labels, decision, confidence(p, plan.temperature), runner, target)
    acc = plan.accuracy[AS_IMAGENET.get(name, name)]
    p = _latent(rng, acc["acc"], n)
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


# --------------------------------------------------------------------------- keys and entries


def entry_key(entry: Any, name: str, files_sha: str, n_files: int, prompt_set: str, seed: int) -> dict[str, Any]:
    """The engine's key (``inference.config.entry_key``) for synthetic files, plus ``synthetic: true``."""

    ikey = {**model_key(entry, seed), **dataset_protocol(name), "files_sha": files_sha, "n_files": n_files,
            "precision": "fp32", "synthetic": True}
    return {**ikey, "image_key_sha": canonical_sha(ikey), "head": head_spec(entry, prompt_set)}


def _versions() -> dict[str, str]:

    return {"python": sys.version.split()[0], "numpy": np.__version__, "cliprobust": __version__}


def _meta(plan: ModelPlan, name: str, key: dict[str, Any], sha: str, draw: SetDraw, fraction: float,
          seed: int) -> dict[str, Any]:

    entry = plan.entry
    clip = is_clip(entry)
    return {"format_version": key["format_version"], "model_id": entry.id, "dataset": name,
            "head": head_name(key["head"]), "key": key, "key_sha": sha, "synthetic": True,
            "synthetic_note": SYNTHETIC_NOTE, "scores_kind": "cosine" if clip else "logits",
            "label_space": datasets.get(name).label_space, "versions": _versions(), "host": platform.node(),
            "completed_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "logit_scale": CLIP_LOGIT_SCALE if clip else None, "logit_bias": None,
            "entry": {k: getattr(entry, k) for k in ("id", "source", "arch", "pretrained")},
            "config": {"model": entry.id, "dataset": name, "fraction": fraction, "seed": seed},
            "simulation": {"fraction": fraction, "seed": seed, "target": draw.target,
                           "temperature": plan.temperature, "ece_target_imagenet": plan.ece_target,
                           "feature_width": plan.width, "feature_width_source": plan.width_source,
                           "runner_up": plan.runner_up, "runner_up_source": plan.runner_up_source},
            "timings": {"images_this_session": 0}}


def write_entry(plan: ModelPlan, name: str, fraction: float, seed: int, prompt_set: str,
                chunk_size: int = CHUNK_SIZE) -> Path:
    """Write (or find complete) the synthetic entry of ``plan``'s model on ``name``; returns its folder."""

    file_ids, labels, fp = synthetic_files(name, fraction, seed)
    key = entry_key(plan.entry, name, fp, len(file_ids), prompt_set, seed)
    sha = canonical_sha(key)
    path = cache.entry_path(key, sha)
    if cache.is_complete(path):
        return path
    with cache.lock(path):
        if cache.is_complete(path):
            return path
        layout = cache.init_entry(path, key, {"chunk_size": chunk_size, "batch_size": chunk_size})
        draw = draw_set(plan, name, file_ids, labels, seed)
        columns = _prediction_columns(name)
        done = cache.done_chunks(path)
        clip = is_clip(plan.entry)
        for k, start in enumerate(range(0, len(file_ids), layout["chunk_size"])):
            if k in done:
                continue
            rows = slice(start, min(start + layout["chunk_size"], len(file_ids)))
            rng = rng_for(seed, plan.entry.id, name, "chunk", k)
            z = chunk_logits(draw, rows, columns, rng)
            scores = z / CLIP_LOGIT_SCALE + CLIP_COSINE_OFFSET if clip else z
            m = rows.stop - rows.start
            cache.write_chunk(path, k, {
                "index": np.arange(rows.start, rows.stop, dtype=np.int64),
                "scores": scores.astype(cache.SCORE_DTYPE), "features": features_chunk(rng, m, plan.width),
                "failed_index": np.zeros(0, dtype=np.int64), "failed_error": np.zeros(0, dtype=str)})
        cache.finalize(path, labels, file_ids, _meta(plan, name, key, sha, draw, fraction, seed))
    return path


# --------------------------------------------------------------------------- driver and CLI


def default_cache_dir() -> Path:
    """``data/synthetic-outputs`` (under ``$CLIPROBUST_DATA_DIR`` when set)."""
    return paths.data_dir() / SYNTHETIC_CACHE


def check_target(target: Path) -> None:
    """Refuse the real output cache, and any cache holding an entry that is not synthetic."""
    real = (paths.data_dir() / "outputs").resolve()
    if target.resolve() == real:
        raise SystemExit(f"cliprobust simulate: refusing to write synthetic entries into the real output cache "
                         f"{real}; use --cache-dir (default {default_cache_dir()})")
    for key_path in (target / "entries").glob("*/*/*/key.json") if (target / "entries").is_dir() else []:
        if not cache.read_json(key_path).get("synthetic"):
            raise SystemExit(f"cliprobust simulate: {target} holds real (non-synthetic) entries, e.g. "
                             f"{key_path.parent}; pick an empty folder for synthetic outputs")
        break  # one look is enough: the folder is either ours or not


@contextmanager
def _durable(fsync: bool) -> Iterator[None]:
    """The engine's writer fsyncs every file (right for real outputs, which cost GPU hours). Synthetic
    entries are re-drawn in seconds, and ~10 fsyncs per entry dominate writing 2,520 of them, so
    unless ``fsync`` is asked for, ``os.fsync`` is a no-op while they are written (atomic renames,
    hence complete-or-absent entries, are unchanged)."""
    if fsync:
        yield
        return
    with mock.patch.object(os, "fsync", lambda fd: None):
        yield


def simulate(models: str, dataset_names: list[str], fraction: float, seed: int = 0, prompt_set: str | None = None,
             chunk_size: int = CHUNK_SIZE, progress: bool = True, fsync: bool = False) -> Iterator[Path]:
    """Write the synthetic entries of every (model, data set) into ``paths.cache_dir()``, model by model."""
    from .progress import progress as tqdm


    prompt_set = prompt_set or prompts.default_prompt_set()
    entries = select_entries(models)
    ood = tuple(d for d in dataset_names if datasets.get(d).ood)
    with tqdm(total=len(entries) * len(dataset_names), unit="entry", desc="simulate (SYNTHETIC)",
              disable=not progress, dynamic_ncols=True) as bar:
        for entry in entries:
            plan = plan_model(entry, ood, seed)
            for name in dataset_names:
                bar.set_postfix_str(f"{entry.id} | {name}", refresh=False)
                with _durable(fsync):
                    path = write_entry(plan, name, fraction, seed, prompt_set, chunk_size)
                yield path
                bar.update(1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cliprobust simulate``."""
    parser.add_argument("--models", default="paper", help="zoo selector (default: the 210 paper models)")
    parser.add_argument("--datasets", default=",".join(FULL_DATASETS), help="comma-separated test sets "
                        "(default: the 12 of the full profile)")
    parser.add_argument("--fraction", type=float, default=0.01, help="share of each set's images (default 0.01; "
                        "shipped sets are always simulated in full)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt-set", default=None, help="CLIP head named in the keys (default: the "
                        "default prompt set, $CLIPROBUST_PROMPT_SET)")
    parser.add_argument("--cache-dir", default=None, help=f"where to write (default: $CLIPROBUST_CACHE_DIR, else "
                        f"data/{SYNTHETIC_CACHE}); never the real output cache")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--fsync", action="store_true", help="fsync every file as the engine does for real "
                        "outputs (off by default: synthetic entries are cheap to redraw)")


def main(args: argparse.Namespace) -> int:
    """Run ``cliprobust simulate``; returns the exit status."""
    if not 0 < args.fraction <= 1:
        print(f"cliprobust simulate: --fraction must be in (0, 1], got {args.fraction}", file=sys.stderr)
        return 2
    target = Path(args.cache_dir or os.environ.get(paths.CACHE_ENV) or default_cache_dir()).expanduser().resolve()
    check_target(target)
    os.environ[paths.CACHE_ENV] = str(target)
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for d in names:
        datasets.get(d)
    print(f"cliprobust simulate: SYNTHETIC outputs (a rehearsal, never a result) -> {target}", file=sys.stderr)
    n = sum(1 for _ in simulate(args.models, names, args.fraction, args.seed, args.prompt_set, args.chunk_size,
                                progress=not args.no_progress, fsync=getattr(args, "fsync", False)))
    print(f"{n} synthetic cache entries complete under {target}")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="cliprobust simulate", description=__doc__.split("\n\n")[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
