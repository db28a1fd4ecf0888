"""Inference engine: (model, data set) -> per-sample outputs in the cache.

Modules, one concept each: ``models`` (one loader, two adapters, the tiny open_clip config),
``heads`` (zero-shot text classifiers, cached on disk), ``images`` (image loading that survives
corrupt files), ``config`` (the frozen run config and the cache key), ``runner`` (the chunked,
resumable forward pass; ``run_one`` is the per-job unit), ``lookup`` (reader-side matching).
"""

from __future__ import annotations

from .config import FORMAT_VERSION, RunConfig, entry_key, image_key
from .models import (TINY_ARCH, LoadedModel, load_model, parse_model_id, preprocess_config,
                     register_tiny_config, resolve_entry, select_entries, weights_id)
from .runner import (EvaluationErrors, UnreadableImagesError, configs_for, entry_folder, evaluate, is_done,
                     run_one)

__all__ = ["FORMAT_VERSION", "TINY_ARCH", "EvaluationErrors", "LoadedModel", "RunConfig",
           "UnreadableImagesError", "configs_for", "entry_folder", "entry_key", "evaluate", "image_key", "is_done",
           "load_model", "parse_model_id", "preprocess_config", "register_tiny_config", "resolve_entry", "run_one",
           "select_entries", "weights_id"]
