"""Model ids -> entries, and what a cache key needs to know about a model, without importing torch.

:func:`resolve_entry` / :func:`select_entries` turn ids and zoo selectors into entries (a zoo id,
or an ad-hoc ``open_clip:<arch>/<tag>`` / ``timm:<name.tag>`` id). :func:`architecture_config` and
:func:`preprocess_config` come from open_clip / timm configs; resolving them imports those
libraries (and torch, ~5 s), so the result is persisted under ``<store>/model-configs/`` keyed by
the library versions and the entry (:func:`resolved_config`; ``store`` defaults to the output
cache): a reader, ``cache ls`` or a warm ``evaluate`` read the stored JSON instead. A new open_clip /
timm release changes the versions, hence the store, hence the keys of every model whose config
changed; ``inference.models.load_model`` also checks that the model it builds uses exactly the
stored preprocessing. Below :mod:`cliprobust.keys`, the reader and the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Protocol

from . import cache, paths, zoo

# --------------------------------------------------------------------------- tiny open_clip config

TINY_ARCH = "cliprobust-tiny"
#: A 2-layer ViT image tower (64 px, 16 px patches) and a 2-layer causal text tower (16 tokens) with the
#: standard CLIP BPE vocabulary, joint embedding 32: builds in milliseconds, for engine tests.
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}

# --------------------------------------------------------------------------- entries


class EntryLike(Protocol):
    """What the engine needs of a ``cliprobust.zoo.ModelEntry``."""

    id: str
    source: str  # "open_clip" | "timm"
    arch: str
    pretrained: str | None  # None = random init


@dataclass(frozen=True)
class AdHocEntry:
    """A model not in the zoo, parsed from its id (see :func:`parse_model_id`)."""

    id: str
    source: str
    arch: str
    pretrained: str | None
    group: str = "ad-hoc"


class UnknownModelError(KeyError):
    """A model id or selector that names no zoo model and no open_clip / timm model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def parse_model_id(model_id: str) -> AdHocEntry:
    """``open_clip:<arch>/<tag>`` or ``timm:<name.tag>``; a trailing ``/none`` means random init.

    >>> parse_model_id("open_clip:ViT-B-32/none").pretrained is None
    True
    """
    source, _, rest = model_id.partition(":")
    if source == "open_clip" and "/" in rest:
        arch, tag = rest.split("/", 1)
        return AdHocEntry(model_id, source, arch, None if tag == "none" else tag)
    if source == "timm" and rest:
        name, _, tag = rest.partition("/")
        if tag not in ("", "none"):
            raise ValueError(f"timm id {model_id!r}: only '/none' (random init) may follow the name")
        return AdHocEntry(model_id, source, name, None if tag == "none" else name.partition(".")[2] or "default")
    raise ValueError(f"cannot parse model id {model_id!r}: expected 'open_clip:<arch>/<tag|none>' or "
                     f"'timm:<name.tag>[/none]'")


def resolve_entry(model: str | EntryLike) -> EntryLike:
    """A zoo entry for ``model`` (an id or an entry): the zoo first, else :func:`parse_model_id`."""
    if not isinstance(model, str):
        return model
    try:
        return zoo.get(model)
    except KeyError:  # not a zoo id: an ad-hoc open_clip / timm id
        return parse_model_id(model)


def is_clip(entry: EntryLike) -> bool:
    """True for open_clip image-text models (zero-shot heads, cached image features)."""
    return entry.source == "open_clip"


def timm_name(entry: EntryLike) -> str:
    """The name ``timm.create_model`` takes (``arch.tag``)."""
    if entry.pretrained not in (None, "default") and "." not in entry.arch:
        return f"{entry.arch}.{entry.pretrained}"
    return entry.arch


def quick_gelu(entry: EntryLike) -> bool:
    """open_clip: build with QuickGELU (weights trained with it; zoo ``ModelEntry.quick_gelu``)."""
    return bool(getattr(entry, "quick_gelu", False))


