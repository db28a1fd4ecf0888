"""The forward pass: (model, data set) -> a complete cache entry, chunk by chunk, resumable.

:func:`run_one` is the unit of work for one (model, data set) pair (picklable config in, entry
folder out); a cluster job runs all of one model's pairs with one weights load by default
(:mod:`cliprobust.executors`, ``--job-per model``), or one pair (``--job-per pair``). It

1. computes the entry key from the config without loading the model; a complete entry returns
   at once (a warm re-run performs no forward pass and loads nothing);
2. takes the entry's file lock (two workers on one key: the second waits, then finds it done);
3. for CLIP, derives a new prompt set's scores from cached image features when they exist;
4. otherwise runs the images through the model in fixed chunks, each saved atomically, skipping
   chunks already on disk (an interrupted run resumes; batches never straddle chunks, so the
   resumed result is identical to an uninterrupted one), then finalizes the entry.

Unreadable images are recorded per chunk and excluded with a warning; under ``strict`` the
chunk is saved first, then :class:`UnreadableImagesError` is raised.
"""

from __future__ import annotations

import platform
import time
import warnings
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from ..progress import progress as tqdm

from .. import cache, datasets
from ..datasets import FileList
from ..keys import base_versions, cached_head, entry_meta, head_classnames, head_key, now
from ..model_entries import EntryLike, is_clip, resolve_entry
from ..outputs import derive_scores
from . import decoded, images
from .config import RunConfig, locate
from .heads import text_head
from .models import LoadedModel, load_model

ModelLoader = Callable[[], LoadedModel]


class UnreadableImagesError(RuntimeError):
    """Images that could not be decoded, under ``strict=True`` (finished chunks are kept)."""


