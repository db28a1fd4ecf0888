"""Evaluation image sets: on-disk layout, expected size, label space, and the file list of a run.

One registry (:data:`DATASETS`, frozen :class:`DatasetSpec` entries) says where each set lives
under the user's ``--data-root``, how many images it must have and how its labels are encoded.
:func:`resolve` turns a name (+ data root) into a :class:`FileList`: file ids, labels and a
fingerprint of the exact files, which goes into the cache key so a changed input never reads a
stale entry. The two *shipped* sets (``imagenet-sample``, ``cue-conflict``) need no data root:
their files are pinned artifacts, materialized through :func:`cliprobust.fetch.fetch`.

Labels are never class names (``docs/protocols.md`` §5). Each set has a label space:

- ``imagenet-1k``: 0-based ImageNet index (line number in ``imagenet_wnids.txt``). Also used for
  ImageNet-R/-A, whose 200 classes are stored as their 1k index, so one argmax over cached
  1000-way logits compares directly with the label; see :func:`restrict_to_subset`.
- ``objectnet-113``: index of the ObjectNet class (sorted folder name) among the 113 classes
  that overlap ImageNet; see :func:`objectnet_logits`.
- ``cue-conflict-16``: shape category (alphabetical index of the 16 model-vs-human categories);
  the texture category is :func:`cue_conflict_texture`.
- ``none``: out-of-distribution sets, label ``-1``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from . import fetch, paths
from . import labels as label_maps

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})
NO_LABEL = -1

#: Label spaces (see module docstring).
IMAGENET_1K = "imagenet-1k"
OBJECTNET_113 = "objectnet-113"
CUE_CONFLICT_16 = "cue-conflict-16"
NONE = "none"

#: ``docs/protocols.md`` §2: ObjectNet is evaluated the imagenet-testbed way -- 1000-way logits
#: collapsed to the 113 ObjectNet classes that overlap ImageNet (max over each class's ImageNet
#: indices), images cropped by a 2 px border first. The alternative (CLIP_benchmark/DataComp: a
#: 113-name zero-shot head, no crop, 18,574 images) is not the one the testbed baselines use.
OBJECTNET_PROTOCOL = "imagenet-testbed"
OBJECTNET_BORDER_PX = 2

#: ``docs/protocols.md`` §3, supervised models on ImageNet-R/-A: keep the 200 columns of the 1000-way
#: logits (hendrycks ``eval.py``; timm ``results-imagenet-r.csv``) before softmax/argmax.
SUBSET_PROTOCOL_SUPERVISED = "subselect-logits"
#: ``docs/protocols.md`` §3, CLIP on ImageNet-R/-A: a 200-class zero-shot head built from the 200
#: classes' names. Each column of a zero-shot head depends only on its own class name, so this
#: equals sub-selecting the 1000-class head (tested); the cache stores 1000 columns for both.
SUBSET_PROTOCOL_CLIP = "200-class-head"


class DatasetError(RuntimeError):
    """A data set is missing or not laid out as expected; the message gives the expected layout."""


@dataclass(frozen=True)
class DatasetSpec:
    """One evaluation set: where it lives under ``--data-root`` and what it must contain."""

    name: str
    subdir: str  # folder under the data root ("" for shipped sets)
    layout: str  # human-readable expected layout, quoted in errors
    kind: str  # how files are listed: wnid-folders | index-folders | objectnet | recursive | shipped
    expected_counts: tuple[int, ...]  # accepted image counts (several for known variants)
    label_space: str
    num_folders: int | None = None  # class folders expected (wnid/index layouts)
    class_subset: str | None = None  # "imagenet-r" / "imagenet-a": the 200-class protocol applies
    border_px: int = 0  # pixels cropped from every side before the model's preprocessing
    shipped_prefix: str | None = None  # fetch-name prefix of a shipped set
    source: str = ""

    @property
    def shipped(self) -> bool:
        """True for sets materialized through :func:`cliprobust.fetch.fetch` (no data root)."""
        return self.shipped_prefix is not None

    @property
    def ood(self) -> bool:
        """True for out-of-distribution sets (no ImageNet label)."""
        return self.label_space == NONE


def _spec(**kw: object) -> DatasetSpec:
    return DatasetSpec(**kw)  # type: ignore[arg-type]


_SPECS: tuple[DatasetSpec, ...] = (
    _spec(name="imagenet", subdir="imagenet/val", kind="wnid-folders", expected_counts=(50_000,),
          label_space=IMAGENET_1K, num_folders=1000,
          layout="<data-root>/imagenet/val/<wnid>/*.JPEG (1,000 wnid folders, 50,000 images)",
          source="ILSVRC-2012 validation set, val images sorted into wnid folders"),
    _spec(name="imagenet-v2", subdir="imagenetv2-matched-frequency-format-val", kind="index-folders",
          expected_counts=(10_000,), label_space=IMAGENET_1K, num_folders=1000,
          layout="<data-root>/imagenetv2-matched-frequency-format-val/<0..999>/*.jpeg "
                 "(1,000 folders named by class index, 10,000 images)",
          source="ImageNetV2 matched-frequency tarball (Recht et al. 2019)"),
    _spec(name="imagenet-r", subdir="imagenet-r", kind="wnid-folders", expected_counts=(30_000,),
          label_space=IMAGENET_1K, num_folders=200, class_subset="imagenet-r",
          layout="<data-root>/imagenet-r/<wnid>/*.jpg (200 wnid folders, 30,000 images)",
          source="hendrycks/imagenet-r tarball"),
    _spec(name="imagenet-a", subdir="imagenet-a", kind="wnid-folders", expected_counts=(7_500,),
          label_space=IMAGENET_1K, num_folders=200, class_subset="imagenet-a",
          layout="<data-root>/imagenet-a/<wnid>/*.jpg (200 wnid folders, 7,500 images)",
          source="hendrycks/natural-adv-examples tarball"),
    _spec(name="imagenet-sketch", subdir="imagenet-sketch/sketch", kind="wnid-folders",
          expected_counts=(50_889,), label_space=IMAGENET_1K, num_folders=1000,
          layout="<data-root>/imagenet-sketch/sketch/<wnid>/*.JPEG (1,000 wnid folders, 50,889 images)",
          source="ImageNet-Sketch (Wang et al. 2019) ImageNet-Sketch.zip"),
    _spec(name="objectnet", subdir="objectnet-1.0/images", kind="objectnet",
          expected_counts=(18_574, 18_514), label_space=OBJECTNET_113, border_px=OBJECTNET_BORDER_PX,
          layout="<data-root>/objectnet-1.0/images/<folder>/*.png (the 313 ObjectNet folders; the "
                 "113 folders overlapping ImageNet are used: 18,574 images, 18,514 in the testbed copy)",
          source="ObjectNet 1.0 (Barbu et al. 2019); class maps from imagenet-testbed"),
    _spec(name="imagenet-o", subdir="imagenet-o", kind="recursive", expected_counts=(2_000,),
          label_space=NONE,
          layout="<data-root>/imagenet-o/<wnid>/*.jpg (200 non-ImageNet-1k wnid folders, 2,000 images)",
          source="hendrycks/natural-adv-examples imagenet-o tarball"),
    _spec(name="inaturalist", subdir="iNaturalist/images", kind="recursive", expected_counts=(10_000,),
          label_space=NONE, layout="<data-root>/iNaturalist/images/*.jpg (10,000 images; MOS/MCM subset)",
          source="MOS (Huang & Li 2021) OOD subset of iNaturalist"),
    _spec(name="sun", subdir="SUN/images", kind="recursive", expected_counts=(10_000,), label_space=NONE,
          layout="<data-root>/SUN/images/*.jpg (10,000 images; MOS/MCM subset)",
          source="MOS (Huang & Li 2021) OOD subset of SUN"),
    _spec(name="places", subdir="Places/images", kind="recursive", expected_counts=(10_000,),
          label_space=NONE, layout="<data-root>/Places/images/*.jpg (10,000 images; MOS/MCM subset)",
          source="MOS (Huang & Li 2021) OOD subset of Places365"),
    _spec(name="textures", subdir="dtd/images", kind="recursive", expected_counts=(5_640,),
          label_space=NONE, layout="<data-root>/dtd/images/<category>/*.jpg (47 folders, 5,640 images)",
          source="Describable Textures Dataset (Cimpoi et al. 2014)"),
    _spec(name="cue-conflict", subdir="", kind="shipped", expected_counts=(1_280,),
          label_space=CUE_CONFLICT_16, shipped_prefix="stimuli/cue-conflict/",
          layout="shipped: fetch names stimuli/cue-conflict/<category>/<shape><i>-<texture><j>.png",
          source="rgeirhos/texture-vs-shape style-transfer stimuli (CC-BY-4.0)"),
    _spec(name="imagenet-sample", subdir="", kind="shipped", expected_counts=(100,),
          label_space=IMAGENET_1K, shipped_prefix="images/imagenet-sample/",
          layout="shipped: fetch names images/imagenet-sample/<wnid>_<name>.JPEG",
          source="EliSchwartz/imagenet-sample-images, every 10th class (ImageNet terms of access)"),
)


def _registry(specs: tuple[DatasetSpec, ...]) -> dict[str, DatasetSpec]:
    out: dict[str, DatasetSpec] = {}
    for s in specs:
        if s.name in out:
            raise ValueError(f"duplicate data set name {s.name!r}")
        out[s.name] = s
    return out


#: All evaluation sets by canonical name.
DATASETS: dict[str, DatasetSpec] = _registry(_SPECS)


def get(name: str) -> DatasetSpec:
    """The spec of data set ``name``; unknown names list the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def names() -> list[str]:
    """Canonical names of all registered sets."""
    return list(DATASETS)


