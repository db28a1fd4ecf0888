"""Inference engine: (model, data set) -> per-sample outputs in the cache.

Modules, one concept each: ``entries`` (checking model ids up front; no torch), ``config`` (the
frozen run config, its cache key and folder, "is this job done"; no torch), ``heads`` (prompt
ensembling, building text heads; torch only to build a head),
``models`` (one loader, two adapters, the tiny open_clip config), ``images`` (image loading that
survives corrupt files), ``decoded`` (the opt-in decode cache), ``runner`` (the chunked,
resumable forward pass; ``run_one`` is the per-job unit). Model ids -> entries and the cache keys
live below the engine and the reader (:mod:`cliprobust.model_entries`, :mod:`cliprobust.keys`);
reading outputs is :mod:`cliprobust.outputs`.

Names are imported lazily (PEP 562), so ``import cliprobust.inference.config`` does not import torch;
``from cliprobust.inference import run_one`` does.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE: dict[str, str] = {
    "RunConfig": "config", "entry_key": "config", "image_key": "config",
    "configs_for": "config", "entry_folder": "config", "is_done": "config", "check_models": "entries",
    "LoadedModel": "models", "load_model": "models", "register_tiny_config": "models",
    "EvaluationErrors": "runner", "UnreadableImagesError": "runner", "evaluate": "runner", "run_one": "runner",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
