"""Normalization on the device: the split transform must give exactly what the model's own transform gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _tiny import CUE_PREFIX, TINY_CLIP, TINY_RESNET, TINY_VIT, fast_config, sample_files
from torchvision import transforms as T

from cliprobust import cache, paths
from cliprobust.inference import images, load_model, run_one

SMOKE_MODELS = [TINY_VIT, TINY_RESNET, TINY_CLIP, "open_clip:ViT-B-32/none"]


@pytest.fixture(scope="module")
def shipped_images(mirror):
    """All 100 shipped ImageNet JPEGs plus 20 cue-conflict PNGs, decoded as the runner decodes them."""
    return [images.read_rgb(p) for p in sample_files(100) + sample_files(20, CUE_PREFIX)]


@pytest.mark.parametrize("model", SMOKE_MODELS)
def test_split_then_normalize_equals_the_models_transform(model, shipped_images):
    preprocess = load_model(model).preprocess
    split = images.split_transform(preprocess)
    assert split is not None, f"{model}: {preprocess!r} was not split"
    full = torch.stack([preprocess(im) for im in shipped_images])
    raw = torch.stack([split.geometric(im) for im in shipped_images])
    assert raw.dtype == torch.uint8 and raw.shape == full.shape
    ours = split.normalize(raw)
    assert ours.dtype == full.dtype
    diff = (ours - full).abs().max().item()
    assert diff <= 1e-6
    assert torch.equal(ours, full)  # same float32 ops in the same order: bit-identical


@pytest.mark.parametrize("transform", [
    T.Compose([T.Resize(8), T.ToTensor()]),  # no Normalize
    T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3), T.CenterCrop(4)]),  # Normalize not last
    T.Compose([T.ToTensor(), T.Resize(8), T.Normalize([0.5] * 3, [0.5] * 3)]),  # tensor op after ToTensor
    T.Compose([T.PILToTensor(), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)]),  # tensor before ToTensor
    T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.0, 1.0, 1.0])]),  # zero std
    lambda im: T.functional.to_tensor(im),  # not a Compose
])
def test_unsplittable_transforms_fall_back_to_the_full_transform(transform):
    assert images.split_transform(transform) is None


def test_runner_outputs_identical_with_and_without_device_normalization(mirror, tmp_cache, monkeypatch):
    outs = {}
    for on_device in (True, False):
        monkeypatch.setattr(images, "NORMALIZE_ON_DEVICE", on_device)
        monkeypatch.setenv(paths.CACHE_ENV, str(tmp_cache / f"out-{on_device}"))
        outs[on_device] = cache.read_entry(run_one(fast_config(TINY_VIT)))
    assert outs[True].meta["key_sha"] == outs[False].meta["key_sha"]  # the cache key is unchanged
    np.testing.assert_array_equal(np.asarray(outs[True].scores), np.asarray(outs[False].scores))
    np.testing.assert_array_equal(np.asarray(outs[True].features), np.asarray(outs[False].features))


@pytest.mark.gpu
def test_cuda_normalization_matches_cpu(shipped_images):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    split = images.split_transform(load_model(TINY_CLIP).preprocess)
    raw = torch.stack([split.geometric(im) for im in shipped_images])
    assert torch.equal(split.normalize(raw.cuda()).cpu(), split.normalize(raw))
