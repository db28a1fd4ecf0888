"""Image loading that survives unreadable files: a failed decode becomes a record, not a crash.

Each item is ``(position, tensor | None, error | None)``; :func:`collate` stacks the good ones and
passes the failures on, so the runner can write them into the cache sidecar and keep going.
PIL's default refusal of truncated files is kept (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays
False): a truncated PNG/JPEG is an error, not silently grey pixels.

:func:`split_transform` splits a model's ``Compose(..., ToTensor, Normalize)`` into a uint8 part
(decode, resize, crop: run in the loader workers) and the ``/255, -mean, /std`` part (run on the
inference device by :meth:`SplitTransform.normalize`), with the same float32 operations in the same
order as torchvision, so the result is bit-identical; the batches cross processes and PCIe as uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

#: Normalize on the inference device (uint8 batches from the workers) whenever the model's transform
#: can be split (:func:`split_transform`). Bit-identical to the full transform (tests/test_images.py),
#: so it is used on every device; a transform that cannot be split runs whole in the workers.
NORMALIZE_ON_DEVICE = True


def read_rgb(path: Path, border_px: int = 0) -> Image.Image:
    """Decode ``path`` fully as RGB, cropping ``border_px`` from every side (ObjectNet: 2)."""
    with Image.open(path) as im:
        im = im.convert("RGB")  # forces the full decode: truncated/corrupt files raise here
    return ImageOps.crop(im, border=border_px) if border_px else im


@dataclass(frozen=True)
class SplitTransform:
    """``transform(img) == normalize(geometric(img)[None])[0]``: ``geometric`` gives uint8 (3, H, W)."""

    geometric: Callable[[Image.Image], torch.Tensor]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 (n, 3, H, W) -> ``(x/255 - mean)/std`` in float32, as ``ToTensor`` then ``Normalize``."""
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=x.device).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=torch.float32, device=x.device).view(-1, 1, 1)
        return x.to(torch.float32).div_(255).sub_(mean).div_(std)


def _as_floats(v: Any) -> tuple[float, ...]:
    return tuple(float(a) for a in torch.as_tensor(v, dtype=torch.float32).reshape(-1).tolist())


def split_transform(transform: Callable[[Image.Image], torch.Tensor]) -> SplitTransform | None:
    """The uint8/normalize split of a torchvision ``Compose(pil_ops..., ToTensor, Normalize)`` (open_clip
    and timm eval transforms; their ``MaybeToTensor`` subclasses ``ToTensor``); None for any other shape
    (then the full transform runs in the workers). The PIL ops before ``ToTensor`` are kept as they are."""
    steps = list(getattr(transform, "transforms", [])) if isinstance(transform, T.Compose) else []
    if len(steps) < 2 or type(steps[-1]) is not T.Normalize or not isinstance(steps[-2], T.ToTensor):
        return None
    norm = steps[-1]
    if any(isinstance(t, (T.ToTensor, T.Normalize, T.PILToTensor, T.ConvertImageDtype)) for t in steps[:-2]):
        return None  # something already works on tensors: not a pure PIL prefix
    mean, std = _as_floats(norm.mean), _as_floats(norm.std)
    if len(mean) != len(std) or len(mean) not in (1, 3) or 0.0 in std:
        return None
    return SplitTransform(T.Compose([*steps[:-2], T.PILToTensor()]), mean, std)


def device_split(transform: Callable[[Image.Image], torch.Tensor]) -> SplitTransform | None:
    """:func:`split_transform` when :data:`NORMALIZE_ON_DEVICE`, else None."""
    return split_transform(transform) if NORMALIZE_ON_DEVICE else None


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
