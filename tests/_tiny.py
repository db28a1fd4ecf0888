"""Shared helpers for the inference-engine tests: tiny random-init models, small data trees.

Model ids end in ``/none`` (random init) so they parse without the zoo and never download.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cliprobust import fetch

TINY_CLIP = "open_clip:cliprobust-tiny/none"
TINY_VIT = "timm:test_vit.r160_in1k/none"
TINY_RESNET = "timm:test_resnet.r160_in1k/none"
SAMPLE = "imagenet-sample"
SAMPLE_PREFIX = "images/imagenet-sample/"
CUE_PREFIX = "stimuli/cue-conflict/"


def fast_config(model: str, dataset: str = SAMPLE, **kw):
    """A RunConfig sized for tests: one-template head, small chunks, no workers, no bars."""
    from cliprobust.inference import RunConfig

    params = {"prompt_set": "photo", "batch_size": 16, "chunk_size": 32, "workers": 0, "progress": False,
              "device": "cpu"}
    params.update(kw)
    return RunConfig(model=model, dataset=dataset, **params)


def sample_files(n: int, prefix: str = SAMPLE_PREFIX) -> list[Path]:
    """Local verified copies of the first ``n`` shipped images under ``prefix``."""
    return [fetch.fetch(a.name) for a in fetch.select(prefix)[:n]]


def imagenet_r_tree(root: Path, wnids: list[str], per_class: int = 2) -> Path:
    """A small ``<root>/imagenet-r/<wnid>/*.jpg`` tree made of shipped ImageNet-sample JPEGs."""
    images = sample_files(len(wnids) * per_class)
    for i, src in enumerate(images):
        dest = root / "imagenet-r" / wnids[i // per_class] / f"img{i:03d}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return root


def corrupt_jpeg(path: Path) -> None:
    """Overwrite the JPEG header (SOI/APP markers) with zeros: PIL cannot identify the file."""
    data = bytearray(path.read_bytes())
    data[:64] = bytes(64)
    path.write_bytes(bytes(data))


def truncate(path: Path, fraction: float = 0.5) -> None:
    """Keep only the first ``fraction`` of the file's bytes (a truncated download)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def run_in_child(config, cache_dir: str, data_dir: str) -> str:
    """multiprocessing target: run one config with the given cache folders; returns the entry path."""
    import os

    os.environ["CLIPROBUST_DATA_DIR"] = data_dir
    os.environ["CLIPROBUST_CACHE_DIR"] = cache_dir
    import torch

    torch.set_num_threads(1)
    from cliprobust.inference import run_one

    return str(run_one(config))


def small_tree(root: Path) -> Path:
    """8 shipped JPEGs as a partial ImageNet-R copy (4 classes x 2) under ``root``."""
    from cliprobust import datasets

    return imagenet_r_tree(root, datasets.subset_wnids("imagenet-r")[:4], per_class=2)


def small_config(model: str, root: Path, **kw):
    """:func:`fast_config` on :func:`small_tree`: 8 images, chunks of 4, batches of 2 (4 batches)."""
    params = {"dataset": "imagenet-r", "data_root": str(root), "check_count": False, "batch_size": 2,
              "chunk_size": 4}
    params.update(kw)
    return fast_config(model, **params)