def select_entries(selector: str | Iterable[str | EntryLike]) -> list[EntryLike]:
    """Entries for a zoo selector (comma-separated: collections, patterns, ids) or a list of ids.

    Each token goes to ``zoo.select``; a token the zoo does not know that parses as a model id
    (``open_clip:...``, ``timm:...``) is taken as an ad-hoc entry. Order kept, duplicates dropped.
    """
    tokens = [t.strip() for t in selector.split(",")] if isinstance(selector, str) else list(selector)
    out: dict[str, EntryLike] = {}
    for token in tokens:
        if not token:
            continue
        for e in _select_token(token):
            out.setdefault(e.id, e)
    return list(out.values())


def split_names(names: str | Iterable[str]) -> list[str]:
    """A comma-separated string or a list of names -> the non-empty names, in order."""
    items = names.split(",") if isinstance(names, str) else list(names)
    return [n.strip() for n in items if n and n.strip()]


def _select_token(token: str | EntryLike) -> list[EntryLike]:
    if not isinstance(token, str):
        return [token]
    try:
        found = list(zoo.select(token))
    except (KeyError, ValueError) as exc:  # the zoo's "no such id / glob / collection"
        if ":" in token and not set("*?[") & set(token):
            return [parse_model_id(token)]
        raise UnknownModelError(f"unknown model selector {token!r} ({str(exc).strip(chr(34) + chr(39))}); "
                                f"use a zoo collection, pattern or model id (open_clip:<arch>/<tag>, "
                                f"timm:<name.tag>)") from exc
    return [resolve_entry(e) if isinstance(e, str) else e for e in found]


