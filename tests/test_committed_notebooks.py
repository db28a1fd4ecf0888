"""Every committed notebook is clean: no stderr output (warnings belong in the code, not in the
published record), no absolute path of this or any machine, and normalised (no run timestamps, the
injected-parameters cell under its stable id), so re-running unchanged code leaves git status clean."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat
import pytest

from cliprobust import notebook_run, paths

NOTEBOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Absolute paths of a machine: a POSIX home/system/temp folder, a Windows drive, this checkout or
#: this interpreter (a virtualenv's site-packages).
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/])/(?:home|Users|root|work|tmp|var|opt|usr|mnt|srv|scratch|private)/"
    r"|\b[A-Za-z]:\\\\?[\w]"
    + "".join(f"|{re.escape(str(p))}" for p in {paths.REPO_ROOT, Path(sys.prefix), Path(sys.base_prefix)}))


def _cell_name(i: int, cell) -> str:
    first = next((ln for ln in "".join(cell.source).splitlines() if ln.strip()), "")
    return f"cell {i} ({first[:50]!r})"


def _texts(output) -> list[str]:
    """The text a reader sees in an output (streams, plain/HTML/markdown data, tracebacks); images skipped."""
    if output.get("output_type") == "stream":
        return ["".join(output.get("text", ""))]
    if output.get("output_type") == "error":
        return ["\n".join(output.get("traceback", []))]
    data = output.get("data", {})
    return ["".join(v) if isinstance(v, list) else str(v) for k, v in data.items() if not k.startswith("image/")]


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_there_are_committed_notebooks() -> None:
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stderr_output(path: Path) -> None:
    nb = _read(path)
    found = [f"{_cell_name(i, c)}: {''.join(o.get('text', '')).strip()[:120]!r}"
             for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
             if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not found, f"{path.name} has stderr output in " + "; ".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_absolute_paths(path: Path) -> None:
    nb = _read(path)
    found = [f"{_cell_name(i, c)}: {m.group(0)!r}" for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
             for text in _texts(o) for m in [ABSOLUTE_PATH.search(text)] if m]
    meta = nb.metadata.get("papermill", {})
    found += [f"metadata papermill.{k}: {meta[k]!r}" for k in ("input_path", "output_path")
              if k in meta and ABSOLUTE_PATH.search(str(meta[k]))]
    assert not found, f"{path.name} shows an absolute path in " + "; ".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_normalised(path: Path) -> None:
    """As ``run_all.sh`` writes them: normalising changes nothing (else a re-run would)."""
    nb = _read(path)
    again = notebook_run.normalise(copy.deepcopy(nb))
    changed = [_cell_name(i, c) for i, (c, d) in enumerate(zip(nb.cells, again.cells)) if c != d]
    if nb.metadata != again.metadata:
        changed.insert(0, "notebook metadata")
    assert not changed, f"{path.name} is not normalised (re-execute it with ./run_all.sh): " + "; ".join(changed[:5])


def test_the_path_pattern_catches_what_it_should() -> None:
    leaked = ["PosixPath('/work/main/figures')", "/home/ana/.venv/lib/python3.11/site-packages/tqdm/auto.py:21",
              r"C:\Users\ana\repo", f"{sys.prefix}/bin/python"]
    clean = ["figures/01_er.png", "ratio 1/2", "https://github.com/mlfoundations/open_clip/tree/main",
             "ImageNet-R / ImageNet", "data: open_clip 3.3.0"]
    assert all(ABSOLUTE_PATH.search(t) for t in leaked)
    assert not any(ABSOLUTE_PATH.search(t) for t in clean)
