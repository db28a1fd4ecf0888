"""Checking model ids before any job runs: an unknown id names the closest known names.

Resolving ids to entries and the model side of a cache key are torch-free and live below the
engine and the reader (:mod:`cliprobust.model_entries`, :mod:`cliprobust.keys`). This module
adds the engine's up-front check: every id of a run resolves, and a mistyped one is answered with
the closest zoo / timm / open_clip names (listing the library names imports the library, only on
that error path).
"""

from __future__ import annotations

import difflib
from typing import Iterable

from .. import zoo
from ..model_entries import AdHocEntry, EntryLike, UnknownModelError, resolved_config, select_entries


def _library_names(source: str) -> list[str]:
    """Every model name open_clip or timm knows (imports the library: only on the error path)."""
    if source == "timm":
        import timm

        return [f"timm:{n}" for n in timm.list_pretrained()] + [f"timm:{n}" for n in timm.list_models()]
    import open_clip

    return [f"open_clip:{a}/{t}" for a, t in open_clip.list_pretrained()]


def suggestions(model_id: str, n: int = 5) -> list[str]:
    """The closest zoo ids and open_clip / timm names to a mistyped ``model_id`` (difflib)."""
    pool = list(zoo.list_models())
    source = model_id.partition(":")[0]
    if source in ("timm", "open_clip"):
        pool += _library_names(source)
    return difflib.get_close_matches(model_id, list(dict.fromkeys(pool)), n=n, cutoff=0.6)


def check_models(selector: str | Iterable[str | EntryLike]) -> list[EntryLike]:
    """Resolve every model of ``selector`` before any job runs; raises :class:`UnknownModelError`
    naming the closest zoo / timm / open_clip names.

    Zoo entries are known by the zoo (its tests check them against the registries); an ad-hoc
    ``open_clip:`` / ``timm:`` id is checked against the library's config registry through
    :func:`resolved_config` -- configs only, no model is built, and the result is persisted.
    """
    entries = select_entries(selector)
    for e in entries:
        if not isinstance(e, AdHocEntry):
            continue
        try:
            resolved_config(e)
        except UnknownModelError as exc:
            close = suggestions(e.id)
            raise UnknownModelError(f"{exc}; closest known names: {', '.join(close) or 'none'}") from None
    return entries
