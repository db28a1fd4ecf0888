"""Speed paths give the same numbers as the plain ones: truncated, length-sorted text encoding vs
open_clip's ``build_zero_shot_classifier`` (every text-tower kind the zoo uses, plus the fallback)."""

from __future__ import annotations

import json

import numpy as np
import open_clip
import pytest
import torch
from _tiny import TINY_CLIP

from cliprobust import prompts
from cliprobust.inference import heads, load_model
from cliprobust.model_entries import TINY_CONFIG
from cliprobust.inference.models import encode_text_sorted, encode_text_truncated, truncatable

#: Agreement required of the fast text path (float32 on CPU; the issue's bound).
TEXT_ATOL = 1e-5
#: A class name long enough to overflow a 16-token context (the tokenizer then puts EOT last).
LONG_NAME = "very " * 20 + "long class name"


def _stock_head(model, arch, names, templates):
    with torch.no_grad():
        return open_clip.build_zero_shot_classifier(model, open_clip.get_tokenizer(arch), names, templates,
                                                    num_classes_per_batch=None)


def test_tiny_head_equals_open_clip_with_all_80_templates_and_an_overlong_name():
    loaded = load_model(TINY_CLIP, seed=1)
    assert truncatable(loaded.model)
    names = list(prompts.imagenet_classnames()[:5]) + [LONG_NAME]
    templates = list(prompts.get("openai-80").templates)
    ours = heads.build_classifier(loaded.encode_text, names, templates)
    torch.testing.assert_close(ours, _stock_head(loaded.model, "cliprobust-tiny", names, templates),
                               rtol=0, atol=TEXT_ATOL)


def test_sorted_sub_batches_return_rows_in_input_order():
    loaded = load_model(TINY_CLIP, seed=2)
    texts = ["a", "a photo of a very small dog.", "b c", LONG_NAME, "x y z w", "a bad photo of the goldfish."]
    tokens = loaded.tokenizer(texts)
    with torch.no_grad():
        got = encode_text_sorted(loaded.model, tokens, loaded.device, batch=2)
        for i in range(len(texts)):  # each row alone, full context, stock encoder
            torch.testing.assert_close(got[i], loaded.model.encode_text(tokens[i:i + 1])[0], rtol=0, atol=TEXT_ATOL)


def test_vit_b_32_random_init_head_equals_open_clip():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    loaded = load_model("open_clip:ViT-B-32/none", seed=0)
    names = list(prompts.imagenet_classnames()[:4])
    templates = list(prompts.get("simple-7").templates)
    ours = heads.build_classifier(loaded.encode_text, names, templates)
    assert ours.shape == (512, 4)
    torch.testing.assert_close(ours, _stock_head(loaded.model, "ViT-B-32", names, templates), rtol=0, atol=TEXT_ATOL)


@pytest.fixture(scope="module")
def noncausal(tmp_path_factory):
    """A tiny tower without causal mask, pooling the last position: padding matters there."""
    cfg = json.loads(json.dumps(TINY_CONFIG))
    cfg["text_cfg"].update(no_causal_mask=True, pool_type="last")
    path = tmp_path_factory.mktemp("cfg") / "cliprobust-tiny-noncausal.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    torch.manual_seed(0)
    return open_clip.create_model("cliprobust-tiny-noncausal").eval()


def _repad(tokens: torch.Tensor) -> torch.Tensor:
    """The same prompts with the padding after end-of-text replaced by another token."""
    out = tokens.clone()
    out[out == 0] = 1000
    return out


def test_padding_is_invisible_to_the_causal_tower_only(noncausal):
    causal = load_model(TINY_CLIP, seed=3).model
    tokens = open_clip.get_tokenizer("cliprobust-tiny")(["a photo of a dog.", "cat"])
    with torch.no_grad():
        torch.testing.assert_close(causal.encode_text(_repad(tokens)), causal.encode_text(tokens), rtol=0, atol=1e-6)
        assert (noncausal.encode_text(_repad(tokens)) - noncausal.encode_text(tokens)).abs().max() > 1e-3


def test_non_causal_tower_falls_back_to_full_context(noncausal):
    assert not truncatable(noncausal)
    tokens = open_clip.get_tokenizer("cliprobust-tiny-noncausal")(["a photo of a dog.", "cat"])
    with torch.no_grad():
        full = noncausal.encode_text(tokens)
        torch.testing.assert_close(encode_text_sorted(noncausal, tokens, torch.device("cpu")), full, rtol=0, atol=0)
        torch.testing.assert_close(encode_text_truncated(noncausal, tokens), full, rtol=0, atol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_is_channels_last_amp_and_agrees_with_cpu():
    from cliprobust.inference import runner

    cpu, gpu = load_model(TINY_CLIP, "cpu", seed=4), load_model(TINY_CLIP, "cuda", seed=4)
    conv = gpu.model.visual.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    x = torch.rand(6, 3, 64, 64).pin_memory()
    head = torch.nn.functional.normalize(torch.randn(32, 10), dim=0).numpy()
    f_cpu, s_cpu = runner.encode_batch(cpu, x, head, "fp32")
    f_gpu, s_gpu = runner.encode_batch(gpu, x, head, "amp")
    np.testing.assert_allclose(s_gpu.astype(np.float32), s_cpu.astype(np.float32), rtol=0, atol=0.05)  # bf16
    np.testing.assert_allclose(f_gpu.astype(np.float32), f_cpu.astype(np.float32), rtol=0.05, atol=0.05)
