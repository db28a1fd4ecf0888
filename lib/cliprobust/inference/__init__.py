"""Inference engine: (model, data set) -> per-sample outputs in the cache.

Modules: ``models`` (one loader, two adapters), ``heads`` (zero-shot text classifiers, cached),
``images`` (image loading that survives corrupt files), ``config`` (the frozen run config and
the cache key), ``runner`` (the chunked, resumable forward pass).
"""

from __future__ import annotations

from .models import (TINY_ARCH, LoadedModel, load_model, parse_model_id, preprocess_config,
                     register_tiny_config, resolve_entry, weights_id)

__all__ = ["TINY_ARCH", "LoadedModel", "load_model", "parse_model_id", "preprocess_config",
           "register_tiny_config", "resolve_entry", "weights_id"]
