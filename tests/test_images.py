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


def test_decode_cache_decodes_once_for_models_sharing_preprocessing(mirror, tmp_cache, monkeypatch):
    calls = []
    real = images.read_rgb
    monkeypatch.setattr(images, "read_rgb", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_cache / "cached"))
    cached = [cache.read_entry(run_one(fast_config(TINY_VIT, seed=s, decode_cache=True))) for s in (0, 1)]
    n = len(cached[0].file_ids)
    assert n == 100 and len(calls) == n  # the second model (other weights, same preprocessing) decoded nothing
    assert len(list((tmp_cache / "cached" / "decoded").rglob("*.npy"))) == 1
    assert not np.array_equal(np.asarray(cached[0].scores), np.asarray(cached[1].scores))  # two different models
    calls.clear()
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_cache / "plain"))
    for s, got in zip((0, 1), cached):
        plain = cache.read_entry(run_one(fast_config(TINY_VIT, seed=s)))
        assert plain.meta["key_sha"] == got.meta["key_sha"]
        np.testing.assert_array_equal(np.asarray(plain.scores), np.asarray(got.scores))
        np.testing.assert_array_equal(np.asarray(plain.features), np.asarray(got.features))
    assert len(calls) == 2 * n  # the plain path decodes once per model


def test_decode_cache_records_unreadable_images_like_the_plain_path(mirror, tmp_cache, tmp_path, monkeypatch):
    from test_inference import _broken_tree

    root, bad = _broken_tree(tmp_path / "root")
    outs = {}
    for flag in (True, False):
        monkeypatch.setenv(paths.CACHE_ENV, str(tmp_cache / f"out-{flag}"))
        config = fast_config(TINY_RESNET, dataset="imagenet-r", data_root=str(root), check_count=False,
                             batch_size=2, chunk_size=4, workers=2 if flag else 0, decode_cache=flag)
        with pytest.warns(UserWarning, match="2 unreadable"):
            outs[flag] = cache.read_entry(run_one(config))
    assert [x["file"] for x in outs[True].meta["excluded"]] == bad
    assert outs[True].meta["excluded"] == outs[False].meta["excluded"]
    assert list(outs[True].file_ids) == list(outs[False].file_ids)
    np.testing.assert_array_equal(np.asarray(outs[True].scores), np.asarray(outs[False].scores))