# --------------------------------------------------------------------------- label spaces


@lru_cache(maxsize=1)
def _wnid_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(label_maps.imagenet_wnids())}


def subset_wnids(subset: str) -> list[str]:
    """The 200 wnids of ``"imagenet-r"`` or ``"imagenet-a"`` in 1k-index order."""
    if subset == "imagenet-r":
        return label_maps.imagenet_r_wnids()
    if subset == "imagenet-a":
        return label_maps.imagenet_a_wnids()
    raise KeyError(f"unknown class subset {subset!r}: expected 'imagenet-r' or 'imagenet-a'")


def subset_indices(subset: str) -> np.ndarray:
    """ImageNet-1k indices of a 200-class subset, ascending (= the R/A ImageFolder class order)."""
    return np.asarray(label_maps.wnid_indices(subset_wnids(subset)), dtype=np.int64)


def restrict_to_subset(logits: np.ndarray, labels: np.ndarray, subset: str) -> tuple[np.ndarray, np.ndarray]:
    """Keep the subset's columns of 1000-way ``logits``; map 1k-index labels to 0..199.

    :data:`SUBSET_PROTOCOL_SUPERVISED` (and, equivalently, :data:`SUBSET_PROTOCOL_CLIP`). Labels
    outside the subset raise, since they would silently count as errors.
    """
    idx = subset_indices(subset)
    position = np.full(1000, -1, dtype=np.int64)
    position[idx] = np.arange(len(idx))
    new_labels = position[np.asarray(labels, dtype=np.int64)]
    if (new_labels < 0).any():
        raise ValueError(f"{int((new_labels < 0).sum())} labels are not among the {subset} classes")
    return np.asarray(logits)[:, idx], new_labels


