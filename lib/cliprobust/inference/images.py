"""Image loading that survives unreadable files: a failed decode becomes a record, not a crash.

Each item is ``(position, tensor | None, error | None)``; :func:`collate` stacks the good ones and
passes the failures on, so the runner can write them into the cache sidecar and keep going.
PIL's default refusal of truncated files is kept (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays
False): a truncated PNG/JPEG is an error, not silently grey pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset


def read_rgb(path: Path, border_px: int = 0) -> Image.Image:
    """Decode ``path`` fully as RGB, cropping ``border_px`` from every side (ObjectNet: 2)."""
    with Image.open(path) as im:
        im = im.convert("RGB")  # forces the full decode: truncated/corrupt files raise here
    return ImageOps.crop(im, border=border_px) if border_px else im


@dataclass(frozen=True)
class ImageFiles(Dataset):
    """Map-style data set over file paths: item i -> (i, preprocessed tensor or None, error or None)."""

    paths: Sequence[Path]
    transform: Callable[[Image.Image], torch.Tensor]
    border_px: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            return i, self.transform(read_rgb(self.paths[i], self.border_px)), None
        except Exception as exc:  # noqa: BLE001 -- any decode failure is recorded, none is fatal
            return i, None, f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Batch:
    """Decoded images of one batch plus the positions that failed to decode."""

    index: torch.Tensor  # int64 positions of the decoded images
    images: torch.Tensor | None  # (n, 3, H, W) or None when every image failed
    failed: tuple[tuple[int, str], ...]  # (position, error)


def collate(items: list[tuple[int, torch.Tensor | None, str | None]]) -> Batch:
    """Stack decoded images; keep failures aside."""
    good = [(i, t) for i, t, _ in items if t is not None]
    failed = tuple((i, e) for i, t, e in items if t is None)
    index = torch.tensor([i for i, _ in good], dtype=torch.int64)
    images = torch.stack([t for _, t in good]) if good else None
    return Batch(index, images, failed)


def loader(files: ImageFiles, batches: list[list[int]], workers: int, pin_memory: bool = False) -> DataLoader:
    """A DataLoader yielding :class:`Batch` for the given position batches, in order."""
    kwargs: dict[str, Any] = {"num_workers": workers, "pin_memory": pin_memory}
    if workers > 0:
        kwargs["prefetch_factor"] = 4
    return DataLoader(files, batch_sampler=batches, collate_fn=collate, **kwargs)
