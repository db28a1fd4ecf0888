"""Execute the notebooks so that a re-run of unchanged code changes nothing.

``run_all.sh`` executes every notebook through :func:`execute` (papermill with a kernel on the IPC
transport: ipykernel warns that a TCP kernel without CurveZMQ keys sends everything in plain text),
then :func:`normalise` keeps what a reader needs — sources, outputs, execution counts, the parameters —
and drops what changes from run to run: papermill's and the kernel's timestamps and durations, and
the random id of the injected-parameters cell (it gets the stable id :data:`INJECTED_CELL_ID`).

``python -m cliprobust.fixpoint`` is CI's check that the committed outputs are what the
code makes: it re-executes the published profile into a scratch folder and compares every committed
notebook, table and figure with the new one (:mod:`cliprobust.fixpoint`), naming each that differs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import nbformat
from jupyter_client.manager import AsyncKernelManager

from . import paths, progress

#: The kernel every notebook runs on (installed by ``run_all.sh``).
KERNEL_NAME = "cliprobust"
#: Stable id of papermill's injected-parameters cell (papermill draws a random one per run).
INJECTED_CELL_ID = "injected-parameters"
#: Tag papermill puts on the cell it injects.
INJECTED_TAG = "injected-parameters"
#: Per-cell and per-notebook papermill keys that change with every run (times and durations).
VOLATILE_PAPERMILL_KEYS: tuple[str, ...] = ("start_time", "end_time", "duration")
#: Per-cell metadata the kernel writes with every run (``iopub`` timestamps).
VOLATILE_CELL_KEYS: tuple[str, ...] = ("execution",)
#: Hash seed of every kernel: Python randomises str hashes per process, so anything that iterates a set
#: of strings would print in a different order on each run; a fixed seed makes that order one order.
KERNEL_HASH_SEED = "0"
#: Marker of the loud layout warnings of :mod:`cliprobust.plots`, echoed to the run's log.
LAYOUT_MARKER = "!!! LAYOUT"


def ipc_kernel_manager(socket_dir: str) -> type[AsyncKernelManager]:
    """A kernel manager class on the IPC transport with its sockets in ``socket_dir`` (not the working
    directory), so ipykernel has no plain-text TCP channel to warn about."""

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(socket_dir, "kernel")

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client sends SIGINT before every shutdown request; a finished notebook's kernel has
            # nothing to interrupt, and the signal racing its last reply logs "KeyboardInterrupt caught in
            # kernel" into the run's log. The shutdown request (then SIGKILL after a timeout) still ends it.
            if getattr(self, "shutting_down", False):
                return
            await super()._async_interrupt_kernel()

    return IPCKernelManager


def _relative(path: str | Path) -> str:
    """``path`` relative to the repository when inside it (a committed notebook names no absolute path)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(paths.REPO_ROOT).as_posix()
    except ValueError:
        return p.name


def coalesce_streams(outputs: list) -> list:
    """Consecutive stream outputs of one stream as one output: how the kernel splits a cell's prints
    into messages depends on timing, what they say does not."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            merged[-1] = nbformat.NotebookNode({**prev, "text": "".join(prev["text"]) + "".join(out["text"])})
        else:
            merged.append(out)
    return merged


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes from run to run (timestamps, durations, the output path, the injected
    cell's random id, the kernel's split of a cell's prints into messages); keep sources, outputs,
    execution counts and parameters. Idempotent."""
    meta = nb.metadata.get("papermill")
    if meta is not None:
        for key in VOLATILE_PAPERMILL_KEYS + ("output_path",):
            meta.pop(key, None)
        if meta.get("input_path"):
            meta["input_path"] = _relative(meta["input_path"])
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        for key in VOLATILE_PAPERMILL_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        if INJECTED_TAG in cell.metadata.get("tags", []):
            cell["id"] = INJECTED_CELL_ID
        if cell.get("outputs"):
            cell["outputs"] = coalesce_streams(cell["outputs"])
    return nb


def layout_warnings(nb: nbformat.NotebookNode) -> list[str]:
    """The loud layout warnings (:data:`LAYOUT_MARKER`) in a notebook's stderr outputs."""
    lines = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines += [ln for ln in "".join(out.get("text", "")).splitlines() if ln.startswith(LAYOUT_MARKER)]
    return lines


def execute(src: Path, dest: Path, parameters: dict[str, Any], kernel: str = KERNEL_NAME) -> None:
    """Execute ``src`` into ``dest`` with papermill on an IPC kernel, then normalise ``dest`` (also
    after a failure, so the failed notebook is as readable as a good one). Kernels print no progress
    bars (:data:`cliprobust.progress.PROGRESS_ENV` ``off``) unless the caller chose a style, and hash
    strings with :data:`KERNEL_HASH_SEED` unless the caller set ``PYTHONHASHSEED``."""
    import papermill

    os.environ.setdefault(progress.PROGRESS_ENV, "off")  # the kernels inherit this process's environment
    os.environ.setdefault("PYTHONHASHSEED", KERNEL_HASH_SEED)
    logging.getLogger("papermill").setLevel(logging.ERROR)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="cliprobust-kernel-") as sockets:
            papermill.execute_notebook(str(src), str(dest), parameters=parameters, kernel_name=kernel,
                                       progress_bar=False, log_output=False,
                                       kernel_manager_class=ipc_kernel_manager(sockets))
    finally:
        if dest.is_file():
            nb = normalise(nbformat.read(dest, as_version=4))
            nbformat.write(nb, dest)
            for line in layout_warnings(nb):
                print(f"[run_all] {dest.name}: {line}", file=sys.stderr)


def run_notebooks(notebooks: Sequence[Path], outdir: Path, profile: str, only: str = "") -> int:
    """Execute each notebook (those whose name starts with ``only``, if given) with ``profile`` into
    ``outdir``; returns 0, or 1 at the first failure (naming the notebook and the output to read)."""
    for nb in notebooks:
        if only and not nb.name.startswith(only):
            continue
        start = time.monotonic()
        print(f"[run_all] {profile}: {nb.name}", flush=True)
        try:
            execute(nb, outdir / nb.name, {"profile": profile})
        except Exception as exc:  # papermill's execution error names the cell; keep the run's log short
            print(f"[run_all] {profile}: {nb.name} FAILED ({type(exc).__name__}); read {outdir / nb.name}\n"
                  f"{str(exc).strip()[-2000:]}", file=sys.stderr)
            return 1
        print(f"[run_all] {profile}: {nb.name} done in {time.monotonic() - start:.0f} s", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cliprobust.notebook_run", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks into a folder, normalised")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--profile", required=True)
    run.add_argument("--out", required=True, type=Path)
    run.add_argument("--only", default="")
    norm = sub.add_parser("normalise", help="normalise executed notebooks in place")
    norm.add_argument("notebooks", nargs="+", type=Path)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run_notebooks(sorted(args.notebooks), args.out, args.profile, args.only)
    for nb in args.notebooks:  # normalise
        nbformat.write(normalise(nbformat.read(nb, as_version=4)), nb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
