"""Pinned fetching: verified copies, clear errors, atomic writes, no source I/O on a cache hit."""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.error
from pathlib import Path

import pytest

from cliprobust import fetch, paths

NAME = "published/timm/results-imagenet.csv"
DERIVED = "published/imagenet-testbed/model_types.csv"


def _no_source(*_a, **_k):
    raise AssertionError("source was read although the cache held a verified copy")


def test_artifact_table_equals_shared_manifest(mirror: Path) -> None:
    with open(mirror / "MANIFEST.csv", newline="") as fh:
        manifest = {r["path"]: r for r in csv.DictReader(fh)}
    table = fetch.artifacts()
    assert set(table) == set(manifest)
    for name, art in table.items():
        assert (art.sha256, art.bytes, art.url) == (
            manifest[name]["sha256"], int(manifest[name]["bytes"]), manifest[name]["url"])


def test_fetch_from_mirror_is_verified_and_cached(mirror: Path, tmp_cache: Path) -> None:
    path = fetch.fetch(NAME)
    assert path == tmp_cache / NAME
    assert path.read_bytes() == (mirror / NAME).read_bytes()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == fetch.artifact(NAME).sha256


def test_cache_hit_does_no_io_on_source(mirror: Path, tmp_cache: Path, monkeypatch) -> None:
    fetch.fetch(NAME)
    monkeypatch.setattr(fetch, "_from_file", _no_source)
    monkeypatch.setattr(fetch, "_download", _no_source)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", _no_source)
    assert fetch.fetch(NAME).is_file()


def test_checksum_mismatch_names_file_and_leaves_nothing(tmp_path: Path, tmp_cache: Path) -> None:
    bad_mirror = tmp_path / "mirror"
    (bad_mirror / NAME).parent.mkdir(parents=True)
    (bad_mirror / NAME).write_text("model,top1\nnot,the pinned bytes\n")
    with pytest.raises(fetch.ChecksumError) as err:
        fetch.fetch(NAME, mirror=bad_mirror)
    msg = str(err.value)
    assert NAME in msg and fetch.artifact(NAME).sha256 in msg and "removed" in msg
    assert not (tmp_cache / NAME).exists()
    assert list((tmp_cache / NAME).parent.glob("*")) == []


def test_corrupted_cache_entry_is_replaced(mirror: Path, tmp_cache: Path) -> None:
    path = fetch.fetch(NAME)
    path.write_bytes(b"corrupted")
    assert fetch.fetch(NAME).read_bytes() == (mirror / NAME).read_bytes()


def test_no_network_and_no_mirror_says_how_to_set_mirror(tmp_cache: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.MIRROR_ENV, raising=False)

    def offline(*_a, **_k):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(fetch.urllib.request, "urlopen", offline)
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(NAME)
    assert paths.MIRROR_ENV in str(err.value) and "--data-mirror" in str(err.value)
    assert NAME in str(err.value)


def test_missing_mirror_directory_is_reported(tmp_path: Path, tmp_cache: Path) -> None:
    with pytest.raises(fetch.FetchError, match="does not exist"):
        fetch.fetch(NAME, mirror=tmp_path / "nowhere")


def test_download_path_verifies_bytes(mirror: Path, tmp_cache: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.MIRROR_ENV, raising=False)
    payload = (mirror / NAME).read_bytes()
    monkeypatch.setattr(fetch.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    assert fetch.fetch(NAME).read_bytes() == payload
    monkeypatch.setattr(fetch.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"tampered"))
    other = "published/timm/results-sketch.csv"
    with pytest.raises(fetch.ChecksumError, match=fetch.artifact(other).url):
        fetch.fetch(other)


class _Interrupted(io.BytesIO):
    """A source that dies half-way, like a Ctrl-C during a copy."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.calls = 0

    def read(self, n: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return super().read(min(n, 1000))


def test_interrupted_copy_leaves_no_file(mirror: Path, tmp_cache: Path, monkeypatch) -> None:
    payload = (mirror / NAME).read_bytes()
    real_open = open

    def flaky_open(path, mode="r", *a, **k):
        if Path(path) == mirror / NAME and "b" in mode:
            return _Interrupted(payload)
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr("builtins.open", flaky_open)
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch(NAME)
    monkeypatch.undo()
    folder = tmp_cache / NAME
    assert not folder.exists()
    assert list(folder.parent.iterdir()) == []  # no .part file either


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(KeyError) as err:
        fetch.artifact("published/timm/result-imagenet.csv")
    assert "published/timm/results-imagenet.csv" in str(err.value)


def test_derived_table_ships_with_package(tmp_cache: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.MIRROR_ENV, raising=False)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", _no_source)
    path = fetch.fetch(DERIVED)
    assert fetch.sha256_file(path) == fetch.artifact(DERIVED).sha256


def test_large_converted_table_without_mirror_is_explained(tmp_cache: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.MIRROR_ENV, raising=False)
    with pytest.raises(fetch.FetchError, match="no byte-identical download"):
        fetch.fetch("published/literature/ninco/df_converted.csv")


def test_cli_fetches_prefix(mirror: Path, tmp_cache: Path, capsys) -> None:
    assert fetch.main(["published/label-maps/"]) == 0
    assert (tmp_cache / "published/label-maps/imagenet_wnids.txt").is_file()
    assert "4 files verified" in capsys.readouterr().out