@lru_cache(maxsize=1)
def objectnet_classes() -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The 113 ObjectNet classes as (folder, ImageNet indices), sorted by folder (= label order).

    imagenet-testbed ``objectnet.py``: ``objectnet_idx`` enumerates ``sorted(folder_map)``.
    """
    mapping = label_maps.objectnet_folder_to_imagenet()
    return tuple((f, tuple(mapping[f])) for f in sorted(mapping))


def objectnet_logits(logits: np.ndarray) -> np.ndarray:
    """Collapse 1000-way logits to the 113 ObjectNet classes: max over each class's ImageNet indices.

    imagenet-testbed ``accuracy_topk_subselected_and_collapsed`` (:data:`OBJECTNET_PROTOCOL`).
    """
    logits = np.asarray(logits)
    return np.stack([logits[:, list(ids)].max(axis=1) for _, ids in objectnet_classes()], axis=1)


@lru_cache(maxsize=1)
def cue_conflict_categories() -> tuple[str, ...]:
    """The 16 model-vs-human categories in alphabetical order (label order of ``cue-conflict``)."""
    return tuple(sorted(label_maps.mvh_16_categories()))


def cue_conflict_texture(file_id: str) -> str:
    """Texture category of a stimulus: ``.../airplane1-bicycle2.png`` -> ``"bicycle"``."""
    stem = Path(file_id).stem
    return stem.split("-", 1)[1].rstrip("0123456789")


# --------------------------------------------------------------------------- file lists


@dataclass(frozen=True)
class FileList:
    """The exact files of one data set: ids, on-disk paths, labels and a content fingerprint."""

    dataset: str
    file_ids: tuple[str, ...]  # path relative to the set's folder, or fetch name for shipped sets
    paths: tuple[Path, ...]
    labels: np.ndarray  # int64, label space of the spec (NO_LABEL for OOD)
    fingerprint: str  # sha256 over (file id, size) -- or (fetch name, sha256) when shipped

    def __len__(self) -> int:
        return len(self.file_ids)

    @property
    def spec(self) -> DatasetSpec:
        """The registry entry of this set."""
        return get(self.dataset)


def list_fingerprint(rows: Iterable[tuple[str, str]]) -> str:
    """sha256 of a file list given as (name, size or checksum) rows: the ``files_sha`` of a cache key
    (``cliprobust simulate`` fingerprints its synthetic lists with it too)."""
    digest = hashlib.sha256()
    for a, b in rows:
        digest.update(f"{a}\t{b}\n".encode())
    return digest.hexdigest()


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _walk_images(folder: Path) -> list[str]:
    """Relative posix paths of all image files under ``folder``, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(folder)
        out.extend((rel / f).as_posix() for f in filenames if _is_image(f))
    return sorted(out)


