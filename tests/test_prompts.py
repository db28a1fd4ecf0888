"""cliprobust.prompts: prompt-set registry, class names, ensemble math vs direct and vs open_clip."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from open_clip import zero_shot_metadata as meta

from cliprobust import prompts
from cliprobust.inference import heads, load_model

TINY = "open_clip:cliprobust-tiny/none"


def test_prompt_sets_come_from_open_clip_metadata():
    assert len(prompts.get("openai-80").templates) == 80
    assert len(prompts.get("simple-7").templates) == 7
    assert prompts.get("photo").templates == ("a photo of a {}.",)
    for ours, theirs in ((prompts.get("openai-80"), meta.OPENAI_IMAGENET_TEMPLATES),
                         (prompts.get("simple-7"), meta.SIMPLE_IMAGENET_TEMPLATES)):
        assert ours.texts("goldfish") == [t("goldfish") for t in theirs]
    assert prompts.DEFAULT_PROMPT_SET in prompts.PROMPT_SETS
    with pytest.raises(KeyError, match="known"):
        prompts.get("nope")


def test_template_hash_changes_with_templates_and_order():
    t = prompts.get("simple-7").templates
    assert prompts.sha_of(t) == prompts.get("simple-7").sha
    assert prompts.sha_of(t[::-1]) != prompts.sha_of(t)
    assert prompts.sha_of(t[:-1]) != prompts.sha_of(t)


def test_imagenet_classnames_are_open_clips_and_not_unique():
    names = prompts.imagenet_classnames()
    assert names == tuple(meta.IMAGENET_CLASSNAMES) and len(names) == 1000
    assert len(set(names)) == 998  # 'missile' and 'sunglasses' twice (docs/protocols.md section 5)
    assert prompts.classnames_for([0, 999]) == (names[0], names[999])


def test_ensemble_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(5, 4, 8)).astype(np.float32)  # (classes, templates, dim)
    got = heads.ensemble(torch.from_numpy(emb)).numpy()
    assert got.shape == (8, 5)
    for c in range(5):
        unit = [e / np.linalg.norm(e) for e in emb[c]]
        mean = np.mean(unit, axis=0)
        np.testing.assert_allclose(got[:, c], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=0), 1.0, rtol=1e-5)


@pytest.fixture(scope="module")
def tiny():
    return load_model(TINY)


def test_build_classifier_matches_open_clip(tiny):
    names = list(prompts.imagenet_classnames()[:12])
    templates = list(prompts.get("simple-7").templates)
    ours = heads.build_classifier(tiny.encode_text, names, templates, classes_per_batch=5)
    tokenizer = open_clip.get_tokenizer("cliprobust-tiny")
    theirs = open_clip.build_zero_shot_classifier(tiny.model, tokenizer, names, templates, num_classes_per_batch=4)
    legacy = open_clip.build_zero_shot_classifier_legacy(tiny.model, tokenizer, names, templates)
    assert ours.shape == (32, 12)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours, legacy, rtol=1e-5, atol=1e-6)


def test_build_classifier_matches_direct_text_embeddings(tiny):
    names = ["tench", "goldfish", "great white shark"]
    templates = ["a photo of a {}.", "art of the {}."]
    head = heads.build_classifier(tiny.encode_text, names, templates)
    tok = open_clip.get_tokenizer("cliprobust-tiny")
    with torch.no_grad():
        for c, name in enumerate(names):
            e = tiny.model.encode_text(tok([t.format(name) for t in templates]))
            e = e / e.norm(dim=-1, keepdim=True)
            w = e.mean(0) / e.mean(0).norm()
            torch.testing.assert_close(head[:, c], w, rtol=1e-5, atol=1e-6)
