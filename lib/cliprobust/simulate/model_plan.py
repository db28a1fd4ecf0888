"""What is drawn once per model: accuracy targets, the miscalibration temperature, OOD confidence
shifts, the embedding width (SYNTHETIC: see :mod:`cliprobust.simulate`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special

from ..metrics.calibration import ece
from ..model_entries import is_clip, timm_name
from .targets import AUROC_RANGES, ECE_RANGE, accuracy_targets, rng_for, shape_targets, stable_seed

#: Concentration of the Beta law of the latent per-sample confidence (DEFAULT: chosen so that the
#: confidence histogram of ImageNet val is broad, as in reliability diagrams; not from a table).
CONFIDENCE_CONCENTRATION = 3.0


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


def latent(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
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
    p = latent(rng, acc, n)
    correct = choose_correct(rng, p, acc)
    lo, hi = np.log(0.2), 0.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if ece(confidence(p, np.exp(mid)), correct) > target_ece:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def auroc_sorted(id_sorted: np.ndarray, ood: np.ndarray) -> float:
    """P(ID score > OOD score) for continuous scores (no ties): the AUROC of ``metrics.ood.auroc``
    in O(n log n) with the ID scores sorted once (the bisection below calls it ~30 times per set)."""
    below = np.searchsorted(id_sorted, ood, side="right")  # ID scores <= each OOD score
    return float(1.0 - below.sum() / (id_sorted.size * ood.size))


def solve_ood_mean(acc: float, target_auroc: float, seed: int, n: int = 5_000) -> float:
    """Mean latent confidence of OOD images giving MSP AUROC ``target_auroc`` against ID images of a
    model with ImageNet accuracy ``acc`` (AUROC of latent confidences = of MSP: same monotone map)."""
    id_sorted = np.sort(latent(np.random.default_rng(seed), acc, n))
    lo, hi = 1e-3, float(np.clip(acc, 2e-3, 1 - 1e-3))
    for _ in range(30):
        mid = (lo + hi) / 2
        ood = latent(np.random.default_rng(seed + 1), mid, n)  # common random numbers: monotone in mid
        if auroc_sorted(id_sorted, ood) > target_auroc:
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
    temperature = solve_temperature(base, ece_target, stable_seed(seed, entry.id, "T"))
    ood_means = {s: solve_ood_mean(base, a, stable_seed(seed, entry.id, s)) for s, a in aurocs.items()}
    width, wsrc = feature_width(entry)
    q, qsrc = _runner_up(acc)
    return ModelPlan(entry, acc, temperature, ece_target, aurocs, ood_means, shape_targets(entry), width, wsrc,
                     q, qsrc)
