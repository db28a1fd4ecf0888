"""Every section exposes the one Section interface, and every notebook's parameters cell names only
options of its section, with the section's defaults (a misspelt option raises; runs.py tests that)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json

import pytest

from cliprobust import paths, runs
from cliprobust.sections import INTERFACE, SECTIONS

NOTEBOOKS = paths.REPO_ROOT / "notebooks"


def _module(name: str):
    return importlib.import_module(f"cliprobust.sections.{name}")


def _parameters(stem: str) -> dict[str, object]:
    """Names and literal values of the notebook's ``parameters`` cell."""
    nb = json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def test_every_notebook_has_a_section_and_back() -> None:
    stems = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert stems == list(SECTIONS)


@pytest.mark.parametrize("stem", list(SECTIONS))
def test_section_interface(stem: str) -> None:
    mod = _module(SECTIONS[stem])
    missing = [n for n in INTERFACE if not hasattr(mod, n)]
    assert not missing, f"sections.{SECTIONS[stem]} lacks {missing}"
    opts = mod.Options
    assert issubclass(opts, runs.Options) and dataclasses.is_dataclass(opts)
    assert opts.__dataclass_params__.frozen, f"{stem}: Options must be frozen"
    run = runs.Run("published", opts())
    assert mod.cache_plan(run) is None or hasattr(mod.cache_plan(run), "all_sets")
    assert isinstance(mod.claims, type(test_section_interface))


@pytest.mark.parametrize("stem", list(SECTIONS))
def test_parameters_cell_names_options_with_their_defaults(stem: str) -> None:
    params = _parameters(stem)
    assert params.pop("profile", None) == "published", f"{stem}: parameters cell must set profile = 'published'"
    opts = _module(SECTIONS[stem]).Options
    unknown = sorted(set(params) - set(opts.names()))
    assert not unknown, f"{stem}: parameters {unknown} are not options of sections.{SECTIONS[stem]}.Options"
    defaults = opts()
    for name, value in params.items():
        assert getattr(defaults, name) == value, f"{stem}: parameter {name}={value!r} != Options default"
