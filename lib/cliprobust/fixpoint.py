"""The fixpoint check: the committed notebooks, tables and figures are exactly what the code makes.

:func:`check` re-executes every notebook with the published profile into a scratch folder (figures
there too, through ``CLIPROBUST_FIGURES_DIR``) and compares each committed output with its new copy:

- notebooks (normalised, :func:`cliprobust.notebook_run.normalise`): metadata, sources, execution
  counts and every text output exactly; embedded images by their pixels (below);
- tables (``figures/**/*.csv``): byte for byte;
- figures (``figures/**/*.png``): decoded pixels, each channel within :data:`PNG_TOLERANCE`.

It fails naming every file that differs, every committed output the code no longer makes, and every
output it makes that is not committed. Pixels, not bytes: the compressed stream depends on the zlib
build, the picture does not.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image

from . import paths
from .notebook_run import run_notebooks

#: The committed outputs of the published profile, relative to the repository root (figures/ with its
#: sub-folders, e.g. the model cards in ``figures/cards/``).
COMMITTED_GLOBS: tuple[str, ...] = ("notebooks/[0-9][0-9]_*.ipynb", "figures/**/*.csv", "figures/**/*.png")
#: Sub-folders of figures/ that hold outputs of other profiles (git-ignored; never compared).
OTHER_PROFILES: tuple[str, ...] = ("figures/smoke/", "figures/rehearsal/")
#: Largest difference (0-255, per channel) at which two PNG pixels count as equal. Zero: matplotlib's
#: Agg renderer with its bundled FreeType draws bit-identical pixels for one pinned matplotlib on one
#: platform (CI and ``run_all.sh`` share both). Comparing across platforms (another FreeType build
#: antialiases text differently) needs a tolerance; say which and why where you set it.
PNG_TOLERANCE = 0
#: Cells named per differing notebook before the message says how many more.
MAX_CELLS_NAMED = 5


def outputs(root: Path) -> set[str]:
    """The committed-output paths present under ``root`` (posix, relative)."""
    found = {p.relative_to(root).as_posix() for g in COMMITTED_GLOBS for p in root.glob(g) if p.is_file()}
    return {rel for rel in found if not rel.startswith(OTHER_PROFILES)}


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"), dtype=np.int16)


def png_difference(a: bytes, b: bytes, tolerance: int = PNG_TOLERANCE) -> str | None:
    """None when the two PNGs show the same picture (within ``tolerance``), else what differs."""
    pa, pb = _pixels(a), _pixels(b)
    if pa.shape != pb.shape:
        return f"size {pa.shape[1]}x{pa.shape[0]} px, now {pb.shape[1]}x{pb.shape[0]} px"
    diff = np.abs(pa - pb).max(axis=2)
    bad = int((diff > tolerance).sum())
    return f"{bad} pixels differ (by up to {int(diff.max())}/255)" if bad else None


def _comparable_output(out: dict[str, Any]) -> Any:
    """An output with its embedded PNG replaced by its pixels' digest (pixels, not zlib bytes)."""
    data = out.get("data", {})
    if "image/png" not in data:
        return out
    import base64
    import hashlib

    pixels = _pixels(base64.b64decode("".join(data["image/png"])))
    digest = hashlib.sha256(pixels.tobytes() + str(pixels.shape).encode()).hexdigest()
    return {**out, "data": {**data, "image/png": f"pixels sha256 {digest}"}}


def _cells(nb: dict[str, Any]) -> list[Any]:
    return [(c["cell_type"], c.get("id"), "".join(c["source"]), c.get("execution_count"),
             [_comparable_output(o) for o in c.get("outputs", [])], c.get("metadata")) for c in nb["cells"]]


def _first_line(source: str) -> str:
    return next((ln.strip() for ln in source.splitlines() if ln.strip()), "")[:60]


def notebook_difference(a: bytes, b: bytes) -> str | None:
    """None when the two notebooks read the same, else the differing metadata and cells (index, first line)."""
    na, nb = json.loads(a), json.loads(b)
    found = []
    if na.get("metadata") != nb.get("metadata"):
        found.append("notebook metadata")
    ca, cb = _cells(na), _cells(nb)
    if len(ca) != len(cb):
        found.append(f"{len(ca)} cells, now {len(cb)}")
    found += [f"cell {i} ({_first_line(x[2])!r})" for i, (x, y) in enumerate(zip(ca, cb)) if x != y]
    if not found:
        return None
    more = f" and {len(found) - MAX_CELLS_NAMED} more" if len(found) > MAX_CELLS_NAMED else ""
    return "; ".join(found[:MAX_CELLS_NAMED]) + more


def file_difference(rel: str, committed: bytes, produced: bytes) -> str | None:
    """None when ``produced`` matches ``committed`` under the rule of its kind (see the module doc)."""
    if committed == produced:
        return None
    if rel.endswith(".png"):
        return png_difference(committed, produced)
    if rel.endswith(".ipynb"):
        return notebook_difference(committed, produced)
    return "content differs"


def compare(committed_root: Path, produced_root: Path) -> list[str]:
    """Every committed output under ``committed_root`` that ``produced_root`` does not reproduce,
    and every output produced but not committed; empty when the two agree."""
    committed, produced = outputs(committed_root), outputs(produced_root)
    problems = [f"{rel}: committed, but the code no longer makes it" for rel in sorted(committed - produced)]
    problems += [f"{rel}: made by the code, but not committed" for rel in sorted(produced - committed)]
    for rel in sorted(committed & produced):
        why = file_difference(rel, (committed_root / rel).read_bytes(), (produced_root / rel).read_bytes())
        if why:
            problems.append(f"{rel}: {why}")
    return problems


def report(problems: Iterable[str]) -> int:
    """Print the verdict; 0 when nothing differs."""
    problems = list(problems)
    if not problems:
        print("[fixpoint] committed notebooks, tables and figures are exactly what the code makes")
        return 0
    print(f"[fixpoint] FAILED: {len(problems)} committed outputs differ from what the code makes now "
          "(re-run ./run_all.sh and commit the outputs, or find what is not deterministic):", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return 1


def check(keep: Path | None = None) -> int:
    """Re-execute the published profile into ``keep`` (default: a temporary folder) and compare."""
    out = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="cliprobust-fixpoint-"))
    os.environ[paths.FIGURES_ENV] = str(out / "figures")  # the kernels inherit it
    notebooks = sorted((paths.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if run_notebooks(notebooks, out / "notebooks", "published"):
        return 1
    return report(compare(paths.REPO_ROOT, out))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cliprobust.fixpoint", description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", type=Path, default=None, help="write the re-run here (default: a temporary folder)")
    return check(keep=p.parse_args(argv).keep)


if __name__ == "__main__":
    sys.exit(main())
