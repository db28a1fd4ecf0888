"""Opt-in decode-once cache (``--decode-cache``): uint8 images after a model's geometric transform.

Models with the same preprocessing up to ``Normalize`` (:func:`images.split_transform`) see the
same uint8 tensors, so JPEG decoding and resizing are paid once per (files, transform) and later
models read a ``.npy`` memmap. The file is named by the data set's file fingerprint and the sha256
of the geometric transform's repr and the border crop; it is written to a temp file and renamed
(atomic), under a file lock. Failures are stored beside it, so they are recorded as in a plain run.
Entry keys are untouched: the numbers are those of the plain path (tests/test_images.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock
from torch.utils.data import Dataset

from .. import paths
from ..datasets import FileList
from . import images


def decoded_path(files: FileList, split: images.SplitTransform) -> Path:
    """``<cache dir>/decoded/<dataset>/<files sha>-<transform sha>.npy``."""
    tsha = hashlib.sha256(f"{split.geometric!r}|border={files.spec.border_px}".encode()).hexdigest()
    return paths.cache_dir() / "decoded" / files.dataset / f"{files.fingerprint[:16]}-{tsha[:16]}.npy"


def _decode_all(files: FileList, split: images.SplitTransform, tmp: Path, workers: int,
                batch_size: int) -> list[tuple[int, str]]:
    """Decode every file into a uint8 memmap at ``tmp``; returns the failures."""
    data = images.ImageFiles(files.paths, split.geometric, files.spec.border_px)
    batches = [list(range(b, min(b + batch_size, len(files)))) for b in range(0, len(files), batch_size)]
    out, failed = None, []
    for batch in images.loader(data, batches, workers):
        failed += batch.failed
        if batch.images is None:
            continue
        if out is None:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(files), *batch.images.shape[1:]))
        out[batch.index.numpy()] = batch.images.numpy()
    if out is None:  # nothing decoded at all
        np.save(tmp, np.zeros((len(files), 0), dtype=np.uint8))
    else:
        out.flush()
        del out
    return failed


def ensure_decoded(files: FileList, split: images.SplitTransform, workers: int = 0, batch_size: int = 64) -> Path:
    """The decoded array of ``files`` under ``split`` (built once, under a lock, atomically)."""
    path = decoded_path(files, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            return path
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.npy")
        failed = _decode_all(files, split, tmp, workers, batch_size)
        path.with_suffix(".failed.json").write_text(json.dumps(failed))
        os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class DecodedFiles(Dataset):
    """Same items as :class:`images.ImageFiles` over ``split.geometric``, read from the decode cache."""

    path: Path

    def __post_init__(self) -> None:
        failed = json.loads(self.path.with_suffix(".failed.json").read_text())
        object.__setattr__(self, "_failed", {int(i): e for i, e in failed})
        object.__setattr__(self, "_array", None)  # opened lazily, in each loader process

    def __len__(self) -> int:
        return len(np.load(self.path, mmap_mode="r"))

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None]:
        if i in self._failed:
            return i, None, self._failed[i]
        if self._array is None:
            object.__setattr__(self, "_array", np.load(self.path, mmap_mode="r"))
        return i, torch.from_numpy(np.array(self._array[i])), None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_failed": self._failed, "_array": None}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