def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; anything else as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def encode_batch(loaded: LoadedModel, x: torch.Tensor, head: np.ndarray | None, precision: str,
                 split: images.SplitTransform | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One forward pass: (features, scores) as float16 numpy; scores = CLIP cosines of the float16
    features against ``head`` (:func:`heads.derive_scores`, the same numbers a later derivation from
    the cache gives) or the classifier's logits. With ``split``, ``x`` is uint8 and is normalized on
    the device (:func:`images.split_transform`)."""
    if loaded.device.type == "cuda":  # matches the model's channels_last layout (models.place)
        x = x.to(loaded.device, non_blocking=True, memory_format=torch.channels_last)
    else:
        x = x.to(loaded.device)
    if split is not None:
        x = split.normalize(x)
    amp = torch.autocast(loaded.device.type, dtype=torch.bfloat16) if precision == "amp" else nullcontext()
    with torch.no_grad(), amp:
        feats, logits = loaded.encode_images(x)
    feats16 = feats.float().cpu().to(torch.float16).numpy()
    if head is not None:
        return feats16, derive_scores(feats16, head)
    return feats16, logits.float().cpu().to(torch.float16).numpy()


def plan_chunks(n: int, chunk_size: int, batch_size: int, done: set[int]) -> list[tuple[int, list[list[int]]]]:
    """(chunk number, batches of positions) for every chunk not in ``done``; chunk k covers
    ``[k*chunk_size, (k+1)*chunk_size)`` and is split into batches from its own start."""
    plan = []
    for k, start in enumerate(range(0, n, chunk_size)):
        if k in done:
            continue
        stop = min(start + chunk_size, n)
        plan.append((k, [list(range(b, min(b + batch_size, stop))) for b in range(start, stop, batch_size)]))
    return plan


def _encode(loaded: LoadedModel, batch: images.Batch, head: np.ndarray | None, precision: str,
            split: images.SplitTransform | None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": batch.index.numpy(), "failed": list(batch.failed)}
    if batch.images is not None:
        feats, scores = encode_batch(loaded, batch.images, head, precision, split)
        out.update(features=feats, scores=scores)
    return out


def _stack(parts: list[dict[str, Any]], name: str) -> np.ndarray:
    arrays = [p[name] for p in parts if name in p]
    return np.concatenate(arrays) if arrays else np.zeros((0, 0), dtype=np.float16)


def _save_chunk(path: Path, number: int, parts: list[dict[str, Any]]) -> list[tuple[int, str]]:
    failed = [f for p in parts for f in p["failed"]]
    cache.write_chunk(path, number, {
        "index": np.concatenate([p["index"] for p in parts]).astype(np.int64),
        "scores": _stack(parts, "scores"), "features": _stack(parts, "features"),
        "failed_index": np.asarray([i for i, _ in failed], dtype=np.int64),
        "failed_error": np.asarray([e for _, e in failed], dtype=str)})
    return failed


def _strict_error(files: FileList, failed: list[tuple[int, str]]) -> UnreadableImagesError:
    listing = "; ".join(f"{files.paths[i]} ({e})" for i, e in failed[:5])
    return UnreadableImagesError(
        f"{len(failed)} unreadable image(s) in {files.dataset}: {listing}. Finished chunks are kept. Fix: "
        f"replace or remove these files (the file list changes, so a fresh entry is made), or run without "
        f"strict (--no-strict) to exclude them and record them in meta.json.")


def _refuse_resumed_failures(files: FileList, path: Path, done: set[int]) -> None:
    """Strict: unreadable images recorded in chunks of an earlier run still fail the run (a resume
    must not turn a strict failure into a silent exclusion)."""
    failed = []
    for k in sorted(done):
        with np.load(path / "chunks" / f"{k:06d}.npz") as z:
            failed += list(zip(z["failed_index"].astype(int).tolist(), z["failed_error"].astype(str).tolist()))
    if failed:
        raise _strict_error(files, failed)


def _forward_chunks(config: RunConfig, loaded: LoadedModel, head: np.ndarray | None, files: FileList,
                    plan: list[tuple[int, list[list[int]]]], path: Path) -> int:
    """Run the planned chunks, saving each as soon as its last batch is done; returns images seen."""
    batches = [b for _, bs in plan for b in bs]
    owner = [k for k, bs in plan for _ in bs]
    remaining, parts = Counter(owner), {k: [] for k, _ in plan}
    split = images.device_split(loaded.preprocess)
    if config.decode_cache and split is not None:
        data = decoded.DecodedFiles(decoded.ensure_decoded(files, split, config.workers, config.batch_size))
    else:
        data = images.ImageFiles(files.paths, split.geometric if split else loaded.preprocess, files.spec.border_px)
    pin = loaded.device.type == "cuda"
    total = sum(len(b) for b in batches)
    with tqdm(total=total, unit="img", desc=f"{config.model} | {config.dataset}",
              disable=not config.progress, dynamic_ncols=True) as bar:
        for k, batch in zip(owner, images.loader(data, batches, config.workers, pin)):
            parts[k].append(_encode(loaded, batch, head, config.precision, split))
            bar.update(len(batch.index) + len(batch.failed))
            remaining[k] -= 1
            if remaining[k] == 0:
                failed = _save_chunk(path, k, parts.pop(k))
                if failed and config.strict:
                    raise _strict_error(files, failed)
    return total


def _versions() -> dict[str, str]:
    import open_clip
    import PIL
    import timm
    import torchvision

    return {**base_versions(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "timm": timm.__version__, "open_clip": open_clip.__version__, "pillow": PIL.__version__}


def _meta(config: RunConfig, entry: EntryLike, key: dict[str, Any], sha: str,
          extra: dict[str, Any]) -> dict[str, Any]:
    return entry_meta(entry, key, sha, config.to_dict(), _versions(), extra)


def _model_info(loaded: LoadedModel) -> dict[str, Any]:
    scale, bias = loaded.logit_scale()
    device = torch.cuda.get_device_name(loaded.device) if loaded.device.type == "cuda" else platform.processor()
    return {"logit_scale": scale, "logit_bias": bias, "transform": repr(loaded.preprocess),
            "preprocess": loaded.preprocess_config, "device": f"{loaded.device.type}: {device}"}


def _head_weights(loaded: LoadedModel, config: RunConfig) -> np.ndarray | None:
    if not loaded.is_clip:
        return None
    return text_head(loaded, head_classnames(), config.prompt_set, config.seed)


def _compute(config: RunConfig, entry: EntryLike, files: FileList, key: dict[str, Any], sha: str,
             path: Path, loader: ModelLoader) -> None:
    layout = cache.init_entry(path, key, {"chunk_size": config.chunk_size, "batch_size": config.batch_size})
    done = cache.done_chunks(path)
    plan = plan_chunks(len(files), layout["chunk_size"], layout["batch_size"], done)
    started, t0 = now(), time.perf_counter()
    loaded = loader()
    head = _head_weights(loaded, config)
    files = datasets.materialize(files)
    t1 = time.perf_counter()
    seen = _forward_chunks(config, loaded, head, files, plan, path)
    t2 = time.perf_counter()
    if config.strict:
        _refuse_resumed_failures(files, path, done)
    timings = {"load_s": round(t1 - t0, 3), "forward_s": round(t2 - t1, 3), "images_this_session": seen,
               "images_per_s": round(seen / max(t2 - t1, 1e-9), 1), "chunks_resumed": len(done)}
    meta = _meta(config, entry, key, sha, {**_model_info(loaded), "started_at": started, "timings": timings})
    meta = cache.finalize(path, files.labels, files.file_ids, meta)
    if meta["n_excluded"]:
        shown = ", ".join(x["file"] for x in meta["excluded"][:3])
        warnings.warn(f"{config.model} on {config.dataset}: {meta['n_excluded']} unreadable image(s) excluded "
                      f"({shown}...); listed in {path / 'meta.json'}", stacklevel=3)


def _feature_source(key: dict[str, Any]) -> dict[str, Any] | None:
    """A complete entry with the same image key (same features), if any."""
    hits = cache.find(key["model_id"], key["dataset"], {"image_key_sha": key["image_key_sha"]})
    return hits[0] if hits else None


def _derive(config: RunConfig, entry: EntryLike, key: dict[str, Any], sha: str, path: Path,
            source: dict[str, Any], loader: ModelLoader) -> None:
    """New prompt set, same images: scores = cached features x new head; no image pass."""
    cache.init_entry(path, key, {"chunk_size": config.chunk_size, "batch_size": config.batch_size})
    hkey = head_key(entry, head_classnames(), config.prompt_set, config.seed)
    weights = cached_head(hkey)
    if weights is None:
        weights = text_head(loader(), head_classnames(), config.prompt_set, config.seed)
    src = cache.read_entry(Path(source["path"]))
    arrays = {"scores": derive_scores(src.features, weights), "features": np.asarray(src.features),
              "labels": src.labels, "index": np.load(Path(source["path"]) / "index.npy")}
    carried = {k: source[k] for k in ("logit_scale", "logit_bias", "transform", "preprocess", "device")}
    meta = _meta(config, entry, key, sha, {**carried, "derived_from": source["key_sha"],
                                           "timings": {"images_this_session": 0}})
    cache.write_final(path, arrays, src.file_ids, meta, excluded=source["excluded"])


def run_one(config: RunConfig, model_loader: ModelLoader | None = None, files: FileList | None = None) -> Path:
    """Make the cache entry of ``config`` complete and return its folder (see module docstring).

    ``model_loader`` lets a caller share one loaded model across data sets (by default the model
    is loaded only if work remains); ``files`` an already resolved file list of ``config.dataset``.
    """
    entry, files, key, sha, path = locate(config, files)
    if cache.is_complete(path):
        return path
    loader = model_loader or (lambda: load_model(entry, resolve_device(config.device), config.seed))
    with cache.lock(path):
        if cache.is_complete(path):
            return path
        source = _feature_source(key) if is_clip(entry) else None
        if source is not None:
            _derive(config, entry, key, sha, path, source, loader)
        else:
            _compute(config, entry, files, key, sha, path, loader)
    return path


class EvaluationErrors(RuntimeError):
    """Some (model, data set) jobs failed; the others finished. ``failures`` lists them."""

    def __init__(self, failures: list[tuple[RunConfig, BaseException]]):
        self.failures = failures
        lines = "\n".join(f"  {c.model} | {c.dataset}: {type(e).__name__}: {e}" for c, e in failures)
        super().__init__(f"{len(failures)} evaluation(s) failed:\n{lines}")


def _memo(entry: EntryLike, config: RunConfig) -> ModelLoader:
    """A loader that builds the model on first call and reuses it (one load per model)."""
    box: list[LoadedModel] = []

    def get() -> LoadedModel:
        if not box:
            box.append(load_model(entry, resolve_device(config.device), config.seed))
        return box[0]

    return get


def evaluate(configs: list[RunConfig], keep_going: bool = True) -> list[Path]:
    """Run every config (grouped by model, one model load per model); returns the entry folders.

    With ``keep_going`` a failing job is recorded and the rest still run; failures are raised
    together at the end as :class:`EvaluationErrors`.
    """
    paths_, failures, loaders, file_lists = [], [], {}, {}
    for config in configs:
        if config.model not in loaders:
            loaders.clear()  # free the previous model before building the next
            loaders[config.model] = _memo(resolve_entry(config.model), config)
        try:
            where = (config.dataset, config.data_root, config.check_count)
            if where not in file_lists:  # one directory walk per data set, not per model
                file_lists[where] = datasets.resolve(*where[:2], check_count=config.check_count)
            paths_.append(run_one(config, loaders[config.model], file_lists[where]))
        except Exception as exc:  # noqa: BLE001 -- reported together below
            if not keep_going:
                raise
            failures.append((config, exc))
    if failures:
        raise EvaluationErrors(failures)
    return paths_