# --------------------------------------------------------------------------- resolved configs (persisted)


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """A JSON round trip (tuples -> lists): the form configs take in keys and meta.json."""
    return json.loads(json.dumps(d, sort_keys=True, default=list))


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Installed open_clip and timm versions, read from package metadata (no import)."""
    return {"open_clip": metadata.version("open_clip_torch"), "timm": metadata.version("timm")}


def _identity(entry: EntryLike) -> dict[str, Any]:
    ident = {"id": entry.id, "source": entry.source, "arch": entry.arch, "pretrained": entry.pretrained,
             "quick_gelu": quick_gelu(entry), "versions": library_versions()}
    if is_clip(entry) and entry.arch == TINY_ARCH:
        ident["tiny_config"] = TINY_CONFIG  # defined here, not by a library release
    return ident


def config_path(entry: EntryLike, store: Path | None = None) -> Path:
    """Where the resolved config of ``entry`` is persisted under ``store`` (default: the output cache)."""
    ident = _identity(entry)
    sha = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    tag = "_".join(f"{k}-{v}" for k, v in sorted(ident["versions"].items()))
    return (store or paths.cache_dir()) / "model-configs" / tag / f"{cache.slug(entry.id)}.{sha}.json"


def register_tiny_config() -> None:
    """Make ``open_clip.create_model("cliprobust-tiny")`` work (idempotent; imports open_clip)."""
    import open_clip

    if TINY_ARCH in open_clip.list_models():
        return
    folder = Path(tempfile.gettempdir()) / f"cliprobust-open_clip-configs-{os.getuid()}"
    path = folder / f"{TINY_ARCH}.json"
    text = json.dumps(TINY_CONFIG, indent=2, sort_keys=True)
    if not path.is_file() or path.read_text() != text:
        cache.atomic_write(path, lambda fh: fh.write(text.encode()))
    open_clip.add_model_config(path)


def open_clip_config(entry: EntryLike) -> dict[str, Any]:
    """Architecture config, preprocessing and weights origin of an open_clip entry, from configs only
    (imports open_clip). Preprocessing: open_clip's ``PreprocessCfg`` defaults, overlaid with the
    pretrained tag's config, size = the vision tower's image size -- the merge ``create_model`` performs.
    """
    import open_clip

    register_tiny_config()
    model_cfg = open_clip.get_model_config(entry.arch)
    if model_cfg is None:
        raise UnknownModelError(f"open_clip has no architecture {entry.arch!r} (model {entry.id})")
    cfg = asdict(open_clip.transform.PreprocessCfg())
    tag_cfg = (open_clip.get_pretrained_cfg(entry.arch, entry.pretrained) or {}) if entry.pretrained else {}
    if entry.pretrained:
        cfg = open_clip.transform.merge_preprocess_dict(cfg, tag_cfg)
    size = model_cfg["vision_cfg"].get("image_size", cfg["size"])
    cfg["size"] = list(size) if isinstance(size, (list, tuple)) else [size, size]
    arch = {**jsonable(model_cfg), "quick_gelu": quick_gelu(entry) or bool(model_cfg.get("quick_gelu", False))}
    origin = (tag_cfg.get("hf_hub") or tag_cfg.get("url") or entry.pretrained) if entry.pretrained else None
    return {"architecture": arch, "preprocess": {"library": "open_clip", **jsonable(cfg)}, "origin": origin}


def timm_config(entry: EntryLike) -> dict[str, Any]:
    """Name and preprocessing of a timm entry: ``resolve_data_config(pretrained_cfg)`` (input_size,
    interpolation, mean, std, crop_pct, crop_mode), from the registry only (imports timm)."""
    import timm
    from timm.data import resolve_data_config

    pretrained_cfg = timm.models.get_pretrained_cfg(timm_name(entry))
    if pretrained_cfg is None:
        raise UnknownModelError(f"timm has no model {timm_name(entry)!r} (model {entry.id})")
    data_cfg = resolve_data_config({}, pretrained_cfg=pretrained_cfg.to_dict())
    return {"architecture": {"timm_model": timm_name(entry)}, "preprocess": {"library": "timm", **jsonable(data_cfg)},
            "origin": None}


def _compute_config(entry: EntryLike) -> dict[str, Any]:
    """Ask open_clip / timm (imports them): architecture, preprocessing, weights origin."""
    return open_clip_config(entry) if is_clip(entry) else timm_config(entry)


def _store(path: Path, cfg: dict[str, Any]) -> None:
    """Atomic write; a read-only cache folder only loses the speed-up."""
    try:
        cache.write_json(path, cfg)
    except OSError:
        pass


_MEMO: dict[Path, dict[str, Any]] = {}


def resolved_config(entry: EntryLike, store: Path | None = None) -> dict[str, Any]:
    """``{"architecture", "preprocess", "origin"}`` of ``entry``: from the persisted store, else
    computed through open_clip / timm and stored. Raises :class:`UnknownModelError` when the
    library does not know the architecture."""
    path = config_path(entry, store)
    if path in _MEMO:
        return _MEMO[path]
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (FileNotFoundError, json.JSONDecodeError):  # not stored yet (or a torn copy): recompute
        cfg = _compute_config(entry)
        _store(path, cfg)
    _MEMO[path] = cfg
    return cfg


def weights_id(entry: EntryLike, seed: int = 0, store: Path | None = None) -> str:
    """Identity of the weights: source + architecture + tag (+ pinned file), or the init seed."""
    act = "+quickgelu" if quick_gelu(entry) else ""
    if entry.pretrained is None:
        return f"{entry.source}:{entry.arch}{act}/random-init:seed={seed}"
    if is_clip(entry):
        return f"open_clip:{entry.arch}{act}/{entry.pretrained}@{resolved_config(entry, store)['origin']}"
    return f"timm:{timm_name(entry)}"


def architecture_config(entry: EntryLike, store: Path | None = None) -> dict[str, Any]:
    """open_clip: the architecture's model config (a changed config is a different network, even
    under the same name -- e.g. ``cliprobust-tiny``); timm: the name (timm defines it in code)."""
    return resolved_config(entry, store)["architecture"]


def preprocess_config(entry: EntryLike, store: Path | None = None) -> dict[str, Any]:
    """The model's own evaluation preprocessing, resolved from configs only (no weights, no network);
    see :func:`open_clip_config` / :func:`timm_config` for how."""
    return resolved_config(entry, store)["preprocess"]
