"""Synthetic file lists: the real list of a shipped set, REAL annotated ImageNet val files, made-up
ids elsewhere; each fingerprinted as the engine fingerprints file lists (SYNTHETIC: see
:mod:`cliprobust.simulate`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .. import datasets, published
from .. import labels as label_maps
from ..metrics.factors import FACTORS
from .targets import rng_for

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
    return ids, y, datasets.list_fingerprint([(i, str(int(c))) for i, c in zip(ids, y)])


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
    return ids, labels.astype(np.int64), datasets.list_fingerprint([(i, "synthetic") for i in ids])
