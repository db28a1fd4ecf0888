"""cliprobust.inference: loader adapters, outputs vs independent computations, warm re-runs,
interrupted runs (injected failure and SIGKILL) and unreadable images."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import open_clip
import pytest
import timm
import torch
from _tiny import (CUE_PREFIX, TINY_CLIP, TINY_RESNET, TINY_VIT, corrupt_jpeg, fast_config, imagenet_r_tree,
                   sample_files, small_config, small_tree, truncate)
from PIL import Image, UnidentifiedImageError
from timm.data import create_transform, resolve_data_config

from cliprobust import cache, datasets, fetch, outputs, prompts
from cliprobust.inference import EvaluationErrors, RunConfig, UnreadableImagesError, evaluate, load_model, run_one, runner
from cliprobust.inference import heads
from cliprobust.inference.heads import text_head
from cliprobust.keys import head_classnames
from cliprobust.model_entries import parse_model_id, preprocess_config

pytestmark = pytest.mark.usefixtures("mirror", "tmp_cache")  # never write to the repo's data/


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


class Counter:
    """Wraps runner.encode_batch; counts forward passes; optionally fails on call ``fail_at``."""

    def __init__(self, fail_at: int | None = None):
        self.calls, self.fail_at, self.real = 0, fail_at, runner.encode_batch

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise RuntimeError("injected failure")
        return self.real(*args, **kwargs)


@pytest.fixture
def count(monkeypatch):
    def install(fail_at: int | None = None) -> Counter:
        c = Counter(fail_at)
        monkeypatch.setattr(runner, "encode_batch", c)
        return c
    return install


# --------------------------------------------------------------------------- models


def test_tiny_open_clip_config_is_registered():
    assert "cliprobust-tiny" in open_clip.list_models()
    model = open_clip.create_model("cliprobust-tiny")
    assert model.text_projection.shape[1] == 32 and model.visual.image_size == (64, 64)


def test_model_ids_parse_to_entries():
    e = parse_model_id("open_clip:ViT-B-32/laion2b_s34b_b79k")
    assert (e.source, e.arch, e.pretrained) == ("open_clip", "ViT-B-32", "laion2b_s34b_b79k")
    assert parse_model_id(TINY_CLIP).pretrained is None
    assert parse_model_id(TINY_VIT).pretrained is None and parse_model_id(TINY_VIT).arch == "test_vit.r160_in1k"
    assert parse_model_id("timm:resnet50.a1_in1k").pretrained == "a1_in1k"
    with pytest.raises(ValueError, match="cannot parse"):
        parse_model_id("torchvision:resnet50")


@pytest.mark.parametrize("model_id", [TINY_VIT, TINY_RESNET])
def test_timm_adapter_matches_plain_timm(model_id):
    loaded = load_model(model_id, seed=3)
    torch.manual_seed(3)
    ref = timm.create_model(model_id.split(":")[1].removesuffix("/none"), pretrained=False).eval()
    ref_tf = create_transform(**resolve_data_config({}, model=ref))
    img = _rgb(sample_files(1)[0])
    x = loaded.preprocess(img)[None]
    torch.testing.assert_close(x, ref_tf(img)[None])
    assert x.shape == (1, 3, 160, 160)
    feats, logits = loaded.encode_images(x)
    with torch.no_grad():
        torch.testing.assert_close(logits, ref(x))
    assert logits.shape == (1, 1000) and feats.ndim == 2
    assert loaded.logit_scale() == (None, None)


def test_preprocess_config_is_resolved_without_the_model():
    entry = parse_model_id("timm:resnet50.a1_in1k")
    model = timm.create_model("resnet50.a1_in1k", pretrained=False)
    want = resolve_data_config({}, model=model)
    got = preprocess_config(entry)
    assert got["crop_pct"] == want["crop_pct"] and tuple(got["input_size"]) == want["input_size"]
    assert got["interpolation"] == want["interpolation"] and tuple(got["mean"]) == want["mean"]
    clip = preprocess_config(parse_model_id("open_clip:ViT-B-32/openai"))
    tag = open_clip.get_pretrained_cfg("ViT-B-32", "openai")
    assert tuple(clip["mean"]) == tag["mean"] and clip["size"] == [224, 224]


def test_clip_adapter_features_and_logit_scale():
    loaded = load_model(TINY_CLIP)
    x = loaded.preprocess(_rgb(sample_files(1)[0]))[None]
    assert x.shape == (1, 3, 64, 64)
    feats, logits = loaded.encode_images(x)
    assert logits is None
    with torch.no_grad():
        torch.testing.assert_close(feats, loaded.model.encode_image(x))
    scale, bias = loaded.logit_scale()
    assert scale == pytest.approx(1 / 0.07, rel=1e-5) and bias is None  # open_clip init: log(1/0.07)


def test_numpy_cosine_scores_match_torch_normalize():
    """outputs.derive_scores (numpy, used by the forward pass and by readers) vs torch's F.normalize @ W."""
    rng = np.random.default_rng(0)
    feats = rng.normal(scale=3.0, size=(37, 32)).astype(np.float16)
    feats[5] = 0  # F.normalize's eps floor: a zero vector gives zero scores, not NaN
    w = rng.normal(size=(32, 11)).astype(np.float32)
    w /= np.linalg.norm(w, axis=0, keepdims=True)
    ours = outputs.derive_scores(feats, w, block=8)  # several row blocks
    theirs = (torch.nn.functional.normalize(torch.from_numpy(feats).float(), dim=-1) @ torch.from_numpy(w)).half()
    assert ours.dtype == np.float16 and ours.shape == (37, 11)
    np.testing.assert_allclose(ours.astype(np.float32), theirs.float().numpy(), rtol=0, atol=2 ** -10)  # 1 fp16 ulp
    assert not ours[5].any()
    assert outputs.derive_scores(feats[:0], w).shape == (0, 11)