def _layout_error(spec: DatasetSpec, root: Path, problem: str) -> DatasetError:
    return DatasetError(
        f"data set {spec.name!r} under {root}: {problem}. Expected layout: {spec.layout}. "
        f"Fix the folder or pass the right --data-root (source: {spec.source})."
    )


def _folder_label(spec: DatasetSpec, folder: str) -> int:
    if spec.kind == "index-folders":
        return int(folder) if folder.isdigit() and 0 <= int(folder) < 1000 else NO_LABEL - 1
    if spec.kind == "wnid-folders":
        return _wnid_index().get(folder, NO_LABEL - 1)
    if spec.kind == "objectnet":
        folders = [f for f, _ in objectnet_classes()]
        return folders.index(folder) if folder in folders else NO_LABEL
    return NO_LABEL


def _check_folders(spec: DatasetSpec, base: Path, folders: set[str], check_count: bool) -> None:
    """Class folders must be known labels of the set (and, with ``check_count``, all present)."""
    if spec.kind not in ("wnid-folders", "index-folders"):
        return
    bad = sorted(f for f in folders if _folder_label(spec, f) < NO_LABEL)
    if bad:
        raise _layout_error(spec, base, f"folders {bad[:5]} are not class folders")
    if spec.class_subset is not None:
        extra = folders - set(subset_wnids(spec.class_subset))
        if extra:
            raise _layout_error(spec, base, f"folders {sorted(extra)[:5]} are not {spec.class_subset} classes")
    if check_count and spec.num_folders is not None and len(folders) != spec.num_folders:
        raise _layout_error(spec, base, f"{len(folders)} class folders, expected {spec.num_folders} (pass "
                                        f"check_count=False / --allow-partial to evaluate an incomplete copy)")


