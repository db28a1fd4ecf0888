"""Pinned data fetching: every file the toolkit reads is named, hashed and licensed here.

The artifact table (``artifacts.csv``, shipped with the package, same columns as the data
MANIFEST) lists each public file by its path in the mirror layout, with sha256, size,
licence and a URL pinned to a commit. :func:`fetch` returns a verified local copy, trying:

1. the data cache (``data/`` in the repo, see :func:`cliprobust.paths.data_dir`);
2. a local mirror directory (``$CLIPROBUST_DATA_MIRROR`` or ``mirror=``), e.g. a copy of the data made on another machine (CI uses the one beside the repo);
3. for small *derived* tables (transcribed from a public source file, ``repo`` =
   ``transcribed``), the copy shipped inside the package (``_derived/``), source cited in the table;
4. a download from the pinned URL (byte-identical copies only).

The sha256 is always checked, and files are written under a temporary name and renamed, so
a crash or Ctrl-C never leaves a partial file under the final name.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO, Iterable

from .progress import progress as tqdm

from . import paths

#: MANIFEST ``repo`` values of rows that are not byte-identical copies of their URL.
DERIVED_REPOS = frozenset({"transcribed", "converted"})
_CHUNK = 1 << 20
_TIMEOUT_S = 60


class FetchError(RuntimeError):
    """A verified local copy could not be produced; the message names the file and the fix."""


class ChecksumError(FetchError):
    """The bytes obtained are not the pinned bytes."""


@dataclass(frozen=True)
class Artifact:
    """One pinned public file (a row of ``artifacts.csv``)."""

    name: str  # path in the mirror layout, e.g. "published/timm/results-imagenet.csv"
    sha256: str
    bytes: int
    repo: str
    commit: str
    source_path: str
    license: str
    url: str

    @property
    def derived(self) -> bool:
        """True for tables written out from a source: the URL gives the source, not these bytes."""
        return self.repo in DERIVED_REPOS


@lru_cache(maxsize=1)
def artifacts() -> dict[str, Artifact]:
    """The artifact table keyed by name; duplicate names are rejected."""
    out: dict[str, Artifact] = {}
    with resources.files("cliprobust").joinpath("artifacts.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            art = Artifact(
                name=row["path"], sha256=row["sha256"], bytes=int(row["bytes"]), repo=row["repo"],
                commit=row["commit"], source_path=row["source_path"], license=row["license"],
                url=row["url"],
            )
            if art.name in out:
                raise ValueError(f"duplicate artifact {art.name!r} in artifacts.csv")
            out[art.name] = art
    return out


def artifact(name: str) -> Artifact:
    """Look up one artifact; an unknown name lists the closest known names."""
    table = artifacts()
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise KeyError(f"unknown artifact {name!r}.{hint} Known names are in cliprobust/artifacts.csv.")


def select(prefix: str) -> list[Artifact]:
    """All artifacts whose name starts with ``prefix`` (e.g. ``"stimuli/cue-conflict/"``)."""
    return [a for n, a in sorted(artifacts().items()) if n.startswith(prefix)]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_verified(src: BinaryIO, dest: Path, art: Artifact, origin: str) -> Path:
    """Stream ``src`` into ``dest`` via a temp file in the same folder; rename only if the hash matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: src.read(_CHUNK), b""):
                digest.update(block)
                out.write(block)
        actual = digest.hexdigest()
        if actual != art.sha256:
            raise ChecksumError(
                f"checksum mismatch for {art.name} from {origin}: expected sha256 {art.sha256}, "
                f"got {actual}. The bad copy was removed. Fix: re-sync the mirror or delete the "
                f"source file and fetch again from {art.url}."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # no-op after a successful rename
    return dest


def _from_file(path: Path, dest: Path, art: Artifact) -> Path:
    with open(path, "rb") as src:
        return _copy_verified(src, dest, art, origin=str(path))


def _download(dest: Path, art: Artifact) -> Path:
    try:
        with urllib.request.urlopen(art.url, timeout=_TIMEOUT_S) as resp:
            return _copy_verified(resp, dest, art, origin=art.url)
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(
            f"could not download {art.name} from {art.url} ({exc}). Without network, point the "
            f"toolkit at a local copy of the data: export {paths.MIRROR_ENV}=/path/to/data-mirror "
            f"or pass --data-mirror DIR to run_all.sh."
        ) from exc


def _packaged(art: Artifact) -> Path | None:
    ref = resources.files("cliprobust").joinpath("_derived", art.name)
    return Path(str(ref)) if ref.is_file() else None


def fetch(name: str, *, mirror: Path | str | None = None, cache: Path | None = None) -> Path:
    """Return the local path of a verified copy of artifact ``name`` (see module docstring)."""
    art = artifact(name)
    dest = (cache or paths.data_dir()) / art.name
    if dest.is_file() and dest.stat().st_size == art.bytes and sha256_file(dest) == art.sha256:
        return dest
    mirror_path = Path(mirror) if mirror is not None else paths.mirror_dir()
    if mirror_path is not None and (mirror_path / art.name).is_file():
        return _from_file(mirror_path / art.name, dest, art)
    packaged = _packaged(art) if art.derived else None
    if packaged is not None:
        return _from_file(packaged, dest, art)
    if art.derived:
        raise FetchError(
            f"{art.name} is a table converted from {art.url}; it has no byte-identical download. "
            f"Set {paths.MIRROR_ENV} to a mirror of the data that contains it."
        )
    if mirror_path is not None and not mirror_path.is_dir():
        raise FetchError(
            f"data mirror {mirror_path} (from {paths.MIRROR_ENV} or --data-mirror) does not exist. "
            f"Fix the path, or unset it to download from the pinned URLs."
        )
    return _download(dest, art)


def fetch_many(names: Iterable[str], *, mirror: Path | str | None = None,
               progress: bool = True) -> list[Path]:
    """Fetch several artifacts with a progress bar; returns their paths in order."""
    names = list(names)
    return [fetch(n, mirror=mirror) for n in tqdm(names, disable=not progress, desc="fetch", unit="file")]


def status(mirror: Path | str | None = None) -> "list[dict[str, object]]":
    """One dict per artifact: name, licence, bytes, and whether it is cached / in the mirror."""
    mirror_path = Path(mirror) if mirror is not None else paths.mirror_dir()
    rows = []
    for art in artifacts().values():
        rows.append({
            "name": art.name, "repo": art.repo, "license": art.license, "bytes": art.bytes,
            "cached": (paths.data_dir() / art.name).is_file(),
            "in_mirror": bool(mirror_path and (mirror_path / art.name).is_file()),
        })
    return rows



def main(argv: list[str] | None = None) -> int:
    """``python -m cliprobust.fetch PREFIX...``: fetch every artifact under the given prefixes."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cliprobust.fetch", description=main.__doc__)
    parser.add_argument("prefixes", nargs="*", default=[""], help="name prefixes (default: everything)")
    parser.add_argument("--mirror", default=None, help=f"local mirror folder (default: ${paths.MIRROR_ENV})")
    args = parser.parse_args(argv)
    names = sorted({a.name for p in args.prefixes for a in select(p)})
    if not names:
        parser.error(f"no artifact matches {args.prefixes}")
    try:
        fetch_many(names, mirror=args.mirror)
    except (FetchError, KeyError) as exc:
        print(f"fetch failed: {exc}")
        return 1
    print(f"{len(names)} files verified in {paths.data_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