# --------------------------------------------------------------------------- outputs


def test_timm_outputs_match_direct_forward(tmp_cache):
    out = cache.read_entry(run_one(fast_config(TINY_VIT)))
    files = datasets.resolve("imagenet-sample")
    assert out.scores.shape == (100, 1000) and out.scores.dtype == np.float16
    assert out.features.dtype == np.float16 and out.features.shape[0] == 100
    assert out.file_ids == files.file_ids and np.array_equal(out.labels, files.labels)
    torch.manual_seed(0)
    ref = timm.create_model("test_vit.r160_in1k", pretrained=False).eval()
    tf = create_transform(**resolve_data_config({}, model=ref))
    pick = [0, 37, 99]
    x = torch.stack([tf(_rgb(fetch.fetch(files.file_ids[i]))) for i in pick])
    with torch.no_grad():
        want = ref(x).numpy()
    np.testing.assert_allclose(out.logits[pick], want, rtol=2e-3, atol=2e-3)
    assert out.meta["scores_kind"] == "logits" and out.logit_scale is None


def test_clip_outputs_match_open_clip_zero_shot(tmp_cache):
    out = cache.read_entry(run_one(fast_config(TINY_CLIP)))
    assert out.scores.shape == (100, 1000) and out.features.shape == (100, 32)
    torch.manual_seed(0)
    model, _, pre = open_clip.create_model_and_transforms("cliprobust-tiny")
    tok = open_clip.get_tokenizer("cliprobust-tiny")
    head = open_clip.build_zero_shot_classifier(model.eval(), tok, prompts.imagenet_classnames(),
                                                ["a photo of a {}."], num_classes_per_batch=250)
    files = datasets.resolve("imagenet-sample")
    pick = [3, 50, 98]
    x = torch.stack([pre(_rgb(fetch.fetch(files.file_ids[i]))) for i in pick])
    with torch.no_grad():
        f = model.encode_image(x, normalize=True)
        want = (model.logit_scale.exp() * f @ head).numpy()
    np.testing.assert_allclose(out.logits[pick], want, atol=0.03)
    assert out.logit_scale == pytest.approx(1 / 0.07, rel=1e-5)
    np.testing.assert_allclose(out.logits, out.logit_scale * out.scores.astype(np.float32), rtol=1e-6)


