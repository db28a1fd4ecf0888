"""Writing one synthetic entry through the engine's storage writer, under the engine's key (plus
``synthetic: true``) and the engine's meta.json (plus the simulation's targets), into a given cache
folder that is never the real output cache (SYNTHETIC: see :mod:`cliprobust.simulate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import cache, datasets, keys, paths
from ..model_entries import is_clip
from .draws import SetDraw, chunk_logits, draw_set, features_chunk, prediction_columns
from .files import synthetic_files
from .model_plan import ModelPlan
from .targets import rng_for

#: Stamped into every meta.json written here.
SYNTHETIC_NOTE = ("SYNTHETIC outputs written by `cliprobust simulate`: drawn to match published numbers, no model "
                  "was run. A rehearsal of the pipeline at scale, never a result.")
#: Folder (under the data dir) of simulated entries; never the real ``data/outputs``.
SYNTHETIC_CACHE = "synthetic-outputs"
#: The engine's default chunk (``RunConfig.chunk_size``): resume/write granularity.
CHUNK_SIZE = 1024
#: exp(logit_scale) of CLIP models: open_clip clamps the learned scale at 100 and trained CLIP
#: models sit there (OpenAI CLIP: 100.0). Stored cosines are logits / 100 + :data:`CLIP_COSINE_OFFSET`.
CLIP_LOGIT_SCALE = 100.0
#: Typical cosine of an image with a text head (~0.2-0.3); shifts all logits equally (softmax-invariant).
CLIP_COSINE_OFFSET = 0.2
#: Key item of every synthetic entry: a synthetic entry never shares a key with a real one.
SYNTHETIC_KEY = {"synthetic": True}


def _meta(plan: ModelPlan, name: str, key: dict[str, Any], sha: str, draw: SetDraw, fraction: float,
          seed: int) -> dict[str, Any]:
    """The engine's meta.json (:func:`cliprobust.keys.entry_meta`) plus the simulation's record."""
    clip = is_clip(plan.entry)
    simulation = {"fraction": fraction, "seed": seed, "target": draw.target, "temperature": plan.temperature,
                  "ece_target_imagenet": plan.ece_target, "feature_width": plan.width,
                  "feature_width_source": plan.width_source, "runner_up": plan.runner_up,
                  "runner_up_source": plan.runner_up_source}
    extra = {"synthetic": True, "synthetic_note": SYNTHETIC_NOTE, "logit_scale": CLIP_LOGIT_SCALE if clip else None,
             "logit_bias": None, "simulation": simulation, "timings": {"images_this_session": 0}}
    config = {"model": plan.entry.id, "dataset": name, "fraction": fraction, "seed": seed}
    return keys.entry_meta(plan.entry, key, sha, config, keys.base_versions(), extra)


def _write_chunks(plan: ModelPlan, name: str, path: Path, n: int, chunk_size: int, draw: SetDraw, seed: int,
                  durable: bool) -> None:
    """Every chunk not yet on disk: its logits (cosines for CLIP), features and positions."""
    columns = prediction_columns(name)
    done = cache.done_chunks(path)
    clip = is_clip(plan.entry)
    for k, start in enumerate(range(0, n, chunk_size)):
        if k in done:
            continue
        rows = slice(start, min(start + chunk_size, n))
        rng = rng_for(seed, plan.entry.id, name, "chunk", k)
        z = chunk_logits(draw, rows, columns, rng)
        scores = z / CLIP_LOGIT_SCALE + CLIP_COSINE_OFFSET if clip else z
        cache.write_chunk(path, k, {
            "index": np.arange(rows.start, rows.stop, dtype=np.int64), "scores": scores.astype(cache.SCORE_DTYPE),
            "features": features_chunk(rng, rows.stop - rows.start, plan.width),
            "failed_index": np.zeros(0, dtype=np.int64), "failed_error": np.zeros(0, dtype=str)}, durable)


def write_entry(plan: ModelPlan, name: str, fraction: float, seed: int, prompt_set: str, cache_dir: Path,
                chunk_size: int = CHUNK_SIZE, durable: bool = False) -> Path:
    """Write (or find complete) the synthetic entry of ``plan``'s model on ``name`` in the cache at
    ``cache_dir``; returns its folder. By default without fsync (``durable=False``): synthetic entries
    are redrawn in seconds, ~10 fsyncs per entry dominate writing thousands of them, and atomic
    renames keep them complete-or-absent."""
    file_ids, labels, fp = synthetic_files(name, fraction, seed)
    key = keys.entry_key(plan.entry, name, fp, len(file_ids), prompt_set, seed=seed, extra=SYNTHETIC_KEY,
                         store=cache_dir)
    sha = keys.canonical_sha(key)
    path = cache.entry_path(key, sha, cache_dir)
    if cache.is_complete(path):
        return path
    with cache.lock(path):
        if cache.is_complete(path):
            return path
        layout = cache.init_entry(path, key, {"chunk_size": chunk_size, "batch_size": chunk_size}, durable)
        draw = draw_set(plan, name, file_ids, labels, seed)
        _write_chunks(plan, name, path, len(file_ids), layout["chunk_size"], draw, seed, durable)
        cache.finalize(path, labels, file_ids, _meta(plan, name, key, sha, draw, fraction, seed), durable)
    return path


def default_cache_dir() -> Path:
    """``data/synthetic-outputs`` (under ``$CLIPROBUST_DATA_DIR`` when set)."""
    return paths.data_dir() / SYNTHETIC_CACHE


def check_target(target: Path) -> None:
    """Refuse the real output cache, and any cache holding an entry that is not synthetic."""
    real = (paths.data_dir() / "outputs").resolve()
    if target.resolve() == real:
        raise SystemExit(f"cliprobust simulate: refusing to write synthetic entries into the real output cache "
                         f"{real}; use --cache-dir (default {default_cache_dir()})")
    for key_path in (target / "entries").glob("*/*/*/key.json") if (target / "entries").is_dir() else []:
        if not cache.read_json(key_path).get("synthetic"):
            raise SystemExit(f"cliprobust simulate: {target} holds real (non-synthetic) entries, e.g. "
                             f"{key_path.parent}; pick an empty folder for synthetic outputs")
        break  # one look is enough: the folder is either ours or not


def check_names(names: list[str]) -> None:
    """Every data set name is registered (raises naming the unknown one)."""
    for d in names:
        datasets.get(d)
