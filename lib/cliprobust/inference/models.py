"""Model loading (torch): one loader, two small adapters (open_clip, timm), and the config resolvers.

:func:`load_model` returns a :class:`LoadedModel` for a zoo entry: the network, its own
preprocessing (docs/protocols.md section 6: per model, never one transform for all), and for CLIP a
tokenizer. The preprocessing the cache key names is resolved from configs only, and persisted, by
:mod:`cliprobust.model_entries`; :func:`load_model` checks that the model it built really uses
that preprocessing. Importing this module registers the tiny open_clip architecture
``cliprobust-tiny`` (random-init pipeline tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import open_clip
import timm
import torch
import torch.nn.functional as F
from timm.data import create_transform, resolve_data_config

from ..model_entries import (EntryLike, jsonable, preprocess_config, quick_gelu, register_tiny_config, resolve_entry,
                             timm_name)

register_tiny_config()

# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference, with its preprocessing (and tokenizer for CLIP)."""

    entry: EntryLike
    model: torch.nn.Module
    preprocess: Callable[[Any], torch.Tensor]
    preprocess_config: dict[str, Any]
    tokenizer: Callable[[list[str]], torch.Tensor] | None
    device: torch.device

    @property
    def is_clip(self) -> bool:
        """True for CLIP (open_clip) models."""
        return self.tokenizer is not None

    def encode_images(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features, logits): CLIP -> unnormalized image embeddings, no logits; timm ->
        pre-logits features and the classifier's logits."""
        if self.is_clip:
            return self.model.encode_image(x), None
        trunk = self.model.forward_features(x)
        return self.model.forward_head(trunk, pre_logits=True), self.model.forward_head(trunk)

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """L2-normalized text embeddings (n, D) of raw strings (CLIP only)."""
        if self.tokenizer is None:
            raise TypeError(f"{self.entry.id} is not a CLIP model: it has no text encoder")
        return F.normalize(encode_text_sorted(self.model, self.tokenizer(texts), self.device).float(), dim=-1)

    def logit_scale(self) -> tuple[float | None, float | None]:
        """(exp(logit_scale), logit_bias) learned by a CLIP model; (None, None) for classifiers."""
        if not self.is_clip:
            return None, None
        bias = getattr(self.model, "logit_bias", None)
        with torch.no_grad():
            return float(self.model.logit_scale.exp()), (None if bias is None else float(bias))


#: Prompts per text-tower pass once sorted by token length (each pass is cut to its own longest prompt).
TEXT_SUBBATCH = 256


def truncatable(model: torch.nn.Module) -> bool:
    """True when padding cannot change ``model.encode_text``: open_clip's own ``CLIP`` text tower with
    a causal mask and ``argmax`` (end-of-text) pooling. HF towers (``CustomTextCLIP``), SigLIP-style
    ``last``/``eos`` pooling or no causal mask: False (encoded at full context)."""
    return type(model) is open_clip.model.CLIP and model.text_pool_type == "argmax" and model.attn_mask is not None


def encode_text_sorted(model: torch.nn.Module, tokens: torch.Tensor, device: torch.device,
                       batch: int = TEXT_SUBBATCH) -> torch.Tensor:
    """``model.encode_text(tokens)``, rows in input order, computed on length-sorted sub-batches of
    ``batch`` prompts each cut after its longest prompt (:func:`encode_text_truncated`); the full
    context in one pass when the tower is not :func:`truncatable`."""
    if not truncatable(model):
        return model.encode_text(tokens.to(device))
    order = torch.argsort(tokens.argmax(dim=-1), stable=True)
    parts = [encode_text_truncated(model, tokens[order[i:i + batch]].to(device)) for i in range(0, len(order), batch)]
    sorted_rows = torch.cat(parts)
    out = torch.empty_like(sorted_rows)
    out[order.to(out.device)] = sorted_rows
    return out


def encode_text_truncated(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """``model.encode_text(tokens)`` computed on the tokens up to the batch's last end-of-text token.

    The CLIP text transformer is causal and pools the end-of-text position (``argmax`` pooling),
    so padding after it cannot change the result; dropping it makes heads ~5x cheaper. Any
    other text tower (HF, SigLIP 'last'/'eos' pooling, no causal mask) uses ``encode_text``.
    """
    if not truncatable(model):
        return model.encode_text(tokens)
    n = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :n]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:n, :n]))
    x = open_clip.transformer.text_global_pool(x, tokens, "argmax")
    return model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection


def place(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device`` in eval mode; on CUDA in channels_last memory format (faster convolutions
    and patch embeddings under AMP; the numbers are those of the same math)."""
    model = model.to(device).eval()
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def _load_open_clip(entry: EntryLike, device: torch.device) -> LoadedModel:
    model, _, preprocess = open_clip.create_model_and_transforms(
        entry.arch, pretrained=entry.pretrained, force_quick_gelu=quick_gelu(entry))
    tokenizer = open_clip.get_tokenizer(entry.arch)
    cfg = preprocess_config(entry)
    actual = {"library": "open_clip", **jsonable(model.visual.preprocess_cfg)}
    actual["size"] = list(actual["size"]) if isinstance(actual["size"], list) else [actual["size"]] * 2
    if actual != cfg:
        raise RuntimeError(f"{entry.id}: open_clip built preprocessing {actual}, but the cache key was "
                           f"resolved as {cfg}; update cliprobust.inference.models.preprocess_config")
    return LoadedModel(entry, place(model, device), preprocess, cfg, tokenizer, device)


def _load_timm(entry: EntryLike, device: torch.device) -> LoadedModel:
    model = timm.create_model(timm_name(entry), pretrained=entry.pretrained is not None)
    data_cfg = resolve_data_config({}, model=model)
    cfg = preprocess_config(entry)
    if {"library": "timm", **jsonable(data_cfg)} != cfg:
        raise RuntimeError(f"{entry.id}: timm resolved {data_cfg} from the model, but {cfg} from its config")
    return LoadedModel(entry, place(model, device), create_transform(**data_cfg), cfg, None, device)


def load_model(entry: str | EntryLike, device: str | torch.device = "cpu", seed: int = 0) -> LoadedModel:
    """Build ``entry`` on ``device`` in eval mode; random-init entries are seeded with ``seed``."""
    entry = resolve_entry(entry)
    torch.manual_seed(seed)
    device = torch.device(device)
    if entry.source == "open_clip":
        return _load_open_clip(entry, device)
    if entry.source == "timm":
        return _load_timm(entry, device)
    raise ValueError(f"{entry.id}: unknown source {entry.source!r} (expected 'open_clip' or 'timm')")