def test_clip_200_class_head_equals_subselected_1000_class_head(tmp_cache):
    loaded = load_model(TINY_CLIP)
    full = text_head(loaded, head_classnames(), "photo")
    idx = datasets.subset_indices("imagenet-r")
    sub = heads.build_classifier(loaded.encode_text, list(prompts.classnames_for(idx)),
                                   prompts.get("photo").templates)
    np.testing.assert_allclose(sub.numpy(), full[:, idx], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- warm, resume


def test_warm_rerun_performs_no_forward_pass(tmp_cache, tmp_path, count, monkeypatch):
    config = small_config(TINY_CLIP, small_tree(tmp_path))
    first = count()
    path = run_one(config)
    assert first.calls == 4  # 8 images, chunks of 4 in batches of 2
    again = count()
    monkeypatch.setattr(runner, "load_model", lambda *a, **k: pytest.fail("model loaded on a warm re-run"))
    assert run_one(config) == path
    assert again.calls == 0


def _arrays(path: Path) -> dict[str, np.ndarray]:
    out = cache.read_entry(path, mmap=False)
    return {"scores": out.scores, "features": out.features, "labels": out.labels,
            "files": np.asarray(out.file_ids)}


def _uninterrupted(config: RunConfig, monkeypatch, where: Path) -> dict[str, np.ndarray]:
    monkeypatch.setenv("CLIPROBUST_CACHE_DIR", str(where))
    ref = _arrays(run_one(config))
    monkeypatch.delenv("CLIPROBUST_CACHE_DIR")
    return ref


def test_injected_failure_resumes_to_identical_outputs(tmp_cache, tmp_path, count, monkeypatch):
    config = small_config(TINY_VIT, small_tree(tmp_path / "root"))
    ref = _uninterrupted(config, monkeypatch, tmp_path / "reference")
    failing = count(fail_at=4)
    with pytest.raises(RuntimeError, match="injected"):
        run_one(config)
    assert failing.calls == 4
    entry = next((tmp_cache / "outputs" / "entries").glob("*/imagenet-r/*/key.json")).parent
    assert not cache.is_complete(entry)
    assert sorted(p.name for p in (entry / "chunks").iterdir()) == ["000000.npz"]  # chunk 1 was not saved
    resumed = count()
    path = run_one(config)
    assert resumed.calls == 2  # chunk 0 (2 batches) is not redone
    got = _arrays(path)
    for name in ref:
        np.testing.assert_array_equal(got[name], ref[name])
    assert cache.read_entry(path).meta["timings"]["chunks_resumed"] == 1


_CHILD = """
import time, torch
torch.set_num_threads(1)
from cliprobust.inference import RunConfig, runner
real = runner.encode_batch
def slow(*a, **k):
    time.sleep(0.3)
    return real(*a, **k)
runner.encode_batch = slow
runner.run_one({config!r})
"""


def test_sigkilled_run_resumes_to_identical_outputs(tmp_cache, tmp_path, monkeypatch):
    config = small_config(TINY_RESNET, small_tree(tmp_path / "root"), batch_size=1, chunk_size=2)
    ref = _uninterrupted(config, monkeypatch, tmp_path / "reference")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(config=config)], env=dict(os.environ))
    chunks = tmp_cache / "outputs" / "entries"
    deadline = time.time() + 120
    while not list(chunks.glob("*/*/*/chunks/000001.npz")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    entry = next(chunks.glob("*/imagenet-r/*/key.json")).parent
    assert not cache.is_complete(entry) and 2 <= len(list((entry / "chunks").glob("*.npz"))) < 4
    got = _arrays(run_one(config))
    for name in ref:
        np.testing.assert_array_equal(got[name], ref[name])


# --------------------------------------------------------------------------- unreadable images


def _broken_tree(root: Path) -> tuple[Path, list[str]]:
    """8 images in 4 ImageNet-R class folders; one JPEG corrupted, one PNG truncated."""
    wnids = datasets.subset_wnids("imagenet-r")[:4]
    imagenet_r_tree(root, wnids[:3], per_class=2)
    pngs = sample_files(2, CUE_PREFIX)
    folder = root / "imagenet-r" / wnids[3]
    folder.mkdir()
    for i, src in enumerate(pngs):
        (folder / f"cue{i}.png").write_bytes(src.read_bytes())
    bad_jpeg = root / "imagenet-r" / wnids[1] / "img002.jpg"
    bad_png = folder / "cue1.png"
    corrupt_jpeg(bad_jpeg)
    truncate(bad_png)
    with pytest.raises(UnidentifiedImageError):  # independent check that they really are unreadable
        _rgb(bad_jpeg)
    with pytest.raises(OSError, match="truncated"):
        _rgb(bad_png)
    return root, [f"{wnids[1]}/img002.jpg", f"{wnids[3]}/cue1.png"]


def test_unreadable_images_are_excluded_and_recorded(tmp_cache, tmp_path):
    root, bad = _broken_tree(tmp_path / "root")
    config = fast_config(TINY_RESNET, dataset="imagenet-r", data_root=str(root), check_count=False,
                         batch_size=2, chunk_size=4)
    with pytest.warns(UserWarning, match="2 unreadable"):
        run_one(config)
    out = outputs.load(TINY_RESNET, "imagenet-r", data_root=root)
    assert len(out) == 6 and out.scores.shape == (6, 1000)
    assert [x["file"] for x in out.meta["excluded"]] == bad
    assert "cannot identify" in out.meta["excluded"][0]["error"] and "truncated" in out.meta["excluded"][1]["error"]
    assert not set(bad) & set(out.file_ids)
    wnids = datasets.subset_wnids("imagenet-r")
    index = {w: i for i, w in enumerate(open(fetch.fetch("published/label-maps/imagenet_wnids.txt")).read().split())}
    assert [index[f.split("/")[0]] for f in out.file_ids] == out.labels.tolist()
    assert set(out.file_ids) | set(bad) == {f"{w}/{n}" for w in wnids[:4] for n in
                                            os.listdir(root / "imagenet-r" / w)}


def test_strict_mode_raises_after_saving_finished_chunks(tmp_cache, tmp_path, count):
    root, bad = _broken_tree(tmp_path / "root")
    config = fast_config(TINY_RESNET, dataset="imagenet-r", data_root=str(root), check_count=False,
                         batch_size=2, chunk_size=4, strict=True)
    with pytest.raises(UnreadableImagesError, match="img002.jpg") as err:
        run_one(config)
    assert "--no-strict" in str(err.value) or "strict" in str(err.value)
    entry = next((tmp_cache / "outputs" / "entries").glob("*/imagenet-r/*/key.json")).parent
    assert not cache.is_complete(entry) and (entry / "chunks" / "000000.npz").is_file()
    resumed = count()
    with pytest.warns(UserWarning, match="2 unreadable"):
        run_one(RunConfig(**{**config.to_dict(), "strict": False}))
    assert resumed.calls == 2  # only the second chunk (2 batches) was left
    assert cache.read_entry(entry).meta["n_excluded"] == 2


@pytest.mark.slow
def test_real_size_vit_b_32_pass_on_a_few_images():
    torch.set_num_threads(2)
    loaded = load_model("open_clip:ViT-B-32/none")
    x = torch.stack([loaded.preprocess(_rgb(p)) for p in sample_files(4)])
    assert x.shape == (4, 3, 224, 224)
    feats, scores = runner.encode_batch(loaded, x, np.eye(512, 3, dtype=np.float32), "fp32")
    assert feats.shape == (4, 512) and feats.dtype == np.float16 and np.isfinite(feats).all()
    unit = feats.astype(np.float32) / np.linalg.norm(feats.astype(np.float32), axis=1, keepdims=True)
    np.testing.assert_allclose(scores.astype(np.float32), unit[:, :3], atol=1e-3)  # cosine vs basis vectors
    names, templates = list(prompts.imagenet_classnames()[:4]), ["a photo of a {}.", "art of the {}."]
    ours = heads.build_classifier(loaded.encode_text, names, templates)
    theirs = open_clip.build_zero_shot_classifier(loaded.model, open_clip.get_tokenizer("ViT-B-32"), names, templates)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_amp_run_agrees_with_cpu(tmp_cache, tmp_path, monkeypatch):
    root = small_tree(tmp_path / "root")
    cpu = _arrays(run_one(small_config(TINY_CLIP, root)))
    monkeypatch.setenv("CLIPROBUST_CACHE_DIR", str(tmp_path / "gpu"))
    gpu = cache.read_entry(run_one(small_config(TINY_CLIP, root, device="cuda", precision="amp")), mmap=False)
    assert gpu.meta["device"].startswith("cuda") and gpu.meta["key"]["precision"] == "amp"
    np.testing.assert_allclose(gpu.scores.astype(np.float32), cpu["scores"].astype(np.float32), atol=0.05)


def test_evaluate_loads_each_model_once_and_walks_each_data_set_once(tmp_cache, tmp_path, monkeypatch):
    root = small_tree(tmp_path / "root")
    sample_root = tmp_path / "v2"
    for cls, src in zip((0, 5), sample_files(2)):
        (sample_root / "imagenetv2-matched-frequency-format-val" / str(cls)).mkdir(parents=True)
        (sample_root / "imagenetv2-matched-frequency-format-val" / str(cls) / "a.jpeg").write_bytes(src.read_bytes())
    loads, walks = [], []
    real_load, real_resolve = runner.load_model, datasets.resolve
    monkeypatch.setattr(runner, "load_model", lambda *a, **k: loads.append(a[0].id) or real_load(*a, **k))
    monkeypatch.setattr(datasets, "resolve", lambda *a, **k: walks.append(a[0]) or real_resolve(*a, **k))
    configs = [small_config(m, root) for m in (TINY_RESNET, TINY_VIT)]
    configs[1:1] = [small_config(TINY_RESNET, sample_root, dataset="imagenet-v2")]
    done = evaluate(configs)
    assert len(done) == 3 and all(cache.is_complete(p) for p in done)
    assert loads == [TINY_RESNET, TINY_VIT] and sorted(walks) == ["imagenet-r", "imagenet-v2"]
    bad = [small_config(TINY_RESNET, tmp_path / "nowhere"), small_config(TINY_VIT, root)]
    with pytest.raises(EvaluationErrors, match="1 evaluation"):  # the failure is reported, the rest ran
        evaluate(bad)