def _local_files(spec: DatasetSpec, root: Path, check_count: bool) -> FileList:
    base = root / spec.subdir
    if not base.is_dir():
        raise _layout_error(spec, root, f"folder {base} does not exist")
    rel = _walk_images(base)
    if spec.kind != "recursive":
        if any("/" not in r for r in rel):
            raise _layout_error(spec, base, "images found directly in the set folder, not in class folders")
        folders = {r.split("/", 1)[0] for r in rel}
        _check_folders(spec, base, folders, check_count)
        labels = {f: _folder_label(spec, f) for f in folders}
        if spec.kind == "objectnet":  # keep only the 113 classes overlapping ImageNet
            rel = [r for r in rel if labels[r.split("/", 1)[0]] >= 0]
        label_arr = np.asarray([labels[r.split("/", 1)[0]] for r in rel], dtype=np.int64)
    else:
        label_arr = np.full(len(rel), NO_LABEL, dtype=np.int64)
    _check_count(spec, base, len(rel), check_count)
    file_paths = tuple(base / r for r in rel)
    fp = list_fingerprint([(r, str(p.stat().st_size)) for r, p in zip(rel, file_paths)])
    return FileList(spec.name, tuple(rel), file_paths, label_arr, fp)


def _check_count(spec: DatasetSpec, base: Path, n: int, check_count: bool) -> None:
    if n == 0:
        raise _layout_error(spec, base, "no image files found")
    if check_count and n not in spec.expected_counts:
        raise _layout_error(
            spec, base, f"found {n:,} images, expected {' or '.join(f'{c:,}' for c in spec.expected_counts)} "
                        f"(pass check_count=False / --allow-partial to evaluate an incomplete copy)")


def _shipped_label(spec: DatasetSpec, name: str) -> int:
    rel = name[len(spec.shipped_prefix or ""):]
    if spec.label_space == CUE_CONFLICT_16:
        return cue_conflict_categories().index(rel.split("/", 1)[0])
    return _wnid_index()[rel[:9]]


@lru_cache(maxsize=None)
def _shipped_rows(spec: DatasetSpec) -> tuple[tuple[str, ...], tuple[int, ...], str]:
    """(fetch names, labels, fingerprint) of a shipped set, from the artifact table alone."""
    arts = fetch.select(spec.shipped_prefix or "")
    _check_count(spec, Path(spec.shipped_prefix or ""), len(arts), True)
    names_ = tuple(a.name for a in arts)
    labels = tuple(_shipped_label(spec, n) for n in names_)
    return names_, labels, list_fingerprint([(a.name, a.sha256) for a in arts])


def _shipped_files(spec: DatasetSpec) -> FileList:
    names_, labels, fp = _shipped_rows(spec)
    root = paths.data_dir()  # where fetch puts them (env-dependent, so not memoized)
    file_paths = tuple(root / n for n in names_)
    return FileList(spec.name, names_, file_paths, np.asarray(labels, dtype=np.int64), fp)


def resolve(name: str, data_root: str | Path | None = None, *, check_count: bool = True) -> FileList:
    """The file list of data set ``name`` (shipped sets ignore ``data_root``; nothing is fetched).

    Raises :class:`DatasetError` naming the expected layout when the set is missing or mis-laid-out.
    """
    spec = get(name)
    if spec.shipped:
        return _shipped_files(spec)
    if data_root is None:
        raise DatasetError(f"data set {name!r} is not shipped: pass --data-root DIR (data_root=) with "
                           f"the layout {spec.layout}")
    return _local_files(spec, Path(data_root).expanduser().resolve(), check_count)


def fingerprint(name: str, data_root: str | Path | None = None) -> str:
    """The file-list fingerprint of a set (shipped sets: from the artifact table, no file access)."""
    spec = get(name)
    if spec.shipped:
        return _shipped_rows(spec)[2]
    return resolve(name, data_root, check_count=False).fingerprint


def materialize(files: FileList, progress: bool = False) -> FileList:
    """Make every file of a shipped set exist locally (verified fetch); local sets pass through."""
    if not files.spec.shipped:
        return files
    got = fetch.fetch_many(files.file_ids, progress=progress)
    return FileList(files.dataset, files.file_ids, tuple(got), files.labels, files.fingerprint)
