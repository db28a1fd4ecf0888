"""The fixpoint: an executed notebook is normalised (re-running it writes the same bytes), and the
check names every committed output that differs from what the code makes — a changed number in a
table, a changed pixel, a changed cell — but not a PNG that only compresses differently."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from PIL import Image

from cliprobust import fixpoint, notebook_run, paths, progress

TABLE = "x,y\n0.1,0.333333\n0.2,0.666667\n"


def _png(pixels: np.ndarray, level: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def _notebook(outputs_text: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("print(x)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=outputs_text)]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nbformat.writes(nb).encode()


def _tree(root: Path, table: str = TABLE, png: bytes | None = None, nb: bytes | None = None) -> Path:
    (root / "figures").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "figures" / "01_t.csv").write_text(table)
    (root / "figures" / "01_f.png").write_bytes(png or _png(np.full((8, 8, 3), 200)))
    (root / "notebooks" / "01_x.ipynb").write_bytes(nb or _notebook("0.25\n"))
    return root


def test_identical_outputs_pass(tmp_path) -> None:
    assert fixpoint.compare(_tree(tmp_path / "a"), _tree(tmp_path / "b")) == []


def test_a_changed_number_in_a_table_is_named(tmp_path) -> None:
    committed = _tree(tmp_path / "a", table=TABLE.replace("0.333333", "0.333334"))
    problems = fixpoint.compare(committed, _tree(tmp_path / "b"))
    assert problems == ["figures/01_t.csv: content differs"]
    assert fixpoint.report(problems) == 1


def test_png_compared_by_pixels_not_bytes(tmp_path) -> None:
    pixels = np.full((8, 8, 3), 200)
    again = _png(pixels, level=1)
    assert again != _png(pixels)  # other compression, same picture: equal
    assert fixpoint.compare(_tree(tmp_path / "a"), _tree(tmp_path / "b", png=again)) == []
    pixels[3, 4] = (0, 0, 0)
    assert fixpoint.compare(_tree(tmp_path / "c"), _tree(tmp_path / "d", png=_png(pixels))) == [
        "figures/01_f.png: 1 pixels differ (by up to 200/255)"]
    assert "size 8x8 px, now 9x8 px" in fixpoint.png_difference(_png(np.zeros((8, 8, 3))), _png(np.zeros((8, 9, 3))))


def test_a_changed_cell_output_is_named_with_its_first_line(tmp_path) -> None:
    problems = fixpoint.compare(_tree(tmp_path / "a"), _tree(tmp_path / "b", nb=_notebook("0.26\n")))
    assert problems == ["notebooks/01_x.ipynb: cell 1 ('print(x)')"]


def test_sub_folders_count_and_other_profiles_do_not(tmp_path) -> None:
    committed, produced = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    for root, value in ((committed, "1"), (produced, "2")):
        for sub in ("cards/m", "smoke", "rehearsal"):
            (root / "figures" / sub).mkdir(parents=True)
            (root / "figures" / sub / "t.csv").write_text(value)
    assert fixpoint.compare(committed, produced) == ["figures/cards/m/t.csv: content differs"]


def test_missing_and_uncommitted_outputs_are_named(tmp_path) -> None:
    committed, produced = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    (committed / "figures" / "01_t.csv").rename(committed / "figures" / "01_old.csv")
    assert fixpoint.compare(committed, produced) == [
        "figures/01_old.csv: committed, but the code no longer makes it",
        "figures/01_t.csv: made by the code, but not committed"]


def test_normalise_drops_what_changes_between_runs_and_is_idempotent() -> None:
    nb = nbformat.v4.new_notebook(metadata={"papermill": {
        "start_time": "t0", "end_time": "t1", "duration": 1.0, "output_path": "/tmp/x.ipynb",
        "input_path": str(paths.REPO_ROOT / "notebooks" / "01_x.ipynb"), "parameters": {"profile": "smoke"}}})
    cell = nbformat.v4.new_code_cell("profile = 'smoke'", metadata={
        "tags": ["injected-parameters"], "execution": {"iopub.status.busy": "t"},
        "papermill": {"start_time": "t", "end_time": "t", "duration": 0.1, "status": "completed"}})
    cell["id"] = "3e3c3e19"
    nb.cells = [cell]
    once = notebook_run.normalise(nb)
    assert once.metadata["papermill"] == {"input_path": "notebooks/01_x.ipynb", "parameters": {"profile": "smoke"}}
    assert once.cells[0]["id"] == notebook_run.INJECTED_CELL_ID
    assert once.cells[0].metadata == {"tags": ["injected-parameters"], "papermill": {"status": "completed"}}
    assert notebook_run.normalise(json.loads(json.dumps(once), object_hook=nbformat.NotebookNode)) == once


def test_prints_split_into_several_messages_become_one_output() -> None:
    """The kernel's split of a cell's prints into stream messages depends on timing (seen in notebook 01)."""
    out = nbformat.v4.new_output
    split = [out("stream", name="stdout", text="a\n"), out("stream", name="stdout", text="b\n"),
             out("stream", name="stderr", text="w\n"), out("stream", name="stdout", text="c\n")]
    whole = [out("stream", name="stdout", text="a\nb\n"), out("stream", name="stdout", text="c\n")]
    assert [o["text"] for o in notebook_run.coalesce_streams(split) if o["name"] == "stdout"] == [
        o["text"] for o in whole]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print()", outputs=split[:2])])
    assert notebook_run.normalise(nb).cells[0]["outputs"] == [out("stream", name="stdout", text="a\nb\n")]


# --------------------------------------------------------------------------- end to end, on a real kernel

_SOURCE = '''from cliprobust import plots, runs
import matplotlib.pyplot as plt
import pandas as pd
run = runs.Run(profile)
plots.setup(run)
plots.save_table(pd.DataFrame({"x": [0.1, 0.2], "y": [1 / 3, 2 / 3]}), "01_t", run=run)
fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
ax.plot([0, 1], [0, 1])
ax.set(xlabel="x", ylabel="y", title="a line")
plots.save_figure(fig, "01_f", run=run, source="unit test")
print(pd.read_csv(plots.output_dir(run) / "01_t.csv").y.sum())'''


@pytest.fixture(scope="module")
def kernel() -> str:
    try:
        KernelSpecManager().get_kernel_spec(notebook_run.KERNEL_NAME)
    except NoSuchKernel:
        pytest.skip(f"no {notebook_run.KERNEL_NAME!r} kernel (run_all.sh installs it)")
    return notebook_run.KERNEL_NAME


def _run(src: Path, root: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.FIGURES_ENV, str(root / "figures"))
    notebook_run.execute(src, root / "notebooks" / src.name, {"profile": "published"})


def test_a_rerun_is_a_fixpoint_and_a_changed_table_number_fails_it(kernel, tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv(progress.PROGRESS_ENV, "off")
    monkeypatch.setenv("PYTHONHASHSEED", notebook_run.KERNEL_HASH_SEED)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": kernel, "display_name": kernel,
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('profile = "published"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(_SOURCE)]
    src = tmp_path / "01_x.ipynb"
    nbformat.write(nb, src)
    _run(src, tmp_path / "committed", monkeypatch)
    _run(src, tmp_path / "again", monkeypatch)
    err = capfd.readouterr().err
    assert "without encryption" not in err  # the IPC kernel has no plain-TCP channel to warn about
    assert "KeyboardInterrupt" not in err  # no pre-shutdown SIGINT racing the kernel's last reply
    committed = tmp_path / "committed"
    executed = nbformat.read(committed / "notebooks" / "01_x.ipynb", as_version=4)
    assert "1.0" in executed.cells[2].outputs[0]["text"]
    assert fixpoint.compare(committed, tmp_path / "again") == []
    for rel in sorted(fixpoint.outputs(committed)):  # byte for byte, not just by the check's rules
        assert (committed / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    table = committed / "figures" / "01_t.csv"
    table.write_text(table.read_text().replace("0.333333", "0.333433"))  # the deliberately changed number
    assert fixpoint.compare(committed, tmp_path / "again") == ["figures/01_t.csv: content differs"]
    shutil.rmtree(tmp_path / "again")
