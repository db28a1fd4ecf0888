"""The per-sample output cache: one content-addressed entry per (model, data set, head, config).

Layout under :func:`cliprobust.paths.cache_dir` (``data/outputs``)::

    entries/<model-slug>/<dataset>/<key-sha[:24]>/
        key.json            canonical key (see cliprobust.keys)
        layout.json         chunk and batch size fixed at creation (resume granularity)
        chunks/NNNNNN.npz   finished chunks, each written to a temp file and renamed
        scores.npy          float16 (N, C): cosine similarities (CLIP) or classifier logits
        features.npy        float16 (N, D): image embeddings (CLIP) / pre-logits features (timm)
        labels.npy index.npy files.txt   labels, positions in the file list, file ids
        meta.json           written last: complete=True, versions, timings, config, excluded files,
                            and ``arrays``: shape, dtype, size and sha256 of every stored file
    entries/<...>.lock      file lock held by the one writer of an entry
    text-heads/, model-configs/   zero-shot heads (cliprobust.keys), resolved model configs (model_entries)

An entry is complete iff ``meta.json`` exists; readers never see partial entries. This module is
storage only (layout, atomic writes, locks, entry metadata, :func:`read_entry`, :func:`verify_entry`);
which entry answers a request is decided by the one reader, :mod:`cliprobust.outputs`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from filelock import FileLock

from . import paths
from .metrics.ood import softmax

SCORE_DTYPE = np.float16  # per-sample logits / cosines: the spec's storage precision
#: Features are stored in float16 too (halves disk for 50k x 1024); CLIP cosines are computed
#: from these rounded features in every pass, so heads derived later from the cache match.
FEATURE_DTYPE = np.float16
_ARRAYS = ("scores", "features", "labels", "index")
#: Files whose shape/dtype/size/sha256 ``meta.json`` records (``files.txt``: size and sha256 only).
_CHECKED = (*_ARRAYS, "files")
#: meta.json layout version: 2 = with the ``arrays`` manifest (checksums); entries written before
#: have none and are reported as "no checksum", never silently passed.
META_FORMAT = 2
_HASH_BLOCK = 1 << 22


class CacheMiss(LookupError):
    """No complete cache entry matches the request; the message gives the command that makes one."""


class CorruptEntryError(RuntimeError):
    """A complete entry whose stored files disagree with its ``meta.json`` (changed after finalize)."""


# --------------------------------------------------------------------------- writing


def slug(model_id: str) -> str:
    """A model id as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)


def slot_dir(model_id: str, dataset: str, root: Path | None = None) -> Path:
    """Folder holding every entry of one (model, data set) in the cache at ``root`` (default: the
    output cache, :func:`cliprobust.paths.cache_dir`)."""
    return (root or paths.cache_dir()) / "entries" / slug(model_id) / dataset


def entry_path(key: dict[str, Any], key_sha: str, root: Path | None = None) -> Path:
    """Folder of the entry with this key (in the cache at ``root``, default the output cache)."""
    return slot_dir(key["model_id"], key["dataset"], root) / key_sha[:24]


def lock(path: Path) -> FileLock:
    """The writer lock of an entry (a sibling ``.lock`` file; the entry folder may not exist yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path) + ".lock")


def atomic_write(path: Path, write: Callable[[Any], Any], durable: bool = True) -> None:
    """Write through ``write(fh)`` into a temp file beside ``path``, then rename onto it.

    ``durable``: fsync the file before the rename (right for real outputs, which cost GPU hours).
    Without it a crash may lose the file's content, but the rename still makes it complete-or-absent;
    for outputs that are cheap to redraw (``cliprobust simulate``), where fsyncs dominate the time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_json(path: Path, obj: Any, durable: bool = True) -> None:
    """Atomic JSON write (sorted keys, indented)."""
    atomic_write(path, lambda fh: fh.write(json.dumps(obj, indent=1, sort_keys=True, default=str).encode()), durable)


