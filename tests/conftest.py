"""Shared test setup: point the data fetcher at the shared mirror and a throwaway cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from cliprobust import paths

_DEFAULT_MIRROR = paths.REPO_ROOT.parent / "shared" / "data"


# CI replays the same examples every run (derandomized); locally hypothesis keeps exploring.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(paths.MIRROR_ENV) and _DEFAULT_MIRROR.is_dir():
        os.environ[paths.MIRROR_ENV] = str(_DEFAULT_MIRROR)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The shared data mirror; tests that need real files skip without it."""
    m = paths.mirror_dir()
    if m is None or not m.is_dir():
        pytest.skip(f"no data mirror: set {paths.MIRROR_ENV}")
    return m


@pytest.fixture
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data cache for one test."""
    d = tmp_path / "data"
    monkeypatch.setenv(paths.DATA_ENV, str(d))
    return d