def read_json(path: Path) -> Any:
    """Parse a JSON file."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def is_complete(path: Path) -> bool:
    """True when the entry at ``path`` was finalized."""
    return (path / "meta.json").is_file()


def init_entry(path: Path, key: dict[str, Any], layout: dict[str, int], durable: bool = True) -> dict[str, int]:
    """Create the entry folder with its key; returns the layout fixed at first creation."""
    if not (path / "key.json").is_file():
        write_json(path / "key.json", key, durable)
    if not (path / "layout.json").is_file():
        write_json(path / "layout.json", layout, durable)
    return read_json(path / "layout.json")


def write_chunk(path: Path, number: int, arrays: dict[str, np.ndarray], durable: bool = True) -> None:
    """Atomically store one finished chunk (``index``, ``scores``, ``features``, ``failed_*``)."""
    atomic_write(path / "chunks" / f"{number:06d}.npz", lambda fh: np.savez(fh, **arrays), durable)


def done_chunks(path: Path) -> set[int]:
    """Numbers of the chunks already on disk (unreadable leftovers are deleted and redone)."""
    out = set()
    for p in sorted((path / "chunks").glob("[0-9]*.npz")):
        try:
            with np.load(p) as z:
                z["index"]
            out.add(int(p.stem))
        except Exception:  # noqa: BLE001 -- a damaged chunk is recomputed, never trusted
            p.unlink(missing_ok=True)
    return out


def _read_chunks(path: Path) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("index", "scores", "features", "failed_index",
                                                          "failed_error")}
    for p in sorted((path / "chunks").glob("[0-9]*.npz")):
        with np.load(p) as z:
            for k in parts:
                parts[k].append(z[k])
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items() if k not in ("scores", "features")}
    for k in ("scores", "features"):  # chunks whose every image failed hold (0, 0) placeholders
        kept = [a for a in parts[k] if a.shape[0]]
        out[k] = np.concatenate(kept) if kept else np.zeros((0, 0), dtype=SCORE_DTYPE)
    return out


def finalize(path: Path, labels: np.ndarray, file_ids: Sequence[str], meta: dict[str, Any],
             durable: bool = True) -> dict[str, Any]:
    """Assemble the chunks into the final arrays, write ``meta.json`` last, drop the chunks.

    Every file position must be covered exactly once (decoded or failed). Returns the meta.
    """
    c = _read_chunks(path)
    order = np.argsort(c["index"], kind="stable")
    index = c["index"][order].astype(np.int64)
    failed = c["failed_index"].astype(np.int64)
    covered = np.sort(np.concatenate([index, failed]))
    if not np.array_equal(covered, np.arange(len(file_ids))):
        raise RuntimeError(f"cache entry {path}: chunks do not cover the {len(file_ids)} files exactly once; "
                           f"delete the folder and run again")
    arrays = {"scores": c["scores"][order], "features": c["features"][order],
              "labels": np.asarray(labels)[index], "index": index}
    return write_final(path, arrays, [file_ids[i] for i in index], meta, excluded=_excluded(c, file_ids),
                       durable=durable)


def _excluded(c: dict[str, np.ndarray], file_ids: Sequence[str]) -> list[dict[str, str]]:
    pairs = sorted(zip(c["failed_index"].astype(int).tolist(), c["failed_error"].astype(str).tolist()))
    return [{"file": file_ids[i], "error": e} for i, e in pairs]


def write_final(path: Path, arrays: dict[str, np.ndarray], kept_ids: Sequence[str], meta: dict[str, Any],
                excluded: list[dict[str, str]], durable: bool = True) -> dict[str, Any]:
    """Write the final arrays and file ids, then ``meta.json`` (the completion mark)."""
    for name in _ARRAYS:
        atomic_write(path / f"{name}.npy", lambda fh, a=arrays[name]: np.save(fh, a), durable)
    atomic_write(path / "files.txt", lambda fh: fh.write("".join(f"{f}\n" for f in kept_ids).encode()), durable)
    meta = {**meta, "complete": True, "n_samples": len(kept_ids), "excluded": excluded,
            "n_excluded": len(excluded), "meta_format": META_FORMAT, "arrays": manifest(path, arrays)}
    write_json(path / "meta.json", meta, durable)
    for p in (path / "chunks").glob("*"):
        p.unlink(missing_ok=True)
    if (path / "chunks").is_dir():
        (path / "chunks").rmdir()
    return meta


# --------------------------------------------------------------------------- integrity


def _file_of(path: Path, name: str) -> Path:
    return path / ("files.txt" if name == "files" else f"{name}.npy")


def file_sha256(file: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def manifest(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Shape, dtype, size in bytes and sha256 of every stored file of the entry at ``path``."""
    out = {}
    for name in _CHECKED:
        file = _file_of(path, name)
        item: dict[str, Any] = {"bytes": file.stat().st_size, "sha256": file_sha256(file)}
        if name in arrays:
            item.update(shape=list(np.shape(arrays[name])), dtype=np.asarray(arrays[name]).dtype.str)
        out[name] = item
    return out


def check_layout(path: Path, meta: dict[str, Any], arr: dict[str, np.ndarray]) -> list[str]:
    """Disagreements between the loaded arrays / file sizes and ``meta['arrays']`` (cheap: no hashing)."""
    problems = []
    for name, want in meta.get("arrays", {}).items():
        file = _file_of(path, name)
        if not file.is_file():
            problems.append(f"{file.name} is missing")
            continue
        if file.stat().st_size != want["bytes"]:
            problems.append(f"{file.name}: {file.stat().st_size} bytes, meta.json says {want['bytes']}")
        if name in arr and (list(arr[name].shape) != want["shape"] or arr[name].dtype.str != want["dtype"]):
            problems.append(f"{file.name}: {arr[name].dtype.str} {list(arr[name].shape)}, "
                            f"meta.json says {want['dtype']} {want['shape']}")
    return problems


def _load_arrays(path: Path, mmap_mode: str | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """The stored arrays, and a problem per file whose header or length cannot be read."""
    arr, problems = {}, []
    for n in _ARRAYS:
        try:
            arr[n] = np.load(_file_of(path, n), mmap_mode=mmap_mode)
        except (OSError, ValueError) as exc:  # missing, truncated or not an .npy file
            problems.append(f"{n}.npy unreadable ({exc})")
    return arr, problems


def verify_entry(path: Path) -> tuple[str, list[str]]:
    """``(status, problems)`` of the complete entry at ``path``: ``ok`` (every file matches its recorded
    shape, dtype, size and sha256), ``corrupt`` (problems name the files), or ``no-checksum`` (written
    before checksums, meta format < :data:`META_FORMAT`: nothing to check against)."""
    meta = read_json(path / "meta.json")
    if "arrays" not in meta:
        return "no-checksum", [f"no checksum (meta format < {META_FORMAT})"]
    arr, problems = _load_arrays(path, "r")
    problems += check_layout(path, meta, arr)
    for name, want in meta["arrays"].items():
        file = _file_of(path, name)
        if file.is_file() and file_sha256(file) != want["sha256"]:
            problems.append(f"{file.name}: sha256 differs from meta.json (changed after the entry was written)")
    return ("corrupt" if problems else "ok"), problems


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Outputs:
    """Per-sample outputs of one model on one data set (read from a complete cache entry).

    ``scores`` are what was stored: cosine similarities for CLIP, classifier logits otherwise.
    ``logits`` applies the model's learned scale: ``exp(logit_scale) * cos (+ logit_bias)`` for CLIP
    (docs/protocols.md section 4), the stored logits otherwise.
    """

    model: str
    dataset: str
    head: str
    scores: np.ndarray
    features: np.ndarray | None
    labels: np.ndarray
    file_ids: tuple[str, ...]
    logit_scale: float | None
    logit_bias: float | None
    meta: dict[str, Any] = field(repr=False)

    @property
    def synthetic(self) -> bool:
        """True for entries written by ``cliprobust simulate`` (key item ``"synthetic": true``):
        a rehearsal of the pipeline, never model outputs."""
        return bool(self.meta.get("key", {}).get("synthetic", False))

    @property
    def is_clip(self) -> bool:
        """True when ``scores`` are CLIP cosine similarities."""
        return self.meta.get("scores_kind") == "cosine"

    @property
    def cosine(self) -> np.ndarray:
        """Raw cosine similarities (CLIP only), float32."""
        if not self.is_clip:
            raise TypeError(f"{self.model} is a classifier: it has logits, not cosine similarities")
        return self.scores.astype(np.float32)

    @property
    def logits(self) -> np.ndarray:
        """float32 (N, C) logits at the model's own scale (see class docstring)."""
        if not self.is_clip:
            return self.scores.astype(np.float32)
        return scaled_cosine(self.scores, self.logit_scale or 1.0, self.logit_bias)

    def probs(self, scale: float | None = None) -> np.ndarray:
        """Softmax over classes of :attr:`logits`; for CLIP ``scale`` replaces the learned one
        (e.g. 100 as in CLIP_benchmark, 1 for MCM's raw-cosine softmax), without bias."""
        return softmax(self.logits if scale is None else scaled_cosine(self.cosine, scale, None), axis=1)

    def __len__(self) -> int:
        return len(self.file_ids)


def scaled_cosine(cos: np.ndarray, scale: float, bias: float | None) -> np.ndarray:
    """``scale * cos + bias`` in float32 (CLIP logits; open_clip ``CLIP.get_logits``)."""
    z = np.asarray(cos, dtype=np.float32) * np.float32(scale)
    return z + np.float32(bias) if bias is not None else z


def read_entry(path: Path, mmap: bool = True, verify: bool = False) -> Outputs:
    """The :class:`Outputs` of a complete entry folder (arrays memory-mapped by default).

    Shapes, dtypes and file sizes are always checked against ``meta.json``; ``verify`` also
    checks every file's sha256. A mismatch raises :class:`CorruptEntryError`.
    """
    if not is_complete(path):
        raise CacheMiss(f"cache entry {path} is not complete (no meta.json); run the evaluation again")
    meta = read_json(path / "meta.json")
    if verify:
        status, problems = verify_entry(path)
        if status == "corrupt":
            raise _corrupt(path, meta, problems)
    arr, problems = _load_arrays(path, "r" if mmap else None)
    problems += check_layout(path, meta, arr)
    if problems:
        raise _corrupt(path, meta, problems)
    ids = tuple((path / "files.txt").read_text().splitlines())
    feats = arr["features"] if arr["features"].size else None
    return Outputs(meta["model_id"], meta["dataset"], meta["head"], arr["scores"], feats,
                   np.asarray(arr["labels"]), ids, meta.get("logit_scale"), meta.get("logit_bias"), meta)


def rebuild_command(meta: dict[str, Any]) -> str:
    """The command that rebuilds a (deleted) entry with this meta."""
    cfg = meta.get("config", {})
    root = f" --data-root {cfg['data_root']}" if cfg.get("data_root") else ""
    ps = f" --prompt-set {cfg['prompt_set']}" if meta.get("scores_kind") == "cosine" and cfg.get("prompt_set") else ""
    return f"cliprobust evaluate --models {meta['model_id']} --datasets {meta['dataset']}{root}{ps}"


def _corrupt(path: Path, meta: dict[str, Any], problems: list[str]) -> CorruptEntryError:
    return CorruptEntryError(f"cache entry {path} changed after it was written: {'; '.join(problems)}. "
                             f"Delete the folder and rebuild it: {rebuild_command(meta)}")


def complete_entries(model_id: str, dataset: str) -> list[dict[str, Any]]:
    """meta.json of every complete entry of (model, data set), newest first (plus ``path``)."""
    found = []
    slot = slot_dir(model_id, dataset)
    for meta_path in slot.glob("*/meta.json") if slot.is_dir() else []:
        meta = read_json(meta_path)
        if meta.get("model_id") == model_id:
            found.append({**meta, "path": str(meta_path.parent)})
    return sorted(found, key=lambda m: m.get("completed_at", ""), reverse=True)


def partial_entries(model_id: str, dataset: str, want: dict[str, Any] | None = None) -> list[Path]:
    """Entry folders of (model, data set) that were started but not finalized (and whose key agrees
    with every item of ``want``, when given)."""
    slot = slot_dir(model_id, dataset)
    started = [p.parent for p in slot.glob("*/key.json") if not is_complete(p.parent)] if slot.is_dir() else []
    return [p for p in started if want is None or _matches(read_json(p / "key.json"), want)]


def _matches(key: dict[str, Any], want: dict[str, Any]) -> bool:
    return all(key.get(k) == v for k, v in want.items())


def find(model_id: str, dataset: str, want: dict[str, Any]) -> list[dict[str, Any]]:
    """Complete entries whose key agrees with every item of ``want``, newest first."""
    return [m for m in complete_entries(model_id, dataset) if _matches(m["key"], want)]


def iter_entries() -> Iterator[dict[str, Any]]:
    """meta.json of every complete entry in the cache (any model, any data set)."""
    root = paths.cache_dir() / "entries"
    for meta_path in sorted(root.glob("*/*/*/meta.json")) if root.is_dir() else []:
        yield {**read_json(meta_path), "path": str(meta_path.parent)}
